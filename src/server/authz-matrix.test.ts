/**
 * The authorization matrix: every route of the route table × every kind of
 * caller → the status the route's declared permission implies (the rules of
 * `authorize` in guard.ts). Generated from `allRoutes`, so a new route is
 * covered the moment it is added — and one without a known permission fails.
 *
 *   anonymous   api → 401, page → 303 to /login?next=… (public routes: allowed)
 *   project:*   no access → 404, too little → 403       (private team project)
 *   team:*      not a member → 404, too little → 403
 *   admin       not an instance admin → 403
 *   user        any signed-in account
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { allRoutes } from "./routes.ts";
import { PERMISSIONS, route, type Permission, type RouteDef } from "./guard.ts";
import { createServer } from "./server.ts";
import { ACTORS, openHarness, request, type ActorName, type Credential, type Harness, type World } from "../../test/helpers/matrix-fixture.ts";

type Expectation = { kind: "allow" } | { kind: "login" } | { kind: "status"; status: 403 | 404 };

const PROJECT_LEVEL: Record<ActorName, 0 | 1 | 2 | 3> = { anonymous: 0, other: 0, viewer: 1, member: 2, maintainer: 3, owner: 3, admin: 3 };
const TEAM_LEVEL: Record<ActorName, 0 | 1 | 2> = { anonymous: 0, other: 0, viewer: 1, member: 1, maintainer: 2, owner: 2, admin: 2 };
const NEED: Record<string, number> = { "project:read": 1, "project:write": 2, "project:admin": 3, "team:read": 1, "team:manage": 2 };

/** What `permission` implies for `actor` on the fixture (a private project owned by the team). */
export function expectedFor(permission: Permission, actor: ActorName): Expectation {
  const allow = { kind: "allow" } as const;
  const login = { kind: "login" } as const;
  switch (permission) {
    case "public":
      return allow;
    case "user":
      return actor === "anonymous" ? login : allow;
    case "admin":
      return actor === "anonymous" ? login : actor === "admin" ? allow : { kind: "status", status: 403 };
    case "project:read":
    case "project:write":
    case "project:admin": {
      const level = PROJECT_LEVEL[actor];
      if (level === 0) return actor === "anonymous" ? login : { kind: "status", status: 404 };
      return level >= (NEED[permission] ?? 99) ? allow : { kind: "status", status: 403 };
    }
    case "team:read":
    case "team:manage": {
      if (actor === "anonymous") return login;
      const level = TEAM_LEVEL[actor];
      if (level === 0) return { kind: "status", status: 404 };
      return level >= (NEED[permission] ?? 99) ? allow : { kind: "status", status: 403 };
    }
    default: {
      const unknown: never = permission;
      throw new Error(`the authorization matrix does not know the permission ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Allowed callers that legitimately get a 404 from the handler, with the reason.
 * Anything else that is "allowed" must not answer 404.
 */
const LEGIT_404: Record<string, { reason: string; actors?: ActorName[] }> = {
  "GET /setup": { reason: "the fixture has an admin, so the first-run setup page no longer exists" },
  "POST /setup": { reason: "the fixture has an admin, so the first-run setup page no longer exists" },
  "GET /signup": { reason: "self-signup is off by default (WOVE_ALLOW_SIGNUP)" },
  "POST /signup": { reason: "self-signup is off by default (WOVE_ALLOW_SIGNUP)" },
  "POST /teams/:id/leave": { reason: "the instance admin manages the team without being a member, so there is nothing to leave", actors: ["admin"] },
};

function legit404(def: RouteDef, actor: ActorName): boolean {
  const entry = LEGIT_404[describeRoute(def)];
  return entry !== undefined && (entry.actors === undefined || entry.actors.includes(actor));
}

/** The readable part of an error response: the JSON message, or the page's main text. */
function excerpt(body: string): string {
  const main = /<main[\s\S]*<\/main>/.exec(body)?.[0] ?? body;
  return main
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 200);
}

function describeRoute(def: RouteDef): string {
  return `${def.method} ${def.path}`;
}

/** Checks the table itself; returns the problems (empty when sound). */
export function routeTableProblems(routes: RouteDef[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const def of routes) {
    const name = describeRoute(def);
    if (!PERMISSIONS.includes(def.permission)) problems.push(`${name}: permission ${JSON.stringify(def.permission)} is not one of ${PERMISSIONS.join(", ")}`);
    else {
      try {
        for (const a of ACTORS) expectedFor(def.permission, a);
      } catch (e) {
        problems.push(`${name}: ${(e as Error).message}`);
      }
    }
    if (def.kind !== "api" && def.kind !== "page") problems.push(`${name}: kind must be "api" or "page"`);
    if (!["GET", "POST", "PUT", "PATCH", "DELETE"].includes(def.method)) problems.push(`${name}: unknown method`);
    if (!def.summary?.trim()) problems.push(`${name}: no summary`);
    if (/:id\b/.test(def.path) && !/^(project|team):/.test(def.permission)) problems.push(`${name}: ":id" names a project or team, but the permission is ${def.permission}`);
    if (def.path.startsWith("/api/v1/") && def.kind !== "api") problems.push(`${name}: routes under /api/v1/ are kind "api" (JSON errors, 401s)`);
    if (seen.has(name)) problems.push(`${name}: declared twice`);
    seen.add(name);
  }
  return problems;
}

let h: Harness;
let world: World;
let dirty = true;

async function freshWorld(): Promise<World> {
  if (dirty) {
    world = await h.newWorld();
    dirty = false;
  }
  return world;
}

beforeAll(async () => {
  h = await openHarness(allRoutes);
});
// Removing hundreds of fixture projects (each a git repository) takes a few seconds.
afterAll(() => h?.close(), 60_000);

type Row = { actor: ActorName; credential: Credential; expected: string; got: string; detail: string };

function outcome(def: RouteDef, res: Response): string {
  const loc = res.headers.get("location") ?? "";
  if (res.status === 303 && loc.startsWith("/login?next=")) return "login";
  if (def.kind === "api" && res.status === 401) return "login";
  return String(res.status);
}

const ERROR_CODE: Record<number, string> = { 401: "unauthorized", 403: "forbidden", 404: "not_found" };

/** A refusal in the route's own language: the JSON error shape for the API, an HTML page otherwise. */
function refusalShaped(def: RouteDef, res: Response, body: string): boolean {
  if (res.status === 303) return true;
  if (def.kind === "page") return (res.headers.get("content-type") ?? "").startsWith("text/html");
  try {
    const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
    return e?.code === ERROR_CODE[res.status] && typeof e?.message === "string";
  } catch {
    return false;
  }
}

function matches(def: RouteDef, actor: ActorName, exp: Expectation, res: Response, got: string, body: string): boolean {
  if (exp.kind === "login") return got === "login" && refusalShaped(def, res, body);
  if (exp.kind === "status") return res.status === exp.status && refusalShaped(def, res, body);
  // A 5xx passes only when the route documents it (deploying answers 503 where deploying is off).
  const documented5xx = res.status >= 500 && def.responses?.[res.status] !== undefined;
  if (got === "login" || res.status === 401 || res.status === 403 || (res.status >= 500 && !documented5xx)) return false;
  return res.status !== 404 || legit404(def, actor);
}

/**
 * Git over HTTP (routes with `basicAuth`) decides access in the handler, from the API token
 * only: cookies never authorise git. Clone/fetch need project read, push needs write.
 */
export function expectedForGit(def: RouteDef, actor: ActorName, credential: Credential): Expectation {
  if (actor === "anonymous" || credential === "session") return { kind: "login" };
  const level = PROJECT_LEVEL[actor];
  if (level === 0) return { kind: "status", status: 404 };
  return level >= (def.path.endsWith("/git-receive-pack") ? 2 : 1) ? { kind: "allow" } : { kind: "status", status: 403 };
}

async function runRow(def: RouteDef, actor: ActorName, credential: Credential): Promise<Row> {
  const w = await freshWorld();
  h.takeLogs();
  const res = await h.handle(request(h.app, def, w, actor, credential));
  const body = await res.text();
  const exp = def.basicAuth
    ? expectedForGit(def, actor, credential)
    : def.signedIn && actor === "anonymous"
      ? ({ kind: "login" } as const)
      : expectedFor(def.permission, actor);
  const got = outcome(def, res);
  const ok = matches(def, actor, exp, res, got, body);
  // A write that went through changed the world: the next row gets a fresh one.
  if (def.method !== "GET" && res.status < 400 && got !== "login") dirty = true;
  const expected = exp.kind === "allow" ? "allowed" : exp.kind === "login" ? (def.kind === "api" ? "401" : "303 → /login") : String(exp.status);
  let detail = "";
  if (!ok) {
    const errors = h.takeLogs().filter((l) => l.includes('"level":"error"'));
    detail = `${excerpt(body)}${errors.length ? ` | log: ${errors.join(" ").slice(0, 600)}` : ""}`;
  }
  return { actor, credential, expected, got: ok ? "ok" : got, detail };
}

describe("the route table", () => {
  test("every route declares a permission the matrix knows, a kind, a summary; no duplicates", () => {
    expect(allRoutes.length).toBeGreaterThan(10);
    expect(routeTableProblems(allRoutes)).toEqual([]);
  });

  test("a route without a permission, or with an unknown one, is caught (here and by createServer)", () => {
    const base = allRoutes[0] as RouteDef;
    const missing = { ...base, path: "/no-permission", permission: undefined } as unknown as RouteDef;
    const unknown = { ...base, path: "/weird-permission", permission: "project:own" } as unknown as RouteDef;
    expect(routeTableProblems([missing]).join()).toContain("is not one of");
    expect(routeTableProblems([unknown]).join()).toContain("is not one of");
    expect(() => createServer(h.app, { routes: [missing] })).toThrow();
    expect(() => createServer(h.app, { routes: [unknown] })).toThrow();
  });

  test("every permission kind is exercised by at least one route", () => {
    const used = new Set(allRoutes.map((r) => r.permission));
    expect(PERMISSIONS.filter((p) => !used.has(p))).toEqual([]);
  });
});

describe("authorization matrix: route × actor → status", () => {
  for (const def of allRoutes) {
    const credentials: Credential[] = def.kind === "api" ? ["bearer", "session"] : ["session"];
    test(describeRoute(def) + `  [${def.permission}]`, async () => {
      const failures: Row[] = [];
      for (const credential of credentials) {
        for (const actor of ACTORS) {
          if (actor === "anonymous" && credential === "session" && credentials.length > 1) continue;
          const row = await runRow(def, actor, credential);
          if (row.got !== "ok") failures.push(row);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});

describe("token scopes narrow what a token may do", () => {
  // POST …/git-upload-pack is a read (a clone): its route declares scope "read".
  const writes = allRoutes.filter((r) => r.kind === "api" && r.method !== "GET" && r.scope !== "read");
  test("a read-only token gets 403 on every API write, even for an instance admin", async () => {
    expect(writes.length).toBeGreaterThan(5);
    const wrong: string[] = [];
    for (const def of writes) {
      const w = await freshWorld();
      const res = await h.handle(request(h.app, def, w, "admin", "bearer", { readOnlyToken: true }));
      const body = (await res.json()) as { error?: { code?: string } };
      if (res.status !== 403 || body.error?.code !== "forbidden") wrong.push(`${describeRoute(def)} → ${res.status}`);
      if (res.status < 400) dirty = true;
    }
    expect(wrong).toEqual([]);
  });

  test("a read-only token still reads every API GET it is entitled to", async () => {
    const wrong: string[] = [];
    for (const def of allRoutes.filter((r) => r.kind === "api" && r.method === "GET")) {
      const w = await freshWorld();
      const res = await h.handle(request(h.app, def, w, "owner", "bearer", { readOnlyToken: true }));
      await res.arrayBuffer();
      const exp = expectedFor(def.permission, "owner");
      if (exp.kind === "allow" && (res.status === 401 || res.status === 403)) wrong.push(`${describeRoute(def)} → ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });

  test("an admin's token without the admin scope gets 403 on admin routes", async () => {
    const w = await freshWorld();
    const { createToken } = await import("../auth/tokens.ts");
    const { token } = await createToken(h.app.db.orm, w.actors.admin.user, { name: "no-admin-scope", scopes: ["read", "write"], expiresAt: null }, null);
    const adminRoutes = allRoutes.filter((r) => r.kind === "api" && r.permission === "admin");
    expect(adminRoutes.length).toBeGreaterThan(0);
    for (const def of adminRoutes) {
      const req = request(h.app, def, w, "admin", "bearer");
      req.headers.set("authorization", `Bearer ${token}`);
      const res = await h.handle(req);
      expect({ route: describeRoute(def), status: res.status }).toEqual({ route: describeRoute(def), status: 403 });
    }
  });
});

describe("CSRF: cookie-authenticated writes need the session's token", () => {
  const cookieWrites = allRoutes.filter((r) => r.method !== "GET" && !r.csrfExempt);
  const forgeries: [string, (req: Request, w: World) => Request][] = [
    ["no token at all", (req) => withHeaders(req, { "x-csrf-token": null })],
    ["a forged token in the header", (req) => withHeaders(req, { "x-csrf-token": "forged-token-value" })],
    ["another session's token in the header", (req, w) => withHeaders(req, { "x-csrf-token": w.actors.other.csrf })],
  ];

  function withHeaders(req: Request, set: Record<string, string | null>): Request {
    const headers = new Headers(req.headers);
    for (const [k, v] of Object.entries(set)) v === null ? headers.delete(k) : headers.set(k, v);
    return new Request(req, { headers });
  }

  test("every cookie-authenticated write is refused with 403 csrf_failed without a valid token", async () => {
    expect(cookieWrites.length).toBeGreaterThan(5);
    const wrong: string[] = [];
    for (const def of cookieWrites) {
      for (const [what, forge] of forgeries) {
        const w = await freshWorld();
        // The instance admin passes every permission, so only CSRF can stop the request.
        const res = await h.handle(forge(request(h.app, def, w, "admin", "session"), w));
        const text = await res.text();
        if (res.status !== 403 || !/csrf|security token/i.test(text)) wrong.push(`${describeRoute(def)} with ${what} → ${res.status}`);
        if (res.status < 400) dirty = true;
      }
    }
    expect(wrong).toEqual([]);
  });

  /** The guard's form path on its own, independent of which pages exist. */
  const probe = route({
    method: "POST",
    path: "/matrix/form-probe",
    permission: "user",
    kind: "page",
    summary: "CSRF probe",
    bodyKind: "form",
    handler: () => new Response("done", { status: 200 }),
  });

  test("form posts: a forged _csrf form field is refused with 403; the real one passes", async () => {
    const forms = [...allRoutes.filter((r) => r.bodyKind === "form" && !r.csrfExempt), probe];
    const server = createServer(h.app, { routes: [...allRoutes, probe] });
    const wrong: string[] = [];
    for (const def of forms) {
      const w = await freshWorld();
      const actor: ActorName = def.permission === "public" ? "anonymous" : "admin";
      const base = request(h.app, def, w, actor, "session");
      const headers = new Headers(base.headers);
      headers.delete("x-csrf-token");
      const fields = new URLSearchParams(await base.clone().text());
      const real = actor === "anonymous" ? (base.headers.get("x-csrf-token") ?? "") : w.actors.admin.csrf;
      for (const fake of ["forged" + real.slice(6), w.actors.other.csrf, ""]) {
        fields.set("_csrf", fake);
        const forged = await server.handle(new Request(base.url, { method: def.method, headers, body: fields.toString() }));
        if (forged.status !== 403) wrong.push(`${describeRoute(def)} with _csrf=${JSON.stringify(fake.slice(0, 12))}… → ${forged.status}`);
      }
      fields.set("_csrf", real);
      const genuine = await server.handle(new Request(base.url, { method: def.method, headers, body: fields.toString() }));
      if (genuine.status === 403) wrong.push(`${describeRoute(def)} genuine _csrf → 403 ${(await genuine.text()).slice(0, 120)}`);
      if (genuine.status < 400) dirty = true;
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  test("bearer-token writes need no CSRF token (a token is not an ambient credential)", async () => {
    const w = await freshWorld();
    const def = allRoutes.find((r) => r.method === "POST" && r.path === "/api/v1/projects") as RouteDef;
    const req = request(h.app, def, w, "member", "bearer");
    req.headers.delete("x-csrf-token");
    expect((await h.handle(req)).status).toBe(201);
    dirty = true;
  });
});
