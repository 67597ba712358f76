/**
 * A small typed client for Caddy's admin API (no npm package exists for it).
 *
 * Route changes are read-modify-write on the server's `routes` array guarded by Caddy's ETag:
 * GET returns the array and an ETag (`"<path> <hash>"`); the PATCH carries it as `If-Match`, and
 * Caddy answers 412 when anyone changed the array in between — then we read again and redo the
 * edit. So concurrent writers (two deploys, an operator with curl) never overwrite each other, and
 * each change is ONE config change: moving a project's upstream is atomic.
 *
 * `/id/<@id>` paths are offered for one-off edits, but route changes avoid them: Caddy resolves an
 * id to an array index before taking its write lock, so under concurrent edits an `/id/` PATCH can
 * land on a neighbour.
 */
import http from "node:http";
import https from "node:https";
import {
  canonicalJson,
  NOT_FOUND_ID,
  notFoundRoute,
  routeFor,
  appRouteId,
  isWoveOwned,
  WOVE_SERVER,
  type CaddyRoute,
  type JsonObject,
  type JsonValue,
} from "./caddy-config.ts";
import type { AppRoute } from "./types.ts";

/** A failed admin API call; `caddyMessage` is Caddy's own error text when it sent one. */
export class CaddyError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly caddyMessage: string | null,
    /** The connection failed before Caddy answered (refused, reset), and not by a timeout. */
    readonly connectionFailed = false,
  ) {
    super(message);
    this.name = "CaddyError";
  }
}

export type ConfigRead = { value: JsonValue; etag: string | null };

export type CaddyClient = {
  readonly adminUrl: string;
  /** Answers when the admin API is up; throws CaddyError otherwise. */
  ping(): Promise<void>;
  /** GET /config/<path> (path relative to the config root, e.g. "apps/http/servers"): the value and its ETag. */
  config(path?: string): Promise<ConfigRead>;
  /** PUT /config/<path>: creates a value (and missing parent objects); fails when the key exists. */
  putConfig(path: string, value: JsonValue): Promise<void>;
  /** POST /load: replaces the whole config. */
  load(config: JsonObject): Promise<void>;
  /** PUT /id/<id>: inserts before the object with that id (in an array) or creates a new key under it. */
  putById(id: string, value: JsonValue): Promise<void>;
  /** PATCH /id/<id>: replaces the object with that id. */
  patchById(id: string, value: JsonValue): Promise<void>;
  /** DELETE /id/<id>: false when no object has that id. */
  deleteById(id: string): Promise<boolean>;
  /** The server's routes (empty when it has none). */
  routes(server?: string): Promise<CaddyRoute[]>;
  /** Adds a route to a server, ahead of Wove's not-found route (which must stay last). */
  addRoute(server: string, route: CaddyRoute): Promise<void>;
  /**
   * Makes the server's Wove-owned app routes exactly `routes`, in one config change; routes Wove
   * does not own are kept, and the not-found route stays last. No change is sent when nothing differs.
   */
  applyRoutes(server: string, routes: readonly AppRoute[]): Promise<void>;
  /** Adds or replaces one project's route (the zero-downtime switch: one change moves the upstream). */
  setRoute(route: AppRoute): Promise<void>;
  /** Removes one project's route; false when it had none. */
  removeRoute(projectId: string): Promise<boolean>;
};

export type CaddyClientOptions = {
  /** The server `setRoute`/`removeRoute` edit. */
  server?: string;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** How many times an edit is redone after a 412 (someone changed the routes in between). */
  maxAttempts?: number;
};

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_ATTEMPTS = 6;
/** Tries per request when the connection itself fails (see `retryConnection`). */
const CONNECTION_ATTEMPTS = 5;

function errorText(body: string): string | null {
  const trimmed = body.trim();
  if (trimmed === "") return null;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed && typeof parsed === "object" && "error" in parsed && typeof parsed.error === "string") return parsed.error;
  } catch {
    // not JSON: use the text as it is
  }
  return trimmed.slice(0, 500);
}

function configPath(path: string): string {
  const clean = path.replace(/^\/+|\/+$/g, "").replace(/^config(\/|$)/, "");
  return `/config/${clean.split("/").filter(Boolean).map(encodeURIComponent).join("/")}`;
}

function routesPath(server: string): string {
  return configPath(`apps/http/servers/${server}/routes`);
}

function idPath(id: string): string {
  return `/id/${encodeURIComponent(id)}`;
}

/** The route list Wove wants: app routes sorted by project, then foreign routes in order, then not-found. */
function layout(appRoutes: CaddyRoute[], current: CaddyRoute[]): CaddyRoute[] {
  const foreign = current.filter((r) => !isWoveOwned(r));
  const notFound = notFoundRoute(); // always today's version, so a Wove upgrade updates it
  const id = (r: CaddyRoute) => String(r["@id"]);
  const sorted = [...appRoutes].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
  return [...sorted, ...foreign, notFound];
}

function currentAppRoutes(current: CaddyRoute[]): CaddyRoute[] {
  return current.filter((r) => isWoveOwned(r) && r["@id"] !== NOT_FOUND_ID);
}

function asRoutes(value: JsonValue, where: string): CaddyRoute[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new CaddyError(`Caddy's ${where} is not a list of routes.`, null, null);
  return value.filter((r): r is CaddyRoute => r !== null && typeof r === "object" && !Array.isArray(r));
}

export function caddyClient(adminUrl: string, options: CaddyClientOptions = {}): CaddyClient {
  const base = adminUrl.replace(/\/+$/, "");
  const server = options.server ?? WOVE_SERVER;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;

  function unreachable(method: string, path: string, e: unknown): CaddyError {
    const why = e instanceof Error ? e.message : String(e);
    const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError" || why.startsWith("no answer within"));
    return new CaddyError(`Caddy's admin API at ${base} is not reachable (${method} ${path}): ${why}`, null, null, !timedOut);
  }

  /**
   * Caddy 2.6 replaces its admin listener on every config change, so a request that connects during
   * another writer's change can be reset before Caddy reads it. Such requests are sent again. PUT is
   * not (it inserts, so a second copy would not be harmless); every other request Wove sends is safe
   * to repeat (PATCH carries If-Match, /load and DELETE are idempotent).
   */
  async function retryConnection<T>(method: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        if (!(e instanceof CaddyError) || !e.connectionFailed || method === "PUT" || n >= CONNECTION_ATTEMPTS) throw e;
        await Bun.sleep(10 * n);
      }
    }
  }

  function failed(method: string, path: string, status: number, body: string): CaddyError {
    const text = errorText(body);
    return new CaddyError(`Caddy refused ${method} ${path} (HTTP ${status})${text ? `: ${text}` : ""}`, status, text);
  }

  /** Sends one request; returns the status and body of 2xx answers and of the statuses in `allow`. */
  async function send(
    method: string,
    path: string,
    body?: JsonValue,
    headers: Record<string, string> = {},
    allow: number[] = [],
  ): Promise<{ status: number; body: string }> {
    return retryConnection(method, () => sendOnce(method, path, body, headers, allow));
  }

  async function sendOnce(
    method: string,
    path: string,
    body: JsonValue | undefined,
    headers: Record<string, string>,
    allow: number[],
  ): Promise<{ status: number; body: string }> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(base + path, {
        method,
        // Caddy replaces its admin listener on every config change, closing idle connections: never reuse one.
        keepalive: false,
        headers: { Connection: "close", ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      throw unreachable(method, path, e);
    }
    if (res.ok || allow.includes(res.status)) return { status: res.status, body: text };
    throw failed(method, path, res.status, text);
  }

  /**
   * GET with the ETag. Caddy 2.6 sends the ETag as an HTTP trailer, which fetch does not expose;
   * node:http does (`res.trailers`). Later Caddy versions send it as a header; both are read.
   */
  function get(path: string): Promise<ConfigRead> {
    return retryConnection("GET", () => getOnce(path));
  }

  function getOnce(path: string): Promise<ConfigRead> {
    const url = new URL(base + path);
    const lib = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method: "GET", timeout: timeoutMs, agent: false, headers: { Connection: "close" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => reject(unreachable("GET", path, e)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return reject(failed("GET", path, status, text));
          const etag = res.headers.etag ?? res.trailers.etag ?? null;
          try {
            resolve({ value: text.trim() === "" ? null : (JSON.parse(text) as JsonValue), etag });
          } catch {
            reject(new CaddyError(`Caddy answered GET ${path} with something that is not JSON: ${text.slice(0, 200)}`, status, null));
          }
        });
      });
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", (e) => reject(unreachable("GET", path, e)));
      req.end();
    });
  }

  /**
   * Read-modify-write of a server's routes under If-Match. `edit` returns the new list, or null to
   * change nothing. Retries (with a short random pause) when Caddy says the routes changed meanwhile.
   */
  async function editRoutes(srv: string, edit: (current: CaddyRoute[]) => CaddyRoute[] | null): Promise<void> {
    const path = routesPath(srv);
    for (let attempt = 1; ; attempt++) {
      const read = await get(path);
      if (read.etag === null) {
        throw new CaddyError("Caddy sent no ETag for its routes; Wove needs Caddy 2.6 or newer.", null, null);
      }
      const current = asRoutes(read.value, `server "${srv}" routes`);
      const next = edit(current);
      if (next === null || canonicalJson(next) === canonicalJson(current)) return;
      // POST creates the array when the server has none yet; PATCH replaces an existing one.
      const method = read.value === null ? "POST" : "PATCH";
      const res = await send(method, path, next, { "If-Match": read.etag }, [412]);
      if (res.status !== 412) return;
      if (attempt >= maxAttempts) {
        throw new CaddyError(
          `Caddy's routes for server "${srv}" kept changing underneath Wove (${attempt} attempts); the change was not applied.`,
          412,
          errorText(res.body),
        );
      }
      await Bun.sleep(5 + Math.random() * 20 * attempt);
    }
  }

  return {
    adminUrl: base,

    async ping() {
      await send("GET", "/config/");
    },

    config(path = "") {
      return get(configPath(path));
    },

    async putConfig(path, value) {
      await send("PUT", configPath(path), value);
    },

    async load(config) {
      await send("POST", "/load", config);
    },

    async putById(id, value) {
      await send("PUT", idPath(id), value);
    },

    async patchById(id, value) {
      await send("PATCH", idPath(id), value);
    },

    async deleteById(id) {
      const res = await send("DELETE", idPath(id), undefined, {}, [404]);
      return res.status !== 404;
    },

    async routes(srv = server) {
      return asRoutes((await get(routesPath(srv))).value, `server "${srv}" routes`);
    },

    addRoute(srv, route) {
      return editRoutes(srv, (current) => {
        const at = current.findIndex((r) => r["@id"] === NOT_FOUND_ID);
        return at === -1 ? [...current, route] : [...current.slice(0, at), route, ...current.slice(at)];
      });
    },

    async applyRoutes(srv, routes) {
      const wanted = routes.map(routeFor);
      const ids = new Set<string>();
      for (const r of routes) {
        if (ids.has(r.projectId)) throw new Error(`applyRoutes got two routes for project ${r.projectId}.`);
        ids.add(r.projectId);
      }
      await editRoutes(srv, (current) => layout(wanted, current));
    },

    async setRoute(route) {
      const next = routeFor(route);
      await editRoutes(server, (current) => {
        const others = currentAppRoutes(current).filter((r) => r["@id"] !== next["@id"]);
        return layout([...others, next], current);
      });
    },

    async removeRoute(projectId) {
      const id = appRouteId(projectId);
      let found = false;
      await editRoutes(server, (current) => {
        found = current.some((r) => r["@id"] === id);
        if (!found) return null;
        return layout(
          currentAppRoutes(current).filter((r) => r["@id"] !== id),
          current,
        );
      });
      return found;
    },
  };
}
