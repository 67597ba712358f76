import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import { createUser } from "../auth/users.ts";
import { setLogSink } from "../lib/log.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { createProject, projectJsonFor } from "./projects.ts";
import { join } from "node:path";
import { newId } from "../lib/crypto.ts";
import { deleteProjectFile, ensureProjectDirs, filesDir, writeProjectFile } from "./files.ts";
import { detectTech, refreshTech, startTechWatch, techOf } from "./techstack.ts";
import { createFromTemplate } from "./templates.ts";

describe("detectTech: the detection table", () => {
  const cases: [string, string[], string | undefined, string[]][] = [
    ["nothing", [], undefined, []],
    ["plain package.json", ["package.json"], "{}", ["node"]],
    ["react + express + htmx deps", ["package.json"], JSON.stringify({ dependencies: { react: "^19", express: "^5" }, devDependencies: { "htmx.org": "2" } }), ["express", "htmx", "node", "react"]],
    ["bun.lock", ["package.json", "bun.lock"], "{}", ["bun", "node"]],
    ["bun.lockb", ["bun.lockb"], undefined, ["bun"]],
    ["requirements.txt", ["requirements.txt", "main.py"], undefined, ["python"]],
    ["pyproject.toml", ["pyproject.toml"], undefined, ["python"]],
    ["go.mod", ["go.mod", "main.go"], undefined, ["go"]],
    ["Cargo.toml", ["Cargo.toml"], undefined, ["rust"]],
    ["Dockerfile (any case)", ["Dockerfile"], undefined, ["docker"]],
    ["index.html", ["index.html", "style.css"], undefined, ["static-site"]],
    ["deno.json", ["deno.json"], undefined, ["deno"]],
    ["broken package.json", ["package.json"], "{ not json", ["node"]],
    ["package.json with a non-object deps", ["package.json"], JSON.stringify({ dependencies: ["react"] }), ["node"]],
    ["unknown files", ["README.md", "notes.txt"], undefined, []],
  ];
  for (const [name, files, pkg, want] of cases) {
    test(name, () => expect(detectTech(files, pkg)).toEqual(want));
  }
});

describe("stored tech follows the files", () => {
  let app: App;
  let dir: string;
  beforeAll(async () => {
    setLogSink(() => {});
    ({ app, dir } = await openTempApp("wove-techstack-"));
  });
  afterAll(() => closeTempApp(app, dir));

  test("an edit re-detects through onFilesChanged; project JSON carries it", async () => {
    const { orm } = app.db;
    const u = await createUser(orm, { email: "t@b.co", role: "member" }, null);
    const p = await createProject(orm, dir, u, { name: "Stack" });
    expect((await techOf(orm, [p.id])).get(p.id)).toBeUndefined();
    const stop = startTechWatch(app);
    try {
      await writeProjectFile(orm, dir, p, "go.mod", new TextEncoder().encode("module x\n"), 1 << 20, u.id);
      // The listener does not block the write: wait for its refresh.
      for (let i = 0; i < 50 && !(await techOf(orm, [p.id])).get(p.id); i++) await Bun.sleep(10);
      expect((await techOf(orm, [p.id])).get(p.id)).toEqual(["go"]);
      expect((await projectJsonFor(orm, p)).tech).toEqual(["go"]);
      // Files in sub-folders do not count: the scan is top-level only.
      await writeProjectFile(orm, dir, p, "sub/Dockerfile", new TextEncoder().encode("FROM x\n"), 1 << 20, u.id);
      await deleteProjectFile(orm, dir, p, "go.mod", u.id);
      for (let i = 0; i < 50 && (await techOf(orm, [p.id])).get(p.id); i++) await Bun.sleep(10);
      expect((await techOf(orm, [p.id])).get(p.id)).toBeUndefined();
    } finally {
      stop();
    }
  });

  test("a project made from a template is detected on creation", async () => {
    const { orm } = app.db;
    const u = await createUser(orm, { email: "t2@b.co", role: "member" }, null);
    const p = await createFromTemplate(orm, dir, u, { name: "Site", template: "static-site" });
    expect((await techOf(orm, [p.id])).get(p.id)).toContain("static-site");
  });

  test("refreshing a project deleted while its files were scanned records nothing", async () => {
    const id = newId();
    await ensureProjectDirs(dir, id);
    await Bun.write(join(filesDir(dir, id), "index.html"), "<!doctype html>");
    expect(await refreshTech(app.db.orm, dir, id)).toEqual([]);
    expect((await techOf(app.db.orm, [id])).size).toBe(0);
  });
});
