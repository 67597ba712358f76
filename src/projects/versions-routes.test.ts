/** The versions API over real HTTP: a server on a random port, bearer tokens, a temp data dir. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import type { Project, User } from "../db/schema.ts";
import { createToken } from "../auth/tokens.ts";
import { createUser } from "../auth/users.ts";
import { setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { projectApiRoutes } from "./api-routes.ts";
import { createProject } from "./projects.ts";
import { versionApiRoutes } from "./versions-routes.ts";
import type { VersionJson } from "./versions.ts";

let dir: string;
let app: App;
let server: { stop(): unknown };
let base: string;
let owner: User;
let ownerToken: string;
let readToken: string;
let strangerToken: string;
let project: Project;

type Call = { status: number; body: string; headers: Headers };

async function call(method: string, path: string, token: string | null, body?: unknown, raw?: string): Promise<Call> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${base}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

const api = (p: string) => `/api/v1/projects/${project.id}${p}`;
const putFile = (path: string, text: string) => call("PUT", api(`/files/${path}`), ownerToken, undefined, text);
const save = async (message?: string) => call("POST", api("/versions"), ownerToken, message === undefined ? {} : { message });

beforeAll(async () => {
  setLogSink(() => {});
  dir = mkdtempSync(join(tmpdir(), "wove-versions-api-"));
  app = await openApp(loadConfig({ data: dir }, {}));
  const orm = app.db.orm;
  owner = await createUser(orm, { email: "owner@example.com", role: "member", username: "owner", name: "Owner" }, null);
  const stranger = await createUser(orm, { email: "s@example.com", role: "member", username: "stranger" }, null);
  ownerToken = (await createToken(orm, owner, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  readToken = (await createToken(orm, owner, { name: "r", scopes: ["read"], expiresAt: null }, null)).token;
  strangerToken = (await createToken(orm, stranger, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  project = await createProject(orm, dir, owner, { name: "Api Project" });
  const s = createServer(app, { routes: [...projectApiRoutes, ...versionApiRoutes] }).listen({ port: 0, hostname: "127.0.0.1" });
  server = s;
  base = `http://127.0.0.1:${s.server?.port}`;
});

afterAll(async () => {
  await server.stop();
  app.close();
  rmSync(dir, { recursive: true, force: true });
  setLogSink((text) => process.stdout.write(text));
});

describe("versions API", () => {
  test("save → 201 with the commit sha; nothing changed → 409 no_changes", async () => {
    const empty = await save("nothing yet");
    expect(empty.status).toBe(409);
    expect(JSON.parse(empty.body).error.code).toBe("no_changes");
    expect((await putFile("index.html", "<p>v1</p>\n")).status).toBe(201);
    const r = await save("First");
    expect(r.status).toBe(201);
    const v = JSON.parse(r.body) as VersionJson;
    expect(v.id).toMatch(/^[0-9a-f]{40}$/);
    expect(v).toMatchObject({ message: "First", author: { name: "Owner", email: "owner@example.com" }, filesChanged: 1 });
    const again = await save("Again");
    expect([again.status, JSON.parse(again.body).error]).toEqual([409, { code: "no_changes", message: "Nothing changed since the last version." }]);
  });

  test("list newest first, with a Link to the next page", async () => {
    await putFile("index.html", "<p>v2</p>\n");
    await save("Second");
    await putFile("index.html", "<p>v3</p>\n");
    await save();
    const page = await call("GET", api("/versions?limit=2"), readToken);
    expect(page.status).toBe(200);
    const list = JSON.parse(page.body) as VersionJson[];
    expect(list.map((v) => v.message)).toEqual(["Save version", "Second"]);
    const link = page.headers.get("link") ?? "";
    expect(link).toMatch(/^<\/api\/v1\/projects\/[a-z0-9]+\/versions\?limit=2&cursor=[0-9a-f]{40}\.2>; rel="next"$/);
    const next = await call("GET", link.slice(1, link.indexOf(">")), readToken);
    expect((JSON.parse(next.body) as VersionJson[]).map((v) => v.message)).toEqual(["First"]);
    expect(next.headers.get("link")).toBeNull();
    expect((await call("GET", api("/versions?cursor=zzz"), readToken)).status).toBe(400);
  });

  test("diff against the parent, another version, or the working tree", async () => {
    const [v3, v2, v1] = JSON.parse((await call("GET", api("/versions"), readToken)).body) as VersionJson[];
    const d = await call("GET", api(`/versions/${v2!.id}/diff`), readToken);
    expect(d.status).toBe(200);
    expect(d.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(d.body).toContain("-<p>v1</p>\n+<p>v2</p>");
    const against = await call("GET", api(`/versions/${v3!.id}/diff?against=${v1!.id}`), readToken);
    expect(against.body).toContain("-<p>v1</p>\n+<p>v3</p>");
    await putFile("index.html", "<p>unsaved</p>\n");
    const wt = await call("GET", api(`/versions/${v3!.id}/diff?against=worktree`), readToken);
    expect(wt.body).toContain("-<p>v3</p>\n+<p>unsaved</p>");
    expect((await call("GET", api(`/versions/${v3!.id}/diff?against=main`), readToken)).status).toBe(400);
  });

  test("files at a version: bytes, with the files API's safe content types", async () => {
    const [, , v1] = JSON.parse((await call("GET", api("/versions"), readToken)).body) as VersionJson[];
    const f = await call("GET", api(`/versions/${v1!.id}/files/index.html`), readToken);
    expect(f.status).toBe(200);
    expect(f.body).toBe("<p>v1</p>\n");
    expect(f.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect((await call("GET", api(`/versions/${v1!.id}/files/missing.txt`), readToken)).status).toBe(404);
    expect((await call("GET", api(`/versions/${v1!.id}/files/a/..%2F..%2Fetc`), readToken)).status).toBe(400);
    expect((await call("GET", api(`/versions/${v1!.id.slice(0, 10)}`), readToken)).status).toBe(200);
    const tree = JSON.parse((await call("GET", api(`/versions/${v1!.id}/tree`), readToken)).body);
    expect(tree).toEqual([{ name: "index.html", path: "index.html", type: "file", size: 10 }]);
  });

  test("binary files download as attachments", async () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    await fetch(`${base}${api("/files/img.bin")}`, { method: "PUT", headers: { Authorization: `Bearer ${ownerToken}` }, body: bytes });
    const v = JSON.parse((await save("binary")).body) as VersionJson;
    const res = await fetch(`${base}${api(`/versions/${v.id}/files/img.bin`)}`, { headers: { Authorization: `Bearer ${readToken}` } });
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="img.bin"');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  test("restore → 201 new version; unknown sha 404; bad sha 400; same files 409", async () => {
    const list = JSON.parse((await call("GET", api("/versions?limit=100"), readToken)).body) as VersionJson[];
    const first = list.at(-1)!;
    const r = await call("POST", api(`/versions/${first.id}/restore`), ownerToken);
    expect(r.status).toBe(201);
    const v = JSON.parse(r.body) as VersionJson;
    expect(v.message).toStartWith(`Restore version ${first.id.slice(0, 12)}`);
    expect((await call("GET", api("/files/index.html"), readToken)).body).toBe("<p>v1</p>\n");
    expect((await call("POST", api(`/versions/${first.id}/restore`), ownerToken)).status).toBe(409);
    expect((await call("POST", api(`/versions/${"0".repeat(40)}/restore`), ownerToken)).status).toBe(404);
    const bad = await call("POST", api("/versions/not-a-sha/restore"), ownerToken);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe("bad_request");
  });

  test("archive.zip of the current files and of a version", async () => {
    const list = JSON.parse((await call("GET", api("/versions?limit=100"), readToken)).body) as VersionJson[];
    const first = list.at(-1)!;
    for (const [query, name] of [["", `${project.slug}.zip`], [`?version=${first.id}`, `${project.slug}-${first.id.slice(0, 12)}.zip`]] as const) {
      const res = await fetch(`${base}${api(`/archive.zip${query}`)}`, { headers: { Authorization: `Bearer ${readToken}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/zip");
      expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${name}"`);
      const file = join(dir, name);
      writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
      const test = Bun.spawnSync({ cmd: ["unzip", "-tq", file] });
      expect(test.exitCode).toBe(0);
    }
    expect((await call("GET", api("/archive.zip?version=xyz"), readToken)).status).toBe(400);
    expect((await call("GET", api(`/archive.zip?version=${"1".repeat(40)}`), readToken)).status).toBe(404);
  });

  test("permissions: readers read, writers save and restore, strangers see 404", async () => {
    expect((await call("POST", api("/versions"), readToken, {})).status).toBe(403);
    expect((await call("GET", api("/versions"), strangerToken)).status).toBe(404);
    expect((await call("GET", api("/archive.zip"), strangerToken)).status).toBe(404);
    expect((await call("GET", api("/versions"), null)).status).toBe(401);
  });
});
