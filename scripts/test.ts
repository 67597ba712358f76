/**
 * `bun run test` / `npm test`: every test — unit (src/**, plugins/**), integration
 * (test/integration) and end-to-end in Chromium (test/e2e) — in one `bun test`
 * run, its output streamed as it comes, then one plain closing line
 * `N passed, N failed[, N skipped]` counted from bun's summary, which CI reads.
 * Exits non-zero on any failure, and when no test ran at all.
 *
 * Extra arguments go to `bun test` (e.g. `bun scripts/test.ts --bail` or a path filter).
 */
import { resolve } from "node:path";
import { buildIslands } from "./build-islands.ts";

const root = resolve(import.meta.dir, "..");
const extra = process.argv.slice(2);
const hasPathFilter = extra.some((a) => !a.startsWith("-"));
const args = ["test", ...(hasPathFilter ? [] : ["./src", "./test", "./plugins"]), ...extra];

const started = performance.now();
// The end-to-end tests load the IDE island from public/islands/: build it when its inputs changed.
try {
  await buildIslands({ ifStale: true });
} catch (e) {
  console.error((e as Error).message);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const proc = Bun.spawn([process.execPath, ...args], {
  cwd: root,
  stdout: "pipe",
  stderr: "pipe",
  stdin: "ignore",
  env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? "0" },
});

/**
 * bun prints its summary as lines like " 288 pass", " 0 fail", " 3 skip" (on stderr),
 * and " 1 error" for an error thrown outside any test (counted as a failure here).
 */
const counts = { pass: 0, fail: 0, skip: 0, todo: 0, error: 0 };
let sawSummary = false;
const SUMMARY = /^\s*(\d+) (pass|fail|skip|todo|errors?)\s*$/;

function scan(line: string): void {
  // Strip colour codes before matching, in case FORCE_COLOR is on.
  const m = SUMMARY.exec(line.replace(/\x1b\[[0-9;]*m/g, ""));
  if (!m) return;
  const kind = (m[2] === "errors" ? "error" : m[2]) as keyof typeof counts;
  counts[kind] = Number(m[1]);
  sawSummary = true;
}

async function pump(stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value: chunk } = await reader.read();
    if (done) break;
    out.write(chunk);
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const l of lines) scan(l);
  }
  if (pending) scan(pending);
}

await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
const code = await proc.exited;
const seconds = ((performance.now() - started) / 1000).toFixed(1);

const failed = counts.fail + counts.error;
const ran = counts.pass + failed;
let line = `${counts.pass} passed, ${failed} failed`;
if (counts.skip > 0) line += `, ${counts.skip} skipped`;
if (counts.todo > 0) line += `, ${counts.todo} todo`;

if (!sawSummary) console.error(`\nbun test exited with code ${code} without printing a summary (crashed or was killed).`);
else if (ran === 0) console.error("\nNo test ran: that is a failure, not a pass.");
else if (code !== 0 && failed === 0) console.error(`\nbun test exited with code ${code} although no test failed (an error outside a test?).`);
console.log(`\nfinished in ${seconds}s`);
console.log(line);

process.exit(code !== 0 || !sawSummary || ran === 0 || failed > 0 ? 1 : 0);
