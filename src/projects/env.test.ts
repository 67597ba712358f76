/** Environment variables, service level: validation, masking, limits, events, the key ring. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { events, projectEnv, type Project, type User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { ApiError } from "../lib/errors.ts";
import { seal } from "../lib/crypto.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { createProject } from "./projects.ts";
import { checkEnv, deleteEnv, ENV_VALUE_MAX_BYTES, ENV_VARS_MAX, envForDeploy, keyRing, listEnv, MASK, setEnv, unsealWithRing } from "./env.ts";

let app: App;
let dir: string;
let user: User;
let project: Project;

beforeAll(async () => {
  ({ app, dir } = await openTempApp("wove-env-"));
  user = await createUser(app.db.orm, { email: "env@example.com", username: "envuser", role: "member" }, null);
  project = await createProject(app.db.orm, dir, user, { name: "Env" });
});
afterAll(() => closeTempApp(app, dir));

const ring = () => keyRing(app.secret, dir);

async function invalidDetails(p: Promise<unknown>): Promise<Record<string, string> | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError && e.status === 422) return e.details;
    throw e;
  }
  throw new Error("expected a 422");
}

describe("names and values", () => {
  test.each([
    ["DATABASE_URL", true],
    ["_PRIVATE", true],
    ["A1_B2", true],
    ["X".repeat(128), true],
    ["X".repeat(129), false],
    ["", false],
    ["1ABC", false],
    ["lower", false],
    ["WITH-DASH", false],
    ["WITH SPACE", false],
    ["ÄRGER", false],
    ["A\u0000B", false],
  ])("%p valid: %p", (name, ok) => {
    expect(checkEnv(name, "v").name === undefined).toBe(ok);
  });

  test("values: up to 32 KiB of UTF-8 (bytes, not characters), no NUL", () => {
    expect(checkEnv("A", "x".repeat(ENV_VALUE_MAX_BYTES))).toEqual({});
    expect(checkEnv("A", "x".repeat(ENV_VALUE_MAX_BYTES + 1)).value).toContain("32 KiB");
    expect(checkEnv("A", "é".repeat(ENV_VALUE_MAX_BYTES / 2 + 1)).value).toContain("32 KiB");
    expect(checkEnv("A", "a\u0000b").value).toContain("NUL");
    expect(checkEnv("A", "").value).toBeUndefined();
    expect(checkEnv("A", "multi\nline").value).toBeUndefined();
  });

  test("setEnv refuses with 422 and field details for both fields at once", async () => {
    const details = await invalidDetails(setEnv(app.db.orm, app.secret, project, "bad-name", { value: "x".repeat(ENV_VALUE_MAX_BYTES + 1) }, user.id));
    expect(Object.keys(details ?? {}).sort()).toEqual(["name", "value"]);
  });
});

describe("set, list, delete", () => {
  test("values are sealed in the database; listing masks secrets and shows the rest", async () => {
    const a = await setEnv(app.db.orm, app.secret, project, "API_TOKEN", { value: "tok-plain-123", secret: true }, user.id);
    expect(a).toMatchObject({ created: true, variable: { name: "API_TOKEN", value: MASK, secret: true } });
    const b = await setEnv(app.db.orm, app.secret, project, "MODE", { value: "production" }, user.id);
    expect(b).toMatchObject({ created: true, variable: { name: "MODE", value: "production", secret: false } });

    const rows = await app.db.orm.select().from(projectEnv).where(eq(projectEnv.projectId, project.id));
    for (const r of rows) {
      expect(r.valueSealed.startsWith("v1.")).toBe(true);
      expect(r.valueSealed).not.toContain("tok-plain-123");
      expect(r.valueSealed).not.toContain("production");
    }
    const list = await listEnv(app.db.orm, ring(), project.id);
    expect(list.map((v) => [v.name, v.value, v.secret])).toEqual([
      ["API_TOKEN", MASK, true],
      ["MODE", "production", false],
    ]);
    expect(Number.isNaN(Date.parse(list[0]?.updatedAt ?? ""))).toBe(false);
  });

  test("replacing: 200-style result (created false); a secret stays secret unless told otherwise", async () => {
    const r = await setEnv(app.db.orm, app.secret, project, "API_TOKEN", { value: "tok-plain-456" }, user.id);
    expect(r).toMatchObject({ created: false, variable: { secret: true, value: MASK } });
    expect((await envForDeploy(app.db.orm, app.secret, project.id)).API_TOKEN).toBe("tok-plain-456");
    const shown = await setEnv(app.db.orm, app.secret, project, "MODE", { value: "staging", secret: false }, user.id);
    expect(shown.variable).toMatchObject({ secret: false, value: "staging" });
    const hidden = await setEnv(app.db.orm, app.secret, project, "MODE", { value: "staging", secret: true }, user.id);
    expect(hidden.variable).toMatchObject({ secret: true, value: MASK });
    await setEnv(app.db.orm, app.secret, project, "MODE", { value: "staging", secret: false }, user.id);
  });

  test("events record the name and whether it is secret, never the value", async () => {
    const rows = await app.db.orm.select().from(events).where(eq(events.projectId, project.id)).orderBy(asc(events.id));
    const env = rows.filter((e) => e.kind.startsWith("project.env_"));
    expect(env.map((e) => e.kind)).toEqual(["project.env_created", "project.env_created", "project.env_updated", "project.env_updated", "project.env_updated", "project.env_updated"]);
    expect(JSON.parse(env[0]?.data ?? "{}")).toEqual({ name: "API_TOKEN", secret: true });
    for (const e of rows) for (const v of ["tok-plain-123", "tok-plain-456", "production", "staging"]) expect(e.data).not.toContain(v);
  });

  test("envForDeploy opens every value", async () => {
    expect(await envForDeploy(app.db.orm, app.secret, project.id)).toEqual({ API_TOKEN: "tok-plain-456", MODE: "staging" });
  });

  test("delete: 404 for an unknown name; an event names it", async () => {
    await deleteEnv(app.db.orm, project, "MODE", user.id);
    expect((await listEnv(app.db.orm, ring(), project.id)).map((v) => v.name)).toEqual(["API_TOKEN"]);
    await expect(deleteEnv(app.db.orm, project, "MODE", user.id)).rejects.toMatchObject({ status: 404 });
    const last = await app.db.orm.select().from(events).where(eq(events.kind, "project.env_deleted")).get();
    expect(JSON.parse(last?.data ?? "{}")).toEqual({ name: "MODE", secret: false });
  });

  test(`at most ${ENV_VARS_MAX} variables per project; replacing one still works at the limit`, async () => {
    const p = await createProject(app.db.orm, dir, user, { name: "Many" });
    for (let i = 0; i < ENV_VARS_MAX; i++) await setEnv(app.db.orm, app.secret, p, `V${i}`, { value: String(i) }, user.id);
    const details = await invalidDetails(setEnv(app.db.orm, app.secret, p, "ONE_MORE", { value: "x" }, user.id));
    expect(details?.name).toContain(String(ENV_VARS_MAX));
    expect((await setEnv(app.db.orm, app.secret, p, "V0", { value: "new" }, user.id)).created).toBe(false);
    // Concurrent creates cannot pass the limit together.
    await deleteEnv(app.db.orm, p, "V1", user.id);
    const results = await Promise.allSettled(["C1", "C2", "C3"].map((n) => setEnv(app.db.orm, app.secret, p, n, { value: "x" }, user.id)));
    expect(results.filter((r) => r.status === "fulfilled").length).toBe(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ status: 422 });
    expect((await listEnv(app.db.orm, ring(), p.id)).length).toBe(ENV_VARS_MAX);
  });
});

describe("the key ring", () => {
  test("a value sealed with a kept old key still opens; one sealed with an unknown key is reported", async () => {
    const p = await createProject(app.db.orm, dir, user, { name: "Ring" });
    const old = randomBytes(32);
    const stranger = randomBytes(32);
    await setEnv(app.db.orm, app.secret, p, "CURRENT", { value: "c" }, user.id);
    const now = Date.now();
    await app.db.orm.insert(projectEnv).values([
      { projectId: p.id, name: "OLD", valueSealed: seal(old, "from-old"), secret: false, createdAt: now, updatedAt: now },
      { projectId: p.id, name: "LOST", valueSealed: seal(stranger, "gone"), secret: false, createdAt: now, updatedAt: now },
    ]);
    expect(unsealWithRing(ring(), seal(old, "x"))).toBeUndefined();
    writeFileSync(join(dir, "secret.key.old-2026-01-01T00-00-00.000Z"), old.toString("base64") + "\n", { mode: 0o600 });
    const list = await listEnv(app.db.orm, ring(), p.id);
    expect(list.map((v) => [v.name, v.value, v.unreadable ?? false])).toEqual([
      ["CURRENT", "c", false],
      ["LOST", "", true],
      ["OLD", "from-old", false],
    ]);
    await expect(envForDeploy(app.db.orm, ring(), p.id)).rejects.toMatchObject({ status: 500, code: "unreadable_secret" });
    await deleteEnv(app.db.orm, p, "LOST", user.id);
    expect(await envForDeploy(app.db.orm, ring(), p.id)).toEqual({ CURRENT: "c", OLD: "from-old" });
  });

  test("ring order: the running key first, then the key file, then old keys newest first; no duplicates", () => {
    const r = keyRing(app.secret, dir);
    expect(r[0]?.equals(app.secret)).toBe(true);
    expect(r.length).toBe(2); // the key file holds the running key; one old key file
  });
});
