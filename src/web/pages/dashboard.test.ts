import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createProject } from "../../projects/projects.ts";
import { writeProjectFile } from "../../projects/files.ts";
import { createTeam, setMember } from "../../teams/teams.ts";
import { pageKit, type PageKit, type Person } from "../../projects/pages-testkit.ts";
import { dashboardRoutes } from "./dashboard.tsx";

let kit: PageKit;
let ada: Person;
let bob: Person;

beforeAll(async () => {
  kit = await pageKit(dashboardRoutes);
  ada = await kit.person("ada");
  bob = await kit.person("bob");
});
afterAll(() => kit.close());

describe("dashboard", () => {
  test("anonymous visitors are sent to the login page", async () => {
    const res = await kit.get("/");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login?next=%2F");
  });

  test("a new user sees empty states that say what to do", async () => {
    const body = await (await kit.get("/", bob)).text();
    expect(body).toContain("No projects yet");
    expect(body).toContain('href="/new"');
    expect(body).toContain("You are not in a team yet");
    expect(body).toContain("Nothing yet.");
  });

  test("lists own and team projects, teams, and activity as sentences", async () => {
    const orm = kit.app.db.orm;
    const dataDir = kit.app.config.dataDir;
    const mine = await createProject(orm, dataDir, ada.user, { name: "Foo", description: "My <i>first</i> project", visibility: "public" });
    const team = await createTeam(orm, bob.user, { name: "Lab Crew" });
    await setMember(orm, team.id, ada.user.id, "member", bob.user.id, "owner");
    const shared = await createProject(orm, dataDir, bob.user, { name: "Shared Thing", team: team.id });
    await writeProjectFile(orm, dataDir, shared, "src/app.ts", new TextEncoder().encode("x"), 1000, bob.user.id);
    await writeProjectFile(orm, dataDir, shared, "src/app.ts", new TextEncoder().encode("y"), 1000, bob.user.id);
    // Someone else's private project never shows.
    await createProject(orm, dataDir, bob.user, { name: "Bob Secret" });

    const res = await kit.get("/", ada);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain(`<a class="name" href="/projects/${mine.id}">Foo</a>`);
    expect(body).toContain("My &lt;i&gt;first&lt;/i&gt; project");
    expect(body).toContain("ada/foo");
    expect(body).toContain(`<a class="name" href="/projects/${shared.id}">Shared Thing</a>`);
    expect(body).toContain("lab-crew/shared-thing");
    expect(body).not.toContain("Bob Secret");
    expect(body).toContain(`<a href="/teams/${team.id}">Lab Crew</a>`);
    // The most recently updated project comes first.
    expect(body.indexOf("Shared Thing")).toBeLessThan(body.indexOf(">Foo<"));
    // Activity, newest first, in words.
    const feed = body.slice(body.indexOf('<ol class="activity">'));
    expect(feed).toContain(`bob wrote <a class="path" href="/projects/${shared.id}/blob/src/app.ts">src/app.ts</a> in <a href="/projects/${shared.id}">Shared Thing</a>`);
    expect(feed).toContain(`bob created <a class="path" href="/projects/${shared.id}/blob/src/app.ts">src/app.ts</a>`);
    expect(feed).toContain(`bob added <strong>you</strong> to <a href="/teams/${team.id}">Lab Crew</a> as member`);
    expect(feed).toContain(`You created project <a href="/projects/${mine.id}">Foo</a>`);
    expect(feed).not.toContain("Bob Secret");
    expect(feed.indexOf("wrote")).toBeLessThan(feed.indexOf("You created"));
  });
});

describe("dashboard cache", () => {
  test("a change anywhere is visible on the next request", async () => {
    const first = await (await kit.get("/", ada)).text();
    expect(first).not.toContain("Fresh Idea");
    expect(await (await kit.get("/", ada)).text()).toBe(first); // served again unchanged
    const p = await createProject(kit.app.db.orm, kit.app.config.dataDir, ada.user, { name: "Fresh Idea" });
    const after = await (await kit.get("/", ada)).text();
    expect(after).toContain(`<a class="name" href="/projects/${p.id}">Fresh Idea</a>`);
    expect(after).toContain(`You created project <a href="/projects/${p.id}">Fresh Idea</a>`);
  });

  test("each session gets its own CSRF token", async () => {
    const { createSession } = await import("../../auth/sessions.ts");
    const { csrfFor } = await import("../../server/guard.ts");
    const s = await createSession(kit.app.db.orm, ada.user.id, 1, {});
    const a = await (await kit.get("/", ada)).text();
    const b = await (await kit.get("/", { ...ada, cookie: `wove_session=${s.token}` })).text();
    expect(a).toContain(`value="${ada.csrf}"`);
    expect(b).toContain(`value="${csrfFor(kit.app, s.id)}"`);
    expect(b).not.toContain(ada.csrf);
  });
});
