/**
 * Hybrid search: keyword hits (code search, code.ts) and meaning hits (semantic.ts) merged by
 * reciprocal rank fusion — each hit scores Σ 1/(RRF_K + rank) over the lists it appears in
 * (rank from 1), RRF_K = 60 as in Cormack et al. — so a hit both lists agree on rises, and
 * neither list's raw scores (which are not comparable) matter.
 *
 * The keyword list: the query as one literal (an identifier, `eval(`), then, for a query of
 * several words, each significant word on its own (round-robin, so every word gets places),
 * since a question in plain words rarely occurs verbatim in code.
 * A keyword hit and a meaning hit in the same file within MERGE_LINES lines of each other are
 * the same place: they fuse, keeping the keyword hit's line, snippet and highlights.
 * Both lists run inside the same permission scope (access.ts), in parallel.
 */
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { searchScope, type SearchScope } from "./access.ts";
import { searchCode } from "./code.ts";
import { parseQuery, type ParsedQuery } from "./query.ts";
import type { CodeHit } from "./types.ts";
import { notLocal, semanticSearchScoped, MAX_LIMIT } from "./semantic.ts";

export const RRF_K = 60;
const MERGE_LINES = 15;
const MAX_WORDS = 4;
const STOP = new Set("a an the and or of to in on at by for with from into is are be it this that how what where which who why do does can find show me my all any some use using".split(" "));

export type HybridOptions = { limit: number; projectId?: string; paths?: string[]; langs?: string[]; caseSensitive?: boolean };

/** The contract entry point, like semanticSearch: `q` may carry filters, `opts.projectId` narrows the scope. */
export async function hybridSearch(app: App, actor: Actor, q: string, opts: HybridOptions): Promise<CodeHit[]> {
  if (!app.db.file) throw notLocal();
  const parsed = parseQuery(q);
  if (opts.paths) parsed.paths.push(...opts.paths);
  if (opts.langs) parsed.langs.push(...opts.langs);
  const scope = await searchScope(app, actor, opts.projectId);
  return hybridSearchScoped(app, scope, parsed, opts);
}

/** Significant words of a plain-words query, longest first (they are the most specific). */
export function keywordsOf(text: string): string[] {
  const words = text.split(/\s+/).filter((w) => /^[\p{L}\p{N}_$-]+$/u.test(w) && w.length >= 3 && !STOP.has(w.toLowerCase()));
  const unique = [...new Set(words)];
  if (unique.length < 2) return [];
  return unique.sort((a, b) => b.length - a.length).slice(0, MAX_WORDS);
}

async function keywordList(app: App, scope: SearchScope, q: ParsedQuery, depth: number, caseSensitive: boolean): Promise<CodeHit[]> {
  const run = async (text: string) => (await searchCode(app, scope, { ...q, text }, { regex: false, caseSensitive, limit: depth })).results;
  const words = keywordsOf(q.text);
  const lists = await Promise.all([run(q.text), ...words.map(run)]);
  const [phrase, ...perWord] = lists as [CodeHit[], ...CodeHit[][]];
  const out = [...phrase];
  const seen = new Set(out.map(placeKey));
  for (let i = 0; out.length < depth * 2 && perWord.some((l) => i < l.length); i++) {
    for (const l of perWord) {
      const h = l[i];
      if (h && !seen.has(placeKey(h))) {
        seen.add(placeKey(h));
        out.push(h);
      }
    }
  }
  return out;
}

function placeKey(h: CodeHit): string {
  return `${h.projectId}\u0000${h.path}\u0000${h.line}`;
}

type Fused = { hit: CodeHit; score: number; keyword: boolean };

/** Reciprocal rank fusion of the keyword list and the meaning list. */
export function fuse(keyword: CodeHit[], semantic: CodeHit[], limit: number): CodeHit[] {
  const fused: Fused[] = [];
  const byFile = new Map<string, Fused[]>();
  const place = (h: CodeHit, rank: number, isKeyword: boolean) => {
    const file = `${h.projectId}\u0000${h.path}`;
    const same = byFile.get(file)?.find((f) => Math.abs(f.hit.line - h.line) <= MERGE_LINES && f.keyword !== isKeyword);
    const add = 1 / (RRF_K + rank);
    if (same) {
      same.score += add;
      if (isKeyword) {
        same.hit = h;
        same.keyword = true;
      }
      return;
    }
    const f = { hit: h, score: add, keyword: isKeyword };
    fused.push(f);
    byFile.set(file, [...(byFile.get(file) ?? []), f]);
  };
  keyword.forEach((h, i) => place(h, i + 1, true));
  semantic.forEach((h, i) => place(h, i + 1, false));
  return fused
    .sort((a, b) => b.score - a.score)
    .slice(0, limit)
    .map((f) => ({ ...f.hit, score: Math.round(f.score * 1e6) / 1e6 }));
}

/** Hybrid search within an already-resolved scope. */
export async function hybridSearchScoped(app: App, scope: SearchScope, q: ParsedQuery, opts: { limit: number; caseSensitive?: boolean }): Promise<CodeHit[]> {
  if (!app.db.file) throw notLocal();
  const limit = Math.max(1, Math.min(MAX_LIMIT, opts.limit));
  const depth = Math.max(20, limit * 2);
  const [keyword, semantic] = await Promise.all([keywordList(app, scope, q, depth, opts.caseSensitive ?? false), semanticSearchScoped(app, scope, q, depth)]);
  return fuse(keyword, semantic, limit);
}
