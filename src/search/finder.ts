/**
 * The quick-open file finder (`type=files`): every indexed file in scope — binary ones too,
 * listed by name — scored against the query exactly as the IDE's own quick-open scores them
 * (web/islands/ide/fuzzy.ts: consecutive characters and word starts score, matches in the
 * file name beat matches in folders, gaps cost a little).
 *
 * Path lists are kept in memory per project and App, keyed by search_projects.files_version
 * (bumped in the same transaction as any file added, removed or renamed, by whichever process
 * indexed it), read together with the scope check — so a search costs one small query plus
 * the scoring, and a list is never stale.
 */
import type { App } from "../core/app.ts";
import { fuzzyScore } from "../web/islands/ide/fuzzy.ts";
import { scopeConditionText, type SearchScope } from "./access.ts";
import { decodeCursor, encodeCursor, fileFilterTest, type ParsedQuery } from "./query.ts";
import type { CodeSearchHit } from "./code.ts";

export type FileHit = CodeSearchHit & { binary?: true };
type ProjectFiles = { version: number; paths: string[]; langs: string[]; binary: Set<string> };

const caches = new WeakMap<App, Map<string, ProjectFiles>>();
const LOAD_CHUNK = 200;

function cacheOf(app: App): Map<string, ProjectFiles> {
  let c = caches.get(app);
  if (!c) caches.set(app, (c = new Map()));
  return c;
}

/** The file lists of every project in scope, loading the ones not cached or changed since. */
async function filesInScope(app: App, scope: SearchScope): Promise<Map<string, ProjectFiles>> {
  const cond = scopeConditionText(scope, "p");
  const rs = await app.db.client.execute({
    sql: `SELECT p.id, sp.files_version FROM projects p JOIN search_projects sp ON sp.project_id = p.id WHERE ${cond.sql}`,
    args: cond.args,
  });
  const cache = cacheOf(app);
  const out = new Map<string, ProjectFiles>();
  const stale: { id: string; version: number }[] = [];
  for (const r of rs.rows) {
    const id = String(r.id);
    const version = Number(r.files_version);
    const hit = cache.get(id);
    if (hit && hit.version === version) out.set(id, hit);
    else stale.push({ id, version });
  }
  for (let i = 0; i < stale.length; i += LOAD_CHUNK) {
    const chunk = stale.slice(i, i + LOAD_CHUNK);
    const fresh = new Map(chunk.map((s) => [s.id, { version: s.version, paths: [], langs: [], binary: new Set<string>() } as ProjectFiles]));
    const files = await app.db.client.execute({
      sql: `SELECT project_id, path, lang, kind FROM search_files WHERE project_id IN (${chunk.map(() => "?").join(",")}) ORDER BY project_id, path`,
      args: chunk.map((s) => s.id),
    });
    for (const f of files.rows) {
      const pf = fresh.get(String(f.project_id));
      if (!pf) continue;
      pf.paths.push(String(f.path));
      pf.langs.push(String(f.lang));
      if (f.kind === "binary") pf.binary.add(String(f.path));
    }
    for (const [id, pf] of fresh) {
      cache.set(id, pf);
      out.set(id, pf);
    }
  }
  return out;
}

/** Sorted, merged [start, end) ranges from matched character positions. */
function toRanges(positions: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const p of positions) {
    const last = out.at(-1);
    if (last && last[1] === p) last[1] = p + 1;
    else out.push([p, p + 1]);
  }
  return out;
}

export async function findFiles(app: App, scope: SearchScope, q: ParsedQuery, opts: { limit: number; cursor?: string }): Promise<{ results: FileHit[]; next: string | null }> {
  const offset = opts.cursor ? decodeCursor(opts.cursor, ["o"]).o : 0;
  const keep = fileFilterTest(q);
  const scored: { projectId: string; path: string; score: number; positions: number[]; binary: boolean }[] = [];
  for (const [projectId, pf] of await filesInScope(app, scope)) {
    for (let i = 0; i < pf.paths.length; i++) {
      const path = pf.paths[i] as string;
      if (keep && !keep(path, pf.langs[i] ?? "plaintext")) continue;
      const m = fuzzyScore(q.text, path);
      if (m) scored.push({ projectId, path, score: m.score, positions: m.positions, binary: pf.binary.has(path) });
    }
  }
  scored.sort((a, b) => b.score - a.score || a.path.length - b.path.length || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || (a.projectId < b.projectId ? -1 : 1));
  const page = scored.slice(offset, offset + opts.limit);
  return {
    results: page.map((s) => ({
      projectId: s.projectId,
      path: s.path,
      line: 1,
      snippet: s.path,
      snippetStart: 1,
      score: Math.round(s.score * 100) / 100,
      ranges: toRanges(s.positions),
      ...(s.binary ? { binary: true as const } : {}),
    })),
    next: scored.length > offset + opts.limit ? encodeCursor({ o: offset + opts.limit }) : null,
  };
}
