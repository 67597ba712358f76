/**
 * Environment variables over HTTP (in-process `handle`): sealed at rest across the whole data
 * dir, masking, validation, who may call what, and the settings-page forms.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Project, Team } from "../db/schema.ts";
import { createToken } from "../auth/tokens.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { flushLogs, setLogLevel, setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { createProject } from "./projects.ts";
import { envApiRoutes, envPageRoutes } from "./env-routes.ts";
import { ENV_VALUE_MAX_BYTES, MASK } from "./env.ts";
import { projectPageRoutes } from "./pages.tsx";
import { pageKit, type PageKit, type Person } from "./pages-testkit.ts";

const routes = [...envApiRoutes, ...envPageRoutes, ...projectPageRoutes];

type Who = "owner" | "maintainer" | "member" | "viewer" | "other" | "admin";
let kit: PageKit;
let server: ReturnType<typeof createServer>;
let people: Record<Who, Person>;
const tokens = {} as Record<Who, string>;
let team: Team;
let project: Project;
const logs: string[] = [];

beforeAll(async () => {
  kit = await pageKit(routes);
  setLogSink((text) => logs.push(text));
  setLogLevel("debug");
  server = createServer(kit.app, { routes });
  people = {
    owner: await kit.person("olga"),
    maintainer: await kit.person("max"),
    member: await kit.person("mia"),
    viewer: await kit.person("vic"),
    other: await kit.person("oscar"),
    admin: await kit.person("ada", "admin"),
  };
  const orm = kit.app.db.orm;
  for (const [who, p] of Object.entries(people) as [Who, Person][]) {
    tokens[who] = (await createToken(orm, p.user, { name: "t", scopes: p.user.role === "admin" ? ["read", "write", "admin"] : ["read", "write"], expiresAt: null }, null)).token;
  }
  team = await createTeam(orm, people.owner.user, { name: "Env Crew" });
  await setMember(orm, team.id, people.maintainer.user.id, "maintainer", people.owner.user.id, "owner");
  await setMember(orm, team.id, people.member.user.id, "member", people.owner.user.id, "owner");
  await setMember(orm, team.id, people.viewer.user.id, "viewer", people.owner.user.id, "owner");
  // Public, so that readers and anonymous callers can see the project: env still needs admin.
  project = await createProject(orm, kit.app.config.dataDir, people.owner.user, { name: "Env App", team: team.id, visibility: "public" });
});
afterAll(() => {
  kit.close();
  setLogSink((text) => process.stdout.write(text));
});

async function api(method: string, path: string, who: Who | null, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  const headers: Record<string, string> = {};
  if (who) headers.authorization = `Bearer ${tokens[who]}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await server.handle(new Request(`http://localhost/api/v1/projects/${project.id}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, text };
}

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** The files under the data dir whose bytes contain `needle`, like `grep -rl`. */
function grepDataDir(needle: string): string[] {
  const bytes = Buffer.from(needle, "utf8");
  return filesUnder(kit.app.config.dataDir).filter((f) => readFileSync(f).includes(bytes));
}

describe("sealed at rest", () => {
  test("a secret set through the API (and one through the form) cannot be found by grep -r over the whole data dir, nor in logs or events", async () => {
    const secret = `sk-live-${randomBytes(12).toString("hex")}`;
    const plain = `not-secret-but-sealed-${randomBytes(8).toString("hex")}`;
    const viaForm = `form-secret-${randomBytes(8).toString("hex")}`;
    expect((await api("PUT", "/env/STRIPE_SECRET_KEY_FOR_GREP", "owner", { value: secret, secret: true })).status).toBe(201);
    expect((await api("PUT", "/env/PLAIN_VALUE_FOR_GREP", "owner", { value: plain })).status).toBe(201);
    const form = await kit.post(`/projects/${project.id}/settings/env`, { env_name: "FORM_SECRET_FOR_GREP", env_value: viaForm, env_secret: "on" }, people.owner);
    expect(form.status).toBe(303);
    // Read it back every way there is, and fail once with the value in the body.
    expect((await api("GET", "/env", "owner")).text).not.toContain(secret);
    expect(await (await kit.get(`/projects/${project.id}/settings`, people.owner)).text()).not.toContain(secret);
    expect((await api("PUT", "/env/bad-name", "owner", { value: secret })).status).toBe(422);
    expect((await api("PUT", "/env/ALSO_SECRET", "owner", { value: secret, secret: "yes" })).status).toBe(422);

    // The scan works: the variable's name (not secret) is found in the database files.
    expect(grepDataDir("STRIPE_SECRET_KEY_FOR_GREP").length).toBeGreaterThan(0);
    for (const needle of [secret, plain, viaForm]) expect({ needle, files: grepDataDir(needle) }).toEqual({ needle, files: [] });
    // After a checkpoint the WAL's pages are in wove.db: still nothing.
    await kit.app.db.client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    for (const needle of [secret, plain, viaForm]) expect(grepDataDir(needle)).toEqual([]);

    flushLogs();
    const logText = logs.join("");
    expect(logText).toContain("/api/v1/projects/:id/env/:name"); // requests were logged…
    for (const needle of [secret, plain, viaForm]) expect(logText).not.toContain(needle); // …without values
  });
});

describe("JSON API", () => {
  test("PUT → 201 created, then 200 replaced; GET lists by name with secret values masked", async () => {
    const a = await api("PUT", "/env/DATABASE_URL", "owner", { value: "postgres://app@db/app", secret: true });
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({ name: "DATABASE_URL", value: MASK, secret: true });
    const b = await api("PUT", "/env/DATABASE_URL", "maintainer", { value: "postgres://app@db/other" });
    expect(b.status).toBe(200);
    expect(b.json).toMatchObject({ name: "DATABASE_URL", value: MASK, secret: true }); // stays secret
    expect((await api("PUT", "/env/NODE_ENV", "owner", { value: "production", secret: false })).status).toBe(201);
    const list = await api("GET", "/env", "owner");
    expect(list.status).toBe(200);
    const rows = list.json as { name: string; value: string; secret: boolean; updatedAt: string }[];
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName.DATABASE_URL).toMatchObject({ value: MASK, secret: true });
    expect(byName.NODE_ENV).toMatchObject({ value: "production", secret: false });
    expect(rows.map((r) => r.name)).toEqual([...rows.map((r) => r.name)].sort());
    expect(Object.keys(byName.NODE_ENV ?? {}).sort()).toEqual(["name", "secret", "updatedAt", "value"]);
    expect(list.text).not.toContain("postgres://");
  });

  test("DELETE → 204, then 404", async () => {
    expect((await api("PUT", "/env/TEMP_VAR", "owner", { value: "x" })).status).toBe(201);
    expect((await api("DELETE", "/env/TEMP_VAR", "owner")).status).toBe(204);
    const again = await api("DELETE", "/env/TEMP_VAR", "owner");
    expect(again.status).toBe(404);
    expect(again.json).toMatchObject({ error: { code: "not_found" } });
  });

  test("validation: 422 with field details", async () => {
    const cases: [string, unknown, string][] = [
      ["/env/lower_case", { value: "x" }, "name"],
      ["/env/1STARTS_WITH_DIGIT", { value: "x" }, "name"],
      [`/env/${"A".repeat(129)}`, { value: "x" }, "name"],
      ["/env/TOO_BIG", { value: "x".repeat(ENV_VALUE_MAX_BYTES + 1) }, "value"],
      ["/env/NUL_INSIDE", { value: "a\u0000b" }, "value"],
      ["/env/NO_VALUE", {}, "value"],
      ["/env/NOT_TEXT", { value: 42 }, "value"],
      ["/env/BAD_FLAG", { value: "x", secret: "yes" }, "secret"],
    ];
    for (const [path, body, field] of cases) {
      const r = await api("PUT", path, "owner", body);
      expect({ path, status: r.status, code: (r.json as { error?: { code?: string } }).error?.code }).toEqual({ path, status: 422, code: "invalid" });
      expect(Object.keys((r.json as { error: { details?: Record<string, string> } }).error.details ?? {})).toContain(field);
    }
  });

  test("who may call: project admins (owner, maintainer, instance admin); writers and readers 403; others 403 (public) or 404 (private); anonymous 401", async () => {
    // On a public project a stranger can read it, so env (admin only) is 403 for them; on a private one, 404.
    const got: Record<string, number[]> = {};
    for (const who of ["owner", "maintainer", "admin", "member", "viewer", "other", "anonymous"] as const) {
      const caller = who === "anonymous" ? null : who;
      got[who] = [(await api("GET", "/env", caller)).status, (await api("PUT", "/env/PERM_CHECK", caller, { value: "x" })).status, (await api("DELETE", "/env/NOPE_NOT_THERE", caller)).status];
    }
    expect(got).toEqual({
      owner: [200, 201, 404],
      maintainer: [200, 200, 404],
      admin: [200, 200, 404],
      member: [403, 403, 403],
      viewer: [403, 403, 403],
      other: [403, 403, 403],
      anonymous: [401, 401, 401],
    });

    const priv = await createProject(kit.app.db.orm, kit.app.config.dataDir, people.owner.user, { name: "Private Env", team: team.id, visibility: "private" });
    const call = async (who: Who) =>
      (await server.handle(new Request(`http://localhost/api/v1/projects/${priv.id}/env`, { headers: { authorization: `Bearer ${tokens[who]}` } }))).status;
    expect({ other: await call("other"), member: await call("member"), owner: await call("owner") }).toEqual({ other: 404, member: 403, owner: 200 });
  });
});

describe("settings page", () => {
  const settings = () => `/projects/${project.id}/settings`;

  test("a table of variables: secret ones masked with a badge, plain ones shown, each with a delete button", async () => {
    await kit.post(`${settings()}/env`, { env_name: "SHOWN_VAR", env_value: "hello <world>" }, people.owner);
    await kit.post(`${settings()}/env`, { env_name: "HIDDEN_VAR", env_value: "hidden-value-xyz", env_secret: "on" }, people.owner);
    const body = await (await kit.get(settings(), people.owner)).text();
    expect(body).toContain('id="env-heading"');
    expect(body).toMatch(/<span class="mono">HIDDEN_VAR<\/span> <span class="badge">secret<\/span>/);
    expect(body).not.toContain("hidden-value-xyz");
    expect(body).toContain("hello &lt;world&gt;");
    expect(body).toContain(`action="/projects/${project.id}/settings/env/HIDDEN_VAR/delete"`);
    expect(body).toMatch(/<input type="checkbox" name="env_secret" value="on" checked/); // new variables default to secret
  });

  test("saving redirects back with a note; CRLF from the textarea becomes LF", async () => {
    const res = await kit.post(`${settings()}/env`, { env_name: "MULTI_LINE", env_value: "a\r\nb" }, people.owner);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${settings()}?env_saved=MULTI_LINE#env`);
    expect(await (await kit.get(`${settings()}?env_saved=MULTI_LINE`, people.owner)).text()).toContain("Saved MULTI_LINE.");
    const list = (await api("GET", "/env", "owner")).json as { name: string; value: string }[];
    expect(list.find((v) => v.name === "MULTI_LINE")?.value).toBe("a\nb");
  });

  test("errors are shown beside the fields (422); a secret value is not sent back into the page", async () => {
    const bad = await kit.post(`${settings()}/env`, { env_name: "bad name", env_value: "typed-secret-123", env_secret: "on" }, people.owner);
    expect(bad.status).toBe(422);
    const body = await bad.text();
    expect(body).toMatch(/<div class="field has-error"><label for="f-env_name">Name<\/label>[\s\S]*?id="f-env_name-error" role="alert">Use capital letters/);
    expect(body).not.toContain("typed-secret-123");
    expect(body).toContain("enter it again");
    const plain = await kit.post(`${settings()}/env`, { env_name: "OK_NAME", env_value: "x".repeat(ENV_VALUE_MAX_BYTES + 1) }, people.owner);
    expect(plain.status).toBe(422);
    expect(await plain.text()).toMatch(/id="f-env_value-error" role="alert">Value must be at most 32 KiB/);
  });

  test("delete from the form; deleting again is not an error", async () => {
    const res = await kit.post(`${settings()}/env/SHOWN_VAR/delete`, {}, people.owner);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${settings()}?env_deleted=SHOWN_VAR#env`);
    expect((await kit.post(`${settings()}/env/SHOWN_VAR/delete`, {}, people.owner)).status).toBe(303);
    expect(((await api("GET", "/env", "owner")).json as { name: string }[]).some((v) => v.name === "SHOWN_VAR")).toBe(false);
  });

  test("writers cannot post the forms (403); a crafted note in the URL is ignored", async () => {
    expect((await kit.post(`${settings()}/env`, { env_name: "X", env_value: "y" }, people.member)).status).toBe(403);
    expect((await kit.post(`${settings()}/env/HIDDEN_VAR/delete`, {}, people.member)).status).toBe(403);
    const body = await (await kit.get(`${settings()}?env_saved=${encodeURIComponent("Call 555-1234 now")}`, people.owner)).text();
    expect(body).not.toContain("555-1234");
  });
});
