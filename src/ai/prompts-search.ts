/**
 * Finding prompts: who may see which (the one visibility rule, as SQL), one prompt with its
 * owner, team and counts, and search over name, description and the current text.
 *
 * The visibility rule is part of every query's WHERE — filtering after a LIMIT would return
 * short pages and leak counts. A prompt is visible to its owner; a team prompt to that team's
 * members (any role); an instance prompt to every signed-in account. Private means private:
 * instance admins do not read other people's private prompts.
 */
import { sql, type SQL } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { notFound } from "../lib/errors.ts";

export type PromptVisibility = "private" | "team" | "instance";
export const PROMPT_VISIBILITIES: readonly PromptVisibility[] = ["private", "team", "instance"];

/** Which prompts a list shows: all I can see, mine, shared with my teams, shared with everyone. */
export type PromptScope = "all" | "mine" | "team" | "instance";
export const PROMPT_SCOPES: readonly PromptScope[] = ["all", "mine", "team", "instance"];
export type PromptSort = "votes" | "recent" | "uses";
export const PROMPT_SORTS: readonly PromptSort[] = ["votes", "recent", "uses"];

export const QUERY_MAX = 200;
export const PAGE_MAX = 100;

/** A prompt as lists and pages show it: no text, with the numbers people sort by. */
export type PromptSummary = {
  id: string;
  name: string;
  description: string;
  visibility: PromptVisibility;
  teamId: string | null;
  teamName: string | null;
  teamSlug: string | null;
  ownerId: string;
  ownerUsername: string;
  ownerName: string;
  currentVersion: number;
  createdAt: number;
  updatedAt: number;
  /** Up votes minus down votes. */
  score: number;
  up: number;
  down: number;
  uses: number;
  /** The viewer's own vote: 1, -1 or 0 (none). */
  myVote: number;
};

/** SQL true when the prompt `p` is visible to the user. */
export function visibleTo(userId: string): SQL {
  return sql`(p.owner_id = ${userId} OR p.visibility = 'instance'
    OR (p.visibility = 'team' AND p.team_id IN (SELECT team_id FROM team_members WHERE user_id = ${userId})))`;
}

function scopeSql(scope: PromptScope, userId: string): SQL {
  switch (scope) {
    case "mine":
      return sql`p.owner_id = ${userId}`;
    case "team":
      return sql`(p.visibility = 'team' AND p.team_id IN (SELECT team_id FROM team_members WHERE user_id = ${userId}))`;
    case "instance":
      return sql`p.visibility = 'instance'`;
    case "all":
      return sql`1`;
  }
}

/** `%term%` for LIKE with `%`, `_` and the escape character itself taken literally. */
function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The query's words, each of which must appear in the name, the description or the current text. */
export function queryTerms(q: string): string[] {
  return q.trim().split(/\s+/).filter(Boolean).slice(0, 10);
}

type SummaryRow = Omit<PromptSummary, "visibility"> & { visibility: string };

/** The SELECT every listing shares: prompt, owner, team, votes (with the viewer's own) and uses. */
function summarySelect(userId: string): SQL {
  return sql`SELECT p.id AS id, p.name AS name, p.description AS description, p.visibility AS visibility,
      p.team_id AS teamId, t.name AS teamName, t.slug AS teamSlug,
      p.owner_id AS ownerId, u.username AS ownerUsername, u.name AS ownerName,
      p.current_version AS currentVersion, p.created_at AS createdAt, p.updated_at AS updatedAt,
      coalesce(vs.score, 0) AS score, coalesce(vs.up, 0) AS up, coalesce(vs.down, 0) AS down,
      coalesce(us.uses, 0) AS uses,
      coalesce((SELECT value FROM prompt_votes WHERE prompt_id = p.id AND user_id = ${userId}), 0) AS myVote
    FROM prompts p
    JOIN users u ON u.id = p.owner_id
    LEFT JOIN teams t ON t.id = p.team_id
    LEFT JOIN (SELECT prompt_id, sum(value) AS score, sum(value = 1) AS up, sum(value = -1) AS down
               FROM prompt_votes GROUP BY prompt_id) vs ON vs.prompt_id = p.id
    LEFT JOIN (SELECT prompt_id, count(*) AS uses FROM prompt_uses GROUP BY prompt_id) us ON us.prompt_id = p.id`;
}

function toSummary(r: SummaryRow): PromptSummary {
  return {
    ...r,
    visibility: r.visibility as PromptVisibility,
    score: Number(r.score),
    up: Number(r.up),
    down: Number(r.down),
    uses: Number(r.uses),
    myVote: Number(r.myVote),
    currentVersion: Number(r.currentVersion),
    createdAt: Number(r.createdAt),
    updatedAt: Number(r.updatedAt),
  };
}

/** One prompt the user may see, or a 404 — the same answer whether it does not exist or is not theirs to see. */
export async function getVisiblePrompt(orm: Orm, userId: string, promptId: string): Promise<PromptSummary> {
  const rows = await orm.all<SummaryRow>(sql`${summarySelect(userId)} WHERE p.id = ${promptId} AND ${visibleTo(userId)}`);
  const row = rows[0];
  if (!row) throw notFound("Prompt");
  return toSummary(row);
}

export type PromptSearch = { q?: string; scope?: PromptScope; sort?: PromptSort; limit?: number; offset?: number };

/**
 * Prompts the user may see, matching every word of `q` (in name, description or the current
 * version's text), in `scope`, sorted by `sort` (ties: newest first). With a query, prompts
 * whose name matches come first. `next` is the offset of the following page, or null.
 */
export async function searchPrompts(orm: Orm, userId: string, s: PromptSearch = {}): Promise<{ prompts: PromptSummary[]; next: number | null }> {
  const limit = Math.min(Math.max(s.limit ?? 20, 1), PAGE_MAX);
  const offset = Math.max(s.offset ?? 0, 0);
  const terms = queryTerms((s.q ?? "").slice(0, QUERY_MAX));
  const where: SQL[] = [visibleTo(userId), scopeSql(s.scope ?? "all", userId)];
  for (const term of terms) {
    const like = likePattern(term);
    where.push(sql`(p.name LIKE ${like} ESCAPE '\\' OR p.description LIKE ${like} ESCAPE '\\'
      OR EXISTS (SELECT 1 FROM prompt_versions pv WHERE pv.prompt_id = p.id AND pv.version = p.current_version AND pv.body LIKE ${like} ESCAPE '\\'))`);
  }
  const order: SQL[] = [];
  if (terms.length > 0) {
    const nameHit = sql.join(terms.map((t) => sql`p.name LIKE ${likePattern(t)} ESCAPE '\\'`), sql` AND `);
    order.push(sql`(${nameHit}) DESC`);
  }
  const sort = s.sort ?? "votes";
  if (sort === "votes") order.push(sql`score DESC`, sql`up DESC`);
  else if (sort === "uses") order.push(sql`uses DESC`);
  // Same-millisecond updates fall back to the order the prompts were made in (rowid), not their random ids.
  order.push(sql`p.updated_at DESC`, sql`p.rowid DESC`);
  const rows = await orm.all<SummaryRow>(
    sql`${summarySelect(userId)} WHERE ${sql.join(where, sql` AND `)} ORDER BY ${sql.join(order, sql`, `)} LIMIT ${limit + 1} OFFSET ${offset}`,
  );
  const more = rows.length > limit;
  return { prompts: rows.slice(0, limit).map(toSummary), next: more ? offset + limit : null };
}
