/**
 * The Caddy JSON Wove hands to Caddy: the base config of a managed Caddy (one HTTP server,
 * `wove_apps`, per TLS mode) and one route per deployed project. Pure functions — the admin
 * client (caddy.ts) and the process manager (caddy-process.ts) decide where the JSON goes.
 *
 * Route layout inside the `wove_apps` server, first match wins:
 *   1. `wove-app-<projectId>` — one per project, matched by Host, terminal;
 *   2. routes Wove does not own (an operator's additions on an external Caddy), in their order;
 *   3. `wove-not-found` — no matcher, answers 404 for every other host; always last.
 */
import type { TlsMode } from "../config.ts";
import type { AppRoute } from "./types.ts";

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

/** A route in Caddy's JSON; foreign routes may carry any other fields, which are kept as they are. */
export type CaddyRoute = JsonObject & { "@id"?: JsonValue };

/** The server Wove's app routes live in. */
export const WOVE_SERVER = "wove_apps";
/** Every `@id` Wove sets starts with this; routes without it belong to someone else. */
export const WOVE_ID_PREFIX = "wove-";
export const NOT_FOUND_ID = "wove-not-found";
export const NOT_FOUND_TEXT = "No app is deployed at this address.\n";
export const UPSTREAM_DOWN_TEXT = "This app is not answering right now. Try again in a moment.\n";

/** How long Caddy waits to connect to an app before giving up (loopback: a refused port answers at once). */
export const DIAL_TIMEOUT = "2s";
/** How long a request keeps trying to reach an app that refuses connections (a container restarting). */
export const TRY_DURATION = "1s";

export function appRouteId(projectId: string): string {
  return `wove-app-${projectId}`;
}

export function isWoveOwned(route: CaddyRoute): boolean {
  const id = route["@id"];
  return typeof id === "string" && id.startsWith(WOVE_ID_PREFIX);
}

/** Hosts as Caddy matches them: lower case, no trailing dot, each once, in a stable order. */
export function normalizeHosts(hosts: readonly string[]): string[] {
  return [...new Set(hosts.map((h) => h.trim().toLowerCase().replace(/\.$/, "")).filter((h) => h !== ""))].sort();
}

/**
 * The reverse_proxy handler for one app container.
 *
 * No `flush_interval`: Caddy already flushes server-sent events and responses of unknown length
 * at once, and with `flush_interval: -1` Caddy 2.6 aborts every response in flight whenever its
 * config changes (measured: a route change for any project broke them all), which is exactly when
 * a deploy switches traffic.
 */
export function reverseProxy(upstream: string): JsonObject {
  return {
    handler: "reverse_proxy",
    upstreams: [{ dial: upstream }],
    transport: { protocol: "http", dial_timeout: DIAL_TIMEOUT },
    load_balancing: { try_duration: TRY_DURATION, try_interval: "250ms" },
  };
}

/** One project's route: every host of the project to its live deployment. */
export function routeFor(route: AppRoute): CaddyRoute {
  if (route.hosts.length === 0) throw new Error(`The route for project ${route.projectId} has no host names.`);
  if (!/^[^\s/]+:\d{1,5}$/.test(route.upstream)) {
    throw new Error(`The upstream of project ${route.projectId} must be host:port, got "${route.upstream}".`);
  }
  return {
    "@id": appRouteId(route.projectId),
    match: [{ host: normalizeHosts(route.hosts) }],
    handle: [reverseProxy(route.upstream)],
    terminal: true,
  };
}

/** The last route: any host no app claims gets a short plain-text 404. */
export function notFoundRoute(): CaddyRoute {
  return {
    "@id": NOT_FOUND_ID,
    handle: [
      {
        handler: "static_response",
        status_code: 404,
        headers: { "Content-Type": ["text/plain; charset=utf-8"], "Cache-Control": ["no-store"] },
        body: NOT_FOUND_TEXT,
      },
    ],
    terminal: true,
  };
}

/**
 * The server's error routes: when Caddy cannot reach an app (container stopped, port refused) it
 * answers 502 with a sentence instead of an empty page. The app's own error answers pass through.
 */
function errorRoutes(): JsonObject {
  return {
    routes: [
      {
        handle: [
          {
            handler: "static_response",
            status_code: "{http.error.status_code}",
            headers: { "Content-Type": ["text/plain; charset=utf-8"], "Cache-Control": ["no-store"] },
            body: UPSTREAM_DOWN_TEXT,
          },
        ],
      },
    ],
  };
}

export type ServerOptions = { httpPort: number; httpsPort: number; tls: TlsMode };

/**
 * The `wove_apps` server. With TLS off it listens on the HTTP port only and automatic HTTPS is
 * disabled; otherwise it listens on the HTTPS port and Caddy's automatic HTTPS gets certificates for
 * every host the routes match and answers the HTTP port with redirects to HTTPS.
 */
export function appServer(o: ServerOptions): JsonObject {
  const common = { routes: [notFoundRoute()], errors: errorRoutes() };
  if (o.tls === "off") return { listen: [`:${o.httpPort}`], automatic_https: { disable: true }, ...common };
  return { listen: [`:${o.httpsPort}`], ...common };
}

export type BaseConfigOptions = ServerOptions & {
  /** The admin API's listen address, e.g. `127.0.0.1:2019`. */
  adminListen: string;
  serverName?: string;
  /** Where Caddy keeps certificates and its CA (managed mode: `<dataDir>/caddy/data/caddy`); null = Caddy's default. */
  storageRoot?: string | null;
};

/** The whole config of a Caddy that Wove runs itself. */
export function baseConfig(o: BaseConfigOptions): JsonObject {
  const apps: JsonObject = {
    http: {
      http_port: o.httpPort,
      https_port: o.httpsPort,
      servers: { [o.serverName ?? WOVE_SERVER]: appServer(o) },
    },
  };
  if (o.tls === "internal") {
    // No subjects: the policy covers every host the routes name, including ones added later.
    apps.tls = { automation: { policies: [{ issuers: [{ module: "internal" }] }] } };
  }
  if (o.tls !== "off") {
    // Caddy's local CA (used by `internal`, and by `acme` for names like *.localhost) must not try to
    // add itself to the system trust store: that needs root and would prompt or fail at start.
    apps.pki = { certificate_authorities: { local: { install_trust: false } } };
  }
  return {
    admin: { listen: o.adminListen },
    ...(o.storageRoot ? { storage: { module: "file_system", root: o.storageRoot } } : {}),
    apps,
  };
}

/**
 * Serializes JSON with object keys sorted, so two values that differ only in key order compare
 * equal (Caddy returns its config with sorted keys; Wove builds objects in its own order).
 */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
