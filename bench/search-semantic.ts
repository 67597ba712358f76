/**
 * Semantic search benchmark (issue 5): query latency and recall@10 of the vector index
 * (src/search/vectors.ts: binary-quantized vec0 coarse search with IVF cells + float re-rank)
 * at 100k and 1M chunks, and the built-in embedder's indexing throughput on real code.
 *
 *   bun bench/search-semantic.ts [--sizes 100000,1000000] [--queries 200] [--corpus node_modules] [--corpus-files 3000]
 *
 * The data: "random but clustered" 384-dimensional unit vectors shaped like a code corpus —
 * topics (one per 2,000 chunks), files (100 per topic) and chunks (20 per file). A file's
 * vector is its topic's plus 0.9× a random unit vector, normalised; a chunk's is its file's
 * plus 0.7× a random unit vector, normalised (cosine ≈ 0.67 between chunks of one file,
 * ≈ 0.37 between files of one topic, ≈ 0 otherwise). Random unit vectors: uniform [-1, 1]
 * per coordinate, normalised. Seeded (xorshift32), so every run makes the same data.
 * Queries: a fresh chunk of a random file (not itself in the index). Truth: exact cosine
 * top-10 over every vector (in memory); recall@10 = |found ∩ truth| / 10, averaged. "Mean
 * score ÷ exact's" compares the average cosine of the ten found with that of the true ten:
 * where many chunks score almost alike, another ten of nearly the same quality count as
 * misses for recall but not here.
 *
 * Each size runs in a fresh data dir through the real code: rows go into search_chunks and
 * the index with the same functions the indexer uses (addVectors), the IVF cells are built
 * with maintainStep (what the background indexer runs), and queries call nearest() — the
 * path semanticSearch takes after embedding the query. "filtered" asks as a member who may
 * read half of the 100 projects (the other half are someone else's private projects), through
 * the same permission condition semanticSearch builds (access.ts); its truth is exact over
 * the readable chunks only.
 *
 * Prints markdown tables for docs/PERFORMANCE.md; progress goes to stderr.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { openApp, type App } from "../src/core/app.ts";
import { createUser } from "../src/auth/users.ts";
import { setLogSink } from "../src/lib/log.ts";
import { detectLanguage } from "../src/projects/files.ts";
import { inTransaction, maintainStep } from "../src/search/ivf.ts";
import { builtinEmbedder } from "../src/search/embed.ts";
import { chunkFile } from "../src/search/chunk.ts";
import { embedText, indexFileTexts } from "../src/search/semantic-index.ts";
import { filterFor, vectorDb } from "../src/search/semantic.ts";
import { addVectors, ensureSpace, exactNearest, floatBlob, nearest, readMeta, NO_FILTER, type Filter } from "../src/search/vectors.ts";

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    sizes: { type: "string", default: "100000,1000000" },
    queries: { type: "string", default: "200" },
    corpus: { type: "string", default: "node_modules" },
    "corpus-files": { type: "string", default: "3000" },
  },
});
const sizes = flags.sizes.split(",").map(Number).filter((n) => n > 0);
const Q = Number(flags.queries);
const D = 384;
const SPACE = { id: "bench:clustered", dims: D };
const PROJECTS = 100;
const log = (m: string) => process.stderr.write(`${m}\n`);
setLogSink(() => {});

let seed = 12345;
function rnd(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
}
function unit(): Float32Array {
  const v = new Float32Array(D);
  let s = 0;
  for (let i = 0; i < D; i++) {
    const x = rnd() * 2 - 1;
    v[i] = x;
    s += x * x;
  }
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < D; i++) v[i] = (v[i] as number) * inv;
  return v;
}
function mix(a: Float32Array, b: Float32Array, w: number): Float32Array {
  const v = new Float32Array(D);
  let s = 0;
  for (let i = 0; i < D; i++) {
    const x = (a[i] as number) + w * (b[i] as number);
    v[i] = x;
    s += x * x;
  }
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < D; i++) v[i] = (v[i] as number) * inv;
  return v;
}
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
const ms = (x: number) => x.toFixed(x < 10 ? 2 : 1);

async function setup(dir: string): Promise<{ app: App; readable: Set<string>; memberId: string }> {
  const app = await openApp(loadConfig({ data: dir, port: "0" }, {}));
  const owner = await createUser(app.db.orm, { email: "owner@example.com", username: "owner", name: "Owner", role: "member", password: "correct horse battery staple" }, null);
  const member = await createUser(app.db.orm, { email: "member@example.com", username: "member", name: "Member", role: "member", password: "correct horse battery staple" }, null);
  const readable = new Set<string>();
  const now = Date.now();
  for (let p = 0; p < PROJECTS; p++) {
    const id = `benchproject${String(p).padStart(4, "0")}`;
    const pub = p % 2 === 0;
    await app.db.client.execute({
      sql: "INSERT INTO projects (id, owner_user_id, slug, name, visibility, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      args: [id, owner.id, `p${p}`, `P${p}`, pub ? "public" : "private", now, now],
    });
    if (pub) readable.add(id);
  }
  return { app, readable, memberId: member.id };
}

type Row = { size: number; what: string; p50: number; p95: number; recall: number; quality: number };

async function runSize(n: number): Promise<{ rows: Row[]; notes: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "wove-bench-semantic-"));
  const { app, readable, memberId } = await setup(dir);
  const db = vectorDb(app);
  seed = 12345;
  const files = Math.ceil(n / 20);
  const topics = Math.max(1, Math.ceil(files / 100));
  const topicVecs = Array.from({ length: topics }, unit);
  const fileVecs = Array.from({ length: files }, (_, i) => mix(topicVecs[i % topics] as Float32Array, unit(), 0.9));
  const all = new Float32Array(n * D);
  const projectOfChunk = new Int32Array(n);
  const ids = new Int32Array(n);
  log(`${n}: writing ${files} files and ${n} chunks…`);
  let t = performance.now();
  inTransaction(db, () => {
    const ins = db.prepare("INSERT INTO search_files (id, project_id, path, lang, size, mtime, kind, hash, line_count, indexed_at) VALUES (?, ?, ?, 'typescript', 1, 0, 'text', 'h', 400, 0)");
    for (let f = 0; f < files; f++) ins.run([f + 1, `benchproject${String(f % PROJECTS).padStart(4, "0")}`, `src/file${f}.ts`]);
  });
  ensureSpace(db, SPACE);
  const insChunk = db.prepare("INSERT INTO search_chunks (file_id, start_line, end_line, kind, title, embedder, embedding) VALUES (?, 1, 20, 'function', '', ?, ?)");
  for (let start = 0; start < n; start += 10_000) {
    inTransaction(db, () => {
      const batch: { id: number; vector: Float32Array }[] = [];
      for (let i = start; i < Math.min(n, start + 10_000); i++) {
        const f = i % files;
        const v = mix(fileVecs[f] as Float32Array, unit(), 0.7);
        all.set(v, i * D);
        projectOfChunk[i] = f % PROJECTS;
        const id = Number(insChunk.run([f + 1, SPACE.id, floatBlob(v)]).lastInsertRowid);
        ids[i] = id;
        batch.push({ id, vector: v });
      }
      addVectors(db, SPACE, batch);
    });
  }
  const writeS = (performance.now() - t) / 1000;
  log(`${n}: rows and index written in ${writeS.toFixed(1)} s; building IVF cells…`);
  t = performance.now();
  while (await maintainStep(db, SPACE.id, () => new Promise((r) => setImmediate(r)))) {
    // one training, then one batch per step
  }
  const ivfS = (performance.now() - t) / 1000;
  const meta = readMeta(db, SPACE.id);
  log(`${n}: ${meta?.cells} cells in ${ivfS.toFixed(1)} s; querying…`);

  const homes = Array.from({ length: Q }, () => Math.floor(rnd() * files));
  const queries = homes.map((f) => mix(fileVecs[f] as Float32Array, unit(), 0.7));
  const homeReadable = homes.map((f) => readable.has(`benchproject${String(f % PROJECTS).padStart(4, "0")}`));
  const scope = { kind: "member" as const, userId: memberId };
  const filtered: Filter = filterFor(scope, { paths: [], notPaths: [], langs: [] });
  const truthOf = (q: Float32Array, only?: Set<string>): { ids: Set<number>; mean: number } => {
    const best: { s: number; id: number }[] = [];
    for (let i = 0; i < n; i++) {
      if (only && !only.has(`benchproject${String(projectOfChunk[i]).padStart(4, "0")}`)) continue;
      let s = 0;
      const o = i * D;
      for (let d = 0; d < D; d++) s += (all[o + d] as number) * (q[d] as number);
      if (best.length < 10 || s > (best[9] as { s: number }).s) {
        best.push({ s, id: ids[i] as number });
        best.sort((a, b) => b.s - a.s);
        if (best.length > 10) best.pop();
      }
    }
    return { ids: new Set(best.map((b) => b.id)), mean: best.reduce((a, b) => a + b.s, 0) / Math.max(1, best.length) };
  };
  const rows: Row[] = [];
  const measure = (what: string, filter: Filter, only: Set<string> | undefined, pick: (i: number) => boolean) => {
    const chosen = queries.map((q, i) => ({ q, i })).filter(({ i }) => pick(i));
    for (const { q } of chosen.slice(0, 10)) nearest(db, SPACE, q, 10, filter); // warm-up
    const times: number[] = [];
    let recall = 0;
    let quality = 0;
    for (const { q } of chosen) {
      const t0 = performance.now();
      const got = nearest(db, SPACE, q, 10, filter);
      times.push(performance.now() - t0);
      const truth = truthOf(q, only);
      recall += got.filter((g) => truth.ids.has(g.id)).length / 10;
      quality += got.reduce((a, g) => a + g.score, 0) / Math.max(1, got.length) / truth.mean;
    }
    rows.push({ size: n, what: `${what} (${chosen.length} queries)`, p50: pct(times, 0.5), p95: pct(times, 0.95), recall: recall / chosen.length, quality: quality / chosen.length });
  };
  measure("all chunks (admin)", NO_FILTER, undefined, () => true);
  measure("member reading 50% of projects; the query's own file readable", filtered, readable, (i) => homeReadable[i] === true);
  measure("member reading 50% of projects; the query's own file not readable", filtered, readable, (i) => homeReadable[i] === false);
  const exactTimes: number[] = [];
  for (const q of queries.slice(0, 5)) {
    const t0 = performance.now();
    exactNearest(db, SPACE.id, q, 10, NO_FILTER);
    exactTimes.push(performance.now() - t0);
  }
  rows.push({ size: n, what: "exact float scan, no index (baseline, 5 queries)", p50: pct(exactTimes, 0.5), p95: pct(exactTimes, 0.95), recall: 1, quality: 1 });
  const dbBytes = statSync(join(dir, "wove.db")).size + (statSync(join(dir, "wove.db-wal"), { throwIfNoEntry: false })?.size ?? 0);
  const notes = [
    `${n.toLocaleString("en")} chunks: rows + index written at ${Math.round(n / writeS).toLocaleString("en")} chunks/s; IVF build (training + copy into ${meta?.cells} cells) ${ivfS.toFixed(1)} s; database ${(dbBytes / 1024 / 1024).toFixed(0)} MB.`,
  ];
  db.close();
  app.close();
  rmSync(dir, { recursive: true, force: true });
  return { rows, notes };
}

/** Chunks and embeds real source files with the built-in embedder; then the same through the indexer's write path. */
async function throughput(): Promise<string[]> {
  const files: string[] = [];
  const max = Number(flags["corpus-files"]);
  const walk = (d: string) => {
    if (files.length >= max) return;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (files.length >= max) return;
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (/\.(ts|js|mjs|cjs)$/.test(name) && !name.endsWith(".d.ts") && !name.endsWith(".min.js") && st.size < 256 * 1024) files.push(p);
    }
  };
  walk(flags.corpus);
  const texts = files.map((f) => ({ path: relative(flags.corpus, f), text: readFileSync(f, "utf8") }));
  const lines = texts.reduce((n, t) => n + t.text.split("\n").length, 0);
  let t = performance.now();
  let chunks = 0;
  for (const f of texts) {
    const cs = chunkFile(f.text, detectLanguage(f.path));
    chunks += cs.length;
    await builtinEmbedder.embed(cs.map((c) => embedText(f.path, c)));
  }
  const embedS = (performance.now() - t) / 1000;

  const dir = mkdtempSync(join(tmpdir(), "wove-bench-semantic-"));
  const { app } = await setup(dir);
  const db = vectorDb(app);
  inTransaction(db, () => {
    const ins = db.prepare("INSERT INTO search_files (id, project_id, path, lang, size, mtime, kind, hash, line_count, indexed_at) VALUES (?, 'benchproject0000', ?, ?, 1, 0, 'text', 'h', 1, 0)");
    texts.forEach((f, i) => ins.run([i + 1, f.path, detectLanguage(f.path)]));
  });
  t = performance.now();
  let written = 0;
  for (let i = 0; i < texts.length; i += 16) {
    const batch = texts.slice(i, i + 16).map((f, j) => ({ fileId: i + j + 1, projectId: "benchproject0000", path: f.path, lang: detectLanguage(f.path), hash: "h", text: f.text }));
    written += await indexFileTexts(db, builtinEmbedder, batch);
  }
  const indexS = (performance.now() - t) / 1000;
  db.close();
  app.close();
  rmSync(dir, { recursive: true, force: true });
  return [
    `Built-in embedder on ${texts.length.toLocaleString("en")} real JS/TS files from ${flags.corpus}/ (${lines.toLocaleString("en")} lines → ${chunks.toLocaleString("en")} chunks): chunk + embed ${Math.round(chunks / embedS).toLocaleString("en")} chunks/s; ` +
      `through the indexer's write path (chunk, embed, one transaction per file with chunk rows + index rows) ${Math.round(written / indexS).toLocaleString("en")} chunks/s (${Math.round(texts.length / indexS)} files/s), one core.`,
  ];
}

const results: Row[] = [];
const notes: string[] = [];
for (const n of sizes) {
  const r = await runSize(n);
  results.push(...r.rows);
  notes.push(...r.notes);
}
notes.push(...(await throughput()));

console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Bun ${Bun.version}. Queries: ${Q} per size, k = 10.\n`);
console.log(`Load average while it ran: ${loadavg().map((l) => l.toFixed(2)).join(", ")} (1, 5, 15 min; other work on the machine slows every figure).\n`);
console.log("| chunks | query | p50 ms | p95 ms | recall@10 | mean score ÷ exact's |");
console.log("| ---: | --- | ---: | ---: | ---: | ---: |");
for (const r of results) console.log(`| ${r.size.toLocaleString("en")} | ${r.what} | ${ms(r.p50)} | ${ms(r.p95)} | ${r.recall.toFixed(3)} | ${r.quality.toFixed(3)} |`);
console.log("");
for (const n of notes) console.log(`- ${n}`);
