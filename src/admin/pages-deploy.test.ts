/** Admin › Deployments and a project's custom-domain page, through the real guard and forms. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ACCOUNT_ROUTES, Browser, csrfIn, openHarness, type Harness } from "../auth/pages-testkit.ts";
import { createServer } from "../server/server.ts";
import { createProject } from "../projects/projects.ts";
import type { Project, User } from "../db/schema.ts";
import { readLimits } from "../deploy/limits.ts";
import { listDomains, verifiedHosts } from "../deploy/domains.ts";
import { deployAdminRoutes, projectDomainRoutes } from "./pages-deploy.tsx";

let h: Harness;
let site: Harness;
let ip = 0;

beforeAll(async () => {
  h = await openHarness({ WOVE_APPS_DOMAIN: "apps.example.net" });
  const server = createServer(h.app, { routes: [...ACCOUNT_ROUTES, ...deployAdminRoutes, ...projectDomainRoutes] });
  site = { ...h, handle: (req) => server.handle(req), browser: (addr = `10.8.0.${++ip}`) => new Browser(site, addr) };
});
afterAll(() => h.close());

async function signedIn(role: "admin" | "member"): Promise<{ user: User; b: Browser }> {
  const user = await h.user(role);
  const b = site.browser();
  expect((await b.login(user.email)).status).toBe(303);
  return { user, b };
}

async function post(b: Browser, action: string, form: Record<string, string>) {
  return b.send("POST", action, { form: { _csrf: csrfIn((await b.get("/account")).text), ...form } });
}

const MiB = 1024 ** 2;

describe("Admin › Deployments", () => {
  test("members get 403 on the page and every action; anonymous visitors are sent to log in", async () => {
    const { b } = await signedIn("member");
    expect((await b.get("/admin/deploy")).status).toBe(403);
    for (const action of ["/admin/deploy/limits", "/admin/deploy/limits/reset", "/admin/deploy/domains/verify", "/admin/deploy/domains/remove"]) {
      expect((await post(b, action, { cpus: "4", memory: "1g", pids: "300", domain: "x.example.org" })).status).toBe(403);
    }
    const anon = await site.browser().get("/admin/deploy");
    expect([anon.status, anon.location]).toEqual([303, "/login?next=%2Fadmin%2Fdeploy"]);
    expect(await readLimits(h.app)).toEqual({ cpus: 1, memoryBytes: 512 * MiB, pids: 256 });
  });

  test("the limits form: errors beside the fields (422, values kept), then saved with 303 and reset", async () => {
    const { b } = await signedIn("admin");
    const first = await b.get("/admin/deploy");
    expect(first.status).toBe(200);
    expect(first.text).toContain('value="512m"');
    expect(first.text).toContain("These are the server defaults.");

    const bad = await post(b, "/admin/deploy/limits", { cpus: "100", memory: "4m", pids: "256" });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('id="f-cpus-error"');
    expect(bad.text).toContain("Enter a number of CPUs from 0.1 to 64");
    expect(bad.text).toContain("Memory must be from 16m to 64g.");
    expect(bad.text).not.toContain('id="f-pids-error"');
    expect(bad.text).toContain('value="4m"');

    const ok = await post(b, "/admin/deploy/limits", { cpus: "0.5", memory: "2g", pids: "512" });
    expect([ok.status, ok.location]).toEqual([303, "/admin/deploy?saved=limits"]);
    expect(await readLimits(h.app)).toEqual({ cpus: 0.5, memoryBytes: 2048 * MiB, pids: 512 });
    const after = await b.get(ok.location ?? "");
    expect(after.text).toContain("Limits saved.");
    expect(after.text).toContain('value="2g"');
    expect(after.text).toContain("Reset to defaults");

    const reset = await post(b, "/admin/deploy/limits/reset", {});
    expect([reset.status, reset.location]).toEqual([303, "/admin/deploy?saved=reset"]);
    expect(await readLimits(h.app)).toEqual({ cpus: 1, memoryBytes: 512 * MiB, pids: 256 });
  });
});

describe("custom domains in the browser", () => {
  let owner: { user: User; b: Browser };
  let project: Project;
  beforeAll(async () => {
    owner = await signedIn("member");
    project = await createProject(h.app.db.orm, h.app.config.dataDir, owner.user, { name: "Shop" });
  });

  test("a project admin adds a domain; errors show beside the field; others cannot see the page", async () => {
    const page = await owner.b.get(`/projects/${project.id}/domains`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`shop-${owner.user.username}.apps.example.net`);
    expect(page.text).toContain("No custom domains.");

    const bad = await post(owner.b, `/projects/${project.id}/domains`, { domain: "x.apps.example.net" });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('id="f-domain-error"');
    expect(bad.text).toContain("Wove&#39;s own app addresses");
    expect(bad.text).toContain('value="x.apps.example.net"');

    const ok = await post(owner.b, `/projects/${project.id}/domains`, { domain: "Shop.Example.org", back: "settings" });
    expect([ok.status, ok.location]).toEqual([303, `/projects/${project.id}/settings?domain_added=shop.example.org#domains`]);
    const dup = await post(owner.b, `/projects/${project.id}/domains`, { domain: "shop.example.org" });
    expect(dup.status).toBe(409);
    expect(dup.text).toContain("already on this project");

    const listed = await owner.b.get(`/projects/${project.id}/domains?domain_added=shop.example.org`);
    expect(listed.text).toContain("Added shop.example.org. It is routed once an instance admin verifies it.");
    expect(listed.text).toContain("waiting for an admin");

    const stranger = await signedIn("member");
    expect((await stranger.b.get(`/projects/${project.id}/domains`)).status).toBe(404);
    expect((await post(stranger.b, `/projects/${project.id}/domains/remove`, { domain: "shop.example.org" })).status).toBe(404);
    expect((await listDomains(h.app, project.id)).map((d) => d.domain)).toEqual(["shop.example.org"]);
  });

  test("an admin verifies it on /admin/deploy, then the project admin removes it", async () => {
    const { b } = await signedIn("admin");
    const list = await b.get("/admin/deploy");
    expect(list.text).toContain("Custom domains · 1 waiting");
    expect(list.text).toContain(`${owner.user.username}/shop`);

    const verified = await post(b, "/admin/deploy/domains/verify", { domain: "shop.example.org" });
    expect([verified.status, verified.location]).toEqual([303, "/admin/deploy?verified=shop.example.org#domains"]);
    expect(await verifiedHosts(h.app, project.id)).toEqual(["shop.example.org"]);
    expect((await b.get(verified.location ?? "")).text).toContain("Verified shop.example.org");

    const gone = await post(b, "/admin/deploy/domains/verify", { domain: "nowhere.example.org" });
    expect(gone.status).toBe(422);
    expect(gone.text).toContain("nowhere.example.org is not on the list any more.");

    const removed = await post(owner.b, `/projects/${project.id}/domains/remove`, { domain: "shop.example.org" });
    expect([removed.status, removed.location]).toEqual([303, `/projects/${project.id}/domains?domain_removed=shop.example.org`]);
    expect(await verifiedHosts(h.app, project.id)).toEqual([]);
    // Removing again (a double click) is not an error.
    expect((await post(b, "/admin/deploy/domains/remove", { domain: "shop.example.org" })).status).toBe(303);
  });
});
