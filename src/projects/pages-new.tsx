/**
 * New project (`/new`): name, description, visibility, owner — the user or one of the teams
 * where they may create projects (owner, maintainer, member) — and what it starts from: blank,
 * a built-in template, or a project marked as template that the user can read
 * (`/new?template=<id>` preselects one, e.g. from a "Use this template" link).
 */
import type { Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Field, Flash, Select, TextArea } from "../web/forms.tsx";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { ApiError } from "../lib/errors.ts";
import type { User, Visibility } from "../db/schema.ts";
import { listTeamsForUser } from "../teams/teams.ts";
import { createProject, ownerHandles, PROJECT_DESCRIPTION_MAX, PROJECT_NAME_MAX, VISIBILITIES } from "./projects.ts";
import { builtInJson, builtInTemplate, builtInTemplates, createFromTemplate, listProjectTemplates, readableTemplate, type TemplateJson } from "./templates.ts";
import { projectUrl, userOf, VisibilityBadge, VisibilityField } from "./pages-ui.tsx";
import type { FormCtx } from "./pages-project.tsx";

type Values = { name: string; description: string; visibility: string; owner: string; template: string };
/** The "Import from a git URL" form's values and errors (its fields are git_url, git_name, git_owner). */
export type GitImportState = { values: { git_url: string; git_name: string; git_owner: string }; errors: Record<string, string | undefined> };
type NewState = { values: Values; errors: Record<string, string | undefined>; formError?: string };
type Choice = TemplateJson & { visibility?: Visibility };

/** The owner select and the project name, side by side: shared by the new-project and fork forms. */
export function OwnerAndName(p: { owners: [string, string][]; owner: string; name: string; errors: Record<string, string | undefined>; hint: string }): Html {
  return (
    <div class="row owner-name">
      <Select label="Owner" name="owner" options={p.owners} value={p.owner} error={p.errors.owner} />
      <div class="grow">
        <Field label="Project name" name="name" value={p.name} error={p.errors.name} required autofocus maxlength={PROJECT_NAME_MAX} hint={p.hint} />
      </div>
    </div>
  );
}

/** Who a new project (or a fork) may belong to: the user, then teams where they may create (not as viewer). */
export async function ownerOptions(ctx: Ctx | FormCtx, user: User): Promise<[string, string][]> {
  const teams = await listTeamsForUser(ctx.app.db.orm, user.id);
  return [
    ["", `${user.username} (you)`],
    ...teams.filter((t) => t.role !== "viewer").map((t): [string, string] => [t.id, `${t.name} (team ${t.slug})`]),
  ];
}

/** Project templates the user can see listed, plus the one asked for by id when it is readable but unlisted. */
async function projectTemplateChoices(ctx: Ctx | FormCtx, user: User, wanted: string): Promise<Choice[]> {
  const orm = ctx.app.db.orm;
  const list = await listProjectTemplates(orm, user);
  if (wanted && !builtInTemplates().some((t) => t.id === wanted) && !list.some((p) => p.id === wanted)) {
    const extra = await readableTemplate(orm, user, wanted);
    if (extra) list.unshift(extra);
  }
  const handles = await ownerHandles(orm, list);
  return list.map((p) => ({ id: p.id, name: p.name, description: p.description, tags: [], builtIn: false, owner: handles.get(p.id) ?? "", slug: p.slug, visibility: p.visibility }));
}

function TemplateChoice(p: { choice: Choice; checked: boolean }): Html {
  const c = p.choice;
  return (
    <label class="choice">
      <input type="radio" name="template" value={c.id} checked={p.checked} />
      <span>
        <strong>{c.name}</strong>
        {c.owner ? (
          <span class="row">
            <span class="muted small mono">
              {c.owner}/{c.slug}
            </span>
            {c.visibility ? <VisibilityBadge visibility={c.visibility} /> : null}
          </span>
        ) : null}
        {c.description ? <span class="muted small">{c.description}</span> : null}
        {c.tags.length > 0 ? (
          <span class="row">
            {c.tags.map((t) => (
              <span class="badge">{t}</span>
            ))}
          </span>
        ) : null}
      </span>
    </label>
  );
}

/** Radio cards: blank, the built-ins, then project templates; the error sits beside the group. */
function TemplateField(p: { value: string; error?: string; projectTemplates: Choice[] }): Html {
  const blank: Choice = { id: "", name: "Blank project", description: "Start empty and add your own files.", tags: [], builtIn: true };
  return (
    <fieldset class={p.error ? "field has-error" : "field"} aria-describedby={p.error ? "f-template-error" : undefined}>
      <legend>Start from</legend>
      <div class="choices">
        <div class="grid">
          {[blank, ...builtInTemplates().map(builtInJson)].map((c) => (
            <TemplateChoice choice={c} checked={p.value === c.id} />
          ))}
        </div>
        {p.projectTemplates.length > 0 ? (
          <>
            <p class="hint">Templates made by people on this server</p>
            <div class="grid">
              {p.projectTemplates.map((c) => (
                <TemplateChoice choice={c} checked={p.value === c.id} />
              ))}
            </div>
          </>
        ) : null}
      </div>
      {p.error ? (
        <p class="field-error" id="f-template-error" role="alert">
          {p.error}
        </p>
      ) : null}
    </fieldset>
  );
}

/**
 * Importing a public git repository, when the admin allowed hosts (WOVE_IMPORT_GIT_ALLOW);
 * otherwise a line saying it is off, so nobody hunts for it. Archives are imported over the API.
 */
function ImportSection(p: { enabled: boolean; csrf: string; owners: [string, string][]; state?: GitImportState }): Html {
  const v = p.state?.values ?? { git_url: "", git_name: "", git_owner: "" };
  const e = p.state?.errors ?? {};
  return (
    <section class="card" id="import" aria-labelledby="import-title">
      <h2 id="import-title">Import</h2>
      <p class="muted small">
        A zip or tarball can be imported with <code>POST /api/v1/projects/import?name=…</code> (see the <a href="/api/docs">API docs</a>).
      </p>
      {p.enabled ? (
        <form method="post" action="/new/import-git" novalidate>
          <input type="hidden" name="_csrf" value={p.csrf} />
          <Field
            label="Git repository URL"
            name="git_url"
            type="url"
            value={v.git_url}
            error={e.git_url}
            required
            placeholder="https://github.com/owner/repo.git"
            hint="A public repository over https. Its default branch becomes the project, with all its history."
          />
          <div class="row owner-name">
            <Select label="Owner" name="git_owner" options={p.owners} value={v.git_owner} error={e.git_owner} />
            <div class="grow">
              <Field label="Project name (optional)" name="git_name" value={v.git_name} error={e.git_name} maxlength={PROJECT_NAME_MAX} hint="Defaults to the repository's name." />
            </div>
          </div>
          <p class="hint">The project starts private; change that in its settings.</p>
          <div class="form-actions">
            <button type="submit">Import repository</button>
          </div>
        </form>
      ) : (
        <p class={e.git_url ? "field-error" : "muted small"} role={e.git_url ? "alert" : undefined}>
          {e.git_url ?? "Importing from a git URL is turned off on this server; an admin can allow it."}
        </p>
      )}
    </section>
  );
}

export async function showNewProject(ctx: Ctx | FormCtx, state?: NewState, status = 200, gitImport?: GitImportState): Promise<Response> {
  const user = userOf(ctx.actor);
  const owners = await ownerOptions(ctx, user);
  const query = (k: string) => (typeof ctx.query[k] === "string" ? (ctx.query[k] as string) : "");
  const wanted = query("team");
  const v = state?.values ?? {
    name: "",
    description: "",
    visibility: "private",
    owner: owners.some(([id]) => id === wanted) ? wanted : "",
    template: query("template").trim(),
  };
  const projectTemplates = await projectTemplateChoices(ctx, user, v.template);
  if (!state && v.template && !builtInTemplates().some((t) => t.id === v.template) && !projectTemplates.some((t) => t.id === v.template)) v.template = "";
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
            <OwnerAndName owners={owners} owner={v.owner} name={v.name} errors={e} hint="Its address is made from the name, e.g. “My App” → my-app." />
            <TextArea label="Description (optional)" name="description" value={v.description} error={e.description} maxlength={PROJECT_DESCRIPTION_MAX} />
            <TemplateField value={v.template} error={e.template} projectTemplates={projectTemplates} />
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
          <ImportSection enabled={ctx.app.config.importGitAllow.length > 0} csrf={csrf} owners={owners} state={gitImport} />
        </div>
      </Layout>,
    ),
    status,
  );
}

export async function createNewProject(ctx: FormCtx): Promise<Response> {
  const user = userOf(ctx.actor);
  const values: Values = {
    name: ctx.body.name ?? "",
    description: (ctx.body.description ?? "").replace(/\r\n?/g, "\n"),
    visibility: ctx.body.visibility ?? "private",
    owner: ctx.body.owner ?? "",
    template: (ctx.body.template ?? "").trim(),
  };
  const errors: Record<string, string> = {};
  if (values.name.trim() === "") errors.name = "Give the project a name.";
  if (!(VISIBILITIES as readonly string[]).includes(values.visibility)) errors.visibility = "Choose private, unlisted or public.";
  if (Object.keys(errors).length > 0) {
    // Report a bad template choice in the same round as the other fields.
    if (values.template && !builtInTemplate(values.template) && !(await readableTemplate(ctx.app.db.orm, user, values.template))) {
      errors.template = "That template is not available; pick another.";
    }
    return showNewProject(ctx, { values, errors }, 422);
  }
  try {
    const fields = {
      name: values.name,
      description: values.description,
      visibility: values.visibility as Visibility,
      team: values.owner || undefined,
    };
    const orm = ctx.app.db.orm;
    const dataDir = ctx.app.config.dataDir;
    const project = values.template ? await createFromTemplate(orm, dataDir, user, { ...fields, template: values.template }) : await createProject(orm, dataDir, user, fields);
    return redirect(projectUrl(project.id));
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    const details = e.details ?? {};
    const known = ["name", "description", "visibility", "template"].filter((f) => details[f]);
    if (known.length > 0) return showNewProject(ctx, { values, errors: Object.fromEntries(known.map((f) => [f, details[f]])) }, e.status);
    // Team not found or not allowed to create there: that is the owner field's problem.
    if (e.status === 403 || e.status === 404) return showNewProject(ctx, { values, errors: { owner: e.message } }, e.status);
    return showNewProject(ctx, { values, errors: {}, formError: e.message }, e.status);
  }
}
