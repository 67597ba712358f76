/**
 * The vector index on its own: synthetic clustered vectors written straight into search_chunks
 * (one project, one file per 20 chunks), IVF cells trained at a small size, a rebuild that
 * keeps up with writes and deletes made meanwhile, and the filter's over-fetch.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import { setLogSink } from "../lib/log.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import type { VecDatabase } from "../db/vec.ts";
import { backfillStep, cellsFor, inTransaction, kmeans, maintainStep } from "./ivf.ts";
import { closeVectorDb, vectorDb } from "./semantic.ts";
import { addVectors, bitDims, coarse, ensureSpace, exactNearest, floatBlob, nearest, readMeta, removeGone, tableName, toBits, toFloat32, NO_FILTER, type Filter } from "./vectors.ts";

const D = 128;
const SPACE = { id: "test:space", dims: D };
let app: App;
let dir: string;
let db: VecDatabase;
let seed = 7;

function rnd(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
}
/** `center` plus `noise` times a random unit vector, normalised (no center: a random unit vector). */
function unitNear(center: Float32Array | undefined, noise: number): Float32Array {
  const r = new Float32Array(D);
  let rs = 0;
  for (let i = 0; i < D; i++) {
    r[i] = rnd() * 2 - 1;
    rs += (r[i] as number) ** 2;
  }
  const v = new Float32Array(D);
  let s = 0;
  for (let i = 0; i < D; i++) {
    const x = (center ? (center[i] as number) : 0) + (noise * (r[i] as number)) / Math.sqrt(rs);
    v[i] = x;
    s += x * x;
  }
  for (let i = 0; i < D; i++) v[i] = (v[i] as number) / Math.sqrt(s);
  return v;
}

// Shaped like code: topics, files in a topic, chunks in a file (as bench/search-semantic.ts).
const topics = Array.from({ length: 12 }, () => unitNear(undefined, 1));
const files = 150;
const fileVecs = Array.from({ length: files * 2 }, (_, i) => unitNear(topics[i % topics.length], 0.9));
let nextFile = 0;
const centers = fileVecs;

/** Writes `n` chunk rows (with their file rows) and indexes them; returns their ids and vectors. */
function writeChunks(n: number, project: string): { id: number; vector: Float32Array }[] {
  return inTransaction(db, () => {
    const file = db.prepare("INSERT INTO search_files (project_id, path, lang, size, mtime, kind, hash, line_count, indexed_at) VALUES (?, ?, 'typescript', 1, 0, 'text', 'h', 1, 0)");
    const fileIds: number[] = [];
    for (let f = 0; f < Math.ceil(n / 20); f++) fileIds.push(Number(file.run([project, `f${rnd()}.ts`]).lastInsertRowid));
    const ins = db.prepare("INSERT INTO search_chunks (file_id, start_line, end_line, kind, title, embedder, embedding) VALUES (?, 1, 1, 'block', '', ?, ?)");
    const rows = Array.from({ length: n }, (_, i) => {
      const vector = unitNear(fileVecs[(nextFile + Math.floor(i / 20)) % fileVecs.length], 0.7);
      return { id: Number(ins.run([fileIds[Math.floor(i / 20)] as number, SPACE.id, floatBlob(vector)]).lastInsertRowid), vector };
    });
    nextFile += Math.ceil(n / 20);
    addVectors(db, SPACE, rows);
    return rows;
  });
}

function indexCount(): number {
  const m = readMeta(db, SPACE.id);
  return Number((db.prepare(`SELECT count(*) AS n FROM ${tableName(SPACE.id, m?.generation ?? 1)}`).get([]) as { n: number }).n);
}

function recall(q: Float32Array, filter: Filter = NO_FILTER): number {
  const truth = new Set(exactNearest(db, SPACE.id, q, 10, filter).map((s) => s.id));
  return nearest(db, SPACE, q, 10, filter).filter((s) => truth.has(s.id)).length / Math.max(1, truth.size);
}

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-search-vectors-"));
  db = vectorDb(app);
  const now = Date.now();
  await app.db.client.execute({ sql: "INSERT INTO users (id, email, username, name, role, created_at, updated_at) VALUES ('u1', 'u@example.com', 'u', 'U', 'member', ?, ?)", args: [now, now] });
  for (const [id, vis] of [["pubproj", "public"], ["privproj", "private"]] as const) {
    await app.db.client.execute({ sql: "INSERT INTO projects (id, owner_user_id, slug, name, visibility, created_at, updated_at) VALUES (?, 'u1', ?, ?, ?, ?, ?)", args: [id, id, id, vis, now, now] });
  }
  ensureSpace(db, SPACE);
});
afterAll(() => {
  closeVectorDb(app);
  closeTempApp(app, dir);
});

describe("encoding", () => {
  test("sign bits, padded dimensions, blobs round-trip (as one parameter array: libsql's typed-array crash)", () => {
    expect([...toBits(Float32Array.from([1, -1, 0, 2, 0.5, -3, 1, 1, 1]))]).toEqual([0b11011001, 0b1]);
    expect(bitDims(12)).toBe(16);
    const v = Float32Array.from([0.5, -0.25]);
    const r = db.prepare("SELECT ? AS b").get([floatBlob(v)]) as { b: unknown };
    expect(Array.from(toFloat32(r.b))).toEqual([0.5, -0.25]);
  });
});

describe("one cell, then IVF cells", () => {
  test("exact-quality results from the flat index", () => {
    writeChunks(files * 20 / 2, "pubproj");
    writeChunks(files * 20 / 2, "privproj");
    expect(readMeta(db, SPACE.id)?.size).toBe(files * 20);
    expect(indexCount()).toBe(files * 20);
    let r = 0;
    for (let i = 0; i < 20; i++) r += recall(unitNear(centers[(i * 7) % centers.length], 0.7));
    expect(r / 20).toBeGreaterThanOrEqual(0.95);
  });

  test("training splits the index into cells; queries keep their recall; writes during the rebuild land in both tables", async () => {
    expect(cellsFor(10)).toBe(16);
    const pause = () => Promise.resolve();
    expect(await maintainStep(db, SPACE.id, pause, { ivfMin: 1000, cells: 8 })).toBe(true); // trains, starts the rebuild
    const m = readMeta(db, SPACE.id);
    const first = m?.generation ?? 0;
    expect(m?.building).toBe(first + 1);
    backfillStep(db, SPACE.id); // one batch of 2000 copied
    expect(readMeta(db, SPACE.id)?.buildingAfter).toBeGreaterThan(0);
    // Meanwhile: new rows (after the copy point, copied later) and deletes (of copied rows).
    const fresh = writeChunks(40, "pubproj");
    const victims = (db.prepare("SELECT id FROM search_chunks ORDER BY id LIMIT 30").all([]) as { id: number }[]).map((r) => r.id);
    inTransaction(db, () => {
      for (const id of victims) db.prepare("DELETE FROM search_chunks WHERE id = ?").run([id]);
      removeGone(db);
    });
    while (await maintainStep(db, SPACE.id, pause, { ivfMin: 1000, cells: 8 })) {
      // copy the rest, then switch
    }
    const after = readMeta(db, SPACE.id);
    expect(after?.generation).toBe(first + 1);
    expect(after?.cells).toBe(8);
    expect(after?.building).toBeNull();
    const rows = Number((db.prepare("SELECT count(*) AS n FROM search_chunks").get([]) as { n: number }).n);
    expect(after?.size).toBe(rows);
    expect(indexCount()).toBe(rows);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = ?").get([tableName(SPACE.id, first)])).toBeUndefined();
    expect(coarse(db, after!, fresh[0]!.vector, 5, 1).map((c) => c.id)).toContain(fresh[0]!.id);
    let r = 0;
    for (let i = 0; i < 20; i++) r += recall(unitNear(centers[(i * 7) % centers.length], 0.7));
    expect(r / 20).toBeGreaterThanOrEqual(0.9);
  });

  test("k-means: unit centroids, shares summing to one", async () => {
    const vs = Array.from({ length: 300 }, (_, i) => unitNear(topics[i % 3], 0.1));
    const { centroids, share } = await kmeans(vs, 3, () => Promise.resolve());
    expect(centroids.length).toBe(3);
    for (const c of centroids) expect(Math.abs(c.reduce((s, x) => s + x * x, 0) - 1)).toBeLessThan(1e-4);
    expect(share.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(Math.max(...share)).toBeLessThan(0.5);
  });
});

describe("filters are inside the query", () => {
  test("a filter that admits little still fills the page (over-fetch, then an exact scan of what it admits)", () => {
    const few = writeChunks(12, "privproj");
    const only: Filter = { sql: "c.id IN (SELECT value FROM json_each(?))", args: [JSON.stringify(few.map((f) => f.id))] };
    const got = nearest(db, SPACE, unitNear(centers[0], 0.7), 10, only);
    expect(got.length).toBe(10);
    expect(got.every((g) => few.some((f) => f.id === g.id))).toBe(true);
    const pub: Filter = { sql: "p.visibility = 'public'", args: [] };
    const res = nearest(db, SPACE, unitNear(centers[1], 0.7), 10, pub);
    const ids = res.map((r) => r.id);
    const projects = db.prepare("SELECT DISTINCT f.project_id AS p FROM search_chunks c JOIN search_files f ON f.id = c.file_id WHERE c.id IN (SELECT value FROM json_each(?))").all([JSON.stringify(ids)]) as { p: string }[];
    expect(projects.map((p) => p.p)).toEqual(["pubproj"]);
    expect(recall(unitNear(centers[1], 0.7), pub)).toBeGreaterThanOrEqual(0.8);
  });
});
