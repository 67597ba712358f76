import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skipCaddy } from "../../test/helpers/caddy.ts";
import {
  appRouteId,
  baseConfig,
  canonicalJson,
  isWoveOwned,
  normalizeHosts,
  NOT_FOUND_TEXT,
  notFoundRoute,
  routeFor,
  UPSTREAM_DOWN_TEXT,
  type JsonObject,
} from "./caddy-config.ts";
import { explainStartFailure } from "./caddy-process.ts";

const common = { adminListen: "127.0.0.1:2999", httpPort: 8080, httpsPort: 8443, storageRoot: "/data/caddy/data/caddy" };

const expectedNotFound = {
  "@id": "wove-not-found",
  handle: [
    {
      handler: "static_response",
      status_code: 404,
      headers: { "Content-Type": ["text/plain; charset=utf-8"], "Cache-Control": ["no-store"] },
      body: "No app is deployed at this address.\n",
    },
  ],
  terminal: true,
};

const expectedErrors = {
  routes: [
    {
      handle: [
        {
          handler: "static_response",
          status_code: "{http.error.status_code}",
          headers: { "Content-Type": ["text/plain; charset=utf-8"], "Cache-Control": ["no-store"] },
          body: "This app is not answering right now. Try again in a moment.\n",
        },
      ],
    },
  ],
};

describe("baseConfig", () => {
  test("tls off: plain HTTP on the HTTP port, automatic HTTPS disabled, no tls or pki app", () => {
    expect(baseConfig({ ...common, tls: "off" })).toEqual({
      admin: { listen: "127.0.0.1:2999" },
      storage: { module: "file_system", root: "/data/caddy/data/caddy" },
      apps: {
        http: {
          http_port: 8080,
          https_port: 8443,
          servers: {
            wove_apps: { listen: [":8080"], automatic_https: { disable: true }, routes: [expectedNotFound], errors: expectedErrors },
          },
        },
      },
    });
  });

  test("tls internal: HTTPS port, an internal-issuer policy for every host, the local CA kept out of the trust store", () => {
    expect(baseConfig({ ...common, tls: "internal" })).toEqual({
      admin: { listen: "127.0.0.1:2999" },
      storage: { module: "file_system", root: "/data/caddy/data/caddy" },
      apps: {
        http: {
          http_port: 8080,
          https_port: 8443,
          servers: { wove_apps: { listen: [":8443"], routes: [expectedNotFound], errors: expectedErrors } },
        },
        tls: { automation: { policies: [{ issuers: [{ module: "internal" }] }] } },
        pki: { certificate_authorities: { local: { install_trust: false } } },
      },
    });
  });

  test("tls acme: HTTPS port with Caddy's default automatic HTTPS (no tls policy of ours)", () => {
    expect(baseConfig({ ...common, tls: "acme" })).toEqual({
      admin: { listen: "127.0.0.1:2999" },
      storage: { module: "file_system", root: "/data/caddy/data/caddy" },
      apps: {
        http: {
          http_port: 8080,
          https_port: 8443,
          servers: { wove_apps: { listen: [":8443"], routes: [expectedNotFound], errors: expectedErrors } },
        },
        pki: { certificate_authorities: { local: { install_trust: false } } },
      },
    });
  });

  test("a custom server name and Caddy's default storage", () => {
    const cfg = baseConfig({ adminListen: "127.0.0.1:1", httpPort: 80, httpsPort: 443, tls: "off", serverName: "apps2" });
    expect(cfg.storage).toBeUndefined();
    expect(Object.keys((cfg.apps as { http: { servers: JsonObject } }).http.servers)).toEqual(["apps2"]);
  });

  test.skipIf(skipCaddy)("caddy validate accepts the config of every TLS mode", () => {
    const dir = mkdtempSync(join(tmpdir(), "wove-caddy-validate-"));
    try {
      for (const tls of ["off", "internal", "acme"] as const) {
        const file = join(dir, `${tls}.json`);
        writeFileSync(file, JSON.stringify(baseConfig({ ...common, tls, storageRoot: join(dir, "store") })));
        const out = Bun.spawnSync(["caddy", "validate", "--config", file], {
          env: { PATH: process.env.PATH ?? "/usr/bin", HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
        });
        expect({ tls, code: out.exitCode, err: out.exitCode === 0 ? "" : out.stderr.toString() }).toEqual({ tls, code: 0, err: "" });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("routeFor", () => {
  test("one project's hosts to its upstream, with a short dial timeout and a brief retry, and no flush_interval", () => {
    expect(routeFor({ projectId: "p_42", hosts: ["Blog-Ann.Apps.Example.org.", "blog.ann.dev", "blog.ann.dev"], upstream: "127.0.0.1:49153" })).toEqual({
      "@id": "wove-app-p_42",
      match: [{ host: ["blog-ann.apps.example.org", "blog.ann.dev"] }],
      handle: [
        {
          handler: "reverse_proxy",
          upstreams: [{ dial: "127.0.0.1:49153" }],
          transport: { protocol: "http", dial_timeout: "2s" },
          load_balancing: { try_duration: "1s", try_interval: "250ms" },
        },
      ],
      terminal: true,
    });
    // flush_interval -1 makes Caddy 2.6 abort responses in flight on every config change (see reverseProxy).
    expect(JSON.stringify(routeFor({ projectId: "p", hosts: ["a.test"], upstream: "127.0.0.1:1" }))).not.toContain("flush_interval");
  });

  test("refuses a route without hosts or with an upstream that is not host:port", () => {
    expect(() => routeFor({ projectId: "p", hosts: [], upstream: "127.0.0.1:1" })).toThrow("no host names");
    expect(() => routeFor({ projectId: "p", hosts: ["a.test"], upstream: "http://127.0.0.1:1" })).toThrow("host:port");
    expect(() => routeFor({ projectId: "p", hosts: ["a.test"], upstream: "127.0.0.1" })).toThrow("host:port");
  });

  test("ids: Wove owns wove-* routes only", () => {
    expect(appRouteId("abc")).toBe("wove-app-abc");
    expect(isWoveOwned(routeFor({ projectId: "x", hosts: ["a.test"], upstream: "127.0.0.1:1" }))).toBe(true);
    expect(isWoveOwned(notFoundRoute())).toBe(true);
    expect(isWoveOwned({ "@id": "operator-route" })).toBe(false);
    expect(isWoveOwned({ match: [] })).toBe(false);
    expect(NOT_FOUND_TEXT).toBe("No app is deployed at this address.\n");
    expect(UPSTREAM_DOWN_TEXT.endsWith("\n")).toBe(true);
  });

  test("normalizeHosts lower-cases, strips the root dot, removes duplicates and blanks, sorts", () => {
    expect(normalizeHosts([" B.test ", "a.test.", "A.TEST", ""])).toEqual(["a.test", "b.test"]);
  });
});

test("canonicalJson ignores key order but not array order", () => {
  expect(canonicalJson({ b: 1, a: [2, { d: null, c: "x" }] })).toBe(canonicalJson({ a: [2, { c: "x", d: null }], b: 1 }));
  expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
});

describe("explainStartFailure", () => {
  const ports = { httpPort: 80, httpsPort: 443, adminPort: 2999 };
  test("a taken port names the setting to change", () => {
    const out = `{"level":"error","msg":"loading initial config: loading new config: http app module: start: listening on :80: listen tcp :80: bind: address already in use"}`;
    expect(explainStartFailure(out, ports)).toBe(
      "Port 80 (WOVE_APPS_HTTP_PORT) is already in use by another program. Stop that program or choose another port with WOVE_APPS_HTTP_PORT.",
    );
  });
  test("a privileged port explains setcap", () => {
    const out = "listen tcp :443: bind: permission denied";
    expect(explainStartFailure(out, ports)).toContain("Caddy may not listen on port 443 (WOVE_APPS_HTTPS_PORT): ports below 1024 need privileges");
  });
  test("anything else: null", () => {
    expect(explainStartFailure("some other failure", ports)).toBeNull();
  });
});
