/** Project import over HTTP (archive upload, git URL) and git import from a local repository. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createToken } from "../auth/tokens.ts";
import { createUser } from "../auth/users.ts";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { apiErrorOf } from "../../test/helpers/temp-app.ts";
import { filesDir } from "./files.ts";
import { gitEnv } from "./git.ts";
import { importGit, nameFromUrl, type GitImportOptions } from "./import.ts";
import { importApiRoutes, importGitApiRoutes, importGitPageRoutes } from "./import-routes.ts";
import { projectPageRoutes } from "./pages.tsx";
import { pageKit } from "./pages-testkit.ts";
import { buildTar, buildZip } from "./import-testkit.ts";
import { listVersions } from "./versions.ts";

let dir: string;
let app: App;
let server: { stop(): unknown };
let base: string;
let user: User;
let token: string;

async function post(path: string, body: Uint8Array | string, contentType: string): Promise<{ status: number; json: { error?: { code: string; message: string; details?: Record<string, string> }; id?: string; slug?: string } }> {
  const res = await fetch(`${base}${path}`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": contentType }, body: typeof body === "string" ? body : new Blob([body as Uint8Array<ArrayBuffer>]) });
  return { status: res.status, json: await res.json() };
}

const projectDirs = () => (existsSync(join(dir, "projects")) ? readdirSync(join(dir, "projects")).sort() : []);

beforeAll(async () => {
  setLogSink(() => {});
  dir = mkdtempSync(join(tmpdir(), "wove-import-"));
  app = await openApp(loadConfig({ data: dir }, {}));
  user = await createUser(app.db.orm, { email: "imp@example.com", role: "member", username: "imp", name: "Imp" }, null);
  token = (await createToken(app.db.orm, user, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  const s = createServer(app, { routes: [...importApiRoutes, ...importGitApiRoutes] }).listen({ port: 0, hostname: "127.0.0.1" });
  server = s;
  base = `http://127.0.0.1:${s.server?.port}`;
});

afterAll(async () => {
  await server.stop();
  app.close();
  rmSync(dir, { recursive: true, force: true });
  setLogSink((text) => process.stdout.write(text));
});

describe("POST /api/v1/projects/import", () => {
  test("a zip → 201 project with the files as its first version", async () => {
    const zip = buildZip([{ name: "repo-main/index.html", data: "<p>zip</p>\n" }]);
    const r = await post("/api/v1/projects/import?name=Zipped&visibility=unlisted", zip, "application/zip");
    expect(r.status).toBe(201);
    expect(r.json.slug).toBe("zipped");
    expect(readFileSync(join(filesDir(dir, r.json.id as string), "index.html"), "utf8")).toBe("<p>zip</p>\n");
    expect((await listVersions(dir, r.json.id as string)).versions.length).toBe(1);
  });

  test("a tar.gz, and an octet-stream body recognised by its bytes", async () => {
    const tgz = buildTar([{ name: "a.txt", data: "A\n" }]);
    expect((await post("/api/v1/projects/import?name=Tarred", tgz, "application/gzip")).status).toBe(201);
    expect((await post("/api/v1/projects/import?name=Sniffed", tgz, "application/octet-stream")).status).toBe(201);
  });

  test("refusals: zip-slip 422 naming the entry, wrong type 415, missing name 422 — nothing left behind", async () => {
    const before = projectDirs();
    const slip = await post("/api/v1/projects/import?name=Slip", buildZip([{ name: "a/../../x", data: "x" }]), "application/zip");
    expect(slip.status).toBe(422);
    expect(slip.json.error?.details?.entry).toBe("a/../../x");
    expect((await post("/api/v1/projects/import?name=Text", "hello", "text/plain")).status).toBe(415);
    expect((await post("/api/v1/projects/import", buildZip([{ name: "a", data: "x" }]), "application/zip")).status).toBe(422);
    expect((await post("/api/v1/projects/import?name=Bad", new Uint8Array([1, 2, 3]), "application/zip")).status).toBe(422);
    expect(projectDirs()).toEqual(before);
  });
});

describe("git import", () => {
  test("is off by default: 403 import_disabled saying an admin must allow it", async () => {
    expect(loadConfig({}, {}).importGitAllow).toEqual([]);
    const r = await post("/api/v1/projects/import-git", JSON.stringify({ url: "https://github.com/a/b.git" }), "application/json");
    expect(r.status).toBe(403);
    expect(r.json.error?.code).toBe("import_disabled");
    expect(r.json.error?.message).toContain("WOVE_IMPORT_GIT_ALLOW");
  });

  test("file URLs are refused without the test-only option, and local addresses even when allowed", async () => {
    const opts: GitImportOptions = { allow: ["*"], maxBytes: 1e8, timeoutMs: 10_000 };
    const file = await apiErrorOf(importGit(app.db.orm, dir, user, { url: "file:///tmp/x.git" }, opts));
    expect(file.status).toBe(422);
    expect(file.message).toContain("Only https");
    const local = await apiErrorOf(importGit(app.db.orm, dir, user, { url: "https://127.0.0.1/x.git" }, opts));
    expect(local.code).toBe("url_refused");
  });

  test("a local bare repository, with the explicit test option: its whole history and files", async () => {
    const src = mkdtempSync(join(tmpdir(), "wove-import-src-"));
    try {
      const run = (args: string[], cwd: string) => {
        const r = Bun.spawnSync(["git", ...args], { cwd, env: { ...gitEnv(), GIT_AUTHOR_NAME: "A", GIT_AUTHOR_EMAIL: "a@x", GIT_COMMITTER_NAME: "A", GIT_COMMITTER_EMAIL: "a@x" } });
        if (r.exitCode !== 0) throw new Error(r.stderr.toString());
      };
      const work = join(src, "work");
      run(["init", "-q", "-b", "main", work], src);
      writeFileSync(join(work, "one.txt"), "1\n");
      run(["add", "."], work);
      run(["commit", "-qm", "first"], work);
      writeFileSync(join(work, "two.txt"), "2\n");
      run(["add", "."], work);
      run(["commit", "-qm", "second"], work);
      run(["clone", "-q", "--bare", work, join(src, "widget.git")], src);

      const opts: GitImportOptions = { allow: [], maxBytes: 1e8, timeoutMs: 30_000, testAllowFileUrls: true };
      const p = await importGit(app.db.orm, dir, user, { url: `file://${join(src, "widget.git")}` }, opts);
      expect(p.name).toBe("widget");
      expect(readFileSync(join(filesDir(dir, p.id), "two.txt"), "utf8")).toBe("2\n");
      const { versions } = await listVersions(dir, p.id);
      expect(versions.map((v) => v.message)).toEqual(["second", "first"]);

      const before = projectDirs();
      const missing = await apiErrorOf(importGit(app.db.orm, dir, user, { url: `file://${join(src, "nope.git")}`, name: "Nope" }, opts));
      expect(missing.status).toBe(422);
      expect(missing.code).toBe("import_failed");
      expect(projectDirs()).toEqual(before);

      const url = `file://${join(src, "widget.git")}`;
      const big = await apiErrorOf(importGit(app.db.orm, dir, user, { url, name: "Big" }, { ...opts, maxBytes: 1000 }));
      expect([big.status, big.code]).toEqual([413, "too_large"]);
      const slow = await apiErrorOf(importGit(app.db.orm, dir, user, { url, name: "Slow" }, { ...opts, timeoutMs: 1 }));
      expect([slow.status, slow.code]).toEqual([504, "import_timeout"]);
      expect(projectDirs()).toEqual(before);
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
  });

  test("names from URLs", () => {
    expect(nameFromUrl("https://github.com/acme/widget.git")).toBe("widget");
    expect(nameFromUrl("https://github.com/acme/My%20Thing/")).toBe("My Thing");
    expect(nameFromUrl("https://github.com/")).toBe("github.com");
  });
});

describe("/new: import from a git URL", () => {
  test("off: the page says so and the form post is a 403 shown on the page", async () => {
    const kit = await pageKit([...projectPageRoutes, ...importGitPageRoutes]);
    try {
      const me = await kit.person("ada");
      const page = await (await kit.get("/new", me)).text();
      expect(page).toContain("Importing from a git URL is turned off");
      expect(page).not.toContain('action="/new/import-git"');
      const res = await kit.post("/new/import-git", { git_url: "https://github.com/a/b.git" }, me);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("WOVE_IMPORT_GIT_ALLOW");
    } finally {
      kit.close();
    }
  });

  test("on: the form is shown; a refused URL is a 422 with the error beside the field", async () => {
    const kit = await pageKit([...projectPageRoutes, ...importGitPageRoutes]);
    try {
      kit.app.config.importGitAllow = ["*"];
      const me = await kit.person("bea");
      const page = await (await kit.get("/new", me)).text();
      expect(page).toContain('action="/new/import-git"');
      const res = await kit.post("/new/import-git", { git_url: "https://127.0.0.1/x.git", git_name: "", git_owner: "" }, me);
      expect(res.status).toBe(422);
      const body = await res.text();
      expect(body).toContain('id="f-git_url-error"');
      expect(body).toContain("local or reserved");
      expect(body).toContain('value="https://127.0.0.1/x.git"');
    } finally {
      kit.close();
    }
  });
});
