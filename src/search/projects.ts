/**
 * Project discovery: full-text search over each project's name, description, README text and
 * owner (FTS5, porter stemming), plus live matches of a query word against the project's tags
 * and detected tech stack, ranked by
 *
 *   score = text × popularity × freshness
 *   text       = 1 (any match) − bm25(name ×10, description ×4, README ×1, owner ×2)
 *                + 3 per tag hit + 2 per tech hit
 *   popularity = 1 + 0.3·ln(1 + stars) + 0.2·ln(1 + remixes)
 *   freshness  = 1 + 0.5·e^(−days since the last change / 30)
 *
 * so relevance leads and popularity and recency break near-ties (a project with ten times the
 * stars gains about 70 %, never enough to beat a much better text match). The 1 keeps a match
 * worth something where bm25 is near zero: a word found in most documents of a small instance. Filters `tag:`,
 * `tech:`, `owner:` narrow the set; facets count tags, tech and owners over the whole match set,
 * not the page. Only projects the caller may see listed are searched (access.ts).
 *
 * The discovery document of a project is written by the indexer (refreshProjectDoc) when the
 * project is new or its `updated_at` moved (a rename, a new description, any file change).
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Client } from "@libsql/client";
import { sql, type SQL } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { filesDir, isProbablyText } from "../projects/files.ts";
import type { ProjectHit } from "./types.ts";
import { scopeCondition, type SearchScope } from "./access.ts";
import { decodeCursor, encodeCursor, type ParsedQuery } from "./query.ts";

const README_RE = /^readme(\.(md|markdown|txt|rst|adoc))?$/i;
const README_MAX = 64 * 1024;
const MAX_TERMS = 16;
const FACET_MAX = 20;

/** The top-level README's text (its first 64 KB), or "" when there is none or it is not text. */
async function readmeText(dataDir: string, projectId: string): Promise<string> {
  const root = filesDir(dataDir, projectId);
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isFile() && README_RE.test(d.name)).map((d) => d.name);
  } catch {
    return "";
  }
  const name = names.sort((a, b) => Number(!/\.md$/i.test(a)) - Number(!/\.md$/i.test(b)) || a.localeCompare(b))[0];
  if (!name) return "";
  const file = Bun.file(join(root, name));
  const bytes = new Uint8Array(await file.slice(0, README_MAX).arrayBuffer());
  return isProbablyText(bytes) ? new TextDecoder().decode(bytes) : "";
}

/** Rewrites a project's discovery document from its row, owner and README (`db`: the indexer's connection). */
export async function refreshProjectDoc(app: App, db: Client, projectId: string): Promise<void> {
  const rs = await db.execute({
    sql: `SELECT sp.id AS doc, p.name, p.description, p.updated_at, u.username, u.name AS user_name, t.slug, t.name AS team_name
          FROM projects p JOIN search_projects sp ON sp.project_id = p.id
          LEFT JOIN users u ON u.id = p.owner_user_id LEFT JOIN teams t ON t.id = p.owner_team_id
          WHERE p.id = ?`,
    args: [projectId],
  });
  const r = rs.rows[0];
  if (!r) return;
  const doc = Number(r.doc);
  const owner = [r.username, r.user_name, r.slug, r.team_name].filter((v) => typeof v === "string" && v !== "").join(" ");
  const readme = await readmeText(app.config.dataDir, projectId);
  await db.batch(
    [
      { sql: "DELETE FROM search_project_text WHERE rowid = ?", args: [doc] },
      { sql: "INSERT INTO search_project_text (rowid, name, description, readme, owner) VALUES (?, ?, ?, ?, ?)", args: [doc, String(r.name), String(r.description), readme, owner] },
      { sql: "UPDATE search_projects SET seen_updated_at = ? WHERE id = ?", args: [Number(r.updated_at), doc] },
    ],
    "write",
  );
}

/** The words of a query as an FTS5 OR-query (the last word also as a prefix, for typing as you go); undefined when it has none. */
export function ftsWords(text: string): { match: string; words: string[] } | undefined {
  const words = [...new Set((text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, MAX_TERMS))];
  if (words.length === 0) return undefined;
  const quoted = words.map((w, i) => (i === words.length - 1 && !/\s$/.test(text) ? `"${w}"*` : `"${w}"`));
  return { match: quoted.join(" OR "), words };
}

export type Facet = { value: string; count: number };
export type ProjectSearch = { results: ProjectHit[]; next: string | null; facets: { tags: Facet[]; tech: Facet[]; owners: Facet[] } };

function inList(values: string[]): SQL {
  return sql.join(values.map((v) => sql`${v}`), sql`, `);
}

export async function searchProjects(app: App, scope: SearchScope, q: ParsedQuery, opts: { limit: number; cursor?: string }): Promise<ProjectSearch> {
  const offset = opts.cursor ? decodeCursor(opts.cursor, ["o"]).o : 0;
  const fts = ftsWords(q.text);
  const words = fts?.words ?? [];
  const noWords = sql`SELECT NULL AS doc, NULL AS rank WHERE 0`;
  const m = fts ? sql`SELECT rowid AS doc, bm25(search_project_text, 10.0, 4.0, 1.0, 2.0) AS rank FROM search_project_text WHERE search_project_text MATCH ${fts.match}` : noWords;
  const tagHits = words.length ? sql`(SELECT count(*) FROM project_tags x WHERE x.project_id = p.id AND x.tag IN (${inList(words)}))` : sql`0`;
  const techHits = words.length ? sql`(SELECT count(*) FROM project_tech x WHERE x.project_id = p.id AND x.tech IN (${inList(words)}))` : sql`0`;
  const filters: SQL[] = [scopeCondition(scope, "p")];
  for (const tag of q.tags) filters.push(sql`EXISTS (SELECT 1 FROM project_tags x WHERE x.project_id = p.id AND x.tag = ${tag})`);
  for (const tech of q.techs) filters.push(sql`EXISTS (SELECT 1 FROM project_tech x WHERE x.project_id = p.id AND x.tech = ${tech})`);
  for (const o of q.owners) {
    filters.push(sql`(p.owner_user_id = (SELECT id FROM users WHERE username = ${o}) OR p.owner_team_id = (SELECT id FROM teams WHERE slug = ${o}))`);
  }
  // With words, a project must match some; with filters only, every project passing them matches.
  if (words.length) filters.push(sql`(m.doc IS NOT NULL OR ${tagHits} > 0 OR ${techHits} > 0)`);
  const where = sql.join(filters, sql` AND `);
  const now = Date.now();
  const text = words.length ? sql`((m.doc IS NOT NULL) + coalesce(-m.rank, 0) + 3.0 * ${tagHits} + 2.0 * ${techHits})` : sql`1.0`;
  const score = sql`${text} * (1 + 0.3 * ln(1 + p.star_count) + 0.2 * ln(1 + p.fork_count)) * (1 + 0.5 * exp(-((${now} - p.updated_at) / 86400000.0) / 30.0))`;
  const base = sql`FROM projects p LEFT JOIN search_projects sp ON sp.project_id = p.id LEFT JOIN m ON m.doc = sp.id WHERE ${where}`;
  const rows = await app.db.orm.all<{ id: string; name: string; description: string; owner: string | null; score: number }>(sql`
    WITH m AS (${m})
    SELECT p.id, p.name, p.description, coalesce((SELECT username FROM users WHERE id = p.owner_user_id), (SELECT slug FROM teams WHERE id = p.owner_team_id)) AS owner,
           ${score} AS score
    ${base}
    ORDER BY score DESC, p.id
    LIMIT ${opts.limit + 1} OFFSET ${offset}`);
  const facetRows = await app.db.orm.all<{ k: string; v: string | null; n: number }>(sql`
    WITH m AS (${m}), c AS (SELECT p.id, p.owner_user_id, p.owner_team_id ${base})
    SELECT 'tag' AS k, x.tag AS v, count(*) AS n FROM project_tags x JOIN c ON c.id = x.project_id GROUP BY x.tag
    UNION ALL SELECT 'tech', x.tech, count(*) FROM project_tech x JOIN c ON c.id = x.project_id GROUP BY x.tech
    UNION ALL SELECT 'owner', coalesce(u.username, t.slug), count(*) FROM c LEFT JOIN users u ON u.id = c.owner_user_id LEFT JOIN teams t ON t.id = c.owner_team_id GROUP BY 2`);
  const facet = (k: string): Facet[] =>
    facetRows
      .filter((r) => r.k === k && r.v !== null)
      .map((r) => ({ value: String(r.v), count: Number(r.n) }))
      .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value))
      .slice(0, FACET_MAX);
  const page = rows.slice(0, opts.limit);
  return {
    results: page.map((r) => ({ projectId: r.id, name: r.name, score: Math.round(Number(r.score) * 1000) / 1000, description: r.description, owner: r.owner ?? undefined })),
    next: rows.length > opts.limit ? encodeCursor({ o: offset + opts.limit }) : null,
    facets: { tags: facet("tag"), tech: facet("tech"), owners: facet("owner") },
  };
}
