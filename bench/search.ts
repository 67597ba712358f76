/**
 * Search benchmark (issue 5's performance goals), in-process against the real indexer and search
 * functions — the ones `GET /api/v1/search` and the search page call — on a fresh data dir:
 *
 *   1. Corpus: the JavaScript/TypeScript sources under this repository's node_modules, one
 *      project per package, copied into the projects' working trees. Left out: monaco-editor's
 *      bundled copies of itself (dev/ and min/: the same code as its esm/ sources, minified or
 *      concatenated), files over the index's per-file limit (so ripgrep and Wove search the
 *      same bytes), minified files (average line over 300 characters) and symlinks.
 *   2. Index build: the code-search indexer from nothing to settled (time, database growth).
 *   3. Queries as a signed-in member who owns none of the projects (all public), p50/p95 of
 *      the first page (20 results): substring, regex (literal-prefixed), fuzzy file finder.
 *      Substring and regex are also run to the last page ("all"), and compared with ripgrep
 *      over the same files in the same run (ratio = Wove / rg).
 *   4. Incremental: a one-line edit through the file API (writeProjectFile, which the editor
 *      and the API also end in) until code search finds it; a deletion until it is gone.
 *   5. Semantic (built-in embedder): the semantic indexer to settled, then p50/p95 of queries,
 *      and the edit latency again with both indexers running.
 *
 *   bun bench/search.ts [--runs 20] [--rg-runs 5] [--edits 10] [--no-semantic] [--root node_modules] [--keep]
 *
 * `--keep` leaves the data dir (path on stderr) for looking into a figure afterwards.
 *
 * Progress goes to stderr; markdown tables for docs/PERFORMANCE.md to stdout.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { openApp } from "../src/core/app.ts";
import { createUser } from "../src/auth/users.ts";
import type { Actor } from "../src/auth/actor.ts";
import type { Project } from "../src/db/schema.ts";
import { setLogSink } from "../src/lib/log.ts";
import { createProject } from "../src/projects/projects.ts";
import { deleteProjectFile, filesDir, writeProjectFile } from "../src/projects/files.ts";
import { searchScope } from "../src/search/access.ts";
import { searchCode } from "../src/search/code.ts";
import { findFiles } from "../src/search/finder.ts";
import { startSearchIndexer } from "../src/search/indexer.ts";
import { parseQuery } from "../src/search/query.ts";
import { semanticSearchScoped } from "../src/search/semantic.ts";
import { startSemanticIndexer } from "../src/search/semantic-index.ts";

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    runs: { type: "string", default: "20" },
    "rg-runs": { type: "string", default: "5" },
    edits: { type: "string", default: "10" },
    "no-semantic": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    root: { type: "string", default: resolve(import.meta.dir, "../node_modules") },
  },
});
const RUNS = Number(flags.runs);
const RG_RUNS = Number(flags["rg-runs"]);
const EDITS = Number(flags.edits);
const ROOT = resolve(flags.root ?? "node_modules");
const PAGE = 20;

// Queries: identifiers and calls common in JS/TS code, a few rare ones, none written for this.
const SUBSTRING = ["addEventListener", "Promise.resolve", "JSON.parse(", "createElement", "Symbol.iterator", "hasOwnProperty", "TODO", "readFileSync", "WebSocket", "Uint8Array"];
const REGEX = [
  "addEventListener\\(\\s*['\"]\\w+",
  "new Promise\\(\\s*\\(?resolve",
  "function\\s+\\w+Error\\b",
  "import\\s+\\{[^}]*\\}\\s+from",
  "JSON\\.parse\\([a-z]+\\)",
  "readFileSync\\([^)]*utf-?8",
  "throw new TypeError\\(`",
  "export (async )?function \\w+Sync\\(",
];
const FUZZY = ["indexts", "ydoc", "tokenizer", "dompurify", "websocketsrv", "editorbrowser", "jsonworker", "pgcore", "typeboxcompiler", "utilsjs"];
const SEMANTIC = [
  "parse a json response from the server",
  "open a websocket connection and reconnect",
  "escape html entities in a string",
  "compute a hash of a string",
  "read a file from disk",
  "sanitize untrusted html",
  "encode text as utf8 bytes",
  "build a sql select query with a where clause",
  "debounce a function call",
  "undo and redo edits in a document",
];

setLogSink(() => {});
const loadAtStart = loadavg()[0] ?? 0;
const progress = (line: string) => process.stderr.write(`${line}\n`);
const sortNum = (xs: number[]) => [...xs].sort((a, b) => a - b);
function pct(xs: number[], p: number): number {
  const s = sortNum(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}
const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : "–");
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const int = (n: number) => Math.round(n).toLocaleString("en-US");
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

// ---------------------------------------------------------------------------------------------
// 1. Corpus

const EXT = /\.(m?[jt]sx?|c[jt]s)$/;
const MAX_FILE = loadConfig({ data: tmpdir() }, {}).searchMaxFileBytes;
const MINIFIED_LINE = 300;
type Pkg = { name: string; dir: string; files: string[]; lines: number; bytes: number };
const skipped = { big: 0, minified: 0, bundles: 0 };

function collect(dir: string, pkg: Pkg): void {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isSymbolicLink()) continue;
    if (d.isDirectory()) {
      if (d.name === ".bin" || d.name === ".cache") continue;
      // monaco-editor ships its esm/ sources again as bundles in dev/ and min/.
      if (pkg.name === "monaco-editor" && (p === join(pkg.dir, "dev") || p === join(pkg.dir, "min"))) {
        skipped.bundles++;
        continue;
      }
      collect(p, pkg);
    } else if (d.isFile() && EXT.test(d.name)) {
      const size = statSync(p).size;
      if (size > MAX_FILE) {
        skipped.big++;
        continue;
      }
      const text = readFileSync(p, "utf8");
      const lines = text.split("\n").length;
      if (text.length / lines > MINIFIED_LINE) {
        skipped.minified++;
        continue;
      }
      pkg.files.push(p.slice(pkg.dir.length + 1));
      pkg.lines += lines;
      pkg.bytes += size;
    }
  }
}

const pkgs: Pkg[] = [];
for (const d of readdirSync(ROOT, { withFileTypes: true })) {
  if (!d.isDirectory() || d.name.startsWith(".")) continue;
  const names = d.name.startsWith("@") ? readdirSync(join(ROOT, d.name), { withFileTypes: true }).filter((s) => s.isDirectory()).map((s) => `${d.name}/${s.name}`) : [d.name];
  for (const name of names) {
    const pkg: Pkg = { name, dir: join(ROOT, name), files: [], lines: 0, bytes: 0 };
    collect(pkg.dir, pkg);
    if (pkg.files.length > 0) pkgs.push(pkg);
  }
}
pkgs.sort((a, b) => a.name.localeCompare(b.name));
const corpus = {
  packages: pkgs.length,
  files: pkgs.reduce((n, p) => n + p.files.length, 0),
  lines: pkgs.reduce((n, p) => n + p.lines, 0),
  bytes: pkgs.reduce((n, p) => n + p.bytes, 0),
};
progress(`1/5 corpus: ${int(corpus.files)} files, ${int(corpus.lines)} lines, ${mib(corpus.bytes)} in ${corpus.packages} packages under ${ROOT}`);

const scratch = mkdtempSync(join(tmpdir(), "wove-bench-search-"));
const app = await openApp(loadConfig({ data: join(scratch, "data") }, {}));
const { orm } = app.db;
const dataDir = app.config.dataDir;
const owner = await createUser(orm, { email: "owner@example.com", role: "member", username: "owner", name: "Owner" }, null);
const reader = await createUser(orm, { email: "reader@example.com", role: "member", username: "reader", name: "Reader" }, null);
const readerActor: Actor = { kind: "user", user: reader, via: "session", sessionId: "bench" };
const projects: { pkg: Pkg; project: Project }[] = [];
for (const pkg of pkgs) {
  const project = await createProject(orm, dataDir, owner, { name: pkg.name, description: `The ${pkg.name} package's sources`, visibility: "public" });
  const root = filesDir(dataDir, project.id);
  for (const f of pkg.files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    copyFileSync(join(pkg.dir, f), join(root, f));
  }
  projects.push({ pkg, project });
}
const dbFile = app.db.file ?? join(dataDir, "wove.db");
async function dbBytes(): Promise<number> {
  await app.db.client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  let n = statSync(dbFile).size;
  try {
    n += statSync(`${dbFile}-wal`).size;
  } catch {
    // no WAL file
  }
  return n;
}
const baseBytes = await dbBytes();

// ---------------------------------------------------------------------------------------------
// 2. Index build

progress("2/5 code index: building…");
const buildStarted = performance.now();
const indexer = startSearchIndexer(app);
await indexer.settled(60 * 60_000);
const buildMs = performance.now() - buildStarted;
const codeBytes = (await dbBytes()) - baseBytes;
const counts = (await app.db.client.execute("SELECT (SELECT count(*) FROM search_files) AS files, (SELECT count(*) FROM search_segments) AS segments")).rows[0];
progress(`   ${ms(buildMs / 1000)} s, ${mib(codeBytes)}, ${counts?.files} files, ${counts?.segments} segments`);

// ---------------------------------------------------------------------------------------------
// 3. Queries

const scope = await searchScope(app, readerActor);
type Row = { kind: string; query: string; p50: number; p95: number; hits: number; all?: number; allHits?: number; rg?: number; rgLines?: number };
const rows: Row[] = [];

async function measure(fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up: caches, the worker for regexes
  const out: number[] = [];
  for (let r = 0; r < RUNS; r++) out.push(await time(fn));
  return out;
}

/** Every page of a code search; returns the number of distinct matching lines (what rg counts). */
async function allPages(q: string, regex: boolean): Promise<number> {
  let cursor: string | undefined;
  const lines = new Set<string>();
  for (;;) {
    const r = await searchCode(app, scope, parseQuery(q), { regex, caseSensitive: false, limit: 100, ...(cursor ? { cursor } : {}) });
    for (const h of r.results) {
      // A hit is a few lines with context; the lines holding a highlighted range are the matching ones.
      let offset = 0;
      h.snippet.split("\n").forEach((line, i) => {
        const end = offset + line.length;
        if ((h.ranges ?? []).some(([a, b]) => a < end && b > offset)) lines.add(`${h.projectId}\n${h.path}\n${h.snippetStart + i}`);
        offset = end + 1;
      });
    }
    if (!r.next) return lines.size;
    cursor = r.next;
  }
}

const projectDirs = projects.map((p) => filesDir(dataDir, p.project.id));
/** ripgrep over the same working trees, case-insensitive like Wove's default; matching lines. */
async function rg(pattern: string, fixed: boolean): Promise<{ ms: number; lines: number }> {
  const args = ["rg", "--no-config", "--no-ignore", "--hidden", "-i", "-n", "--no-heading", "--color", "never", ...(fixed ? ["-F"] : []), "-e", pattern, ...projectDirs];
  const t = performance.now();
  const p = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const elapsed = performance.now() - t;
  return { ms: elapsed, lines: out === "" ? 0 : out.split("\n").length - 1 };
}

async function codeRows(kind: "substring" | "regex", queries: string[]): Promise<void> {
  for (const q of queries) {
    const regex = kind === "regex";
    let hits = 0;
    const first = await measure(async () => {
      hits = (await searchCode(app, scope, parseQuery(q), { regex, caseSensitive: false, limit: PAGE })).results.length;
    });
    let allHits = 0;
    const all: number[] = [];
    for (let r = 0; r < RG_RUNS; r++) all.push(await time(async () => (allHits = await allPages(q, regex))));
    const rgRuns: number[] = [];
    let rgLines = 0;
    await rg(q, !regex); // warm the page cache for rg too
    for (let r = 0; r < RG_RUNS; r++) {
      const x = await rg(q, !regex);
      rgRuns.push(x.ms);
      rgLines = x.lines;
    }
    rows.push({ kind, query: q, p50: pct(first, 50), p95: pct(first, 95), hits, all: pct(all, 50), allHits, rg: pct(rgRuns, 50), rgLines });
    progress(`   ${kind} ${JSON.stringify(q)}: p50 ${ms(pct(first, 50))} ms, all ${ms(pct(all, 50))} ms (${allHits}), rg ${ms(pct(rgRuns, 50))} ms (${rgLines} lines)`);
  }
}

progress("3/5 queries: substring, regex (with ripgrep), fuzzy file finder…");
const firstPageSamples: Record<string, number[]> = { substring: [], regex: [], fuzzy: [], semantic: [] };
await codeRows("substring", SUBSTRING);
await codeRows("regex", REGEX);
for (const q of FUZZY) {
  let hits = 0;
  const t = await measure(async () => {
    hits = (await findFiles(app, scope, parseQuery(q), { limit: PAGE })).results.length;
  });
  rows.push({ kind: "fuzzy", query: q, p50: pct(t, 50), p95: pct(t, 95), hits });
  firstPageSamples.fuzzy?.push(...t);
}
// Pooled samples per kind, for the summary (re-measured per query above; pooled here).
for (const kind of ["substring", "regex"] as const) {
  for (const q of kind === "substring" ? SUBSTRING : REGEX) {
    const t = await measure(() => searchCode(app, scope, parseQuery(q), { regex: kind === "regex", caseSensitive: false, limit: PAGE }));
    firstPageSamples[kind]?.push(...t);
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Incremental updates

/** Edits a file through the file API and waits until code search finds the new line; ms. */
async function editLatency(n: number, label: string): Promise<{ edit: number[]; del: number[] }> {
  const edit: number[] = [];
  const del: number[] = [];
  for (let i = 0; i < n; i++) {
    const { pkg, project } = projects[(i * 7) % projects.length] as { pkg: Pkg; project: Project };
    const path = pkg.files[(i * 13) % pkg.files.length] as string;
    const before = readFileSync(join(filesDir(dataDir, project.id), path));
    const token = `benchEdit${label}${i}x${Date.now().toString(36)}`;
    const bytes = new Uint8Array(Buffer.concat([before, Buffer.from(`\n// ${token}\n`)]));
    const found = async (q: string) => (await searchCode(app, scope, parseQuery(q), { regex: false, caseSensitive: false, limit: 1 })).results.length > 0;
    const t0 = performance.now();
    await writeProjectFile(orm, dataDir, project, path, bytes, app.config.maxFileBytes, owner.id);
    while (!(await found(token))) {
      if (performance.now() - t0 > 30_000) throw new Error(`edit ${token} not searchable after 30 s`);
      await Bun.sleep(5);
    }
    edit.push(performance.now() - t0);
    // A new file, then its deletion: gone from results.
    const extra = `bench-${label}-${i}.ts`;
    const gone = `benchGone${label}${i}x${Date.now().toString(36)}`;
    await writeProjectFile(orm, dataDir, project, extra, new TextEncoder().encode(`export const ${gone} = 1;\n`), app.config.maxFileBytes, owner.id);
    while (!(await found(gone))) await Bun.sleep(5);
    const t1 = performance.now();
    await deleteProjectFile(orm, dataDir, project, extra, owner.id);
    while (await found(gone)) {
      if (performance.now() - t1 > 30_000) throw new Error(`deleted ${extra} still found after 30 s`);
      await Bun.sleep(5);
    }
    del.push(performance.now() - t1);
  }
  return { edit, del };
}

progress("4/5 incremental: edits through the file API…");
const inc = await editLatency(EDITS, "a");
progress(`   edit p50 ${ms(pct(inc.edit, 50))} ms, max ${ms(pct(inc.edit, 100))} ms; delete p50 ${ms(pct(inc.del, 50))} ms`);

// ---------------------------------------------------------------------------------------------
// 5. Semantic

let semantic: { buildMs: number; chunks: number; bytes: number; rows: Row[]; inc: { edit: number[]; del: number[] } } | null = null;
if (!flags["no-semantic"]) {
  progress("5/5 semantic: embedding every file with the built-in embedder…");
  const t = performance.now();
  const worker = startSemanticIndexer(app);
  if (!worker) throw new Error("the semantic indexer did not start (remote database?)");
  await worker.settled(4 * 60 * 60_000);
  const semBuildMs = performance.now() - t;
  const chunks = Number((await app.db.client.execute("SELECT count(*) AS n FROM search_chunks")).rows[0]?.n ?? 0);
  const semBytes = (await dbBytes()) - baseBytes - codeBytes;
  progress(`   ${ms(semBuildMs / 1000)} s, ${int(chunks)} chunks, ${mib(semBytes)}`);
  const semRows: Row[] = [];
  for (const q of SEMANTIC) {
    let hits = 0;
    const s = await measure(async () => {
      hits = (await semanticSearchScoped(app, scope, parseQuery(q), PAGE)).length;
    });
    semRows.push({ kind: "semantic", query: q, p50: pct(s, 50), p95: pct(s, 95), hits });
    firstPageSamples.semantic?.push(...s);
  }
  progress("   edits with both indexers running…");
  const inc2 = await editLatency(EDITS, "b");
  semantic = { buildMs: semBuildMs, chunks, bytes: semBytes, rows: semRows, inc: inc2 };
  await worker.stop();
}
await indexer.stop();

// ---------------------------------------------------------------------------------------------
// Report

const rgVersion = (Bun.spawnSync(["rg", "--version"]).stdout.toString().split("\n")[0] ?? "").trim();
const out: string[] = [];
const say = (s = "") => out.push(s);
say(
  `Machine: ${cpus()[0]?.model ?? "?"}, ${cpus().length} vCPUs; Bun ${Bun.version}; ${rgVersion}; 1-minute load average ${loadAtStart.toFixed(2)} at the start, ${(loadavg()[0] ?? 0).toFixed(2)} at the end. ` +
    `Runs per query: ${RUNS} (after one warm-up); ripgrep and "all pages": median of ${RG_RUNS}.`,
);
say();
say(
  `Corpus: ${int(corpus.files)} JS/TS files, ${int(corpus.lines)} lines, ${mib(corpus.bytes)}, from ${corpus.packages} packages under node_modules (one public project each). ` +
    `Left out: monaco-editor's dev/ and min/ bundles, ${skipped.big} files over ${mib(MAX_FILE)}, ${skipped.minified} minified files. Searched as a member who owns none of them.`,
);
say();
say("| Index | Value |");
say("| --- | ---: |");
say(`| Code index build (indexer start → settled) | ${ms(buildMs / 1000)} s (${int(corpus.lines / (buildMs / 1000))} lines/s) |`);
say(`| Code index size (database growth) | ${mib(codeBytes)} (${(codeBytes / corpus.bytes).toFixed(2)}× the corpus) |`);
say(`| One-line edit → found by code search, p50 / max (N=${EDITS}) | ${ms(pct(inc.edit, 50))} / ${ms(pct(inc.edit, 100))} ms |`);
say(`| File deleted → gone from results, p50 / max | ${ms(pct(inc.del, 50))} / ${ms(pct(inc.del, 100))} ms |`);
if (semantic) {
  say(`| Semantic index build (built-in embedder) | ${ms(semantic.buildMs / 1000)} s, ${int(semantic.chunks)} chunks |`);
  say(`| Semantic index size (database growth) | ${mib(semantic.bytes)} |`);
  say(`| One-line edit → found by code search, both indexers running, p50 / max | ${ms(pct(semantic.inc.edit, 50))} / ${ms(pct(semantic.inc.edit, 100))} ms |`);
}
say();
say("| Query kind (first page, 20 results) | p50 ms | p95 ms | Goal |");
say("| --- | ---: | ---: | --- |");
const goal: Record<string, string> = { substring: "p95 < 10 ms", regex: "≤ ripgrep", fuzzy: "p95 < 10 ms", semantic: "p95 < 10 ms at 100k chunks" };
for (const kind of ["substring", "regex", "fuzzy", "semantic"]) {
  const s = firstPageSamples[kind] ?? [];
  if (s.length > 0) say(`| ${kind} (all queries pooled, N=${s.length}) | ${ms(pct(s, 50))} | ${ms(pct(s, 95))} | ${goal[kind]} |`);
}
say();
say("| Kind | Query | First page p50 / p95 ms | Hits | All pages ms (matching lines) | ripgrep ms (matching lines) | First page ÷ rg | All ÷ rg |");
say("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
const cell = (q: string) => `\`${q.replace(/\|/g, "\\|")}\``;
for (const r of [...rows, ...(semantic?.rows ?? [])]) {
  const vsRg = r.rg !== undefined ? `${(r.p50 / r.rg).toFixed(2)}` : "";
  const allVsRg = r.rg !== undefined && r.all !== undefined ? `${(r.all / r.rg).toFixed(2)}` : "";
  const all = r.all !== undefined ? `${ms(r.all)} (${r.allHits})` : "";
  const rgCell = r.rg !== undefined ? `${ms(r.rg)} (${r.rgLines})` : "";
  say(`| ${r.kind} | ${cell(r.query)} | ${ms(r.p50)} / ${ms(r.p95)} | ${r.hits} | ${all} | ${rgCell} | ${vsRg} | ${allVsRg} |`);
}
console.log(out.join("\n"));

app.close();
if (flags.keep) progress(`data dir kept: ${join(scratch, "data")}`);
else rmSync(scratch, { recursive: true, force: true });
