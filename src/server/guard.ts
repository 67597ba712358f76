/**
 * The one authorization guard. Every route is a RouteDef that declares the
 * permission it needs; `mountRoutes` refuses a route without one, and the
 * authorization-matrix test walks the same table. Order per request:
 * who is calling → token scope → permission (loads the project/team) →
 * CSRF (cookie-authenticated writes) → body parse + schema → handler.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { App } from "../core/app.ts";
import type { Project, Team, User } from "../db/schema.ts";
import { ANONYMOUS, type Actor, type Scope } from "../auth/actor.ts";
import { resolveSession, SESSION_COOKIE } from "../auth/sessions.ts";
import { resolveToken, tokenScopes, TOKEN_PREFIX } from "../auth/tokens.ts";
import { atLeast, projectAccess, teamAccess, type AccessLevel } from "../projects/access.ts";
import { ApiError, badRequest, forbidden, notFound, tooLarge, tooManyRequests, unauthorized } from "../lib/errors.ts";
import { hmac, randomToken, safeEqual } from "../lib/crypto.ts";
import { RateLimiter } from "../lib/ratelimit.ts";
import type { Logger } from "../lib/log.ts";
import { parseCookies, setCookie } from "./http.ts";

export type Permission =
  | "public" // anyone, signed in or not
  | "user" // any signed-in account
  | "admin" // instance admins
  | "project:read" // on the project named by :id
  | "project:write"
  | "project:admin"
  | "team:read" // on the team named by :id
  | "team:manage";

export const PERMISSIONS: Permission[] = ["public", "user", "admin", "project:read", "project:write", "project:admin", "team:read", "team:manage"];

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type BodyKind = "json" | "form" | "raw" | "none";

export type Ctx<B = undefined, Q = Record<string, string | undefined>> = {
  app: App;
  request: Request;
  url: URL;
  params: Record<string, string>;
  query: Q;
  body: B;
  /** Raw request bytes, for `body: "raw"` routes. */
  bytes: Uint8Array;
  actor: Actor;
  /** Set for project:* routes. */
  project: Project;
  access: AccessLevel;
  /** Set for team:* routes. */
  team: Team;
  ip: string;
  requestId: string;
  log: Logger;
  /** Response headers to add (Set-Cookie may repeat). */
  headers: Headers;
  /** The CSRF token for forms on this page (sets the pre-session cookie when needed). */
  csrf(): string;
  isHtmx: boolean;
  /** For `websocket` routes: hands the connection to Bun with these handlers; false when the request is no upgrade. */
  upgrade(data: unknown): boolean;
};

export type RouteDef = {
  method: Method;
  path: string;
  permission: Permission;
  /** api: JSON errors and 401s. page: HTML errors, login redirects. */
  kind: "api" | "page";
  summary: string;
  tags?: string[];
  bodyKind?: BodyKind;
  body?: TSchema;
  query?: TSchema;
  /** Also require a signed-in account (e.g. starring a public project, which anyone may read). */
  signedIn?: boolean;
  /** Skip CSRF: only for routes that authenticate by something other than the cookie. */
  csrfExempt?: boolean;
  /**
   * Also accept the API token as an HTTP Basic password (or user name), the way git sends it;
   * a bad one is answered with a Basic challenge. Git over HTTP only.
   */
  basicAuth?: boolean;
  /**
   * A WebSocket endpoint. Browsers cannot set headers on a socket, so the API token may come
   * as `?token=`; a cookie-authenticated handshake must come from our own Origin (no
   * cross-site socket hijacking); and refusals are sent as close codes 44xx after the
   * upgrade (see server.ts), which is what WebSocket clients can read.
   */
  websocket?: boolean;
  /**
   * For project:* routes whose :id names something inside a project (a deployment): finds that
   * project's id, or null when there is no such thing (answered as 404 with `noun`).
   */
  projectOf?: { noun: string; find: (app: App, id: string) => Promise<string | null> };
  /** The token scope the route needs when it is not the method's (read for GET, else write). */
  scope?: Scope;
  /** Response description for the OpenAPI document. */
  responses?: Record<number, string>;
  handler: (ctx: Ctx<never, never>) => Response | Promise<Response>;
};

/** Declares a route with its body and query types inferred from the schemas. */
export function route<B extends TSchema | undefined = undefined, Q extends TSchema | undefined = undefined>(
  def: Omit<RouteDef, "handler" | "body" | "query"> & {
    body?: B;
    query?: Q;
    handler: (
      ctx: Ctx<B extends TSchema ? Static<B> : undefined, Q extends TSchema ? Static<Q> : Record<string, string | undefined>>,
    ) => Response | Promise<Response>;
  },
): RouteDef {
  return def as unknown as RouteDef;
}

/** Thrown to send the browser to the login page instead of a 401. */
export class LoginRedirect extends Error {
  constructor(readonly next: string) {
    super("login required");
  }
}

const CSRF_COOKIE = "wove_csrf";
const badTokenByIp = new RateLimiter({ max: 30, windowMs: 60_000 });

export type GuardOptions = { tokenRate: RateLimiter | null };

/** The API token in an Authorization header: `Bearer <token>`, or with `basic`, HTTP Basic carrying it as password or user name. */
function tokenFromHeader(header: string, basic: boolean): string | null {
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1] ?? null;
  const b = basic ? /^Basic\s+([A-Za-z0-9+/]+={0,2})$/i.exec(header) : null;
  if (!b) return null;
  const pair = Buffer.from(b[1] ?? "", "base64").toString("utf8");
  const colon = pair.indexOf(":");
  if (colon < 0) return null;
  const user = pair.slice(0, colon);
  const password = pair.slice(colon + 1);
  return !password.startsWith(TOKEN_PREFIX) && user.startsWith(TOKEN_PREFIX) ? user : password;
}

async function resolveActor(app: App, def: RouteDef, req: Request, url: URL, cookies: Record<string, string>, ip: string): Promise<Actor> {
  const queryToken = def.websocket ? url.searchParams.get("token") : null;
  const auth = req.headers.get("authorization") ?? (queryToken !== null ? `Bearer ${queryToken}` : null);
  if (auth !== null) {
    const token = tokenFromHeader(auth, def.basicAuth === true);
    const wait = badTokenByIp.blocked(ip);
    if (wait) throw tooManyRequests(wait, "Too many bad tokens from this address; try again later.");
    const found = token ? await resolveToken(app.db.orm, token) : null;
    if (!found) {
      badTokenByIp.hit(ip);
      const message = "The API token is missing, malformed, expired or revoked.";
      throw def.basicAuth ? new ApiError(401, "unauthorized", message, undefined, { "WWW-Authenticate": 'Basic realm="Wove"' }) : unauthorized(message);
    }
    return { kind: "user", user: found.user, via: "token", tokenId: found.token.id, scopes: tokenScopes(found.token) };
  }
  const sessionToken = cookies[SESSION_COOKIE];
  if (sessionToken) {
    const s = await resolveSession(app.db.orm, sessionToken);
    if (s) return { kind: "user", user: s.user, via: "session", sessionId: s.sessionId };
  }
  return ANONYMOUS;
}

function requiredScope(def: RouteDef): Scope {
  if (def.scope) return def.scope;
  if (def.permission === "admin") return "admin";
  return def.method === "GET" ? "read" : "write";
}

function loginOrUnauthorized(def: RouteDef, url: URL, request?: Request): Error {
  if (def.kind !== "page") return unauthorized();
  if (def.method === "GET") return new LoginRedirect(url.pathname + url.search);
  // A form post cannot be replayed by a GET after login: come back to the page it was sent from.
  const referer = request?.headers.get("referer");
  let back = "/";
  try {
    const r = referer ? new URL(referer) : undefined;
    if (r && r.host === url.host) back = r.pathname + r.search;
  } catch {
    // an unparsable Referer: go home
  }
  return new LoginRedirect(back);
}

/** Checks the declared permission; fills ctx.project / ctx.team. */
async function authorize(def: RouteDef, ctx: Ctx<unknown, unknown>): Promise<void> {
  const { actor } = ctx;
  if (actor.kind === "user" && actor.via === "token") {
    const need = requiredScope(def);
    if (!actor.scopes.includes(need)) throw forbidden(`This token lacks the "${need}" scope.`);
  }
  const p = def.permission;
  if (def.signedIn && actor.kind === "anonymous") throw loginOrUnauthorized(def, ctx.url, ctx.request);
  if (p === "public") return;
  if (actor.kind === "anonymous" && (p === "user" || p === "admin" || p.startsWith("team:"))) throw loginOrUnauthorized(def, ctx.url, ctx.request);
  if (p === "user") return;
  if (p === "admin") {
    if (actor.kind !== "user" || actor.user.role !== "admin") throw forbidden("Only instance admins can do that.");
    return;
  }
  const id = ctx.params.id ?? "";
  if (p.startsWith("project:")) {
    const projectId = def.projectOf ? await def.projectOf.find(ctx.app, id) : id;
    const noun = def.projectOf?.noun ?? "Project";
    const { project, level } = projectId === null ? { project: undefined, level: "none" as const } : await projectAccess(ctx.app.db.orm, actor, projectId);
    if (!project || level === "none") throw actor.kind === "anonymous" ? loginOrUnauthorized(def, ctx.url, ctx.request) : notFound(noun);
    const need = p === "project:read" ? "read" : p === "project:write" ? "write" : "admin";
    if (!atLeast(level, need)) {
      throw actor.kind === "anonymous" ? loginOrUnauthorized(def, ctx.url, ctx.request) : forbidden(`You need ${need} access to this project.`);
    }
    ctx.project = project;
    ctx.access = level;
    return;
  }
  const { team, level } = await teamAccess(ctx.app.db.orm, actor, id);
  if (!team || level === "none") throw notFound("Team");
  if (p === "team:manage" && level !== "manage") throw forbidden("Only the team's owners and maintainers can do that.");
  ctx.team = team;
}

/** A socket opened with the session cookie must come from a page of ours: the Origin is our base URL or the one the request was sent to. */
function checkSocketOrigin(app: App, req: Request, url: URL): void {
  const origin = req.headers.get("origin");
  if (origin && (origin === new URL(app.config.baseUrl).origin || origin === url.origin)) return;
  throw forbidden("A signed-in socket must be opened from Wove's own pages (Origin mismatch).");
}

export function csrfFor(app: App, key: string): string {
  return hmac(app.secret, `csrf:${key}`);
}

function checkCsrf(def: RouteDef, ctx: Ctx<unknown, unknown>, cookies: Record<string, string>, formToken: string | undefined): void {
  if (def.method === "GET" || def.csrfExempt) return;
  if (ctx.actor.kind === "user" && ctx.actor.via === "token") return; // bearer tokens are not ambient credentials
  const key = ctx.actor.kind === "user" && ctx.actor.via === "session" ? ctx.actor.sessionId : cookies[CSRF_COOKIE];
  const given = ctx.request.headers.get("x-csrf-token") ?? formToken;
  if (!key || !given || !safeEqual(given, csrfFor(ctx.app, key))) {
    throw new ApiError(403, "csrf_failed", "The form's security token is missing or wrong. Reload the page and try again.");
  }
}

function schemaErrors(schema: TSchema, value: unknown): Record<string, string> {
  const details: Record<string, string> = {};
  for (const e of Value.Errors(schema, value)) {
    const field = e.path.replace(/^\//, "").replace(/\//g, ".") || "body";
    if (!(field in details)) details[field] = e.message;
  }
  return details;
}

/**
 * Reads the body but stops at maxBytes: a chunked body (no Content-Length) is
 * counted as it streams, so an oversized one is refused without being held in memory.
 */
async function readLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const refuse = () => tooLarge(`The request body is larger than ${maxBytes} bytes.`);
  if (Number(req.headers.get("content-length") ?? "0") > maxBytes) throw refuse();
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw refuse();
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

async function readBody(def: RouteDef, req: Request, maxBytes: number): Promise<{ value: unknown; bytes: Uint8Array; formToken?: string }> {
  const kind = def.bodyKind ?? (def.body ? "json" : "none");
  const empty = new Uint8Array(0);
  if (kind === "none") return { value: undefined, bytes: empty };
  const bytes = await readLimited(req, maxBytes);
  if (kind === "raw") return { value: undefined, bytes };
  const text = new TextDecoder().decode(bytes);
  if (kind === "form") {
    const form: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(text)) form[k] = v;
    const formToken = form._csrf;
    delete form._csrf;
    return { value: form, bytes, formToken };
  }
  const type = req.headers.get("content-type") ?? "";
  if (text.trim() === "") throw badRequest("The request body is empty; send a JSON object.");
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "Send the body as application/json.");
  }
  try {
    return { value: JSON.parse(text), bytes };
  } catch (e) {
    throw badRequest(`The request body is not valid JSON: ${(e as Error).message}`);
  }
}

export type GuardResult = { ctx: Ctx<unknown, unknown> };

/** Runs the guard for one request and returns the handler's response. Errors are thrown to the caller. */
export async function runRoute(
  app: App,
  def: RouteDef,
  base: Pick<Ctx, "request" | "url" | "params" | "ip" | "requestId" | "log" | "headers" | "upgrade">,
  opts: GuardOptions,
): Promise<Response> {
  const cookies = parseCookies(base.request.headers.get("cookie"));
  const actor = await resolveActor(app, def, base.request, base.url, cookies, base.ip);
  if (def.websocket && actor.kind === "user" && actor.via === "session") checkSocketOrigin(app, base.request, base.url);
  if (opts.tokenRate && actor.kind === "user" && actor.via === "token") {
    const wait = opts.tokenRate.hit(actor.tokenId);
    if (wait) throw tooManyRequests(wait, "This token made too many requests; slow down.");
  }
  const query: Record<string, string> = {};
  for (const [k, v] of base.url.searchParams) if (!(k in query)) query[k] = v;
  const secure = app.config.baseUrl.startsWith("https:");
  let preSession = cookies[CSRF_COOKIE];
  const ctx: Ctx<unknown, unknown> = {
    ...base,
    app,
    query,
    body: undefined,
    bytes: new Uint8Array(0),
    actor,
    project: undefined as unknown as Project,
    access: "none",
    team: undefined as unknown as Team,
    isHtmx: base.request.headers.get("hx-request") === "true",
    csrf() {
      if (actor.kind === "user" && actor.via === "session") return csrfFor(app, actor.sessionId);
      if (!preSession) {
        preSession = randomToken(24);
        base.headers.append("Set-Cookie", setCookie(CSRF_COOKIE, preSession, { secure, maxAge: 86400 }));
      }
      return csrfFor(app, preSession);
    },
  };
  await authorize(def, ctx);
  // A raw upload may be as large as a file may be; it is checked against maxFileBytes when written.
  const limit = def.bodyKind === "raw" ? Math.max(app.config.maxBodyBytes, app.config.maxFileBytes + 1) : app.config.maxBodyBytes;
  const { value, bytes, formToken } = await readBody(def, base.request, limit);
  checkCsrf(def, ctx, cookies, formToken);
  if (def.query) {
    if (!Value.Check(def.query, query)) throw badRequest("Invalid query parameters.", schemaErrors(def.query, query));
  }
  if (def.body && def.bodyKind !== "form") {
    if (!Value.Check(def.body, value)) {
      const details = schemaErrors(def.body, value);
      throw new ApiError(422, "invalid", `Invalid request body: ${Object.entries(details).map(([k, v]) => `${k}: ${v}`).join("; ")}`, details);
    }
  }
  ctx.body = value;
  ctx.bytes = bytes;
  return def.handler(ctx as Ctx<never, never>);
}

/** The signed-in user of a route whose permission already requires one. */
export function userOf(ctx: Pick<Ctx<unknown, unknown>, "actor">): User {
  if (ctx.actor.kind !== "user") throw unauthorized();
  return ctx.actor.user;
}

/** The acting user's id for event records (null for anonymous). */
export function actorIdOf(ctx: Pick<Ctx<unknown, unknown>, "actor">): string | null {
  return ctx.actor.kind === "user" ? ctx.actor.user.id : null;
}
