/**
 * Runs the real Wove server as a child process on a random port with a fresh
 * data directory, and the `wove` CLI against the same directory. Set
 * WOVE_TEST_BINARY=dist/wove to test the compiled executable instead of the
 * sources. The child's output is kept in memory and printed only when a test
 * fails (see `test` in ./quiet.ts), so a green run stays quiet.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { registerOutput, unregisterOutput, type OutputSource } from "./quiet.ts";

export const ROOT = resolve(import.meta.dir, "../..");
const STARTUP_TIMEOUT_MS = 20_000;

/** The command that runs `wove …`: the compiled binary when WOVE_TEST_BINARY is set, else `bun src/main.ts`. */
export function woveCommand(): string[] {
  const bin = process.env.WOVE_TEST_BINARY;
  if (bin) return [resolve(ROOT, bin)];
  return [process.execPath, join(ROOT, "src/main.ts")];
}

/** Environment for the child: inherits ours minus WOVE_* settings that would leak in from the caller's shell. */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("WOVE_")) env[k] = v;
  }
  env.NO_COLOR = "1";
  return { ...env, ...extra };
}

export function freshDataDir(label = "wove-test-"): string {
  return mkdtempSync(join(tmpdir(), label));
}

export type CliResult = { code: number; stdout: string; stderr: string };

/** Runs one `wove` CLI command to completion. */
export async function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; command?: string[] } = {}): Promise<CliResult> {
  const [cmd, ...pre] = opts.command ?? woveCommand();
  const proc = Bun.spawn([cmd as string, ...pre, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: childEnv(opts.env ?? {}),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

function describeCli(args: string[], r: CliResult): string {
  return `wove ${args.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

export type TestUser = { id: string; email: string; password: string; username: string };

let userSeq = 0;

/** `wove admin create-user`; returns the new account (id and username parsed from the CLI's output). */
export async function createUserCli(
  dataDir: string,
  opts: { email?: string; password?: string; role?: "admin" | "member"; name?: string; username?: string } = {},
): Promise<TestUser> {
  userSeq++;
  const email = opts.email ?? `user${userSeq}-${process.pid}@example.com`;
  const password = opts.password ?? "correct horse battery staple";
  const args = ["admin", "create-user", "--data", dataDir, "--email", email, "--password", password, "--role", opts.role ?? "member"];
  if (opts.name) args.push("--name", opts.name);
  if (opts.username) args.push("--username", opts.username);
  const r = await runCli(args);
  const m = /username (\S+), id (\S+)\)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`create-user failed: ${describeCli(args, r)}`);
  return { id: m[2] as string, email, password, username: m[1] as string };
}

/** `wove admin token`; the token is the last line of stdout. */
export async function tokenCli(dataDir: string, email: string, scopes?: string): Promise<string> {
  const args = ["admin", "token", "--data", dataDir, "--email", email];
  if (scopes) args.push("--scopes", scopes);
  const r = await runCli(args);
  const token = r.stdout.trim().split("\n").pop()?.trim() ?? "";
  if (r.code !== 0 || !token.startsWith("wove_")) throw new Error(`admin token failed: ${describeCli(args, r)}`);
  return token;
}

export type ApiResult = { status: number; headers: Headers; text: string; json: unknown };

export type StartOptions = {
  /** Reuse a data dir (restart after a crash); default: a fresh temp dir, removed on stop(). */
  dataDir?: string;
  env?: Record<string, string>;
  /** The executable to run instead of `woveCommand()` (e.g. a freshly built dist/wove). */
  command?: string[];
};

export class TestServer implements OutputSource {
  readonly label: string;
  url = "";
  /** The first-run link printed when no admin exists. */
  setupUrl: string | undefined;
  private out = "";
  private err = "";
  private exit: Promise<number | null>;
  private exited = false;

  private constructor(
    readonly proc: ChildProcess,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
  ) {
    this.label = `wove serve (pid ${proc.pid}, data ${dataDir})`;
    proc.stdout?.setEncoding("utf8");
    proc.stderr?.setEncoding("utf8");
    proc.stdout?.on("data", (s: string) => (this.out += s));
    proc.stderr?.on("data", (s: string) => (this.err += s));
    this.exit = new Promise((res) =>
      proc.once("exit", (code, signal) => {
        this.exited = true;
        res(code ?? (signal ? 128 : null));
      }),
    );
    registerOutput(this);
  }

  static async start(opts: StartOptions = {}): Promise<TestServer> {
    const dataDir = opts.dataDir ?? freshDataDir();
    const [cmd, ...pre] = opts.command ?? woveCommand();
    const proc = spawn(cmd as string, [...pre, "serve", "--port", "0", "--host", "127.0.0.1", "--data", dataDir], {
      cwd: ROOT,
      env: childEnv(opts.env ?? {}),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const s = new TestServer(proc, dataDir, opts.dataDir === undefined);
    try {
      await s.waitForUrl();
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  private async waitForUrl(): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const m = /^Wove is running at (\S+)$/m.exec(this.out);
      if (m) {
        this.url = m[1] as string;
        // The setup link follows on the same write; give it a moment if the pipe split it.
        if (/^No admin exists yet/m.test(this.out) && !/\/setup\?token=/.test(this.out)) await Bun.sleep(50);
        this.setupUrl = /(http\S+\/setup\?token=\S+)/.exec(this.out)?.[1];
        return;
      }
      if (this.exited) throw new Error(`the server exited before it was ready\n${this.output()}`);
      await Bun.sleep(20);
    }
    throw new Error(`the server did not print its URL within ${STARTUP_TIMEOUT_MS} ms\n${this.output()}`);
  }

  output(): string {
    return `--- stdout\n${this.out}\n--- stderr\n${this.err}`;
  }

  /** Everything the server wrote to stdout so far. */
  stdout(): string {
    return this.out;
  }

  stderr(): string {
    return this.err;
  }

  /** Plain fetch against the server; `path` is relative to its URL. */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(this.url + path, { redirect: "manual", ...init });
  }

  /** A JSON API call with an optional bearer token; a non-string body is sent as JSON. */
  async api(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResult> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    let body: BodyInit | undefined;
    if (typeof opts.body === "string" || opts.body instanceof Uint8Array) body = opts.body as BodyInit;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] ??= "application/json";
    }
    const res = await this.fetch(path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, json: parsed };
  }

  createUser(opts: Parameters<typeof createUserCli>[1] = {}): Promise<TestUser> {
    return createUserCli(this.dataDir, opts);
  }

  token(email: string, scopes?: string): Promise<string> {
    return tokenCli(this.dataDir, email, scopes);
  }

  /** SIGKILL: no shutdown hooks run, as in a crash or power loss of the process. */
  async kill9(): Promise<void> {
    if (!this.exited) this.proc.kill("SIGKILL");
    await this.exit;
  }

  /** Stops the process (SIGTERM, then SIGKILL after 5 s); keeps the data dir. */
  async halt(): Promise<number | null> {
    if (!this.exited) {
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
      const code = await this.exit;
      clearTimeout(timer);
      return code;
    }
    return this.exit;
  }

  /** Teardown: stop the process and remove the data dir when this server created it. */
  async stop(): Promise<void> {
    await this.halt();
    unregisterOutput(this);
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Waits until `fn` returns true (polling), or throws after `ms`. */
export async function waitFor(what: string, fn: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/**
 * Sends one HTTP/1.1 request over a plain socket, byte for byte — for paths a
 * URL parser would normalise (a literal `../`). Returns the status and body.
 */
export async function rawHttp(baseUrl: string, head: string, body = ""): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(baseUrl);
  const { connect } = await import("node:net");
  return new Promise((resolvePromise, reject) => {
    const sock = connect(Number(port), hostname);
    let data = "";
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => (data += d));
    sock.on("error", reject);
    sock.on("end", () => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
      resolvePromise({ status, text: data.slice(data.indexOf("\r\n\r\n") + 4) });
    });
    const len = Buffer.byteLength(body);
    sock.write(`${head}\r\nHost: ${hostname}:${port}\r\nConnection: close\r\nContent-Length: ${len}\r\n\r\n${body}`);
  });
}
