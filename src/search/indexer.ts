/**
 * The search indexer: a persistent queue (search_queue) drained by one background loop.
 *
 * What feeds the queue:
 * - `onFilesChanged` (projects/files.ts): every edit through the editor, the file API, a restored
 *   version or a push — the paths touched when known, a rename as a move, else the whole project.
 * - Reconciliation, whenever the event log moved (Db.dataVersion: every change appends an event,
 *   in this process or another): projects the index has never seen (created blank, from a
 *   template, forked, imported — whatever the code path) are queued whole; projects whose
 *   `updated_at` moved get their discovery document rewritten.
 * - `requestReindex` (`wove admin reindex`, the admin page): whole projects, re-reading every file.
 *
 * How it drains: entries naming a path go before whole-project entries, and a whole-project
 * pass stops between its batches to serve them, so one edit is searchable within about a
 * second even during a big reindex. Writes are small transactions with a yield to the event loop
 * between them (index-write.ts). An entry is deleted only when done — unless it was queued again
 * meanwhile (`gen`) — so a restart resumes where it stopped; a failing entry is retried with
 * backoff, then dropped with its error kept for the admin page.
 *
 * One process indexes at a time: a lease row in search_state (renewed every few seconds, taken
 * over when stale), so `wove admin reindex` run next to a server hands the work to the server.
 *
 * On the embedded database the indexer writes through its own connection with
 * synchronous=NORMAL: the index is derived data (`wove admin reindex` rebuilds it), so its
 * commits need not wait for an fsync each — a crash can lose the last moments of indexing,
 * which the queue then redoes. Every other table keeps the main connection's FULL. (Statements
 * of both connections run on this one thread, so they never wait on each other's locks.)
 */
import { nap } from "../lib/nap.ts";
import { createClient, type Client, type InStatement } from "@libsql/client";
import type { App } from "../core/app.ts";
import { onFilesChanged, type FilesChanged } from "../projects/files.ts";
import { events } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { newId } from "../lib/crypto.ts";
import { movePath, syncPath, type Pause } from "./index-write.ts";
import { refreshProjectDoc } from "./projects.ts";

const LEASE_MS = 30_000;
const RENEW_MS = 5_000;
const POLL_MS = 1_000;
const MAX_ATTEMPTS = 5;
const MERGE_PAGES = 64;
const IDLE_MERGE_STEPS = 16;
const PROGRESS_EVERY_MS = 2_000;

export type QueueItem = { path: string; moveTo?: string; force?: boolean };
type Entry = { projectId: string; path: string; moveTo: string | null; force: boolean; gen: number; attempts: number };

/** What a change to a project's files asks of the index. */
export function itemsFor(e: Pick<FilesChanged, "paths" | "moved">): QueueItem[] {
  if (e.moved) return [{ path: e.moved.from, moveTo: e.moved.to }, { path: e.moved.to }];
  if (e.paths && e.paths.length > 0) return e.paths.map((path) => ({ path }));
  return [{ path: "" }];
}

/** Queues paths of a project (an entry already waiting is kept, marked to be looked at again). */
export async function enqueue(app: App, projectId: string, items: QueueItem[]): Promise<void> {
  const now = Date.now();
  await app.db.client.batch(
    items.map((it) => ({
      sql: `INSERT INTO search_queue (project_id, path, move_to, force, enqueued_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (project_id, path) DO UPDATE SET gen = gen + 1, move_to = coalesce(excluded.move_to, move_to),
              force = max(force, excluded.force), attempts = 0, not_before = 0`,
      args: [projectId, it.path, it.moveTo ?? null, it.force ? 1 : 0, now],
    })),
    "write",
  );
}

/** Queues whole projects (one, or all) to be re-read and re-indexed; records who asked. Returns how many. */
export async function requestReindex(app: App, opts: { projectId?: string; actorId: string | null }): Promise<number> {
  const id = opts.projectId ?? null;
  const [res] = await app.db.client.batch(
    [
      {
        sql: `INSERT INTO search_queue (project_id, path, force, enqueued_at) SELECT id, '', 1, ? FROM projects WHERE ? IS NULL OR id = ?
              ON CONFLICT (project_id, path) DO UPDATE SET force = 1, gen = gen + 1, attempts = 0, not_before = 0`,
        args: [Date.now(), id, id],
      },
    ],
    "write",
  );
  await app.db.orm.insert(events).values(
    eventValues({ actorId: opts.actorId, kind: "search.reindex_requested", subjectType: id ? "project" : "instance", subjectId: id ?? "search", projectId: id, data: {} }),
  );
  return res?.rowsAffected ?? 0;
}

async function setState(db: Client, key: string, value: unknown): Promise<void> {
  await db.execute({
    sql: "INSERT INTO search_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    args: [key, JSON.stringify(value), Date.now()],
  });
}

export type SearchIndexer = {
  /** Look at the queue now. */
  wake(): void;
  /** Resolves once the queue is empty, every known project is indexed and nothing runs (tests, the CLI). */
  settled(timeoutMs?: number): Promise<void>;
  /** Whether this process holds the indexing lease (else another process indexes). */
  leased(): boolean;
  /** The entry being worked on and its progress (files done of total), if any. */
  current(): { projectId: string; path: string; done: number; total: number } | null;
  /** Stops after the current batch; an unfinished entry stays queued. */
  stop(): Promise<void>;
};

class Stopped extends Error {}

const running = new WeakMap<App, SearchIndexer>();

/** The indexer running for `app` in this process, if any. */
export function indexerOf(app: App): SearchIndexer | undefined {
  return running.get(app);
}

/** The indexer's connection: its own on an embedded database (see above), the shared one on a libSQL server. */
function openWriter(app: App): { client: Client; ready: Promise<unknown>; close(): void } {
  if (!app.db.file) return { client: app.db.client, ready: Promise.resolve(), close() {} };
  const client = createClient({ url: `file:${app.db.file}`, timeout: 5000 } as Parameters<typeof createClient>[0]);
  return { client, ready: client.execute("PRAGMA synchronous=NORMAL"), close: () => client.close() };
}

/** Starts the background indexer for `app` (once per process per App). */
export function startSearchIndexer(app: App, opts: { pollMs?: number } = {}): SearchIndexer {
  const existing = running.get(app);
  if (existing) return existing;
  const pollMs = opts.pollMs ?? POLL_MS;
  const owner = newId();
  const writer = openWriter(app);
  const client = writer.client;
  let stopped = false;
  let seenVersion = -1;
  let leaseRenewedAt = 0;
  let holding = false;
  let nudged = false;
  let lastSmallCheck = 0;
  let inPause = false;
  /** Idle merge steps still to run after writes (FTS5 cannot say cheaply whether work is left). */
  let mergeSteps = 0;
  let busy = false;
  let current: { entry: Entry; done: number; total: number; savedAt: number } | null = null;

  const napper = nap();
  const sleep = napper.sleep;
  const wake = () => {
    nudged = true;
    napper.wake();
  };

  async function lease(): Promise<boolean> {
    const now = Date.now();
    if (holding && now - leaseRenewedAt < RENEW_MS) return true;
    const res = await client.execute({
      sql: `INSERT INTO search_state (key, value, updated_at) VALUES ('lease', ?, ?)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            WHERE json_extract(search_state.value, '$.owner') = ? OR json_extract(search_state.value, '$.until') < ?`,
      args: [JSON.stringify({ owner, pid: process.pid, until: now + LEASE_MS }), now, owner, now],
    });
    holding = res.rowsAffected > 0;
    if (holding) leaseRenewedAt = now;
    return holding;
  }

  async function reconcile(): Promise<void> {
    const version = await app.db.dataVersion();
    if (version === seenVersion) return;
    const now = Date.now();
    await client.batch(
      [
        {
          sql: `INSERT INTO search_queue (project_id, path, enqueued_at) SELECT p.id, '', ? FROM projects p
                WHERE NOT EXISTS (SELECT 1 FROM search_projects s WHERE s.project_id = p.id) ON CONFLICT DO NOTHING`,
          args: [now],
        },
        "INSERT INTO search_projects (project_id) SELECT p.id FROM projects p WHERE NOT EXISTS (SELECT 1 FROM search_projects s WHERE s.project_id = p.id)",
      ],
      "write",
    );
    for (;;) {
      const rs = await client.execute("SELECT p.id FROM projects p JOIN search_projects s ON s.project_id = p.id WHERE s.seen_updated_at < p.updated_at LIMIT 50");
      for (const r of rs.rows) await refreshProjectDoc(app, client, String(r.id));
      if (rs.rows.length < 50) break;
      await pause();
    }
    seenVersion = version;
  }

  async function next(pathsOnly: boolean, except?: Entry): Promise<Entry | null> {
    const rs = await client.execute({
      sql: `SELECT project_id, path, move_to, force, gen, attempts FROM search_queue
            WHERE not_before <= ? ${pathsOnly ? "AND path <> ''" : ""} AND NOT (project_id = ? AND path = ?)
            ORDER BY path = '', enqueued_at, rowid LIMIT 1`,
      args: [Date.now(), except?.projectId ?? "", except?.path ?? "\u0000"],
    });
    const r = rs.rows[0];
    if (!r) return null;
    return { projectId: String(r.project_id), path: String(r.path), moveTo: r.move_to === null ? null : String(r.move_to), force: Number(r.force) === 1, gen: Number(r.gen), attempts: Number(r.attempts) };
  }

  async function saveProgress(force: boolean): Promise<void> {
    if (!current || (!force && Date.now() - current.savedAt < PROGRESS_EVERY_MS)) return;
    current.savedAt = Date.now();
    const { entry, done, total } = current;
    await setState(client, "progress", { projectId: entry.projectId, path: entry.path, done, total, at: Date.now() });
  }

  /** Between write batches: the event loop, the lease, urgent entries, a little FTS merging. */
  const pause: Pause = async () => {
    mergeSteps = IDLE_MERGE_STEPS;
    await new Promise<void>((r) => setImmediate(r));
    if (stopped) throw new Stopped();
    if (!(await lease())) throw new Stopped();
    await client.execute(`INSERT INTO search_code (search_code, rank) VALUES ('merge', ${MERGE_PAGES})`);
    await saveProgress(false);
    if (inPause || !current) return;
    if (!nudged && Date.now() - lastSmallCheck < pollMs) return;
    nudged = false;
    lastSmallCheck = Date.now();
    inPause = true;
    const outer = current;
    try {
      for (let i = 0; i < 50; i++) {
        const e = await next(true, outer.entry);
        if (!e) break;
        await work(e);
      }
    } finally {
      current = outer;
      inPause = false;
    }
  };

  async function work(e: Entry): Promise<void> {
    current = { entry: e, done: 0, total: 0, savedAt: Date.now() };
    const mine = current;
    try {
      if (e.moveTo !== null) await movePath(app, client, e.projectId, e.path, e.moveTo);
      await syncPath(app, client, e.projectId, e.path, e.force, pause, (done, total) => {
        mine.done = done;
        mine.total = total;
      });
      const doneStmts: InStatement[] = [{ sql: "DELETE FROM search_queue WHERE project_id = ? AND path = ? AND gen = ?", args: [e.projectId, e.path, e.gen] }];
      if (e.path === "") doneStmts.push({ sql: "UPDATE search_projects SET files_indexed_at = ? WHERE project_id = ?", args: [Date.now(), e.projectId] });
      await client.batch(doneStmts, "write");
      if (e.path === "" || /^readme(\.\w+)?$/i.test(e.path)) await refreshProjectDoc(app, client, e.projectId);
      await setState(client, "last_indexed_at", Date.now());
    } catch (err) {
      if (err instanceof Stopped) throw err;
      // The project was deleted under us: its queue entries went with it, nothing to report.
      const exists = await client.execute({ sql: "SELECT 1 FROM projects WHERE id = ?", args: [e.projectId] });
      if (exists.rows.length === 0) return;
      const message = (err as Error).message ?? String(err);
      app.log.warn("search indexing failed", { projectId: e.projectId, path: e.path, attempt: e.attempts + 1, error: message });
      await setState(client, "last_error", { projectId: e.projectId, path: e.path, message, at: Date.now() });
      if (e.attempts + 1 >= MAX_ATTEMPTS) {
        await client.execute({ sql: "DELETE FROM search_queue WHERE project_id = ? AND path = ?", args: [e.projectId, e.path] });
      } else {
        const backoff = Math.min(600_000, 1000 * 2 ** e.attempts);
        await client.execute({
          sql: "UPDATE search_queue SET attempts = attempts + 1, last_error = ?, not_before = ? WHERE project_id = ? AND path = ?",
          args: [message.slice(0, 500), Date.now() + backoff, e.projectId, e.path],
        });
      }
    } finally {
      current = null;
    }
  }

  /**
   * Idle time: one step of merging the FTS segments written since the last time. Returns whether
   * there is more to do; the loop looks at the queue between steps, so an edit never waits
   * behind housekeeping.
   */
  async function maintain(): Promise<boolean> {
    if (mergeSteps <= 0) return false;
    mergeSteps--;
    await client.execute(`INSERT INTO search_code (search_code, rank) VALUES ('merge', ${MERGE_PAGES})`);
    return mergeSteps > 0;
  }

  /** When the loop last found nothing to do (after reconciling). */
  let idleAt = 0;
  const loop = (async () => {
    await writer.ready;
    while (!stopped) {
      try {
        if (!(await lease())) {
          await sleep(pollMs);
          continue;
        }
        busy = true;
        await reconcile();
        const e = await next(false);
        if (e) {
          await work(e);
          continue;
        }
        if (await maintain()) {
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        busy = false;
        idleAt = Date.now();
        await sleep(pollMs);
      } catch (err) {
        busy = false;
        if (err instanceof Stopped) continue;
        app.log.error("search indexer loop failed", { error: (err as Error).message });
        await sleep(pollMs);
      }
    }
    busy = false;
  })();

  const unlisten = onFilesChanged((e) => {
    if (e.dataDir !== app.config.dataDir) return;
    enqueue(app, e.projectId, itemsFor(e))
      .then(wake)
      .catch((err: unknown) => {
        // The project may be gone already (the queue's foreign key): nothing to index then.
        if (!/FOREIGN KEY/i.test(String((err as Error)?.message))) app.log.warn("search enqueue failed", { projectId: e.projectId, error: (err as Error).message });
      });
  });

  const handle: SearchIndexer = {
    wake,
    leased: () => holding,
    current: () => (current ? { projectId: current.entry.projectId, path: current.entry.path, done: current.done, total: current.total } : null),
    async settled(timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      const asked = Date.now();
      for (;;) {
        wake();
        await new Promise((r) => setTimeout(r, 10));
        const queued = Number((await client.execute("SELECT count(*) FROM search_queue")).rows[0]?.[0] ?? 0);
        const unseen = Number((await client.execute("SELECT count(*) FROM projects p WHERE NOT EXISTS (SELECT 1 FROM search_projects s WHERE s.project_id = p.id)")).rows[0]?.[0] ?? 0);
        if (!busy && queued === 0 && unseen === 0 && idleAt >= asked) return;
        if (Date.now() > until) throw new Error(`search index not settled after ${timeoutMs} ms (${queued} queued)`);
      }
    },
    async stop() {
      stopped = true;
      unlisten();
      napper.wake();
      await loop;
      running.delete(app);
      if (holding) {
        await client
          .execute({ sql: "UPDATE search_state SET value = json_set(value, '$.until', 0) WHERE key = 'lease' AND json_extract(value, '$.owner') = ?", args: [owner] })
          .catch(() => {});
      }
      writer.close();
    },
  };
  running.set(app, handle);
  return handle;
}
