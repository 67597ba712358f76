import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Project } from "../db/schema.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { writeProjectFile } from "./files.ts";
import { createProject, getProject, updateProject } from "./projects.ts";
import { editorOf, listVersions, saveVersion } from "./versions.ts";
import { forkPageRoutes } from "./pages-fork.tsx";
import { projectPageRoutes } from "./pages.tsx";
import { pageKit, type PageKit, type Person } from "./pages-testkit.ts";

let kit: PageKit;
let owner: Person;
let reader: Person; // a stranger: reads the public project only
let source: Project; // public, two saved versions
let secret: Project; // private

const enc = (s: string) => new TextEncoder().encode(s);
const forkId = (res: Response) => res.headers.get("location")?.replace("/projects/", "") ?? "";

beforeAll(async () => {
  kit = await pageKit([...projectPageRoutes, ...forkPageRoutes]);
  owner = await kit.person("olga");
  reader = await kit.person("rita");
  const orm = kit.app.db.orm;
  const dir = kit.app.config.dataDir;
  source = await createProject(orm, dir, owner.user, { name: "Blog", visibility: "public" });
  for (const i of [1, 2]) {
    await writeProjectFile(orm, dir, source, "index.md", enc(`version ${i}\n`), 1 << 20, owner.user.id);
    await saveVersion(orm, dir, source, { message: `Version ${i}`, author: editorOf(owner.user) });
  }
  secret = await createProject(orm, dir, owner.user, { name: "Diary", visibility: "private" });
});
afterAll(() => kit.close());

describe("fork page", () => {
  test("anonymous visitors are sent to log in", async () => {
    const res = await kit.get(`/projects/${source.id}/fork`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toStartWith("/login?next=");
    const post = await kit.post(`/projects/${source.id}/fork`, { name: "x" });
    expect(post.status).toBe(303);
    expect(post.headers.get("location")).toStartWith("/login?next=");
  });

  test("the form defaults to the source's name and visibility and lists the owners", async () => {
    const orm = kit.app.db.orm;
    const team = await createTeam(orm, reader.user, { name: "Readers" });
    const res = await kit.get(`/projects/${source.id}/fork`, reader);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('name="name" type="text" value="Blog"');
    expect(body).toContain('value="public" checked');
    expect(body).toContain("rita (you)");
    expect(body).toContain(`value="${team.id}"`);
    expect(body).toContain(`action="/projects/${source.id}/fork"`);
  });

  test("a reader of a public project forks it with its history and is redirected to the fork", async () => {
    const res = await kit.post(`/projects/${source.id}/fork`, { name: "My Blog", owner: "", visibility: "unlisted" }, reader);
    expect(res.status).toBe(303);
    const fork = await getProject(kit.app.db.orm, forkId(res));
    expect(fork).toMatchObject({ name: "My Blog", visibility: "unlisted", ownerUserId: reader.user.id, forkedFromId: source.id });
    const versions = (await listVersions(kit.app.config.dataDir, forkId(res))).versions.map((v) => v.message);
    expect(versions).toEqual(["Version 2", "Version 1"]);
    expect((await getProject(kit.app.db.orm, source.id))?.forkCount).toBe(1);
  });

  test("a fork more public than its source is refused beside the visibility field", async () => {
    const orm = kit.app.db.orm;
    const unlisted = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Drafts", visibility: "unlisted" });
    const res = await kit.post(`/projects/${unlisted.id}/fork`, { name: "Drafts", owner: "", visibility: "public" }, owner);
    expect(res.status).toBe(422);
    expect(await res.text()).toMatch(/id="f-visibility-error" role="alert">[^<]*unlisted/);
  });

  test("an empty name and a team the user cannot create in are field errors", async () => {
    const empty = await kit.post(`/projects/${source.id}/fork`, { name: " ", owner: "", visibility: "public" }, reader);
    expect(empty.status).toBe(422);
    expect(await empty.text()).toContain('id="f-name-error" role="alert">Give the fork a name.');
    const team = await createTeam(kit.app.db.orm, owner.user, { name: "Closed" });
    const res = await kit.post(`/projects/${source.id}/fork`, { name: "Nope", owner: team.id, visibility: "public" }, reader);
    expect([403, 404]).toContain(res.status);
    expect(await res.text()).toContain('id="f-owner-error"');
  });

  test("a private project cannot be forked by someone who cannot read it", async () => {
    const res = await kit.post(`/projects/${secret.id}/fork`, { name: "Mine now" }, reader);
    expect(res.status).toBe(404);
  });
});

describe("project header", () => {
  test("signed-in readers get a Fork button with the count; anonymous readers do not", async () => {
    const body = await (await kit.get(`/projects/${source.id}`, reader)).text();
    expect(body).toMatch(new RegExp(`href="/projects/${source.id}/fork"[^>]*>\\s*Fork <span class="muted">· \\d+ forks?</span>`));
    const anon = await (await kit.get(`/projects/${source.id}`)).text();
    expect(anon).not.toContain(`/projects/${source.id}/fork"`);
  });

  test("a fork says where it came from; a private source stays unnamed", async () => {
    const orm = kit.app.db.orm;
    const fromPublic = forkId(await kit.post(`/projects/${source.id}/fork`, { name: "Copy", owner: "", visibility: "public" }, reader));
    const body = await (await kit.get(`/projects/${fromPublic}`, reader)).text();
    expect(body).toContain(`Forked from <a href="/projects/${source.id}" class="mono">olga/blog</a>`);

    // The owner forks their private project into a team, then shows the fork to a team member who cannot read the source.
    const team = await createTeam(orm, owner.user, { name: "Diary Club" });
    await setMember(orm, team.id, reader.user.id, "viewer", owner.user.id, "owner");
    const res = await kit.post(`/projects/${secret.id}/fork`, { name: "Shared diary", owner: team.id, visibility: "private" }, owner);
    expect(res.status).toBe(303);
    const hidden = await (await kit.get(`/projects/${forkId(res)}`, reader)).text();
    expect(hidden).toContain("Forked from a private project");
    expect(hidden).not.toContain("olga/diary");
    const shown = await (await kit.get(`/projects/${forkId(res)}`, owner)).text();
    expect(shown).toContain(">olga/diary</a>");
  });

  test("a template offers “Use this template”", async () => {
    const plain = await (await kit.get(`/projects/${source.id}`, reader)).text();
    expect(plain).not.toContain("Use this template");
    const orm = kit.app.db.orm;
    const marked = await updateProject(orm, (await getProject(orm, source.id)) as Project, { isTemplate: true }, owner.user.id);
    const body = await (await kit.get(`/projects/${marked.id}`, reader)).text();
    expect(body).toContain(`href="/new?template=${marked.id}">`);
    expect(body).toContain("Use this template");
    await updateProject(orm, marked, { isTemplate: false }, owner.user.id);
  });
});

describe("settings: offer as a template", () => {
  test("the checkbox in the settings form marks and unmarks the project", async () => {
    const orm = kit.app.db.orm;
    const form = { name: "Blog", description: "", visibility: "public" };
    const page = await (await kit.get(`/projects/${source.id}/settings`, owner)).text();
    expect(page).toMatch(/<input type="checkbox" name="is_template" value="on"\s*\/?>/);

    const on = await kit.post(`/projects/${source.id}/settings`, { ...form, is_template: "on" }, owner);
    expect(on.status).toBe(303);
    expect((await getProject(orm, source.id))?.isTemplate).toBe(true);
    expect(await (await kit.get(`/projects/${source.id}/settings`, owner)).text()).toMatch(/name="is_template" value="on" checked/);

    const off = await kit.post(`/projects/${source.id}/settings`, form, owner);
    expect(off.status).toBe(303);
    expect((await getProject(orm, source.id))?.isTemplate).toBe(false);
  });

  test("a reader cannot change it", async () => {
    const res = await kit.post(`/projects/${source.id}/settings`, { name: "Blog", visibility: "public", is_template: "on" }, reader);
    expect(res.status).toBe(403);
  });
});
