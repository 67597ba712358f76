import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Project } from "../db/schema.ts";
import { createProject } from "./projects.ts";
import { readFile, writeProjectFile } from "./files.ts";
import { projectPageRoutes } from "./pages.tsx";
import { editPageRoutes } from "./pages-edit.tsx";
import { pageKit, type PageKit, type Person } from "./pages-testkit.ts";

let kit: PageKit;
let owner: Person;
let reader: Person;
let project: Project;
const enc = (s: string) => new TextEncoder().encode(s);
const text = async (path: string) => new TextDecoder().decode((await readFile(kit.app.config.dataDir, project.id, path)).bytes);
const hashInput = (html: string) => /name="base" value="([0-9a-f]{64})"/.exec(html)?.[1] ?? "";

beforeAll(async () => {
  kit = await pageKit([...projectPageRoutes, ...editPageRoutes]);
  owner = await kit.person("olga");
  reader = await kit.person("rui");
  project = await createProject(kit.app.db.orm, kit.app.config.dataDir, owner.user, { name: "Editable", visibility: "public" });
  await writeProjectFile(kit.app.db.orm, kit.app.config.dataDir, project, "src/app.js", enc("let a = 1;\r\n"), 1 << 20, owner.user.id);
  await writeProjectFile(kit.app.db.orm, kit.app.config.dataDir, project, "logo.bin", new Uint8Array([0, 1, 2, 0]), 1 << 20, owner.user.id);
});
afterAll(() => kit.close());

describe("plain-form file editor", () => {
  test("writers see Edit on the file page, open the form with the text escaped, and save", async () => {
    const blob = await (await kit.get(`/projects/${project.id}/blob/src/app.js`, owner)).text();
    expect(blob).toContain(`/projects/${project.id}/edit/src/app.js`);
    await writeProjectFile(kit.app.db.orm, kit.app.config.dataDir, project, "src/app.js", enc("const s = '</textarea><script>x</script>';\n"), 1 << 20, owner.user.id);
    const form = await (await kit.get(`/projects/${project.id}/edit/src/app.js`, owner)).text();
    expect(form).not.toContain("<script>x</script>");
    expect(form).toContain("&lt;/textarea&gt;&lt;script&gt;");
    const saved = await kit.post(`/projects/${project.id}/edit/src/app.js`, { content: "let b = 2;\r\nlet c = 3;\r\n", base: hashInput(form) }, owner);
    expect([saved.status, saved.headers.get("location")]).toEqual([303, `/projects/${project.id}/blob/src/app.js`]);
    expect(await text("src/app.js")).toBe("let b = 2;\nlet c = 3;\n");
  });

  test("a change made since the form was opened is not overwritten silently", async () => {
    const form = await (await kit.get(`/projects/${project.id}/edit/src/app.js`, owner)).text();
    await writeProjectFile(kit.app.db.orm, kit.app.config.dataDir, project, "src/app.js", enc("theirs\n"), 1 << 20, owner.user.id);
    const clash = await kit.post(`/projects/${project.id}/edit/src/app.js`, { content: "mine\n", base: hashInput(form) }, owner);
    expect(clash.status).toBe(409);
    const again = await clash.text();
    expect(again).toContain("Someone changed this file since you opened it");
    expect(again).toContain("mine");
    expect(await text("src/app.js")).toBe("theirs\n");
    const forced = await kit.post(`/projects/${project.id}/edit/src/app.js`, { content: "mine\n", base: hashInput(again) }, owner);
    expect(forced.status).toBe(303);
    expect(await text("src/app.js")).toBe("mine\n");
  });

  test("readers get 403 and no Edit button; binary files are not editable here", async () => {
    expect((await kit.get(`/projects/${project.id}/edit/src/app.js`, reader)).status).toBe(403);
    expect((await kit.post(`/projects/${project.id}/edit/src/app.js`, { content: "x", base: "" }, reader)).status).toBe(403);
    expect(await (await kit.get(`/projects/${project.id}/blob/src/app.js`, reader)).text()).not.toContain("/edit/src/app.js");
    expect((await kit.get(`/projects/${project.id}/edit/logo.bin`, owner)).status).toBe(422);
    expect((await kit.get(`/projects/${project.id}/edit/..%2Fx`, owner)).status).toBe(404);
  });
});
