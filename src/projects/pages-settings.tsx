/**
 * Project settings (project admins): name, description, visibility, whether it is offered as a
 * template, environment variables, and deleting the project after typing its name.
 */
import { projectDomainsCard } from "../admin/pages-deploy.tsx";
import type { Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Field, Flash, TextArea } from "../web/forms.tsx";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { ApiError } from "../lib/errors.ts";
import { actorId } from "../auth/actor.ts";
import type { Visibility } from "../db/schema.ts";
import { deleteProject, ownerHandle, PROJECT_DESCRIPTION_MAX, PROJECT_NAME_MAX, updateProject, VISIBILITIES } from "./projects.ts";
import { projectUrl, RelTime, VisibilityField } from "./pages-ui.tsx";
import { ProjectHeader } from "./pages-view.tsx";
import { fieldErrors, type FormCtx } from "./pages-project.tsx";
import { forkedFromFor } from "./pages-fork.tsx";
import { checkTags, getTags, MAX_TAGS, parseTagInput, setTags } from "./tags.ts";
import { deleteEnv, ENV_NAME_MAX, ENV_NAME_RE, keyRing, listEnv, MASK, setEnv, type EnvVarJson } from "./env.ts";

type EnvFormState = { name: string; value: string; secret: boolean; errors: { env_name?: string; env_value?: string } };

type SettingsState = {
  values?: { name: string; description: string; visibility: string; isTemplate: boolean; tags?: string };
  errors?: Record<string, string | undefined>;
  deleteError?: string;
  saved?: boolean;
  /** The environment-variable form re-shown with its errors. */
  env?: EnvFormState;
};

export async function showSettings(ctx: Ctx | FormCtx, state: SettingsState = {}, status = 200): Promise<Response> {
  const { project } = ctx;
  const owner = await ownerHandle(ctx.app.db.orm, project);
  const v = state.values ?? { name: project.name, description: project.description, visibility: project.visibility, isTemplate: project.isTemplate };
  const e = state.errors ?? {};
  const tagsValue = v.tags ?? (await getTags(ctx.app.db.orm, project.id)).join(", ");
  const saved = state.saved ?? ctx.query.saved === "1";
  const csrf = ctx.csrf();
  const vars = await listEnv(ctx.app.db.orm, keyRing(ctx.app.secret, ctx.app.config.dataDir), project.id);
  const envNote = (key: string) => (ENV_NAME_RE.test(ctx.query[key] ?? "") ? ctx.query[key] : undefined);
  return html(
    doc(
      <Layout title={`Settings · ${project.name}`} actor={ctx.actor} csrf={csrf} wide>
        <ProjectHeader project={project} owner={owner} canAdmin tab="settings" canFork forkedFrom={await forkedFromFor(ctx, project)} />
        <div class="stack measure">
          {saved ? <Flash kind="ok">Settings saved.</Flash> : null}
          <section class="card" aria-labelledby="general-heading">
            <h2 id="general-heading">General</h2>
            <form method="post" action={`${projectUrl(project.id)}/settings`} novalidate>
              <input type="hidden" name="_csrf" value={csrf} />
              <Field
                label="Name"
                name="name"
                value={v.name}
                error={e.name}
                required
                maxlength={PROJECT_NAME_MAX}
                hint={`The address stays ${owner}/${project.slug} when you rename the project.`}
              />
              <TextArea label="Description" name="description" value={v.description} error={e.description} maxlength={PROJECT_DESCRIPTION_MAX} />
              <VisibilityField value={v.visibility} error={e.visibility} />
              <Field
                label="Tags"
                name="tags"
                value={tagsValue}
                error={e.tags}
                maxlength={400}
                hint={`Up to ${MAX_TAGS}, separated by commas or spaces: lowercase letters, digits and dashes (e.g. “game, p5js, week-3”). Public projects can be found by tag on Explore.`}
              />
              <label class="choice">
                <input type="checkbox" name="is_template" value="on" checked={v.isTemplate} />
                <span>
                  <strong>Offer as a template</strong>
                  <span class="muted small">
                    People who can see this project may start new projects from it (“Use this template”). Public templates are listed for everyone on
                    the New project page.
                  </span>
                </span>
              </label>
              <div class="form-actions">
                <button type="submit" class="primary">
                  Save changes
                </button>
              </div>
            </form>
          </section>
          <EnvSection
            projectId={project.id}
            csrf={csrf}
            vars={vars}
            form={state.env}
            savedName={envNote("env_saved")}
            deletedName={envNote("env_deleted")}
          />
          {await projectDomainsCard(ctx)}
          <section class="card danger-zone" aria-labelledby="danger-heading">
            <h2 id="danger-heading">Delete this project</h2>
            <p>
              Deleting removes the project and all of its files for everyone. It cannot be undone. The activity log keeps a record that it existed.
            </p>
            <form method="post" action={`${projectUrl(project.id)}/delete`} novalidate>
              <input type="hidden" name="_csrf" value={csrf} />
              <div class={state.deleteError ? "field has-error" : "field"}>
                <label for="f-confirm">
                  Type <strong class="mono">{project.name}</strong> to confirm
                </label>
                <input
                  id="f-confirm"
                  name="confirm"
                  type="text"
                  autocomplete="off"
                  spellcheck="false"
                  data-confirm-match={project.name}
                  aria-invalid={state.deleteError ? "true" : undefined}
                  aria-describedby={state.deleteError ? "f-confirm-error" : undefined}
                />
                {state.deleteError ? (
                  <p class="field-error" id="f-confirm-error" role="alert">
                    {state.deleteError}
                  </p>
                ) : null}
              </div>
              <button type="submit" class="danger">
                Delete this project
              </button>
            </form>
          </section>
        </div>
      </Layout>,
    ),
    status,
  );
}

export async function saveSettings(ctx: FormCtx): Promise<Response> {
  // An unticked checkbox is not sent at all: absent means "not a template".
  const base = { name: ctx.body.name ?? "", description: ctx.body.description ?? "", visibility: ctx.body.visibility ?? "", isTemplate: ctx.body.is_template === "on" };
  // Absent (a client that does not know the field) leaves the tags as they are.
  const tagInput = ctx.body.tags;
  const values = { ...base, ...(tagInput !== undefined ? { tags: tagInput } : {}) };
  if (!(VISIBILITIES as readonly string[]).includes(values.visibility)) {
    return showSettings(ctx, { values, errors: { visibility: "Choose private, unlisted or public." } }, 422);
  }
  const tags = tagInput !== undefined ? checkTags(parseTagInput(tagInput)) : undefined;
  if (tags && "error" in tags) return showSettings(ctx, { values, errors: { tags: tags.error } }, 422);
  try {
    const updated = await updateProject(
      ctx.app.db.orm,
      ctx.project,
      { name: values.name, description: values.description.replace(/\r\n?/g, "\n"), visibility: values.visibility as Visibility, isTemplate: values.isTemplate },
      actorId(ctx.actor),
    );
    if (tags) await setTags(ctx.app.db.orm, updated, tags.tags, actorId(ctx.actor));
  } catch (e) {
    if (e instanceof ApiError && e.status < 500) {
      return showSettings(ctx, { values, errors: fieldErrors(e, ["name", "description", "visibility"], "name") }, e.status);
    }
    throw e;
  }
  return redirect(`${projectUrl(ctx.project.id)}/settings?saved=1`);
}

export async function removeProject(ctx: FormCtx): Promise<Response> {
  if ((ctx.body.confirm ?? "") !== ctx.project.name) {
    return showSettings(ctx, { deleteError: "Type the project's name exactly as shown to delete it." }, 422);
  }
  await deleteProject(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, actorId(ctx.actor));
  return redirect("/");
}

/** Adds or replaces a variable from the settings form; errors are shown beside the fields (422). */
export async function saveEnvVar(ctx: FormCtx): Promise<Response> {
  const name = (ctx.body.env_name ?? "").trim();
  // Browsers send textarea line breaks as CRLF; a variable keeps the text as typed, with LF.
  const value = (ctx.body.env_value ?? "").replace(/\r\n?/g, "\n");
  const secret = ctx.body.env_secret === "on";
  try {
    await setEnv(ctx.app.db.orm, ctx.app.secret, ctx.project, name, { value, secret }, actorId(ctx.actor));
  } catch (e) {
    if (e instanceof ApiError && e.status < 500) {
      const errors = fieldErrors(e, ["name", "value"], "name");
      return showSettings(ctx, { env: { name, value, secret, errors: { env_name: errors.name, env_value: errors.value } } }, 422);
    }
    throw e;
  }
  return redirect(`${projectUrl(ctx.project.id)}/settings?env_saved=${encodeURIComponent(name)}#env`);
}

/** Deletes a variable; one already gone counts as deleted (a repeated click is not an error). */
export async function removeEnvVar(ctx: FormCtx): Promise<Response> {
  const name = ctx.params.name ?? "";
  try {
    await deleteEnv(ctx.app.db.orm, ctx.project, name, actorId(ctx.actor));
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  return redirect(`${projectUrl(ctx.project.id)}/settings?env_deleted=${encodeURIComponent(name)}#env`);
}

/** The list shows one line per value (CSS ellipsizes it); very long ones are cut here to keep the page small. */
const ENV_SHOWN_CHARS = 200;

function shownValue(v: EnvVarJson): Html {
  if (v.secret) return <span title="Secret: the value is never shown">{MASK}</span>;
  if (v.unreadable) return <span class="badge off">Cannot be decrypted — set it again</span>;
  if (v.value === "") return <span class="muted">(empty)</span>;
  return <span class="mono">{v.value.length > ENV_SHOWN_CHARS ? v.value.slice(0, ENV_SHOWN_CHARS) + "…" : v.value}</span>;
}

/** The environment-variables card: the table (secret values masked) and the add/replace form. */
function EnvSection(p: { projectId: string; csrf: string; vars: EnvVarJson[]; form?: EnvFormState; savedName?: string; deletedName?: string }): Html {
  const base = `${projectUrl(p.projectId)}/settings/env`;
  const f = p.form ?? { name: "", value: "", secret: true, errors: {} };
  // A secret typed into a form that failed is not sent back into the page.
  const echoedValue = f.secret ? "" : f.value;
  return (
    <section class="card stack" id="env" aria-labelledby="env-heading">
      <h2 id="env-heading">Environment variables</h2>
      <p class="muted">
        Given to the project's deployments. Every value is encrypted at rest; secret values are never shown again once saved.
      </p>
      {p.savedName ? <Flash kind="ok">Saved {p.savedName}.</Flash> : null}
      {p.deletedName ? <Flash kind="ok">Deleted {p.deletedName}.</Flash> : null}
      {p.vars.length === 0 ? (
        <p class="muted">No variables yet.</p>
      ) : (
        <ul class="entity-list" aria-label="Variables">
          {p.vars.map((v) => (
            <li>
              <div class="grow">
                <span>
                  <span class="mono">{v.name}</span> {v.secret ? <span class="badge">secret</span> : null}
                </span>
                <span class="small">{shownValue(v)}</span>
              </div>
              <span class="muted small">
                <RelTime at={Date.parse(v.updatedAt)} />
              </span>
              <form method="post" action={`${base}/${encodeURIComponent(v.name)}/delete`} class="inline" data-confirm={`Delete ${v.name}? Deployments will no longer get it.`}>
                <input type="hidden" name="_csrf" value={p.csrf} />
                <button type="submit" class="danger small">
                  Delete<span class="visually-hidden"> {v.name}</span>
                </button>
              </form>
            </li>
          ))}
        </ul>
      )}
      <h3 id="env-form-heading">Add or replace a variable</h3>
      <form method="post" action={base} novalidate aria-labelledby="env-form-heading">
        <input type="hidden" name="_csrf" value={p.csrf} />
        <Field
          label="Name"
          name="env_name"
          value={f.name}
          error={f.errors.env_name}
          required
          maxlength={ENV_NAME_MAX}
          autocomplete="off"
          hint="Capital letters, digits and underscores, like DATABASE_URL. Saving an existing name replaces its value."
        />
        <TextArea label="Value" name="env_value" value={echoedValue} error={f.errors.env_value ?? (p.form && f.secret ? "For safety the secret value was not kept; enter it again." : undefined)} rows={3} />
        <label class="choice">
          <input type="checkbox" name="env_secret" value="on" checked={f.secret} />
          <span>
            <strong>Secret</strong>
            <span class="muted small">Mask the value in listings. Only deployments can read it.</span>
          </span>
        </label>
        <div class="form-actions">
          <button type="submit" class="primary">
            Save variable
          </button>
        </div>
      </form>
    </section>
  );
}
