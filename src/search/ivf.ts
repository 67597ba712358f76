/**
 * IVF cells for the vector index (vectors.ts): when an index reaches IVF_MIN rows, and again
 * each time it has grown REBUILD_GROWTH-fold, its rows are partitioned anew.
 *
 * A rebuild is resumable and never blocks queries: spherical k-means over an evenly spread
 * sample of the float vectors (search_chunks.embedding) gives the centroids; a new vec0 table
 * (the next generation) is filled from search_chunks in id order, BACKFILL_BATCH rows per
 * transaction, its progress (building_after) saved with each batch; vectors indexed meanwhile
 * go to the live table and, when their id is already passed, to the new one too (vectors.ts
 * addVectors). When the copy reaches the end, one transaction makes the new table live and
 * drops the old one. Queries use the live generation throughout.
 *
 * Training runs in slices with `pause()` between them (the event loop keeps serving), about
 * 2 s of work in all for a million 384-dimensional rows.
 */
import type { VecDatabase } from "../db/vec.ts";
import { centroidsOf, createIndexTable, floatBlob, insertInto, IVF_MIN, readMeta, REBUILD_GROWTH, tableName, toFloat32, type Meta } from "./vectors.ts";

export const BACKFILL_BATCH = 2000;
const ITERATIONS = 6;
const SAMPLE_PER_CELL = 256;
/** Floats the training sample may hold (32 MB). */
const SAMPLE_FLOATS = 8_000_000;

export type Pause = () => Promise<void>;

/**
 * IVF cells for an index of `size` rows: about 16k rows per cell, 16 to 64 cells. Smaller cells
 * did worse here: each probed cell is one query with its own overhead, and the distance
 * threshold is estimated from the nearest cell (vectors.ts), which needs a few thousand rows.
 */
export function cellsFor(size: number): number {
  return Math.max(16, Math.min(64, Math.round(size / 16_000)));
}

export function needsRebuild(m: Meta, ivfMin = IVF_MIN): boolean {
  if (m.building !== null) return false;
  return m.cells === 1 ? m.size >= ivfMin : m.size >= REBUILD_GROWTH * Math.max(1, m.trainedSize);
}

/** Runs `fn` in one write transaction. */
export function inTransaction<T>(db: VecDatabase, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const out = fn();
    db.exec("COMMIT");
    return out;
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}

/** One step of index upkeep for `space`: a training, or one batch of a rebuild. False when there was nothing to do. */
export async function maintainStep(db: VecDatabase, space: string, pause: Pause, opts: { ivfMin?: number; cells?: number } = {}): Promise<boolean> {
  const m = readMeta(db, space);
  if (!m) return false;
  if (m.building !== null) {
    backfillStep(db, space);
    return true;
  }
  if (!needsRebuild(m, opts.ivfMin)) return false;
  await train(db, m, pause, opts.cells);
  return true;
}

/** Copies the next batch into the generation being built; the last batch makes it live. */
export function backfillStep(db: VecDatabase, space: string): void {
  inTransaction(db, () => {
    const m = readMeta(db, space);
    if (!m || m.building === null) return;
    const rows = (db.prepare("SELECT id, embedding FROM search_chunks WHERE embedder = ? AND id > ? ORDER BY id LIMIT ?").all([space, m.buildingAfter, BACKFILL_BATCH]) as { id: number; embedding: unknown }[]).map((r) => ({
      id: Number(r.id),
      vector: toFloat32(r.embedding),
    }));
    const added = rows.length > 0 ? insertInto(db, tableName(space, m.building), centroidsOf(db, space, m.building), rows) : 0;
    const after = rows.length > 0 ? (rows[rows.length - 1] as { id: number }).id : m.buildingAfter;
    if (rows.length === BACKFILL_BATCH) {
      db.prepare("UPDATE search_vec_spaces SET building_after = ?, building_size = building_size + ? WHERE space = ?").run([after, added, space]);
      return;
    }
    const size = m.buildingSize + added;
    db.exec(`DROP TABLE IF EXISTS ${tableName(space, m.generation)}`);
    db.prepare("DELETE FROM search_vec_centroids WHERE space = ? AND generation = ?").run([space, m.generation]);
    db.prepare(
      `UPDATE search_vec_spaces SET generation = building, cells = building_cells, size = ?, trained_size = ?, building = NULL, building_cells = NULL, building_after = 0, building_size = 0 WHERE space = ?`,
    ).run([size, size, space]);
  });
}

/** Trains the next generation's centroids and starts its rebuild. */
async function train(db: VecDatabase, m: Meta, pause: Pause, cellCount?: number): Promise<void> {
  const cells = cellCount ?? cellsFor(m.size);
  const sampleSize = Math.max(cells, Math.min(m.size, cells * SAMPLE_PER_CELL, Math.floor(SAMPLE_FLOATS / m.dims)));
  const sample = await sampleVectors(db, m.space, m.size, sampleSize, pause);
  if (sample.length < cells) return;
  const { centroids, share } = await kmeans(sample, cells, pause);
  inTransaction(db, () => {
    const now = readMeta(db, m.space);
    if (!now || now.building !== null) return; // another process started one meanwhile
    const generation = now.generation + 1;
    const ins = db.prepare("INSERT OR REPLACE INTO search_vec_centroids (space, generation, cell, share, centroid) VALUES (?, ?, ?, ?, ?)");
    centroids.forEach((c, i) => ins.run([m.space, generation, i, share[i] ?? 0, floatBlob(c)]));
    createIndexTable(db, m.space, generation, m.dims);
    db.prepare("UPDATE search_vec_spaces SET building = ?, building_cells = ?, building_after = 0, building_size = 0 WHERE space = ?").run([generation, cells, m.space]);
  });
}

/** About `n` vectors spread evenly over the space's rows (every size/n-th id). */
async function sampleVectors(db: VecDatabase, space: string, size: number, n: number, pause: Pause): Promise<Float32Array[]> {
  const stride = Math.max(1, Math.floor(size / n));
  const picked: number[] = [];
  const page = db.prepare("SELECT id FROM search_chunks WHERE embedder = ? AND id > ? ORDER BY id LIMIT 20000");
  let after = 0;
  let seen = 0;
  for (;;) {
    const ids = page.all([space, after]) as { id: number }[];
    for (const r of ids) if (seen++ % stride === 0 && picked.length < n) picked.push(Number(r.id));
    if (ids.length < 20000 || picked.length >= n) break;
    after = Number(ids[ids.length - 1]?.id);
    await pause();
  }
  const out: Float32Array[] = [];
  const fetch = db.prepare("SELECT embedding FROM search_chunks WHERE id IN (SELECT value FROM json_each(?))");
  for (let i = 0; i < picked.length; i += 500) {
    for (const r of fetch.all([JSON.stringify(picked.slice(i, i + 500))]) as { embedding: unknown }[]) out.push(toFloat32(r.embedding));
    await pause();
  }
  return out;
}

/** Spherical k-means (cosine): unit centroids, and the share of the sample in each cell. */
export async function kmeans(vs: Float32Array[], k: number, pause: Pause, iterations = ITERATIONS): Promise<{ centroids: Float32Array[]; share: number[] }> {
  const dims = (vs[0] as Float32Array).length;
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  // Distinct starting points, evenly spread over the (id-ordered, so varied) sample.
  let centroids = Array.from({ length: k }, (_, i) => Float32Array.from(vs[Math.floor((i * vs.length) / k)] as Float32Array));
  const assign = new Int32Array(vs.length);
  for (let it = 0; it <= iterations; it++) {
    const sums = Array.from({ length: k }, () => new Float64Array(dims));
    const counts = new Int32Array(k);
    for (let i = 0; i < vs.length; i++) {
      const v = vs[i] as Float32Array;
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < k; c++) {
        const cv = centroids[c] as Float32Array;
        let s = 0;
        for (let d = 0; d < dims; d++) s += (cv[d] as number) * (v[d] as number);
        if (s > bestScore) {
          bestScore = s;
          best = c;
        }
      }
      assign[i] = best;
      counts[best] = (counts[best] as number) + 1;
      const sum = sums[best] as Float64Array;
      for (let d = 0; d < dims; d++) sum[d] = (sum[d] as number) + (v[d] as number);
      if (i % 1000 === 999) await pause();
    }
    if (it === iterations) return { centroids, share: Array.from(counts, (n) => n / vs.length) };
    centroids = sums.map((sum, c) => {
      // An empty cell restarts from a random sample point.
      if (counts[c] === 0) return Float32Array.from(vs[Math.floor(rand() * vs.length)] as Float32Array);
      let norm = 0;
      for (let d = 0; d < dims; d++) norm += (sum[d] as number) ** 2;
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      return Float32Array.from(sum, (x) => x * inv);
    });
  }
  return { centroids, share: [] };
}
