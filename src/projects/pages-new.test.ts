/** The new-project form's template picker: choices, preselection, errors beside the field, creation. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Project } from "../db/schema.ts";
import { listTree } from "./files.ts";
import { projectPageRoutes } from "./pages.tsx";
import { pageKit, type PageKit, type Person } from "./pages-testkit.ts";
import { createProject, getProject, updateProject } from "./projects.ts";
import { builtInTemplates } from "./templates.ts";
import { listVersions } from "./versions.ts";

let kit: PageKit;
let teacher: Person;
let student: Person;
let shared: Project;
let secret: Project;
let unlisted: Project;

beforeAll(async () => {
  kit = await pageKit(projectPageRoutes);
  teacher = await kit.person("teacher");
  student = await kit.person("student");
  const orm = kit.app.db.orm;
  const dataDir = kit.app.config.dataDir;
  shared = await updateProject(orm, await createProject(orm, dataDir, teacher.user, { name: "Week 1 <starter>", description: "Lesson files", visibility: "public" }), { isTemplate: true }, teacher.user.id);
  secret = await updateProject(orm, await createProject(orm, dataDir, teacher.user, { name: "Answers", visibility: "private" }), { isTemplate: true }, teacher.user.id);
  unlisted = await updateProject(orm, await createProject(orm, dataDir, teacher.user, { name: "Quiz", visibility: "unlisted" }), { isTemplate: true }, teacher.user.id);
});
afterAll(() => kit.close());

const radio = (value: string) => new RegExp(`<input type="radio" name="template" value="${value}"( checked)?`);

describe("template picker on /new", () => {
  test("offers blank (chosen), every built-in and the readable project templates", async () => {
    const body = await (await kit.get("/new", student)).text();
    expect(body).toContain("<legend>Start from</legend>");
    expect(body).toMatch(/<input type="radio" name="template" value="" checked/);
    for (const t of builtInTemplates()) {
      expect(body).toMatch(radio(t.id));
      expect(body).toContain(`<strong>${t.name.replace(/&/g, "&amp;")}</strong>`);
    }
    expect(body).toMatch(radio(shared.id));
    expect(body).toContain("Week 1 &lt;starter&gt;");
    expect(body).toContain(`teacher/${shared.slug}`);
    expect(body).not.toMatch(radio(secret.id));
    expect(body).not.toMatch(radio(unlisted.id));
    // The teacher sees their own private template.
    expect(await (await kit.get("/new", teacher)).text()).toMatch(radio(secret.id));
  });

  test("?template= preselects a built-in, or an unlisted template the user can read; an unreadable one is ignored", async () => {
    expect(await (await kit.get("/new?template=bun-htmx", student)).text()).toMatch(/value="bun-htmx" checked/);
    expect(await (await kit.get(`/new?template=${unlisted.id}`, student)).text()).toMatch(new RegExp(`value="${unlisted.id}" checked`));
    const body = await (await kit.get(`/new?template=${secret.id}`, student)).text();
    expect(body).not.toContain(secret.id);
    expect(body).toMatch(/<input type="radio" name="template" value="" checked/);
  });

  test("a built-in template: redirect to the project, which has the files as its first version", async () => {
    const res = await kit.post("/new", { name: "Site", visibility: "private", owner: "", template: "static-site" }, student);
    expect(res.status).toBe(303);
    const id = res.headers.get("location")?.replace("/projects/", "") ?? "";
    const p = await getProject(kit.app.db.orm, id);
    expect(p).toMatchObject({ template: "static-site", ownerUserId: student.user.id });
    expect((await listTree(kit.app.config.dataDir, id)).map((n) => n.name)).toContain("index.html");
    expect((await listVersions(kit.app.config.dataDir, id)).versions.length).toBe(1);
  });

  test("a project template: a fork of it, with its description when none is given", async () => {
    const res = await kit.post("/new", { name: "My week 1", description: "", visibility: "private", owner: "", template: shared.id }, student);
    expect(res.status).toBe(303);
    const p = await getProject(kit.app.db.orm, res.headers.get("location")?.replace("/projects/", "") ?? "");
    expect(p).toMatchObject({ forkedFromId: shared.id, description: "Lesson files", visibility: "private" });
  });

  test("errors sit beside their fields and the choices are kept", async () => {
    const unknown = await kit.post("/new", { name: "", visibility: "public", owner: "", template: "no-such-thing" }, student);
    expect(unknown.status).toBe(422);
    const first = await unknown.text();
    expect(first).toContain('id="f-name-error"');
    expect(first).toContain('id="f-template-error"');
    const res = await kit.post("/new", { name: "Try", visibility: "public", owner: "", template: secret.id }, student);
    expect(res.status).toBe(422);
    const body = await res.text();
    expect(body).toMatch(/<fieldset class="field has-error" aria-describedby="f-template-error"><legend>Start from<\/legend>/);
    expect(body).toMatch(/id="f-template-error" role="alert">No such template/);
    expect(body).toContain('value="Try"');
    expect(body).toContain('value="public" checked');
  });

  test("a private template's project cannot be public: the error is on visibility", async () => {
    const res = await kit.post("/new", { name: "Public answers", visibility: "public", owner: "", template: secret.id }, teacher);
    expect(res.status).toBe(422);
    const body = await res.text();
    expect(body).toMatch(/id="f-visibility-error" role="alert">This is a fork of a private project/);
    expect(body).toMatch(new RegExp(`value="${secret.id}" checked`));
  });
});
