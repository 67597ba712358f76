/**
 * Semantic search: the query is embedded with the embedder in force (embedder-settings.ts) and
 * answered by the vector index (vectors.ts) over the chunks the semantic indexer made
 * (semantic-index.ts). Results are chunks as CodeHits: the line of the chunk that shares the
 * most words with the query (else its first meaningful line), with a line of context.
 *
 * Permissions: the caller's scope (access.ts) and the path/lang filters become ONE SQL condition
 * that the vector index applies inside its re-ranking query, joined through search_chunks →
 * search_files → projects; when the filter leaves too few of the candidates, the index scans
 * exactly the chunks the filter admits when they are few, else fetches more candidates from
 * every cell (vectors.ts, "Over-fetch"). A search in one project with few chunks
 * (≤ EXACT_PROJECT_CHUNKS) is answered by that exact scan directly.
 *
 * Scope cut: the vector index needs the sqlite-vec extension on a local database file. With a
 * remote libSQL server (WOVE_DATABASE_URL) semantic search answers 501 `not_implemented`.
 */
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { openVectorDatabase, type VecDatabase } from "../db/vec.ts";
import { ApiError } from "../lib/errors.ts";
import { searchScope, scopeConditionText, type SearchScope } from "./access.ts";
import { fileFilterSql, parseQuery, type ParsedQuery } from "./query.ts";
import type { CodeHit } from "./types.ts";
import { splitIdentifier, stem, type Embedder } from "./embed.ts";
import { EmbedderError } from "./embed-http.ts";
import { currentEmbedder } from "./embedder-settings.ts";
import { exactNearest, nearest, type Filter, type Scored } from "./vectors.ts";

/** A project with at most this many chunks is searched exactly (no index, no approximation). */
export const EXACT_PROJECT_CHUNKS = 5000;
/** At most this many hits from one file, so one long file cannot fill the page. */
const PER_FILE = 2;
export const MAX_LIMIT = 100;
const MAX_SNIPPET_LINE = 300;

const connections = new WeakMap<App, VecDatabase>();

export function notLocal(): ApiError {
  return new ApiError(
    501,
    "not_implemented",
    "Semantic search needs the embedded database file: it is not available when Wove runs on a remote libSQL server (WOVE_DATABASE_URL). Use code search (type=code) instead.",
  );
}

/** The vector connection for `app` (sqlite-vec loaded), opened on first use. 501 with a remote database. */
export function vectorDb(app: App): VecDatabase {
  const open = connections.get(app);
  if (open) return open;
  if (!app.db.file) throw notLocal();
  const db = openVectorDatabase(app.db.file);
  connections.set(app, db);
  return db;
}

export function closeVectorDb(app: App): void {
  connections.get(app)?.close();
  connections.delete(app);
}

export type SemanticOptions = { limit: number; projectId?: string; paths?: string[]; langs?: string[] };

/** The contract entry point: `q` may carry `path:`/`lang:` filters; `opts.projectId` narrows to one readable project (404 otherwise). */
export async function semanticSearch(app: App, actor: Actor, q: string, opts: SemanticOptions): Promise<CodeHit[]> {
  if (!app.db.file) throw notLocal();
  const parsed = parseQuery(q);
  if (opts.paths) parsed.paths.push(...opts.paths);
  if (opts.langs) parsed.langs.push(...opts.langs);
  const scope = await searchScope(app, actor, opts.projectId);
  return semanticSearchScoped(app, scope, parsed, opts.limit);
}

const dialect = new SQLiteSyncDialect();

/** The scope and the file filters as one SQL condition over p (projects) and f (search_files). */
export function filterFor(scope: SearchScope, q: Pick<ParsedQuery, "paths" | "notPaths" | "langs">): Filter {
  const s = scopeConditionText(scope, "p");
  const files = fileFilterSql(q, "f");
  if (!files) return { sql: s.sql, args: s.args };
  const f = dialect.sqlToQuery(files);
  return { sql: `(${s.sql}) AND (${f.sql})`, args: [...s.args, ...(f.params as (string | number)[])] };
}

export async function embedQuery(embedder: Embedder, text: string): Promise<Float32Array> {
  try {
    const [v] = await embedder.embed([text]);
    if (!v) throw new EmbedderError("The embedder returned no vector.");
    return v;
  } catch (e) {
    if (e instanceof EmbedderError) throw new ApiError(502, "embedder_unavailable", `Semantic search could not embed the query: ${e.message}`);
    throw e;
  }
}

/** Semantic search within an already-resolved scope (hybrid.ts and the API share the scope and the parsed query). */
export async function semanticSearchScoped(app: App, scope: SearchScope, q: ParsedQuery, limit: number): Promise<CodeHit[]> {
  if (!app.db.file) throw notLocal();
  const text = q.text.trim();
  const n = Math.max(1, Math.min(MAX_LIMIT, limit));
  if (text === "") return [];
  const embedder = await currentEmbedder(app);
  const qv = await embedQuery(embedder, text);
  const db = vectorDb(app);
  const filter = filterFor(scope, q);
  const want = n * (PER_FILE + 1);
  const small = scope.kind === "project" && projectChunks(db, scope.projectId, embedder.id) <= EXACT_PROJECT_CHUNKS;
  const scored = small ? exactNearest(db, embedder.id, qv, want, filter) : nearest(db, { id: embedder.id, dims: embedder.dims }, qv, want, filter);
  return toHits(db, scored, text, n);
}

function projectChunks(db: VecDatabase, projectId: string, embedder: string): number {
  const r = db
    .prepare(
      `SELECT count(*) AS n FROM (SELECT 1 FROM search_files f JOIN search_chunks c ON c.file_id = f.id WHERE f.project_id = ? AND c.embedder = ? LIMIT ${EXACT_PROJECT_CHUNKS + 1})`,
    )
    .get([projectId, embedder]) as { n: number } | undefined;
  return Number(r?.n ?? 0);
}

type ChunkRow = { id: number; file_id: number; start_line: number; end_line: number; path: string; project_id: string };

/** Chunk ids (best first) → hits: at most PER_FILE per file, each with its best line as the snippet. */
function toHits(db: VecDatabase, scored: Scored[], query: string, limit: number): CodeHit[] {
  if (scored.length === 0) return [];
  const rows = db
    .prepare(
      "SELECT c.id, c.file_id, c.start_line, c.end_line, f.path, f.project_id FROM json_each(?) j CROSS JOIN search_chunks c ON c.id = j.value CROSS JOIN search_files f ON f.id = c.file_id",
    )
    .all([JSON.stringify(scored.map((s) => s.id))]) as ChunkRow[];
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const perFile = new Map<number, number>();
  const picked: { row: ChunkRow; score: number }[] = [];
  for (const s of scored) {
    const r = byId.get(s.id);
    if (!r) continue;
    const seen = perFile.get(r.file_id) ?? 0;
    if (seen >= PER_FILE) continue;
    perFile.set(r.file_id, seen + 1);
    picked.push({ row: r, score: s.score });
    if (picked.length === limit) break;
  }
  const lines = chunkLines(db, picked.map((p) => p.row));
  const words = queryWords(query);
  return picked.map(({ row, score }, i) => {
    const own = lines[i] ?? [""];
    const best = bestLine(own, words);
    const shown = own.slice(Math.max(0, best - 1), Math.min(own.length, best + 2)).map((l) => (l.length > MAX_SNIPPET_LINE ? `${l.slice(0, MAX_SNIPPET_LINE)}…` : l));
    const snippet = shown.join("\n");
    return { projectId: row.project_id, path: row.path, line: Number(row.start_line) + best, snippet, score: Math.round(score * 10_000) / 10_000, ranges: rangesOf(snippet, words) };
  });
}

/**
 * Each chunk's lines, from the indexed text (search_segments, written by code search): only the
 * segments that overlap a chunk, for all chunks in one statement. A segment covers its start
 * line up to the next segment's start line (it may end inside a line the next one continues).
 */
function chunkLines(db: VecDatabase, chunks: ChunkRow[]): string[][] {
  if (chunks.length === 0) return [];
  const segs = db
    .prepare(
      `SELECT CAST(j.key AS INTEGER) AS i, s.start_line, s.text FROM json_each(?) j
       CROSS JOIN search_segments s ON s.id BETWEEN json_extract(j.value, '$[0]') * 256 AND json_extract(j.value, '$[0]') * 256 + 255
       WHERE s.start_line <= json_extract(j.value, '$[2]')
         AND coalesce((SELECT n.start_line FROM search_segments n WHERE n.id = s.id + 1 AND n.file_id = s.file_id), 9e18) >= json_extract(j.value, '$[1]')
       ORDER BY i, s.id`,
    )
    .all([JSON.stringify(chunks.map((c) => [c.file_id, c.start_line, c.end_line]))]) as { i: number; start_line: number; text: string }[];
  const texts = chunks.map(() => ({ base: 0, parts: [] as string[] }));
  for (const seg of segs) {
    const t = texts[Number(seg.i)];
    if (!t) continue;
    if (t.parts.length === 0) t.base = Number(seg.start_line);
    t.parts.push(String(seg.text));
  }
  return chunks.map((c, i) => {
    const t = texts[i] as { base: number; parts: string[] };
    // The overlapping segments are consecutive pieces of the file: joined, its text from line `base`.
    const all = t.parts.join("").split("\n");
    const out = all.slice(c.start_line - t.base, c.end_line - t.base + 1).map((l) => l.replace(/\r$/, ""));
    return out.length > 0 ? out : [""];
  });
}

function queryWords(q: string): Set<string> {
  const out = new Set<string>();
  for (const m of q.matchAll(/[\p{L}\p{N}_$]+/gu)) for (const p of splitIdentifier(m[0])) if (p.length >= 2) out.add(stem(p));
  return out;
}

/** The index of the line sharing the most query words; else the first line that is not blank or a comment. */
function bestLine(lines: string[], words: Set<string>): number {
  let best = -1;
  let bestScore = 0;
  lines.forEach((line, i) => {
    let score = 0;
    for (const m of line.matchAll(/[\p{L}\p{N}_$]+/gu)) for (const p of splitIdentifier(m[0])) if (words.has(stem(p))) score++;
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  });
  if (best >= 0) return best;
  const first = lines.findIndex((l) => l.trim() !== "" && !/^\s*(\/\/|\/\*|\*|#|--|<!--)/.test(l));
  return first >= 0 ? first : 0;
}

/** Where query words occur in the snippet, for highlighting. */
function rangesOf(snippet: string, words: Set<string>): [number, number][] {
  const out: [number, number][] = [];
  for (const m of snippet.matchAll(/[\p{L}\p{N}_$]+/gu)) {
    if (splitIdentifier(m[0]).some((p) => words.has(stem(p)))) out.push([m.index, m.index + m[0].length]);
    if (out.length >= 50) break;
  }
  return out;
}
