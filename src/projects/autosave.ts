/**
 * Autosave: when a project's files have had no edit for a quiet period (`WOVE_AUTOSAVE_QUIET`,
 * default 10 minutes), its unsaved edits are saved as a version "Autosave", attributed to the
 * last editor — so history is never empty of work even when nobody presses "Save version".
 *
 * A small in-process scheduler: one timer per project, pushed back by every edit made through
 * the files functions (files.ts `onFilesChanged`). Timers live in memory, so on start every
 * project whose working tree differs from its last version (`git status`) is scheduled again,
 * counting the quiet period from its last file event.
 */
import { existsSync } from "node:fs";
import { and, desc, eq, like } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { events, projects, users } from "../db/schema.ts";
import { onFilesChanged } from "./files.ts";
import { isDirty } from "./git.ts";
import { autosave, editorOf, ensureRepo, projectRepo } from "./versions.ts";

type Pending = { timer: ReturnType<typeof setTimeout>; editorId: string | null };

/** One timer per project; `note` (re)starts it. `save` runs when a project has been quiet long enough. */
export class AutosaveScheduler {
  private readonly pending = new Map<string, Pending>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly quietMs: number,
    private readonly save: (projectId: string, editorId: string | null) => Promise<void>,
  ) {}

  /** An edit happened now (or, with `delayMs`, the quiet period has that much left). */
  note(projectId: string, editorId: string | null, delayMs = this.quietMs): void {
    const prev = this.pending.get(projectId);
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => this.fire(projectId), Math.max(0, delayMs));
    timer.unref?.();
    this.pending.set(projectId, { timer, editorId: editorId ?? prev?.editorId ?? null });
  }

  private fire(projectId: string): void {
    const p = this.pending.get(projectId);
    if (!p) return;
    this.pending.delete(projectId);
    const run = this.save(projectId, p.editorId).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Project ids waiting for their quiet period to end. */
  waiting(): string[] {
    return [...this.pending.keys()];
  }

  /** Saves everything pending now and waits for saves in flight (at shutdown). */
  async flush(): Promise<void> {
    for (const id of [...this.pending.keys()]) {
      const p = this.pending.get(id);
      if (p) clearTimeout(p.timer);
      this.fire(id);
    }
    await Promise.allSettled([...this.running]);
  }

  stop(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}

export type Autosave = {
  scheduler: AutosaveScheduler;
  /** Resolves when the start-up scan for unsaved work has finished. */
  ready: Promise<void>;
  /** Saves pending work now (call before shutting down). */
  flush(): Promise<void>;
  stop(): void;
};

/**
 * Starts autosave for the app's data dir (`quietMs` 0 turns it off). Call once at `serve`;
 * call `flush()` then `stop()` on shutdown.
 */
export function startAutosave(app: Pick<App, "config" | "db" | "log">, quietMs: number): Autosave {
  const { orm } = app.db;
  const dataDir = app.config.dataDir;
  const scheduler = new AutosaveScheduler(quietMs, async (projectId, editorId) => {
    try {
      const project = await orm.select().from(projects).where(eq(projects.id, projectId)).get();
      if (!project) return;
      const user = editorId ? await orm.select().from(users).where(eq(users.id, editorId)).get() : undefined;
      const v = await autosave(orm, dataDir, project, user ? editorOf(user) : null);
      if (v) app.log.info("autosaved", { projectId, version: v.id, filesChanged: v.filesChanged });
    } catch (e) {
      app.log.warn("autosave failed", { projectId, error: (e as Error).message });
    }
  });
  if (quietMs <= 0) return { scheduler, ready: Promise.resolve(), flush: async () => {}, stop: () => {} };

  const unsubscribe = onFilesChanged((e) => {
    if (e.dataDir === dataDir && e.source === "edit") scheduler.note(e.projectId, e.actorId);
  });
  let stopped = false;

  // Work left unsaved by the last run: schedule it, counting quiet time from the last file event.
  const ready = (async () => {
    const rows = await orm.select({ id: projects.id }).from(projects);
    for (const { id } of rows) {
      if (stopped) return;
      try {
        if (!existsSync(projectRepo(dataDir, id).workTree)) continue;
        const paths = await ensureRepo(dataDir, id);
        if (!(await isDirty(paths))) continue;
        const last = await orm
          .select({ at: events.at, actorId: events.actorId })
          .from(events)
          .where(and(eq(events.projectId, id), like(events.kind, "file.%")))
          .orderBy(desc(events.id))
          .limit(1)
          .get();
        const quietFor = last ? Date.now() - last.at : quietMs;
        scheduler.note(id, last?.actorId ?? null, quietMs - quietFor);
      } catch (e) {
        app.log.warn("autosave scan failed", { projectId: id, error: (e as Error).message });
      }
    }
  })();

  return {
    scheduler,
    ready,
    flush: () => scheduler.flush(),
    stop() {
      stopped = true;
      unsubscribe();
      scheduler.stop();
    },
  };
}
