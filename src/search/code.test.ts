import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { setLogSink } from "../lib/log.ts";
import { ApiError } from "../lib/errors.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { createProject, deleteProject } from "../projects/projects.ts";
import { searchScope } from "./access.ts";
import { searchCode, type CodeSearchOptions } from "./code.ts";
import { startSearchIndexer, type SearchIndexer } from "./indexer.ts";
import { parseQuery } from "./query.ts";
import { actorOf, searchWorld, write, type SearchWorld } from "./search-testkit.ts";

let app: App;
let dir: string;
let w: SearchWorld;
let indexer: SearchIndexer;

const opts = (o: Partial<CodeSearchOptions> = {}): CodeSearchOptions => ({ regex: false, caseSensitive: false, limit: 50, ...o });

async function search(user: User | null, q: string, o: Partial<CodeSearchOptions> & { project?: string } = {}) {
  const scope = await searchScope(app, actorOf(user), o.project);
  return searchCode(app, scope, parseQuery(q), opts(o));
}
const where = (r: { results: { projectId: string; path: string; line: number }[] }) => r.results.map((h) => `${h.projectId === w.pub.id ? "pub" : h.projectId === w.priv.id ? "priv" : h.projectId === w.unlisted.id ? "unlisted" : "team"}:${h.path}:${h.line}`);

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-search-code-", { WOVE_SEARCH_MAX_FILE: "4k" }));
  w = await searchWorld(app);
  // Many private matches written first (lower ids): a filter applied after a LIMIT would starve bob.
  for (let i = 0; i < 30; i++) await write(app, w.priv, `notes/n${i}.js`, `// secret\nconst r${i} = eval("${i}");\n`, w.alice);
  await write(app, w.pub, "src/chart.ts", 'import * as d3 from "d3";\nexport function draw() {\n  return eval("1+1");\n}\n// Eval is evil\n', w.alice);
  for (let i = 0; i < 8; i++) await write(app, w.pub, `src/more/m${i}.js`, `line a\nline b eval(${i})\nline c\n`, w.alice);
  await write(app, w.pub, "test/chart.test.ts", "expect(eval('2')).toBe(2);\n", w.alice);
  await write(app, w.pub, "docs/unicode.md", "Grüße aus Köln — naïve café ☕ emoji 😀 line\n", w.alice);
  await write(app, w.pub, "assets/logo.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0x65, 0x76, 0x61, 0x6c, 0x28]), w.alice);
  await write(app, w.pub, "big.txt", `start-of-big\n${"filler line\n".repeat(1000)}end-of-big\n`, w.alice);
  await write(app, w.unlisted, "u.js", "eval('unlisted');\n", w.alice);
  await write(app, w.team, "t.js", "eval('team');\n", w.alice);
  indexer = startSearchIndexer(app, { pollMs: 20 });
  await indexer.settled();
});
afterAll(async () => {
  await indexer?.stop();
  closeTempApp(app, dir);
});

describe("who sees what (the scope is inside the query)", () => {
  const projectsOf = (r: Awaited<ReturnType<typeof search>>) => [...new Set(where(r).map((s) => s.split(":")[0]))].sort();
  test("anonymous and a stranger: public projects only", async () => {
    expect(projectsOf(await search(null, "eval('"))).toEqual(["pub"]);
    expect(projectsOf(await search(w.bob, "eval('"))).toEqual(["pub"]);
  });
  test("a team member: public and the team's; the owner: everything of theirs, unlisted included; an admin: all", async () => {
    expect(projectsOf(await search(w.carol, "eval('"))).toEqual(["pub", "team"]);
    expect(projectsOf(await search(w.alice, "eval('"))).toEqual(["pub", "team", "unlisted"]);
    expect(projectsOf(await search(w.admin, "eval('"))).toEqual(["pub", "team", "unlisted"]);
  });
  test("an unlisted project is searchable by project id (its link), a private one is a 404", async () => {
    expect(where(await search(w.bob, "eval", { project: w.unlisted.id }))).toEqual(["unlisted:u.js:1"]);
    const e = await search(w.bob, "eval", { project: w.priv.id }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(404);
  });
  test("thirty private matches before the public ones do not shorten bob's page", async () => {
    const r = await search(w.bob, "eval(", { limit: 5 });
    expect(r.results).toHaveLength(5);
    expect(r.results.every((h) => h.projectId === w.pub.id)).toBe(true);
    expect(r.next).not.toBeNull();
    const mine = await search(w.alice, "secret", { limit: 100 });
    expect(mine.results).toHaveLength(30);
  });
});

describe("results", () => {
  test("grouped by file, line numbers, context and highlight ranges", async () => {
    const r = await search(w.bob, "eval(", { project: w.pub.id });
    const chart = r.results.filter((h) => h.path === "src/chart.ts");
    expect(chart).toHaveLength(1);
    const h = chart[0];
    expect(h?.line).toBe(3);
    expect(h?.snippetStart).toBe(2);
    expect(h?.snippet.split("\n")).toEqual(["export function draw() {", '  return eval("1+1");', "}"]);
    expect(h?.ranges?.map(([s, e]) => h.snippet.slice(s, e))).toEqual(["eval("]);
    // Hits of one file are consecutive.
    const paths = r.results.map((x) => x.path);
    expect(paths.filter((p, i) => i > 0 && p !== paths[i - 1] && paths.indexOf(p) < i)).toEqual([]);
  });
  test("case-insensitive by default; case=1 is exact", async () => {
    expect(where(await search(w.bob, "Eval is"))).toEqual(["pub:src/chart.ts:5"]);
    expect(where(await search(w.bob, "eval is", { caseSensitive: true }))).toEqual([]);
    expect(where(await search(w.bob, "Eval is", { caseSensitive: true }))).toEqual(["pub:src/chart.ts:5"]);
  });
  test("path: and lang: filters inside q", async () => {
    expect(where(await search(w.bob, "path:src/ lang:ts eval("))).toEqual(["pub:src/chart.ts:3"]);
    expect(where(await search(w.bob, "path:test/ eval("))).toEqual(["pub:test/chart.test.ts:1"]);
    expect(where(await search(w.bob, "-path:src/ eval("))).toEqual(["pub:test/chart.test.ts:1"]);
  });
  test("unicode text and a two-character query (no trigram: a scan)", async () => {
    expect(where(await search(w.bob, "grüße aus köln"))).toEqual(["pub:docs/unicode.md:1"]);
    expect(where(await search(w.bob, "😀"))).toEqual(["pub:docs/unicode.md:1"]);
    expect(where(await search(w.bob, "Kö"))).toEqual(["pub:docs/unicode.md:1"]);
  });
  test("binary files are not searched as text", async () => {
    expect(where(await search(w.bob, "PNG"))).toEqual([]);
  });
  test("a file over WOVE_SEARCH_MAX_FILE: its first part is searchable, the rest is not", async () => {
    expect(where(await search(w.bob, "start-of-big"))).toEqual(["pub:big.txt:1"]);
    expect(where(await search(w.bob, "end-of-big"))).toEqual([]);
    const row = await app.db.client.execute({ sql: "SELECT kind FROM search_files WHERE path = 'big.txt'", args: [] });
    expect(row.rows[0]?.kind).toBe("too_large");
  });
  test("the cursor pages through everything once", async () => {
    const all = where(await search(w.bob, "eval(", { limit: 100 }));
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const r = await search(w.bob, "eval(", { limit: 3, ...(cursor ? { cursor } : {}) });
      paged.push(...where(r));
      if (!r.next) break;
      cursor = r.next;
    }
    expect(paged).toEqual(all);
    expect(all.length).toBe(10);
  });
});

describe("regex", () => {
  test("a literal-prefixed pattern, with the prefilter", async () => {
    expect(where(await search(w.bob, "eval\\(\\d\\)", { regex: true }))).toEqual(Array.from({ length: 8 }, (_, i) => `pub:src/more/m${i}.js:2`));
  });
  test("a pattern without literals still finds (a scan)", async () => {
    expect(where(await search(w.bob, "^\\w+ \\w\\b.*\\(7\\)$", { regex: true }))).toEqual(["pub:src/more/m7.js:2"]);
  });
  test("an invalid pattern is a 422; a catastrophic one is stopped with a 422", async () => {
    const bad = await search(w.bob, "eval(", { regex: true }).catch((x: unknown) => x);
    expect((bad as ApiError).status).toBe(422);
    await write(app, w.pub, "evil.txt", `${"a".repeat(48)}!\n`, w.alice);
    await indexer.settled();
    const slow = await search(w.bob, "(a+)+$", { regex: true }).catch((x: unknown) => x);
    expect((slow as ApiError).status).toBe(422);
    expect((slow as ApiError).message).toMatch(/backtrack/);
  });
});

test("a deleted project's files vanish from results at once", async () => {
  const gone = await createProject(app.db.orm, app.config.dataDir, w.alice, { name: "Doomed", visibility: "public" });
  await write(app, gone, "x.js", "doomedNeedle()\n", w.alice);
  await indexer.settled();
  expect(where(await search(w.bob, "doomedNeedle"))).toHaveLength(1);
  await deleteProject(app.db.orm, app.config.dataDir, gone, w.alice.id);
  expect(where(await search(w.bob, "doomedNeedle"))).toEqual([]);
  const left = await app.db.client.execute({ sql: "SELECT count(*) AS n FROM search_files WHERE project_id = ?", args: [gone.id] });
  expect(Number(left.rows[0]?.n)).toBe(0);
});
