/** How far the search index is: what the admin page shows (two queries, cheap enough to poll). */
import type { App } from "../core/app.ts";

export type IndexStatus = {
  queued: number;
  queuedProjects: number;
  /** Entries waiting for a retry after an error. */
  retrying: number;
  files: { text: number; binary: number; tooLarge: number };
  lines: number;
  projects: { total: number; indexed: number };
  lastIndexedAt: number | null;
  lastError: { message: string; projectId: string; path: string; at: number } | null;
  /** The process holding the indexing lease, and whether the lease is current. */
  worker: { pid: number; alive: boolean } | null;
  progress: { projectId: string; projectName: string; path: string; done: number; total: number; at: number } | null;
};

function parse<T>(raw: unknown): T | null {
  if (typeof raw !== "string") return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

export async function indexStatus(app: App): Promise<IndexStatus> {
  const rs = await app.db.client.execute(`SELECT
      (SELECT count(*) FROM search_queue) AS queued,
      (SELECT count(*) FROM search_queue WHERE path = '') AS queued_projects,
      (SELECT count(*) FROM search_queue WHERE attempts > 0) AS retrying,
      (SELECT count(*) FROM search_files WHERE kind = 'text') AS text_files,
      (SELECT count(*) FROM search_files WHERE kind = 'binary') AS binary_files,
      (SELECT count(*) FROM search_files WHERE kind = 'too_large') AS large_files,
      (SELECT coalesce(sum(line_count), 0) FROM search_files) AS lines,
      (SELECT count(*) FROM projects) AS projects,
      (SELECT count(*) FROM search_projects WHERE files_indexed_at IS NOT NULL) AS indexed_projects`);
  const r = rs.rows[0] ?? {};
  const n = (k: string) => Number((r as Record<string, unknown>)[k] ?? 0);
  const state = new Map((await app.db.client.execute("SELECT key, value FROM search_state")).rows.map((s) => [String(s.key), s.value]));
  const lease = parse<{ pid: number; until: number }>(state.get("lease"));
  const lastError = parse<IndexStatus["lastError"]>(state.get("last_error"));
  const progress = parse<Omit<NonNullable<IndexStatus["progress"]>, "projectName">>(state.get("progress"));
  const lastIndexedAt = parse<number>(state.get("last_indexed_at"));
  const queued = n("queued");
  const current = queued > 0 && progress && progress.total > 0 ? progress : null;
  const name = current ? (await app.db.client.execute({ sql: "SELECT name FROM projects WHERE id = ?", args: [current.projectId] })).rows[0]?.name : undefined;
  return {
    queued,
    queuedProjects: n("queued_projects"),
    retrying: n("retrying"),
    files: { text: n("text_files"), binary: n("binary_files"), tooLarge: n("large_files") },
    lines: n("lines"),
    projects: { total: n("projects"), indexed: n("indexed_projects") },
    lastIndexedAt,
    lastError,
    worker: lease ? { pid: lease.pid, alive: lease.until > Date.now() } : null,
    // Progress of a pass that is over (nothing queued) is not news.
    progress: current ? { ...current, projectName: typeof name === "string" ? name : current.projectId } : null,
  };
}
