/**
 * Caddy for Wove's apps, two ways:
 * - managed (WOVE_CADDY=managed): Wove runs the `caddy` binary itself with a generated config,
 *   keeps its state (certificates, its CA) under `<dataDir>/caddy`, and restarts it with backoff
 *   when it dies. A restart resumes Caddy's autosaved config, so the app routes survive a crash.
 * - external (WOVE_CADDY=external): Wove drives a Caddy someone else runs, adding only its own
 *   `wove_apps` server.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DeployConfig, TlsMode } from "../config.ts";
import { log as rootLog, type Logger } from "../lib/log.ts";
import { caddyClient, CaddyError, type CaddyClient } from "./caddy.ts";
import { appServer, baseConfig, WOVE_SERVER, type JsonObject, type JsonValue, type ServerOptions } from "./caddy-config.ts";

const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 4_000;
/** Pauses before restarting a Caddy that died; a run longer than STABLE_MS starts the sequence over. */
const BACKOFF_MS = [250, 500, 1_000, 2_000, 5_000, 10_000, 30_000];
const STABLE_MS = 60_000;
const KEPT_LINES = 60;
const RESUME_ATTEMPTS = 3;

export type ManagedCaddyOptions = {
  dataDir: string;
  httpPort: number;
  httpsPort: number;
  tls: TlsMode;
  /** Admin API port on 127.0.0.1; a free one is picked when unset. */
  adminPort?: number;
  /** The caddy executable; default: `caddy` on PATH. */
  binary?: string;
  startTimeoutMs?: number;
  /** Called after Caddy came back from a crash (its autosaved routes are already in place). */
  onRestart?: () => void | Promise<void>;
  logger?: Logger;
};

export type ManagedCaddy = {
  readonly adminUrl: string;
  readonly client: CaddyClient;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** The running caddy process id (null while it is being restarted). */
  pid(): number | null;
  /** How many times Caddy was restarted after dying. */
  restarts(): number;
  /** Stops Caddy: SIGTERM, then SIGKILL after a few seconds. */
  stop(): Promise<void>;
};

/** A TCP port nobody listens on right now (bound and released at once). */
export function freePort(hostname = "127.0.0.1"): number {
  const probe = Bun.listen({ hostname, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

export function findCaddy(binary?: string): string {
  const found = binary ? (binary.includes("/") ? (existsSync(binary) ? binary : null) : Bun.which(binary)) : Bun.which("caddy");
  if (found) return found;
  throw new Error(
    `The caddy program was not found${binary ? ` at "${binary}"` : " on PATH"}. Install Debian's caddy package ` +
      "(apt-get install caddy), or set WOVE_CADDY=external with WOVE_CADDY_ADMIN=http://127.0.0.1:2019 to use a Caddy " +
      "you run yourself, or WOVE_CADDY=off to deploy without routing.",
  );
}

/** Caddy ≥ 2.6 is needed: older versions send no ETag, so route changes could not be guarded. */
function checkVersion(bin: string): void {
  const out = Bun.spawnSync([bin, "version"], { stdout: "pipe", stderr: "pipe" });
  const text = out.stdout.toString().trim();
  const m = /^v?(\d+)\.(\d+)/.exec(text);
  if (!m) throw new Error(`"${bin} version" did not print a Caddy version (got "${text || out.stderr.toString().trim()}").`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < 2 || (major === 2 && minor < 6)) throw new Error(`Caddy ${text} is too old: Wove needs Caddy 2.6 or newer.`);
}

/** Turns Caddy's start-up complaints into a sentence that says what to change. */
export function explainStartFailure(output: string, ports: { httpPort: number; httpsPort: number; adminPort: number }): string | null {
  const bind = /listen tcp [^\s"]*?:(\d+): bind: ([^"\n]+)/.exec(output);
  if (!bind) return null;
  const port = Number(bind[1]);
  const which =
    port === ports.httpPort ? "WOVE_APPS_HTTP_PORT" : port === ports.httpsPort ? "WOVE_APPS_HTTPS_PORT" : port === ports.adminPort ? "WOVE_CADDY_ADMIN" : null;
  const setting = which ? ` (${which})` : "";
  if (/address already in use/.test(bind[2] ?? "")) {
    return `Port ${port}${setting} is already in use by another program. Stop that program or choose another port${which ? ` with ${which}` : ""}.`;
  }
  if (/permission denied/.test(bind[2] ?? "")) {
    return (
      `Caddy may not listen on port ${port}${setting}: ports below 1024 need privileges. Run ` +
      "`setcap cap_net_bind_service=+ep $(command -v caddy)`, or choose a port above 1023."
    );
  }
  return `Caddy could not listen on port ${port}${setting}: ${bind[2]}.`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a Caddy that an earlier Wove left behind (Wove was killed hard), recognised by its pid file
 * and by our config path on its command line, so that it frees the ports before ours starts.
 */
async function stopLeftover(pidFile: string, configFile: string, logger: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return; // not running any more
  }
  if (!cmdline.includes("caddy") || !cmdline.includes(configFile)) return;
  logger.warn("stopping a Caddy left running by an earlier Wove", { pid });
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // it went away by itself
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (alive(pid) && Date.now() < deadline) await Bun.sleep(25);
  if (alive(pid)) signal("SIGKILL");
  while (alive(pid) && Date.now() < deadline + 2_000) await Bun.sleep(25);
}

/** Reads a child's output and hands over each complete line. */
async function pumpLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let pending = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    pending += decoder.decode(value, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(line.trimEnd());
  }
}

/** Caddy logs JSON lines; they go to Wove's logger at debug with Caddy's fields kept. */
function logCaddyLine(logger: Logger, line: string): void {
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      const { msg, level, ts: _ts, ...rest } = parsed as Record<string, unknown>;
      logger.debug(`caddy: ${typeof msg === "string" ? msg : line}`, { caddyLevel: level, ...rest });
      return;
    }
  } catch {
    // plain text line
  }
  logger.debug(`caddy: ${line}`);
}

export async function startManagedCaddy(options: ManagedCaddyOptions): Promise<ManagedCaddy> {
  const logger = (options.logger ?? rootLog).child({ component: "caddy" });
  const bin = findCaddy(options.binary);
  checkVersion(bin);
  const home = join(options.dataDir, "caddy");
  const dataHome = join(home, "data");
  const configHome = join(home, "config");
  for (const dir of [home, dataHome, configHome]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configFile = join(home, "caddy.json");
  const pidFile = join(home, "caddy.pid");
  await stopLeftover(pidFile, configFile, logger);

  const adminPort = options.adminPort ?? freePort();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const ports = { httpPort: options.httpPort, httpsPort: options.httpsPort, adminPort };
  const config = baseConfig({
    adminListen: `127.0.0.1:${adminPort}`,
    httpPort: options.httpPort,
    httpsPort: options.httpsPort,
    tls: options.tls,
    // The same place Caddy would pick from XDG_DATA_HOME, spelled out so it never depends on the environment.
    storageRoot: join(dataHome, "caddy"),
  });
  writeFileSync(configFile, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  const client = caddyClient(adminUrl);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    XDG_DATA_HOME: dataHome,
    XDG_CONFIG_HOME: configHome,
  };

  let proc: ReturnType<typeof Bun.spawn> | null = null;
  let stopping = false;
  let restartCount = 0;
  let restartTimer: ReturnType<typeof setTimeout> | null = null;
  let recent: string[] = [];

  const keep = (line: string) => {
    recent.push(line);
    if (recent.length > KEPT_LINES) recent = recent.slice(-KEPT_LINES);
    logCaddyLine(logger, line);
  };

  function spawn(resume: boolean): ReturnType<typeof Bun.spawn> {
    recent = [];
    const args = [bin, "run", "--config", configFile, "--pidfile", pidFile, ...(resume ? ["--resume"] : [])];
    const child = Bun.spawn(args, { cwd: home, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    void pumpLines(child.stdout, keep);
    void pumpLines(child.stderr, keep);
    return child;
  }

  /** Waits until the admin API answers; fails with Caddy's own words if it exits or stays silent. */
  async function waitUntilUp(child: ReturnType<typeof Bun.spawn>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void child.exited.then(() => (exited = true));
    for (;;) {
      if (exited) {
        await Bun.sleep(20); // let the last lines of output arrive
        const output = recent.join("\n");
        const why = explainStartFailure(output, ports);
        const said = recent.filter((l) => /^Error:|"level":"error"/.test(l)).at(-1) ?? recent.at(-1) ?? "(no output)";
        throw new Error(why ? `${why}\nCaddy said: ${said}` : `Caddy exited during start (code ${child.exitCode}):\n${output || "(no output)"}`);
      }
      try {
        await caddyClient(adminUrl, { timeoutMs: 1_000 }).ping();
        return;
      } catch (e) {
        if (!(e instanceof CaddyError) || e.status !== null) throw e;
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`Caddy's admin API at ${adminUrl} did not answer within ${timeoutMs} ms.\n${recent.join("\n")}`.trim());
      }
      await Bun.sleep(40);
    }
  }

  function watch(child: ReturnType<typeof Bun.spawn>, startedAt: number, attempt: number): void {
    void child.exited.then((code) => {
      if (stopping || proc !== child) return;
      proc = null;
      const ranFor = Date.now() - startedAt;
      const next = ranFor > STABLE_MS ? 0 : attempt;
      const delay = BACKOFF_MS[Math.min(next, BACKOFF_MS.length - 1)] ?? 30_000;
      logger.warn("caddy exited; restarting", { code, ranForMs: ranFor, restartInMs: delay, output: recent.slice(-5).join("\n") });
      restartTimer = setTimeout(() => void restart(next + 1), delay);
    });
  }

  async function restart(attempt: number): Promise<void> {
    restartTimer = null;
    if (stopping) return;
    // Resume the autosaved config (routes included); if that keeps failing, start from the base config
    // and let onRestart put the routes back.
    const child = spawn(attempt <= RESUME_ATTEMPTS);
    proc = child;
    const startedAt = Date.now();
    try {
      await waitUntilUp(child, options.startTimeoutMs ?? START_TIMEOUT_MS);
    } catch (e) {
      if (stopping || proc !== child) return; // stop() ended it on purpose
      logger.error("caddy did not come back", { error: (e as Error).message.split("\n")[0] });
      // It exited, or waitUntilUp killed it; `watch` schedules the next try.
      watch(child, startedAt, attempt);
      if (child.exitCode === null) child.kill("SIGKILL");
      return;
    }
    if (stopping) return;
    restartCount++;
    logger.info("caddy restarted", { pid: child.pid, restarts: restartCount });
    watch(child, startedAt, attempt);
    try {
      await options.onRestart?.();
    } catch (e) {
      logger.error("restoring routes after a Caddy restart failed", { error: (e as Error).message });
    }
  }

  const killOnExit = () => proc?.kill("SIGTERM");
  process.on("exit", killOnExit);

  const first = spawn(false);
  proc = first;
  try {
    await waitUntilUp(first, options.startTimeoutMs ?? START_TIMEOUT_MS);
  } catch (e) {
    process.off("exit", killOnExit);
    proc = null;
    if (first.exitCode === null) first.kill("SIGKILL");
    throw e;
  }
  watch(first, Date.now(), 0);
  logger.info("caddy started", { pid: first.pid, adminUrl, httpPort: options.httpPort, httpsPort: options.httpsPort, tls: options.tls });

  return {
    adminUrl,
    client,
    httpPort: options.httpPort,
    httpsPort: options.httpsPort,
    pid: () => proc?.pid ?? null,
    restarts: () => restartCount,
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      process.off("exit", killOnExit);
      const child = proc;
      proc = null;
      if (!child || child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await child.exited;
      clearTimeout(timer);
      logger.info("caddy stopped");
    },
  };
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && v !== undefined && typeof v === "object" && !Array.isArray(v);
}

/**
 * Uses a Caddy someone else runs: checks its admin API answers and makes sure the `wove_apps`
 * server exists (created with Wove's ports when absent). Other servers are never touched.
 */
export async function connectExternalCaddy(
  adminUrl: string,
  server: ServerOptions & { serverName?: string },
  logger: Logger = rootLog,
): Promise<CaddyClient> {
  const name = server.serverName ?? WOVE_SERVER;
  const client = caddyClient(adminUrl, { server: name });
  try {
    await client.ping();
  } catch (e) {
    throw new Error(`WOVE_CADDY=external: ${(e as Error).message}. Start Caddy, or point WOVE_CADDY_ADMIN at its admin API.`);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const root = (await client.config("")).value;
    const apps = isObject(root) ? root.apps : undefined;
    const httpApp = isObject(apps) ? apps.http : undefined;
    const servers = isObject(httpApp) ? httpApp.servers : undefined;
    if (isObject(servers) && isObject(servers[name])) return client;
    try {
      // PUT creates the missing levels (apps, http, servers) on the way and fails if the key appeared meanwhile.
      await client.putConfig(`apps/http/servers/${name}`, appServer(server));
      logger.info("created the wove_apps server on the external Caddy", { adminUrl, server: name });
      return client;
    } catch (e) {
      if (!(e instanceof CaddyError) || !/already exists/.test(e.caddyMessage ?? "")) throw e;
    }
  }
  return client;
}

export type OpenCaddyOptions = {
  dataDir: string;
  /** Managed mode: called after Caddy came back from a crash (re-apply the routes from the database). */
  onRestart?: () => void | Promise<void>;
  logger?: Logger;
};

/** Opens Caddy the way the deploy settings say: managed, external, or none (WOVE_CADDY=off → null). */
export async function openCaddy(deploy: DeployConfig, options: OpenCaddyOptions): Promise<{ client: CaddyClient; stop(): Promise<void> } | null> {
  const server = { httpPort: deploy.appsHttpPort, httpsPort: deploy.appsHttpsPort, tls: deploy.tls };
  if (deploy.caddy === "off") return null;
  if (deploy.caddy === "external") {
    const client = await connectExternalCaddy(deploy.caddyAdmin ?? "http://127.0.0.1:2019", server, options.logger);
    return { client, stop: async () => {} };
  }
  let adminPort: number | undefined;
  if (deploy.caddyAdmin) {
    const url = new URL(deploy.caddyAdmin);
    if (!["127.0.0.1", "localhost"].includes(url.hostname) || !url.port) {
      throw new Error(`With WOVE_CADDY=managed, WOVE_CADDY_ADMIN must be http://127.0.0.1:<port> (got ${deploy.caddyAdmin}).`);
    }
    adminPort = Number(url.port);
  }
  const managed = await startManagedCaddy({ dataDir: options.dataDir, ...server, adminPort, onRestart: options.onRestart, logger: options.logger });
  return { client: managed.client, stop: () => managed.stop() };
}
