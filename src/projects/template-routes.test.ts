/** Templates and forks over real HTTP: a server on a random port, bearer tokens, a temp data dir. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { createToken } from "../auth/tokens.ts";
import { createUser } from "../auth/users.ts";
import { setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { projectApiRoutes } from "./api-routes.ts";
import type { ProjectJson } from "./projects.ts";
import { forkApiRoutes, templateApiRoutes } from "./template-routes.ts";
import type { TemplateJson } from "./templates.ts";
import { versionApiRoutes } from "./versions-routes.ts";
import type { VersionJson } from "./versions.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";

let dir: string;
let app: App;
let server: { stop(): unknown };
let base: string;
let alice: User;
let aliceToken: string;
let bobToken: string;

type Call = { status: number; json: unknown; text: string };

async function call(method: string, path: string, token: string | null, body?: unknown): Promise<Call> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (file bytes)
  }
  return { status: res.status, json, text };
}

const project = (c: Call) => c.json as ProjectJson & { access?: string };
const errorOf = (c: Call) => (c.json as { error: { code: string; details?: Record<string, string> } }).error;

beforeAll(async () => {
  setLogSink(() => {});
  ({ dir, app } = await openTempApp("wove-template-routes-"));
  const orm = app.db.orm;
  alice = await createUser(orm, { email: "alice@example.com", role: "member", username: "alice", name: "Alice" }, null);
  const bob = await createUser(orm, { email: "bob@example.com", role: "member", username: "bob", name: "Bob" }, null);
  aliceToken = (await createToken(orm, alice, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  bobToken = (await createToken(orm, bob, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  const s = createServer(app, { routes: [...projectApiRoutes, ...versionApiRoutes, ...templateApiRoutes, ...forkApiRoutes] }).listen({ port: 0, hostname: "127.0.0.1" });
  server = s;
  base = `http://127.0.0.1:${s.server?.port}`;
});

afterAll(async () => {
  await server.stop();
  closeTempApp(app, dir);
  setLogSink((text) => process.stdout.write(text));
});

describe("templates API", () => {
  test("GET /api/v1/templates lists the built-ins; anonymous gets 401", async () => {
    const r = await call("GET", "/api/v1/templates", aliceToken);
    expect(r.status).toBe(200);
    const list = r.json as TemplateJson[];
    expect(list.filter((t) => t.builtIn).map((t) => t.id)).toEqual(["static-site", "bun-api", "bun-htmx", "node-express", "python-script"]);
    expect(list[0]).toMatchObject({ id: "static-site", name: "Static site", builtIn: true, tags: expect.arrayContaining(["html"]) });
    expect((await call("GET", "/api/v1/templates", null)).status).toBe(401);
  });

  test("POST /api/v1/projects with a built-in template → 201; its files are there", async () => {
    const r = await call("POST", "/api/v1/projects", aliceToken, { name: "My Site", template: "static-site" });
    expect(r.status).toBe(201);
    const p = project(r);
    expect(p).toMatchObject({ slug: "my-site", template: "static-site", forkedFrom: null, isTemplate: false, stars: 0, forks: 0, visibility: "private" });
    const index = await call("GET", `/api/v1/projects/${p.id}/files/index.html`, aliceToken);
    expect(index.status).toBe(200);
    expect(index.text).toContain("<title>My site</title>");
    const versions = (await call("GET", `/api/v1/projects/${p.id}/versions`, aliceToken)).json as VersionJson[];
    expect(versions.map((v) => v.message)).toEqual(["Create from template Static site"]);
  });

  test("an unknown template is a 422 with details.template and creates nothing", async () => {
    const before = ((await call("GET", "/api/v1/projects", aliceToken)).json as unknown[]).length;
    const r = await call("POST", "/api/v1/projects", aliceToken, { name: "Nope", template: "cobol-mainframe" });
    expect(r.status).toBe(422);
    expect(errorOf(r).details?.template).toContain("No such template");
    expect(((await call("GET", "/api/v1/projects", aliceToken)).json as unknown[]).length).toBe(before);
  });

  test("mark a project as template (PATCH isTemplate); others start from it; lineage and counts in the JSON", async () => {
    const src = project(await call("POST", "/api/v1/projects", aliceToken, { name: "Lesson One", template: "python-script", visibility: "public" }));
    const marked = await call("PATCH", `/api/v1/projects/${src.id}`, aliceToken, { isTemplate: true });
    expect([marked.status, project(marked).isTemplate]).toEqual([200, true]);
    expect((await call("PATCH", `/api/v1/projects/${src.id}`, bobToken, { isTemplate: false })).status).toBe(403);

    const listed = (await call("GET", "/api/v1/templates", bobToken)).json as TemplateJson[];
    expect(listed.find((t) => t.id === src.id)).toEqual({ id: src.id, name: "Lesson One", description: "", tags: [], builtIn: false, owner: "alice", slug: "lesson-one" });

    const r = await call("POST", "/api/v1/projects", bobToken, { name: "Lesson One", template: src.id });
    expect(r.status).toBe(201);
    const mine = project(r);
    expect(mine).toMatchObject({ owner: "bob", slug: "lesson-one", forkedFrom: { id: src.id, owner: "alice", slug: "lesson-one" }, template: null, visibility: "private" });
    expect(project(await call("GET", `/api/v1/projects/${src.id}`, bobToken)).forks).toBe(1);
  });
});

describe("fork API", () => {
  test("POST /api/v1/projects/:id/fork → 201 with the full history and forkedFrom", async () => {
    const src = project(await call("POST", "/api/v1/projects", aliceToken, { name: "Remix Me", template: "bun-api", visibility: "public" }));
    expect((await call("PUT", `/api/v1/projects/${src.id}/files/notes.md`, aliceToken)).status).toBe(201);
    expect((await call("POST", `/api/v1/projects/${src.id}/versions`, aliceToken, { message: "Notes" })).status).toBe(201);

    const r = await call("POST", `/api/v1/projects/${src.id}/fork`, bobToken, {});
    expect(r.status).toBe(201);
    const fork = project(r);
    expect(fork).toMatchObject({ owner: "bob", name: "Remix Me", slug: "remix-me", visibility: "public", forkedFrom: { id: src.id, owner: "alice", slug: "remix-me" } });
    expect(fork.cloneUrl).toEndWith("/git/bob/remix-me.git");
    const history = async (id: string, token: string) => ((await call("GET", `/api/v1/projects/${id}/versions`, token)).json as VersionJson[]).map((v) => v.id);
    expect(await history(fork.id, bobToken)).toEqual(await history(src.id, aliceToken));
    expect(project(await call("GET", `/api/v1/projects/${src.id}`, aliceToken)).forks).toBe(1);

    // A second fork by the same user gets the next free slug.
    const again = project(await call("POST", `/api/v1/projects/${src.id}/fork`, bobToken, { name: "Remix Me" }));
    expect(again.slug).toBe("remix-me-2");
  });

  test("a private project: others get 404; the owner's fork stays private and cannot go public", async () => {
    const src = project(await call("POST", "/api/v1/projects", aliceToken, { name: "Private Work", template: "static-site" }));
    const denied = await call("POST", `/api/v1/projects/${src.id}/fork`, bobToken, {});
    expect([denied.status, errorOf(denied).code]).toEqual([404, "not_found"]);
    expect((await call("POST", `/api/v1/projects/${src.id}/fork`, null, {})).status).toBe(401);

    const tooOpen = await call("POST", `/api/v1/projects/${src.id}/fork`, aliceToken, { visibility: "public" });
    expect([tooOpen.status, Object.keys(errorOf(tooOpen).details ?? {})]).toEqual([422, ["visibility"]]);
    const fork = project(await call("POST", `/api/v1/projects/${src.id}/fork`, aliceToken, { name: "Private Work copy" }));
    expect(fork.visibility).toBe("private");
    const patch = await call("PATCH", `/api/v1/projects/${fork.id}`, aliceToken, { visibility: "public" });
    expect([patch.status, errorOf(patch).details?.visibility !== undefined]).toEqual([422, true]);
  });

  test("bad bodies: unknown fields and a team you cannot create in", async () => {
    const src = project(await call("POST", "/api/v1/projects", aliceToken, { name: "Open Source", visibility: "public" }));
    expect((await call("POST", `/api/v1/projects/${src.id}/fork`, bobToken, { owner: "x" })).status).toBe(422);
    expect((await call("POST", `/api/v1/projects/${src.id}/fork`, bobToken, { team: "no-such-team" })).status).toBe(404);
    expect((await call("POST", `/api/v1/projects/${src.id}/fork`, bobToken, { name: "   " })).status).toBe(422);
  });
});
