/** Stars: idempotent star/unstar with an exact count and one event per change; the API and the page button. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { asc, eq } from "drizzle-orm";
import { events, type Project, type Team } from "../db/schema.ts";
import { createToken } from "../auth/tokens.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { createServer } from "../server/server.ts";
import { csrfFor } from "../server/guard.ts";
import { createProject, getProject, updateProject } from "./projects.ts";
import { isStarred, listStarredBy, star, unstar } from "./stars.ts";
import { starApiRoutes, starPageRoutes } from "./stars-routes.ts";
import { projectPageRoutes } from "./pages.tsx";
import { pageKit, type PageKit, type Person } from "./pages-testkit.ts";

const routes = [...starApiRoutes, ...starPageRoutes, ...projectPageRoutes];

let kit: PageKit;
let server: ReturnType<typeof createServer>;
let owner: Person;
let fan: Person;
let viewer: Person;
let stranger: Person;
let team: Team;
let pub: Project;
let priv: Project;

beforeAll(async () => {
  kit = await pageKit(routes);
  server = createServer(kit.app, { routes });
  owner = await kit.person("ozzy");
  fan = await kit.person("fay");
  viewer = await kit.person("val");
  stranger = await kit.person("sid");
  const orm = kit.app.db.orm;
  team = await createTeam(orm, owner.user, { name: "Star Crew" });
  await setMember(orm, team.id, viewer.user.id, "viewer", owner.user.id, "owner");
  pub = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Shiny", visibility: "public" });
  priv = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Secret Lab", visibility: "private", team: team.id });
});
afterAll(() => kit.close());

const count = async (id: string) => (await getProject(kit.app.db.orm, id))?.starCount;
const starEvents = async (id: string) =>
  (await kit.app.db.orm.select().from(events).where(eq(events.projectId, id)).orderBy(asc(events.id))).filter((e) => e.kind === "project.starred" || e.kind === "project.unstarred").map((e) => e.kind);

describe("service", () => {
  test("star and unstar are idempotent; the count is exact; one event per change", async () => {
    const orm = kit.app.db.orm;
    expect(await star(orm, pub, fan.user)).toEqual({ starred: true, starCount: 1, changed: true });
    expect(await star(orm, pub, fan.user)).toEqual({ starred: true, starCount: 1, changed: false });
    expect(await star(orm, pub, owner.user)).toEqual({ starred: true, starCount: 2, changed: true });
    expect(await isStarred(orm, pub.id, fan.user.id)).toBe(true);
    expect(await unstar(orm, pub, fan.user)).toEqual({ starred: false, starCount: 1, changed: true });
    expect(await unstar(orm, pub, fan.user)).toEqual({ starred: false, starCount: 1, changed: false });
    expect(await isStarred(orm, pub.id, fan.user.id)).toBe(false);
    expect(await count(pub.id)).toBe(1);
    expect(await starEvents(pub.id)).toEqual(["project.starred", "project.starred", "project.unstarred"]);
  });

  test("concurrent stars by many users count exactly", async () => {
    const orm = kit.app.db.orm;
    const people = await Promise.all(Array.from({ length: 8 }, (_, i) => kit.person(`crowd${i}`)));
    await Promise.all(people.flatMap((p) => [star(orm, pub, p.user), star(orm, pub, p.user)]));
    expect(await count(pub.id)).toBe(9);
    await Promise.all(people.map((p) => unstar(orm, pub, p.user)));
    expect(await count(pub.id)).toBe(1);
  });

  test("listStarredBy: newest first, only projects the user can still read", async () => {
    const orm = kit.app.db.orm;
    const other = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Other", visibility: "public" });
    await star(orm, pub, viewer.user);
    await star(orm, priv, viewer.user);
    await Bun.sleep(2);
    await star(orm, other, viewer.user);
    expect((await listStarredBy(orm, viewer.user)).map((p) => p.name)).toEqual(["Other", "Secret Lab", "Shiny"]);
    await updateProject(orm, other, { visibility: "private" }, owner.user.id);
    expect((await listStarredBy(orm, viewer.user)).map((p) => p.name)).toEqual(["Secret Lab", "Shiny"]);
  });
});

describe("API", () => {
  /** Anonymous callers carry a pre-session CSRF cookie and token, as a browser would. */
  const anonCsrf = (): Record<string, string> => ({ cookie: "wove_csrf=anon-key", "x-csrf-token": csrfFor(kit.app, "anon-key") });
  const call = async (method: "PUT" | "DELETE", project: Project, who: Person | null) => {
    const headers: Record<string, string> = who ? {} : anonCsrf();
    if (who) headers.authorization = `Bearer ${(await createToken(kit.app.db.orm, who.user, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token}`;
    return (await server.handle(new Request(`http://localhost/api/v1/projects/${project.id}/star`, { method, headers }))).status;
  };

  test("PUT and DELETE → 204, idempotent", async () => {
    const before = (await count(pub.id)) ?? 0;
    expect([await call("PUT", pub, stranger), await call("PUT", pub, stranger)]).toEqual([204, 204]);
    expect(await count(pub.id)).toBe(before + 1);
    expect([await call("DELETE", pub, stranger), await call("DELETE", pub, stranger)]).toEqual([204, 204]);
    expect(await count(pub.id)).toBe(before);
  });

  test("starring needs read access: a stranger gets 404 on a private project, a team viewer may star it; anonymous 401", async () => {
    expect(await call("PUT", priv, stranger)).toBe(404);
    expect(await call("PUT", priv, viewer)).toBe(204);
    expect(await call("PUT", pub, null)).toBe(401);
  });
});

describe("star button", () => {
  test("the project page shows the button with the count; anonymous readers get a log-in link", async () => {
    await unstar(kit.app.db.orm, pub, fan.user);
    const n = (await count(pub.id)) ?? 0;
    const page = await (await kit.get(`/projects/${pub.id}`, fan)).text();
    expect(page).toContain(`action="/projects/${pub.id}/star"`);
    expect(page).toContain('aria-pressed="false"');
    expect(page).toContain(`· ${n} ${n === 1 ? "star" : "stars"}`);
    const anon = await (await kit.get(`/projects/${pub.id}`)).text();
    expect(anon).toContain(`href="/login?next=${encodeURIComponent(`/projects/${pub.id}`)}"`);
  });

  test("without JS: the form posts and redirects back (303)", async () => {
    const n = (await count(pub.id)) ?? 0;
    const res = await kit.post(`/projects/${pub.id}/star`, {}, fan);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/projects/${pub.id}`);
    expect(await count(pub.id)).toBe(n + 1);
    const page = await (await kit.get(`/projects/${pub.id}`, fan)).text();
    expect(page).toContain(`action="/projects/${pub.id}/unstar"`);
    expect(page).toContain('aria-pressed="true"');
  });

  test("with htmx: the button swaps itself for the new state", async () => {
    const n = (await count(pub.id)) ?? 0;
    const res = await server.handle(
      new Request(`http://localhost/projects/${pub.id}/unstar`, {
        method: "POST",
        headers: { cookie: fan.cookie, "x-csrf-token": fan.csrf, "hx-request": "true", "content-type": "application/x-www-form-urlencoded" },
        body: "",
      }),
    );
    expect(res.status).toBe(200);
    const frag = await res.text();
    expect(frag.startsWith("<form")).toBe(true);
    expect(frag).toContain(`hx-post="/projects/${pub.id}/star"`);
    expect(frag).toContain('aria-pressed="false"');
    expect(frag).toContain(`· ${n - 1} ${n - 1 === 1 ? "star" : "stars"}`);
  });

  test("anonymous posting on a public project is sent to log in; a forged CSRF token is refused", async () => {
    const anon = await server.handle(
      new Request(`http://localhost/projects/${pub.id}/star`, {
        method: "POST",
        headers: { cookie: "wove_csrf=anon-key", "content-type": "application/x-www-form-urlencoded", referer: `http://localhost/projects/${pub.id}` },
        body: `_csrf=${encodeURIComponent(csrfFor(kit.app, "anon-key"))}`,
      }),
    );
    expect([anon.status, anon.headers.get("location")]).toEqual([303, `/login?next=${encodeURIComponent(`/projects/${pub.id}`)}`]);
    const forged = await kit.post(`/projects/${pub.id}/star`, { _csrf: "forged" }, fan);
    expect(forged.status).toBe(403);
  });
});
