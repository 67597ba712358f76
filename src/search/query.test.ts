import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { createClient } from "@libsql/client";
import { decodeCursor, encodeCursor, fileFilterSql, fileFilterTest, langId, parseQuery } from "./query.ts";

describe("parseQuery: filters inside q", () => {
  test("path:, -path:, lang: anywhere; the rest is the text", () => {
    const p = parseQuery("path:src/ useState( lang:ts -path:test");
    expect(p.text).toBe("useState(");
    expect(p.paths).toEqual(["src/"]);
    expect(p.notPaths).toEqual(["test"]);
    expect(p.langs).toEqual(["typescript"]);
  });
  test("project filters tag:, tech:, owner: (lower-cased, @ dropped)", () => {
    const p = parseQuery("chart tag:D3 tech:react owner:@Alice");
    expect(p).toMatchObject({ text: "chart", tags: ["d3"], techs: ["react"], owners: ["alice"] });
  });
  test("quoted filter values and a quoted literal text", () => {
    expect(parseQuery('path:"my dir/" x').paths).toEqual(["my dir/"]);
    expect(parseQuery('"path:literal"').text).toBe("path:literal");
  });
  test("a filter must be a whole word; inner spacing of the text is kept", () => {
    expect(parseQuery("xpath:foo").text).toBe("xpath:foo");
    expect(parseQuery("a  b").text).toBe("a  b");
  });
  test("only filters leave an empty text", () => expect(parseQuery("lang:py path:src").text).toBe(""));
});

test("langId: extensions and ids", () => {
  expect(langId("ts")).toBe("typescript");
  expect(langId(".py")).toBe("python");
  expect(langId("typescript")).toBe("typescript");
  expect(langId("md")).toBe("markdown");
});

describe("path filters: SQL and the in-memory predicate agree", () => {
  const paths = ["src/a.ts", "pkg/src/b.ts", "srcx/c.ts", "lib/src.ts", "test/a.test.ts", "src/deep/x.test.ts", "README.md", "Src/Upper.ts"];
  const cases: [string, string[]][] = [
    ["path:src/ x", ["src/a.ts", "pkg/src/b.ts", "src/deep/x.test.ts", "Src/Upper.ts"]],
    ["path:/src/ x", ["src/a.ts", "src/deep/x.test.ts", "Src/Upper.ts"]],
    ["path:src x", ["src/a.ts", "pkg/src/b.ts", "srcx/c.ts", "lib/src.ts", "src/deep/x.test.ts", "Src/Upper.ts"]],
    ["path:*.test.ts x", ["test/a.test.ts", "src/deep/x.test.ts"]],
    ["path:/src/*.ts x", ["src/a.ts", "src/deep/x.test.ts"]],
    ["-path:test x", ["src/a.ts", "pkg/src/b.ts", "srcx/c.ts", "lib/src.ts", "src/deep/x.test.ts", "README.md", "Src/Upper.ts"]],
    ["path:src/ -path:*.test.ts x", ["src/a.ts", "pkg/src/b.ts", "Src/Upper.ts"]],
    ["lang:md x", ["README.md"]],
    ["path:100%_ x", []],
  ];
  const db = createClient({ url: ":memory:" });
  const dialect = new SQLiteSyncDialect();
  for (const [q, want] of cases) {
    test(q, async () => {
      const p = parseQuery(q);
      const keep = fileFilterTest(p);
      const lang = (path: string) => (path.endsWith(".md") ? "markdown" : "typescript");
      expect(paths.filter((x) => keep?.(x, lang(x)) ?? true)).toEqual(want);
      const cond = fileFilterSql(p);
      const values = sql.join(paths.map((x) => sql`(${x}, ${lang(x)})`), sql`, `);
      const q2 = dialect.sqlToQuery(sql`WITH f(path, lang) AS (VALUES ${values}) SELECT path FROM f WHERE ${cond ?? sql`1`}`);
      const rs = await db.execute({ sql: q2.sql, args: q2.params as string[] });
      expect(rs.rows.map((r) => String(r.path)).sort()).toEqual([...want].sort());
    });
  }
});

describe("cursor", () => {
  test("round trip", () => expect(decodeCursor(encodeCursor({ s: 12, l: 3 }), ["s", "l"])).toEqual({ s: 12, l: 3 }));
  test("garbage, wrong fields and negative numbers are a 400", () => {
    for (const bad of ["nope", encodeCursor({ s: 1 }), encodeCursor({ s: -1, l: 0 }), encodeCursor({ s: "1", l: 0 }), Buffer.from("[1]").toString("base64url")]) {
      expect(() => decodeCursor(bad, ["s", "l"])).toThrow(/cursor/i);
    }
  });
});
