/**
 * `wove admin rotate-key`: the round trip, retiring old keys, refusals, and crash injection —
 * a child process rotating a real data dir is SIGKILLed after each step, and every value must
 * still open with the key file or a kept old key; running the command again finishes the job.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import { projectEnv, type Project } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { seal, unseal } from "../lib/crypto.ts";
import { createProject } from "../projects/projects.ts";
import { envForDeploy, keyRing, listEnv, oldKeyFiles, readKeyFile, setEnv } from "../projects/env.ts";
import { forgetOldKeys, rotateKey, RotateKeyError, type RotateStep } from "./rotate-key.ts";

const ROOT = resolve(import.meta.dir, "../..");
const EXPECTED = { API_TOKEN: "tok-rotate-plain-1", DB_URL: "postgres://u:pw-rotate-2@db/x", MODE: "production-rotate-3" };

let open: { app: App; dir: string }[] = [];

afterEach(() => {
  for (const o of open) {
    o.app.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
  open = [];
});

function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "WOVE_SECRET_KEY") env[k] = v;
  return env;
}

async function openDir(dir: string): Promise<App> {
  const app = await openApp(loadConfig({ data: dir }, {}));
  return app;
}

/** A data dir with one project and three variables (one secret). */
async function seeded(): Promise<{ app: App; dir: string; project: Project }> {
  const dir = mkdtempSync(join(tmpdir(), "wove-rotate-"));
  const app = await openDir(dir);
  open.push({ app, dir });
  const user = await createUser(app.db.orm, { email: "rot@example.com", username: "rot", role: "member" }, null);
  const project = await createProject(app.db.orm, dir, user, { name: "Rotate" });
  await setEnv(app.db.orm, app.secret, project, "API_TOKEN", { value: EXPECTED.API_TOKEN, secret: true }, user.id);
  await setEnv(app.db.orm, app.secret, project, "DB_URL", { value: EXPECTED.DB_URL, secret: true }, user.id);
  await setEnv(app.db.orm, app.secret, project, "MODE", { value: EXPECTED.MODE }, user.id);
  return { app, dir, project };
}

async function sealedValues(app: App): Promise<string[]> {
  return (await app.db.orm.select({ v: projectEnv.valueSealed }).from(projectEnv)).map((r) => r.v);
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("rotate-key", () => {
  test("round trip: a new key, every value re-sealed with it, the old key kept 0600", async () => {
    const { app, dir, project } = await seeded();
    const before = readKeyFile(join(dir, "secret.key"));
    const r = await rotateKey({ dataDir: dir, db: app.db, env: {} });
    const after = readKeyFile(join(dir, "secret.key"));
    expect(before && after).toBeTruthy();
    if (!before || !after) return;
    expect(after.equals(before)).toBe(false);
    expect(after.length).toBe(32);
    expect(r.counts).toEqual({ "project environment variables": 3, "AI provider API keys": 0 });
    expect(r.changedMeanwhile).toBe(0);
    expect(readKeyFile(r.oldKeyFile)?.equals(before)).toBe(true);
    expect(mode(r.oldKeyFile)).toBe(0o600);
    expect(mode(join(dir, "secret.key"))).toBe(0o600);
    expect(existsSync(join(dir, "secret.key.new"))).toBe(false);
    // Sealed with the new key alone; the old one opens none of them.
    for (const s of await sealedValues(app)) {
      expect(() => unseal(after, s)).not.toThrow();
      expect(() => unseal(before, s)).toThrow();
    }
    expect(await envForDeploy(app.db.orm, after, project.id)).toEqual(EXPECTED);
    // The server still running with the old key reads everything through the ring.
    expect(await envForDeploy(app.db.orm, keyRing(app.secret, dir), project.id)).toEqual(EXPECTED);
  });

  test("--forget-old re-seals what a not-yet-restarted server wrote with the old key, then deletes the old keys", async () => {
    const { app, dir, project } = await seeded();
    await rotateKey({ dataDir: dir, db: app.db, env: {} });
    // The running server (app.secret is still the old key) saves a value after the rotation.
    await setEnv(app.db.orm, app.secret, project, "LATE", { value: "late-plain", secret: true }, null);
    const current = readKeyFile(join(dir, "secret.key"));
    if (!current) throw new Error("no key file");
    await expect(envForDeploy(app.db.orm, current, project.id)).rejects.toMatchObject({ code: "unreadable_secret" });
    const r = await forgetOldKeys({ dataDir: dir, db: app.db, current });
    expect(r.counts).toEqual({ "project environment variables": 1, "AI provider API keys": 0 });
    expect(r.deleted.length).toBe(1);
    expect(oldKeyFiles(dir)).toEqual([]);
    expect(await envForDeploy(app.db.orm, current, project.id)).toEqual({ ...EXPECTED, LATE: "late-plain" });
  });

  test("rotating twice keeps both old keys; a later --forget-old removes both", async () => {
    const { app, dir, project } = await seeded();
    await rotateKey({ dataDir: dir, db: app.db, env: {} });
    await rotateKey({ dataDir: dir, db: app.db, env: {} });
    expect(oldKeyFiles(dir).length).toBe(2);
    const current = readKeyFile(join(dir, "secret.key"));
    if (!current) throw new Error("no key file");
    expect(await envForDeploy(app.db.orm, current, project.id)).toEqual(EXPECTED);
    expect((await forgetOldKeys({ dataDir: dir, db: app.db, current })).deleted.length).toBe(2);
  });

  test("refuses when the key comes from WOVE_SECRET_KEY, and says how to rotate it", async () => {
    const { app, dir } = await seeded();
    const before = readFileSync(join(dir, "secret.key"));
    const e = await rotateKey({ dataDir: dir, db: app.db, env: { WOVE_SECRET_KEY: randomBytes(32).toString("base64") } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RotateKeyError);
    expect((e as Error).message).toContain("env -u WOVE_SECRET_KEY wove admin rotate-key");
    expect(readFileSync(join(dir, "secret.key")).equals(before)).toBe(true);
    expect(oldKeyFiles(dir)).toEqual([]);
  });

  test("refuses before touching any file when a value opens with no key", async () => {
    const { app, dir, project } = await seeded();
    const now = Date.now();
    await app.db.orm.insert(projectEnv).values({ projectId: project.id, name: "ORPHAN", valueSealed: seal(randomBytes(32), "x"), secret: true, createdAt: now, updatedAt: now });
    const before = readFileSync(join(dir, "secret.key"));
    const e = await rotateKey({ dataDir: dir, db: app.db, env: {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RotateKeyError);
    expect((e as Error).message).toContain(`name=ORPHAN`);
    expect(readFileSync(join(dir, "secret.key")).equals(before)).toBe(true);
    expect(oldKeyFiles(dir)).toEqual([]);
  });
});

describe("rotate-key crash injection (SIGKILL after each step)", () => {
  const script = join(mkdtempSync(join(tmpdir(), "wove-rotate-child-")), "rotate-child.ts");
  writeFileSync(
    script,
    `import { loadConfig } from ${JSON.stringify(join(ROOT, "src/config.ts"))};
import { openApp } from ${JSON.stringify(join(ROOT, "src/core/app.ts"))};
import { rotateKey } from ${JSON.stringify(join(ROOT, "src/cli/rotate-key.ts"))};
const [dataDir, step] = process.argv.slice(2);
const app = await openApp(loadConfig({ data: dataDir }, {}));
await rotateKey({ dataDir, db: app.db, env: {}, onStep: (s) => { if (s === step) process.kill(process.pid, "SIGKILL"); } });
process.exit(3);
`,
  );

  const steps: RotateStep[] = ["old-key-kept", "new-key-written", "key-replaced", "committed"];
  for (const step of steps) {
    test(`killed after "${step}": every value opens with the key file or a kept old key; running again completes`, async () => {
      const { app, dir, project } = await seeded();
      app.close();
      open = open.filter((o) => o.app !== app);
      const child = Bun.spawnSync([process.execPath, script, dir, step], { env: childEnv(), stdout: "pipe", stderr: "pipe" });
      expect({ signal: child.signalCode, stderr: child.stderr.toString() }).toEqual({ signal: "SIGKILL", stderr: "" });

      const again = await openDir(dir);
      open.push({ app: again, dir });
      const fileKey = readKeyFile(join(dir, "secret.key"));
      if (!fileKey) throw new Error("the key file is gone");
      expect(again.secret.subarray(0, 32).equals(fileKey.subarray(0, 32))).toBe(true);
      const ring = keyRing(fileKey, dir);
      expect(ring.length).toBe(1 + oldKeyFiles(dir).filter((f) => !readKeyFile(f)?.equals(fileKey)).length);
      expect(await envForDeploy(again.db.orm, ring, project.id)).toEqual(EXPECTED);
      expect((await listEnv(again.db.orm, ring, project.id)).some((v) => v.unreadable)).toBe(false);

      await rotateKey({ dataDir: dir, db: again.db, env: {} });
      const final = readKeyFile(join(dir, "secret.key"));
      if (!final) throw new Error("the key file is gone");
      expect(await envForDeploy(again.db.orm, final, project.id)).toEqual(EXPECTED);
      for (const f of readdirSync(dir).filter((n) => n.startsWith("secret.key"))) expect(mode(join(dir, f))).toBe(0o600);
    });
  }
});

describe("the command line", () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), ...args], { env: { ...childEnv(), ...env }, stdout: "pipe", stderr: "pipe" });

  test("wove admin rotate-key prints the next steps (restart, CSRF, --forget-old); the env-var key is refused", async () => {
    const { app, dir } = await seeded();
    app.close();
    open = open.filter((o) => o.app !== app);
    const r = run(["admin", "rotate-key", "--data", dir]);
    const out = r.stdout.toString();
    expect({ code: r.exitCode, err: r.stderr.toString() }).toEqual({ code: 0, err: "" });
    expect(out).toContain("re-sealed 3 values");
    expect(out).toContain("Restart Wove");
    expect(out).toContain("CSRF");
    expect(out).toContain("--forget-old");

    const refused = run(["admin", "rotate-key", "--data", dir], { WOVE_SECRET_KEY: randomBytes(32).toString("base64") });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.toString()).toContain("takes its key from WOVE_SECRET_KEY");

    const forget = run(["admin", "rotate-key", "--data", dir, "--forget-old"]);
    expect(forget.exitCode).toBe(0);
    expect(forget.stdout.toString()).toContain("Deleted secret.key.old-");
    rmSync(dir, { recursive: true, force: true });
  });
});
