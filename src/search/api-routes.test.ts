import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { createToken } from "../auth/tokens.ts";
import { setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { setTags } from "../projects/tags.ts";
import { searchApiRoutes, looksNatural } from "./api-routes.ts";
import { startSearchIndexer, type SearchIndexer } from "./indexer.ts";
import { searchWorld, write, type SearchWorld } from "./search-testkit.ts";

let app: App;
let dir: string;
let w: SearchWorld;
let indexer: SearchIndexer;
let server: ReturnType<typeof createServer>;
const tokens = new Map<string, string>();

type Body = { results?: { projectId: string; path?: string; name?: string; line?: number; binary?: boolean }[]; next?: string | null; facets?: Record<string, { value: string; count: number }[]>; error?: { code: string; message: string } };

async function get(query: string, user?: User): Promise<{ status: number; body: Body; headers: Headers }> {
  const headers: Record<string, string> = user ? { Authorization: `Bearer ${tokens.get(user.id)}` } : {};
  const res = await server.handle(new Request(`http://wove.test/api/v1/search?${query}`, { headers }));
  return { status: res.status, body: (await res.json()) as Body, headers: res.headers };
}
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-search-api-"));
  w = await searchWorld(app);
  for (const u of [w.alice, w.bob, w.carol, w.admin]) tokens.set(u.id, (await createToken(app.db.orm, u, { name: "t", scopes: ["read"], expiresAt: null }, null)).token);
  await write(app, w.pub, "src/chart.ts", 'import * as d3 from "d3";\nexport function drawChart() {\n  return eval("1");\n}\n', w.alice);
  await write(app, w.pub, "src/util/format.ts", "export const formatNumber = (n: number) => n.toFixed(2);\n", w.alice);
  await write(app, w.pub, "img/logo.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2]), w.alice);
  await write(app, w.pub, "README.md", "# Public Charts\nA bar chart drawn with D3 and SVG.\n", w.alice);
  await write(app, w.priv, "secret.ts", "const token = eval(process.env.X);\n", w.alice);
  await write(app, w.unlisted, "u.ts", "eval('u');\n", w.alice);
  await setTags(app.db.orm, w.pub, ["d3", "charts"], w.alice.id);
  indexer = startSearchIndexer(app, { pollMs: 20 });
  await indexer.settled();
  server = createServer(app, { routes: searchApiRoutes });
});
afterAll(async () => {
  await indexer?.stop();
  closeTempApp(app, dir);
});

describe("GET /api/v1/search", () => {
  const scenarios: { name: string; query: Record<string, string>; as?: () => User; status: number; paths?: string[]; code?: string }[] = [
    { name: "code search, anonymous: public only", query: { q: "eval(" }, status: 200, paths: ["src/chart.ts"] },
    { name: "code search, the owner: private and unlisted too", query: { q: "eval(" }, as: () => w.alice, status: 200, paths: ["src/chart.ts", "secret.ts", "u.ts"] },
    { name: "path and lang filters in q", query: { q: "path:src/util lang:ts export" }, status: 200, paths: ["src/util/format.ts"] },
    { name: "the path parameter", query: { q: "export", path: "src/util/" }, status: 200, paths: ["src/util/format.ts"] },
    { name: "regex", query: { q: "format\\w+ =", regex: "1" }, status: 200, paths: ["src/util/format.ts"] },
    { name: "case-sensitive", query: { q: "EXPORT", case: "1" }, status: 200, paths: [] },
    { name: "fuzzy file finder lists binary files by name", query: { q: "logo", type: "files" }, status: 200, paths: ["img/logo.png"] },
    { name: "fuzzy file finder scores like the IDE", query: { q: "sfmt", type: "files" }, status: 200, paths: ["src/util/format.ts"] },
    { name: "one unlisted project by id, for a stranger", query: { q: "eval", project: "UNLISTED" }, as: () => w.bob, status: 200, paths: ["u.ts"] },
    { name: "a private project by id, for a stranger: 404", query: { q: "eval", project: "PRIV" }, as: () => w.bob, status: 404, code: "not_found" },
    { name: "an empty query: 400", query: { q: "   " }, status: 400, code: "bad_request" },
    { name: "no query: 400", query: {}, status: 400, code: "bad_request" },
    { name: "an over-long query: 400", query: { q: "x".repeat(501) }, status: 400, code: "bad_request" },
    { name: "filters only, for code: 400", query: { q: "path:src/" }, status: 400, code: "bad_request" },
    { name: "an unknown type: 400", query: { q: "x", type: "everything" }, status: 400, code: "bad_request" },
    { name: "a bad limit: 400", query: { q: "x", limit: "-1" }, status: 400, code: "bad_request" },
    { name: "a forged cursor: 400", query: { q: "eval", cursor: "garbage" }, status: 400, code: "bad_request" },
    { name: "an invalid regex: 422", query: { q: "eval(", regex: "1" }, status: 422, code: "invalid_regex" },
    { name: "regex outside code search: 400", query: { q: "x+", regex: "1", type: "files" }, status: 400 },
  ];
  for (const s of scenarios) {
    test(s.name, async () => {
      const query = Object.fromEntries(Object.entries(s.query).map(([k, v]) => [k, v === "UNLISTED" ? w.unlisted.id : v === "PRIV" ? w.priv.id : v]));
      const r = await get(q(query), s.as?.());
      expect(r.status).toBe(s.status);
      if (s.paths) expect((r.body.results ?? []).map((h) => h.path).sort()).toEqual([...s.paths].sort());
      if (s.code) expect(r.body.error?.code).toBe(s.code);
      if (s.status >= 400) expect(typeof r.body.error?.message).toBe("string");
    });
  }

  test("the catastrophic regex really is cut short (needs a long enough line)", async () => {
    await write(app, w.pub, "evil.txt", `${"a".repeat(48)}!\n`, w.alice);
    await indexer.settled();
    const started = performance.now();
    const r = await get(q({ q: "(a+)+$", regex: "1" }));
    expect(r.status).toBe(422);
    expect(r.body.error?.message).toMatch(/backtrack/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  test("results carry the contract's fields; code results are not cached", async () => {
    const r = await get(q({ q: "drawChart" }));
    expect(r.body.results?.[0]).toMatchObject({ projectId: w.pub.id, path: "src/chart.ts", line: 2 });
    expect(r.body).toHaveProperty("next", null);
    expect(r.headers.get("cache-control")).toBe("no-store");
  });

  test("projects: ranked with facets; unlisted and private ones stay unlisted", async () => {
    const anon = await get(q({ q: "chart d3", type: "projects" }));
    expect(anon.status).toBe(200);
    expect(anon.body.results?.map((p) => p.name)).toEqual(["Public Charts"]);
    expect(anon.body.facets?.tags).toEqual([
      { value: "charts", count: 1 },
      { value: "d3", count: 1 },
    ]);
    expect(anon.body.facets?.owners).toEqual([{ value: "alice", count: 1 }]);
    const owner = await get(q({ q: "hidden", type: "projects" }), w.alice);
    expect(owner.body.results?.map((p) => p.name)).toEqual(["Hidden Link"]);
    expect((await get(q({ q: "hidden", type: "projects" }), w.bob)).body.results).toEqual([]);
    expect((await get(q({ q: "tag:d3", type: "projects" }))).body.results?.map((p) => p.name)).toEqual(["Public Charts"]);
  });

  test("pages: limit and next", async () => {
    const first = await get(q({ q: "src", type: "files", limit: "1" }));
    expect(first.body.results).toHaveLength(1);
    expect(first.body.next).toBeTruthy();
    const second = await get(q({ q: "src", type: "files", limit: "1", cursor: String(first.body.next) }));
    expect(second.body.results).toHaveLength(1);
    expect(second.body.next).toBeNull();
    expect([first.body.results?.[0]?.path, second.body.results?.[0]?.path].sort()).toEqual(["src/chart.ts", "src/util/format.ts"]);
  });

  test("a natural-language question goes to hybrid search by default", async () => {
    expect(looksNatural("draw a bar chart")).toBe(true);
    expect(looksNatural("eval(")).toBe(false);
    expect(looksNatural("foo.bar baz qux")).toBe(false);
    const r = await get(q({ q: "where do we draw the chart" }));
    expect(r.status).toBe(200);
    expect((r.body.results ?? []).some((h) => h.path === "src/chart.ts")).toBe(true);
  });

  test("anonymous searches are rate-limited per address", async () => {
    let status = 200;
    for (let i = 0; i < 70 && status === 200; i++) status = (await get(q({ q: "zzz" }))).status;
    expect(status).toBe(429);
    // A signed-in account has its own budget.
    expect((await get(q({ q: "zzz" }), w.carol)).status).toBe(200);
  });
});
