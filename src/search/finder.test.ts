import { afterAll, beforeAll, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import { setLogSink } from "../lib/log.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { deleteProjectFile, moveProjectFile } from "../projects/files.ts";
import { rankPaths } from "../web/islands/ide/fuzzy.ts";
import { searchScope } from "./access.ts";
import { findFiles } from "./finder.ts";
import { startSearchIndexer, type SearchIndexer } from "./indexer.ts";
import { parseQuery } from "./query.ts";
import { actorOf, searchWorld, write, type SearchWorld } from "./search-testkit.ts";

let app: App;
let dir: string;
let w: SearchWorld;
let indexer: SearchIndexer;
const PATHS = ["src/components/Button.tsx", "src/components/ButtonGroup.tsx", "src/lib/buttons.ts", "docs/button-guide.md", "test/button.test.ts", "assets/button.png"];

async function find(q: string, projectId?: string) {
  return findFiles(app, await searchScope(app, actorOf(w.alice), projectId), parseQuery(q), { limit: 20 });
}

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-search-finder-"));
  w = await searchWorld(app);
  for (const p of PATHS) await write(app, w.pub, p, p.endsWith(".png") ? new Uint8Array([0x89, 0x50, 0, 0]) : `// ${p}\n`, w.alice);
  await write(app, w.priv, "src/Button.tsx", "x\n", w.alice);
  indexer = startSearchIndexer(app, { pollMs: 20 });
  await indexer.settled();
});
afterAll(async () => {
  await indexer?.stop();
  closeTempApp(app, dir);
});

test("ranks exactly as the IDE's quick-open does", async () => {
  const r = await find("btn", w.pub.id);
  expect(r.results.map((h) => h.path)).toEqual(rankPaths("btn", PATHS).map((x) => x.path));
  // The highlighted characters spell the query.
  const first = r.results[0];
  expect(first?.ranges?.map(([s, e]) => first.path.slice(s, e)).join("").toLowerCase()).toBe("btn");
});

test("binary files are listed by name and marked; filters apply", async () => {
  const png = (await find("button png", w.pub.id)).results[0];
  expect(png).toMatchObject({ path: "assets/button.png", binary: true });
  expect((await find("button lang:md")).results.map((h) => h.path)).toEqual(["docs/button-guide.md"]);
  expect((await find("button -path:src/ -path:*.png", w.pub.id)).results.map((h) => h.path).sort()).toEqual(["docs/button-guide.md", "test/button.test.ts"]);
});

test("across projects; a renamed or deleted file is seen at once (the list is keyed by version)", async () => {
  expect([...new Set((await find("src/Button.tsx")).results.map((h) => h.projectId))].sort()).toEqual([w.pub.id, w.priv.id].sort());
  await moveProjectFile(app.db.orm, app.config.dataDir, w.pub, "src/lib/buttons.ts", "src/lib/knobs.ts", w.alice.id);
  await deleteProjectFile(app.db.orm, app.config.dataDir, w.pub, "docs", w.alice.id);
  await indexer.settled();
  const paths = (await find("", w.pub.id)).results.map((h) => h.path);
  expect(paths).toContain("src/lib/knobs.ts");
  expect(paths).not.toContain("src/lib/buttons.ts");
  expect(paths).not.toContain("docs/button-guide.md");
});
