import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import { setLogSink } from "../lib/log.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { deleteProjectFile, moveProjectFile } from "../projects/files.ts";
import { createProject, updateProject } from "../projects/projects.ts";
import { createFromTemplate } from "../projects/templates.ts";
import { forkProject } from "../projects/fork.ts";
import { editorOf, saveVersion } from "../projects/versions.ts";
import { searchScope } from "./access.ts";
import { searchCode } from "./code.ts";
import { onFileIndexed, onFileRemoved, type FileIndexed, type FileRemoved } from "./hooks.ts";
import { enqueue, itemsFor, requestReindex, startSearchIndexer, type SearchIndexer } from "./indexer.ts";
import { searchProjects } from "./projects.ts";
import { parseQuery } from "./query.ts";
import { indexStatus } from "./status.ts";
import { actorOf, searchWorld, write, type SearchWorld } from "./search-testkit.ts";

let app: App;
let dir: string;
let w: SearchWorld;
let indexer: SearchIndexer;
const indexed: FileIndexed[] = [];
const removed: FileRemoved[] = [];
const unhook: (() => void)[] = [];

async function hits(q: string, projectId?: string): Promise<string[]> {
  const scope = await searchScope(app, actorOf(w.admin), projectId);
  const r = await searchCode(app, scope, parseQuery(q), { regex: false, caseSensitive: false, limit: 100 });
  return r.results.map((h) => `${h.path}:${h.line}`);
}
async function fileId(projectId: string, path: string): Promise<number> {
  const rs = await app.db.client.execute({ sql: "SELECT id FROM search_files WHERE project_id = ? AND path = ?", args: [projectId, path] });
  return rs.rows[0] ? Number(rs.rows[0].id) : -1;
}

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-search-indexer-"));
  w = await searchWorld(app);
  unhook.push(onFileIndexed((e) => void indexed.push(e), "test"));
  unhook.push(onFileRemoved((e) => void removed.push(e), "test"));
  indexer = startSearchIndexer(app, { pollMs: 50 });
  await indexer.settled();
});
afterAll(async () => {
  for (const u of unhook) u();
  await indexer?.stop();
  closeTempApp(app, dir);
});
afterEach(() => {
  indexed.length = 0;
  removed.length = 0;
});

test("WOVE_SEARCH_MAX_FILE: 1 MB by default, sizes like 512k, refused outside 1k–8m", () => {
  expect(loadConfig({ data: dir }, {}).searchMaxFileBytes).toBe(1024 * 1024);
  expect(loadConfig({ data: dir }, { WOVE_SEARCH_MAX_FILE: "512k" }).searchMaxFileBytes).toBe(512 * 1024);
  expect(() => loadConfig({ data: dir }, { WOVE_SEARCH_MAX_FILE: "9m" })).toThrow(/WOVE_SEARCH_MAX_FILE/);
  expect(() => loadConfig({ data: dir }, { WOVE_SEARCH_MAX_FILE: "lots" })).toThrow(/WOVE_SEARCH_MAX_FILE/);
});

test("itemsFor: what a change asks of the queue", () => {
  expect(itemsFor({ paths: ["a", "b"] })).toEqual([{ path: "a" }, { path: "b" }]);
  expect(itemsFor({ paths: ["a", "b"], moved: { from: "a", to: "b" } })).toEqual([{ path: "a", moveTo: "b" }, { path: "b" }]);
  expect(itemsFor({})).toEqual([{ path: "" }]);
});

describe("incremental indexing", () => {
  test("an edit through the file API is searchable within a second, and the hooks hear it", async () => {
    const started = performance.now();
    await write(app, w.pub, "src/live.ts", "export const freshlyTyped = 1;\n", w.alice);
    let found: string[] = [];
    while (performance.now() - started < 1000 && found.length === 0) {
      found = await hits("freshlyTyped");
      if (found.length === 0) await Bun.sleep(10);
    }
    expect(found).toEqual(["src/live.ts:1"]);
    expect(performance.now() - started).toBeLessThan(1000);
    const id = await fileId(w.pub.id, "src/live.ts");
    expect(indexed.map((e) => [e.fileId, e.path, e.lang, e.text])).toEqual([[id, "src/live.ts", "typescript", "export const freshlyTyped = 1;\n"]]);
  });

  test("a second edit replaces the old text; the same bytes again are skipped", async () => {
    await write(app, w.pub, "src/live.ts", "export const renamedThing = 2;\n", w.alice);
    await indexer.settled();
    expect(await hits("freshlyTyped")).toEqual([]);
    expect(await hits("renamedThing")).toEqual(["src/live.ts:1"]);
    indexed.length = 0;
    await write(app, w.pub, "src/live.ts", "export const renamedThing = 2;\n", w.alice);
    await indexer.settled();
    expect(indexed).toEqual([]);
  });

  test("a rename keeps the file's id (no hooks); a folder move and a folder delete follow", async () => {
    const id = await fileId(w.pub.id, "src/live.ts");
    await moveProjectFile(app.db.orm, app.config.dataDir, w.pub, "src/live.ts", "src/moved.ts", w.alice.id);
    await indexer.settled();
    expect(await fileId(w.pub.id, "src/moved.ts")).toBe(id);
    expect(await fileId(w.pub.id, "src/live.ts")).toBe(-1);
    expect(await hits("renamedThing")).toEqual(["src/moved.ts:1"]);
    await moveProjectFile(app.db.orm, app.config.dataDir, w.pub, "src", "lib", w.alice.id);
    await indexer.settled();
    expect(await fileId(w.pub.id, "lib/moved.ts")).toBe(id);
    expect(indexed).toEqual([]);
    expect(removed).toEqual([]);
    await deleteProjectFile(app.db.orm, app.config.dataDir, w.pub, "lib", w.alice.id);
    await indexer.settled();
    expect(await hits("renamedThing")).toEqual([]);
    expect(removed.map((e) => [e.fileId, e.path])).toEqual([[id, "lib/moved.ts"]]);
  });

  test("a file turning binary leaves the text index (and says so); binary files are listed, not searched", async () => {
    await write(app, w.pub, "data.bin", "textual content here\n", w.alice);
    await indexer.settled();
    expect(await hits("textual content")).toEqual(["data.bin:1"]);
    await write(app, w.pub, "data.bin", new Uint8Array([0, 1, 2, 116, 101, 120, 116]), w.alice);
    await indexer.settled();
    expect(await hits("textual content")).toEqual([]);
    expect(removed.map((e) => e.path)).toEqual(["data.bin"]);
    const rs = await app.db.client.execute({ sql: "SELECT kind, segments FROM search_files WHERE project_id = ? AND path = 'data.bin'", args: [w.pub.id] });
    expect(rs.rows[0]).toMatchObject({ kind: "binary", segments: 0 });
  });
});

describe("projects made by any code path are indexed", () => {
  test("from a template, and a fork", async () => {
    const fromTemplate = await createFromTemplate(app.db.orm, app.config.dataDir, w.bob, { name: "From Template", template: "static-site", visibility: "public" });
    // A fork copies the saved history.
    await write(app, w.pub, "saved.md", "a saved file, forkedWords\n", w.alice);
    await saveVersion(app.db.orm, app.config.dataDir, w.pub, { message: "save", author: editorOf(w.alice) });
    const fork = await forkProject(app.db.orm, app.config.dataDir, w.pub, w.bob, { name: "Forked Charts" });
    await indexer.settled();
    for (const p of [fromTemplate, fork]) {
      const rs = await app.db.client.execute({ sql: "SELECT count(*) AS n FROM search_files WHERE project_id = ?", args: [p.id] });
      expect(Number(rs.rows[0]?.n)).toBeGreaterThan(0);
    }
    expect((await hits("<html", fromTemplate.id)).length).toBeGreaterThan(0);
    expect(await hits("forkedWords", fork.id)).toEqual(["saved.md:1"]);
  });

  test("a renamed project is found by its new name", async () => {
    await updateProject(app.db.orm, w.pub, { name: "Glorious Graphs" }, w.alice.id);
    await indexer.settled();
    const r = await searchProjects(app, await searchScope(app, actorOf(null)), parseQuery("glorious"), { limit: 5 });
    expect(r.results.map((p) => p.projectId)).toEqual([w.pub.id]);
  });
});

describe("the queue", () => {
  test("survives a restart: entries queued while no indexer runs are done by the next one", async () => {
    await indexer.stop();
    await write(app, w.priv, "later.md", "written while stopped\n", w.alice);
    await enqueue(app, w.priv.id, [{ path: "later.md" }]);
    expect((await indexStatus(app)).queued).toBe(1);
    // A new process: another App on the same data dir.
    const second = await openApp(loadConfig({ data: dir }, {}));
    const other = startSearchIndexer(second, { pollMs: 50 });
    try {
      await other.settled();
      expect(await hits("written while stopped")).toEqual(["later.md:1"]);
    } finally {
      await other.stop();
      second.close();
      indexer = startSearchIndexer(app, { pollMs: 50 });
    }
  });

  test("one process indexes at a time (the lease)", async () => {
    await indexer.settled();
    const second = await openApp(loadConfig({ data: dir }, {}));
    const other = startSearchIndexer(second, { pollMs: 50 });
    try {
      await Bun.sleep(150);
      expect(indexer.leased()).toBe(true);
      expect(other.leased()).toBe(false);
    } finally {
      await other.stop();
      second.close();
    }
  });

  test("reindex re-reads every file of a project, announcing each again", async () => {
    await indexer.settled();
    indexed.length = 0;
    expect(await requestReindex(app, { projectId: w.priv.id, actorId: w.admin.id })).toBe(1);
    indexer.wake();
    await indexer.settled();
    expect(indexed.map((e) => e.path).sort()).toEqual(["later.md"]);
    const s = await indexStatus(app);
    expect(s.queued).toBe(0);
    expect(s.projects.indexed).toBe(s.projects.total);
  });

  test("indexing a big project does not stall the event loop", async () => {
    const big = await createProject(app.db.orm, app.config.dataDir, w.alice, { name: "Big", visibility: "private" });
    const { writeFile, mkdir } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const root = join(app.config.dataDir, "projects", big.id, "files");
    await mkdir(join(root, "gen"), { recursive: true });
    const body = Array.from({ length: 2000 }, (_, i) => `export function f${i}(x: number) { return x * ${i}; }`).join("\n");
    for (let i = 0; i < 40; i++) await writeFile(join(root, "gen", `f${i}.ts`), `${body}\n// file ${i}\n`);
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    // Written behind Wove's back, like a push: the whole project is queued.
    await enqueue(app, big.id, [{ path: "" }]);
    indexer.wake();
    await indexer.settled(60_000);
    clearInterval(timer);
    // A query over a line end works within a segment.
    expect(await hits("return x * 1999; }\n// file 39", big.id)).toEqual(["gen/f39.ts:2000"]);
    expect(worst).toBeLessThan(300);
  }, 90_000);
});
