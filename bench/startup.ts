/**
 * Start-up benchmark of the compiled binary: file size, cold start to the first
 * `200 /healthz`, and idle memory. Builds nothing: run `bun run build` first.
 *
 *   bun bench/startup.ts [--bin dist/wove] [--runs 10] [--idle-ms 2000]
 *
 * Each run starts `wove serve` on a free loopback port with a fresh, empty data
 * directory, so the time includes creating the database and applying every
 * migration — what a first boot costs. The OS page cache is whatever the
 * machine has (the first run may pay for reading the binary from disk; min and
 * max show it). Prints a markdown table for docs/PERFORMANCE.md.
 */
import { freePort } from "./common.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "wove") },
    runs: { type: "string", default: "10" },
    "idle-ms": { type: "string", default: "2000" },
  },
});

const bin = resolve(flags.bin ?? "");
const runs = Number(flags.runs);
const idleMs = Number(flags["idle-ms"]);
const POLL_MS = 2;
const START_TIMEOUT_MS = 15_000;

if (!existsSync(bin)) {
  console.error(`${relative(process.cwd(), bin)} not found: this benchmark measures the compiled binary; run \`bun run build\` first.`);
  process.exit(1);
}
if (!Number.isInteger(runs) || runs < 1 || !Number.isFinite(idleMs) || idleMs < 0) {
  console.error("--runs must be a positive whole number and --idle-ms a non-negative number");
  process.exit(1);
}

/** A port that was free a moment ago (the kernel picks it; we release it for wove). */

/** Resident memory of a process in KiB, from /proc (Linux only). */
function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false; // not listening yet
  }
}

// The binary's own configuration must come from the flags below, not from
// whatever WOVE_* variables the person running the benchmark has set.
const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("WOVE_")) env[k] = v;

type Run = { startMs: number; rssKiB: number | undefined };

async function once(): Promise<Run> {
  // The data dir itself does not exist yet (wove creates it, as on a first boot);
  // the log sits beside it in the same scratch folder.
  const scratch = mkdtempSync(join(tmpdir(), "wove-bench-startup-"));
  const logFile = join(scratch, "wove.log");
  const port = freePort();
  const url = `http://127.0.0.1:${port}/healthz`;
  const started = performance.now();
  const proc = Bun.spawn([bin, "serve", "--port", String(port), "--host", "127.0.0.1", "--data", join(scratch, "data")], {
    env,
    stdin: "ignore",
    // To a file, not a pipe: an undrained pipe could block the server, and the
    // log is wanted only when a run fails.
    stdout: Bun.file(logFile),
    stderr: Bun.file(logFile),
  });
  try {
    let startMs: number | undefined;
    while (performance.now() - started < START_TIMEOUT_MS) {
      if (proc.exitCode !== null) break;
      if (await healthy(url)) {
        startMs = performance.now() - started;
        break;
      }
      await Bun.sleep(POLL_MS);
    }
    if (startMs === undefined) {
      const out = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : "";
      throw new Error(`wove did not answer ${url} within ${START_TIMEOUT_MS} ms (exit ${proc.exitCode}):\n${out}`);
    }
    await Bun.sleep(idleMs);
    return { startMs, rssKiB: rssKiB(proc.pid) };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(scratch, { recursive: true, force: true });
  }
}

function pct(sorted: number[], p: number): number {
  // Nearest-rank percentile.
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

const results: Run[] = [];
for (let i = 0; i < runs; i++) {
  const r = await once();
  results.push(r);
  process.stderr.write(`run ${i + 1}/${runs}: ${r.startMs.toFixed(1)} ms, RSS ${r.rssKiB === undefined ? "n/a" : `${(r.rssKiB / 1024).toFixed(1)} MiB`}\n`);
}

const times = results.map((r) => r.startMs).sort((a, b) => a - b);
const rss = results.flatMap((r) => (r.rssKiB === undefined ? [] : [r.rssKiB / 1024])).sort((a, b) => a - b);
const sizeMiB = statSync(bin).size / 1024 / 1024;
const ms = (n: number) => `${n.toFixed(1)} ms`;
const mib = (n: number) => `${n.toFixed(1)} MiB`;
const cpu = cpus();

console.log(`
| Metric | Value |
| --- | --- |
| Binary size (\`${relative(process.cwd(), bin)}\`) | ${mib(sizeMiB)} |
| Cold start to first 200 \`/healthz\`, min (N=${runs}) | ${ms(pct(times, 0))} |
| Cold start to first 200 \`/healthz\`, p50 | ${ms(pct(times, 50))} |
| Cold start to first 200 \`/healthz\`, max | ${ms(pct(times, 100))} |
| Idle RSS after ${idleMs} ms, p50 (min–max) | ${rss.length ? `${mib(pct(rss, 50))} (${mib(pct(rss, 0))}–${mib(pct(rss, 100))})` : "n/a (no /proc)"} |

Machine: ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${cpu.length} cores, ${process.platform} ${process.arch}; measured with Bun ${Bun.version} (\`bun bench/startup.ts\`). 1 MiB = 1,048,576 bytes.`);
