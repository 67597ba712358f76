/**
 * Public discovery: the explore listing (public projects only — never unlisted or private),
 * its tag and tech facets, and what a user's or team's profile may show to a given viewer.
 * Everything here answers "may this viewer see that this project exists?", which is stricter
 * than read access: an unlisted project is readable by link but never listed.
 */
import { and, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { projects, projectTags, projectTech, teamMembers, type Project, type Team, type TeamRole, type User } from "../db/schema.ts";
import { isAdmin, type Actor } from "../auth/actor.ts";
import { listEvents, type EventRow } from "../events/events.ts";
import { FEED_KINDS, type Activity, type ActivityItem } from "../events/activity.ts";
import { TAG_RE } from "./tags.ts";

export const EXPLORE_SORTS = ["recent", "stars", "remixes"] as const;
export type ExploreSort = (typeof EXPLORE_SORTS)[number];
export const EXPLORE_PAGE_SIZE = 24;
/** Facet lists show the most used values only. */
const FACET_MAX = 30;

export type ExploreQuery = { sort: ExploreSort; tag: string | null; tech: string | null; page: number };
export type Facet = { value: string; count: number };
export type ExploreResult = { projects: Project[]; hasMore: boolean; tags: Facet[]; tech: Facet[] };

/** Reads explore's query string leniently: an unknown sort or a malformed filter is ignored, not an error. */
export function parseExploreQuery(q: Record<string, string | undefined>): ExploreQuery {
  const sort = (EXPLORE_SORTS as readonly string[]).includes(q.sort ?? "") ? (q.sort as ExploreSort) : "recent";
  const clean = (v: string | undefined) => {
    const t = (v ?? "").trim().toLowerCase();
    return TAG_RE.test(t) ? t : null;
  };
  const page = Math.min(Math.max(Math.trunc(Number(q.page ?? "1")) || 1, 1), 10_000);
  return { sort, tag: clean(q.tag), tech: clean(q.tech), page };
}

/** The query string for an explore view (defaults left out, so URLs stay short). */
export function exploreSearch(q: ExploreQuery, change: Partial<ExploreQuery> = {}): string {
  const n = { ...q, page: 1, ...change };
  const p = new URLSearchParams();
  if (n.sort !== "recent") p.set("sort", n.sort);
  if (n.tag) p.set("tag", n.tag);
  if (n.tech) p.set("tech", n.tech);
  if (n.page > 1) p.set("page", String(n.page));
  const s = p.toString();
  return s ? `?${s}` : "";
}

function filters(q: Pick<ExploreQuery, "tag" | "tech">): SQL {
  return and(
    eq(projects.visibility, "public"),
    q.tag ? sql`EXISTS (SELECT 1 FROM project_tags t WHERE t.project_id = ${projects.id} AND t.tag = ${q.tag})` : undefined,
    q.tech ? sql`EXISTS (SELECT 1 FROM project_tech x WHERE x.project_id = ${projects.id} AND x.tech = ${q.tech})` : undefined,
  ) as SQL;
}

const ORDER: Record<ExploreSort, SQL[]> = {
  recent: [desc(projects.updatedAt), desc(projects.id)],
  stars: [desc(projects.starCount), desc(projects.updatedAt), desc(projects.id)],
  remixes: [desc(projects.forkCount), desc(projects.updatedAt), desc(projects.id)],
};

/** One page of public projects with the facets of the current filter (four queries). */
export async function explore(orm: Orm, q: ExploreQuery): Promise<ExploreResult> {
  const where = filters(q);
  const offset = (q.page - 1) * EXPLORE_PAGE_SIZE;
  const facet = async (table: typeof projectTags | typeof projectTech, col: typeof projectTags.tag | typeof projectTech.tech): Promise<Facet[]> => {
    const rows = await orm
      .select({ value: col, count: sql<number>`count(*)` })
      .from(table)
      .innerJoin(projects, eq(projects.id, table.projectId))
      .where(where)
      .groupBy(col)
      .orderBy(desc(sql`count(*)`), col)
      .limit(FACET_MAX);
    return rows.map((r) => ({ value: r.value, count: Number(r.count) }));
  };
  const [rows, tags, tech] = await Promise.all([
    orm
      .select()
      .from(projects)
      .where(where)
      .orderBy(...ORDER[q.sort])
      .limit(EXPLORE_PAGE_SIZE + 1)
      .offset(offset),
    facet(projectTags, projectTags.tag),
    facet(projectTech, projectTech.tech),
  ]);
  return { projects: rows.slice(0, EXPLORE_PAGE_SIZE), hasMore: rows.length > EXPLORE_PAGE_SIZE, tags, tech };
}

// ---- Profiles ----

/**
 * May `actor` see that `project` exists in a listing? Public projects: everyone. Otherwise only
 * those the project is theirs through: admins, the owning user, members of the owning team.
 */
export function listableBy(project: Pick<Project, "visibility" | "ownerUserId">, actor: Actor, teamRole: TeamRole | null): boolean {
  if (project.visibility === "public" || isAdmin(actor)) return true;
  if (actor.kind !== "user") return false;
  return project.ownerUserId === actor.user.id || teamRole !== null;
}

/** Among `list`, the projects `actor` may see listed (one query for the actor's team roles). */
async function listable(orm: Orm, actor: Actor, list: Project[]): Promise<Project[]> {
  const teamIds = [...new Set(list.map((p) => p.ownerTeamId).filter((x): x is string => x !== null))];
  const roles = new Map<string, TeamRole>();
  if (actor.kind === "user" && teamIds.length > 0) {
    const rows = await orm
      .select({ teamId: teamMembers.teamId, role: teamMembers.role })
      .from(teamMembers)
      .where(and(eq(teamMembers.userId, actor.user.id), inArray(teamMembers.teamId, teamIds)));
    for (const r of rows) roles.set(r.teamId, r.role);
  }
  return list.filter((p) => listableBy(p, actor, p.ownerTeamId ? (roles.get(p.ownerTeamId) ?? null) : null));
}

const PROFILE_PROJECTS = 100;
const PROFILE_FEED = 20;

export type Profile = { projects: Project[]; activity: Activity };

function toItem(e: EventRow): ActivityItem {
  let data: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(e.data);
    if (v && typeof v === "object" && !Array.isArray(v)) data = v as Record<string, unknown>;
  } catch {
    // A malformed row shows without details.
  }
  return { id: e.id, at: e.at, kind: e.kind, actorId: e.actorId, projectId: e.projectId, teamId: e.teamId, subjectId: e.subjectId, data };
}

/**
 * Keeps the feed-worthy events whose project still exists and is listable by the viewer, and
 * names them. An event without a project (team changes) is kept only when `teamEvents` allows
 * it; an event of a deleted project is dropped, since nobody can check who could see it.
 */
async function visibleActivity(orm: Orm, actor: Actor, rows: EventRow[], known: Map<string, Project>, names: { users: Map<string, string>; teams: Map<string, string> }, teamEvents: boolean): Promise<Activity> {
  const feed = rows.filter((e) => FEED_KINDS.has(e.kind));
  const missing = [...new Set(feed.map((e) => e.projectId).filter((x): x is string => x !== null && !known.has(x)))];
  const fetched = missing.length > 0 ? await orm.select().from(projects).where(inArray(projects.id, missing)) : [];
  const allowed = new Map((await listable(orm, actor, [...known.values(), ...fetched])).map((p) => [p.id, p]));
  const items = feed
    .filter((e) => (e.projectId === null ? teamEvents && e.kind.startsWith("team.") : allowed.has(e.projectId)))
    .slice(0, PROFILE_FEED)
    .map(toItem);
  const users = new Map(names.users);
  const unknownUsers = [...new Set(items.flatMap((it) => [it.actorId, typeof it.data.userId === "string" ? it.data.userId : null]).filter((x): x is string => x !== null && !users.has(x)))];
  if (unknownUsers.length > 0) {
    const rows2 = await orm.all<{ id: string; username: string }>(sql`SELECT id, username FROM users WHERE id IN (${sql.join(unknownUsers.map((i) => sql`${i}`), sql`, `)})`);
    for (const r of rows2) users.set(r.id, r.username);
  }
  return { items, names: { users, projects: new Map([...allowed.values()].map((p) => [p.id, p.name])), teams: names.teams } };
}

/** A user's profile as `viewer` sees it: their own projects (public ones, or all for themselves and admins) and what they did in projects the viewer may see. */
export async function userProfile(orm: Orm, viewer: Actor, user: User): Promise<Profile> {
  const own = await orm.select().from(projects).where(eq(projects.ownerUserId, user.id)).orderBy(desc(projects.updatedAt), desc(projects.id)).limit(PROFILE_PROJECTS);
  const shown = await listable(orm, viewer, own);
  const rows = await listEvents(orm, { actorId: user.id, limit: 200 });
  const activity = await visibleActivity(orm, viewer, rows, new Map(own.map((p) => [p.id, p])), { users: new Map([[user.id, user.username]]), teams: new Map() }, false);
  return { projects: shown, activity };
}

/** A team's profile as `viewer` sees it: its projects (public ones, or all for members and admins) and activity in those the viewer may see; team changes only for members. */
export async function teamProfile(orm: Orm, viewer: Actor, team: Team, viewerRole: TeamRole | null): Promise<Profile> {
  const own = await orm.select().from(projects).where(eq(projects.ownerTeamId, team.id)).orderBy(desc(projects.updatedAt), desc(projects.id)).limit(PROFILE_PROJECTS);
  const shown = await listable(orm, viewer, own);
  const rows = await listEvents(orm, { teamIds: [team.id], projectIds: own.map((p) => p.id), limit: 200 });
  const member = viewerRole !== null || isAdmin(viewer);
  const activity = await visibleActivity(orm, viewer, rows, new Map(own.map((p) => [p.id, p])), { users: new Map(), teams: new Map([[team.id, team.name]]) }, member);
  return { projects: shown, activity };
}
