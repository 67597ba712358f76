/**
 * A project's history pages: the list of versions with the "Save version" form, saving and
 * restoring (form posts), and the routes of the version and tree pages (pages-diff.tsx,
 * pages-history-tree.tsx). The logic is in versions.ts.
 */
import { t } from "elysia";
import { route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Flash } from "../web/forms.tsx";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { ApiError } from "../lib/errors.ts";
import { isDirty } from "./git.ts";
import { ownerHandle } from "./projects.ts";
import { editorOf, listVersions, MESSAGE_MAX, projectRepo, restoreVersion, saveVersion, type VersionJson } from "./versions.ts";
import { Empty, FormFields, userOf } from "./pages-ui.tsx";
import { ProjectHeader } from "./pages-view.tsx";
import { Byline, canWrite, csrfIfUser, historyUrl, pageVersion, shortSha, splitMessage, versionTreeUrl, versionUrl } from "./pages-history-ui.tsx";
import { showVersion } from "./pages-diff.tsx";
import { showVersionTree } from "./pages-history-tree.tsx";

type FormCtx = Ctx<Record<string, string>>;
type ListQuery = { cursor?: string; save?: string; saved?: string; restored?: string; from?: string; unchanged?: string };

const SHA_RE = /^[0-9a-f]{4,64}$/;
const shaParam = (v: string | undefined) => (v && SHA_RE.test(v) ? v : undefined);

export type SaveFormState = { message?: string; error?: string };

function SaveForm(p: { projectId: string; csrf: string; state: SaveFormState; focus: boolean }): Html {
  const err = p.state.error;
  return (
    <section class="card history-save" id="save-version" aria-labelledby="save-heading">
      <h2 id="save-heading">Save a version</h2>
      <p class="muted small" id="f-message-hint">
        Saves the project’s current files as a version you can compare with and restore later.
      </p>
      <form method="post" action={`${historyUrl(p.projectId)}/save`} novalidate>
        <input type="hidden" name="_csrf" value={p.csrf} />
        <div class={err ? "field has-error" : "field"}>
          <label for="f-message">Message</label>
          <div class="history-save-row">
            <input
              id="f-message"
              name="message"
              type="text"
              value={p.state.message}
              maxlength={MESSAGE_MAX}
              autocomplete="off"
              placeholder="What changed?"
              autofocus={p.focus || err !== undefined}
              aria-invalid={err ? "true" : undefined}
              aria-describedby={err ? "f-message-error f-message-hint" : "f-message-hint"}
            />
            <button type="submit" class="primary">
              Save version
            </button>
          </div>
          {err ? (
            <p class="field-error" id="f-message-error" role="alert">
              {err}
            </p>
          ) : null}
        </div>
      </form>
    </section>
  );
}

function VersionItem(p: { projectId: string; version: VersionJson; focus?: boolean; fresh?: boolean }): Html {
  const v = p.version;
  const { subject } = splitMessage(v.message);
  return (
    <li class={p.fresh ? "history-item history-fresh" : "history-item"}>
      <div class="grow">
        <a class="history-subject" href={versionUrl(p.projectId, v.id)} autofocus={p.focus}>
          {subject}
        </a>
        <Byline version={v} />
      </div>
      <div class="history-side">
        <a class="history-sha" href={versionUrl(p.projectId, v.id)} title={v.id} aria-label={`Version ${shortSha(v.id)}`}>
          {shortSha(v.id)}
        </a>
        <a class="btn small" href={versionTreeUrl(p.projectId, v.id)} aria-label={`Browse files at ${shortSha(v.id)}`}>
          Browse files
        </a>
      </div>
    </li>
  );
}

/** "Older versions" (a link that htmx turns into "load more" in place). */
function Pager(p: { projectId: string; next: string | null; paged: boolean }): Html {
  const older = p.next ? `${historyUrl(p.projectId)}?cursor=${encodeURIComponent(p.next)}` : null;
  return (
    <nav class="history-pager" id="history-pager" aria-label="More versions">
      {p.paged ? <a href={historyUrl(p.projectId)}>Newest versions</a> : null}
      {older ? (
        <a class="btn" href={older} hx-get={older} hx-target="#history-pager" hx-swap="outerHTML">
          Older versions
        </a>
      ) : null}
    </nav>
  );
}

function flashFor(projectId: string, q: ListQuery): Html | null {
  const saved = shaParam(q.saved);
  const restored = shaParam(q.restored);
  const from = shaParam(q.from);
  const unchanged = shaParam(q.unchanged);
  if (saved) return <Flash kind="ok">Saved version <a href={versionUrl(projectId, saved)}>{shortSha(saved)}</a>.</Flash>;
  if (restored) {
    return (
      <Flash kind="ok">
        Restored {from ? <a href={versionUrl(projectId, from)}>{shortSha(from)}</a> : "an earlier version"} as the new version{" "}
        <a href={versionUrl(projectId, restored)}>{shortSha(restored)}</a>. Nothing was lost: the versions in between are still here.
      </Flash>
    );
  }
  if (unchanged) {
    return (
      <Flash kind="info">
        Nothing to restore: the project already has exactly the files of <a href={versionUrl(projectId, unchanged)}>{shortSha(unchanged)}</a>.
      </Flash>
    );
  }
  return null;
}

/** The history page; re-rendered (409/422) when the save form has an error. */
export async function showHistory(ctx: Ctx<undefined, ListQuery> | FormCtx, form: SaveFormState = {}, status = 200): Promise<Response> {
  const { project } = ctx;
  const query: ListQuery = ctx.query ?? {};
  const cursor = query.cursor;
  const dataDir = ctx.app.config.dataDir;
  const [page, owner] = await Promise.all([listVersions(dataDir, project.id, { cursor }), ownerHandle(ctx.app.db.orm, project)]);
  const writer = canWrite(ctx);
  const saved = shaParam(query.saved) ?? shaParam(query.restored);

  if (ctx.isHtmx && cursor) {
    // "Older versions" in place: the items join the list, the pager replaces itself.
    return html(
      (
        <>
          <ol hx-swap-oob="beforeend:#history-list">
            {page.versions.map((v, i) => (
              <VersionItem projectId={project.id} version={v} focus={i === 0} />
            ))}
          </ol>
          <Pager projectId={project.id} next={page.nextCursor} paged={false} />
        </>
      ).value,
    );
  }

  const head = cursor ? undefined : page.versions[0];
  const unsaved = !cursor && (await isDirty(projectRepo(dataDir, project.id)));
  return html(
    doc(
      <Layout title={`History · ${project.name}`} actor={ctx.actor} csrf={csrfIfUser(ctx)} wide>
        <ProjectHeader project={project} owner={owner} canAdmin={ctx.access === "admin"} tab="history" />
        <div class="stack history-page">
          {flashFor(project.id, query)}
          {writer && !cursor ? <SaveForm projectId={project.id} csrf={ctx.csrf()} state={form} focus={query.save === "1"} /> : null}
          {unsaved ? (
            <p class="history-unsaved">
              The current files have changes that are not saved as a version yet.{" "}
              {head ? <a href={versionUrl(project.id, head.id, { against: "worktree" })}>Compare them with the last version</a> : null}
            </p>
          ) : null}
          <section aria-labelledby="versions-heading">
            <h2 id="versions-heading" class={cursor ? undefined : "visually-hidden"}>
              {cursor ? "Older versions" : "Versions"}
            </h2>
            {page.versions.length === 0 ? (
              <Empty title="No versions yet">
                {writer ? "Save the current files as the first version with the form above." : "Nobody has saved a version of this project yet."}
              </Empty>
            ) : (
              <ol class="history-list" id="history-list">
                {page.versions.map((v) => (
                  <VersionItem projectId={project.id} version={v} fresh={v.id === saved} />
                ))}
              </ol>
            )}
            <Pager projectId={project.id} next={page.nextCursor} paged={cursor !== undefined} />
          </section>
        </div>
      </Layout>,
    ),
    status,
  );
}

async function saveFromForm(ctx: FormCtx): Promise<Response> {
  const message = ctx.body.message ?? "";
  try {
    const v = await saveVersion(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, { message, author: editorOf(userOf(ctx.actor)) });
    return redirect(`${historyUrl(ctx.project.id)}?saved=${v.id}`);
  } catch (e) {
    // "Nothing changed" and "too long" belong beside the message field, not on an error page.
    if (e instanceof ApiError && (e.status === 409 || e.status === 400)) {
      return showHistory(ctx, { message, error: e.details?.message ?? e.message }, e.status === 400 ? 422 : 409);
    }
    throw e;
  }
}

async function restoreFromForm(ctx: FormCtx): Promise<Response> {
  const version = await pageVersion(ctx, ctx.params.sha ?? "");
  try {
    const created = await restoreVersion(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, version.id, editorOf(userOf(ctx.actor)));
    ctx.log.info("version restored", { projectId: ctx.project.id, version: created.id, from: version.id });
    return redirect(`${historyUrl(ctx.project.id)}?restored=${created.id}&from=${version.id}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) return redirect(`${historyUrl(ctx.project.id)}?unchanged=${version.id}`);
    throw e;
  }
}

const Cursor = t.String({ pattern: "^[0-9a-f]{40,64}\\.[0-9]{1,9}$" });
const ShaQuery = t.String({ maxLength: 64 });

export const historyPageRoutes = [
  route({
    method: "GET",
    path: "/projects/:id/history",
    permission: "project:read",
    kind: "page",
    summary: "A project's versions, newest first (paginated), with the Save version form for writers.",
    tags: ["pages"],
    query: t.Object({
      cursor: t.Optional(Cursor),
      save: t.Optional(t.String({ maxLength: 1 })),
      saved: t.Optional(ShaQuery),
      restored: t.Optional(ShaQuery),
      from: t.Optional(ShaQuery),
      unchanged: t.Optional(ShaQuery),
    }),
    handler: (ctx) => showHistory(ctx),
  }),
  route({
    method: "POST",
    path: "/projects/:id/history/save",
    permission: "project:write",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Save the current files as a version (message in the form); “nothing changed” is shown beside the field.",
    tags: ["pages"],
    handler: (ctx) => saveFromForm(ctx),
  }),
  route({
    method: "GET",
    path: "/projects/:id/history/:sha",
    permission: "project:read",
    kind: "page",
    summary: "One version and its diff: against its parent, `?against=<sha>` or `?against=worktree`; `?view=split` side by side.",
    tags: ["pages"],
    handler: (ctx) => showVersion(ctx),
  }),
  route({
    method: "GET",
    path: "/projects/:id/history/:sha/tree",
    permission: "project:read",
    kind: "page",
    summary: "A version's files (read-only), from the top folder.",
    tags: ["pages"],
    handler: (ctx) => showVersionTree(ctx),
  }),
  route({
    method: "GET",
    path: "/projects/:id/history/:sha/tree/*",
    permission: "project:read",
    kind: "page",
    summary: "A file or folder as it was in a version (read-only, highlighted).",
    tags: ["pages"],
    handler: (ctx) => showVersionTree(ctx),
  }),
  route({
    method: "POST",
    path: "/projects/:id/history/:sha/restore",
    permission: "project:write",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Restore a version as a new version (history is never rewritten), then back to the history page.",
    tags: ["pages"],
    handler: (ctx) => restoreFromForm(ctx),
  }),
];
