/**
 * Text changes made outside the editor (file API, git push, version restore)
 * become Yjs operations on the live document: a line diff turned into a few
 * deletes and inserts, so remote cursors outside the changed lines stay put.
 * When the document also has edits not yet written to the file, a three-way
 * line merge against the last written text keeps both sides.
 */
import type * as Y from "yjs";

/** A replacement of base lines [start, end) by `lines`. */
export type Hunk = { start: number; end: number; lines: string[] };

/** Lines with their terminators, so joining them gives the text back exactly. */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+/g) ?? [];
}

/** Beyond this many differing lines the diff gives up on minimality and replaces the middle whole. */
const MAX_EDIT_DISTANCE = 4000;

/** Myers' O(ND) diff of two line arrays, as hunks over `a`. */
export function diffLines(a: string[], b: string[]): Hunk[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  if (A.length === 0 && B.length === 0) return [];
  const n = A.length;
  const m = B.length;
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  outer: for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d, offset + d + 1)); // only diagonals -d..d are read back: O(D²) memory, not O(D·N)
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0)) ? (v[offset + k + 1] ?? 0) : (v[offset + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && A[x] === B[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break outer;
      }
    }
  }
  if (!found) return [{ start: pre, end: pre + n, lines: B }];
  // Walk the trace back into a list of (x, y) steps, then group runs of changes into hunks.
  const edits: { x: number; y: number; kind: "keep" | "del" | "ins" }[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const vd = trace[d] as Int32Array; // diagonal k is at index k + d
    const k = x - y;
    const down = k === -d || (k !== d && (vd[k - 1 + d] ?? 0) < (vd[k + 1 + d] ?? 0));
    const prevK = down ? k + 1 : k - 1;
    const prevX = vd[prevK + d] ?? 0;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) edits.push({ x: --x, y: --y, kind: "keep" });
    if (down) edits.push({ x, y: --y, kind: "ins" });
    else edits.push({ x: --x, y, kind: "del" });
  }
  while (x > 0 && y > 0) edits.push({ x: --x, y: --y, kind: "keep" });
  edits.reverse();
  const hunks: Hunk[] = [];
  let cur: Hunk | null = null;
  for (const e of edits) {
    if (e.kind === "keep") {
      cur = null;
      continue;
    }
    if (!cur) {
      cur = { start: pre + e.x, end: pre + e.x, lines: [] };
      hunks.push(cur);
    }
    if (e.kind === "del") cur.end = pre + e.x + 1;
    else cur.lines.push(B[e.y] as string);
  }
  return hunks;
}

/** Applies hunks over `base` lines and returns the text. */
function applyHunks(base: string[], hunks: Hunk[]): string {
  const out: string[] = [];
  let at = 0;
  for (const h of hunks) {
    out.push(...base.slice(at, h.start), ...h.lines);
    at = h.end;
  }
  out.push(...base.slice(at));
  return out.join("");
}

/**
 * Three-way line merge: the changes base→ours and base→theirs, combined. Where
 * both changed the same lines differently, theirs (the file) wins and
 * `conflicts` counts it — the restore or push was the later, deliberate act.
 */
export function merge3(base: string, ours: string, theirs: string): { text: string; conflicts: number } {
  if (ours === base) return { text: theirs, conflicts: 0 };
  if (theirs === base || theirs === ours) return { text: ours, conflicts: 0 };
  const b = splitLines(base);
  const mine = diffLines(b, splitLines(ours));
  const other = diffLines(b, splitLines(theirs));
  const merged: Hunk[] = [];
  let conflicts = 0;
  let i = 0;
  let j = 0;
  // p lies wholly before q (touching is fine; two hunks at the same line are treated as overlapping).
  const before = (p: Hunk, q: Hunk) => p.end <= q.start && p.start !== q.start;
  while (i < mine.length || j < other.length) {
    const m = mine[i];
    const o = other[j];
    if (m && (!o || before(m, o))) {
      merged.push(m);
      i++;
      continue;
    }
    if (o && (!m || before(o, m))) {
      merged.push(o);
      j++;
      continue;
    }
    // Both sides touched this region: grow it until no hunk of either side straddles its end.
    const start = Math.min((m as Hunk).start, (o as Hunk).start);
    let end = start;
    const ours: Hunk[] = [];
    const theirs: Hunk[] = [];
    for (let grew = true; grew; ) {
      grew = false;
      while (mine[i] && ((mine[i] as Hunk).start < end || ours.length === 0)) {
        const h = mine[i++] as Hunk;
        ours.push(h);
        if (h.end > end) end = h.end;
        grew = true;
      }
      while (other[j] && ((other[j] as Hunk).start < end || theirs.length === 0)) {
        const h = other[j++] as Hunk;
        theirs.push(h);
        if (h.end > end) end = h.end;
        grew = true;
      }
    }
    const region = (hs: Hunk[]) => {
      const out: string[] = [];
      let at = start;
      for (const h of hs) {
        out.push(...b.slice(at, h.start), ...h.lines);
        at = h.end;
      }
      out.push(...b.slice(at, end));
      return out;
    };
    const theirsLines = region(theirs);
    if (region(ours).join("") !== theirsLines.join("")) conflicts++;
    merged.push({ start, end, lines: theirsLines });
  }
  return { text: applyHunks(b, merged), conflicts };
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * Lengths of the common prefix and suffix of two strings, never ending inside a surrogate
 * pair: Yjs replaces both halves of a split pair with U+FFFD.
 */
function commonEnds(a: string, b: string): { pre: number; suf: number } {
  const min = Math.min(a.length, b.length);
  let pre = 0;
  while (pre < min && a.charCodeAt(pre) === b.charCodeAt(pre)) pre++;
  if (pre > 0 && isHighSurrogate(a.charCodeAt(pre - 1))) pre--;
  let suf = 0;
  while (suf < min - pre && a.charCodeAt(a.length - 1 - suf) === b.charCodeAt(b.length - 1 - suf)) suf++;
  if (suf > 0 && isLowSurrogate(a.charCodeAt(a.length - suf))) suf--;
  return { pre, suf };
}

/**
 * Changes `ytext` (whose content is `from`) into `to` with as few operations as
 * the line diff allows. The caller wraps it in a transaction with its origin.
 */
export function applyTextChange(ytext: Y.Text, from: string, to: string): void {
  if (from === to) return;
  // Fast path for a change within one line (the common case: typing): trim common ends by character.
  const { pre, suf } = commonEnds(from, to);
  const a = from.slice(pre, from.length - suf);
  const b = to.slice(pre, to.length - suf);
  // Only a change within one line may be trimmed by character: across lines, the trimmed ends could
  // swallow the start of an untouched line (deleting "  a;\n" before "  b;\n" would delete "  b;"'s indent).
  if (!a.includes("\n") && !b.includes("\n")) {
    if (a.length) ytext.delete(pre, a.length);
    if (b.length) ytext.insert(pre, b);
    return;
  }
  const la = splitLines(from);
  const hunks = diffLines(la, splitLines(to));
  // Apply from the end so earlier offsets stay valid.
  const offsets: number[] = [0];
  for (const line of la) offsets.push((offsets[offsets.length - 1] as number) + line.length);
  for (let h = hunks.length - 1; h >= 0; h--) {
    const hunk = hunks[h] as Hunk;
    const start = offsets[hunk.start] as number;
    const oldText = la.slice(hunk.start, hunk.end).join("");
    const newText = hunk.lines.join("");
    const { pre: p, suf: s } = commonEnds(oldText, newText);
    if (oldText.length - p - s > 0) ytext.delete(start + p, oldText.length - p - s);
    if (newText.length - p - s > 0) ytext.insert(start + p, newText.slice(p, newText.length - s));
  }
}
