/**
 * A code action's diff preview with Apply / Discard (and Undo once applied): a page of its
 * own, and the same markup as an htmx fragment for the IDE's assistant panel, which loads
 * `actionPageUrl(...)` with HX-Request and swaps the result in. The forms work without
 * JavaScript (post/redirect/get); with htmx they replace the fragment in place.
 */
import { ApiError, notFound } from "../lib/errors.ts";
import { route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { render, type Html } from "../web/jsx/jsx-runtime.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Flash } from "../web/forms.tsx";
import { detectLanguage } from "../projects/files.ts";
import { highlightFile, type DiffFile } from "../web/diff.ts";
import { ownerHandle } from "../projects/projects.ts";
import { blobUrl, RelTime } from "../projects/pages-ui.tsx";
import { ProjectHeader } from "../projects/pages-view.tsx";
import { DiffTable, FileStat, STATUS_LABEL } from "../projects/pages-diff-view.tsx";
import { canWrite, csrfIfUser } from "../projects/pages-history-ui.tsx";
import { diffSides, fileDiff } from "./actions-diff.ts";
import { applyAction, discardAction, getAction, undoAction, type ActionEdit, type ActionStatus, type CodeAction } from "./actions.ts";

type View = "unified" | "split";
type Verb = "apply" | "discard" | "undo";

export function actionPageUrl(projectId: string, actionId: string, view?: View): string {
  return `/projects/${encodeURIComponent(projectId)}/ai/actions/${encodeURIComponent(actionId)}${view === "split" ? "?view=split" : ""}`;
}

const STATUS_TEXT: Record<ActionStatus, string> = { proposed: "Proposed", applied: "Applied", discarded: "Discarded", conflict: "Conflict" };

export type ActionViewProps = {
  action: CodeAction;
  canWrite: boolean;
  csrf: string | undefined;
  view: View;
  /** A refusal to show above the files, with the reason per file. */
  error?: { message: string; files: Record<string, string> };
  notice?: string;
};

function FileDiff(p: { action: CodeAction; edit: ActionEdit; diff: DiffFile; index: number; view: View; problem: string | undefined }): Html {
  const { edit: e, diff: f } = p;
  highlightFile(f, detectLanguage(e.path));
  const id = `ai-action-${p.action.id}-file-${p.index + 1}`;
  return (
    <section class="card flush diff-file" aria-labelledby={`${id}-name`}>
      <div class="file-bar diff-file-bar">
        <h3 class="diff-file-name" id={`${id}-name`}>
          <span class={`diff-status diff-status-${f.status}`}>{STATUS_LABEL[f.status]}</span>
          <span class="diff-path">{e.path}</span>
        </h3>
        <span class="actions">
          <FileStat file={f} />
          {e.applied?.merged ? <span class="badge" title="Merged with changes made after the proposal">merged</span> : null}
          {f.status !== "added" || p.action.status === "applied" ? (
            <a class="btn small" href={blobUrl(p.action.projectId, e.path)} aria-label={`View ${e.path}`}>
              View file
            </a>
          ) : null}
        </span>
      </div>
      {p.problem ? (
        <p class="field-error diff-note" role="alert">
          {p.problem}
        </p>
      ) : null}
      {f.hunks.length === 0 ? <p class="diff-note">{f.status === "added" ? "Empty file added." : "No line changes."}</p> : <DiffTable file={f} view={p.view} label={e.path} />}
    </section>
  );
}

function VerbForm(p: { action: CodeAction; verb: Verb; csrf: string; view: View; label: string; primary?: boolean; hint?: string }): Html {
  const url = `${actionPageUrl(p.action.projectId, p.action.id)}/${p.verb}`;
  return (
    <form method="post" action={url} class="inline" hx-post={url} hx-target="closest .ai-action" hx-swap="outerHTML" hx-disabled-elt="find button">
      <input type="hidden" name="_csrf" value={p.csrf} />
      <input type="hidden" name="view" value={p.view} />
      <button type="submit" class={p.primary ? "primary" : undefined} title={p.hint}>
        {p.label}
      </button>
    </form>
  );
}

function Actions(p: ActionViewProps): Html {
  const { action } = p;
  if (action.status === "discarded") return <p class="muted small">This proposal was discarded.</p>;
  if (!p.canWrite || !p.csrf) return <p class="muted small">You can read this project but not change its files.</p>;
  const common = { action, csrf: p.csrf, view: p.view };
  if (action.status === "applied") {
    return (
      <div class="form-actions">
        <VerbForm {...common} verb="undo" label="Undo" hint="Revert these changes; edits made since on other lines stay" />
      </div>
    );
  }
  return (
    <div class="form-actions">
      <VerbForm {...common} verb="apply" label={action.status === "conflict" ? "Try again" : "Apply"} primary hint="Apply to the files; everyone editing them sees it at once" />
      <VerbForm {...common} verb="discard" label="Discard" />
    </div>
  );
}

function ViewToggle(p: { action: CodeAction; view: View }): Html {
  const link = (v: View, label: string) => {
    const href = actionPageUrl(p.action.projectId, p.action.id, v);
    return (
      <a href={href} class="diff-view-link" aria-current={p.view === v ? "true" : undefined} hx-get={href} hx-target="closest .ai-action" hx-swap="outerHTML">
        {label}
      </a>
    );
  };
  return (
    <nav class="diff-views" aria-label="Diff layout">
      {link("unified", "Unified")}
      {link("split", "Side by side")}
    </nav>
  );
}

/** The preview: summary, status, one diff per file, and what the viewer may do with it. */
export function ActionView(p: ActionViewProps): Html {
  const { action } = p;
  const diffs = action.edits.map((e) => fileDiff(e.path, diffSides(e).from, diffSides(e).to));
  const additions = diffs.reduce((n, d) => n + d.additions, 0);
  const deletions = diffs.reduce((n, d) => n + d.deletions, 0);
  const files = action.edits.length;
  const headingId = `ai-action-${action.id}-heading`;
  return (
    <section class="ai-action stack" id={`ai-action-${action.id}`} aria-labelledby={headingId} aria-live="polite">
      <div class="stack tight">
        <div class="row">
          <h2 id={headingId} class="grow">
            {action.summary || "Proposed edit"}
          </h2>
          <span class="badge">{STATUS_TEXT[action.status]}</span>
        </div>
        <p class="muted small">
          {files} {files === 1 ? "file" : "files"} · <span class="diff-plus">+{additions}</span> <span class="diff-minus">−{deletions}</span> · proposed <RelTime at={action.createdAt} />
          {action.appliedAt ? (
            <>
              {" "}
              · applied <RelTime at={action.appliedAt} />
            </>
          ) : null}
        </p>
      </div>
      {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
      {p.error ? <Flash kind="error">{p.error.message}</Flash> : null}
      {action.status === "conflict" && !p.error ? (
        <Flash kind="info">The files changed on the same lines since this was proposed. Ask the assistant again, or try again after those changes are undone.</Flash>
      ) : null}
      <Actions {...p} />
      <ViewToggle action={action} view={p.view} />
      {action.edits.map((edit, i) => (
        <FileDiff action={action} edit={edit} diff={diffs[i] as DiffFile} index={i} view={p.view} problem={p.error?.files[edit.path]} />
      ))}
    </section>
  );
}

async function pageAction(ctx: Ctx<unknown, unknown>): Promise<CodeAction> {
  const a = await getAction(ctx.app, ctx.params.aid ?? "");
  // An action of another project is as good as missing here.
  if (!a || a.projectId !== ctx.project.id) throw notFound("Code action");
  return a;
}

function viewOf(v: string | undefined): View {
  return v === "split" ? "split" : "unified";
}

async function show(ctx: Ctx<unknown, unknown>, action: CodeAction, view: View, extra: Pick<ActionViewProps, "error" | "notice"> = {}, status = 200): Promise<Response> {
  const csrf = csrfIfUser(ctx as Ctx);
  const body = <ActionView action={action} canWrite={canWrite(ctx)} csrf={csrf} view={view} {...extra} />;
  // htmx swaps only 2xx answers: a refusal shown in the panel is a 200 carrying the message.
  if (ctx.isHtmx) return html(render(body), 200, { "Cache-Control": "no-store" });
  const { project } = ctx;
  const owner = await ownerHandle(ctx.app.db.orm, project);
  return html(
    doc(
      <Layout title={`${action.summary || "Proposed edit"} · ${project.name}`} actor={ctx.actor} csrf={csrf} wide>
        <ProjectHeader project={project} owner={owner} canAdmin={ctx.access === "admin"} canWrite={canWrite(ctx)} tab="code" />
        {body}
      </Layout>,
    ),
    status,
    { "Cache-Control": "no-store" },
  );
}

const DONE: Record<Verb, string> = {
  apply: "Applied. Everyone editing these files sees the change now.",
  discard: "Discarded.",
  undo: "Undone. The proposal can be applied again.",
};

function verbRoute(verb: Verb, run: typeof applyAction, summary: string) {
  return route({
    method: "POST",
    path: `/projects/:id/ai/actions/:aid/${verb}`,
    permission: "project:write",
    kind: "page",
    bodyKind: "form",
    summary,
    tags: ["ai"],
    handler: async (ctx) => {
      const action = await pageAction(ctx);
      const view = viewOf((ctx.body as unknown as Record<string, string>).view);
      try {
        const done = await run(ctx.app, ctx.actor, action.id);
        if (ctx.isHtmx) return show(ctx, done, view, { notice: DONE[verb] });
        return redirect(actionPageUrl(done.projectId, done.id, view));
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 409) throw e;
        const now = (await getAction(ctx.app, action.id)) ?? action;
        return show(ctx, now, view, { error: { message: e.message, files: e.details ?? {} } }, 409);
      }
    },
  });
}

export const aiActionPageRoutes = [
  route({
    method: "GET",
    path: "/projects/:id/ai/actions/:aid",
    permission: "project:read",
    kind: "page",
    summary: "A code action's diff preview with Apply and Discard (an htmx fragment for the assistant panel)",
    tags: ["ai"],
    handler: async (ctx) => show(ctx, await pageAction(ctx), viewOf(ctx.query.view)),
  }),
  verbRoute("apply", applyAction, "Apply a code action from its preview"),
  verbRoute("discard", discardAction, "Discard a code action from its preview"),
  verbRoute("undo", undoAction, "Undo an applied code action from its preview"),
];
