import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Orm } from "../db/client.ts";
import { events, projects, type User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { filesDir, projectDir, writeFile } from "./files.ts";
import {
  createProject,
  deleteProject,
  findProjectByOwnerSlug,
  getProject,
  listProjectsForUser,
  listPublicProjects,
  ownerHandle,
  ownerHandles,
  projectJson,
  projectsJson,
  updateProject,
} from "./projects.ts";
import { apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";

let dir: string;
let app: App;
let orm: Orm;
let n = 0;

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-projects-"));
  orm = app.db.orm;
});
afterAll(() => closeTempApp(app, dir));

function user(role: "admin" | "member" = "member"): Promise<User> {
  n++;
  return createUser(orm, { email: `p${n}@example.com`, role, username: `puser-${n}` }, null);
}

const err = apiErrorOf;

const projectEvents = (id: string) => orm.select().from(events).where(eq(events.projectId, id)).orderBy(events.id);

describe("createProject", () => {
  test("creates a private user project with a slug, files dir and project.created event", async () => {
    const u = await user();
    const p = await createProject(orm, dir, u, { name: "  My First App!  ", description: " hello " });
    expect(p.slug).toBe("my-first-app");
    expect(p.name).toBe("My First App!");
    expect(p.description).toBe("hello");
    expect(p.visibility).toBe("private");
    expect(p.ownerUserId).toBe(u.id);
    expect(p.ownerTeamId).toBeNull();
    expect(p.createdBy).toBe(u.id);
    expect(statSync(filesDir(dir, p.id)).isDirectory()).toBe(true);
    expect(await getProject(orm, p.id)).toEqual(p);
    const ev = await projectEvents(p.id);
    expect(ev.map((e) => [e.kind, e.subjectType, e.subjectId, e.actorId, e.teamId])).toEqual([["project.created", "project", p.id, u.id, null]]);
    expect(JSON.parse(ev[0]?.data ?? "{}")).toMatchObject({ slug: "my-first-app", visibility: "private" });
  });

  test("slugs are unique per owner: -2, -3…; other owners may reuse them", async () => {
    const u = await user();
    const v = await user();
    const a = await createProject(orm, dir, u, { name: "Same Name" });
    const b = await createProject(orm, dir, u, { name: "same name" });
    const c = await createProject(orm, dir, u, { name: "SAME-NAME" });
    const d = await createProject(orm, dir, v, { name: "Same Name" });
    expect([a.slug, b.slug, c.slug, d.slug]).toEqual(["same-name", "same-name-2", "same-name-3", "same-name"]);
    // concurrent creations still get distinct slugs
    const many = await Promise.all([1, 2, 3, 4].map(() => createProject(orm, dir, u, { name: "Rush" })));
    expect(new Set(many.map((p) => p.slug)).size).toBe(4);
  });

  test("a name without letters or digits gets the slug 'project'", async () => {
    const u = await user();
    expect((await createProject(orm, dir, u, { name: "日本語" })).slug).toBe("project");
    expect((await createProject(orm, dir, u, { name: "!!!" })).slug).toBe("project-2");
  });

  test("validates name, description and visibility (422 with field details)", async () => {
    const u = await user();
    const cases: [object, string][] = [
      [{ name: "" }, "name"],
      [{ name: "   " }, "name"],
      [{ name: "x".repeat(101) }, "name"],
      [{ name: "bad\u0007name" }, "name"],
      [{ name: "ok", description: "d".repeat(2001) }, "description"],
      [{ name: "ok", visibility: "secret" }, "visibility"],
    ];
    for (const [input, field] of cases) {
      const e = await err(createProject(orm, dir, u, input as never));
      expect(e.status).toBe(422);
      expect(e.details?.[field]).toBeDefined();
    }
    expect((await createProject(orm, dir, u, { name: "x".repeat(100), description: "d".repeat(2000), visibility: "public" })).visibility).toBe("public");
  });

  test("team projects: by id or slug; owner/maintainer/member may create, viewer and outsiders may not", async () => {
    const owner = await user();
    const maint = await user();
    const mem = await user();
    const viewer = await user();
    const outsider = await user();
    const admin = await user("admin");
    const t = await createTeam(orm, owner, { name: "Proj Team" });
    await setMember(orm, t.id, maint.id, "maintainer", owner.id, "owner");
    await setMember(orm, t.id, mem.id, "member", owner.id, "owner");
    await setMember(orm, t.id, viewer.id, "viewer", owner.id, "owner");
    const p1 = await createProject(orm, dir, owner, { name: "Shared", team: t.id });
    const p2 = await createProject(orm, dir, maint, { name: "Shared", team: "PROJ-TEAM" });
    const p3 = await createProject(orm, dir, mem, { name: "Shared", team: t.slug });
    const p4 = await createProject(orm, dir, admin, { name: "Shared", team: t.slug });
    expect([p1.slug, p2.slug, p3.slug, p4.slug]).toEqual(["shared", "shared-2", "shared-3", "shared-4"]);
    expect(p1.ownerTeamId).toBe(t.id);
    expect(p1.ownerUserId).toBeNull();
    expect(p3.createdBy).toBe(mem.id);
    expect((await err(createProject(orm, dir, viewer, { name: "No", team: t.id }))).status).toBe(403);
    expect((await err(createProject(orm, dir, outsider, { name: "No", team: t.id }))).status).toBe(403);
    expect((await err(createProject(orm, dir, owner, { name: "No", team: "no-such-team" }))).status).toBe(404);
    const ev = await projectEvents(p1.id);
    expect(ev[0]?.teamId).toBe(t.id);
    expect(ev[0]?.projectId).toBe(p1.id);
  });
});

describe("finding and listing", () => {
  test("findProjectByOwnerSlug for users and teams, case-insensitive", async () => {
    const u = await user();
    const t = await createTeam(orm, u, { name: "Finder Team" });
    const mine = await createProject(orm, dir, u, { name: "Findable" });
    const theirs = await createProject(orm, dir, u, { name: "Findable", team: t.id });
    expect((await findProjectByOwnerSlug(orm, u.username, "findable"))?.id).toBe(mine.id);
    expect((await findProjectByOwnerSlug(orm, u.username.toUpperCase(), "FINDABLE"))?.id).toBe(mine.id);
    expect((await findProjectByOwnerSlug(orm, "finder-team", "findable"))?.id).toBe(theirs.id);
    expect(await findProjectByOwnerSlug(orm, "finder-team", "nope")).toBeUndefined();
    expect(await findProjectByOwnerSlug(orm, "nobody-here", "findable")).toBeUndefined();
  });

  test("listProjectsForUser: own and team projects (any role), newest updated first, paginated", async () => {
    const u = await user();
    const other = await user();
    const t = await createTeam(orm, other, { name: "Lister Team" });
    await setMember(orm, t.id, u.id, "viewer", other.id, "owner");
    const a = await createProject(orm, dir, u, { name: "A" });
    const b = await createProject(orm, dir, other, { name: "B", team: t.id });
    const hidden = await createProject(orm, dir, other, { name: "C", visibility: "public" });
    // Deterministic order: set updated_at explicitly.
    await orm.update(projects).set({ updatedAt: 1000 }).where(eq(projects.id, a.id));
    await orm.update(projects).set({ updatedAt: 2000 }).where(eq(projects.id, b.id));
    const list = await listProjectsForUser(orm, u, { limit: 10, offset: 0 });
    expect(list.map((p) => p.id)).toEqual([b.id, a.id]);
    expect(list.map((p) => p.id)).not.toContain(hidden.id);
    expect((await listProjectsForUser(orm, u, { limit: 1, offset: 1 })).map((p) => p.id)).toEqual([a.id]);
    expect(await listProjectsForUser(orm, u, { limit: 10, offset: 5 })).toEqual([]);
  });

  test("listPublicProjects shows public only", async () => {
    const u = await user();
    const pub = await createProject(orm, dir, u, { name: "Pub", visibility: "public" });
    const unl = await createProject(orm, dir, u, { name: "Unl", visibility: "unlisted" });
    const prv = await createProject(orm, dir, u, { name: "Prv" });
    const ids = (await listPublicProjects(orm, { limit: 200 })).map((p) => p.id);
    expect(ids).toContain(pub.id);
    expect(ids).not.toContain(unl.id);
    expect(ids).not.toContain(prv.id);
    expect((await listPublicProjects(orm)).every((p) => p.visibility === "public")).toBe(true);
  });
});

describe("update and delete", () => {
  test("updateProject keeps the slug, records project.updated, no event for a no-op", async () => {
    const u = await user();
    const p = await createProject(orm, dir, u, { name: "Before" });
    const q = await updateProject(orm, p, { name: "After", description: "new", visibility: "public" }, u.id);
    expect(q.slug).toBe("before");
    expect(q.name).toBe("After");
    expect(q.visibility).toBe("public");
    expect(q.updatedAt).toBeGreaterThanOrEqual(p.updatedAt);
    expect(await getProject(orm, p.id)).toEqual(q);
    await updateProject(orm, q, { name: "After" }, u.id);
    const ev = await projectEvents(p.id);
    expect(ev.map((e) => e.kind)).toEqual(["project.created", "project.updated"]);
    expect(JSON.parse(ev[1]?.data ?? "{}")).toEqual({ name: "After", description: "new", visibility: "public", visibilityFrom: "private" });
    expect((await err(updateProject(orm, q, { visibility: "open" as never }, u.id))).status).toBe(422);
    expect((await err(updateProject(orm, q, { name: "" }, u.id))).status).toBe(422);
    expect((await err(updateProject(orm, q, { description: "x".repeat(2001) }, u.id))).status).toBe(422);
  });

  test("deleteProject removes the row and everything on disk; events stay", async () => {
    const u = await user();
    const p = await createProject(orm, dir, u, { name: "Goner" });
    await writeFile(dir, p.id, "src/a.txt", new TextEncoder().encode("x"), 100);
    await deleteProject(orm, dir, p, u.id);
    expect(await getProject(orm, p.id)).toBeUndefined();
    expect(existsSync(projectDir(dir, p.id))).toBe(false);
    expect((await projectEvents(p.id)).map((e) => e.kind)).toEqual(["project.created", "project.deleted"]);
    expect((await err(deleteProject(orm, dir, p, u.id))).status).toBe(404);
    // the slug is free again
    expect((await createProject(orm, dir, u, { name: "Goner" })).slug).toBe("goner");
  });
});

describe("JSON", () => {
  test("projectJson and owner handles resolved in one go", async () => {
    const u = await user();
    const t = await createTeam(orm, u, { name: "Json Team" });
    const a = await createProject(orm, dir, u, { name: "J1" });
    const b = await createProject(orm, dir, u, { name: "J2", team: t.id, visibility: "unlisted" });
    const handles = await ownerHandles(orm, [a, b, a]);
    expect(handles.get(a.id)).toBe(u.username);
    expect(handles.get(b.id)).toBe("json-team");
    expect(await ownerHandle(orm, b)).toBe("json-team");
    expect((await ownerHandles(orm, [])).size).toBe(0);
    expect(projectJson(b, "json-team")).toEqual({
      id: b.id,
      slug: "j2",
      name: "J2",
      description: "",
      visibility: "unlisted",
      owner: "json-team",
      ownerType: "team",
      createdAt: new Date(b.createdAt).toISOString(),
      updatedAt: new Date(b.updatedAt).toISOString(),
      forkedFrom: null,
      template: null,
      isTemplate: false,
      stars: 0,
      forks: 0,
    });
    const list = await projectsJson(orm, [a, b]);
    expect(list.map((j) => [j.owner, j.ownerType])).toEqual([
      [u.username, "user"],
      ["json-team", "team"],
    ]);
  });
});
