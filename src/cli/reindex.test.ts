import { afterAll, beforeAll, expect, test } from "bun:test";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import { setLogSink } from "../lib/log.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { startSearchIndexer } from "../search/indexer.ts";
import { searchWorld, write, type SearchWorld } from "../search/search-testkit.ts";
import { indexStatus } from "../search/status.ts";
import { reindex, ReindexError } from "./reindex.ts";
import { runCli } from "./commands.ts";

let app: App;
let dir: string;
let w: SearchWorld;

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-reindex-"));
  w = await searchWorld(app);
  await write(app, w.pub, "a.ts", "export const a = 1;\n", w.alice);
});
afterAll(() => closeTempApp(app, dir));

test("with no server running, it indexes here and reports", async () => {
  const lines: string[] = [];
  await reindex(app, { print: (l) => lines.push(l) });
  expect(lines[0]).toBe("queued 4 projects for re-indexing");
  expect(lines.at(-1)).toMatch(/^done: 4 of 4 projects, 1 text files \(1 lines\), 0 binary$/);
  expect((await indexStatus(app)).queued).toBe(0);
});

test("one project by id; an unknown id is an error", async () => {
  const lines: string[] = [];
  await reindex(app, { projectId: w.pub.id, print: (l) => lines.push(l) });
  expect(lines[0]).toBe("queued 1 project for re-indexing");
  expect(reindex(app, { projectId: "nosuchproject", print: () => {} })).rejects.toBeInstanceOf(ReindexError);
});

test("next to a running server, it leaves the work to the server", async () => {
  const server = await openApp(loadConfig({ data: dir }, {}));
  const running = startSearchIndexer(server, { pollMs: 20 });
  try {
    await running.settled();
    const lines: string[] = [];
    await reindex(app, { print: (l) => lines.push(l) });
    expect(lines.at(-1)).toMatch(/running Wove server \(pid \d+\) is indexing/);
    await running.settled();
    expect((await indexStatus(app)).queued).toBe(0);
  } finally {
    await running.stop();
    server.close();
  }
});

test("the command line: usage errors exit 2", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => void errors.push(a.join(" "));
  try {
    expect(await runCli(["admin", "reindex", "--data", dir, "--bogus"])).toBe(2);
    expect(await runCli(["admin", "reindex", "--data", dir, "--project"])).toBe(2);
    expect(await runCli(["admin", "reindex", "--data", dir, "--project", "nosuchproject"])).toBe(1);
  } finally {
    console.error = original;
  }
  expect(errors.join("\n")).toContain("Usage: wove admin reindex");
  expect(errors.join("\n")).toContain('no project with id "nosuchproject"');
});
