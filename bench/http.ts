/**
 * HTTP throughput benchmark: requests per second and latency percentiles for
 * `/healthz`, the signed-in dashboard `/` and `GET /api/v1/projects`, measured
 * with Debian's `wrk` on loopback. Builds nothing.
 *
 *   bun bench/http.ts [--source | --bin PATH] [--duration 10s] [--warmup 2s]
 *                     [--connections 64] [--threads 2] [--projects 50] [--no-log-pass]
 *                     [--env WOVE_NAME=value]…
 *
 * - Runs `dist/wove` when it exists (else `bun src/main.ts`; `--source` forces it,
 *   `--bin` names another executable).
 * - Starts `wove serve` on a free loopback port with a fresh data dir,
 *   `WOVE_TOKEN_RATE_LIMIT=0` (the per-token limit would answer 429 under load)
 *   and `WOVE_LOG_LEVEL=warn` (no access log line per request). A second pass
 *   with `WOVE_LOG_LEVEL=info` (the default) shows what the access log costs.
 * - Creates an admin and a token with the CLI, 50 projects (each with one file)
 *   through the API, and a browser session by logging in through `/login`
 *   (falls back to creating the session in the database when there is no login form).
 * - `--env` passes extra settings to the server (e.g. `WOVE_READ_CACHE_MS=0` to
 *   measure the uncached API path); they are listed in the output.
 * - Errors are the non-2xx responses the server itself counted (its /metrics,
 *   so a 303 to the login page is an error too) plus wrk's socket errors.
 *
 * wrk and the server share the machine's cores: on 2 cores the numbers are a
 * floor for the server, not its ceiling. Prints a markdown table for
 * docs/PERFORMANCE.md; progress goes to stderr.
 */
import { freePort } from "./common.ts";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dir, "..");
const EMAIL = "bench@example.org";
const PASSWORD = "bench password 0123456789";

// Helper mode, used only when the server has no login form yet: create a
// session row directly in the data dir and print its cookie token.
if (Bun.argv[2] === "--make-session") {
  const [dataDir, email] = [Bun.argv[3] ?? "", Bun.argv[4] ?? ""];
  const { openDatabase } = await import("../src/db/client.ts");
  const { findUserByEmail } = await import("../src/auth/users.ts");
  const { createSession } = await import("../src/auth/sessions.ts");
  const db = await openDatabase(`file:${join(dataDir, "wove.db")}`);
  const user = await findUserByEmail(db.orm, email);
  if (!user) throw new Error(`no account ${email} in ${dataDir}`);
  const s = await createSession(db.orm, user.id, 1, { userAgent: "bench/http.ts" });
  db.close();
  console.log(s.token);
  process.exit(0);
}

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    source: { type: "boolean", default: false },
    bin: { type: "string" },
    duration: { type: "string", default: "10s" },
    warmup: { type: "string", default: "2s" },
    connections: { type: "string", default: "64" },
    threads: { type: "string", default: "2" },
    projects: { type: "string", default: "50" },
    "no-log-pass": { type: "boolean", default: false },
    env: { type: "string", multiple: true, default: [] },
  },
});
const projectCount = Number(flags.projects);
const WRK_ARGS = [`-t${flags.threads}`, `-c${flags.connections}`, `-d${flags.duration}`, "--latency"];

const wrkBin = Bun.which("wrk");
if (!wrkBin) {
  console.error("wrk is not installed. On Debian: apt-get install wrk");
  process.exit(1);
}

const binary = flags.bin ? resolve(flags.bin) : join(root, "dist", "wove");
if (flags.bin && !existsSync(binary)) {
  console.error(`${flags.bin} not found`);
  process.exit(1);
}
const useBinary = !flags.source && existsSync(binary);
const wove = useBinary ? [binary] : [process.execPath, join(root, "src", "main.ts")];
const say = (s: string) => process.stderr.write(`${s}\n`);
say(
  useBinary
    ? `server: ${relative(process.cwd(), binary)} (built ${statSync(binary).mtime.toISOString()}; rebuild with \`bun run build\` if the source changed since)`
    : `server: bun src/main.ts${flags.source ? "" : " (no dist/wove; `bun run build` to benchmark the binary)"}`,
);

// Only the variables set here configure the server, not the caller's WOVE_*.
const baseEnv: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("WOVE_")) baseEnv[k] = v;
const extraEnv: Record<string, string> = {};
for (const kv of flags.env ?? []) {
  const m = /^(WOVE_[A-Z0-9_]+)=(.*)$/.exec(kv);
  if (!m) {
    console.error(`--env wants WOVE_NAME=value, got "${kv}"`);
    process.exit(1);
  }
  extraEnv[m[1] ?? ""] = m[2] ?? "";
}


function cli(args: string[], dataDir: string): string {
  const r = spawnSync(wove[0] ?? "", [...wove.slice(1), ...args, "--data", dataDir], { env: baseEnv, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wove ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

type Server = { proc: ReturnType<typeof Bun.spawn>; base: string; logFile: string };

async function startServer(dataDir: string, logLevel: "warn" | "info"): Promise<Server> {
  const port = freePort();
  const logFile = join(dataDir, "..", `server-${logLevel}.log`);
  const proc = Bun.spawn([...wove, "serve", "--port", String(port), "--host", "127.0.0.1", "--data", dataDir], {
    env: { ...baseEnv, ...extraEnv, WOVE_TOKEN_RATE_LIMIT: "0", WOVE_LOG_LEVEL: logLevel },
    stdin: "ignore",
    // A file, not a pipe: the access log must cost what it costs in production
    // (a write per batch), not block on a reader that falls behind.
    stdout: Bun.file(logFile),
    stderr: Bun.file(logFile),
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 1500; i++) {
    if (proc.exitCode !== null) break;
    const ok = await fetch(`${base}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) return { proc, base, logFile };
    await Bun.sleep(10);
  }
  throw new Error(`server did not start:\n${existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : ""}`);
}

async function stopServer(s: Server): Promise<void> {
  s.proc.kill("SIGTERM");
  await s.proc.exited;
}

async function api(s: Server, token: string, method: string, path: string, body?: string | object): Promise<Response> {
  const res = await fetch(`${s.base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(typeof body === "object" ? { "Content-Type": "application/json" } : {}) },
    body: typeof body === "object" ? JSON.stringify(body) : body,
  });
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status}: ${await res.text()}`);
  return res;
}

function cookieFrom(res: Response, name: string): string | undefined {
  for (const c of res.headers.getSetCookie()) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(c);
    if (m?.[1]) return m[1];
  }
  return undefined;
}

/** Logs in through the real form (GET /login for the CSRF token and cookie, then POST). */
async function loginThroughForm(s: Server): Promise<string | undefined> {
  const page = await fetch(`${s.base}/login`, { redirect: "manual" });
  const text = await page.text();
  const input = /<input[^>]*name="_csrf"[^>]*>/.exec(text)?.[0];
  const csrf = input ? /value="([^"]*)"/.exec(input)?.[1] : undefined;
  const preSession = cookieFrom(page, "wove_csrf");
  if (page.status !== 200 || !csrf || !preSession) return undefined;
  const res = await fetch(`${s.base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: `wove_csrf=${preSession}` },
    body: new URLSearchParams({ email: EMAIL, password: PASSWORD, _csrf: csrf }).toString(),
  });
  await res.arrayBuffer();
  return res.status === 303 ? cookieFrom(res, "wove_session") : undefined;
}

function sessionFromDatabase(dataDir: string): string {
  const r = spawnSync(process.execPath, [import.meta.path, "--make-session", dataDir, EMAIL], { env: baseEnv, encoding: "utf8", cwd: root });
  if (r.status !== 0) throw new Error(`could not create a session: ${r.stderr}`);
  return r.stdout.trim().split("\n").at(-1) ?? "";
}

/** The server's own count of responses per status for one route template, from /metrics. */
async function statusCounts(s: Server, route: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${s.base}/metrics`)).text();
  const out = new Map<string, number>();
  const re = /^http_requests_total\{method="GET",route="([^"]*)",status="(\d+)"\} (\d+)$/gm;
  for (const m of text.matchAll(re)) if (m[1] === route) out.set(m[2] ?? "", Number(m[3]));
  return out;
}

type WrkResult = { rps: number; p50: number; p90: number; p99: number; max: number; requests: number; socketErrors: number };

function ms(value: string, unit: string): number {
  return Number(value) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? Number.NaN);
}

function parseWrk(out: string): WrkResult {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    return m ? ms(m[1] ?? "", m[2] ?? "") : Number.NaN;
  };
  const lat = /^\s*Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m)/m.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/^Requests\/sec:\s+([\d.]+)/m.exec(out)?.[1] ?? Number.NaN),
    p50: pct("50"),
    p90: pct("90"),
    p99: pct("99"),
    max: lat ? ms(lat[1] ?? "", lat[2] ?? "") : Number.NaN,
    requests: Number(/^\s*(\d+) requests in/m.exec(out)?.[1] ?? Number.NaN),
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

async function wrk(url: string, headers: string[], args: string[]): Promise<{ out: string; cpu: number }> {
  const proc = Bun.spawn([wrkBin ?? "wrk", ...args, ...headers.flatMap((h) => ["-H", h]), url], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`wrk failed: ${err}${out}`);
  const usage = proc.resourceUsage();
  const cpu = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : Number.NaN;
  return { out, cpu };
}

type Target = { name: string; path: string; route: string; headers: string[] };
type Row = Target & WrkResult & { logging: string; non2xx: number; bytes: number; serverCpu: number; wrkCpu: number; seconds: number };

async function measure(s: Server, t: Target, logging: string): Promise<Row> {
  const probe = await fetch(`${s.base}${t.path}`, { headers: Object.fromEntries(t.headers.map((h) => h.split(": ") as [string, string])), redirect: "manual" });
  const bytes = (await probe.arrayBuffer()).byteLength;
  if (probe.status !== 200) throw new Error(`${t.path} answered ${probe.status} before the run; refusing to benchmark an error page`);
  say(`  ${t.name}: warm-up ${flags.warmup}, then ${flags.duration} (${logging})`);
  await wrk(`${s.base}${t.path}`, t.headers, [`-t${flags.threads}`, `-c${flags.connections}`, `-d${flags.warmup}`]);
  const before = await statusCounts(s, t.route);
  const cpu0 = cpuSeconds(s.proc.pid);
  const t0 = performance.now();
  const { out, cpu: wrkCpu } = await wrk(`${s.base}${t.path}`, t.headers, WRK_ARGS);
  const seconds = (performance.now() - t0) / 1000;
  const serverCpu = cpuSeconds(s.proc.pid) - cpu0;
  const after = await statusCounts(s, t.route);
  let non2xx = 0;
  for (const [status, n] of after) if (!status.startsWith("2")) non2xx += n - (before.get(status) ?? 0);
  const r = parseWrk(out);
  if (Number.isNaN(r.rps)) throw new Error(`could not read wrk's output:\n${out}`);
  return { ...t, ...r, logging, non2xx, bytes, serverCpu, wrkCpu, seconds };
}

const loadBefore = loadavg()[0] ?? 0;
if (loadBefore > 0.5) say(`note: the 1-minute load average is ${loadBefore.toFixed(2)}; other work on this machine will lower the figures`);
const scratch = mkdtempSync(join(tmpdir(), "wove-bench-http-"));
const dataDir = join(scratch, "data");
const rows: Row[] = [];
const notes: string[] = [];
let server: Server | undefined;
try {
  cli(["admin", "create-user", "--email", EMAIL, "--password", PASSWORD, "--role", "admin", "--name", "Bench"], dataDir);
  const token = cli(["admin", "token", "--email", EMAIL, "--expires", "1d"], dataDir).split("\n").at(-1) ?? "";
  server = await startServer(dataDir, "warn");
  say(`setup: ${projectCount} projects with one file each, through the API`);
  for (let i = 1; i <= projectCount; i++) {
    const p = (await (await api(server, token, "POST", "/api/v1/projects", { name: `Bench project ${i}`, description: `Project ${i} of ${projectCount}` })).json()) as { id: string };
    await api(server, token, "PUT", `/api/v1/projects/${p.id}/files/README.md`, `# Bench project ${i}\n`);
  }
  let session = await loginThroughForm(server);
  if (session) say("session: logged in through the /login form");
  else {
    session = sessionFromDatabase(dataDir);
    notes.push("There is no working `/login` form yet, so the session cookie was created with `createSession` (src/auth/sessions.ts) directly in the data dir.");
    say("session: no /login form; created the session in the database");
  }
  const targets: Target[] = [{ name: "`GET /healthz`", path: "/healthz", route: "/healthz", headers: [] }];
  const dash = await fetch(`${server.base}/`, { headers: { Cookie: `wove_session=${session}` }, redirect: "manual" });
  await dash.arrayBuffer();
  if (dash.status === 404) {
    notes.push("The dashboard route `GET /` is not wired into src/server/routes.ts yet (404), so it was skipped.");
    say("dashboard: GET / answers 404 (not wired yet); skipped");
  } else {
    targets.push({ name: `\`GET /\` dashboard (${projectCount} projects, session cookie)`, path: "/", route: "/", headers: [`Cookie: wove_session=${session}`] });
  }
  targets.push({ name: `\`GET /api/v1/projects\` (${projectCount} projects, Bearer token)`, path: "/api/v1/projects", route: "/api/v1/projects", headers: [`Authorization: Bearer ${token}`] });

  for (const t of targets) rows.push(await measure(server, t, "off (warn)"));
  const rssAfter = rssMiB(server.proc.pid);
  await stopServer(server);
  server = undefined;
  if (!flags["no-log-pass"]) {
    server = await startServer(dataDir, "info");
    for (const t of targets) rows.push(await measure(server, t, "on (info)"));
    await stopServer(server);
    server = undefined;
  }
  notes.push(`Server RSS after the access-log-off pass: ${rssAfter.toFixed(0)} MiB.`);
} finally {
  if (server) await stopServer(server);
  rmSync(scratch, { recursive: true, force: true });
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
const pctCpu = (cpu: number, s: number) => `${Math.round((cpu / s) * 100)}%`;
const cpu = cpus();
const lines = [
  "| Endpoint | Access log | Req/s | p50 ms | p90 ms | p99 ms | max ms | Errors (non-2xx + socket) | Body bytes | Server CPU | wrk CPU |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.logging} | ${Math.round(r.rps).toLocaleString("en-US")} | ${f1(r.p50)} | ${f1(r.p90)} | ${f1(r.p99)} | ${f1(r.max)} | ${r.non2xx + r.socketErrors} | ${r.bytes.toLocaleString("en-US")} | ${pctCpu(r.serverCpu, r.seconds)} | ${pctCpu(r.wrkCpu, r.seconds)} |`,
  ),
];
console.log(`
${lines.join("\n")}

Load: \`wrk ${WRK_ARGS.join(" ")}\` (after a ${flags.warmup} warm-up) on loopback. wrk and the server share the ${cpu.length} cores; CPU columns are the share of one core used during the run.
Server: ${useBinary ? `\`${relative(root, binary)}\`` : "`bun src/main.ts`"} with \`WOVE_TOKEN_RATE_LIMIT=0\`${Object.entries(extraEnv).map(([k, v]) => `, \`${k}=${v}\``).join("")}; access log off = \`WOVE_LOG_LEVEL=warn\`, on = \`info\` (the default), written to a file.
Machine: ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${cpu.length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, 1-minute load average ${loadBefore.toFixed(2)} before the run; Bun ${Bun.version}; ${spawnSync(wrkBin, ["-v"], { encoding: "utf8" }).stdout.split("\n")[0]?.trim() ?? "wrk"}.
${notes.map((n) => `- ${n}`).join("\n")}
Goal (issue 2): the dashboard ≥ 10,000 req/s with p99 < 20 ms.`);
say(`(${relative(process.cwd(), import.meta.path)} done)`);
