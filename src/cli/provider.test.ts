/** `wove admin provider add`: flags and usage errors, exit codes, and adding while a server runs on the same data dir. */
import { afterEach, describe, expect, test } from "bun:test";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import { createUser } from "../auth/users.ts";
import { createToken } from "../auth/tokens.ts";
import { createServer } from "../server/server.ts";
import { setLogSink } from "../lib/log.ts";
import { unseal } from "../lib/crypto.ts";
import { aiAdminApiRoutes } from "../ai/admin-api-routes.ts";
import { freshDataDir, TestServer } from "../../test/helpers/server.ts";
import { closeTempApp } from "../../test/helpers/temp-app.ts";
import { parseFlags, UsageError } from "./args.ts";
import { PROVIDER_COMMANDS, providerAction, providerAdd, providerAddFlags } from "./provider.ts";

const spec = PROVIDER_COMMANDS["admin provider"]!;
let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

function parse(argv: string[]) {
  const { action, rest } = providerAction(argv);
  const flags = parseFlags(rest, spec);
  return flags === undefined ? "help" : providerAddFlags(action, flags);
}

function captured(): { out: string[]; err: string[]; io: { print: (l: string) => void; printError: (l: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { print: (l) => out.push(l), printError: (l) => err.push(l) } };
}

describe("flags", () => {
  test("add with every flag", () => {
    expect(parse(["add", "--data", "/d", "--id", "local", "--kind", "ollama", "--url", "http://127.0.0.1:11434", "--api-key=k", "--name", "Local"])).toEqual({
      id: "local",
      kind: "ollama",
      url: "http://127.0.0.1:11434",
      apiKey: "k",
      name: "Local",
    });
    expect(parse(["add", "--help"])).toBe("help");
    expect(parse(["--help"])).toBe("help");
  });

  test.each([
    [["add", "--data", "/d", "--id", "x", "--kind", "ollama"], "--url is required"],
    [["add", "--data", "/d", "--id", "x", "--kind", "ollama", "--url", "u", "--colour", "red"], "unknown flag --colour"],
    [["add", "--data", "/d", "--id", "x", "--kind", "ollama", "--url"], "--url needs a value"],
    [["add", "stray", "--data", "/d"], 'unexpected argument "stray"'],
  ])("%p is a usage error", (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });

  test("a missing or unknown action is reported for the usage text", () => {
    expect(parse(["--data", "/d", "--id", "x", "--kind", "k", "--url", "u"])).toContain("missing the action");
    expect(parse(["remove", "--data", "/d", "--id", "x", "--kind", "k", "--url", "u"])).toContain('unknown action "remove"');
  });
});

describe("providerAdd", () => {
  test("adds with a sealed key (exit 0), refuses a taken id (exit 1) and bad input per flag (exit 2)", async () => {
    const dir = freshDataDir("wove-cli-provider-");
    const config = loadConfig({ data: dir }, {});
    let app: App | undefined;
    cleanup.push(() => closeTempApp(app, dir));
    const ok = captured();
    expect(await providerAdd(config, { id: "remote", kind: "openai-compatible", url: "http://10.0.0.9:8000/v1", apiKey: "sk-cli-123" }, ok.io)).toBe(0);
    expect(ok.out[0]).toBe("added provider remote (openai-compatible) at http://10.0.0.9:8000/v1, position 1, API key stored sealed");
    const dup = captured();
    expect(await providerAdd(config, { id: "remote", kind: "ollama", url: "http://127.0.0.1:11434" }, dup.io)).toBe(1);
    expect(dup.err.join("\n")).toContain("already exists");
    const bad = captured();
    expect(await providerAdd(config, { id: "X", kind: "gopher", url: "http://169.254.169.254/", apiKey: "" }, bad.io)).toBe(2);
    const text = bad.err.join("\n");
    for (const flag of ["--id:", "--kind:", "--url:"]) expect(text).toContain(flag);
    const claude = captured();
    expect(await providerAdd(config, { id: "claude", kind: "anthropic", url: "https://api.anthropic.com" }, claude.io)).toBe(2);
    expect(claude.err.join("\n")).toContain("--api-key: Anthropic needs an API key");
    app = await openApp(config);
    const rs = await app.db.client.execute("SELECT id, api_key_sealed FROM ai_providers");
    expect(rs.rows.map((r) => r[0])).toEqual(["remote"]);
    expect(String(rs.rows[0]?.[1])).not.toContain("sk-cli-123");
    expect(unseal(app.secret, String(rs.rows[0]?.[1]))).toBe("sk-cli-123");
  });

  test("while a server has the data dir open, the new provider shows up in its API at once", async () => {
    setLogSink(() => {});
    cleanup.push(() => setLogSink((text) => process.stdout.write(text)));
    const dir = freshDataDir("wove-cli-provider-live-");
    const config = loadConfig({ data: dir }, {});
    const app = await openApp(config);
    cleanup.push(() => closeTempApp(app, dir));
    const server = createServer(app, { routes: aiAdminApiRoutes });
    const admin = await createUser(app.db.orm, { email: "ops@example.com", role: "admin" }, null);
    const token = (await createToken(app.db.orm, admin, { name: "t", scopes: ["read", "write", "admin"], expiresAt: null }, null)).token;
    const list = async () => {
      const res = await server.handle(new Request("http://wove.test/api/v1/admin/providers", { headers: { authorization: `Bearer ${token}` } }));
      return ((await res.json()) as { id: string }[]).map((p) => p.id);
    };
    expect(await list()).toEqual([]);
    expect(await providerAdd(config, { id: "local", kind: "ollama", url: "http://127.0.0.1:11434" }, captured().io)).toBe(0);
    expect(await list()).toEqual(["local"]);
  });

  test("works next to a real `wove serve` process on the same data dir", async () => {
    const server = await TestServer.start();
    cleanup.push(() => server.stop());
    const config = loadConfig({ data: server.dataDir }, {});
    const out = captured();
    expect(await providerAdd(config, { id: "lan-box", kind: "ollama", url: "http://192.168.1.50:11434", name: "LAN box" }, out.io)).toBe(0);
    expect(out.out[0]).toContain("added provider lan-box (ollama)");
    expect((await server.fetch("/healthz")).status).toBe(200);
  }, 30_000);
});
