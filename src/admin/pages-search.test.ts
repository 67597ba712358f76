import { afterAll, beforeAll, expect, test } from "bun:test";
import { ACCOUNT_ROUTES, Browser, csrfIn, openHarness, type Harness } from "../auth/pages-testkit.ts";
import { createServer } from "../server/server.ts";
import { createProject } from "../projects/projects.ts";
import { indexStatus } from "../search/status.ts";
import { searchAdminRoutes } from "./pages-search.tsx";

let h: Harness;
let withSearch: Harness;
beforeAll(async () => {
  h = await openHarness();
  const server = createServer(h.app, { routes: [...ACCOUNT_ROUTES, ...searchAdminRoutes] });
  withSearch = { ...h, handle: (req) => server.handle(req) };
});
afterAll(() => h.close());

async function signedIn(role: "admin" | "member"): Promise<Browser> {
  const user = await h.user(role);
  const b = new Browser(withSearch, `10.9.0.${role === "admin" ? 1 : 2}`);
  expect((await b.login(user.email)).status).toBe(303);
  return b;
}

test("the overview shows the search index and its rebuild button", async () => {
  const b = await signedIn("admin");
  const r = await b.get("/admin");
  expect(r.status).toBe(200);
  expect(r.text).toContain('id="search-index"');
  expect(r.text).toContain("Rebuild the search index");
  expect(r.text).toContain("empty: everything is indexed");
});

test("members cannot rebuild; an admin queues every project and sees it waiting, refreshing itself", async () => {
  const admin = await h.user("admin");
  await createProject(h.app.db.orm, h.app.config.dataDir, admin, { name: "One", visibility: "private" });
  await createProject(h.app.db.orm, h.app.config.dataDir, admin, { name: "Two", visibility: "public" });
  const member = await signedIn("member");
  const token = csrfIn((await member.get("/account")).text);
  expect((await member.send("POST", "/admin/search-index/reindex", { form: { _csrf: token } })).status).toBe(403);
  expect((await indexStatus(h.app)).queued).toBe(0);

  const b = await signedIn("admin");
  const page = await b.get("/admin");
  const done = await b.send("POST", "/admin/search-index/reindex", { form: { _csrf: csrfIn(page.text) } });
  expect(done.status).toBe(303);
  expect(done.location).toBe("/admin#search-index");
  expect((await indexStatus(h.app)).queued).toBe(2);
  const audit = await h.app.db.client.execute("SELECT actor_id, subject_type FROM events WHERE kind = 'search.reindex_requested'");
  expect(audit.rows).toHaveLength(1);
  expect(audit.rows[0]?.subject_type).toBe("instance");

  const fragment = await b.send("GET", "/admin/search-index", { headers: { "hx-request": "true" } });
  expect(fragment.status).toBe(200);
  expect(fragment.text).toStartWith('<section class="card stack" id="search-index"');
  expect(fragment.text).toContain('hx-trigger="load delay:2s"');
  expect(fragment.text).toContain("2 waiting (2 whole projects)");
  expect(fragment.text).toContain("not running");
  const plain = await b.get("/admin/search-index");
  expect(plain.status).toBe(303);

  const viaHtmx = await b.send("POST", "/admin/search-index/reindex", { form: { _csrf: csrfIn(page.text) }, headers: { "hx-request": "true" } });
  expect(viaHtmx.status).toBe(200);
  expect(viaHtmx.text).toContain("Queued 2 projects for re-indexing.");
});
