/**
 * The quick-open file finder's scoring: the query's characters must appear in the path in
 * order (case-insensitive); among all ways to place them, the best-scoring one wins. Runs of
 * consecutive characters and characters at the start of a word (after "/", "-", "_", ".", a
 * space, or a lower→upper camelCase step) score extra, matches inside the file name beat
 * matches in folder names, and gaps cost a little, so short, tight matches rank first.
 * Pure: no DOM, unit-tested in fuzzy.test.ts.
 */

export type FuzzyMatch = { score: number; positions: number[] };

const MAX_QUERY = 64;
const MAX_TARGET = 1024;
const CONSECUTIVE = 5;
const GAP_START = 0.6;
const GAP_EACH = 0.08;
const LEADING_EACH = 0.04;
const IN_BASENAME = 1.5;
const NONE = Number.NEGATIVE_INFINITY;
const CHAR_SCORE = new Float64Array(MAX_TARGET);
const MATCH = new Float64Array(MAX_QUERY * MAX_TARGET);
const CONSECUTIVE_RUN = new Uint8Array(MAX_QUERY * MAX_TARGET);
const BEST = new Float64Array(MAX_QUERY * MAX_TARGET);
const BEST_AT = new Int32Array(MAX_QUERY * MAX_TARGET);

function wordStartBonus(target: string, j: number): number {
  if (j === 0) return 4;
  const prev = target.charAt(j - 1);
  const cur = target.charAt(j);
  if (prev === "/") return 4;
  if (prev === "-" || prev === "_" || prev === "." || prev === " ") return 3.5;
  if (prev >= "a" && prev <= "z" && cur >= "A" && cur <= "Z") return 3;
  return 0;
}

/** Scores `target` against `query`; null when the query's characters are not all in it, in order. */
export function fuzzyScore(query: string, target: string): FuzzyMatch | null {
  const q = query.replace(/\s+/g, "").slice(0, MAX_QUERY).toLowerCase();
  const original = target.slice(0, MAX_TARGET);
  const t = original.toLowerCase();
  const n = q.length;
  const m = t.length;
  if (n === 0) return { score: 0, positions: [] };
  if (n > m) return null;
  // Cheap rejection before the table: is q a subsequence of t at all?
  for (let i = 0, j = 0; i < n; j++) {
    if (j >= m) return null;
    if (t.charCodeAt(j) === q.charCodeAt(i)) i++;
  }

  const basename = t.lastIndexOf("/") + 1;
  const charScore = CHAR_SCORE;
  for (let j = 0; j < m; j++) charScore[j] = 1 + wordStartBonus(original, j) + (j >= basename ? IN_BASENAME : 0);

  // match[i*m+j]: best score with q[i] placed at t[j]. best[i*m+j]: best score with q[0..i]
  // placed within t[0..j] (decayed by the gap since q[i]'s position bestAt[i*m+j]).
  // Module-level scratch tables, reset over the n×m cells in use: scoring thousands of paths
  // per keystroke would otherwise allocate four tables per path (and pause for the GC).
  const cells = n * m;
  const match = MATCH.fill(NONE, 0, cells);
  const consecutive = CONSECUTIVE_RUN.fill(0, 0, cells);
  const best = BEST.fill(NONE, 0, cells);
  const bestAt = BEST_AT.fill(-1, 0, cells);

  for (let i = 0; i < n; i++) {
    const qc = q.charCodeAt(i);
    for (let j = i; j < m; j++) {
      const k = i * m + j;
      if (t.charCodeAt(j) === qc) {
        let score: number;
        let run = 0;
        if (i === 0) {
          score = (charScore[j] ?? 0) - LEADING_EACH * j;
        } else {
          const viaGap = j > 0 ? (best[k - m - 1] ?? NONE) - GAP_START : NONE;
          const viaRun = j > 0 ? (match[k - m - 1] ?? NONE) + CONSECUTIVE : NONE;
          if (viaRun >= viaGap && viaRun > NONE) {
            score = viaRun;
            run = 1;
          } else {
            score = viaGap;
          }
          score += charScore[j] ?? 0;
        }
        match[k] = score;
        consecutive[k] = run;
      }
      const carried = j > i ? (best[k - 1] ?? NONE) - GAP_EACH : NONE;
      if ((match[k] ?? NONE) >= carried && (match[k] ?? NONE) > NONE) {
        best[k] = match[k] ?? NONE;
        bestAt[k] = j;
      } else if (carried > NONE) {
        best[k] = carried;
        bestAt[k] = bestAt[k - 1] ?? -1;
      }
    }
  }

  const last = (n - 1) * m + (m - 1);
  const score = best[last] ?? NONE;
  if (score === NONE) return null;
  const positions = new Array<number>(n);
  let j = bestAt[last] ?? -1;
  for (let i = n - 1; i >= 0; i--) {
    positions[i] = j;
    if (i === 0) break;
    j = consecutive[i * m + j] ? j - 1 : (bestAt[(i - 1) * m + j - 1] ?? -1);
  }
  return { score, positions };
}

export type Ranked = { path: string; score: number; positions: number[] };

/** The `limit` best paths for `query`, best first (ties: shorter path, then alphabetical). */
export function rankPaths(query: string, paths: readonly string[], limit = 50): Ranked[] {
  const out: Ranked[] = [];
  for (const path of paths) {
    const m = fuzzyScore(query, path);
    if (m) out.push({ path, score: m.score, positions: m.positions });
  }
  out.sort((a, b) => b.score - a.score || a.path.length - b.path.length || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out.slice(0, limit);
}
