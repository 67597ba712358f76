/**
 * Semantic and hybrid search end to end: files written through the file API, indexed by the
 * code indexer, chunked and embedded by the semantic indexer, searched within what each caller
 * may read. The embedder switch runs against a protocol-faithful fake Ollama on loopback.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { setLogSink } from "../lib/log.ts";
import { closeTempApp, apiErrorOf, openTempApp } from "../../test/helpers/temp-app.ts";
import { deleteProjectFile } from "../projects/files.ts";
import { deleteProject } from "../projects/projects.ts";
import { startSearchIndexer, type SearchIndexer } from "./indexer.ts";
import { actorOf, searchWorld, write, type SearchWorld } from "./search-testkit.ts";
import { CORPUS } from "./semantic-fixtures.ts";
import { semanticSearch } from "./semantic.ts";
import { hybridSearch } from "./hybrid.ts";
import { startSemanticIndexer, semanticStatus } from "./semantic-index.ts";
import { _testHooks, saveEmbedderConfig } from "./embedder-settings.ts";
import { vectorDb } from "./semantic.ts";
import { readMeta, tableName } from "./vectors.ts";
import { BUILTIN_ID } from "./embed.ts";

let app: App;
let dir: string;
let w: SearchWorld;
let indexer: SearchIndexer;
let semantic: NonNullable<ReturnType<typeof startSemanticIndexer>>;

async function settle(): Promise<void> {
  await indexer.settled();
  await semantic.settled();
}

const find = (user: User | null, q: string, o: { projectId?: string; limit?: number } = {}) => semanticSearch(app, actorOf(user), q, { limit: o.limit ?? 10, projectId: o.projectId });
const label = (h: { projectId: string; path: string }) => `${h.projectId === w.pub.id ? "pub" : h.projectId === w.priv.id ? "priv" : h.projectId === w.team.id ? "team" : "unlisted"}:${h.path}`;

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-search-semantic-"));
  w = await searchWorld(app);
  for (const [path, text] of Object.entries(CORPUS)) if (path !== "server/auth/passwords.ts") await write(app, w.pub, path, text, w.alice);
  // The password code lives only in alice's private project.
  await write(app, w.priv, "server/auth/passwords.ts", CORPUS["server/auth/passwords.ts"] as string, w.alice);
  // Many private near-copies of the chart: the nearest candidates are all private, so a
  // permission filter applied after the candidate LIMIT would leave bob with nothing.
  for (let i = 0; i < 40; i++) await write(app, w.priv, `charts/copy${i}.js`, (CORPUS["src/sales-chart.js"] as string).replace("renderSales", `renderSales${i}`), w.alice);
  await write(app, w.team, "lessons/plot.py", "import matplotlib.pyplot as plt\n\ndef bar_chart(values):\n    plt.bar(range(len(values)), values)\n    plt.show()\n", w.alice);
  indexer = startSearchIndexer(app, { pollMs: 20 });
  semantic = startSemanticIndexer(app) as NonNullable<ReturnType<typeof startSemanticIndexer>>;
  await settle();
});
afterAll(async () => {
  await semantic?.stop();
  await indexer?.stop();
  closeTempApp(app, dir);
});

describe("semantic search", () => {
  test("a plain-words query finds the file it describes, with the line and a snippet", async () => {
    const hits = await find(w.bob, "draw a bar chart");
    expect(label(hits[0] as (typeof hits)[0])).toBe("pub:src/sales-chart.js");
    const top = hits[0] as (typeof hits)[0];
    expect(top.line).toBeGreaterThanOrEqual(1);
    expect(top.snippet.length).toBeGreaterThan(0);
    expect(top.score).toBeGreaterThan(0);
    for (const [a, b] of top.ranges ?? []) expect(top.snippet.slice(a, b).length).toBe(b - a);
    expect(top.snippet).toContain((CORPUS["src/sales-chart.js"] as string).split("\n")[top.line - 1] as string);
  });

  test("snippets come from the right lines of a file indexed in several segments", async () => {
    const filler = Array.from({ length: 2500 }, (_, i) => `const value${i} = ${i} * 2; // plain filler line number ${i}`);
    const text = [...filler, "export function convertCelsiusToFahrenheit(celsius) {", "  return celsius * 9 / 5 + 32;", "}", ""].join("\n");
    expect(text.length).toBeGreaterThan(3 * 32 * 1024);
    await write(app, w.pub, "lib/temperature.js", text, w.alice);
    await settle();
    const [hit] = await find(w.bob, "convert celsius to fahrenheit temperature");
    expect(hit?.path).toBe("lib/temperature.js");
    expect(text.split("\n")[(hit?.line ?? 0) - 1]).toContain("convertCelsiusToFahrenheit");
    expect(hit?.snippet).toContain("return celsius * 9 / 5 + 32;");
  });

  test("only what the caller may read, however many unreadable chunks are nearer", async () => {
    const bob = await find(w.bob, "draw a bar chart", { limit: 20 });
    expect(bob.map(label).every((l) => l.startsWith("pub:"))).toBe(true);
    expect(bob.length).toBeGreaterThan(3);
    expect((await find(w.bob, "hash a password")).map(label)).not.toContain("priv:server/auth/passwords.ts");
    expect(label((await find(w.alice, "hash a password"))[0] as { projectId: string; path: string })).toBe("priv:server/auth/passwords.ts");
    const carol = (await find(w.carol, "plot a bar chart", { limit: 20 })).map(label);
    expect(carol).toContain("team:lessons/plot.py");
    expect(carol.some((l) => l.startsWith("priv:"))).toBe(false);
    expect((await find(null, "plot a bar chart", { limit: 20 })).map(label)).not.toContain("team:lessons/plot.py");
  });

  test("one file gives at most two hits; path and lang filters and the project scope apply", async () => {
    const hits = await find(w.alice, "draw a bar chart", { limit: 50 });
    const perFile = new Map<string, number>();
    for (const h of hits) perFile.set(label(h), (perFile.get(label(h)) ?? 0) + 1);
    expect(Math.max(...perFile.values())).toBeLessThanOrEqual(2);
    expect((await find(w.alice, "draw a bar chart path:server/", { limit: 20 })).every((h) => h.path.startsWith("server/"))).toBe(true);
    const py = (await find(w.alice, "draw a bar chart lang:py", { limit: 20 })).map(label);
    expect(py[0]).toBe("team:lessons/plot.py");
    expect(py.every((l) => l.endsWith(".py"))).toBe(true);
    const inPub = await find(w.alice, "read rows from a csv file", { projectId: w.pub.id });
    expect(label(inPub[0] as { projectId: string; path: string })).toBe("pub:lib/csv.go");
    expect(inPub.every((h) => h.projectId === w.pub.id)).toBe(true);
    expect((await apiErrorOf(find(w.bob, "csv", { projectId: w.priv.id }))).status).toBe(404);
  });

  test("an edited file is re-chunked; a deleted file and a deleted project leave the index", async () => {
    await write(app, w.pub, "lib/weather.ts", "export async function fetchForecast(city: string) {\n  const res = await fetch(`https://api.example.com/weather?city=${city}`);\n  return res.json();\n}\n", w.alice);
    await settle();
    expect(label((await find(w.bob, "weather forecast for a city"))[0] as { projectId: string; path: string })).toBe("pub:lib/weather.ts");
    await deleteProjectFile(app.db.orm, app.config.dataDir, w.pub, "lib/weather.ts", w.alice.id);
    await settle();
    expect((await find(w.bob, "weather forecast for a city")).map(label)).not.toContain("pub:lib/weather.ts");
    const db = vectorDb(app);
    const meta = readMeta(db, BUILTIN_ID);
    const before = Number((db.prepare(`SELECT count(*) AS n FROM ${tableName(BUILTIN_ID, meta?.generation ?? 1)}`).get([]) as { n: number }).n);
    await deleteProject(app.db.orm, app.config.dataDir, w.team, w.alice.id);
    await settle();
    const after = Number((db.prepare(`SELECT count(*) AS n FROM ${tableName(BUILTIN_ID, meta?.generation ?? 1)}`).get([]) as { n: number }).n);
    expect(after).toBeLessThan(before);
    expect(Number((db.prepare("SELECT count(*) AS n FROM search_chunks_gone").get([]) as { n: number }).n)).toBe(0);
    // The index and the chunk table agree.
    expect(after).toBe(Number((db.prepare("SELECT count(*) AS n FROM search_chunks").get([]) as { n: number }).n));
  });

  test("with a remote database semantic and hybrid search answer 501", async () => {
    const remote = { ...app, db: { ...app.db, file: undefined } } as App;
    const e = await apiErrorOf(semanticSearch(remote, actorOf(w.bob), "draw a bar chart", { limit: 10 }));
    expect(e.status).toBe(501);
    expect(e.message).toMatch(/remote libSQL server/);
    expect((await apiErrorOf(hybridSearch(remote, actorOf(w.bob), "draw a bar chart", { limit: 10 }))).status).toBe(501);
  });
});

describe("hybrid search", () => {
  test("keyword and meaning hits fuse; an identifier finds its definition", async () => {
    const hits = await hybridSearch(app, actorOf(w.bob), "draw a bar chart", { limit: 10 });
    expect(label(hits[0] as { projectId: string; path: string })).toBe("pub:src/sales-chart.js");
    const ident = await hybridSearch(app, actorOf(w.bob), "renderSales", { limit: 10 });
    expect(label(ident[0] as { projectId: string; path: string })).toBe("pub:src/sales-chart.js");
    expect(ident[0]?.snippet).toContain("renderSales");
    expect(hits.every((h) => h.projectId === w.pub.id)).toBe(true);
  });
});

describe("switching the embedder", () => {
  test("every file is re-embedded by the new embedder, and queries use it", async () => {
    let requests = 0;
    const fake = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const body = (await req.json()) as { model: string; input: string[] };
        requests++;
        if (new URL(req.url).pathname !== "/api/embed") return new Response("not found", { status: 404 });
        // A toy model: letter counts, so texts sharing letters are near.
        const embeddings = body.input.map((t) => Array.from({ length: 16 }, (_, i) => [...t.toLowerCase()].filter((c) => c.charCodeAt(0) % 16 === i).length + 0.01));
        return Response.json({ model: body.model, embeddings });
      },
    });
    _testHooks.check = async (url) => ({ url: new URL(url), host: "127.0.0.1", port: fake.port as number, addresses: ["127.0.0.1"] });
    try {
      await saveEmbedderConfig(app, { kind: "ollama", url: `http://127.0.0.1:${fake.port}`, model: "toy", apiKey: "" }, w.admin.id);
      semantic.wake();
      await settle();
      const status = await semanticStatus(app);
      expect(status.embedder).toBe("ollama:toy:16");
      expect(status.done).toBe(status.files);
      const db = vectorDb(app);
      const kinds = db.prepare("SELECT DISTINCT embedder FROM search_chunks").all([]) as { embedder: string }[];
      expect(kinds.map((k) => k.embedder)).toEqual(["ollama:toy:16"]);
      expect(readMeta(db, BUILTIN_ID)).toBeUndefined();
      const before = requests;
      const hits = await find(w.bob, "draw a bar chart");
      expect(requests).toBe(before + 1);
      expect(hits.every((h) => h.projectId === w.pub.id)).toBe(true);
      await saveEmbedderConfig(app, { kind: "builtin" }, w.admin.id);
      semantic.wake();
      await settle();
      expect((await semanticStatus(app)).embedder).toBe(BUILTIN_ID);
      expect(label((await find(w.bob, "draw a bar chart"))[0] as { projectId: string; path: string })).toBe("pub:src/sales-chart.js");
    } finally {
      _testHooks.check = undefined;
      fake.stop(true);
    }
  });

  test("an input the server refuses is noted on its file; the other files of its batch are embedded", async () => {
    await write(app, w.pub, "notes/poison.txt", "POISON: this text makes the fake server answer 400\n", w.alice);
    await settle();
    const fake = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const body = (await req.json()) as { model: string; input: string[] };
        if (body.input.some((t) => t.includes("POISON"))) return Response.json({ error: "input rejected" }, { status: 400 });
        return Response.json({ model: body.model, embeddings: body.input.map((t) => Array.from({ length: 8 }, (_, i) => (t.length % (i + 2)) + 1)) });
      },
    });
    _testHooks.check = async (url) => ({ url: new URL(url), host: "127.0.0.1", port: fake.port as number, addresses: ["127.0.0.1"] });
    try {
      await saveEmbedderConfig(app, { kind: "ollama", url: `http://127.0.0.1:${fake.port}`, model: "picky" }, w.admin.id);
      semantic.wake();
      await settle();
      const status = await semanticStatus(app);
      expect(status.done).toBe(status.files);
      expect(status.lastError).toMatch(/^notes\/poison\.txt: .*HTTP 400: input rejected/);
      const db = vectorDb(app);
      const rows = db.prepare("SELECT f.path, s.chunks, s.error FROM search_semantic_files s JOIN search_files f ON f.id = s.file_id WHERE f.project_id = ?").all([w.pub.id]) as { path: string; chunks: number; error: string | null }[];
      expect(rows.filter((r) => r.error !== null).map((r) => r.path)).toEqual(["notes/poison.txt"]);
      expect(rows.filter((r) => r.error === null && r.chunks > 0).length).toBe(rows.length - 1);
      await saveEmbedderConfig(app, { kind: "builtin" }, w.admin.id);
      semantic.wake();
      await settle();
      expect(Number((db.prepare("SELECT count(*) AS n FROM search_semantic_files WHERE error IS NOT NULL").get([]) as { n: number }).n)).toBe(0);
    } finally {
      _testHooks.check = undefined;
      fake.stop(true);
    }
  });
});
