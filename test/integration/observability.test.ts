/**
 * What operators and outside checks see on a running server: health and
 * readiness, Prometheus metrics, request ids and security headers on every
 * response, JSON logs carrying the request id, and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { allRoutes } from "../../src/server/routes.ts";
import { test } from "../helpers/quiet.ts";
import { TestServer, waitFor } from "../helpers/server.ts";

let srv: TestServer;
let token: string;
let projectId: string;

beforeAll(async () => {
  srv = await TestServer.start();
  const u = await srv.createUser({ role: "admin" });
  token = await srv.token(u.email);
  projectId = ((await srv.api("POST", "/api/v1/projects", { token, body: { name: "Observed" } })).json as { id: string }).id;
}, 120_000);
afterAll(async () => {
  await srv?.stop();
}, 120_000);

describe("health, readiness, metrics", () => {
  test("/healthz → 200 {status:ok} as JSON", async () => {
    const r = await srv.fetch("/healthz");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("application/json");
    expect(await r.json()).toEqual({ status: "ok" });
  });

  test("/readyz → 200 with the database check", async () => {
    const r = await srv.fetch("/readyz");
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: "ok", checks: { database: "ok" } });
  });

  test("/metrics is Prometheus text with request counts by route, the latency histogram and process memory", async () => {
    await srv.fetch("/healthz");
    await srv.api("GET", "/api/v1/me", { token });
    const r = await srv.fetch("/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/plain");
    const text = await r.text();
    expect(text).toContain("http_requests_total{");
    expect(text).toContain("# TYPE http_requests_total counter");
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/api\/v1\/me",status="200"\} \d+/);
    expect(text).toContain("# TYPE http_request_duration_seconds histogram");
    expect(text).toContain("http_request_duration_seconds_bucket");
    expect(text).toMatch(/http_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} \d+/);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    // Route templates, never raw paths: ids must not blow up label cardinality.
    await srv.api("GET", `/api/v1/projects/${projectId}`, { token });
    const again = await (await srv.fetch("/metrics")).text();
    expect(again).not.toContain(projectId);
    expect(again).toContain('route="/api/v1/projects/:id"');
  });
});

describe("every response carries a request id and the security headers", () => {
  const probes: [string, string, boolean][] = [
    ["GET", "/healthz", false],
    ["GET", "/metrics", false],
    ["GET", "/api/v1/me", true],
    ["GET", "/api/v1/me", false], // 401
    ["GET", "/api/v1/does-not-exist", false], // 404 from the router
    ["POST", "/api/v1/projects", true], // 400 (no body)
    ["GET", "/api/docs", false],
    ["GET", "/login", false],
    ["GET", "/", false],
    ["GET", "/assets/app.css", false],
    ["GET", "/no/such/page", false],
  ];
  for (const [method, path, auth] of probes) {
    test(`${method} ${path}${auth ? " (with token)" : ""}`, async () => {
      const r = await srv.fetch(path, { method, headers: auth ? { Authorization: `Bearer ${token}` } : {} });
      await r.arrayBuffer();
      expect(r.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9._-]{8,64}$/);
      const csp = r.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-eval");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("referrer-policy")).toBeTruthy();
      expect(r.status).toBeLessThan(500);
    });
  }

  test("a well-formed incoming X-Request-Id is kept; a hostile one is replaced", async () => {
    const kept = await srv.fetch("/healthz", { headers: { "X-Request-Id": "trace-abc.123" } });
    expect(kept.headers.get("x-request-id")).toBe("trace-abc.123");
    const replaced = await srv.fetch("/healthz", { headers: { "X-Request-Id": "bad id <script>" } });
    expect(replaced.headers.get("x-request-id")).not.toContain("<");
  });

  test("a 500-class error page would not leak a stack trace: error bodies never contain source paths", async () => {
    const r = await srv.api("POST", "/api/v1/projects", { token, body: "{", headers: { "Content-Type": "application/json" } });
    expect(r.text).not.toMatch(/\.ts:\d+|node_modules|    at /);
  });
});

describe("logs", () => {
  test("stdout is JSON lines; each request line carries its request id", async () => {
    const r = await srv.fetch("/api/v1/me", { headers: { Authorization: `Bearer ${token}`, "X-Request-Id": "log-check-42" } });
    expect(r.status).toBe(200);
    await waitFor("the request's log line", () => srv.stdout().includes("log-check-42"));
    const lines = srv
      .stdout()
      .split("\n")
      .filter((l) => l.startsWith("{"));
    expect(lines.length).toBeGreaterThan(3);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const p of parsed) {
      expect(typeof p.time).toBe("string");
      expect(typeof p.level).toBe("string");
      expect(typeof p.msg).toBe("string");
    }
    const requestLines = parsed.filter((p) => p.msg === "request");
    expect(requestLines.length).toBeGreaterThan(0);
    for (const p of requestLines) expect(typeof p.requestId).toBe("string");
    const mine = requestLines.find((p) => p.requestId === "log-check-42");
    expect(mine).toMatchObject({ method: "GET", route: "/api/v1/me", status: 200 });
    // Tokens never reach the log.
    expect(srv.stdout()).not.toContain(token);
    // Everything on stdout that is not JSON is the human start-up banner.
    const other = srv
      .stdout()
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("{"));
    for (const l of other) expect(l).toMatch(/^(Wove is running at |No admin exists yet|  http|\(or run: wove admin create-user)/);
  });
});

describe("OpenAPI", () => {
  test("/api/v1/openapi.json is OpenAPI 3.1 and lists every API route of the route table", async () => {
    const r = await srv.api("GET", "/api/v1/openapi.json");
    expect(r.status).toBe(200);
    const doc = r.json as { openapi: string; paths: Record<string, Record<string, { summary?: string; "x-permission"?: string }>> };
    expect(doc.openapi).toStartWith("3.1");
    const apiRoutes = allRoutes.filter((d) => d.kind === "api" && d.path.startsWith("/api/"));
    expect(apiRoutes.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const d of apiRoutes) {
      const path = d.path.replace(/:([A-Za-z]+)/g, "{$1}").replace(/\*$/, "{path}");
      const op = doc.paths[path]?.[d.method.toLowerCase()];
      if (!op) missing.push(`${d.method} ${d.path}`);
      else {
        expect(op.summary).toBe(d.summary);
        expect(op["x-permission"]).toBe(d.permission);
      }
    }
    expect(missing).toEqual([]);
    // The stable endpoints named in the issue are all there.
    for (const [m, p] of [
      ["get", "/api/v1/me"],
      ["post", "/api/v1/projects"],
      ["get", "/api/v1/projects"],
      ["get", "/api/v1/projects/{id}"],
      ["patch", "/api/v1/projects/{id}"],
      ["delete", "/api/v1/projects/{id}"],
      ["get", "/api/v1/projects/{id}/files"],
      ["get", "/api/v1/projects/{id}/files/{path}"],
      ["put", "/api/v1/projects/{id}/files/{path}"],
      ["delete", "/api/v1/projects/{id}/files/{path}"],
      ["post", "/api/v1/projects/{id}/files/{path}"],
      ["post", "/api/v1/teams"],
      ["get", "/api/v1/teams"],
      ["put", "/api/v1/teams/{id}/members/{userId}"],
      ["delete", "/api/v1/teams/{id}/members/{userId}"],
    ] as const) {
      expect({ op: `${m} ${p}`, present: Boolean(doc.paths[p]?.[m]) }).toEqual({ op: `${m} ${p}`, present: true });
    }
  });

  test("the readable API docs page renders", async () => {
    const r = await srv.fetch("/api/docs");
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toContain("API reference");
    expect(html).toContain("/api/v1/projects");
  });
});
