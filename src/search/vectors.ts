/**
 * The vector index of semantic search, on the `libsql` connection that has sqlite-vec loaded
 * (db/vec.ts). Float vectors live in search_chunks.embedding (a plain table, so they join with
 * the permission filter); the index is a binary-quantized vec0 table per vector space
 * (embedder): one bit per dimension (its sign), 48 bytes for 384 dimensions.
 *
 * A query (nearest):
 * 1. Coarse: the K = 200 nearest chunks by Hamming distance. sqlite-vec's top-k costs
 *    rows × k, so a plain `k = 200` over a million rows is slow; instead a query estimates a
 *    distance threshold T from a sample — the nearest cell's shard 0 (an eighth of the cell,
 *    by `id % 8`, a second partition key) asked for its ⌈K/8⌉ nearest — and asks each probed
 *    cell for its K nearest with `distance <= T`, tightening T to the K-th best found so far
 *    after each cell; that costs about one pass over the rows. Up to IVF_MIN rows there is one
 *    cell; from there on the rows are partitioned into IVF cells (spherical k-means over a
 *    sample, ivf.ts) and a query probes the cells whose centroids are nearest to it until they
 *    hold probeShare() of the rows.
 * 2. Re-rank: the candidates' float vectors by exact cosine, in ONE SQL statement that joins
 *    search_chunks → search_files → projects and applies the caller's filter (the permission
 *    scope, path filters) — the filter is inside the query, never applied after a LIMIT.
 * 3. Over-fetch: when the filter leaves fewer than wanted — the caller may read little of a big
 *    index, or the chunks nearest the query are all in projects they cannot read — a filter
 *    that admits at most EXACT_ROWS rows (estimated from 256 random rows) is answered by an
 *    exact scan of just those rows; otherwise ESCALATED_K candidates are fetched from every
 *    cell and re-ranked; and if that is still short and the filter admits at most
 *    5 × EXACT_ROWS rows, the exact scan answers. A filter can therefore never empty a page
 *    that readable chunks could fill; when the readable chunks nearest the query are only
 *    weakly similar (far down a plateau of near-equal scores) recall against an exact scan
 *    drops (bench/search-semantic.ts measures this case), never the permission check.
 *
 * Ids are BigInt for vec0 and every statement gets its parameters as ONE array (libsql
 * aborts the process on a bare typed-array argument).
 */
import { createHash } from "node:crypto";
import type { VecDatabase } from "../db/vec.ts";

export const SHARDS = 8;
/**
 * Rows from which an index is partitioned into IVF cells. Below it one cell: a full binary scan
 * (3–8 ms per 100k rows on the bench machine, depending on its load), exact candidates.
 */
export const IVF_MIN = 64_000;
/** Cells are retrained when the index has grown this many times over since the last training. */
export const REBUILD_GROWTH = 4;
/**
 * The share of the rows a query probes: half of 16 cells, under a third of 64 (finer cells
 * keep a query's neighbours together better). Measured on the bench's data: recall@10 0.968
 * with 16 cells at 100k rows, 0.972 with 63 cells at 1M.
 */
export function probeShare(cells: number): number {
  return Math.min(0.5, Math.max(0.3, 8 / cells));
}
export const COARSE_K = 200;
const MAX_K = 4096;

export type Space = { id: string; dims: number };
export type Meta = {
  space: string;
  dims: number;
  generation: number;
  cells: number;
  size: number;
  trainedSize: number;
  building: number | null;
  buildingCells: number | null;
  buildingAfter: number;
  buildingSize: number;
};
export type Filter = { sql: string; args: (string | number)[] };
export type Scored = { id: number; score: number };

// ---- Encoding ----

/** float32 blob → Float32Array (libsql hands blobs back as Buffer or ArrayBuffer). */
export function toFloat32(x: unknown): Float32Array {
  if (x instanceof ArrayBuffer) return new Float32Array(x.slice(0));
  if (x instanceof Uint8Array) return new Float32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  throw new Error("not a vector blob");
}

export function floatBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function bitDims(dims: number): number {
  return Math.ceil(dims / 8) * 8;
}

/** One bit per dimension, set when the value is positive (sign quantization). */
export function toBits(v: Float32Array): Buffer {
  const out = Buffer.alloc(Math.ceil(v.length / 8));
  for (let i = 0; i < v.length; i++) if ((v[i] as number) > 0) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  return out;
}

export function tableName(space: string, generation: number): string {
  return `search_vec_${createHash("sha256").update(space).digest("hex").slice(0, 12)}_${generation}`;
}

// ---- Meta and tables ----

export function readMeta(db: VecDatabase, space: string): Meta | undefined {
  const r = db.prepare("SELECT * FROM search_vec_spaces WHERE space = ?").get([space]) as Record<string, unknown> | undefined;
  if (!r) return undefined;
  return {
    space: String(r.space),
    dims: Number(r.dims),
    generation: Number(r.generation),
    cells: Number(r.cells),
    size: Number(r.size),
    trainedSize: Number(r.trained_size),
    building: r.building === null ? null : Number(r.building),
    buildingCells: r.building_cells === null ? null : Number(r.building_cells),
    buildingAfter: Number(r.building_after),
    buildingSize: Number(r.building_size),
  };
}

export function createIndexTable(db: VecDatabase, space: string, generation: number, dims: number): void {
  db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS ${tableName(space, generation)} USING vec0(cell integer partition key, shard integer partition key, bits bit[${bitDims(dims)}])`);
}

/** The space's meta row and live table, created on first use. */
export function ensureSpace(db: VecDatabase, space: Space): Meta {
  const known = readMeta(db, space.id);
  if (known) {
    if (known.dims !== space.dims) throw new Error(`vector space ${space.id} holds ${known.dims}-dimensional vectors, not ${space.dims}`);
    return known;
  }
  // Generations start at the clock, so a space dropped and made again (an embedder switched
  // away from and back) never reuses a generation number some cache may still hold.
  const generation = Date.now();
  db.prepare("INSERT OR IGNORE INTO search_vec_spaces (space, dims, generation) VALUES (?, ?, ?)").run([space.id, space.dims, generation]);
  createIndexTable(db, space.id, generation, space.dims);
  return readMeta(db, space.id) as Meta;
}

type Centroids = { vectors: Float32Array[]; share: number[] };
/** Per connection (each database has its own spaces and generations), by space and generation. */
const centroidCaches = new WeakMap<VecDatabase, Map<string, Centroids>>();

export function centroidsOf(db: VecDatabase, space: string, generation: number): Centroids {
  let centroidCache = centroidCaches.get(db);
  if (!centroidCache) {
    centroidCache = new Map();
    centroidCaches.set(db, centroidCache);
  }
  const key = `${space}\u0000${generation}`;
  const hit = centroidCache.get(key);
  if (hit) return hit;
  const rows = db.prepare("SELECT cell, share, centroid FROM search_vec_centroids WHERE space = ? AND generation = ? ORDER BY cell").all([space, generation]) as {
    cell: number;
    share: number;
    centroid: unknown;
  }[];
  const c = { vectors: rows.map((r) => toFloat32(r.centroid)), share: rows.map((r) => Number(r.share)) };
  if (centroidCache.size > 8) centroidCache.clear();
  if (c.vectors.length > 0) centroidCache.set(key, c);
  return c;
}

export function nearestCell(c: Centroids, v: Float32Array): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < c.vectors.length; i++) {
    const s = dotF(c.vectors[i] as Float32Array, v);
    if (s > bestScore) {
      bestScore = s;
      best = i;
    }
  }
  return best;
}

function dotF(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

// ---- Writes (the caller holds a write transaction) ----

/** Writes index rows into one vec0 table, each in the cell nearest to it; returns the net rows added. */
export function insertInto(db: VecDatabase, table: string, cells: Centroids | undefined, rows: { id: number; vector: Float32Array }[]): number {
  const del = db.prepare(`DELETE FROM ${table} WHERE rowid = ?`);
  const ins = db.prepare(`INSERT INTO ${table} (rowid, cell, shard, bits) VALUES (?, ?, ?, vec_bit(?))`);
  let added = 0;
  for (const r of rows) {
    const id = BigInt(r.id);
    added -= del.run([id]).changes;
    const cell = cells && cells.vectors.length > 0 ? nearestCell(cells, r.vector) : 0;
    ins.run([id, BigInt(cell), BigInt(r.id % SHARDS), toBits(r.vector)]);
    added++;
  }
  return added;
}

/** Indexes chunk vectors (already stored in search_chunks). */
export function addVectors(db: VecDatabase, space: Space, rows: { id: number; vector: Float32Array }[]): void {
  if (rows.length === 0) return;
  const m = ensureSpace(db, space);
  const live = m.cells > 1 ? centroidsOf(db, m.space, m.generation) : undefined;
  const added = insertInto(db, tableName(m.space, m.generation), live, rows);
  let buildingAdded = 0;
  if (m.building !== null) {
    // The rebuild copies rows in id order; those it has passed must be written there too.
    const passed = rows.filter((r) => r.id <= m.buildingAfter);
    if (passed.length > 0) buildingAdded = insertInto(db, tableName(m.space, m.building), centroidsOf(db, m.space, m.building), passed);
  }
  db.prepare("UPDATE search_vec_spaces SET size = size + ?, building_size = building_size + ? WHERE space = ?").run([added, buildingAdded, m.space]);
}

function spaces(db: VecDatabase): Meta[] {
  const rows = db.prepare("SELECT space FROM search_vec_spaces").all([]) as { space: string }[];
  return rows.map((r) => readMeta(db, r.space)).filter((m): m is Meta => m !== undefined);
}

/** Removes index rows of chunks that are gone (search_chunks_gone). Returns how many ids were handled. */
export function removeGone(db: VecDatabase, limit = 2000): number {
  const ids = (db.prepare("SELECT id FROM search_chunks_gone ORDER BY id LIMIT ?").all([limit]) as { id: number }[]).map((r) => Number(r.id));
  if (ids.length === 0) return 0;
  for (const m of spaces(db)) {
    const tables: [string, "size" | "building_size"][] = [[tableName(m.space, m.generation), "size"]];
    if (m.building !== null) tables.push([tableName(m.space, m.building), "building_size"]);
    for (const [table, column] of tables) {
      const del = db.prepare(`DELETE FROM ${table} WHERE rowid = ?`);
      let removed = 0;
      for (const id of ids) removed += del.run([BigInt(id)]).changes;
      if (removed > 0) db.prepare(`UPDATE search_vec_spaces SET ${column} = max(0, ${column} - ?) WHERE space = ?`).run([removed, m.space]);
    }
  }
  db.prepare("DELETE FROM search_chunks_gone WHERE id <= ?").run([ids[ids.length - 1] as number]);
  return ids.length;
}

/** Drops the index of every space but `keep` (after an embedder switch). */
export function dropOtherSpaces(db: VecDatabase, keep: string): void {
  for (const m of spaces(db)) {
    if (m.space === keep) continue;
    db.exec(`DROP TABLE IF EXISTS ${tableName(m.space, m.generation)}`);
    if (m.building !== null) db.exec(`DROP TABLE IF EXISTS ${tableName(m.space, m.building)}`);
    db.prepare("DELETE FROM search_vec_centroids WHERE space = ?").run([m.space]);
    db.prepare("DELETE FROM search_vec_spaces WHERE space = ?").run([m.space]);
    centroidCaches.get(db)?.clear();
  }
}

// ---- Queries ----

export type Candidate = { id: number; distance: number };

/** The cells to probe, nearest first, until they hold `share` of the rows (at least two). */
export function probeOrder(c: Centroids | undefined, q: Float32Array, share: number): number[] {
  if (!c || c.vectors.length <= 1) return [0];
  const order = c.vectors.map((v, i) => ({ i, s: dotF(v, q) })).sort((a, b) => b.s - a.s);
  const out: number[] = [];
  let covered = 0;
  for (const { i } of order) {
    out.push(i);
    covered += c.share[i] ?? 0;
    if (covered >= share && out.length >= 2) break;
  }
  return out;
}

/** The ~k nearest rows by Hamming distance among the cells probed for `share` of the index. */
export function coarse(db: VecDatabase, m: Meta, q: Float32Array, k: number, share = probeShare(m.cells)): Candidate[] {
  const table = tableName(m.space, m.generation);
  const cells = probeOrder(m.cells > 1 ? centroidsOf(db, m.space, m.generation) : undefined, q, share);
  const bits = toBits(padded(q, m.dims));
  const kk = Math.min(MAX_K, Math.max(1, k));
  // The distance threshold: the nearest cell's shard 0 holds about an eighth of it; its
  // ⌈k/8⌉-th nearest row is about the k-th nearest of that cell, which bounds the k-th
  // nearest overall from above. Each later cell tightens it to the k-th best found so far.
  const sampleK = Math.ceil(kk / SHARDS);
  const sample = db.prepare(`SELECT distance FROM ${table} WHERE bits MATCH vec_bit(?) AND k = ? AND cell = ? AND shard = 0`).all([bits, sampleK, BigInt(cells[0] ?? 0)]) as { distance: number }[];
  const full = bitDims(m.dims);
  let threshold = sample.length > 0 ? Number(sample[sample.length - 1]?.distance ?? full) : full;
  const knn = db.prepare(`SELECT rowid, distance FROM ${table} WHERE bits MATCH vec_bit(?) AND k = ? AND cell = ? AND distance <= ?`);
  for (;;) {
    let found: Candidate[] = [];
    let bound = threshold;
    for (const cell of cells) {
      for (const r of knn.all([bits, kk, BigInt(cell), bound]) as { rowid: number | bigint; distance: number }[]) found.push({ id: Number(r.rowid), distance: Number(r.distance) });
      if (found.length >= kk) {
        found = found.sort((a, b) => a.distance - b.distance).slice(0, kk);
        bound = Math.min(bound, (found[kk - 1] as Candidate).distance);
      }
    }
    // A threshold that let through far fewer than asked came from a small or unlucky sample: widen it.
    if (found.length >= kk / 4 || threshold >= full) return found.sort((a, b) => a.distance - b.distance).slice(0, kk);
    threshold = Math.min(full, threshold + Math.ceil(full / 16));
  }
}

function padded(q: Float32Array, dims: number): Float32Array {
  if (q.length !== dims) throw new Error(`query has ${q.length} dimensions, the index ${dims}`);
  return q;
}

const JOIN = "JOIN search_files f ON f.id = c.file_id JOIN projects p ON p.id = f.project_id";

/** Exact cosine over the given candidate ids that pass the filter, best first. */
function rerank(db: VecDatabase, space: string, q: Float32Array, ids: number[], want: number, filter: Filter): Scored[] {
  if (ids.length === 0) return [];
  const rows = db
    .prepare(
      // CROSS JOIN keeps SQLite's planner on this order: the few candidates first, then
      // their file and project rows by key — never a scan of projects driving the join.
      `SELECT c.id AS id, 1 - vec_distance_cosine(c.embedding, ?) AS score FROM json_each(?) j CROSS JOIN search_chunks c ON c.id = j.value
       CROSS JOIN search_files f ON f.id = c.file_id CROSS JOIN projects p ON p.id = f.project_id
       WHERE c.embedder = ? AND (${filter.sql}) ORDER BY score DESC LIMIT ?`,
    )
    .all([floatBlob(q), JSON.stringify(ids), space, ...filter.args, want]) as { id: number; score: number }[];
  return rows.map((r) => ({ id: Number(r.id), score: Number(r.score) }));
}

/** Exact cosine over every row of the space the filter admits (small filtered sets). */
export function exactNearest(db: VecDatabase, space: string, q: Float32Array, want: number, filter: Filter): Scored[] {
  const rows = db
    .prepare(`SELECT c.id AS id, 1 - vec_distance_cosine(c.embedding, ?) AS score FROM search_chunks c ${JOIN} WHERE c.embedder = ? AND (${filter.sql}) ORDER BY score DESC LIMIT ?`)
    .all([floatBlob(q), space, ...filter.args, want]) as { id: number; score: number }[];
  return rows.map((r) => ({ id: Number(r.id), score: Number(r.score) }));
}

export const NO_FILTER: Filter = { sql: "1", args: [] };

/** A filter admitting at most this many rows is answered by an exact scan (about 25 ms). */
export const EXACT_ROWS = 10_000;
/** Candidates fetched, from every cell, when the filter starved the first round. */
const ESCALATED_K = 1000;
const FRACTION_SAMPLE = 256;

/** The share of the space's rows `filter` admits, from a random sample of ids; undefined when the sample is too thin. */
function admittedShare(db: VecDatabase, space: string, filter: Filter): number | undefined {
  const r = db.prepare("SELECT min(id) AS lo, max(id) AS hi FROM search_chunks WHERE embedder = ?").get([space]) as { lo: number | null; hi: number | null } | undefined;
  if (!r || r.lo === null || r.hi === null) return undefined;
  const lo = Number(r.lo);
  const span = Number(r.hi) - lo + 1;
  const ids = Array.from({ length: FRACTION_SAMPLE }, () => lo + Math.floor(Math.random() * span));
  const c = db
    .prepare(
      `SELECT count(*) AS total, coalesce(sum(CASE WHEN (${filter.sql}) THEN 1 ELSE 0 END), 0) AS admitted FROM json_each(?) j CROSS JOIN search_chunks c ON c.id = j.value
       CROSS JOIN search_files f ON f.id = c.file_id CROSS JOIN projects p ON p.id = f.project_id WHERE c.embedder = ?`,
    )
    .get([...filter.args, JSON.stringify(ids), space]) as { total: number; admitted: number };
  return Number(c.total) >= 32 ? Number(c.admitted) / Number(c.total) : undefined;
}

/**
 * The `want` chunks of `space` nearest to `q` among those `filter` admits (SQL over c =
 * search_chunks, f = search_files, p = projects), best first, scores are cosines.
 */
export function nearest(db: VecDatabase, space: Space, q: Float32Array, want: number, filter: Filter = NO_FILTER): Scored[] {
  const m = readMeta(db, space.id);
  if (!m || m.size === 0) return [];
  const k = Math.max(COARSE_K, want * 4);
  const share = m.cells > 1 ? probeShare(m.cells) : 1;
  const first = coarse(db, m, q, k, share);
  const got = rerank(db, space.id, q, first.map((c) => c.id), want, filter);
  // Enough, or every row of the index was a candidate: nothing more to find.
  if (got.length >= want || (share >= 1 && first.length >= m.size)) return got;
  // The filter starved the candidates (or the index holds stale rows). A filter admitting few
  // rows in all is answered by scanning exactly those; otherwise fetch more candidates, from
  // every cell, as many as the admitted rate needs.
  const admitted = filter === NO_FILTER ? 1 : admittedShare(db, space.id, filter);
  if (admitted !== undefined && admitted * m.size <= EXACT_ROWS) return exactNearest(db, space.id, q, want, filter);
  const rate = got.length / Math.max(1, first.length);
  const more = Math.min(ESCALATED_K, Math.max(k * 2, rate > 0 ? Math.ceil((want / rate) * 1.5) : ESCALATED_K));
  const second = rerank(db, space.id, q, coarse(db, m, q, more, 1).map((c) => c.id), want, filter);
  if (second.length >= want || filter === NO_FILTER) return second;
  // Still short: the rows it admits lie far from the query. Scan them exactly when affordable.
  if (admitted !== undefined && admitted * m.size <= 5 * EXACT_ROWS) return exactNearest(db, space.id, q, want, filter);
  return second;
}
