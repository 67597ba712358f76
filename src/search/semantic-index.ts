/**
 * The semantic indexer: keeps search_chunks and the vector index in step with what code search
 * indexed (search_files + search_segments), one background loop per process.
 *
 * What it works from:
 * - hooks.ts `onFileIndexed`: a text file's content changed — queued in memory with its text and
 *   hash (the fast path: searchable about as soon as code search has it). `onFileRemoved` and
 *   project deletions need nothing but a wake-up: their chunks go by cascade, and the trigger
 *   records the ids for the vector index (search_chunks_gone).
 * - The backlog: text files whose search_semantic_files row is missing, or names another hash or
 *   another embedder. That is how a restart, a missed event, and an embedder switch are caught
 *   up: after the admin switches, every file is re-embedded in the background, in id order,
 *   resumably (the state is in the tables), while queries use the new embedder and see the
 *   files done so far. It is walked on start, on a switch, after hook events were dropped for
 *   memory, and every BACKLOG_EVERY_MS.
 *
 * Each round: drop vectors of gone chunks; embed up to FILES_PER_ROUND files (one embedder call,
 * batched by the embedder), write each file in one transaction (its old chunks out, new chunks
 * and vectors in, its row updated — skipped if code search changed the file meanwhile); then,
 * when idle, one step of index upkeep (ivf.ts). Between rounds it yields to the event loop.
 * A failing embedder (server down) is retried with backoff up to MAX_BACKOFF_MS; the last error
 * shows on the admin page (semanticStatus).
 */
import { nap } from "../lib/nap.ts";
import type { App } from "../core/app.ts";
import type { VecDatabase } from "../db/vec.ts";
import { indexedText } from "./code.ts";
import { chunkFile, type Chunk } from "./chunk.ts";
import type { Embedder } from "./embed.ts";
import { EmbedderError } from "./embed-http.ts";
import { currentEmbedder } from "./embedder-settings.ts";
import { onFileIndexed, onFileRemoved } from "./hooks.ts";
import { inTransaction, maintainStep } from "./ivf.ts";
import { closeVectorDb, vectorDb } from "./semantic.ts";
import { addVectors, dropOtherSpaces, ensureSpace, floatBlob, removeGone } from "./vectors.ts";

const FILES_PER_ROUND = 16;
const BACKLOG_EVERY_MS = 60_000;
const MAX_BACKOFF_MS = 5 * 60_000;
/** Texts held for queued files beyond this are dropped (the backlog reads them from the index instead). */
const MAX_PENDING_CHARS = 32 * 1024 * 1024;

export type FileToIndex = { fileId: number; projectId: string; path: string; lang: string; hash: string; text?: string };

/** What goes to the embedder for a chunk: where it is, what encloses it, and its text. */
export function embedText(path: string, c: Chunk): string {
  return `${path}\n${c.context ? `${c.context}\n` : ""}${c.text}`;
}

/**
 * Chunks and embeds files, then writes each one in its own transaction. A file whose
 * search_files row is gone or has another hash by now is skipped (a newer event follows).
 * Returns the number of chunks written.
 */
export async function indexFileTexts(db: VecDatabase, embedder: Embedder, files: (FileToIndex & { text: string })[]): Promise<number> {
  const chunked = files.map((f) => ({ f, chunks: chunkFile(f.text, f.lang) }));
  const texts = chunked.flatMap(({ f, chunks }) => chunks.map((c) => embedText(f.path, c)));
  const vectors = texts.length > 0 ? await embedder.embed(texts) : [];
  let at = 0;
  let written = 0;
  const space = { id: embedder.id, dims: embedder.dims };
  for (const { f, chunks } of chunked) {
    const mine = vectors.slice(at, at + chunks.length);
    at += chunks.length;
    written += inTransaction(db, () => {
      const row = db.prepare("SELECT hash FROM search_files WHERE id = ?").get([f.fileId]) as { hash: string } | undefined;
      if (!row || row.hash !== f.hash) return 0;
      db.prepare("DELETE FROM search_chunks WHERE file_id = ?").run([f.fileId]);
      const ins = db.prepare("INSERT INTO search_chunks (file_id, start_line, end_line, kind, title, embedder, embedding) VALUES (?, ?, ?, ?, ?, ?, ?)");
      const rows = chunks.map((c, i) => {
        const vector = mine[i] as Float32Array;
        const id = Number(ins.run([f.fileId, c.startLine, c.endLine, c.kind, c.title, embedder.id, floatBlob(vector)]).lastInsertRowid);
        return { id, vector };
      });
      ensureSpace(db, space);
      addVectors(db, space, rows);
      db.prepare(
        "INSERT INTO search_semantic_files (file_id, hash, embedder, chunks, indexed_at, error) VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (file_id) DO UPDATE SET hash = excluded.hash, embedder = excluded.embedder, chunks = excluded.chunks, indexed_at = excluded.indexed_at, error = NULL",
      ).run([f.fileId, f.hash, embedder.id, rows.length, Date.now()]);
      removeGone(db);
      return rows.length;
    });
  }
  return written;
}

/** The embedding server answered that it will not embed this input (as opposed to being unavailable). */
function refusedInput(e: unknown): boolean {
  return e instanceof EmbedderError && (e.status === 400 || e.status === 413 || e.status === 422);
}

function markFailed(db: VecDatabase, embedder: string, files: FileToIndex[], message: string): void {
  inTransaction(db, () => {
    const up = db.prepare(
      "INSERT INTO search_semantic_files (file_id, hash, embedder, chunks, indexed_at, error) SELECT id, hash, ?, 0, ?, ? FROM search_files WHERE id = ? ON CONFLICT (file_id) DO UPDATE SET hash = excluded.hash, embedder = excluded.embedder, chunks = 0, indexed_at = excluded.indexed_at, error = excluded.error",
    );
    const drop = db.prepare("DELETE FROM search_chunks WHERE file_id = ?");
    for (const f of files) {
      drop.run([f.fileId]);
      up.run([embedder, Date.now(), message.slice(0, 500), f.fileId]);
    }
  });
}

/** Text files the semantic index lacks or holds stale, in id order after `after`. */
function backlog(db: VecDatabase, embedder: string, after: number, limit: number): (FileToIndex & { segments: number })[] {
  const rows = db
    .prepare(
      `SELECT f.id, f.project_id, f.path, f.lang, f.hash, f.segments FROM search_files f LEFT JOIN search_semantic_files s ON s.file_id = f.id
       WHERE f.id > ? AND f.kind <> 'binary' AND (s.file_id IS NULL OR s.hash <> f.hash OR s.embedder <> ?) ORDER BY f.id LIMIT ?`,
    )
    .all([after, embedder, limit]) as { id: number; project_id: string; path: string; lang: string; hash: string; segments: number }[];
  return rows.map((r) => ({ fileId: Number(r.id), projectId: r.project_id, path: r.path, lang: r.lang, hash: r.hash, segments: Number(r.segments) }));
}

export type SemanticStatus = {
  embedder: string;
  /** Text files code search holds, and how many of them the semantic index holds up to date. */
  files: number;
  done: number;
  chunks: number;
  running: boolean;
  lastError: string | null;
  lastErrorAt: number | null;
};

type Worker = {
  enqueue(f: FileToIndex): void;
  wake(): void;
  stop(): Promise<void>;
  /** Resolves when nothing is queued, the backlog is empty and the index needs no upkeep (tests, benches). */
  settled(timeoutMs?: number): Promise<void>;
  lastError: { message: string; at: number } | null;
};

const workers = new WeakMap<App, Worker>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  onFileIndexed(async (e) => {
    const w = workers.get(e.app);
    if (!w) return;
    const rs = await e.app.db.client.execute({ sql: "SELECT hash FROM search_files WHERE id = ?", args: [e.fileId] });
    const hash = rs.rows[0]?.hash;
    if (hash === undefined) return;
    w.enqueue({ fileId: e.fileId, projectId: e.projectId, path: e.path, lang: e.lang, hash: String(hash), text: e.text });
  }, "semantic-index");
  onFileRemoved((e) => workers.get(e.app)?.wake(), "semantic-index");
}

/** Starts the semantic indexer for `app` (once per App); a no-op with a remote database (semantic search is off there). */
export function startSemanticIndexer(app: App, opts: { ivfMin?: number } = {}): Worker | undefined {
  const existing = workers.get(app);
  if (existing) return existing;
  if (!app.db.file) {
    app.log.info("semantic search is off: it needs the embedded database file (WOVE_DATABASE_URL points at a libSQL server)");
    return undefined;
  }
  installHooks();
  const db = vectorDb(app);
  const pending = new Map<number, FileToIndex>();
  let pendingChars = 0;
  let backlogFrom: number | null = 0; // null: walked to the end
  let lastBacklogAt = Date.now();
  let seenEmbedder = "";
  let stopped = false;
  let idleWaiters: (() => void)[] = [];
  let backoff = 0;
  let loop: Promise<void> = Promise.resolve();
  const pause = () => new Promise<void>((r) => setImmediate(r));
  const napper = nap();
  const sleep = napper.sleep;

  const worker: Worker = {
    lastError: null,
    enqueue(f) {
      const old = pending.get(f.fileId);
      pendingChars -= old?.text?.length ?? 0;
      if (f.text !== undefined && pendingChars + f.text.length > MAX_PENDING_CHARS) f = { ...f, text: undefined };
      pendingChars += f.text?.length ?? 0;
      pending.set(f.fileId, f);
      napper.wake();
    },
    wake() {
      napper.wake();
    },
    async stop() {
      stopped = true;
      napper.wake();
      await loop;
      workers.delete(app);
      closeVectorDb(app);
    },
    settled(timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the semantic indexer did not settle")), timeoutMs);
        idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
        backlogFrom ??= 0;
        napper.wake();
      });
    },
  };

  /** Up to FILES_PER_ROUND files: queued ones first, then the backlog. */
  async function nextFiles(embedder: string): Promise<(FileToIndex & { text: string })[]> {
    const out: (FileToIndex & { text: string })[] = [];
    const take: FileToIndex[] = [];
    for (const [id, f] of pending) {
      if (take.length >= FILES_PER_ROUND) break;
      pending.delete(id);
      pendingChars -= f.text?.length ?? 0;
      take.push(f);
    }
    if (take.length === 0 && backlogFrom !== null) {
      const found = backlog(db, embedder, backlogFrom, FILES_PER_ROUND);
      backlogFrom = found.length < FILES_PER_ROUND ? null : (found[found.length - 1]?.fileId ?? null);
      for (const f of found) {
        const text = await indexedText(app, f.fileId);
        // Code search writes a big file's segments over several transactions: wait until all are there.
        const segs = db.prepare("SELECT count(*) AS n FROM search_segments WHERE id BETWEEN ? * 256 AND ? * 256 + 255").get([f.fileId, f.fileId]) as { n: number };
        if (text !== null && Number(segs.n) === f.segments) out.push({ ...f, text });
      }
      return out;
    }
    for (const f of take) {
      const text = f.text ?? (await indexedText(app, f.fileId));
      if (text !== null) out.push({ ...f, text });
    }
    return out;
  }

  async function round(): Promise<boolean> {
    const embedder = await currentEmbedder(app);
    if (embedder.id !== seenEmbedder) {
      // A switch: other spaces' index tables go; every file is re-embedded via the backlog.
      inTransaction(db, () => dropOtherSpaces(db, embedder.id));
      seenEmbedder = embedder.id;
      backlogFrom = 0;
    }
    if (Date.now() - lastBacklogAt > BACKLOG_EVERY_MS) {
      lastBacklogAt = Date.now();
      backlogFrom ??= 0;
    }
    let did = inTransaction(db, () => removeGone(db)) > 0;
    const files = await nextFiles(embedder.id);
    if (files.length > 0) {
      try {
        await indexFileTexts(db, embedder, files);
      } catch (e) {
        if (!refusedInput(e)) {
          // Server down, timeout…: put them back, retried after the backoff.
          for (const f of files) if (!pending.has(f.fileId)) worker.enqueue(f);
          throw e;
        }
        // The server refused an input: find which file, one at a time, and note the error on
        // it, so it waits for a change instead of looping while the others go through.
        for (const f of files) {
          try {
            await indexFileTexts(db, embedder, [f]);
          } catch (one) {
            if (!refusedInput(one)) throw one;
            markFailed(db, embedder.id, [f], (one as Error).message);
            worker.lastError = { message: `${f.path}: ${(one as Error).message}`, at: Date.now() };
          }
        }
      }
      did = true;
    }
    did ||= backlogFrom !== null;
    if (!did && pending.size === 0) did = await maintainStep(db, embedder.id, pause, { ivfMin: opts.ivfMin });
    return did;
  }

  loop = (async () => {
    while (!stopped) {
      let did = false;
      try {
        did = await round();
        backoff = 0;
      } catch (e) {
        const message = e instanceof EmbedderError ? e.message : (e as Error).message;
        worker.lastError = { message, at: Date.now() };
        app.log.error("semantic indexing failed", { error: message });
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 2000 : backoff * 2);
        await sleep(backoff);
        continue;
      }
      if (did) {
        await pause();
        continue;
      }
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
      await sleep(BACKLOG_EVERY_MS);
    }
  })();
  workers.set(app, worker);
  return worker;
}

export function semanticIndexerOf(app: App): Worker | undefined {
  return workers.get(app);
}

/** Progress for the admin page. */
export async function semanticStatus(app: App): Promise<SemanticStatus> {
  const embedder = await currentEmbedder(app);
  const rs = await app.db.client.execute({
    sql: `SELECT (SELECT count(*) FROM search_files WHERE kind <> 'binary') AS files,
                 (SELECT count(*) FROM search_semantic_files s JOIN search_files f ON f.id = s.file_id WHERE s.embedder = ? AND s.hash = f.hash) AS done,
                 (SELECT count(*) FROM search_chunks WHERE embedder = ?) AS chunks`,
    args: [embedder.id, embedder.id],
  });
  const r = rs.rows[0];
  const w = workers.get(app);
  return {
    embedder: embedder.id,
    files: Number(r?.files ?? 0),
    done: Number(r?.done ?? 0),
    chunks: Number(r?.chunks ?? 0),
    running: w !== undefined,
    lastError: w?.lastError?.message ?? null,
    lastErrorAt: w?.lastError?.at ?? null,
  };
}
