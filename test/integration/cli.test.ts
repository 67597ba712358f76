/**
 * The `wove` command line as a user runs it: help and version, usage errors
 * (exit 2, usage on stderr), config precedence, and admin commands on the data
 * dir of a running server.
 */
import { afterAll, describe, expect } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "../helpers/quiet.ts";
import { freshDataDir, ROOT, runCli, TestServer } from "../helpers/server.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = freshDataDir("wove-cli-");
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SUBCOMMANDS = [
  ["serve", "wove serve"],
  ["migrate", "wove migrate"],
  ["admin create-user", "wove admin create-user"],
  ["admin token", "wove admin token"],
] as const;

describe("help and version", () => {
  test("--version prints the package version and exits 0", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toContain(pkg.version);
    expect(r.stderr).toBe("");
  });

  test("help (and no arguments) lists every command and exits 0", async () => {
    for (const args of [["help"], ["--help"], []]) {
      const r = await runCli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 0 });
      for (const [name] of SUBCOMMANDS) expect(r.stdout).toContain(name);
    }
  });

  for (const [name, usage] of SUBCOMMANDS) {
    test(`${name} --help prints its usage and exits 0`, async () => {
      const r = await runCli([...name.split(" "), "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: ${usage}`);
      expect(r.stdout).toContain("--data");
      const viaHelp = await runCli(["help", ...name.split(" ")]);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toContain(`Usage: ${usage}`);
    });
  }
});

describe("usage errors exit 2 with usage on stderr", () => {
  const cases: [string, string[]][] = [
    ["unknown flag on serve", ["serve", "--bogus"]],
    ["unknown flag on migrate", ["migrate", "--data", "/tmp/x", "--verbose"]],
    ["unknown flag on create-user", ["admin", "create-user", "--data", "/tmp/x", "--email", "a@b.co", "--password", "long enough pw", "--role", "admin", "--admin"]],
    ["missing required --email", ["admin", "create-user", "--data", "/tmp/x", "--password", "long enough pw", "--role", "member"]],
    ["missing required --data", ["admin", "token", "--email", "a@b.co"]],
    ["a flag without its value", ["admin", "token", "--data", "/tmp/x", "--email"]],
    ["a bad --role value", ["admin", "create-user", "--data", "/tmp/x", "--email", "a@b.co", "--password", "long enough pw", "--role", "owner"]],
    ["a bad --port value", ["serve", "--port", "eighty"]],
    ["a --port out of range", ["serve", "--port", "70000"]],
    ["a stray argument", ["migrate", "now"]],
  ];
  for (const [what, args] of cases) {
    test(what, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("Usage: wove");
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toContain("    at "); // no stack trace
    });
  }

  test("an unknown command exits 2 and names it", async () => {
    const r = await runCli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("frobnicate");
    expect(r.stderr).toContain("Usage: wove");
  });

  test("a bad value from the environment is a usage error too", async () => {
    const r = await runCli(["serve", "--data", tempDir()], { env: { WOVE_PORT: "not-a-port" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("port");
  });
});

describe("migrate and config precedence", () => {
  test("migrate creates the database, then reports it up to date", async () => {
    const d = tempDir();
    const first = await runCli(["migrate", "--data", d]);
    expect(first.code).toBe(0);
    expect(existsSync(join(d, "wove.db"))).toBe(true);
    const second = await runCli(["migrate", "--data", d]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("up to date");
  });

  test("--data beats WOVE_DATA_DIR; WOVE_DATA_DIR beats the default", async () => {
    const byFlag = tempDir();
    const byEnv = tempDir();
    expect((await runCli(["migrate", "--data", byFlag], { env: { WOVE_DATA_DIR: byEnv } })).code).toBe(0);
    expect(existsSync(join(byFlag, "wove.db"))).toBe(true);
    expect(existsSync(join(byEnv, "wove.db"))).toBe(false);
    expect((await runCli(["migrate"], { env: { WOVE_DATA_DIR: byEnv } })).code).toBe(0);
    expect(existsSync(join(byEnv, "wove.db"))).toBe(true);
  });

  test("--port beats WOVE_PORT", async () => {
    const srv = await TestServer.start({ env: { WOVE_PORT: "1" } });
    try {
      // Port 1 would need root and was not used: the flag (--port 0, a free port) won.
      expect(new URL(srv.url).port).not.toBe("1");
      expect((await srv.fetch("/healthz")).status).toBe(200);
    } finally {
      await srv.stop();
    }
  });
});

describe("admin commands", () => {
  test("create-user refuses a duplicate email (exit 1) and a weak password (exit 2), without stack traces", async () => {
    const d = tempDir();
    const args = ["admin", "create-user", "--data", d, "--email", "dup@example.com", "--password", "correct horse battery", "--role", "member"];
    expect((await runCli(args)).code).toBe(0);
    const again = await runCli(args);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already|taken|exists/i);
    const weak = await runCli(["admin", "create-user", "--data", d, "--email", "weak@example.com", "--password", "short", "--role", "member"]);
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain("--password");
    for (const r of [again, weak]) expect(r.stderr).not.toContain("    at ");
  });

  test("token for an unknown email exits 1 with a clear message", async () => {
    const d = tempDir();
    await runCli(["migrate", "--data", d]);
    const r = await runCli(["admin", "token", "--data", d, "--email", "ghost@example.com"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ghost@example.com");
  });

  test("token --scopes and --expires are honoured; a bad scope is a usage error", async () => {
    const d = tempDir();
    await runCli(["admin", "create-user", "--data", d, "--email", "s@example.com", "--password", "correct horse battery", "--role", "member"]);
    const ok = await runCli(["admin", "token", "--data", d, "--email", "s@example.com", "--scopes", "read", "--expires", "1h"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("scopes read,");
    expect(ok.stdout.trim().split("\n").pop()).toMatch(/^wove_\S+$/);
    const bad = await runCli(["admin", "token", "--data", d, "--email", "s@example.com", "--scopes", "root"]);
    expect(bad.code).toBe(2);
    const noAdmin = await runCli(["admin", "token", "--data", d, "--email", "s@example.com", "--scopes", "admin"]);
    expect(noAdmin.code).not.toBe(0);
  });

  test("create-user and token work while the server runs; the new token is accepted at once", async () => {
    const srv = await TestServer.start();
    try {
      expect(srv.setupUrl).toBeDefined(); // no admin yet
      // Create accounts in parallel with API traffic to exercise the shared database file.
      const load = (async () => {
        for (let i = 0; i < 40; i++) expect((await srv.fetch("/readyz")).status).toBe(200);
      })();
      const admin = await srv.createUser({ role: "admin", email: "boss@example.com" });
      const member = await srv.createUser({ role: "member", email: "pat@example.com" });
      await load;
      const adminToken = await srv.token(admin.email);
      const me = await srv.api("GET", "/api/v1/me", { token: adminToken });
      expect(me.status).toBe(200);
      expect(me.json).toMatchObject({ email: "boss@example.com", role: "admin" });
      const users = await srv.api("GET", "/api/v1/users", { token: adminToken });
      expect(users.status).toBe(200);
      expect((users.json as { email: string }[]).map((u) => u.email).sort()).toEqual(["boss@example.com", "pat@example.com"]);
      const memberToken = await srv.token(member.email);
      const created = await srv.api("POST", "/api/v1/projects", { token: memberToken, body: { name: "Made While Serving" } });
      expect(created.status).toBe(201);
      // And the other way round: an account made through the API gets a CLI token.
      const viaApi = await srv.api("POST", "/api/v1/users", { token: adminToken, body: { email: "api@example.com", password: "correct horse battery", role: "member" } });
      expect(viaApi.status).toBe(201);
      const apiUserToken = await srv.token("api@example.com");
      expect((await srv.api("GET", "/api/v1/me", { token: apiUserToken })).json).toMatchObject({ email: "api@example.com" });
    } finally {
      await srv.stop();
    }
  });
});
