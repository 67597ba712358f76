/**
 * Forking from the web UI: the "Fork" form (`/projects/:id/fork`) — name, owner (the user or a
 * team where they may create projects) and visibility, never more public than the source
 * (fork.ts enforces it; its errors are shown beside the fields) — and what the project header
 * needs to say about forks: whether the viewer may fork, and where this project came from.
 */
import { route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Flash } from "../web/forms.tsx";
import { ApiError } from "../lib/errors.ts";
import type { Project, Visibility } from "../db/schema.ts";
import { projectAccess } from "./access.ts";
import { forkProject } from "./fork.ts";
import { forkSources, ownerHandle, VISIBILITIES } from "./projects.ts";
import { FormFields, projectUrl, userOf, VisibilityField } from "./pages-ui.tsx";
import type { FormCtx } from "./pages-project.tsx";
import { OwnerAndName, ownerOptions } from "./pages-new.tsx";
import type { ForkedFrom } from "./pages-view.tsx";

type Values = { name: string; owner: string; visibility: string };
type ForkState = { values: Values; errors: Record<string, string | undefined>; formError?: string };

const VISIBILITY_WORD: Record<Visibility, string> = { public: "public", unlisted: "unlisted", private: "private" };

/**
 * Where `project` was forked from, as the viewer may know it: the source's owner/slug when they
 * can read it, "private" when they cannot, undefined when it is not a fork (or the source is gone).
 */
export async function forkedFromFor(ctx: Ctx | FormCtx, project: Project): Promise<ForkedFrom | undefined> {
  if (!project.forkedFromId) return undefined;
  const orm = ctx.app.db.orm;
  const { project: source, level } = await projectAccess(orm, ctx.actor, project.forkedFromId);
  if (!source) return undefined;
  if (level === "none") return "private";
  return (await forkSources(orm, [project])).get(source.id);
}

export async function showForkForm(ctx: Ctx | FormCtx, state?: ForkState, status = 200): Promise<Response> {
  const { project } = ctx;
  const user = userOf(ctx.actor);
  const [owners, sourceOwner] = await Promise.all([ownerOptions(ctx, user), ownerHandle(ctx.app.db.orm, project)]);
  const v = state?.values ?? { name: project.name, owner: "", visibility: project.visibility };
  const e = state?.errors ?? {};
  const csrf = ctx.csrf();
  const floor =
    project.visibility === "private"
      ? "The source is private, so the fork stays private."
      : `The source is ${VISIBILITY_WORD[project.visibility]}: the fork can be ${project.visibility === "public" ? "public, unlisted or private" : "unlisted or private"}.`;
  return html(
    doc(
      <Layout title={`Fork · ${project.name}`} actor={ctx.actor} csrf={csrf}>
        <div class="measure centered">
          <div class="page-head">
            <div>
              <h1>Fork {project.name}</h1>
              <p class="muted">
                A new project of yours that starts from{" "}
                <a href={projectUrl(project.id)} class="mono">
                  {sourceOwner}/{project.slug}
                </a>{" "}
                with its full history up to the last saved version. Unsaved edits, environment variables and stars are not copied.
              </p>
            </div>
          </div>
          {state?.formError ? <Flash kind="error">{state.formError}</Flash> : null}
          <form method="post" action={`${projectUrl(project.id)}/fork`} novalidate class="card">
            <input type="hidden" name="_csrf" value={csrf} />
            <OwnerAndName owners={owners} owner={v.owner} name={v.name} errors={e} hint="The address gets -2, -3… when the owner already has one with this name." />
            <p class="hint">{floor}</p>
            <VisibilityField value={v.visibility} error={e.visibility} />
            <div class="form-actions">
              <button type="submit" class="primary">
                Create fork
              </button>
              <a class="btn" href={projectUrl(project.id)}>
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

export async function createFork(ctx: FormCtx): Promise<Response> {
  const values: Values = { name: ctx.body.name ?? "", owner: ctx.body.owner ?? "", visibility: ctx.body.visibility ?? ctx.project.visibility };
  const errors: Record<string, string> = {};
  if (values.name.trim() === "") errors.name = "Give the fork a name.";
  if (!(VISIBILITIES as readonly string[]).includes(values.visibility)) errors.visibility = "Choose private, unlisted or public.";
  if (Object.keys(errors).length > 0) return showForkForm(ctx, { values, errors }, 422);
  try {
    const fork = await forkProject(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, userOf(ctx.actor), {
      name: values.name,
      team: values.owner || undefined,
      visibility: values.visibility as Visibility,
    });
    return redirect(projectUrl(fork.id));
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    const details = e.details ?? {};
    const known = ["name", "visibility"].filter((f) => details[f]);
    if (known.length > 0) return showForkForm(ctx, { values, errors: Object.fromEntries(known.map((f) => [f, details[f]])) }, e.status);
    // Team not found or not allowed to create there: that is the owner field's problem.
    if (e.status === 403 || e.status === 404) return showForkForm(ctx, { values, errors: { owner: e.message } }, e.status);
    return showForkForm(ctx, { values, errors: {}, formError: e.message }, e.status);
  }
}

/** The fork form; add to the route table's pages section. */
export const forkPageRoutes = [
  route({
    method: "GET",
    path: "/projects/:id/fork",
    permission: "project:read",
    signedIn: true,
    kind: "page",
    summary: "Form to fork a project you can read: name, owner (you or a team) and visibility (no more public than the source).",
    tags: ["pages"],
    handler: (ctx) => showForkForm(ctx),
  }),
  route({
    method: "POST",
    path: "/projects/:id/fork",
    permission: "project:read",
    signedIn: true,
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Fork the project with its full saved history; errors are shown beside the fields, success redirects to the fork.",
    tags: ["pages"],
    handler: (ctx) => createFork(ctx),
  }),
];
