import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import { setLogSink } from "../lib/log.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { createProject } from "../projects/projects.ts";
import { setTags } from "../projects/tags.ts";
import { star } from "../projects/stars.ts";
import { createUser } from "../auth/users.ts";
import { searchScope } from "./access.ts";
import { ftsWords, searchProjects } from "./projects.ts";
import { startSearchIndexer, type SearchIndexer } from "./indexer.ts";
import { parseQuery } from "./query.ts";
import { actorOf, searchWorld, write, type SearchWorld } from "./search-testkit.ts";

let app: App;
let dir: string;
let w: SearchWorld;
let indexer: SearchIndexer;
const ids: Record<string, string> = {};

async function find(q: string, as: "anon" | "alice" | "carol" = "anon", limit = 10) {
  const user = as === "alice" ? w.alice : as === "carol" ? w.carol : null;
  return searchProjects(app, await searchScope(app, actorOf(user)), parseQuery(q), { limit });
}
const names = (r: Awaited<ReturnType<typeof find>>) => r.results.map((p) => p.name);

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-search-projects-"));
  w = await searchWorld(app);
  const mk = async (name: string, description: string, readme?: string) => {
    const p = await createProject(app.db.orm, app.config.dataDir, w.bob, { name, description, visibility: "public" });
    if (readme) await write(app, p, "README.md", readme, w.bob);
    ids[name] = p.id;
    return p;
  };
  await mk("Galaxy Simulator", "n-body physics", "# Galaxy\nRenders a chart of orbits with D3.\n");
  const viz = await mk("Chart Lab", "interactive charts");
  await mk("Chart Lab Copy", "interactive charts");
  await mk("Todo App", "a list", "# Todo\nNothing about graphs.\n");
  await setTags(app.db.orm, viz, ["d3", "dataviz"], w.bob.id);
  for (let i = 0; i < 5; i++) {
    const fan = await createUser(app.db.orm, { email: `fan${i}@example.com`, username: `fan${i}`, name: "Fan", role: "member" }, null);
    await star(app.db.orm, viz, fan);
  }
  indexer = startSearchIndexer(app, { pollMs: 20 });
  await indexer.settled();
});
afterAll(async () => {
  await indexer?.stop();
  closeTempApp(app, dir);
});

describe("discovery", () => {
  test("a name match outranks a README mention; the README still counts", async () => {
    const r = await find("chart");
    expect(names(r).slice(0, 2).sort()).toEqual(["Chart Lab", "Chart Lab Copy"]);
    expect(names(r)).toContain("Galaxy Simulator");
    expect(names(r)).not.toContain("Todo App");
  });
  test("stars break a tie between equal text matches", async () => {
    expect(names(await find("chart lab")).slice(0, 2)).toEqual(["Chart Lab", "Chart Lab Copy"]);
  });
  test("a tag matches as a word, and as a filter", async () => {
    expect(names(await find("dataviz"))).toEqual(["Chart Lab"]);
    expect(names(await find("tag:d3"))).toEqual(["Chart Lab"]);
    expect(names(await find("chart tag:dataviz"))).toEqual(["Chart Lab"]);
  });
  test("porter stemming and prefix typing", async () => {
    expect(names(await find("renders orbit"))).toEqual(["Galaxy Simulator"]);
    expect(names(await find("gala"))).toEqual(["Galaxy Simulator"]);
  });
  test("facets count the whole match, not the page", async () => {
    const r = await find("chart", "anon", 1);
    expect(r.results).toHaveLength(1);
    expect(r.next).not.toBeNull();
    expect(r.facets.owners).toEqual([
      { value: "bob", count: 3 },
      { value: "alice", count: 1 },
    ]);
    expect(r.facets.tags).toEqual([
      { value: "d3", count: 1 },
      { value: "dataviz", count: 1 },
    ]);
  });
  test("owner: filter, and who sees which projects listed", async () => {
    expect(names(await find("owner:bob todo"))).toEqual(["Todo App"]);
    expect(names(await find("owner:alice charts"))).toEqual(["Public Charts"]);
    expect(names(await find("notes"))).toEqual([]);
    expect(names(await find("secret notes", "alice"))).toEqual(["Secret Notes"]);
    expect(names(await find("class work", "carol"))).toEqual(["Class Work"]);
    expect(names(await find("hidden link", "carol"))).toEqual([]);
  });
  test("ftsWords: words only, the last one as a prefix", () => {
    expect(ftsWords('d3 "chart" OR NOT')?.match).toBe('"d3" OR "chart" OR "or" OR "not"*');
    expect(ftsWords("(+)")).toBeUndefined();
  });
});
