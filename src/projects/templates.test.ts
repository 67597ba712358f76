/** Built-in and project templates on a real libSQL file and real git repositories. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Orm } from "../db/client.ts";
import { events, type Project, type User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { filesDir, listTree, readFile, writeProjectFile, type TreeNode } from "./files.ts";
import { createProject, getProject, updateProject } from "./projects.ts";
import { builtInTemplate, builtInTemplates, createFromTemplate, listTemplates } from "./templates.ts";
import { renderEmbedded } from "./templates/generate.ts";
import { editorOf, listVersions, saveVersion } from "./versions.ts";
import { aliceAndBob, apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";

let dir: string;
let app: App;
let orm: Orm;
let alice: User;
let bob: User;
let n = 0;

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-templates-"));
  orm = app.db.orm;
  ({ alice, bob } = await aliceAndBob(orm));
});
afterAll(() => closeTempApp(app, dir));

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const err = apiErrorOf;

function filePaths(nodes: TreeNode[]): string[] {
  return nodes.flatMap((node) => (node.type === "dir" ? filePaths(node.children ?? []) : [node.path])).sort();
}

async function templateProject(owner: User, visibility: Project["visibility"], opts: { team?: string; versions?: number } = {}): Promise<Project> {
  n++;
  const p = await createProject(orm, dir, owner, { name: `Class template ${n}`, description: "Start here", visibility, team: opts.team });
  for (let i = 1; i <= (opts.versions ?? 2); i++) {
    await writeProjectFile(orm, dir, p, "lesson.md", enc(`# Lesson ${i}\n`), 1 << 20, owner.id);
    await saveVersion(orm, dir, p, { message: `Lesson ${i}`, author: editorOf(owner) });
  }
  return updateProject(orm, p, { isTemplate: true }, owner.id);
}

describe("built-in templates", () => {
  test("embedded.ts is up to date with the template folders (run templates/generate.ts)", () => {
    const folder = join(import.meta.dir, "templates");
    expect(readFileSync(join(folder, "embedded.ts"), "utf8")).toBe(renderEmbedded(folder));
  });

  test("the five starters, each with a README, name, description and tags", () => {
    expect(builtInTemplates().map((t) => t.id)).toEqual(["static-site", "bun-api", "bun-htmx", "node-express", "python-script"]);
    for (const t of builtInTemplates()) {
      expect(t.files["README.md"]).toStartWith("# ");
      expect(t.name.length).toBeGreaterThan(3);
      expect(t.description.length).toBeGreaterThan(20);
      expect(t.tags.length).toBeGreaterThan(0);
    }
    expect(Object.keys(builtInTemplate("static-site")?.files ?? {})).toEqual(expect.arrayContaining(["index.html", "style.css", "script.js"]));
    expect(JSON.parse(builtInTemplate("node-express")?.files["package.json"] ?? "{}")).toMatchObject({ scripts: { start: "node index.js" }, dependencies: { express: expect.any(String) } });
    expect(Object.keys(builtInTemplate("python-script")?.files ?? {})).toEqual(expect.arrayContaining(["main.py", "requirements.txt"]));
  });

  test("bun-htmx vendors the same htmx Wove serves, and no page points at a CDN", () => {
    const htmx = builtInTemplate("bun-htmx")?.files["public/vendor/htmx-2.0.11.min.js"];
    expect(htmx).toBe(readFileSync(join(import.meta.dir, "..", "..", "public", "vendor", "htmx-2.0.11.min.js"), "utf8"));
    for (const t of builtInTemplates()) {
      for (const [path, text] of Object.entries(t.files)) {
        if (/\.(html|ts|js)$/.test(path) && !path.includes("vendor/")) expect({ path, cdn: /<script[^>]+src="https?:/.test(text) }).toEqual({ path, cdn: false });
      }
    }
  });

  for (const t of builtInTemplates()) {
    test(`create from ${t.id}: its files as one version "Create from template ${t.name}" by the user`, async () => {
      const p = await createFromTemplate(orm, dir, alice, { name: `From ${t.id}`, template: t.id });
      expect(p.template).toBe(t.id);
      expect(p.forkedFromId).toBeNull();
      expect(p.visibility).toBe("private");
      expect(filePaths(await listTree(dir, p.id))).toEqual(Object.keys(t.files).sort());
      expect(dec((await readFile(dir, p.id, "README.md")).bytes)).toBe(t.files["README.md"] as string);
      const { versions } = await listVersions(dir, p.id);
      expect(versions.length).toBe(1);
      expect(versions[0]?.message).toBe(`Create from template ${t.name}`);
      expect(versions[0]?.author).toEqual({ name: "Alice", email: "alice@example.com" });
      expect(versions[0]?.filesChanged).toBe(Object.keys(t.files).length);
      const evs = await orm.select().from(events).where(eq(events.projectId, p.id));
      expect(evs.map((e) => [e.kind, JSON.parse(e.data).template])).toEqual([["project.created", t.id]]);
    });
  }

  // The starters work as delivered: their own tests pass in the new project's folder.
  for (const [id, cmd] of [
    ["bun-api", [process.execPath, "test"]],
    ["bun-htmx", [process.execPath, "test"]],
    ["python-script", ["python3", "-m", "unittest", "-q"]],
  ] as const) {
    // Outside CI a missing interpreter skips (and says so); CI installs python3 (.ci/run) and must run it.
    const missing = !Bun.which(cmd[0]) && !process.env.CI;
    if (missing) console.warn(`skipping the ${id} starter's tests: ${cmd[0]} is not installed`);
    test.skipIf(missing)(`the ${id} starter's own tests pass in a new project`, async () => {
      const p = await createFromTemplate(orm, dir, bob, { name: `Run ${id}`, template: id });
      const proc = Bun.spawn({ cmd: [...cmd], cwd: filesDir(dir, p.id), stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", HOME: dir, PYTHONDONTWRITEBYTECODE: "1" } });
      const [code, out, errText] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      expect({ code, output: code === 0 ? "" : out + errText }).toEqual({ code: 0, output: "" });
    });
  }
});

describe("project templates", () => {
  test("create from a project template: a fork with history, lineage and counts", async () => {
    const tpl = await templateProject(alice, "public");
    const p = await createFromTemplate(orm, dir, bob, { name: "My lesson", template: tpl.id });
    expect(p.forkedFromId).toBe(tpl.id);
    expect(p.template).toBeNull();
    expect(p.isTemplate).toBe(false);
    expect(p.visibility).toBe("private");
    expect(p.description).toBe("Start here");
    expect(p.slug).toBe("my-lesson");
    const ids = async (id: string) => (await listVersions(dir, id)).versions.map((v) => v.id);
    expect(await ids(p.id)).toEqual(await ids(tpl.id));
    expect((await ids(p.id)).length).toBe(2);
    expect(dec((await readFile(dir, p.id, "lesson.md")).bytes)).toBe("# Lesson 2\n");
    expect((await getProject(orm, tpl.id))?.forkCount).toBe(1);
    const evs = await orm.select().from(events).where(eq(events.projectId, p.id));
    expect(evs.map((e) => [e.kind, JSON.parse(e.data).from, JSON.parse(e.data).fromTemplate])).toEqual([["project.forked", tpl.id, true]]);
  });

  test("a private template's projects cannot be made public", async () => {
    const team = await createTeam(orm, alice, { name: `Class ${++n}` });
    await setMember(orm, team.id, bob.id, "viewer", alice.id, "owner");
    const tpl = await templateProject(alice, "private", { team: team.id });
    const e = await err(createFromTemplate(orm, dir, bob, { name: "Mine", template: tpl.id, visibility: "public" }));
    expect(e.status).toBe(422);
    expect(e.details?.visibility).toBeDefined();
    expect((await createFromTemplate(orm, dir, bob, { name: "Mine", template: tpl.id })).visibility).toBe("private");
  });

  test("unknown, unreadable and unmarked templates are all a 422 on the template field", async () => {
    const secret = await templateProject(alice, "private");
    const unmarked = await createProject(orm, dir, alice, { name: "Not a template", visibility: "public" });
    for (const template of ["no-such-template", secret.id, unmarked.id, "../static-site", "STATIC-SITE"]) {
      const e = await err(createFromTemplate(orm, dir, bob, { name: "Try", template }));
      expect({ template, status: e.status, field: e.details?.template !== undefined }).toEqual({ template, status: 422, field: true });
    }
    // Both problems at once are reported together, so a form can show each beside its field.
    const both = await err(createFromTemplate(orm, dir, bob, { name: " ", template: "nope" }));
    expect(Object.keys(both.details ?? {}).sort()).toEqual(["name", "template"]);
    expect((await getProject(orm, secret.id))?.forkCount).toBe(0);
  });

  test("the listing: built-ins, then only the project templates the user can read", async () => {
    const carol = await createUser(orm, { email: "carol@example.com", role: "member", username: "carol" }, null);
    const team = await createTeam(orm, carol, { name: `Listing team ${++n}` });
    await setMember(orm, team.id, bob.id, "member", carol.id, "owner");
    const publicTpl = await templateProject(carol, "public", { versions: 1 });
    const privateTpl = await templateProject(carol, "private", { versions: 1 });
    const unlistedTpl = await templateProject(carol, "unlisted", { versions: 1 });
    const teamTpl = await templateProject(carol, "private", { team: team.id, versions: 1 });
    const ownTpl = await templateProject(bob, "private", { versions: 1 });
    const plain = await createProject(orm, dir, carol, { name: "Plain public", visibility: "public" });

    const list = await listTemplates(orm, bob);
    expect(list.slice(0, 5).map((t) => [t.id, t.builtIn])).toEqual(builtInTemplates().map((t) => [t.id, true]));
    const listed = list.filter((t) => !t.builtIn).map((t) => t.id);
    expect(listed).toEqual(expect.arrayContaining([publicTpl.id, teamTpl.id, ownTpl.id]));
    expect(listed).not.toContain(privateTpl.id);
    expect(listed).not.toContain(unlistedTpl.id);
    expect(listed).not.toContain(plain.id);
    expect(list.find((t) => t.id === teamTpl.id)).toMatchObject({ owner: team.slug, builtIn: false, name: teamTpl.name, slug: teamTpl.slug });
    // Unlisted is not listed, but whoever has its id can start from it.
    expect((await createFromTemplate(orm, dir, bob, { name: "From unlisted", template: unlistedTpl.id })).forkedFromId).toBe(unlistedTpl.id);

    // Unmarking takes it out of the listing.
    await updateProject(orm, publicTpl, { isTemplate: false }, carol.id);
    expect((await listTemplates(orm, bob)).map((t) => t.id)).not.toContain(publicTpl.id);
    const marks = await orm.select().from(events).where(eq(events.projectId, publicTpl.id)).orderBy(events.id);
    expect(marks.map((e) => e.kind).filter((k) => k.startsWith("project.template_"))).toEqual(["project.template_marked", "project.template_unmarked"]);
  });
});
