/**
 * The two servers of the collaboration benchmark, started on free loopback ports:
 *
 * - Wove from source (`bun src/main.ts serve`), with an admin, an API token (the CLI) and a
 *   project (the JSON API) in a fresh data dir. Rooms are files: `/collab/<project>/<path>`.
 * - The reference `@y/websocket-server` (its `src/server.js` under Node), in memory, or with
 *   `YPERSISTENCE=<dir>` (y-leveldb) when a restart must keep the documents.
 *
 * Both can be pinned to one CPU with `taskset`, and both report CPU time and RSS from /proc.
 */
import { freePort } from "./common.ts";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LeanClient } from "./collab-client.ts";

const root = resolve(import.meta.dir, "..");
const EMAIL = "bench@example.org";
const PASSWORD = "bench password 0123456789";

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** CPU seconds the whole machine has been busy (all CPUs: user, nice, system, irq, softirq, steal). */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLK_TCK;
}

export function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export const hasTaskset = Bun.which("taskset") !== null;

/** A command prefix that pins a process (and every thread it starts) to one CPU. */
export function pinned(cpu: number | undefined, cmd: string[]): string[] {
  return cpu === undefined || !hasTaskset ? cmd : ["taskset", "-c", String(cpu), ...cmd];
}


/** The caller's environment without WOVE_* (only what the benchmark sets configures Wove). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("WOVE_")) env[k] = v;
  return env;
}

export interface Server {
  readonly label: string;
  readonly pid: number;
  readonly httpBase: string;
  /** `serverUrl` and `params` for a stock `WebsocketProvider`. */
  readonly serverUrl: string;
  readonly params: Record<string, string>;
  /** Room name (what follows `serverUrl/`) of a file path. */
  room(path: string): string;
  /** Lean-client URL of a file path. */
  url(path: string): string;
  /** Wove: `createRoom` writes a file and the room loads on first join; reference: a client writes the text, so the room is loaded. */
  readonly createsFiles: boolean;
  /** Makes the room of `path` exist with `content` (Wove: the file API; reference: a client writes it). */
  createRoom(path: string, content: string): Promise<void>;
  /** Wove only: its group-commit counters from /metrics (transactions, updates stored). */
  counters?: () => Promise<{ commits: number; stored: number }>;
  stop(): Promise<void>;
}

/** Every server this module started and has not stopped: killed if the benchmark exits early. */
const live = new Set<ReturnType<typeof Bun.spawn>>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

async function waitForHttp(url: string, proc: ReturnType<typeof Bun.spawn>, logFile: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (proc.exitCode !== null) break;
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(5);
  }
  throw new Error(`server did not start:\n${existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : ""}`);
}

async function stopProc(proc: ReturnType<typeof Bun.spawn>): Promise<void> {
  live.delete(proc);
  if (proc.exitCode !== null) return;
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

/** Settings the benchmark gives Wove so its protective limits do not shape a load test. */
export const WOVE_BENCH_ENV: Record<string, string> = {
  WOVE_LOG_LEVEL: "warn",
  WOVE_TOKEN_RATE_LIMIT: "0",
  WOVE_COLLAB_RATE: "1000000",
  WOVE_COLLAB_IDLE: "30m",
  WOVE_COLLAB_MAX_DOC: "64m",
  WOVE_COLLAB_MAX_MESSAGE: "64m",
};

export type WoveSetup = { dataDir: string; token: string; projectId: string };

function woveCli(args: string[], dataDir: string): string {
  const r = spawnSync(process.execPath, [join(root, "src", "main.ts"), ...args, "--data", dataDir], { env: cleanEnv(), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wove ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

/** An admin and a token (CLI), then a project (API) once the server runs. */
export async function setupWove(dataDir: string, cpu: number | undefined, bunFlags: string[] = []): Promise<{ setup: WoveSetup; server: Server }> {
  woveCli(["admin", "create-user", "--email", EMAIL, "--password", PASSWORD, "--role", "admin", "--name", "Bench"], dataDir);
  const token = woveCli(["admin", "token", "--email", EMAIL, "--expires", "1d"], dataDir).split("\n").at(-1) ?? "";
  const first = await startWove({ dataDir, token, projectId: "" }, cpu);
  const res = await fetch(`${first.httpBase}/api/v1/projects`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "Collab bench", description: "bench/collab.ts" }),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`creating the project → ${res.status}: ${await res.text()}`);
  const projectId = ((await res.json()) as { id: string }).id;
  const setup = { dataDir, token, projectId };
  await first.stop();
  return { setup, server: await startWove(setup, cpu, bunFlags) };
}

const encodePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

/** `bunFlags`: e.g. `--cpu-prof-md --cpu-prof-dir=DIR` (the profile is written when the server exits). */
export async function startWove(setup: WoveSetup, cpu: number | undefined, bunFlags: string[] = []): Promise<Server> {
  const port = freePort();
  const logFile = join(setup.dataDir, "..", "wove.log");
  const proc = Bun.spawn(
    pinned(cpu, [process.execPath, ...bunFlags, join(root, "src", "main.ts"), "serve", "--port", String(port), "--host", "127.0.0.1", "--data", setup.dataDir]),
    {
      env: { ...cleanEnv(), ...WOVE_BENCH_ENV },
      stdin: "ignore",
      stdout: Bun.file(logFile),
      stderr: Bun.file(logFile),
    },
  );
  live.add(proc);
  const httpBase = `http://127.0.0.1:${port}`;
  await waitForHttp(`${httpBase}/healthz`, proc, logFile);
  const auth = { Authorization: `Bearer ${setup.token}` };
  const room = (path: string) => `${setup.projectId}/${encodePath(path)}`;
  return {
    label: "Wove",
    createsFiles: true,
    pid: proc.pid,
    httpBase,
    serverUrl: `ws://127.0.0.1:${port}/collab`,
    params: { token: setup.token },
    room,
    url: (path) => `ws://127.0.0.1:${port}/collab/${room(path)}?token=${encodeURIComponent(setup.token)}`,
    async createRoom(path, content) {
      const res = await fetch(`${httpBase}/api/v1/projects/${setup.projectId}/files/${encodePath(path)}`, { method: "PUT", headers: auth, body: content });
      if (res.status >= 300) throw new Error(`PUT ${path} → ${res.status}: ${await res.text()}`);
    },
    async counters() {
      const text = await (await fetch(`${httpBase}/metrics`)).text();
      const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);
      return { commits: read("wove_collab_commits_total"), stored: read("wove_collab_updates_stored_total") };
    },
    stop: () => stopProc(proc),
  };
}

/** Wove's materialised text of a file (the file API), or undefined. */
export async function woveFileText(server: Server, setup: WoveSetup, path: string): Promise<string | undefined> {
  const res = await fetch(`${server.httpBase}/api/v1/projects/${setup.projectId}/files/${encodePath(path)}`, {
    headers: { Authorization: `Bearer ${setup.token}` },
  });
  return res.ok ? await res.text() : undefined;
}

export const referenceServerJs = join(root, "node_modules", "@y", "websocket-server", "src", "server.js");

export function referenceVersion(): string {
  return (JSON.parse(readFileSync(join(root, "node_modules", "@y", "websocket-server", "package.json"), "utf8")) as { version: string }).version;
}

/** `@y/websocket-server` under Node; with `persistDir`, y-leveldb keeps documents across restarts. */
export async function startReference(logDir: string, cpu: number | undefined, persistDir?: string): Promise<Server> {
  const port = freePort();
  const logFile = join(logDir, "reference.log");
  const node = Bun.which("node");
  if (!node) throw new Error("node is not installed; the reference server needs it");
  const env: Record<string, string> = { ...cleanEnv(), HOST: "127.0.0.1", PORT: String(port) };
  if (persistDir) env.YPERSISTENCE = persistDir;
  const proc = Bun.spawn(pinned(cpu, [node, referenceServerJs]), { env, cwd: root, stdin: "ignore", stdout: Bun.file(logFile), stderr: Bun.file(logFile) });
  live.add(proc);
  const httpBase = `http://127.0.0.1:${port}`;
  await waitForHttp(httpBase, proc, logFile);
  const room = (path: string) => `bench/${encodePath(path)}`;
  const url = (path: string) => `ws://127.0.0.1:${port}/${room(path)}`;
  return {
    label: persistDir ? "reference + y-leveldb" : "reference",
    createsFiles: false,
    pid: proc.pid,
    httpBase,
    serverUrl: `ws://127.0.0.1:${port}`,
    params: {},
    room,
    url,
    async createRoom(path, content) {
      if (!content) return;
      const c = new LeanClient(url(path));
      await c.synced;
      c.text.insert(0, content);
      await c.flushed();
      await c.close();
    },
    stop: () => stopProc(proc),
  };
}
