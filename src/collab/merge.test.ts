import { describe, expect } from "bun:test";
import * as Y from "yjs";
import { test } from "../../test/helpers/quiet.ts";
import { applyTextChange, diffLines, merge3, splitLines, type Hunk } from "./merge.ts";

/** Seeded, so a failing random case can be replayed from the seed in the assertion message. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const int = (r: () => number, n: number) => Math.floor(r() * n);

function applyHunks(a: string[], hunks: Hunk[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (const h of hunks) {
    out.push(...a.slice(at, h.start), ...h.lines);
    at = h.end;
  }
  return [...out, ...a.slice(at)];
}

const cost = (hunks: Hunk[]) => hunks.reduce((n, h) => n + (h.end - h.start) + h.lines.length, 0);

/** The shortest edit script's length (lines deleted + lines inserted), by dynamic programming. */
function editDistance(a: string[], b: string[]): number {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] = a[i] === b[j] ? ((lcs[i + 1] as number[])[j + 1] as number) + 1 : Math.max((lcs[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  return a.length + b.length - 2 * ((lcs[0] as number[])[0] as number);
}

/** Random line-level edits: inserts, deletes and replacements drawn from a small alphabet (so lines repeat). */
function editLines(r: () => number, a: string[], alphabet: readonly string[]): string[] {
  const b = [...a];
  for (let e = int(r, 6); e >= 0; e--) {
    const at = int(r, b.length + 1);
    const op = int(r, 3);
    if (op === 0) b.splice(at, 0, ...Array.from({ length: 1 + int(r, 3) }, () => pick(r, alphabet)));
    else if (op === 1) b.splice(at, 1 + int(r, 3));
    else if (at < b.length) b[at] = pick(r, alphabet);
  }
  return b;
}

function ytextOf(s: string): { doc: Y.Doc; text: Y.Text } {
  const doc = new Y.Doc();
  const text = doc.getText("content");
  text.insert(0, s);
  return { doc, text };
}

describe("splitLines", () => {
  test("keeps every terminator so joining gives the text back", () => {
    expect(splitLines("")).toEqual([]);
    expect(splitLines("a")).toEqual(["a"]);
    expect(splitLines("a\nb")).toEqual(["a\n", "b"]);
    expect(splitLines("a\r\n\r\nb\n")).toEqual(["a\r\n", "\r\n", "b\n"]);
    expect(splitLines("\n\n")).toEqual(["\n", "\n"]);
    for (const s of ["x\ny\n", "😀\r\nz", "\n"]) expect(splitLines(s).join("")).toBe(s);
  });
});

describe("diffLines", () => {
  const L = (s: string) => s.split("").map((c) => `${c}\n`);

  test("known cases give the smallest hunks at the right places", () => {
    expect(diffLines(L("abc"), L("abc"))).toEqual([]);
    expect(diffLines(L("abc"), L("axbc"))).toEqual([{ start: 1, end: 1, lines: ["x\n"] }]);
    expect(diffLines(L("abc"), L("ac"))).toEqual([{ start: 1, end: 2, lines: [] }]);
    expect(diffLines(L("abc"), L("aXc"))).toEqual([{ start: 1, end: 2, lines: ["X\n"] }]);
    expect(diffLines(L("abcdefg"), L("aBcdeFg"))).toEqual([
      { start: 1, end: 2, lines: ["B\n"] },
      { start: 5, end: 6, lines: ["F\n"] },
    ]);
    expect(diffLines([], L("ab"))).toEqual([{ start: 0, end: 0, lines: ["a\n", "b\n"] }]);
    expect(diffLines(L("ab"), [])).toEqual([{ start: 0, end: 2, lines: [] }]);
    expect(diffLines(["a\n", "b"], ["a\n", "b\n"])).toEqual([{ start: 1, end: 2, lines: ["b\n"] }]);
  });

  test("Myers' own example needs exactly five line edits", () => {
    const a = L("abcabba");
    const b = L("cbabac");
    const hunks = diffLines(a, b);
    expect(cost(hunks)).toBe(5);
    expect(applyHunks(a, hunks)).toEqual(b);
  });

  test("property: applying the hunks to a gives b, hunks are ordered, and no shorter edit exists", () => {
    const alphabet = ["a\n", "b\n", "c\n", "}\n", "\n", "d"];
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      const a = Array.from({ length: int(r, 25) }, () => pick(r, alphabet));
      const b = editLines(r, a, alphabet);
      const hunks = diffLines(a, b);
      expect(applyHunks(a, hunks), `seed ${seed}`).toEqual(b);
      expect(cost(hunks), `seed ${seed}`).toBe(editDistance(a, b));
      for (let i = 0; i < hunks.length; i++) {
        const h = hunks[i] as Hunk;
        expect(h.start <= h.end && (h.end > h.start || h.lines.length > 0), `seed ${seed}`).toBe(true);
        if (i > 0) expect((hunks[i - 1] as Hunk).end < h.start || ((hunks[i - 1] as Hunk).end === h.start && h.end > h.start), `seed ${seed}`).toBe(true);
      }
    }
  });

  test("beyond the edit-distance cap it still gives a correct (single) hunk", () => {
    const a = Array.from({ length: 2500 }, (_, i) => `a${i}\n`);
    const b = Array.from({ length: 2500 }, (_, i) => `b${i}\n`);
    const hunks = diffLines(["keep\n", ...a, "end\n"], ["keep\n", ...b, "end\n"]);
    expect(hunks).toEqual([{ start: 1, end: 2501, lines: b }]);
  });
});

describe("applyTextChange", () => {
  function check(from: string, to: string, label: string): void {
    const { text } = ytextOf(from);
    applyTextChange(text, from, to);
    expect(text.toString(), label).toBe(to);
  }

  /** Random text: lines of `tokens` ended by \n or \r\n, the last line sometimes without a terminator. */
  function randomText(r: () => number, tokens: readonly string[]): string {
    const lines = Array.from({ length: int(r, 8) }, () => Array.from({ length: int(r, 6) }, () => pick(r, tokens)).join("") + pick(r, ["\n", "\n", "\r\n"]));
    if (lines.length > 0 && r() < 0.3) lines[lines.length - 1] = (lines[lines.length - 1] as string).replace(/\r?\n$/, "");
    return lines.join("");
  }

  /** Random edits by code point (never splitting a character) and by line. */
  function randomEdit(r: () => number, s: string, tokens: readonly string[]): string {
    if (r() < 0.05) return "";
    if (s === "" || r() < 0.05) return randomText(r, tokens);
    let cps = Array.from(s);
    for (let e = int(r, 4); e >= 0; e--) {
      const at = int(r, cps.length + 1);
      const op = int(r, 4);
      if (op === 0) cps.splice(at, 0, ...Array.from(pick(r, tokens) + pick(r, ["", "\n", "\r\n"])));
      else if (op === 1) cps.splice(at, 1 + int(r, 4));
      else if (op === 2) cps = Array.from(editLines(r, splitLines(cps.join("")), tokens.map((t) => `${t}\n`)).join(""));
      else if (at < cps.length) cps[at] = pick(r, tokens);
    }
    return cps.join("");
  }

  test("known cases: one character, whole lines, CRLF, no final newline, empty and back", () => {
    check("hello\nworld\n", "hello\nwide world\n", "insert within a line");
    check("a\nb\nc\n", "a\nc\n", "delete a line");
    check("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\nd\r\n", "CRLF");
    check("a\r\nb\r\n", "a\nb\n", "CRLF to LF");
    check("last line", "last line\n", "final newline added");
    check("x\ny\n", "x\ny", "final newline removed");
    check("", "from nothing\n", "empty to text");
    check("to nothing\nat all", "", "text to empty");
    check("a\nb\nc\nd\ne\n", "A\nb\nc\nD\ne\nf\n", "several hunks");
  });

  test("replacing an emoji by another that shares its high surrogate gives the new emoji, not U+FFFD", () => {
    check("😀", "😁", "single emoji");
    check("a😀b\nnext\n", "a😁b\nnext\n", "emoji within a line");
    check("x\n😀\ny\n", "x\n😁\nz\ny\n", "emoji inside a multi-line hunk");
    check("😀😀\n", "😀\n", "one of two equal emoji removed");
  });

  test("property: random edits of ASCII with CRLF and missing final newlines yield the target", () => {
    const tokens = ["a", "b", "x", " ", "\t", "\r", "{", "}"];
    for (let seed = 1; seed <= 500; seed++) {
      const r = rng(seed);
      const from = randomText(r, tokens);
      check(from, randomEdit(r, from, tokens), `seed ${seed}`);
    }
  });

  test("property: random edits with emoji, accents and CJK yield the target", () => {
    const tokens = ["a", "😀", "😁", "👍🏽", "é", "e\u0301", "中", "文", " ", "\r"];
    for (let seed = 1; seed <= 500; seed++) {
      const r = rng(seed);
      const from = randomText(r, tokens);
      check(from, randomEdit(r, from, tokens), `seed ${seed}`);
    }
  });

  /** Where the character at `index` of `from` ends up after the change, tracked by a Yjs relative position. */
  function follow(from: string, to: string, index: number): number | undefined {
    const { doc, text } = ytextOf(from);
    const rel = Y.createRelativePositionFromTypeIndex(text, index);
    applyTextChange(text, from, to);
    expect(text.toString()).toBe(to);
    return Y.createAbsolutePositionFromRelativePosition(rel, doc)?.index;
  }

  test("cursors on lines the change does not touch stay on the same character", () => {
    const from = "one\ntwo\nthree\n";
    expect(follow(from, "one\n2\nthree\n", from.indexOf("hree"))).toBe("one\n2\nthree\n".indexOf("hree"));
    expect(follow(from, "zero\none\ntwo\nthree\n", 2)).toBe(7);
    expect(follow(from, "one\ntwo\nthree\nfour\n", from.indexOf("two"))).toBe(4);
  });

  test("deleting a line keeps a cursor on the next line when both lines start alike", () => {
    const from = "  const a = 1;\n  const b = 2;\n";
    const to = "  const b = 2;\n";
    // The cursor sits at the start of "  const b": that line is untouched, so the cursor must stay there.
    expect(follow(from, to, from.indexOf("  const b"))).toBe(0);
    expect(follow("x\nline 3: foo\nline 4: bar\n", "x\nline 4: bar\n", 13)).toBe(2);
    expect(follow("one\ntwo\nthree\n", "one\nthree\n", 8)).toBe(4);
  });

  test("property: a relative position in an untouched line keeps pointing at the same character", () => {
    const words = ["foo", "bar", "😀", "x = 1;", "é"];
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      let next = 0;
      // Unique lines (so "untouched" is well defined) that all start alike, as code does.
      const line = () => `line ${next++}: ${pick(r, words)}${pick(r, ["\n", "\r\n"])}`;
      const a = Array.from({ length: 2 + int(r, 10) }, line);
      const b: string[] = [];
      const kept: number[] = [];
      for (let i = 0; i < a.length; i++) {
        const op = int(r, 5);
        if (op === 0) b.push(line(), a[i] as string);
        if (op === 1) continue;
        if (op === 2) b.push(line());
        else if (op !== 0) b.push(a[i] as string);
        if (op !== 2 && b.at(-1) === a[i]) kept.push(i);
      }
      if (kept.length === 0) continue;
      const from = a.join("");
      const to = b.join("");
      const i = pick(r, kept);
      const offset = int(r, (a[i] as string).length);
      const where = follow(from, to, a.slice(0, i).join("").length + offset);
      expect(where, `seed ${seed}: ${JSON.stringify(from)} -> ${JSON.stringify(to)}`).toBe(to.indexOf(a[i] as string) + offset);
    }
  });
});

describe("merge3", () => {
  const base = "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n";

  test("shortcuts: ours == base gives theirs, theirs == base or theirs == ours gives ours", () => {
    expect(merge3(base, base, "new\n")).toEqual({ text: "new\n", conflicts: 0 });
    expect(merge3(base, "mine\n", base)).toEqual({ text: "mine\n", conflicts: 0 });
    expect(merge3(base, "same\n", "same\n")).toEqual({ text: "same\n", conflicts: 0 });
    expect(merge3("", "", "")).toEqual({ text: "", conflicts: 0 });
  });

  test("edits on different lines from both sides are all kept", () => {
    const ours = base.replace("l2\n", "L2 ours\n");
    const theirs = base.replace("l7\n", "L7 theirs\n");
    expect(merge3(base, ours, theirs)).toEqual({ text: base.replace("l2\n", "L2 ours\n").replace("l7\n", "L7 theirs\n"), conflicts: 0 });
    // Adjacent lines, an insert at the top against an append, a delete against a change.
    expect(merge3(base, base.replace("l3\n", "A\n"), base.replace("l4\n", "B\n")).text).toBe(base.replace("l3\n", "A\n").replace("l4\n", "B\n"));
    expect(merge3(base, `top\n${base}`, `${base}bottom\n`)).toEqual({ text: `top\n${base}bottom\n`, conflicts: 0 });
    expect(merge3(base, base.replace("l2\n", ""), base.replace("l6\n", "six\n"))).toEqual({ text: base.replace("l2\n", "").replace("l6\n", "six\n"), conflicts: 0 });
  });

  test("overlapping edits: theirs wins and each region counts as one conflict", () => {
    expect(merge3(base, base.replace("l4\n", "ours\n"), base.replace("l4\n", "theirs\n"))).toEqual({ text: base.replace("l4\n", "theirs\n"), conflicts: 1 });
    const ours = base.replace("l2\n", "o2\n").replace("l3\n", "o3\n").replace("l7\n", "o7\n");
    const theirs = base.replace("l3\n", "t3\n").replace("l4\n", "t4\n").replace("l7\n", "t7\n");
    const merged = merge3(base, ours, theirs);
    expect(merged.conflicts).toBe(2);
    expect(merged.text).toBe(base.replace("l3\n", "t3\n").replace("l4\n", "t4\n").replace("l7\n", "t7\n"));
    // Both inserted different lines at the same place.
    expect(merge3("a\nb\n", "a\nmine\nb\n", "a\nyours\nb\n")).toEqual({ text: "a\nyours\nb\n", conflicts: 1 });
  });

  test("the same change made on both sides is not a conflict and appears once", () => {
    const both = base.replace("l5\n", "five\n");
    expect(merge3(base, both.replace("l1\n", "one\n"), both.replace("l8\n", "eight\n"))).toEqual({
      text: both.replace("l1\n", "one\n").replace("l8\n", "eight\n"),
      conflicts: 0,
    });
    expect(merge3("a\nb\n", "a\nnew\nb\n", "a\nnew\nb\nc\n")).toEqual({ text: "a\nnew\nb\nc\n", conflicts: 0 });
  });

  test("property: changes on either side of an untouched separator line always merge cleanly", () => {
    const alphabet = ["a\n", "b\n", "c\n", "\n", "}\n"];
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const x = Array.from({ length: int(r, 8) }, () => pick(r, alphabet));
      const y = Array.from({ length: int(r, 8) }, () => pick(r, alphabet));
      const sep = "=== separator ===\n";
      const x2 = editLines(r, x, alphabet);
      const y2 = editLines(r, y, alphabet);
      const join = (p: string[], q: string[]) => [...p, sep, ...q].join("");
      expect(merge3(join(x, y), join(x2, y), join(x, y2)), `seed ${seed}`).toEqual({ text: join(x2, y2), conflicts: 0 });
    }
  });
});
