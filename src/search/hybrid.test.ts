import { describe, expect, test } from "bun:test";
import { fuse, keywordsOf, RRF_K } from "./hybrid.ts";
import type { CodeHit } from "./types.ts";

const hit = (path: string, line: number, snippet = `${path}:${line}`): CodeHit => ({ projectId: "p", path, line, snippet, score: 0 });

describe("reciprocal rank fusion", () => {
  test("a place both lists rank rises above places only one list has", () => {
    const keyword = [hit("a.ts", 10), hit("b.ts", 5), hit("c.ts", 1)];
    const semantic = [hit("d.ts", 3), hit("c.ts", 4), hit("a.ts", 40)];
    const out = fuse(keyword, semantic, 10);
    expect(out[0]?.path).toBe("c.ts");
    expect(out[0]?.score).toBeCloseTo(1 / (RRF_K + 3) + 1 / (RRF_K + 2), 6);
    // c.ts:1 (keyword) and c.ts:4 (meaning) are one place; the keyword hit's line and snippet are kept.
    expect(out[0]?.line).toBe(1);
    // a.ts:10 and a.ts:40 are too far apart to be the same place.
    expect(out.filter((h) => h.path === "a.ts").length).toBe(2);
    expect(out.length).toBe(5);
  });

  test("the limit applies after fusion; ties keep list order", () => {
    const out = fuse([hit("x.ts", 1), hit("y.ts", 1)], [hit("z.ts", 1)], 2);
    expect(out.map((h) => h.path)).toEqual(["x.ts", "z.ts"]);
  });

  test("significant words of a question, longest first; none for a single word", () => {
    expect(keywordsOf("draw a bar chart with d3")).toEqual(["chart", "draw", "bar"]);
    expect(keywordsOf("renderSales")).toEqual([]);
    expect(keywordsOf("eval( in all files")).toEqual([]);
  });
});
