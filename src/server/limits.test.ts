import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import { createUser } from "../auth/users.ts";
import { createToken } from "../auth/tokens.ts";
import { setLogSink } from "../lib/log.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { createServer } from "./server.ts";

let app: App;
let dir: string;
let server: ReturnType<typeof createServer>;
let token: string;
let projectId: string;

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-limits-", { WOVE_MAX_BODY_SIZE: "64k", WOVE_MAX_FILE_SIZE: "256k" }));
  server = createServer(app);
  const u = await createUser(app.db.orm, { email: "a@b.co", password: "correct horse battery", role: "member" }, null);
  token = (await createToken(app.db.orm, u, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  const r = await call("POST", "/api/v1/projects", JSON.stringify({ name: "Limits" }), { "Content-Type": "application/json" });
  projectId = ((await r.json()) as { id: string }).id;
});
afterAll(() => closeTempApp(app, dir));

function call(method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  return server.handle(new Request(`http://wove.test${path}`, { method, body, headers: { Authorization: `Bearer ${token}`, ...headers } }));
}

/** A chunked body (no Content-Length) of `chunks` × 16 KiB. */
function chunked(chunks: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent++ >= chunks) c.close();
      else c.enqueue(new Uint8Array(16 * 1024).fill(120));
    },
  });
}

describe("request limits", () => {
  test("a chunked JSON body over WOVE_MAX_BODY_SIZE is refused with 413 while streaming", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        if (pulled > 10_000) c.close();
        else c.enqueue(new Uint8Array(16 * 1024).fill(32));
      },
    });
    const r = await call("POST", "/api/v1/projects", body, { "Content-Type": "application/json" });
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("too_large");
    expect(pulled).toBeLessThan(20); // stopped near 64 KiB, not after 160 MB
  });

  test("raw file uploads may be as large as WOVE_MAX_FILE_SIZE even above the JSON body limit", async () => {
    const ok = await call("PUT", `/api/v1/projects/${projectId}/files/big.bin`, chunked(10)); // 160 KiB
    expect(ok.status).toBe(201);
    const tooBig = await call("PUT", `/api/v1/projects/${projectId}/files/huge.bin`, chunked(20)); // 320 KiB
    expect(tooBig.status).toBe(413);
  });

  test("raw user files keep their sandbox CSP (the site policy never replaces a stricter one)", async () => {
    await call("PUT", `/api/v1/projects/${projectId}/files/page.html`, "<script>alert(1)</script>");
    const r = await call("GET", `/api/v1/projects/${projectId}/files/page.html`);
    expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(r.headers.get("content-security-policy")).toContain("sandbox");
    const page = await call("GET", "/healthz");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });
});
