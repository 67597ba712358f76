/**
 * The admin overview's "Search index" section: what is indexed, what is waiting, the pass in
 * progress and the last error — refreshing itself every two seconds while there is work (htmx
 * polling of its own fragment) — and a button that queues a full rebuild.
 */
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import { route, actorIdOf } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { FormBody } from "../auth/pages-shared.tsx";
import { RelTime, formatBytes } from "../projects/pages-ui.tsx";
import { indexStatus, type IndexStatus } from "../search/status.ts";
import { indexerOf, requestReindex } from "../search/indexer.ts";

const FRAGMENT = "/admin/search-index";
const REINDEX = "/admin/search-index/reindex";
const n = (v: number) => v.toLocaleString("en-US");

function Row(p: { label: string; children?: Child }): Html {
  return (
    <tr>
      <th scope="row">{p.label}</th>
      <td>{p.children}</td>
    </tr>
  );
}

function IndexerState(p: { s: IndexStatus }): Html {
  const { s } = p;
  if (!s.worker || !s.worker.alive) {
    if (s.queued === 0) return <span>idle</span>;
    return (
      <span>
        not running: the queue waits for <code>wove serve</code> (or <code>wove admin reindex</code>)
      </span>
    );
  }
  if (s.worker.pid === process.pid) return <span>running in this server</span>;
  return (
    <span>
      running in another process (pid {String(s.worker.pid)}, e.g. <code>wove admin reindex</code>)
    </span>
  );
}

export function SearchIndexSection(p: { status: IndexStatus; csrf: string; maxFileBytes: number; note?: string }): Html {
  const s = p.status;
  const busy = s.queued > 0;
  const poll = busy ? { "hx-get": FRAGMENT, "hx-trigger": "load delay:2s", "hx-swap": "outerHTML" } : {};
  return (
    <section class="card stack" id="search-index" aria-labelledby="search-index-title" aria-busy={busy ? "true" : undefined} {...poll}>
      <h2 id="search-index-title">Search index</h2>
      {p.note ? (
        <p class="flash ok" role="status">
          {p.note}
        </p>
      ) : null}
      {/* No .table-wrap (it keeps tables at least 520 px wide and scrolls them): two columns wrap at 360 px. */}
      <table class="list">
        <tbody>
          <Row label="Projects">{`${n(s.projects.indexed)} of ${n(s.projects.total)} indexed`}</Row>
          <Row label="Files">
            {`${n(s.files.text)} text (${n(s.lines)} lines), ${n(s.files.binary)} binary (found by name only)`}
            {s.files.tooLarge > 0 ? `, ${n(s.files.tooLarge)} larger than ${formatBytes(p.maxFileBytes)} (only their first ${formatBytes(p.maxFileBytes)} is searchable)` : ""}
          </Row>
          <Row label="Queue">
            {busy ? `${n(s.queued)} waiting (${n(s.queuedProjects)} whole project${s.queuedProjects === 1 ? "" : "s"})${s.retrying > 0 ? `, ${n(s.retrying)} retrying after an error` : ""}` : "empty: everything is indexed"}
            {s.progress ? (
              <div class="stack tight">
                <label class="small muted" for="search-index-progress">{`Indexing ${s.progress.projectName}${s.progress.path ? ` / ${s.progress.path}` : ""}: ${n(s.progress.done)} of ${n(s.progress.total)} files`}</label>
                <progress id="search-index-progress" max={s.progress.total} value={s.progress.done}>
                  {`${s.progress.done} of ${s.progress.total}`}
                </progress>
              </div>
            ) : null}
          </Row>
          <Row label="Indexer">
            <IndexerState s={s} />
          </Row>
          <Row label="Last indexed">{s.lastIndexedAt ? <RelTime at={s.lastIndexedAt} /> : "never"}</Row>
          {s.lastError ? (
            <Row label="Last error">
              <code>{s.lastError.message}</code>
              <span class="small muted">
                {` — project ${s.lastError.projectId}, ${s.lastError.path || "whole project"}, `}
                <RelTime at={s.lastError.at} />
              </span>
            </Row>
          ) : null}
        </tbody>
      </table>
      <form method="post" action={REINDEX} class="stack tight" hx-post={REINDEX} hx-target="#search-index" hx-swap="outerHTML">
        <input type="hidden" name="_csrf" value={p.csrf} />
        <div class="row">
          <button type="submit">Rebuild the search index</button>
        </div>
        <p class="hint">
          Re-reads every file of every project (also: <code>wove admin reindex</code>). Search keeps working meanwhile.
        </p>
      </form>
    </section>
  );
}

export const searchAdminRoutes = [
  route({
    method: "GET",
    path: FRAGMENT,
    permission: "admin",
    kind: "page",
    summary: "The search index section of the admin overview (an htmx fragment; a plain visit goes to /admin).",
    tags: ["pages"],
    handler: async (ctx) => {
      if (!ctx.isHtmx) return redirect("/admin#search-index");
      const status = await indexStatus(ctx.app);
      return html((<SearchIndexSection status={status} csrf={ctx.csrf()} maxFileBytes={ctx.app.config.searchMaxFileBytes} />).value);
    },
  }),
  route({
    method: "POST",
    path: REINDEX,
    permission: "admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Queue every project to be re-read into the search index.",
    tags: ["pages"],
    handler: async (ctx) => {
      const count = await requestReindex(ctx.app, { actorId: actorIdOf(ctx) });
      indexerOf(ctx.app)?.wake();
      if (ctx.isHtmx) {
        const status = await indexStatus(ctx.app);
        const note = `Queued ${count} project${count === 1 ? "" : "s"} for re-indexing.`;
        return html((<SearchIndexSection status={status} csrf={ctx.csrf()} maxFileBytes={ctx.app.config.searchMaxFileBytes} note={note} />).value);
      }
      return redirect("/admin#search-index");
    },
  }),
];
