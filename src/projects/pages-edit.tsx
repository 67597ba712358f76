/**
 * Editing a text file in the browser without JavaScript: a textarea form that
 * writes through the same durable, event-recording path as the API. The
 * collaborative Monaco editor (issue 4) replaces it as the main editor; this
 * stays as the no-JS fallback. A hidden hash of the text the user started from
 * guards against overwriting someone else's change made meanwhile.
 */
import { route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Flash } from "../web/forms.tsx";
import { FormBody } from "../auth/pages-shared.tsx";
import { ApiError, invalid } from "../lib/errors.ts";
import { sha256 } from "../lib/crypto.ts";
import { actorId } from "../auth/actor.ts";
import { ownerHandle } from "./projects.ts";
import { isProbablyText, readFile, writeProjectFile } from "./files.ts";
import { blobUrl, editUrl } from "./pages-ui.tsx";
import { PathCrumbs, ProjectHeader } from "./pages-view.tsx";
import { blobPath, VIEW_MAX_BYTES, type FormCtx } from "./pages-project.tsx";

const decoder = new TextDecoder("utf-8", { fatal: false });

type EditState = { content: string; base: string; error?: string; conflict?: boolean };

/** The file's current text, or a 422 for files the textarea cannot hold faithfully. */
async function currentText(ctx: Ctx | FormCtx, path: string): Promise<string> {
  const f = await readFile(ctx.app.config.dataDir, ctx.project.id, path);
  if (f.size > VIEW_MAX_BYTES) throw invalid(`This file is larger than ${VIEW_MAX_BYTES} bytes; edit it with git or the API.`);
  if (!isProbablyText(f.bytes)) throw invalid("This is a binary file; replace it through the API or git.");
  return decoder.decode(f.bytes);
}

async function showEditor(ctx: Ctx | FormCtx, path: string, state: EditState, status = 200): Promise<Response> {
  const { project } = ctx;
  const owner = await ownerHandle(ctx.app.db.orm, project);
  const csrf = ctx.csrf();
  return html(
    doc(
      <Layout title={`Edit ${path} · ${project.name}`} actor={ctx.actor} csrf={csrf} wide>
        <div class="stack">
          <ProjectHeader project={project} owner={owner} canAdmin={ctx.access === "admin"} canWrite tab="code" />
          <PathCrumbs project={project} path={path} />
          {state.error ? <Flash kind="error">{state.error}</Flash> : null}
          <form method="post" action={editUrl(project.id, path)} class="card stack" novalidate>
            <input type="hidden" name="_csrf" value={csrf} />
            <input type="hidden" name="base" value={state.base} />
            <div class={state.error && !state.conflict ? "field has-error" : "field"}>
              <label for="f-content">Contents of {path}</label>
              <textarea id="f-content" name="content" rows={24} spellcheck="false" class="code-input" aria-describedby={state.error ? "edit-error" : undefined}>
                {state.content}
              </textarea>
              {state.error ? (
                <p class="field-error" id="edit-error" role="alert">
                  {state.error}
                </p>
              ) : null}
            </div>
            <div class="row">
              <button type="submit" class="primary">
                {state.conflict ? "Save anyway" : "Save file"}
              </button>
              <a class="btn" href={blobUrl(project.id, path)}>
                Cancel
              </a>
            </div>
          </form>
        </div>
      </Layout>,
    ),
    status,
  );
}

export const editPageRoutes = [
  route({
    method: "GET",
    path: "/projects/:id/edit/*",
    permission: "project:write",
    kind: "page",
    summary: "Edit a text file in a plain form (the no-JavaScript editor).",
    handler: async (ctx) => {
      const path = blobPath(ctx);
      const content = await currentText(ctx, path);
      return showEditor(ctx, path, { content, base: sha256(content) });
    },
  }),
  route({
    method: "POST",
    path: "/projects/:id/edit/*",
    permission: "project:write",
    kind: "page",
    summary: "Save an edited text file (refuses to overwrite a change made since the form was opened, unless asked again).",
    bodyKind: "form",
    body: FormBody,
    handler: async (ctx) => {
      const form = ctx.body;
      const path = blobPath(ctx);
      // Browsers send textarea line breaks as CRLF; files keep LF.
      const content = (form.content ?? "").replace(/\r\n?/g, "\n");
      const now = await currentText(ctx, path).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return ""; // deleted meanwhile: saving recreates it
        throw e;
      });
      const nowHash = sha256(now);
      if (form.base !== nowHash) {
        return showEditor(
          ctx,
          path,
          { content, base: nowHash, conflict: true, error: "Someone changed this file since you opened it. Your text is kept below; save again to overwrite their change." },
          409,
        );
      }
      try {
        await writeProjectFile(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, path, new TextEncoder().encode(content), ctx.app.config.maxFileBytes, actorId(ctx.actor));
      } catch (e) {
        if (e instanceof ApiError && e.status < 500) return showEditor(ctx, path, { content, base: form.base ?? "", error: e.message }, e.status === 400 ? 422 : e.status);
        throw e;
      }
      return redirect(blobUrl(ctx.project.id, path));
    },
  }),
];
