/**
 * New project (`/new`): name, description, visibility and owner — the user or one of the
 * teams where they may create projects (owner, maintainer, member).
 */
import type { Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Field, Flash, Select, TextArea } from "../web/forms.tsx";
import { ApiError } from "../lib/errors.ts";
import type { User, Visibility } from "../db/schema.ts";
import { listTeamsForUser } from "../teams/teams.ts";
import { createProject, PROJECT_DESCRIPTION_MAX, PROJECT_NAME_MAX, VISIBILITIES } from "./projects.ts";
import { projectUrl, userOf, VisibilityField } from "./pages-ui.tsx";
import type { FormCtx } from "./pages-project.tsx";

type NewState = { values: { name: string; description: string; visibility: string; owner: string }; errors: Record<string, string | undefined>; formError?: string };

async function ownerOptions(ctx: Ctx | FormCtx, user: User): Promise<[string, string][]> {
  const teams = await listTeamsForUser(ctx.app.db.orm, user.id);
  return [
    ["", `${user.username} (you)`],
    ...teams.filter((t) => t.role !== "viewer").map((t): [string, string] => [t.id, `${t.name} (team ${t.slug})`]),
  ];
}

export async function showNewProject(ctx: Ctx | FormCtx, state?: NewState, status = 200): Promise<Response> {
  const user = userOf(ctx.actor);
  const owners = await ownerOptions(ctx, user);
  const wanted = typeof ctx.query.team === "string" ? ctx.query.team : "";
  const v = state?.values ?? { name: "", description: "", visibility: "private", owner: owners.some(([id]) => id === wanted) ? wanted : "" };
  const e = state?.errors ?? {};
  const csrf = ctx.csrf();
  return html(
    doc(
      <Layout title="New project" actor={ctx.actor} csrf={csrf}>
        <div class="measure centered">
          <div class="page-head">
            <div>
              <h1>Create a new project</h1>
              <p class="muted">A project holds files you can edit in the browser, share with your team and deploy.</p>
            </div>
          </div>
          {state?.formError ? <Flash kind="error">{state.formError}</Flash> : null}
          <form method="post" action="/new" novalidate class="card">
            <input type="hidden" name="_csrf" value={csrf} />
            <div class="row owner-name">
              <Select label="Owner" name="owner" options={owners} value={v.owner} error={e.owner} />
              <div class="grow">
                <Field
                  label="Project name"
                  name="name"
                  value={v.name}
                  error={e.name}
                  required
                  autofocus
                  maxlength={PROJECT_NAME_MAX}
                  hint="Its address is made from the name, e.g. “My App” → my-app."
                />
              </div>
            </div>
            <TextArea label="Description (optional)" name="description" value={v.description} error={e.description} maxlength={PROJECT_DESCRIPTION_MAX} />
            <VisibilityField value={v.visibility} error={e.visibility} />
            <div class="form-actions">
              <button type="submit" class="primary">
                Create project
              </button>
              <a class="btn" href="/">
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

export async function createNewProject(ctx: FormCtx): Promise<Response> {
  const user = userOf(ctx.actor);
  const values = {
    name: ctx.body.name ?? "",
    description: (ctx.body.description ?? "").replace(/\r\n?/g, "\n"),
    visibility: ctx.body.visibility ?? "private",
    owner: ctx.body.owner ?? "",
  };
  const errors: Record<string, string> = {};
  if (values.name.trim() === "") errors.name = "Give the project a name.";
  if (!(VISIBILITIES as readonly string[]).includes(values.visibility)) errors.visibility = "Choose private, unlisted or public.";
  if (Object.keys(errors).length > 0) return showNewProject(ctx, { values, errors }, 422);
  try {
    const project = await createProject(ctx.app.db.orm, ctx.app.config.dataDir, user, {
      name: values.name,
      description: values.description,
      visibility: values.visibility as Visibility,
      team: values.owner || undefined,
    });
    return redirect(projectUrl(project.id));
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    const details = e.details ?? {};
    const known = ["name", "description", "visibility"].filter((f) => details[f]);
    if (known.length > 0) return showNewProject(ctx, { values, errors: Object.fromEntries(known.map((f) => [f, details[f]])) }, e.status);
    // Team not found or not allowed to create there: that is the owner field's problem.
    if (e.status === 403 || e.status === 404) return showNewProject(ctx, { values, errors: { owner: e.message } }, e.status);
    return showNewProject(ctx, { values, errors: {}, formError: e.message }, e.status);
  }
}
