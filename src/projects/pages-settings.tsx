/**
 * Project settings (project admins): name, description, visibility, and deleting the
 * project after typing its name.
 */
import type { Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Field, Flash, TextArea } from "../web/forms.tsx";
import { ApiError } from "../lib/errors.ts";
import { actorId } from "../auth/actor.ts";
import type { Visibility } from "../db/schema.ts";
import { deleteProject, ownerHandle, PROJECT_DESCRIPTION_MAX, PROJECT_NAME_MAX, updateProject, VISIBILITIES } from "./projects.ts";
import { projectUrl, VisibilityField } from "./pages-ui.tsx";
import { ProjectHeader } from "./pages-view.tsx";
import { fieldErrors, type FormCtx } from "./pages-project.tsx";

type SettingsState = {
  values?: { name: string; description: string; visibility: string };
  errors?: Record<string, string | undefined>;
  deleteError?: string;
  saved?: boolean;
};

export async function showSettings(ctx: Ctx | FormCtx, state: SettingsState = {}, status = 200): Promise<Response> {
  const { project } = ctx;
  const owner = await ownerHandle(ctx.app.db.orm, project);
  const v = state.values ?? { name: project.name, description: project.description, visibility: project.visibility };
  const e = state.errors ?? {};
  const saved = state.saved ?? ctx.query.saved === "1";
  const csrf = ctx.csrf();
  return html(
    doc(
      <Layout title={`Settings · ${project.name}`} actor={ctx.actor} csrf={csrf} wide>
        <ProjectHeader project={project} owner={owner} canAdmin tab="settings" />
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
              <div class="form-actions">
                <button type="submit" class="primary">
                  Save changes
                </button>
              </div>
            </form>
          </section>
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
  const values = { name: ctx.body.name ?? "", description: ctx.body.description ?? "", visibility: ctx.body.visibility ?? "" };
  if (!(VISIBILITIES as readonly string[]).includes(values.visibility)) {
    return showSettings(ctx, { values, errors: { visibility: "Choose private, unlisted or public." } }, 422);
  }
  try {
    await updateProject(
      ctx.app.db.orm,
      ctx.project,
      { name: values.name, description: values.description.replace(/\r\n?/g, "\n"), visibility: values.visibility as Visibility },
      actorId(ctx.actor),
    );
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
