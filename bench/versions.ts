/**
 * Versions benchmark (issue 3's performance goals), in-process against the real service
 * functions and a real server on loopback:
 *
 *   1. Save a version of a 1,000-file project in which 10 files changed (goal < 100 ms).
 *   2. Read a history page of a 10,000-commit project (goal < 50 ms; the repository is built
 *      with `git fast-import`): the first page, and one 9,000 versions deep.
 *   3. Clone a ~50 MB project over loopback through Wove's git route vs. the same repository
 *      served by a plain `git daemon` and by a minimal CGI server of `git http-backend`
 *      (goal ≤ 1.2× the plain servers).
 *
 *   bun bench/versions.ts [--runs 15] [--clone-runs 5] [--clone-mb 50]
 *
 * Prints a markdown table for docs/PERFORMANCE.md.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { openApp } from "../src/core/app.ts";
import { createUser } from "../src/auth/users.ts";
import { setLogSink } from "../src/lib/log.ts";
import { createServer } from "../src/server/server.ts";
import { filesDir } from "../src/projects/files.ts";
import { gitEnv, gitVersion, maintainRepo } from "../src/projects/git.ts";
import { gitHttpRoutes } from "../src/projects/git-http-routes.ts";
import { createProject } from "../src/projects/projects.ts";
import { editorOf, listVersions, projectRepo, saveVersion } from "../src/projects/versions.ts";

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    runs: { type: "string", default: "15" },
    "clone-runs": { type: "string", default: "5" },
    "clone-mb": { type: "string", default: "50" },
  },
});
const runs = Number(flags.runs);
const cloneRuns = Number(flags["clone-runs"]);
const cloneMb = Number(flags["clone-mb"]);

setLogSink(() => {});
const scratch = mkdtempSync(join(tmpdir(), "wove-bench-versions-"));
const app = await openApp(loadConfig({ data: join(scratch, "data") }, {}));
const orm = app.db.orm;
const user = await createUser(orm, { email: "bench@example.com", role: "member", username: "bench", name: "Bench" }, null);
const author = editorOf(user);

function pct(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const ms = (n: number) => `${n.toFixed(1)} ms`;
type Stat = { p50: number; p95: number; min: number; max: number };
function stat(xs: number[]): Stat {
  const s = sorted(xs);
  return { p50: pct(s, 50), p95: pct(s, 95), min: pct(s, 0), max: pct(s, 100) };
}
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A git client as a user runs it: no config but the defaults (Wove's own config forbids network transports). */
const clientEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0" };

async function run(cmd: string[], cwd = scratch, stdin?: Blob, env: Record<string, string> = gitEnv()): Promise<string> {
  const p = Bun.spawn({ cmd, cwd, env, stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if ((await p.exited) !== 0) throw new Error(`${cmd.join(" ")} failed: ${err}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. Save a version: 1,000 files, 10 changed.

progress("1/3 save version: writing 1,000 files…");
const saveProject = await createProject(orm, app.config.dataDir, user, { name: "Save bench" });
const work = filesDir(app.config.dataDir, saveProject.id);
for (let i = 0; i < 1000; i++) {
  const d = join(work, `dir${i % 25}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, `file${i}.ts`), `export const value${i} = ${i};\n`.repeat(40));
}
await saveVersion(orm, app.config.dataDir, saveProject, { message: "Initial", author });
const saveTimes: number[] = [];
for (let r = 0; r < runs; r++) {
  for (let k = 0; k < 10; k++) {
    const i = (r * 37 + k * 101) % 1000;
    writeFileSync(join(work, `dir${i % 25}`, `file${i}.ts`), `export const value${i} = ${r};\n`.repeat(40));
  }
  saveTimes.push(await time(() => saveVersion(orm, app.config.dataDir, saveProject, { message: `Run ${r}`, author })));
}
const save = stat(saveTimes);
progress(`   p50 ${ms(save.p50)}`);

// ---------------------------------------------------------------------------------------------
// 2. History of a 10,000-commit project.

progress("2/3 history: building 10,000 commits with git fast-import…");
const historyProject = await createProject(orm, app.config.dataDir, user, { name: "History bench" });
const historyPaths = projectRepo(app.config.dataDir, historyProject.id);
const COMMITS = 10_000;
const parts: string[] = [];
for (let i = 1; i <= COMMITS; i++) {
  const msg = `Change ${i}\n`;
  const data = `line ${i}\n`;
  parts.push(
    `commit refs/heads/main\nmark :${i}\nauthor Bench <bench@example.com> ${1_700_000_000 + i} +0000\ncommitter Wove <wove@localhost> ${1_700_000_000 + i} +0000\n` +
      `data ${Buffer.byteLength(msg)}\n${msg}${i > 1 ? `from :${i - 1}\n` : ""}M 100644 inline src/file${i % 100}.txt\ndata ${Buffer.byteLength(data)}\n${data}\n`,
  );
}
await run(["git", `--git-dir=${historyPaths.gitDir}`, "fast-import", "--quiet"], scratch, new Blob([parts.join("")]));
// What Wove does after a push (or every 25 saves) of that many commits.
await maintainRepo(historyPaths);
const firstPage: number[] = [];
const deepPage: number[] = [];
const head = await listVersions(app.config.dataDir, historyProject.id, { limit: 30 });
if (head.versions.length !== 30 || !head.nextCursor) throw new Error("history bench: expected a full first page");
const tip = head.nextCursor.split(".")[0];
for (let r = 0; r < runs; r++) {
  firstPage.push(await time(() => listVersions(app.config.dataDir, historyProject.id, { limit: 30 })));
  deepPage.push(await time(() => listVersions(app.config.dataDir, historyProject.id, { limit: 30, cursor: `${tip}.9000` })));
}
const first = stat(firstPage);
const deep = stat(deepPage);
progress(`   first page p50 ${ms(first.p50)}, page at 9,000 p50 ${ms(deep.p50)}`);

// ---------------------------------------------------------------------------------------------
// 3. Clone ~50 MB over loopback: Wove vs git daemon vs a minimal http-backend CGI server.

progress(`3/3 clone: writing a ~${cloneMb} MB project…`);
const cloneProject = await createProject(orm, app.config.dataDir, user, { name: "Clone bench", visibility: "public" });
const cloneWork = filesDir(app.config.dataDir, cloneProject.id);
const FILE_MB = 1;
for (let i = 0; i < cloneMb / FILE_MB; i++) {
  // Random bytes do not compress, so the pack is as big as the project.
  mkdirSync(join(cloneWork, `assets${i % 5}`), { recursive: true });
  writeFileSync(join(cloneWork, `assets${i % 5}`, `blob${i}.bin`), randomBytes(FILE_MB * 1024 * 1024));
}
for (let i = 0; i < 200; i++) writeFileSync(join(cloneWork, `src${i}.js`), `export function f${i}() { return ${i}; }\n`.repeat(50));
await saveVersion(orm, app.config.dataDir, cloneProject, { message: "Big project", author });
const clonePaths = projectRepo(app.config.dataDir, cloneProject.id);
await run(["git", `--git-dir=${clonePaths.gitDir}`, "gc", "--quiet"]);
const packBytes = Number((await run(["git", `--git-dir=${clonePaths.gitDir}`, "count-objects", "-v"])).match(/size-pack: (\d+)/)?.[1] ?? 0) * 1024;

const wove = createServer(app, { routes: gitHttpRoutes }).listen({ port: 0, hostname: "127.0.0.1" });
const woveUrl = `http://127.0.0.1:${wove.server?.port}/git/bench/${cloneProject.slug}.git`;

// The plainest HTTP server of the same repository: http-backend as CGI, no auth, no framework.
const cgi = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const u = new URL(req.url);
    const p = Bun.spawn({
      cmd: ["git", "http-backend"],
      env: gitEnv({
        GIT_PROJECT_ROOT: clonePaths.projectDir,
        GIT_HTTP_EXPORT_ALL: "1",
        REQUEST_METHOD: req.method,
        PATH_INFO: u.pathname,
        QUERY_STRING: u.search.slice(1),
        CONTENT_TYPE: req.headers.get("content-type") ?? "",
        ...(req.headers.get("content-encoding") ? { HTTP_CONTENT_ENCODING: req.headers.get("content-encoding") ?? "" } : {}),
        ...(req.headers.get("git-protocol") ? { GIT_PROTOCOL: req.headers.get("git-protocol") ?? "" } : {}),
      }),
      stdin: req.method === "POST" ? req : "ignore",
      stdout: "pipe",
      stderr: "ignore",
    });
    const reader = p.stdout.getReader();
    let buf = new Uint8Array(0);
    let at = -1;
    while (at < 0) {
      const { done, value } = await reader.read();
      if (done) break;
      buf = Buffer.concat([buf, value]);
      at = Buffer.from(buf).indexOf("\r\n\r\n");
    }
    const headers = new Headers();
    let status = 200;
    for (const line of new TextDecoder().decode(buf.subarray(0, at)).split("\r\n")) {
      const [k, ...v] = line.split(":");
      if (!k) continue;
      if (k.toLowerCase() === "status") status = Number(v.join(":").trim().split(" ")[0]);
      else headers.set(k, v.join(":").trim());
    }
    const rest = buf.subarray(at + 4);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        if (rest.length) c.enqueue(rest);
      },
      async pull(c) {
        const { done, value } = await reader.read();
        if (done) c.close();
        else c.enqueue(value);
      },
    });
    return new Response(body, { status, headers });
  },
});
const cgiUrl = `http://127.0.0.1:${cgi.port}/repo.git`;

const daemonPort = 20000 + Math.floor(Math.random() * 20000);
const daemon = Bun.spawn({
  cmd: ["git", "daemon", "--reuseaddr", "--export-all", `--base-path=${clonePaths.projectDir}`, "--listen=127.0.0.1", `--port=${daemonPort}`, clonePaths.projectDir],
  env: gitEnv(),
  stdout: "ignore",
  stderr: "ignore",
});
const daemonUrl = `git://127.0.0.1:${daemonPort}/repo.git`;
for (let i = 0; i < 100; i++) {
  try {
    await run(["git", "ls-remote", daemonUrl], scratch, undefined, clientEnv);
    break;
  } catch {
    await Bun.sleep(50);
  }
}

async function cloneOnce(url: string): Promise<number> {
  const target = mkdtempSync(join(scratch, "clone-"));
  try {
    return await time(() => run(["git", "clone", "--quiet", "--bare", url, join(target, "c.git")], scratch, undefined, clientEnv));
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

const cloneTimes: Record<string, number[]> = { wove: [], daemon: [], cgi: [] };
try {
  for (const url of [woveUrl, daemonUrl, cgiUrl]) await cloneOnce(url); // warm the page cache
  for (let r = 0; r < cloneRuns; r++) {
    // Interleaved, so a slow moment of the machine hits all three alike.
    cloneTimes.wove?.push(await cloneOnce(woveUrl));
    cloneTimes.daemon?.push(await cloneOnce(daemonUrl));
    cloneTimes.cgi?.push(await cloneOnce(cgiUrl));
    progress(`   clone run ${r + 1}/${cloneRuns}`);
  }
} finally {
  daemon.kill();
  await daemon.exited;
  await wove.stop();
  await cgi.stop();
  app.close();
  rmSync(scratch, { recursive: true, force: true });
}
const cw = stat(cloneTimes.wove ?? []);
const cd = stat(cloneTimes.daemon ?? []);
const cc = stat(cloneTimes.cgi ?? []);

// ---------------------------------------------------------------------------------------------

const goal = (ok: boolean) => (ok ? "✅" : "❌");
const mb = (packBytes / 1024 / 1024).toFixed(1);
const cpu = cpus();
console.log(`
| Benchmark | p50 | p95 | min–max | Goal |
| --- | --- | --- | --- | --- |
| Save version, 1,000 files / 10 changed (N=${runs}) | ${ms(save.p50)} | ${ms(save.p95)} | ${ms(save.min)}–${ms(save.max)} | < 100 ms ${goal(save.p50 < 100)} |
| History, first page of 30, 10,000 commits (N=${runs}) | ${ms(first.p50)} | ${ms(first.p95)} | ${ms(first.min)}–${ms(first.max)} | < 50 ms ${goal(first.p50 < 50)} |
| History, page of 30 at offset 9,000 (N=${runs}) | ${ms(deep.p50)} | ${ms(deep.p95)} | ${ms(deep.min)}–${ms(deep.max)} | < 50 ms ${goal(deep.p50 < 50)} |
| Clone ${mb} MB pack via Wove \`/git/…\` (N=${cloneRuns}) | ${ms(cw.p50)} | ${ms(cw.p95)} | ${ms(cw.min)}–${ms(cw.max)} | ≤ 1.2× ${goal(cw.p50 <= 1.2 * Math.min(cd.p50, cc.p50))} |
| Clone, same repo via plain \`git daemon\` | ${ms(cd.p50)} | ${ms(cd.p95)} | ${ms(cd.min)}–${ms(cd.max)} | ratio ${(cw.p50 / cd.p50).toFixed(2)}× |
| Clone, same repo via minimal \`git http-backend\` CGI | ${ms(cc.p50)} | ${ms(cc.p95)} | ${ms(cc.min)}–${ms(cc.max)} | ratio ${(cw.p50 / cc.p50).toFixed(2)}× |

Machine: ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${cpu.length} cores, ${process.platform} ${process.arch}; ${gitVersion() ?? "git ?"}; Bun ${Bun.version}.
Reproduce: \`bun bench/versions.ts --runs ${runs} --clone-runs ${cloneRuns} --clone-mb ${cloneMb}\`. Clones are \`git clone --bare\` over 127.0.0.1 (transfer + index-pack), timed as whole processes.`);
