/**
 * The activity feed: recent events (listEvents) plus the names they mention — actors,
 * users added to teams, projects and teams — resolved in one query, so a page showing
 * a feed costs two queries however long the feed is.
 */
import { sql, type SQL } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { listEvents, type EventFilter, type EventRow } from "./events.ts";

/** Event kinds a feed can phrase; others (logins, tokens, invites) stay in the audit log. */
export const FEED_KINDS = new Set([
  "project.created", "project.updated", "project.deleted",
  "project.version_saved", "project.version_restored", "project.pushed",
  "project.forked", "project.template_marked", "project.template_unmarked", "project.starred", "project.tags_changed",
  "file.created", "file.written", "file.deleted", "file.moved",
  "team.created", "team.updated", "team.deleted", "team.member_added", "team.member_role_changed", "team.member_removed",
]);

export type ActivityItem = {
  id: number;
  at: number;
  kind: string;
  actorId: string | null;
  projectId: string | null;
  teamId: string | null;
  subjectId: string;
  data: Record<string, unknown>;
};

export type ActivityNames = {
  /** user id → username */
  users: Map<string, string>;
  /** project id → current name (only projects that still exist) */
  projects: Map<string, string>;
  /** team id → current name (only teams that still exist) */
  teams: Map<string, string>;
};

export type Activity = { items: ActivityItem[]; names: ActivityNames };

function parseData(raw: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function toItem(e: EventRow): ActivityItem {
  return { id: e.id, at: e.at, kind: e.kind, actorId: e.actorId, projectId: e.projectId, teamId: e.teamId, subjectId: e.subjectId, data: parseData(e.data) };
}

const list = (ids: Iterable<string>): SQL => {
  const arr = [...ids];
  return arr.length ? sql.join(arr.map((i) => sql`${i}`), sql`, `) : sql`NULL`;
};

/**
 * Recent feed-worthy events for `filter` (newest first, at most `limit`). Names already known to the
 * caller (the projects and teams it has loaded) are passed in and not fetched again.
 */
export async function loadActivity(
  orm: Orm,
  filter: EventFilter,
  limit: number,
  known: { projects?: Map<string, string>; teams?: Map<string, string>; users?: Map<string, string> } = {},
): Promise<Activity> {
  // Ask for more than we show: non-feed events (e.g. token changes by the user) are dropped.
  const rows = await listEvents(orm, { ...filter, limit: Math.min(limit * 3, 200) });
  const items = rows.filter((e) => FEED_KINDS.has(e.kind)).slice(0, limit).map(toItem);
  const names: ActivityNames = {
    users: new Map(known.users),
    projects: new Map(known.projects),
    teams: new Map(known.teams),
  };
  const userIds = new Set<string>();
  const projectIds = new Set<string>();
  const teamIds = new Set<string>();
  for (const it of items) {
    if (it.actorId && !names.users.has(it.actorId)) userIds.add(it.actorId);
    const target = it.data.userId;
    if (typeof target === "string" && !names.users.has(target)) userIds.add(target);
    if (it.projectId && !names.projects.has(it.projectId)) projectIds.add(it.projectId);
    if (it.teamId && !names.teams.has(it.teamId)) teamIds.add(it.teamId);
  }
  if (userIds.size + projectIds.size + teamIds.size > 0) {
    const found = await orm.all<{ kind: string; id: string; name: string }>(sql`
      SELECT 'u' AS kind, id, username AS name FROM users WHERE id IN (${list(userIds)})
      UNION ALL SELECT 'p' AS kind, id, name FROM projects WHERE id IN (${list(projectIds)})
      UNION ALL SELECT 't' AS kind, id, name FROM teams WHERE id IN (${list(teamIds)})`);
    for (const r of found) {
      (r.kind === "u" ? names.users : r.kind === "p" ? names.projects : names.teams).set(r.id, r.name);
    }
  }
  return { items, names };
}
