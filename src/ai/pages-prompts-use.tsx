/**
 * "Use in chat", `/prompts/:prompt/use[?v=N]`: a form with one field per variable. Filling it in
 * records a use of that version and comes back (303) to the same page with the filled-in text,
 * a copy button, links that open a project's IDE with the prompt in the assistant panel, and
 * thumbs up/down for that use.
 *
 * The values travel in the address (`var.<name>=…`), so the result page can be reloaded and the
 * assistant link carries them: `/projects/<id>/ide?prompt=<promptId>&v=<version>&use=<useId>&var.<name>=<value>…`.
 * The chat panel renders it through `POST /api/v1/prompts/:prompt/render {version, variables, useId}`,
 * which does not count the use twice.
 */
import type { Ctx } from "../server/guard.ts";
import { redirect, safeNext } from "../server/http.ts";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { ApiError, badRequest } from "../lib/errors.ts";
import { Flash, Form } from "../web/forms.tsx";
import { listProjectsForUser } from "../projects/projects.ts";
import { projectUrl, userOf } from "../projects/pages-ui.tsx";
import { getUse, getVersion, listVersions, setUseFeedback, usePrompt, type PromptUse, type PromptVersion } from "./prompts.ts";
import { getVisiblePrompt, type PromptSummary } from "./prompts-search.ts";
import { isRequired, renderTemplate } from "./prompt-template.ts";
import { PromptHead, promptPage, promptUrl, useUrl, type Errors, type FormCtx } from "./pages-prompts-ui.tsx";

/** Beyond this the address would pass Bun's 16 KiB request-head limit along the way; such values go through the API. */
const LINK_MAX = 8000;
const PROJECT_LINKS = 8;

const field = (name: string) => `var.${name}`;

function versionParam(raw: string | undefined): number | undefined {
  return raw && /^[1-9][0-9]{0,8}$/.test(raw) ? Number(raw) : undefined;
}

/** `v=…&use=…&var.x=…` for the result page and the assistant link. */
export function useQuery(version: number, useId: number, values: Record<string, string>): string {
  const q = new URLSearchParams({ v: String(version), use: String(useId) });
  for (const [k, v] of Object.entries(values)) q.set(field(k), v);
  return q.toString();
}

/** What each variable's field holds: from the request when it says, else the default. */
function valuesFrom(version: PromptVersion, source: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of version.variables) out[v.name] = source[field(v.name)] ?? v.default ?? "";
  return out;
}

type Result = { text: string; use: PromptUse; query: string };

function ResultSection(p: { prompt: PromptSummary; result: Result; projects: { id: string; name: string }[]; csrf: string }): Html {
  const { prompt, result } = p;
  const back = `${useUrl(prompt.id)}?${result.query}`;
  const thumb = (value: 1 | -1) => {
    const pressed = result.use.feedback === value;
    return (
      <form method="post" action={`${promptUrl(prompt.id)}/uses/${result.use.id}/feedback`} class="inline">
        <input type="hidden" name="_csrf" value={p.csrf} />
        <input type="hidden" name="back" value={back} />
        <button type="submit" name="value" value={pressed ? "0" : String(value)} aria-pressed={pressed ? "true" : "false"} class="thumb">
          <span aria-hidden="true">{value === 1 ? "▲" : "▼"}</span> {value === 1 ? "It worked" : "It did not"}
        </button>
      </form>
    );
  };
  return (
    <section class="card stack" aria-labelledby="prompt-result-h" id="prompt-result-section">
      <div class="card-head">
        <h2 id="prompt-result-h">Filled-in text (version {result.use.version})</h2>
        <button type="button" class="small primary" data-copy-target="#prompt-result">
          Copy
        </button>
      </div>
      <textarea id="prompt-result" class="code-input" readonly rows={10} aria-labelledby="prompt-result-h" autofocus>
        {result.text}
      </textarea>
      <div>
        <h3 class="small-head">Open in the assistant</h3>
        {p.projects.length > 0 ? (
          <>
            <p class="hint">Opens the project in the IDE with this text in the assistant panel.</p>
            <ul class="chips prompt-projects">
              {p.projects.map((pr) => (
                <li>
                  <a class="chip" href={`${projectUrl(pr.id)}/ide?prompt=${encodeURIComponent(prompt.id)}&${result.query}`}>
                    {pr.name}
                  </a>
                </li>
              ))}
            </ul>
          </>
        ) : (
          <p class="hint">
            You have no project to open yet: copy the text, or <a href="/new">create a project</a>.
          </p>
        )}
      </div>
      <div>
        <h3 class="small-head">How did it work?</h3>
        <div class="row">
          {thumb(1)}
          {thumb(-1)}
          <span class="muted small">Counted for version {result.use.version}; press again to take it back.</span>
        </div>
      </div>
    </section>
  );
}

async function showUse(
  ctx: Ctx | FormCtx,
  prompt: PromptSummary,
  version: PromptVersion,
  values: Record<string, string>,
  state: { errors?: Errors; message?: string; result?: Result } = {},
  status = 200,
): Promise<Response> {
  const orm = ctx.app.db.orm;
  const user = userOf(ctx.actor);
  const [versions, projects] = await Promise.all([listVersions(orm, prompt), state.result ? listProjectsForUser(orm, user, { limit: PROJECT_LINKS }) : Promise.resolve([])]);
  const errors = state.errors ?? {};
  const csrf = ctx.csrf();
  return promptPage(
    ctx,
    `Use ${prompt.name}`,
    <>
      <PromptHead prompt={prompt} current="use" title={`Use “${prompt.name}”`} />
      <div class="split">
        <div class="stack">
          {state.message ? <Flash kind="error">{state.message}</Flash> : null}
          <Form action={useUrl(prompt.id)} csrf={csrf} class="card prompt-use-form">
            <input type="hidden" name="version" value={String(version.version)} />
            {version.variables.length === 0 ? <p class="muted">This prompt has no variables: it is used as it is.</p> : null}
            {version.variables.map((v) => {
              const id = `f-var-${v.name}`;
              const error = errors[v.name];
              const firstError = error !== undefined && version.variables.find((x) => errors[x.name] !== undefined) === v;
              const hint = `${v.description ? `${v.description}. ` : ""}${isRequired(v) ? "Required." : "Optional."}`;
              return (
                <div class={error ? "field has-error" : "field"}>
                  <label for={id}>
                    <code>{`{{${v.name}}}`}</code>
                  </label>
                  <textarea id={id} name={field(v.name)} rows={2} autofocus={firstError} aria-invalid={error ? "true" : undefined} aria-describedby={error ? `${id}-hint ${id}-error` : `${id}-hint`}>
                    {values[v.name] ?? ""}
                  </textarea>
                  <p class="hint" id={`${id}-hint`}>
                    {hint}
                  </p>
                  {error ? (
                    <p class="field-error" id={`${id}-error`} role="alert">
                      {error}
                    </p>
                  ) : null}
                </div>
              );
            })}
            <div class="form-actions">
              <button type="submit" class="primary">
                Fill in
              </button>
            </div>
          </Form>
          {state.result ? <ResultSection prompt={prompt} result={state.result} projects={projects} csrf={csrf} /> : null}
        </div>
        <aside class="stack" aria-label="Version">
          <form method="get" action={useUrl(prompt.id)} class="card">
            <div class="field">
              <label for="use-version">Version</label>
              <select id="use-version" name="v">
                {[...versions].reverse().map((v) => (
                  <option value={String(v.version)} selected={v.version === version.version}>
                    Version {v.version}
                    {v.version === prompt.currentVersion ? " (current)" : ""}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit">Use this version</button>
          </form>
          <section class="card" aria-labelledby="use-text-h">
            <h2 id="use-text-h" class="small-head">
              The template
            </h2>
            <pre class="prompt-body small" tabindex="0">
              {version.body}
            </pre>
          </section>
        </aside>
      </div>
    </>,
    status,
  );
}

async function showUseForm(ctx: Ctx): Promise<Response> {
  const orm = ctx.app.db.orm;
  const user = userOf(ctx.actor);
  const prompt = await getVisiblePrompt(orm, user.id, ctx.params.prompt ?? "");
  const version = await getVersion(orm, prompt, versionParam(ctx.query.v) ?? prompt.currentVersion);
  const values = valuesFrom(version, ctx.query);
  const useId = versionParam(ctx.query.use);
  const use = useId !== undefined ? await getUse(orm, user, prompt, useId) : undefined;
  if (!use || use.version !== version.version) return showUse(ctx, prompt, version, values);
  try {
    const text = renderTemplate(version.body, version.variables, values);
    return showUse(ctx, prompt, version, values, { result: { text, use, query: useQuery(version.version, use.id, values) } });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    return showUse(ctx, prompt, version, values, { errors: { ...e.details }, message: e.message }, e.status);
  }
}

async function fillIn(ctx: FormCtx): Promise<Response> {
  const orm = ctx.app.db.orm;
  const user = userOf(ctx.actor);
  const prompt = await getVisiblePrompt(orm, user.id, ctx.params.prompt ?? "");
  const version = await getVersion(orm, prompt, versionParam(ctx.body.version) ?? prompt.currentVersion);
  const values: Record<string, string> = {};
  for (const v of version.variables) values[v.name] = (ctx.body[field(v.name)] ?? "").replace(/\r\n?/g, "\n");
  try {
    renderTemplate(version.body, version.variables, values);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    return showUse(ctx, prompt, version, values, { errors: { ...e.details }, message: e.message }, e.status);
  }
  if (useQuery(version.version, Number.MAX_SAFE_INTEGER, values).length > LINK_MAX) {
    return showUse(ctx, prompt, version, values, { message: "These values are too long to carry to the result page. Shorten them, or fill the prompt in through the assistant or the API." }, 422);
  }
  const r = await usePrompt(orm, user, prompt.id, { values, version: version.version });
  return redirect(`${useUrl(prompt.id)}?${useQuery(r.version, r.useId, values)}#prompt-result-section`);
}

async function feedback(ctx: FormCtx): Promise<Response> {
  const raw = ctx.body.value;
  if (raw !== "1" && raw !== "-1" && raw !== "0") throw badRequest("Give 1 (it worked), -1 (it did not) or 0 (take it back).", { value: "Choose thumbs up or down." });
  const useId = versionParam(ctx.params.useId);
  const promptId = ctx.params.prompt ?? "";
  if (useId === undefined) throw badRequest("That is not a use of this prompt.");
  await setUseFeedback(ctx.app.db.orm, userOf(ctx.actor), promptId, useId, Number(raw) as -1 | 0 | 1);
  const back = safeNext(ctx.body.back, promptUrl(promptId));
  return redirect(back.startsWith(`${useUrl(promptId)}?`) ? `${back}#prompt-result-section` : promptUrl(promptId));
}

export const promptUseHandlers = { showUseForm, fillIn, feedback };
