/** The admin client against a real Caddy (Debian's 2.6.2 here), managed by Wove's own process code. */
import { afterAll, beforeAll, beforeEach, describe, expect } from "bun:test";
import { skipCaddy, startTestCaddy, type TestCaddy } from "../../test/helpers/caddy.ts";
import { test } from "../../test/helpers/quiet.ts";
import { caddyClient, CaddyError } from "./caddy.ts";
import { NOT_FOUND_ID, NOT_FOUND_TEXT, UPSTREAM_DOWN_TEXT, WOVE_SERVER, type JsonObject } from "./caddy-config.ts";

type Upstream = { port: number; hosts: string[]; stop(): void };

/** A tiny app: answers its name (after 150 ms on /slow) and remembers the Host headers it saw. */
function upstream(name: string): Upstream {
  const hosts: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      hosts.push(`${req.headers.get("host")} ${req.headers.get("x-forwarded-host")}`);
      if (new URL(req.url).pathname === "/slow") {
        await Bun.sleep(150);
        return new Response(`slow ${name}`);
      }
      return new Response(name);
    },
  });
  return { port: server.port as number, hosts, stop: () => server.stop(true) };
}

const run = test.skipIf(skipCaddy);
let caddy: TestCaddy;
let initial: JsonObject;

beforeAll(async () => {
  if (skipCaddy) return;
  caddy = await startTestCaddy();
  initial = (await caddy.client.config()).value as JsonObject;
});
afterAll(async () => {
  await caddy?.stop();
});
beforeEach(async () => {
  if (!skipCaddy) await caddy.client.load(initial);
});

describe("routing by Host", () => {
  run("a project's route reaches its upstream by Host header; other hosts get the 404 text", async () => {
    const app = upstream("app-one");
    try {
      await caddy.client.setRoute({ projectId: "p1", hosts: ["one-ann.apps.test", "one.example.org"], upstream: `127.0.0.1:${app.port}` });
      const res = await caddy.get("ONE-ann.apps.test", "/hello");
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("app-one");
      expect(await (await caddy.get("one.example.org")).text()).toBe("app-one");
      // The app sees the public host as sent, in Host and in X-Forwarded-Host.
      expect(app.hosts[0]).toBe("ONE-ann.apps.test ONE-ann.apps.test");

      const unknown = await caddy.get("nobody.apps.test");
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await unknown.text()).toBe(NOT_FOUND_TEXT);
    } finally {
      app.stop();
    }
  });

  run("an app that does not answer gets a short 502 text; a removed route falls through to 404", async () => {
    const app = upstream("gone");
    const port = app.port;
    app.stop();
    await caddy.client.setRoute({ projectId: "p2", hosts: ["down.apps.test"], upstream: `127.0.0.1:${port}` });
    const res = await caddy.get("down.apps.test");
    expect(res.status).toBe(502);
    expect(await res.text()).toBe(UPSTREAM_DOWN_TEXT);
    expect(await caddy.client.removeRoute("p2")).toBe(true);
    expect(await caddy.client.removeRoute("p2")).toBe(false);
    expect((await caddy.get("down.apps.test")).status).toBe(404);
  });
});

describe("the switch", () => {
  run("moving a route's upstream while a client polls every 10 ms loses no request, in flight or not", async () => {
    const a = upstream("A");
    const b = upstream("B");
    try {
      await caddy.client.setRoute({ projectId: "sw", hosts: ["switch.apps.test"], upstream: `127.0.0.1:${a.port}` });
      type Poll = { start: number; end: number; ok: boolean; body: string };
      const request = async (path: string): Promise<Poll> => {
        const start = performance.now();
        try {
          const res = await caddy.get("switch.apps.test", path);
          const body = await res.text();
          return { start, end: performance.now(), ok: res.status === 200, body: res.status === 200 ? body : `${res.status} ${body}` };
        } catch (e) {
          return { start, end: performance.now(), ok: false, body: String(e) };
        }
      };
      const polls: Poll[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          polls.push(await request("/"));
          await Bun.sleep(10);
        }
      })();

      // A slow request (150 ms) is in flight across every switch: it must finish, from the old upstream.
      const slow: Promise<Poll>[] = [];
      const switches: { start: number; end: number; to: string }[] = [];
      for (let i = 0; i < 4; i++) {
        await Bun.sleep(400);
        slow.push(request("/slow"));
        await Bun.sleep(50);
        const to = i % 2 === 0 ? "B" : "A";
        const start = performance.now();
        await caddy.client.setRoute({ projectId: "sw", hosts: ["switch.apps.test"], upstream: `127.0.0.1:${(to === "B" ? b : a).port}` });
        switches.push({ start, end: performance.now(), to });
      }
      await Bun.sleep(300);
      polling = false;
      await poller;

      expect(polls.filter((p) => !p.ok)).toEqual([]);
      expect(polls.length).toBeGreaterThan(100);
      // Every poll that began after a switch finished was answered by the new upstream.
      const during = (p: Poll) => switches.some((s) => p.start < s.end && p.end > s.start);
      for (const p of polls.filter((p) => !during(p))) {
        expect(p.body).toBe(switches.filter((s) => s.end <= p.start).at(-1)?.to ?? "A");
      }
      expect((await Promise.all(slow)).map((p) => p.body)).toEqual(["slow A", "slow B", "slow A", "slow B"]);
      if (process.env.WOVE_CADDY_FIGURES) {
        const ms = switches.map((s) => s.end - s.start);
        console.log(
          `switch: ${polls.length} polls over ${((polls.at(-1)!.end - polls[0]!.start) / 1000).toFixed(1)} s, ${switches.length} switches, ` +
            `${polls.filter((p) => !p.ok).length} failed; setRoute ${ms.map((m) => m.toFixed(1)).join(", ")} ms`,
        );
      }
    } finally {
      a.stop();
      b.stop();
    }
  });

  run("a server-sent event stream keeps flowing, unbuffered, through a route change", async () => {
    const app = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch() {
        let n = 0;
        let timer: ReturnType<typeof setInterval>;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            timer = setInterval(() => {
              controller.enqueue(new TextEncoder().encode(`data: ${n++}\n\n`));
              if (n === 8) {
                clearInterval(timer);
                controller.close();
              }
            }, 60);
          },
          cancel() {
            clearInterval(timer);
          },
        });
        return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
      },
    });
    try {
      await caddy.client.setRoute({ projectId: "sse", hosts: ["sse.apps.test"], upstream: `127.0.0.1:${app.port}` });
      const res = await caddy.get("sse.apps.test");
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let text = "";
      const first = await reader.read();
      text += new TextDecoder().decode(first.value);
      // Each event arrives on its own (no buffering): the first one comes before the second is made.
      expect(text).toBe("data: 0\n\n");
      await caddy.client.setRoute({ projectId: "other", hosts: ["other.apps.test"], upstream: "127.0.0.1:9" });
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toBe(Array.from({ length: 8 }, (_, i) => `data: ${i}\n\n`).join(""));
    } finally {
      app.stop(true);
    }
  });
});

describe("applyRoutes", () => {
  run("sets exactly Wove's routes in one change, keeps foreign routes, keeps not-found last, and skips no-op changes", async () => {
    const app = upstream("x");
    try {
      const foreign = { "@id": "operator-status", match: [{ host: ["status.test"] }], handle: [{ handler: "static_response", body: "ok" }], terminal: true };
      await caddy.client.addRoute(WOVE_SERVER, foreign);
      await caddy.client.setRoute({ projectId: "old", hosts: ["old.apps.test"], upstream: `127.0.0.1:${app.port}` });

      const up = `127.0.0.1:${app.port}`;
      await caddy.client.applyRoutes(WOVE_SERVER, [
        { projectId: "b", hosts: ["b.apps.test"], upstream: up },
        { projectId: "a", hosts: ["a.apps.test"], upstream: up },
      ]);
      const ids = (await caddy.client.routes()).map((r) => r["@id"]);
      expect(ids).toEqual(["wove-app-a", "wove-app-b", "operator-status", NOT_FOUND_ID]);
      expect(await (await caddy.get("status.test")).text()).toBe("ok");
      expect((await caddy.get("old.apps.test")).status).toBe(404);
      expect(await (await caddy.get("a.apps.test")).text()).toBe("x");

      const before = await caddy.client.config(`apps/http/servers/${WOVE_SERVER}`);
      await caddy.client.applyRoutes(WOVE_SERVER, [
        { projectId: "a", hosts: ["a.apps.test"], upstream: up },
        { projectId: "b", hosts: ["b.apps.test"], upstream: up },
      ]);
      expect((await caddy.client.config(`apps/http/servers/${WOVE_SERVER}`)).etag).toBe(before.etag);

      await caddy.client.applyRoutes(WOVE_SERVER, []);
      expect((await caddy.client.routes()).map((r) => r["@id"])).toEqual(["operator-status", NOT_FOUND_ID]);
      await expect(
        caddy.client.applyRoutes(WOVE_SERVER, [
          { projectId: "a", hosts: ["a.test"], upstream: up },
          { projectId: "a", hosts: ["b.test"], upstream: up },
        ]),
      ).rejects.toThrow("two routes for project a");
      await expect(caddy.client.setRoute({ projectId: "c", hosts: [], upstream: up })).rejects.toThrow("no host names");
    } finally {
      app.stop();
    }
  });

  run("a server without any routes gets its route list created", async () => {
    await caddy.client.putConfig("apps/http/servers/bare", { listen: ["127.0.0.1:0"], automatic_https: { disable: true } });
    await caddy.client.applyRoutes("bare", [{ projectId: "z", hosts: ["z.test"], upstream: "127.0.0.1:9" }]);
    expect((await caddy.client.routes("bare")).map((r) => r["@id"])).toEqual(["wove-app-z", NOT_FOUND_ID]);
  });
});

/**
 * An admin API in front of the real one that, while `meddle` is above zero, makes a foreign change
 * just before each PATCH of the routes reaches Caddy — the PATCH then carries a stale ETag.
 * It hands the ETag on as a header (as newer Caddy versions do), so that path is covered too.
 */
function meddlingProxy(adminUrl: string) {
  const direct = caddyClient(adminUrl);
  const state = { meddle: 0, patches: [] as number[], foreignAdded: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "GET") {
        const read = await direct.config(url.pathname.replace(/^\/config\/?/, ""));
        return Response.json(read.value, { headers: read.etag ? { Etag: read.etag } : {} });
      }
      if (req.method === "PATCH" && url.pathname.endsWith("/routes") && state.meddle > 0) {
        state.meddle--;
        state.foreignAdded++;
        await direct.addRoute(WOVE_SERVER, { "@id": `operator-${state.foreignAdded}`, match: [{ host: [`op${state.foreignAdded}.test`] }], handle: [{ handler: "static_response", body: "op" }] });
      }
      const headers: Record<string, string> = {};
      for (const name of ["content-type", "if-match"]) {
        const value = req.headers.get(name);
        if (value) headers[name] = value;
      }
      const res = await fetch(adminUrl + url.pathname, { method: req.method, headers, body: await req.text() });
      if (req.method === "PATCH") state.patches.push(res.status);
      return new Response(await res.text(), { status: res.status });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, state, stop: () => server.stop(true) };
}

describe("concurrent edits", () => {
  run("a change made between our read and our write is not lost: the 412 is retried on fresh routes", async () => {
    const proxy = meddlingProxy(caddy.adminUrl);
    try {
      proxy.state.meddle = 2;
      await caddyClient(proxy.url).setRoute({ projectId: "c1", hosts: ["c1.test"], upstream: "127.0.0.1:9" });
      expect(proxy.state.patches).toEqual([412, 412, 200]);
      const ids = (await caddy.client.routes()).map((r) => r["@id"]);
      expect(ids).toEqual(["wove-app-c1", "operator-1", "operator-2", NOT_FOUND_ID]);
    } finally {
      proxy.stop();
    }
  });

  run("when the routes keep changing, the edit gives up with a clear error instead of overwriting", async () => {
    const proxy = meddlingProxy(caddy.adminUrl);
    try {
      proxy.state.meddle = 100;
      const err = await caddyClient(proxy.url, { maxAttempts: 3 })
        .setRoute({ projectId: "c2", hosts: ["c2.test"], upstream: "127.0.0.1:9" })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CaddyError);
      expect((err as CaddyError).message).toContain('routes for server "wove_apps" kept changing underneath Wove (3 attempts)');
      expect((err as CaddyError).caddyMessage).toBe("If-Match header did not match current config hash");
      expect((await caddy.client.routes()).some((r) => r["@id"] === "wove-app-c2")).toBe(false);
    } finally {
      proxy.stop();
    }
  });

  run("eight writers at once, each with its own client: every route arrives", async () => {
    const writers = Array.from({ length: 8 }, (_, i) =>
      caddyClient(caddy.adminUrl).setRoute({ projectId: `par${i}`, hosts: [`par${i}.test`], upstream: `127.0.0.1:${1000 + i}` }),
    );
    await Promise.all(writers);
    const ids = (await caddy.client.routes()).map((r) => r["@id"]);
    expect(ids).toEqual([...Array.from({ length: 8 }, (_, i) => `wove-app-par${i}`), NOT_FOUND_ID]);
  });
});

describe("errors and /id/ paths", () => {
  run("Caddy's own error text is in the message; unknown ids are tolerated by delete", async () => {
    const err = await caddy.client.patchById("no-such-id", { x: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaddyError);
    expect((err as CaddyError).status).toBe(404);
    expect((err as CaddyError).message).toBe("Caddy refused PATCH /id/no-such-id (HTTP 404): unknown object ID 'no-such-id'");
    expect(await caddy.client.deleteById("no-such-id")).toBe(false);

    const missing = await caddy.client.applyRoutes("no_such_server", []).catch((e: unknown) => e);
    expect((missing as CaddyError).message).toContain("invalid traversal path");

    const bad = await caddy.client.addRoute(WOVE_SERVER, { handle: [{ handler: "no_such_handler" }] }).catch((e: unknown) => e);
    expect((bad as CaddyError).status).toBe(500);
    expect((bad as CaddyError).caddyMessage).toContain("unknown module: http.handlers.no_such_handler");
  });

  run("putById, patchById and deleteById act on the object with that @id", async () => {
    await caddy.client.setRoute({ projectId: "ids", hosts: ["ids.test"], upstream: "127.0.0.1:9" });
    await caddy.client.putById("wove-app-ids", { "@id": "operator-before", handle: [{ handler: "static_response", body: "b" }] });
    await caddy.client.patchById("operator-before", { "@id": "operator-before", handle: [{ handler: "static_response", body: "patched" }] });
    const routes = await caddy.client.routes();
    expect(routes.map((r) => r["@id"])).toEqual(["operator-before", "wove-app-ids", NOT_FOUND_ID]);
    expect(JSON.stringify(routes[0])).toContain("patched");
    expect(await caddy.client.deleteById("operator-before")).toBe(true);
    expect((await caddy.client.routes()).map((r) => r["@id"])).toEqual(["wove-app-ids", NOT_FOUND_ID]);
  });

  run("an admin API nobody answers: a clear 'not reachable' error", async () => {
    const err = await caddyClient("http://127.0.0.1:9", { timeoutMs: 2000 }).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaddyError);
    expect((err as CaddyError).message).toContain("Caddy's admin API at http://127.0.0.1:9 is not reachable");
  });
});
