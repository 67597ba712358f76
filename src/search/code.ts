/**
 * Code search: substring (default) or regex over the text of every file in scope.
 *
 * 1. Candidates: segments containing the query, case folded (search_code MATCH of the query as
 *    a trigram phrase; for a regex, its required literals), joined in the same query with their
 *    file, its project, the caller's scope (access.ts) and the path/lang filters — so the LIMIT
 *    counts only what the caller may see. In segment-id order:
 *    files stay together, a file's segments follow each other, and the cursor is a position
 *    (keyset pagination: page N costs what page 1 does). Queries under three characters, and
 *    regexes without a usable literal, read the segments in scope in the same order instead.
 * 2. Matching: each candidate's text is searched for the match offsets — case-insensitive by
 *    default (as the index), exactly with `case=1` — in this thread for a substring, in a worker
 *    with a deadline for a regex (regex-worker.ts).
 * 3. Hits: matching lines with context, grouped by file and ordered by line (snippets.ts).
 *
 * A search stops after a time budget with whatever it found and a `next` cursor, so a query
 * that must read everything (one character, a literal-less regex) never holds the server.
 */
import type { InValue } from "@libsql/client";
import { sql, type SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { App } from "../core/app.ts";
import type { CodeHit } from "./types.ts";
import { scopeCondition, type SearchScope } from "./access.ts";
import { decodeCursor, encodeCursor, fileFilterSql, type ParsedQuery } from "./query.ts";
import { compileRegex, literalPrefilter } from "./regex.ts";
import { matchItems, STEP_CHARS } from "./regex-worker.ts";
import { clusterMatches } from "./snippets.ts";

/** A code hit as the API returns it: `snippetStart` is the 1-based line of the snippet's first line (context before the match). */
export type CodeSearchHit = CodeHit & { snippetStart: number };
export type CodeSearch = { results: CodeSearchHit[]; next: string | null };
export type CodeSearchOptions = { regex: boolean; caseSensitive: boolean; limit: number; cursor?: string };

const BUDGET_MS = { substring: 300, regex: 3000 };
const MATCHES_PER_SEGMENT = 2000;
const dialect = new SQLiteSyncDialect();

type Candidate = { id: number; projectId: string; path: string; startLine: number; text: string };

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

/** Offsets [start, end, …] of `needle` in `text`. */
export function findLiteral(text: string, needle: string, caseSensitive: boolean, max = MATCHES_PER_SEGMENT): number[] {
  const out: number[] = [];
  if (needle.length === 0) return out;
  let hay = text;
  let pin = needle;
  if (!caseSensitive) {
    hay = text.toLowerCase();
    pin = needle.toLowerCase();
    if (hay.length !== text.length) {
      // Lower-casing changed lengths (e.g. "İ"): let the regex engine keep offsets straight.
      const re = new RegExp(escapeRegExp(needle), "giu");
      for (let m = re.exec(text); m !== null && out.length < max * 2; m = re.exec(text)) out.push(m.index, m.index + m[0].length);
      return out;
    }
  }
  for (let i = hay.indexOf(pin); i >= 0 && out.length < max * 2; i = hay.indexOf(pin, i + pin.length)) out.push(i, i + pin.length);
  return out;
}

async function rows(app: App, query: SQL): Promise<Record<string, InValue>[]> {
  const q = dialect.sqlToQuery(query);
  const rs = await app.db.client.execute({ sql: q.sql, args: q.params as InValue[] });
  return rs.rows as unknown as Record<string, InValue>[];
}

/** The next `n` candidate segments at or after segment id `after`, in id order, with their text. */
async function candidates(app: App, scope: SearchScope, prefilter: string | null, filter: SQL | undefined, after: number, n: number): Promise<Candidate[]> {
  const where: SQL[] = [scopeCondition(scope, "p")];
  if (filter) where.push(filter);
  const cond = sql.join(where, sql` AND `);
  // CROSS JOIN fixes the loop order: the index (or the segments) outside, in id order, so the
  // scope and filters are checked row by row and the LIMIT stops early.
  let ids: SQL;
  if (prefilter !== null) {
    ids = sql`SELECT c.rowid AS id, f.project_id, f.path FROM search_code c CROSS JOIN search_files f CROSS JOIN projects p
      WHERE search_code MATCH ${prefilter} AND c.rowid >= ${after} AND f.id = (c.rowid >> 8) AND p.id = f.project_id AND ${cond}
      ORDER BY c.rowid LIMIT ${n}`;
  } else if (scope.kind === "project") {
    ids = sql`SELECT s.id, f.project_id, f.path FROM search_files f CROSS JOIN search_segments s CROSS JOIN projects p
      WHERE f.project_id = ${scope.projectId} AND s.id BETWEEN f.id * 256 AND f.id * 256 + 255 AND s.id >= ${after} AND p.id = f.project_id AND ${cond}
      ORDER BY s.id LIMIT ${n}`;
  } else {
    ids = sql`SELECT s.id, f.project_id, f.path FROM search_segments s CROSS JOIN search_files f CROSS JOIN projects p
      WHERE s.id >= ${after} AND f.id = s.file_id AND p.id = f.project_id AND ${cond}
      ORDER BY s.id LIMIT ${n}`;
  }
  const found = await rows(app, ids);
  if (found.length === 0) return [];
  const texts = await app.db.client.execute({
    sql: `SELECT id, start_line, text FROM search_segments WHERE id IN (${found.map(() => "?").join(",")})`,
    args: found.map((r) => Number(r.id)),
  });
  const byId = new Map(texts.rows.map((r) => [Number(r.id), { startLine: Number(r.start_line), text: String(r.text) }]));
  const out: Candidate[] = [];
  for (const r of found) {
    const t = byId.get(Number(r.id));
    if (t) out.push({ id: Number(r.id), projectId: String(r.project_id), path: String(r.path), ...t });
  }
  return out;
}

/** Regex matches for a batch of segments, a worker message per ~STEP_CHARS of text. */
async function regexMatches(source: string, flags: string, segs: Candidate[]): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  let batch: { key: number; text: string }[] = [];
  let size = 0;
  const run = async () => {
    if (batch.length === 0) return;
    for (const [k, v] of await matchItems(source, flags, batch)) out.set(k, v);
    batch = [];
    size = 0;
  };
  for (const s of segs) {
    if (size + s.text.length > STEP_CHARS) await run();
    batch.push({ key: s.id, text: s.text });
    size += s.text.length;
  }
  await run();
  return out;
}

function hitScore(c: Candidate, snippet: string, ranges: [number, number][], needle: string | null): number {
  let score = 1;
  const base = c.path.slice(c.path.lastIndexOf("/") + 1).toLowerCase();
  if (needle && base.includes(needle.toLowerCase())) score += 1;
  const first = ranges[0];
  if (needle && first) {
    const word = /[\p{L}\p{N}_]/u;
    const before = snippet.charAt(first[0] - 1);
    const after = snippet.charAt(first[1]);
    if (!word.test(before) && !word.test(after)) score += 0.5;
    if (snippet.slice(first[0], first[1]) === needle) score += 0.5;
  }
  return score;
}

/** Searches the code in `scope` for `q.text` (a substring, or a regex). */
export async function searchCode(app: App, scope: SearchScope, q: ParsedQuery, opts: CodeSearchOptions): Promise<CodeSearch> {
  const started = performance.now();
  const cursor = opts.cursor ? decodeCursor(opts.cursor, ["s", "l"]) : { s: 0, l: 0 };
  const regex = opts.regex ? compileRegex(q.text, opts.caseSensitive) : null;
  const prefilter = regex ? regex.prefilter : literalPrefilter(q.text);
  const filter = fileFilterSql(q);
  const budget = regex ? BUDGET_MS.regex : BUDGET_MS.substring;
  const batchSize = regex ? 64 : 24;
  const results: CodeSearchHit[] = [];
  let at = cursor;
  for (;;) {
    const segs = await candidates(app, scope, prefilter, filter, at.s, batchSize);
    if (segs.length === 0) return { results, next: null };
    const matches = regex ? await regexMatches(regex.source, regex.flags, segs) : null;
    for (const seg of segs) {
      const found = matches ? (matches.get(seg.id) ?? []) : findLiteral(seg.text, q.text, opts.caseSensitive);
      for (const c of clusterMatches(seg.text, found, seg.id === at.s ? at.l : 0)) {
        // One past the page: its position is the next page's start.
        if (results.length === opts.limit) return { results, next: encodeCursor({ s: seg.id, l: c.firstLine }) };
        results.push({
          projectId: seg.projectId,
          path: seg.path,
          line: seg.startLine + c.firstLine,
          snippet: c.snippet,
          snippetStart: seg.startLine + c.snippetFrom,
          ranges: c.ranges,
          score: hitScore(seg, c.snippet, c.ranges, regex ? null : q.text),
        });
      }
    }
    at = { s: (segs.at(-1)?.id ?? at.s) + 1, l: 0 };
    if (segs.length < batchSize) return { results, next: null };
    if (performance.now() - started > budget) return { results, next: encodeCursor(at) };
  }
}

/** The indexed text of a file (its segments joined), or null when it has none (binary, unknown). */
export async function indexedText(app: App, fileId: number): Promise<string | null> {
  const rs = await app.db.client.execute({ sql: "SELECT text FROM search_segments WHERE id BETWEEN ? * 256 AND ? * 256 + 255 ORDER BY id", args: [fileId, fileId] });
  return rs.rows.length === 0 ? null : rs.rows.map((r) => String(r.text)).join("");
}
