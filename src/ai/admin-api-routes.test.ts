/** The admin provider API through the real guard: statuses, shapes, the key never echoed, the check. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import { createUser } from "../auth/users.ts";
import { createToken } from "../auth/tokens.ts";
import { createServer } from "../server/server.ts";
import { setLogSink } from "../lib/log.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { startFakeOllama, type FakeServer } from "../../test/helpers/fake-models.ts";
import { aiAdminApiRoutes } from "./admin-api-routes.ts";

let app: App;
let dir: string;
let handle: (req: Request) => Promise<Response>;
let admin: string;
let adminReadOnly: string;
let member: string;
let ollama: FakeServer;

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-ai-api-"));
  const server = createServer(app, { routes: aiAdminApiRoutes });
  handle = (req) => server.handle(req);
  const a = await createUser(app.db.orm, { email: "admin@example.com", role: "admin" }, null);
  const m = await createUser(app.db.orm, { email: "member@example.com", role: "member" }, null);
  admin = (await createToken(app.db.orm, a, { name: "t", scopes: ["read", "write", "admin"], expiresAt: null }, null)).token;
  adminReadOnly = (await createToken(app.db.orm, a, { name: "r", scopes: ["read", "write"], expiresAt: null }, null)).token;
  member = (await createToken(app.db.orm, m, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  ollama = await startFakeOllama();
});
afterAll(async () => {
  await ollama.stop();
  closeTempApp(app, dir);
  setLogSink((text) => process.stdout.write(text));
});

async function call(method: string, path: string, body?: unknown, token = admin): Promise<{ status: number; json: unknown; text: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await handle(new Request(`http://wove.test/api/v1/admin${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

const SECRET = "sk-api-secret-91d2";

describe("POST /api/v1/admin/providers", () => {
  test("201 with the provider; the key is stored but never echoed", async () => {
    const r = await call("POST", "/providers", { id: "local", kind: "ollama", url: ollama.url, name: "Local Ollama", options: { keepAlive: "5m" } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ id: "local", kind: "ollama", name: "Local Ollama", url: ollama.url, hasApiKey: false, enabled: true, position: 1, options: { keepAlive: "5m" }, lastCheck: null });
    const keyed = await call("POST", "/providers", { id: "remote", kind: "openai-compatible", url: "http://127.0.0.1:9/v1", apiKey: SECRET });
    expect(keyed.status).toBe(201);
    expect(keyed.json).toMatchObject({ id: "remote", hasApiKey: true, position: 2 });
    expect(keyed.text).not.toContain(SECRET);
  });

  test("409 for a taken id, 422 with details for bad input, schema errors included", async () => {
    const dup = await call("POST", "/providers", { id: "local", kind: "ollama", url: ollama.url });
    expect(dup.status).toBe(409);
    expect(dup.json).toMatchObject({ error: { code: "conflict", details: { id: expect.stringContaining("taken") } } });
    const bad = await call("POST", "/providers", { id: "Nope!", kind: "gopher", url: "http://169.254.169.254/latest" });
    expect(bad.status).toBe(422);
    const details = (bad.json as { error: { details: Record<string, string> } }).error.details;
    expect(Object.keys(details).sort()).toEqual(["id", "kind", "url"]);
    expect(details.url).toMatch(/local or reserved/);
    const extra = await call("POST", "/providers", { id: "x1", kind: "ollama", url: ollama.url, colour: "red" });
    expect(extra.status).toBe(422);
    const missing = await call("POST", "/providers", { id: "x2" });
    expect(missing.status).toBe(422);
    expect((missing.json as { error: { details: Record<string, string> } }).error.details).toHaveProperty("kind");
  });

  test("members get 403, tokens without the admin scope get 403, anonymous 401", async () => {
    expect((await call("POST", "/providers", { id: "m1", kind: "ollama", url: ollama.url }, member)).status).toBe(403);
    expect((await call("GET", "/providers", undefined, member)).status).toBe(403);
    expect((await call("GET", "/providers", undefined, adminReadOnly)).status).toBe(403);
    const anon = await handle(new Request("http://wove.test/api/v1/admin/providers"));
    expect(anon.status).toBe(401);
  });
});

describe("the rest of the provider API", () => {
  test("GET lists in order; GET one; 404 for an unknown id", async () => {
    const list = await call("GET", "/providers");
    expect(list.status).toBe(200);
    expect((list.json as { id: string }[]).map((p) => p.id)).toEqual(["local", "remote"]);
    expect(list.text).not.toContain(SECRET);
    expect((await call("GET", "/providers/remote")).json).toMatchObject({ id: "remote", hasApiKey: true });
    expect((await call("GET", "/providers/ghost")).status).toBe(404);
  });

  test("POST :pid/check → {ok, models} or {ok: false, reason}; the list then shows the check", async () => {
    const ok = await call("POST", "/providers/local/check");
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ ok: true, models: [{ id: "qwen2.5-coder:1.5b" }, { id: "nomic-embed-text:latest" }] });
    const unreachable = await call("POST", "/providers/remote/check");
    expect(unreachable.status).toBe(200);
    expect(unreachable.json).toMatchObject({ ok: false, reason: expect.any(String) });
    const one = (await call("GET", "/providers/local")).json as { lastCheck: { ok: boolean; models: string[] } };
    expect(one.lastCheck).toMatchObject({ ok: true, models: ["qwen2.5-coder:1.5b", "nomic-embed-text:latest"] });
    expect((await call("POST", "/providers/ghost/check")).status).toBe(404);
  });

  test("PATCH changes fields, removes the key with null, reorders; 422 and 404", async () => {
    const r = await call("PATCH", "/providers/remote", { name: "GPU box", enabled: false, apiKey: null, position: 1 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: "remote", name: "GPU box", enabled: false, hasApiKey: false, position: 1 });
    expect((await call("GET", "/providers/local")).json).toMatchObject({ position: 2 });
    const bad = await call("PATCH", "/providers/remote", { url: "http://[fe80::1]/" });
    expect(bad.status).toBe(422);
    expect((bad.json as { error: { details: Record<string, string> } }).error.details.url).toBeTruthy();
    expect((await call("PATCH", "/providers/remote", { position: 0 })).status).toBe(422);
    expect((await call("PATCH", "/providers/ghost", { enabled: true })).status).toBe(404);
  });

  test("DELETE → 204, then 404", async () => {
    expect((await call("DELETE", "/providers/remote")).status).toBe(204);
    expect((await call("DELETE", "/providers/remote")).status).toBe(404);
    expect(((await call("GET", "/providers")).json as { id: string; position: number }[]).map((p) => [p.id, p.position])).toEqual([["local", 1]]);
  });
});
