/**
 * Writing a prompt: `/prompts/new` and `/prompts/:prompt/edit` (each save of a changed text is a
 * new version, with a note saying what changed).
 *
 * The variables section lists the `{{variables}}` the text uses, each with a description and
 * an optional default. It follows the text: without JavaScript, "Update variables" sends the
 * form back to be drawn again (nothing is saved); with htmx, typing in the text asks
 * `POST /prompts/variables` for the section alone. What was typed into a variable's fields is
 * carried over as long as the text still uses it.
 */
import type { Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { Field, Flash, Form, TextArea } from "../web/forms.tsx";
import { render, type Html } from "../web/jsx/jsx-runtime.ts";
import { forbidden } from "../lib/errors.ts";
import { userOf } from "../projects/pages-ui.tsx";
import { listTeamsForUser } from "../teams/teams.ts";
import { createPrompt, DESCRIPTION_MAX, editPrompt, getVersion, NAME_MAX, NOTE_MAX } from "./prompts.ts";
import { getVisiblePrompt, PROMPT_VISIBILITIES, type PromptSummary, type PromptVisibility } from "./prompts-search.ts";
import { detectVariables, normalizeText, VARIABLE_DEFAULT_MAX, VARIABLE_DESCRIPTION_MAX, type PromptVariable } from "./prompt-template.ts";
import { diffUrl, editUrl, fieldErrors, PromptHead, promptPage, promptUrl, VISIBILITY_HELP, VISIBILITY_LABEL, type Errors, type FormCtx } from "./pages-prompts-ui.tsx";

export type PromptFormValues = {
  name: string;
  description: string;
  body: string;
  visibility: string;
  team: string;
  note: string;
  baseVersion: string;
  /** What the form says about each variable, by name. */
  vars: Map<string, { description: string; default: string }>;
};

type TeamChoice = { id: string; name: string };

const descField = (name: string) => `var.${name}.description`;
const defaultField = (name: string) => `var.${name}.default`;

export function readPromptForm(body: Record<string, string>): PromptFormValues {
  const text = normalizeText(body.body ?? "");
  const vars = new Map<string, { description: string; default: string }>();
  for (const name of detectVariables(text)) {
    const description = body[descField(name)];
    const dflt = body[defaultField(name)];
    if (description !== undefined || dflt !== undefined) vars.set(name, { description: description ?? "", default: normalizeText(dflt ?? "") });
  }
  return {
    name: body.name ?? "",
    description: body.description ?? "",
    body: text,
    visibility: body.visibility ?? "private",
    team: body.team ?? "",
    note: body.note ?? "",
    baseVersion: body.baseVersion ?? "",
    vars,
  };
}

/** The variables the form describes, for the service: an empty default field means "no default" (required). */
function formVariables(v: PromptFormValues): PromptVariable[] {
  return [...v.vars].map(([name, f]) => ({ name, description: f.description, ...(f.default !== "" ? { default: f.default } : {}) }));
}

function visibilityOf(raw: string): PromptVisibility | undefined {
  return PROMPT_VISIBILITIES.find((v) => v === raw);
}

export function VariablesSection(p: { values: PromptFormValues; errors: Errors }): Html {
  const names = detectVariables(p.values.body);
  return (
    <fieldset id="prompt-variables" class="prompt-vars" aria-describedby="prompt-vars-hint">
      <legend>Variables</legend>
      <p class="hint" id="prompt-vars-hint">
        Write <code>{"{{name}}"}</code> in the text where a value goes (letters, digits and _). Describe each one for whoever fills it in; with a default it may be left out.
      </p>
      {p.errors.variables ? (
        <p class="field-error" id="f-variables-error" role="alert">
          {p.errors.variables}
        </p>
      ) : null}
      {names.length === 0 ? (
        <p class="muted small">This prompt has no variables yet.</p>
      ) : (
        <ul class="prompt-var-list">
          {names.map((name) => {
            const f = p.values.vars.get(name) ?? { description: "", default: "" };
            const error = p.errors[`variables.${name}`];
            const id = `f-var-${name}`;
            return (
              <li class={error ? "prompt-var has-error" : "prompt-var"}>
                <p class="prompt-var-name">
                  <code>{`{{${name}}}`}</code>
                </p>
                <div class="prompt-var-fields">
                  <div class="field">
                    <label for={`${id}-description`}>
                      Description <span class="visually-hidden">of {name}</span>
                    </label>
                    <input id={`${id}-description`} type="text" name={descField(name)} value={f.description} maxlength={VARIABLE_DESCRIPTION_MAX} aria-invalid={error ? "true" : undefined} />
                  </div>
                  <div class="field">
                    <label for={`${id}-default`}>
                      Default <span class="visually-hidden">of {name}</span> (optional)
                    </label>
                    <input id={`${id}-default`} type="text" name={defaultField(name)} value={f.default} maxlength={VARIABLE_DEFAULT_MAX} />
                  </div>
                </div>
                {error ? (
                  <p class="field-error" role="alert">
                    {error}
                  </p>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </fieldset>
  );
}

function SharingField(p: { values: PromptFormValues; errors: Errors; teams: TeamChoice[] }): Html {
  const e = p.errors.visibility ?? p.errors.team;
  return (
    <fieldset class={e ? "field has-error" : "field"} aria-describedby={e ? "f-visibility-error" : undefined}>
      <legend>Who can see it</legend>
      <div class="choices">
        {PROMPT_VISIBILITIES.map((v) => (
          <label class="choice">
            <input type="radio" name="visibility" value={v} checked={p.values.visibility === v} />
            <span>
              <strong>{VISIBILITY_LABEL[v]}</strong>
              <span class="muted small">{VISIBILITY_HELP[v]}</span>
            </span>
          </label>
        ))}
      </div>
      <div class="field prompt-team-field">
        <label for="f-team">Team (for team sharing)</label>
        <select id="f-team" name="team" aria-invalid={p.errors.team ? "true" : undefined}>
          <option value="">{p.teams.length > 0 ? "Choose a team" : "You are not in a team"}</option>
          {p.teams.map((t) => (
            <option value={t.id} selected={t.id === p.values.team}>
              {t.name}
            </option>
          ))}
        </select>
      </div>
      {e ? (
        <p class="field-error" id="f-visibility-error" role="alert">
          {e}
        </p>
      ) : null}
    </fieldset>
  );
}

function PromptForm(p: { action: string; csrf: string; values: PromptFormValues; errors: Errors; teams: TeamChoice[]; editing: boolean; cancel: string }): Html {
  const { values: v, errors: e } = p;
  return (
    <Form action={p.action} csrf={p.csrf} class="prompt-form measure" id="prompt-form">
      {p.editing ? <input type="hidden" name="baseVersion" value={v.baseVersion} /> : null}
      <Field label="Name" name="name" value={v.name} error={e.name} required maxlength={NAME_MAX} autofocus={!p.editing} />
      <TextArea label="Description (optional)" name="description" value={v.description} error={e.description} rows={2} maxlength={DESCRIPTION_MAX} />
      <div class={e.body ? "field has-error" : "field"}>
        <label for="f-body">Prompt text</label>
        <textarea
          id="f-body"
          name="body"
          rows={12}
          class="code-input"
          spellcheck="true"
          aria-invalid={e.body ? "true" : undefined}
          aria-describedby={e.body ? "f-body-hint f-body-error" : "f-body-hint"}
          hx-post="/prompts/variables"
          hx-trigger="input changed delay:400ms"
          hx-target="#prompt-variables"
          hx-swap="outerHTML"
          hx-include="#prompt-form"
          hx-sync="this:replace"
        >
          {v.body}
        </textarea>
        <p class="hint" id="f-body-hint">
          Up to 32 KiB. Example: <code>{"Explain this {{language}} code to a beginner: {{code}}"}</code>
        </p>
        {e.body ? (
          <p class="field-error" id="f-body-error" role="alert">
            {e.body}
          </p>
        ) : null}
      </div>
      <VariablesSection values={v} errors={e} />
      <div class="form-actions prompt-detect">
        <button type="submit" name="action" value="detect" class="small">
          Update variables from the text
        </button>
      </div>
      <SharingField values={v} errors={e} teams={p.teams} />
      {p.editing ? <Field label="What changed (optional)" name="note" value={v.note} error={e.note} maxlength={NOTE_MAX} hint="Shown in the version history." /> : null}
      <div class="form-actions">
        <button type="submit" class="primary">
          {p.editing ? "Save new version" : "Create prompt"}
        </button>
        <a class="btn" href={p.cancel}>
          Cancel
        </a>
      </div>
    </Form>
  );
}

async function teamChoices(ctx: Ctx | FormCtx, also?: PromptSummary): Promise<TeamChoice[]> {
  const teams: TeamChoice[] = (await listTeamsForUser(ctx.app.db.orm, userOf(ctx.actor).id)).map((t) => ({ id: t.id, name: t.name }));
  // Still shared with a team the owner has left: keep it choosable, so saving does not change the sharing.
  if (also?.teamId && also.teamName && !teams.some((t) => t.id === also.teamId)) teams.push({ id: also.teamId, name: also.teamName });
  return teams;
}

const EMPTY: PromptFormValues = { name: "", description: "", body: "", visibility: "private", team: "", note: "", baseVersion: "", vars: new Map() };

async function showNew(ctx: Ctx | FormCtx, values: PromptFormValues = EMPTY, errors: Errors = {}, status = 200): Promise<Response> {
  return promptPage(
    ctx,
    "New prompt",
    <>
      <div class="page-head">
        <div>
          <nav aria-label="Breadcrumb" class="breadcrumbs small">
            <a href="/prompts">Prompts</a>
          </nav>
          <h1>New prompt</h1>
          <p class="muted">A reusable prompt for the assistant, with variables to fill in each time.</p>
        </div>
      </div>
      <PromptForm action="/prompts/new" csrf={ctx.csrf()} values={values} errors={errors} teams={await teamChoices(ctx)} editing={false} cancel="/prompts" />
    </>,
    status,
  );
}

async function createFromForm(ctx: FormCtx): Promise<Response> {
  const values = readPromptForm(ctx.body);
  if (ctx.body.action === "detect") return showNew(ctx, values);
  try {
    const p = await createPrompt(ctx.app.db.orm, userOf(ctx.actor), {
      name: values.name,
      description: values.description,
      body: values.body,
      variables: formVariables(values),
      visibility: visibilityOf(values.visibility),
      team: values.team || null,
    });
    return redirect(promptUrl(p.id));
  } catch (e) {
    const f = fieldErrors(e);
    return showNew(ctx, values, f.errors, f.status);
  }
}

async function ownPrompt(ctx: Ctx | FormCtx): Promise<PromptSummary> {
  const prompt = await getVisiblePrompt(ctx.app.db.orm, userOf(ctx.actor).id, ctx.params.prompt ?? "");
  if (prompt.ownerId !== userOf(ctx.actor).id) throw forbidden("Only the prompt's owner can edit it. Copy it to make your own.");
  return prompt;
}

async function showEdit(ctx: Ctx | FormCtx, prompt: PromptSummary, values?: PromptFormValues, errors: Errors = {}, status = 200, flash?: Html): Promise<Response> {
  let v = values;
  if (!v) {
    const current = await getVersion(ctx.app.db.orm, prompt, prompt.currentVersion);
    v = {
      name: prompt.name,
      description: prompt.description,
      body: current.body,
      visibility: prompt.visibility,
      team: prompt.teamId ?? "",
      note: "",
      baseVersion: String(prompt.currentVersion),
      vars: new Map(current.variables.map((x) => [x.name, { description: x.description, default: x.default ?? "" }])),
    };
  }
  return promptPage(
    ctx,
    `Edit ${prompt.name}`,
    <>
      <PromptHead prompt={prompt} current="edit" title={`Edit “${prompt.name}”`} />
      {flash ?? null}
      <PromptForm action={editUrl(prompt.id)} csrf={ctx.csrf()} values={v} errors={errors} teams={await teamChoices(ctx, prompt)} editing cancel={promptUrl(prompt.id)} />
    </>,
    status,
  );
}

async function saveEdit(ctx: FormCtx): Promise<Response> {
  const prompt = await ownPrompt(ctx);
  const values = readPromptForm(ctx.body);
  if (ctx.body.action === "detect") return showEdit(ctx, prompt, values);
  const base = /^[1-9][0-9]*$/.test(values.baseVersion) ? Number(values.baseVersion) : undefined;
  try {
    await editPrompt(ctx.app.db.orm, userOf(ctx.actor), prompt.id, {
      name: values.name,
      description: values.description,
      body: values.body,
      variables: formVariables(values),
      visibility: visibilityOf(values.visibility),
      team: values.team || null,
      note: values.note,
      baseVersion: base,
    });
    return redirect(promptUrl(prompt.id));
  } catch (e) {
    const f = fieldErrors(e);
    if (f.status !== 409 || base === undefined) return showEdit(ctx, prompt, values, f.errors, f.status);
    // Someone saved a version since this form was opened: keep the text typed here, show what changed, and let a second save go over it.
    const fresh = await getVisiblePrompt(ctx.app.db.orm, userOf(ctx.actor).id, prompt.id);
    const flash = (
      <Flash kind="error">
        Version {fresh.currentVersion} was saved after version {base}, which you were editing. <a href={diffUrl(prompt.id, base, fresh.currentVersion)}>See what changed</a>. Your text is kept below; save again
        to make it version {fresh.currentVersion + 1}.
      </Flash>
    );
    return showEdit(ctx, fresh, { ...values, baseVersion: String(fresh.currentVersion) }, {}, 409, flash);
  }
}

/** The variables section alone, for htmx as the text is typed. */
function variablesFragment(ctx: FormCtx): Response {
  return html(render(<VariablesSection values={readPromptForm(ctx.body)} errors={{}} />));
}

export const promptFormHandlers = {
  showNew: (ctx: Ctx) => showNew(ctx),
  createFromForm,
  showEdit: async (ctx: Ctx) => showEdit(ctx, await ownPrompt(ctx)),
  saveEdit,
  variablesFragment,
};
