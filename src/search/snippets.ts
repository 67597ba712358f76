/**
 * From match offsets in a segment of text to search hits: the matching lines with one line of
 * context around them, nearby matches merged into one hit (as `rg -C1` does), very long lines
 * (minified code) cut to a window around the match, and every match as a character range
 * inside the snippet for highlighting. Pure: no database, no I/O.
 */

export const CONTEXT_LINES = 1;
/** A hit spans at most this many lines from its first to its last match. */
const MAX_SPAN = 10;
const MAX_LINE = 300;
const LEAD = 80;
const RANGES_PER_LINE = 50;

export type Cluster = {
  /** 0-based line inside the segment of the first match (a cursor resumes here). */
  firstLine: number;
  /** 0-based line inside the segment where the snippet starts. */
  snippetFrom: number;
  snippet: string;
  ranges: [number, number][];
  matches: number;
};

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  // A final newline ends the last line; it does not start another.
  if (starts.length > 1 && starts.at(-1) === text.length) starts.pop();
  return starts;
}

/** The index of the line holding offset `pos`. */
function lineOf(starts: number[], pos: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function lineText(text: string, starts: number[], i: number): string {
  const s = starts[i] ?? text.length;
  const next = starts[i + 1];
  const e = next === undefined ? (text.endsWith("\n") ? text.length - 1 : text.length) : next - 1;
  const line = text.slice(s, Math.max(s, e));
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Cuts a long line to a window around its first range, with "…" where text was cut. */
export function clipLine(line: string, ranges: [number, number][]): { text: string; ranges: [number, number][] } {
  if (line.length <= MAX_LINE) return { text: line, ranges };
  const anchor = ranges[0]?.[0] ?? 0;
  const from = Math.max(0, Math.min(anchor - LEAD, line.length - MAX_LINE));
  const to = Math.min(line.length, from + MAX_LINE);
  const head = from > 0 ? "…" : "";
  const shift = head.length - from;
  const out: [number, number][] = [];
  for (const [s, e] of ranges) if (s < to && e > from) out.push([Math.max(s, from) + shift, Math.min(e, to) + shift]);
  return { text: head + line.slice(from, to) + (to < line.length ? "…" : ""), ranges: out };
}

/**
 * Groups matches (flat [start, end, …] offsets, ascending) into hits, skipping matches on lines
 * before `fromLine`. A match running over several lines is highlighted on each.
 */
export function clusterMatches(text: string, matches: number[], fromLine = 0): Cluster[] {
  if (matches.length === 0) return [];
  const starts = lineStartsOf(text);
  const byLine = new Map<number, [number, number][]>();
  for (let k = 0; k + 1 < matches.length; k += 2) {
    let s = matches[k] ?? 0;
    const e = matches[k + 1] ?? s;
    let li = lineOf(starts, s);
    do {
      const ls = starts[li] ?? 0;
      const le = (starts[li + 1] ?? text.length + 1) - 1;
      if (li >= fromLine) {
        const list = byLine.get(li) ?? [];
        if (list.length < RANGES_PER_LINE) list.push([s - ls, Math.max(s, Math.min(e, le)) - ls]);
        byLine.set(li, list);
      }
      s = le + 1;
      li++;
    } while (s < e && li < starts.length);
  }
  const lines = [...byLine.keys()].sort((a, b) => a - b);
  const out: Cluster[] = [];
  let group: number[] = [];
  const emit = () => {
    const first = group[0] as number;
    const last = group.at(-1) as number;
    const from = Math.max(0, first - CONTEXT_LINES);
    const to = Math.min(starts.length - 1, last + CONTEXT_LINES);
    const parts: string[] = [];
    const ranges: [number, number][] = [];
    let offset = 0;
    let count = 0;
    for (let li = from; li <= to; li++) {
      const own = byLine.get(li) ?? [];
      count += own.length;
      const clipped = clipLine(lineText(text, starts, li), own);
      for (const [s, e] of clipped.ranges) ranges.push([offset + s, offset + e]);
      parts.push(clipped.text);
      offset += clipped.text.length + 1;
    }
    out.push({ firstLine: first, snippetFrom: from, snippet: parts.join("\n"), ranges, matches: count });
    group = [];
  };
  for (const li of lines) {
    const first = group[0];
    const last = group.at(-1);
    if (first !== undefined && last !== undefined && (li > last + 2 * CONTEXT_LINES + 1 || li - first >= MAX_SPAN)) emit();
    group.push(li);
  }
  if (group.length > 0) emit();
  return out;
}
