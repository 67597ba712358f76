/**
 * Project tags: short lowercase words a project admin attaches so people can find the project
 * on the explore page. A project has at most MAX_TAGS; setting them replaces the whole set.
 */
import { asc, eq, inArray } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, projectTags, type Project } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { invalid } from "../lib/errors.ts";

export const MAX_TAGS = 10;
export const TAG_RE = /^[a-z0-9][a-z0-9-]{0,29}$/;

/**
 * Normalises (trim, lowercase, drop duplicates, keep order) and validates a tag list.
 * Returns the tags or a message for the person who typed them.
 */
export function checkTags(raw: readonly string[]): { tags: string[] } | { error: string } {
  const tags: string[] = [];
  for (const r of raw) {
    const t = r.trim().toLowerCase();
    if (t === "") continue;
    if (!TAG_RE.test(t)) {
      return { error: `“${t.slice(0, 40)}” is not a valid tag: use 1–30 lowercase letters, digits and dashes, starting with a letter or digit.` };
    }
    if (!tags.includes(t)) tags.push(t);
  }
  if (tags.length > MAX_TAGS) return { error: `A project can have at most ${MAX_TAGS} tags.` };
  return { tags };
}

/** Splits what was typed in the tags field: commas or whitespace separate tags. */
export function parseTagInput(text: string): string[] {
  return text.split(/[\s,]+/).filter((t) => t !== "");
}

export async function getTags(orm: Orm, projectId: string): Promise<string[]> {
  const rows = await orm.select({ tag: projectTags.tag }).from(projectTags).where(eq(projectTags.projectId, projectId)).orderBy(asc(projectTags.tag));
  return rows.map((r) => r.tag);
}

/** Tags of many projects in one query: project id → sorted tags (absent when none). */
export async function tagsOf(orm: Orm, projectIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (projectIds.length === 0) return out;
  const rows = await orm
    .select()
    .from(projectTags)
    .where(inArray(projectTags.projectId, [...new Set(projectIds)]))
    .orderBy(asc(projectTags.tag));
  for (const r of rows) out.set(r.projectId, [...(out.get(r.projectId) ?? []), r.tag]);
  return out;
}

/**
 * Replaces the project's tags (validated; a 422 with details.tags otherwise) and records
 * `project.tags_changed` when they differ. Returns the tags now set.
 */
export async function setTags(orm: Orm, project: Project, raw: readonly string[], actorId: string | null): Promise<string[]> {
  const checked = checkTags(raw);
  if ("error" in checked) throw invalid(checked.error, { tags: checked.error });
  const next = [...checked.tags].sort();
  const before = await getTags(orm, project.id);
  if (before.length === next.length && before.every((t, i) => t === next[i])) return before;
  await orm.batch([
    orm.delete(projectTags).where(eq(projectTags.projectId, project.id)),
    ...(next.length > 0 ? [orm.insert(projectTags).values(next.map((tag) => ({ projectId: project.id, tag })))] : []),
    orm.insert(events).values(
      eventValues({
        actorId,
        kind: "project.tags_changed",
        subjectType: "project",
        subjectId: project.id,
        projectId: project.id,
        teamId: project.ownerTeamId,
        data: { tags: next, from: before },
      }),
    ),
  ]);
  return next;
}
