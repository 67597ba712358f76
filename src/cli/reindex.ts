/**
 * `wove admin reindex [--project ID]`: queues projects to be re-read into the search index, then
 * does the work here and shows progress — unless a running server holds the indexing lease, in
 * which case the server does it (and its admin page shows the progress).
 */
import type { App } from "../core/app.ts";
import { getProject } from "../projects/projects.ts";
import { requestReindex, startSearchIndexer } from "../search/indexer.ts";
import { indexStatus } from "../search/status.ts";

export class ReindexError extends Error {}

const PROJECT_ID_RE = /^[a-z0-9]{1,64}$/;

/** Runs the command; `print` gets each line of output. Throws ReindexError for an unknown project. */
export async function reindex(app: App, opts: { projectId?: string; print: (line: string) => void; progressEveryMs?: number }): Promise<void> {
  const { projectId, print } = opts;
  if (projectId !== undefined && (!PROJECT_ID_RE.test(projectId) || !(await getProject(app.db.orm, projectId)))) {
    throw new ReindexError(`no project with id "${projectId}"`);
  }
  const count = await requestReindex(app, { projectId, actorId: null });
  print(`queued ${count} project${count === 1 ? "" : "s"} for re-indexing`);
  const indexer = startSearchIndexer(app, { pollMs: 100 });
  try {
    const every = opts.progressEveryMs ?? 1000;
    let shown = "";
    for (;;) {
      await Bun.sleep(Math.min(every, 250));
      const s = await indexStatus(app);
      if (!indexer.leased() && s.worker?.alive) {
        print(`a running Wove server (pid ${s.worker.pid}) is indexing; it will rebuild the index — progress on its /admin page`);
        return;
      }
      if (s.queued === 0 && !indexer.current()) break;
      const c = indexer.current();
      const line = c && c.total > 0 ? `indexing: ${c.done}/${c.total} files of project ${c.projectId}, ${s.queued} queued` : `${s.queued} queued`;
      if (line !== shown) {
        print(line);
        shown = line;
      }
    }
    await indexer.settled(60_000);
    const s = await indexStatus(app);
    print(`done: ${s.projects.indexed} of ${s.projects.total} projects, ${s.files.text} text files (${s.lines} lines), ${s.files.binary} binary`);
    if (s.lastError && s.lastError.at >= Date.now() - 3_600_000) print(`last error: ${s.lastError.message} (project ${s.lastError.projectId}, ${s.lastError.path || "whole project"})`);
  } finally {
    await indexer.stop();
  }
}
