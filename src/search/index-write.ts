/**
 * Writing the code index for one path of a project: read what is on disk, compare with what is
 * indexed, and write the difference in small transactions (about 32 KB of text each) with a
 * pause for the event loop between them — a statement on the embedded database runs on the
 * main thread, so requests and the collaborative editor never wait long. `db` is the indexer's
 * own connection (indexer.ts). Unchanged files are skipped by size and mtime
 * (unread), then by hash. The queue and the worker loop are in indexer.ts.
 */
import { constants } from "node:fs";
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Client, InStatement } from "@libsql/client";
import type { App } from "../core/app.ts";
import { detectLanguage, filesDir, isProbablyText } from "../projects/files.ts";
import { fileIndexed, fileRemoved } from "./hooks.ts";

/** A segment's target size; a file has at most 256 segments, so big files get bigger ones. */
export const SEGMENT_CHARS = 32 * 1024;
/** Text per write transaction (tokenizing it with positions takes a few milliseconds). */
const BATCH_CHARS = 32 * 1024;
const BATCH_FILES = 200;
const DELETE_CHUNK = 500;
const PATH_DEPTH_MAX = 32;

export type Segment = { startLine: number; text: string };

/** Splits text into segments of about `target` characters, cut after a newline when one is near (else inside the line). */
export function segmentText(text: string, target = Math.max(SEGMENT_CHARS, Math.ceil((text.length * 2) / 250))): Segment[] {
  const out: Segment[] = [];
  let start = 0;
  let line = 1;
  while (start < text.length) {
    let cut = text.length;
    if (text.length - start > target) {
      const nl = text.lastIndexOf("\n", start + target - 1);
      if (nl >= start + target / 2) cut = nl + 1;
      else {
        cut = start + target;
        const c = text.charCodeAt(cut - 1);
        if (c >= 0xd800 && c <= 0xdbff) cut--; // never split a surrogate pair
      }
    }
    const piece = text.slice(start, cut);
    out.push({ startLine: line, text: piece });
    for (let i = piece.indexOf("\n"); i >= 0; i = piece.indexOf("\n", i + 1)) line++;
    start = cut;
  }
  return out;
}

function countLines(text: string): number {
  if (text.length === 0) return 0;
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return text.endsWith("\n") ? n - 1 : n;
}

/** The bytes to index from a file of `size` bytes: all of them, or for a too-large one a prefix cut at a line end and a UTF-8 boundary. */
export function indexablePrefix(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.byteLength <= maxBytes) return bytes;
  let cut = maxBytes;
  const nl = bytes.lastIndexOf(0x0a, maxBytes - 1);
  if (nl >= maxBytes / 2) cut = nl + 1;
  else while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut);
}

export type DiskFile = { path: string; size: number; mtime: number };
type IndexedRow = { id: number; path: string; size: number; mtime: number; hash: string; kind: string };

/** Where the working tree's path is, without following symlinks: a file, a folder, or nothing indexable. */
async function statPath(abs: string): Promise<{ type: "file" | "dir" | "none"; size: number; mtime: number }> {
  try {
    const st = await lstat(abs);
    if (st.isFile()) return { type: "file", size: st.size, mtime: Math.trunc(st.mtimeMs) };
    if (st.isDirectory()) return { type: "dir", size: 0, mtime: 0 };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
  }
  return { type: "none", size: 0, mtime: 0 };
}

/** Every regular file under `dir` (symlinks, special files and `.git` left out), with size and mtime. */
export async function walkFiles(root: string, prefix: string, yieldNow: () => Promise<void>): Promise<DiskFile[]> {
  const out: DiskFile[] = [];
  let sinceYield = 0;
  async function walk(rel: string, depth: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(rel ? join(root, rel) : root, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw e;
    }
    sinceYield += entries.length;
    if (sinceYield >= 1000) {
      sinceYield = 0;
      await yieldNow();
    }
    for (const d of entries) {
      if (/^\.git[. ]*$/i.test(d.name)) continue;
      const path = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        if (depth + 1 < PATH_DEPTH_MAX) await walk(path, depth + 1);
      } else if (d.isFile()) {
        const st = await statPath(join(root, path));
        if (st.type === "file") out.push({ path, size: st.size, mtime: st.mtime });
      }
    }
  }
  await walk(prefix, 0);
  // Path order: a whole-project pass gives new files ids in that order, and results follow ids.
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Reads at most `limit` bytes of a regular file, refusing symlinks. Null when it vanished or is no longer a file. */
async function readPrefix(abs: string, limit: number): Promise<Uint8Array | null> {
  let fh;
  try {
    fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") return null;
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return null;
    const buf = new Uint8Array(Math.min(st.size, limit));
    let at = 0;
    while (at < buf.byteLength) {
      const { bytesRead } = await fh.read(buf, at, buf.byteLength - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return buf.subarray(0, at);
  } finally {
    await fh.close();
  }
}

function sha1(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha1").update(bytes).digest("hex");
}

/** Between two transactions: lets requests run, renews the worker's lease, serves urgent entries. */
export type Pause = () => Promise<void>;

/** The ids and facts of indexed files at `path` and under `path/` ('' = the whole project). */
async function indexedUnder(db: Client, projectId: string, path: string): Promise<IndexedRow[]> {
  const range = path === "" ? { sql: "", args: [] } : { sql: " AND (path = ? OR (path > ? AND path < ?))", args: [path, `${path}/`, `${path}0`] };
  const rs = await db.execute({
    sql: `SELECT id, path, size, mtime, hash, kind FROM search_files WHERE project_id = ?${range.sql}`,
    args: [projectId, ...range.args],
  });
  return rs.rows.map((r) => ({ id: Number(r.id), path: String(r.path), size: Number(r.size), mtime: Number(r.mtime), hash: String(r.hash), kind: String(r.kind) }));
}

const bumpVersion = (projectId: string): InStatement => ({
  sql: "UPDATE search_projects SET files_version = files_version + 1 WHERE project_id = ?",
  args: [projectId],
});

/** Removes index rows (and tells the hooks), in chunks. */
export async function removeRows(app: App, db: Client, projectId: string, rows: Pick<IndexedRow, "id" | "path">[], pause: Pause): Promise<void> {
  for (let i = 0; i < rows.length; i += DELETE_CHUNK) {
    const chunk = rows.slice(i, i + DELETE_CHUNK);
    await db.batch(
      [{ sql: `DELETE FROM search_files WHERE id IN (${chunk.map(() => "?").join(",")})`, args: chunk.map((r) => r.id) }, bumpVersion(projectId)],
      "write",
    );
    for (const r of chunk) await fileRemoved({ app, projectId, fileId: r.id, path: r.path });
    await pause();
  }
}

type Pending = { file: DiskFile; text: string; lang: string };

/**
 * Indexes `files` (already known to need it, or `force`d): reads each, skips the ones whose
 * bytes did not change, and writes the rest in small transactions.
 */
export async function indexFiles(app: App, db: Client, projectId: string, files: DiskFile[], known: Map<string, IndexedRow>, force: boolean, pause: Pause, onProgress?: (n: number) => void): Promise<void> {
  const root = filesDir(app.config.dataDir, projectId);
  const max = app.config.searchMaxFileBytes;
  let stmts: InStatement[] = [];
  let chars = 0;
  let added = false;
  let indexed: Pending[] = [];
  let gone: IndexedRow[] = [];
  const flush = async () => {
    if (stmts.length === 0) return;
    if (added) stmts.push(bumpVersion(projectId));
    await db.batch(stmts, "write");
    stmts = [];
    chars = 0;
    added = false;
    await announce(app, db, projectId, indexed);
    for (const r of gone) await fileRemoved({ app, projectId, fileId: r.id, path: r.path });
    indexed = [];
    gone = [];
    await pause();
  };
  let done = 0;
  for (const file of files) {
    const old = known.get(file.path);
    const bytes = await readPrefix(join(root, file.path), max + 1);
    done++;
    if (bytes === null) {
      if (old) {
        await flush();
        await removeRows(app, db, projectId, [old], pause);
      }
      continue;
    }
    const tooLarge = file.size > max || bytes.byteLength > max;
    const kept = indexablePrefix(bytes, max);
    const hash = sha1(kept);
    const now = Date.now();
    if (old && old.hash === hash && !force) {
      stmts.push({ sql: "UPDATE search_files SET size = ?, mtime = ? WHERE id = ?", args: [file.size, file.mtime, old.id] });
    } else {
      const lang = detectLanguage(file.path);
      const text = isProbablyText(kept) ? new TextDecoder().decode(kept) : null;
      const kind = text === null ? "binary" : tooLarge ? "too_large" : "text";
      const segments = text === null ? [] : segmentText(text);
      stmts.push({
        sql: `INSERT INTO search_files (project_id, path, lang, size, mtime, kind, hash, line_count, segments, indexed_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (project_id, path) DO UPDATE SET lang = excluded.lang, size = excluded.size, mtime = excluded.mtime,
                kind = excluded.kind, hash = excluded.hash, line_count = excluded.line_count, segments = excluded.segments, indexed_at = excluded.indexed_at`,
        args: [projectId, file.path, lang, file.size, file.mtime, kind, hash, text === null ? 0 : countLines(text), segments.length, now],
      });
      const fileId = "(SELECT id FROM search_files WHERE project_id = ? AND path = ?)";
      // By the row's id, not `old`'s: an urgent entry served during a pause may have indexed it since.
      stmts.push({ sql: `DELETE FROM search_segments WHERE id BETWEEN ${fileId} * 256 AND ${fileId} * 256 + 255`, args: [projectId, file.path, projectId, file.path] });
      if (!old) added = true;
      else if (text === null && old.kind !== "binary") gone.push(old);
      for (let n = 0; n < segments.length; n++) {
        const seg = segments[n] as Segment;
        stmts.push({
          sql: `INSERT INTO search_segments (id, file_id, start_line, text) SELECT ${fileId} * 256 + ?, ${fileId}, ?, ?`,
          args: [projectId, file.path, n, projectId, file.path, seg.startLine, seg.text],
        });
        chars += seg.text.length;
        // A big file spans several transactions: search sees part of its new text for a moment.
        if (chars >= BATCH_CHARS && n < segments.length - 1) await flush();
      }
      if (text !== null) indexed.push({ file, text, lang });
    }
    if (chars >= BATCH_CHARS || stmts.length >= BATCH_FILES) {
      await flush();
      onProgress?.(done);
    }
  }
  await flush();
  onProgress?.(done);
}

/** Tells the hooks which text files were (re)indexed, with their ids. */
async function announce(app: App, db: Client, projectId: string, list: Pending[]): Promise<void> {
  if (list.length === 0) return;
  const rs = await db.execute({
    sql: `SELECT id, path FROM search_files WHERE project_id = ? AND path IN (${list.map(() => "?").join(",")})`,
    args: [projectId, ...list.map((p) => p.file.path)],
  });
  const ids = new Map(rs.rows.map((r) => [String(r.path), Number(r.id)]));
  for (const p of list) {
    const fileId = ids.get(p.file.path);
    if (fileId !== undefined) await fileIndexed({ app, projectId, fileId, path: p.file.path, lang: p.lang, text: p.text });
  }
}

/**
 * Brings the index of `path` ('' = the whole project) in line with the disk: a file is
 * (re)indexed, a folder is walked (new and changed files indexed, vanished ones removed),
 * a missing path has its rows removed. `force` re-reads every file.
 */
export async function syncPath(app: App, db: Client, projectId: string, path: string, force: boolean, pause: Pause, onProgress?: (done: number, total: number) => void): Promise<void> {
  const root = filesDir(app.config.dataDir, projectId);
  const st = await statPath(path === "" ? root : join(root, path));
  const rows = await indexedUnder(db, projectId, path);
  if (st.type === "none") {
    await removeRows(app, db, projectId, rows, pause);
    return;
  }
  const onDisk = st.type === "file" ? [{ path, size: st.size, mtime: st.mtime }] : await walkFiles(root, path, pause);
  const known = new Map(rows.map((r) => [r.path, r]));
  const present = new Set(onDisk.map((f) => f.path));
  // A folder now where a file was (or the reverse): the old rows go.
  await removeRows(app, db, projectId, rows.filter((r) => !present.has(r.path)), pause);
  const todo = force ? onDisk : onDisk.filter((f) => {
    const r = known.get(f.path);
    return !r || r.size !== f.size || r.mtime !== f.mtime;
  });
  onProgress?.(0, todo.length);
  await indexFiles(app, db, projectId, todo, known, force, pause, (n) => onProgress?.(n, todo.length));
}

/**
 * A rename: the rows of `from` (a file or a folder) take the new path in place — same ids, no
 * re-reading — when the disk agrees (`from` is gone and `to` exists). Returns whether it moved.
 */
export async function movePath(app: App, db: Client, projectId: string, from: string, to: string): Promise<boolean> {
  const root = filesDir(app.config.dataDir, projectId);
  const [a, b] = await Promise.all([statPath(join(root, from)), statPath(join(root, to))]);
  if (a.type !== "none" || b.type === "none") return false;
  const under = (p: string) => ({ sql: "(path = ? OR (path > ? AND path < ?))", args: [p, `${p}/`, `${p}0`] });
  const src = under(from);
  const dst = under(to);
  const gone = await db.execute({ sql: `SELECT id, path FROM search_files WHERE project_id = ? AND ${dst.sql}`, args: [projectId, ...dst.args] });
  await db.batch(
    [
      { sql: `DELETE FROM search_files WHERE project_id = ? AND ${dst.sql}`, args: [projectId, ...dst.args] },
      {
        sql: `UPDATE search_files SET path = ? || substr(path, length(?) + 1), lang = CASE WHEN path = ? THEN ? ELSE lang END WHERE project_id = ? AND ${src.sql}`,
        args: [to, from, from, detectLanguage(to), projectId, ...src.args],
      },
      bumpVersion(projectId),
    ],
    "write",
  );
  for (const r of gone.rows) await fileRemoved({ app, projectId, fileId: Number(r.id), path: String(r.path) });
  return true;
}
