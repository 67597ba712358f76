/**
 * Where collaborative documents live: `collab_docs` (snapshot + merge base) and
 * `collab_updates` (the append-only tail after the snapshot). SQL for these two
 * tables lives here and nowhere else.
 *
 * Appends go through one UpdateLog per database: every update queued during one
 * turn of the event loop is written in a single transaction (one fsync under
 * WAL + synchronous=FULL), and only then are the callbacks that broadcast them
 * run. That is the whole meaning of "acknowledged = stored".
 */
import type { InStatement, Row } from "@libsql/client";
import type { Db } from "../db/client.ts";
import { newId } from "../lib/crypto.ts";

export type DocRow = {
  id: string;
  projectId: string;
  path: string;
  snapshot: Uint8Array | null;
  snapshotSeq: number;
  baseText: string;
  baseHash: string;
  prevHash: string;
};

export type StoredDoc = DocRow & { tail: { seq: number; data: Uint8Array }[] };

function bytesOf(v: unknown): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw new Error(`unexpected blob value ${typeof v}`);
}

function docOf(r: Row): DocRow {
  return {
    id: String(r.id),
    projectId: String(r.project_id),
    path: String(r.path),
    snapshot: bytesOf(r.snapshot),
    snapshotSeq: Number(r.snapshot_seq),
    baseText: String(r.base_text),
    baseHash: String(r.base_hash),
    prevHash: String(r.prev_hash),
  };
}

const DOC_COLUMNS = "id, project_id, path, snapshot, snapshot_seq, base_text, base_hash, prev_hash";

/** The stored document for a file, with the updates after its snapshot in order; undefined if it was never opened. */
export async function loadDoc(db: Db, projectId: string, path: string): Promise<StoredDoc | undefined> {
  // One read transaction: a compaction between the two reads would otherwise drop updates.
  const [docs, tail] = await db.client.batch(
    [
      { sql: `SELECT ${DOC_COLUMNS} FROM collab_docs WHERE project_id = ? AND path = ?`, args: [projectId, path] },
      {
        sql: "SELECT u.seq, u.data FROM collab_updates u JOIN collab_docs d ON d.id = u.doc_id WHERE d.project_id = ? AND d.path = ? AND u.seq > d.snapshot_seq ORDER BY u.seq",
        args: [projectId, path],
      },
    ],
    "read",
  );
  const row = docs?.rows[0];
  if (!row) return undefined;
  return { ...docOf(row), tail: (tail?.rows ?? []).map((r) => ({ seq: Number(r.seq), data: bytesOf(r.data) ?? new Uint8Array(0) })) };
}

/** The id of a file's document, creating an empty one (filled from the file when first loaded). */
export async function ensureDocId(db: Db, projectId: string, path: string): Promise<string> {
  const now = Date.now();
  await db.client.execute({
    sql: "INSERT INTO collab_docs (id, project_id, path, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, path) DO NOTHING",
    args: [newId(), projectId, path, now, now],
  });
  const rs = await db.client.execute({ sql: "SELECT id FROM collab_docs WHERE project_id = ? AND path = ?", args: [projectId, path] });
  return String(rs.rows[0]?.id);
}

/** Replaces the snapshot with the state after update `uptoSeq` and drops the updates it now contains. */
export async function writeSnapshot(db: Db, docId: string, snapshot: Uint8Array, uptoSeq: number): Promise<void> {
  await db.client.batch(
    [
      { sql: "UPDATE collab_docs SET snapshot = ?, snapshot_seq = ?, updated_at = ? WHERE id = ?", args: [snapshot, uptoSeq, Date.now(), docId] },
      { sql: "DELETE FROM collab_updates WHERE doc_id = ? AND seq <= ?", args: [docId, uptoSeq] },
    ],
    "write",
  );
}

/**
 * Records the text the working tree holds (or is about to hold) for this document: the next
 * merge base. `prevHash` is the base it replaces, so a load can tell a write cut short by a
 * crash (the file still has the previous text) from a change made outside the editor.
 */
export async function writeBase(db: Db, docId: string, text: string, hash: string, prevHash: string): Promise<void> {
  await db.client.execute({
    sql: "UPDATE collab_docs SET base_text = ?, base_hash = ?, prev_hash = ?, updated_at = ? WHERE id = ?",
    args: [text, hash, prevHash, Date.now(), docId],
  });
}

/** Follows a rename of a file or a folder: documents under `from` move to `to`. */
export async function moveDocs(db: Db, projectId: string, from: string, to: string): Promise<void> {
  const now = Date.now();
  await db.client.batch(
    [
      // A document already at the target belongs to a file the move replaced.
      // length() and substr() count characters; JS .length counts UTF-16 units (an emoji is two), so lengths are taken in SQL.
      { sql: "DELETE FROM collab_docs WHERE project_id = ? AND (path = ? OR substr(path, 1, length(?) + 1) = ?)", args: [projectId, to, to, `${to}/`] },
      { sql: "UPDATE collab_docs SET path = ?, updated_at = ? WHERE project_id = ? AND path = ?", args: [to, now, projectId, from] },
      {
        sql: "UPDATE collab_docs SET path = ? || substr(path, length(?) + 1), updated_at = ? WHERE project_id = ? AND substr(path, 1, length(?) + 1) = ?",
        args: [to, from, now, projectId, from, `${from}/`],
      },
    ],
    "write",
  );
}

/** Forgets the documents of a deleted file or folder (their updates go with them). */
export async function deleteDocs(db: Db, projectId: string, path: string): Promise<void> {
  await db.client.execute({ sql: "DELETE FROM collab_docs WHERE project_id = ? AND (path = ? OR substr(path, 1, length(?) + 1) = ?)", args: [projectId, path, path, `${path}/`] });
}

type Pending = { stmt?: InStatement; done: (error?: Error) => void };

/**
 * Group commit for document updates. `append` queues an insert; `afterDurable`
 * queues a callback that runs once everything queued before it is on disk.
 * Callbacks run in queue order, so per-room broadcast order equals storage order.
 */
export class UpdateLog {
  private queue: Pending[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;
  /** Transactions written and updates stored, for /metrics. */
  commits = 0;
  appended = 0;

  constructor(private readonly db: Db) {}

  append(docId: string, seq: number, data: Uint8Array, done: (error?: Error) => void): void {
    this.queue.push({ stmt: { sql: "INSERT INTO collab_updates (doc_id, seq, data) VALUES (?, ?, ?)", args: [docId, seq, data] }, done });
    this.schedule();
  }

  afterDurable(fn: () => void): void {
    if (this.queue.length === 0 && !this.flushing) return fn();
    this.queue.push({ done: (error) => error === undefined && fn() });
    this.schedule();
  }

  /** Resolves when everything queued so far is stored (or failed). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every frame that arrived in this poll of the
    // sockets joins the same transaction.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const stmts = batch.flatMap((p) => (p.stmt ? [p.stmt] : []));
    this.flushing = (async () => {
      const errors = new Map<Pending, Error>();
      try {
        if (stmts.length > 0) {
          await this.db.client.batch(stmts, "write");
          this.commits++;
          this.appended += stmts.length;
        }
      } catch {
        // One bad row (say, for a document deleted a moment ago) must not fail its neighbours:
        // store them one by one and fail only what fails alone (a full disk fails them all).
        for (const p of batch) {
          if (!p.stmt) continue;
          try {
            await this.db.client.execute(p.stmt);
            this.appended++;
          } catch (e) {
            errors.set(p, e instanceof Error ? e : new Error(String(e)));
          }
        }
      }
      for (const p of batch) p.done(errors.get(p));
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
