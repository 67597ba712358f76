import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { asc, eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { createUser } from "../auth/users.ts";
import { setLogSink } from "../lib/log.ts";
import { events, type Project, type User } from "../db/schema.ts";
import { createProject, deleteProject } from "../projects/projects.ts";
import { createTeam } from "../teams/teams.ts";
import { apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { listDomains, normalizeDomain, onDomainsChange, removeDomain, requestDomain, verifiedHosts, verifyDomain, MAX_DOMAINS_PER_PROJECT } from "./domains.ts";

let app: App;
let dir: string;
let alice: User;
let admin: User;
let shop: Project;
let blog: Project;
const as = (user: User): Actor => ({ kind: "user", user, via: "session", sessionId: "s" });

beforeAll(async () => {
  ({ app, dir } = await openTempApp("wove-domains-", { WOVE_APPS_DOMAIN: "apps.example.net", WOVE_BASE_URL: "https://wove.example.net" }));
  const orm = app.db.orm;
  alice = await createUser(orm, { email: "alice@example.com", username: "alice", role: "member" }, null);
  admin = await createUser(orm, { email: "root@example.com", username: "root", role: "admin" }, null);
  shop = await createProject(orm, dir, alice, { name: "Shop" });
  const team = await createTeam(orm, alice, { name: "Writers", slug: "writers" });
  blog = await createProject(orm, dir, alice, { name: "Blog", team: team.id });
});
afterAll(() => closeTempApp(app, dir));

describe("custom domains", () => {
  const good: [string, string][] = [
    ["Shop.Example.ORG", "shop.example.org"],
    ["https://shop.example.org/path?q=1", "shop.example.org"],
    ["example.org.", "example.org"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["a-b.c-d.example.co.uk", "a-b.c-d.example.co.uk"],
  ];
  test.each(good)("%s is stored as %s", (raw, stored) => {
    expect(normalizeDomain(app, raw)).toBe(stored);
  });

  const bad: [string, RegExp][] = [
    ["", /Enter a domain name/],
    ["localhost", /full domain name with a dot/],
    ["10.0.0.1", /not an IP address/],
    ["[::1]", /not an IP address/],
    ["shop.example.org:8080", /without a port/],
    ["-shop.example.org", /not a valid domain name/],
    ["shop..example.org", /not a valid domain name/],
    ["sh_op.example.org", /not a valid domain name/],
    [`${"a".repeat(64)}.example.org`, /not a valid domain name/],
    ["1.2.3.999", /not a valid domain name/],
    ["apps.example.net", /Wove's own app addresses/],
    ["shop-alice.apps.example.net", /Wove's own app addresses/],
    ["wove.example.net", /this Wove server's own address/],
  ];
  test.each(bad)("%p is refused beside the domain field", (raw, message) => {
    let caught: unknown;
    try {
      normalizeDomain(app, raw);
    } catch (e) {
      caught = e;
    }
    const e = caught as { status: number; details?: Record<string, string> };
    expect(e.status).toBe(422);
    expect(e.details?.domain).toMatch(message);
  });

  test("request → waiting; verify → routed; remove → gone; each step recorded and announced", async () => {
    const announced: string[] = [];
    const stop = onDomainsChange(app, (projectId) => {
      announced.push(projectId);
    });
    const row = await requestDomain(app, shop.id, "Shop.Example.org", as(alice));
    expect(row).toMatchObject({ domain: "shop.example.org", projectId: shop.id, createdBy: alice.id, verifiedAt: null });
    expect(await verifiedHosts(app, shop.id)).toEqual([]);
    expect(announced).toEqual([]);

    const dup = await apiErrorOf(requestDomain(app, shop.id, "shop.example.org", as(alice)));
    expect([dup.status, dup.details?.domain]).toEqual([409, "shop.example.org is already on this project's list."]);
    const taken = await apiErrorOf(requestDomain(app, blog.id, "SHOP.example.org", as(alice)));
    expect([taken.status, taken.message]).toEqual([409, "shop.example.org is already used by another project."]);

    expect((await apiErrorOf(verifyDomain(app, "shop.example.org", as(alice)))).status).toBe(403);
    const verified = await verifyDomain(app, "shop.example.org", as(admin));
    expect(verified.verifiedBy).toBe(admin.id);
    expect(await verifiedHosts(app, shop.id)).toEqual(["shop.example.org"]);
    expect(announced).toEqual([shop.id]);
    // Verifying again is harmless and announces nothing.
    expect((await verifyDomain(app, "shop.example.org", as(admin))).verifiedAt).toBe(verified.verifiedAt);
    expect(announced).toEqual([shop.id]);
    expect((await apiErrorOf(verifyDomain(app, "nowhere.example.org", as(admin)))).status).toBe(404);

    // A project admin can remove only their own project's domains; the instance admin any.
    expect(await removeDomain(app, "shop.example.org", as(alice), blog.id)).toBe(false);
    expect((await apiErrorOf(removeDomain(app, "shop.example.org", as(alice)))).status).toBe(403);
    expect(await removeDomain(app, "shop.example.org", as(alice), shop.id)).toBe(true);
    expect(await removeDomain(app, "shop.example.org", as(admin))).toBe(false);
    expect(await verifiedHosts(app, shop.id)).toEqual([]);
    expect(announced).toEqual([shop.id, shop.id]);
    stop();

    const kinds = (await app.db.orm.select().from(events).where(eq(events.projectId, shop.id)).orderBy(asc(events.id))).map((e) => e.kind).filter((k) => k.startsWith("deploy."));
    expect(kinds).toEqual(["deploy.domain_requested", "deploy.domain_verified", "deploy.domain_removed"]);
  });

  test("a failing route update is logged; the verification stands", async () => {
    const stop = onDomainsChange(app, () => {
      throw new Error("caddy is down");
    });
    const logs: string[] = [];
    setLogSink((text) => logs.push(text));
    try {
      await requestDomain(app, shop.id, "fail.example.org", as(alice));
      await verifyDomain(app, "fail.example.org", as(admin));
    } finally {
      stop();
      setLogSink((text) => process.stdout.write(text));
    }
    expect(logs.join("")).toContain("caddy is down");
    expect(await verifiedHosts(app, shop.id)).toEqual(["fail.example.org"]);
    await removeDomain(app, "fail.example.org", as(admin));
  });

  test("lists: waiting first, with project and people's names; per project or all", async () => {
    await requestDomain(app, blog.id, "b.example.org", as(alice));
    await requestDomain(app, blog.id, "a.example.org", as(alice));
    await requestDomain(app, shop.id, "c.example.org", as(alice));
    await verifyDomain(app, "a.example.org", as(admin));
    const all = await listDomains(app);
    expect(all.map((d) => d.domain)).toEqual(["b.example.org", "c.example.org", "a.example.org"]);
    expect(all[2]).toMatchObject({ projectName: "Blog", owner: "writers", requestedBy: "alice", verifiedByName: "root" });
    expect(all[1]).toMatchObject({ projectName: "Shop", owner: "alice", verifiedByName: null });
    expect((await listDomains(app, shop.id)).map((d) => d.domain)).toEqual(["c.example.org"]);
  });

  test(`at most ${MAX_DOMAINS_PER_PROJECT} per project; deleting a project frees its names`, async () => {
    const p = await createProject(app.db.orm, dir, alice, { name: "Many" });
    for (let i = 0; i < MAX_DOMAINS_PER_PROJECT; i++) await requestDomain(app, p.id, `m${i}.example.org`, as(alice));
    const e = await apiErrorOf(requestDomain(app, p.id, "one-more.example.org", as(alice)));
    expect(e.status).toBe(422);
    expect(e.details?.domain).toContain("at most");
    await deleteProject(app.db.orm, dir, p, alice.id);
    expect(await listDomains(app, p.id)).toEqual([]);
    await requestDomain(app, shop.id, "m0.example.org", as(alice));
  });
});
