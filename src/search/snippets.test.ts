import { describe, expect, test } from "bun:test";
import { clipLine, clusterMatches } from "./snippets.ts";
import { findLiteral } from "./code.ts";
import { indexablePrefix, segmentText } from "./index-write.ts";

const text = ["one", "two eval(x)", "three", "four", "five", "six eval(y) eval(z)", "seven", "eight", "nine", "ten eval(w)", ""].join("\n");

describe("clusterMatches", () => {
  test("matching lines with one line of context; nearby matches merge into one hit", () => {
    const hits = clusterMatches(text, findLiteral(text, "eval(", true));
    expect(hits.map((h) => [h.firstLine, h.snippetFrom, h.matches])).toEqual([
      [1, 0, 1],
      [5, 4, 2],
      [9, 8, 1],
    ]);
    expect(hits[0]?.snippet).toBe("one\ntwo eval(x)\nthree");
    const h = hits[1];
    expect(h?.ranges.map(([s, e]) => h.snippet.slice(s, e))).toEqual(["eval(", "eval("]);
    expect(hits[2]?.snippet).toBe("nine\nten eval(w)"); // the file's last line has no line after it
  });
  test("lines before `fromLine` are skipped (a cursor resumes mid-segment)", () => {
    expect(clusterMatches(text, findLiteral(text, "eval(", true), 5).map((h) => h.firstLine)).toEqual([5, 9]);
  });
  test("a match over several lines is highlighted on each", () => {
    const t = "ab\ncd\nef";
    const [h] = clusterMatches(t, [1, 4]);
    expect(h?.ranges.map(([s, e]) => h.snippet.slice(s, e))).toEqual(["b", "c"]);
  });
  test("CRLF line ends do not show", () => expect(clusterMatches("a\r\nfoo\r\nb\r\n", [3, 6])[0]?.snippet).toBe("a\nfoo\nb"));
  test("a long line is cut to a window around the match", () => {
    const line = `${"x".repeat(5000)}NEEDLE${"y".repeat(5000)}`;
    const c = clipLine(line, [[5000, 5006]]);
    expect(c.text.length).toBeLessThanOrEqual(302);
    expect(c.text.startsWith("…") && c.text.endsWith("…")).toBe(true);
    expect(c.text.slice(c.ranges[0]?.[0], c.ranges[0]?.[1])).toBe("NEEDLE");
  });
});

describe("findLiteral", () => {
  test("case-insensitive by default, exact with caseSensitive", () => {
    expect(findLiteral("Foo foo FOO", "foo", false)).toEqual([0, 3, 4, 7, 8, 11]);
    expect(findLiteral("Foo foo FOO", "foo", true)).toEqual([4, 7]);
  });
  test("offsets stay right when lower-casing changes the length", () => {
    const t = "İstanbul ist";
    const m = findLiteral(t, "ist", false);
    expect(m.length).toBeGreaterThanOrEqual(2);
    expect(t.slice(m.at(-2), m.at(-1))).toBe("ist");
  });
});

describe("segments", () => {
  test("small text: one segment", () => expect(segmentText("a\nb\n")).toEqual([{ startLine: 1, text: "a\nb\n" }]));
  test("cut at line ends, line numbers follow, text is whole", () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i + 1} ${"z".repeat(20)}`);
    const t = lines.join("\n");
    const segs = segmentText(t);
    expect(segs.length).toBeGreaterThan(1);
    expect(segs.map((s) => s.text).join("")).toBe(t);
    for (const s of segs) expect(s.text.startsWith(`line ${s.startLine} `)).toBe(true);
  });
  test("a huge single line is cut inside, never between a surrogate pair", () => {
    const t = "😀".repeat(40_000);
    const segs = segmentText(t);
    expect(segs.map((s) => s.text).join("")).toBe(t);
    for (const s of segs) expect(s.text.isWellFormed()).toBe(true);
  });
  test("never more than 256 segments", () => expect(segmentText("x\n".repeat(4 * 1024 * 1024)).length).toBeLessThanOrEqual(256));
  test("a too-large file keeps a prefix cut at a line end or a UTF-8 boundary", () => {
    const enc = new TextEncoder();
    expect(new TextDecoder().decode(indexablePrefix(enc.encode("aaa\nbbb\nccc"), 9))).toBe("aaa\nbbb\n");
    const cut = indexablePrefix(enc.encode(`${"é".repeat(10)}`), 5);
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(cut)).not.toThrow();
    expect(cut.byteLength).toBe(4);
  });
});
