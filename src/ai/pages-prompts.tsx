/**
 * The prompt library's pages and their route table. `/prompts` lists the prompts you may see —
 * yours, your teams', everyone's — with a search box, a filter and a sort. It is a plain GET
 * form; with htmx the results refresh as you type (the same handler answers with the results
 * region alone). The other pages live in pages-prompts-*.tsx.
 */
import { route, type Ctx } from "../server/guard.ts";
import { html } from "../server/http.ts";
import { render, type Html } from "../web/jsx/jsx-runtime.ts";
import { Empty, FormFields, RelTime, userOf } from "../projects/pages-ui.tsx";
import { PROMPT_SCOPES, PROMPT_SORTS, QUERY_MAX, searchPrompts, type PromptScope, type PromptSort, type PromptSummary } from "./prompts-search.ts";
import { promptPage, promptUrl, scoreText, SharingBadge } from "./pages-prompts-ui.tsx";
import { promptFormHandlers } from "./pages-prompts-form.tsx";
import { promptViewHandlers } from "./pages-prompts-view.tsx";
import { promptDiffHandlers } from "./pages-prompts-diff.tsx";
import { promptUseHandlers } from "./pages-prompts-use.tsx";

const PAGE_SIZE = 20;
const SCOPE_LABEL: Record<PromptScope, string> = { all: "All I can see", mine: "Mine", team: "Shared with my teams", instance: "Shared with everyone" };
const SORT_LABEL: Record<PromptSort, string> = { votes: "Most votes", recent: "Recently updated", uses: "Most used" };

type ListParams = { q: string; scope: PromptScope; sort: PromptSort; offset: number };

function readParams(query: Record<string, string | undefined>): ListParams {
  return {
    q: (query.q ?? "").slice(0, QUERY_MAX),
    scope: PROMPT_SCOPES.find((s) => s === query.scope) ?? "all",
    sort: PROMPT_SORTS.find((s) => s === query.sort) ?? "votes",
    offset: /^[0-9]{1,6}$/.test(query.offset ?? "") ? Number(query.offset) : 0,
  };
}

function listHref(p: ListParams, offset: number): string {
  const q = new URLSearchParams();
  if (p.q) q.set("q", p.q);
  if (p.scope !== "all") q.set("scope", p.scope);
  if (p.sort !== "votes") q.set("sort", p.sort);
  if (offset > 0) q.set("offset", String(offset));
  const s = q.toString();
  return s ? `/prompts?${s}` : "/prompts";
}

function PromptList(p: { prompts: PromptSummary[] }): Html {
  return (
    <ul class="prompt-list">
      {p.prompts.map((pr) => (
        <li>
          <div class="prompt-score" title={`${pr.up} up, ${pr.down} down`}>
            <strong>{scoreText(pr.score)}</strong>
            <span class="muted small">{pr.score === 1 || pr.score === -1 ? "vote" : "votes"}</span>
          </div>
          <div class="grow">
            <div class="row">
              <a class="name" href={promptUrl(pr.id)}>
                {pr.name}
              </a>
              <SharingBadge prompt={pr} />
            </div>
            {pr.description ? <p class="desc">{pr.description}</p> : null}
            <p class="meta muted small">
              <span>by {pr.ownerUsername}</span>
              <span class="meta-sep">v{pr.currentVersion}</span>
              <span class="meta-sep">
                {pr.uses} {pr.uses === 1 ? "use" : "uses"}
              </span>
              <span class="meta-sep">
                updated <RelTime at={pr.updatedAt} />
              </span>
            </p>
          </div>
        </li>
      ))}
    </ul>
  );
}

function Results(p: { params: ListParams; prompts: PromptSummary[]; next: number | null }): Html {
  const { params } = p;
  const filtered = params.q !== "" || params.scope !== "all";
  return (
    <div id="prompt-results" aria-live="polite">
      {p.prompts.length > 0 ? (
        <PromptList prompts={p.prompts} />
      ) : filtered ? (
        <Empty title="No prompt matches">Try other words, or look in “All I can see”.</Empty>
      ) : (
        <Empty
          title="No prompts yet"
          action={
            <a class="btn primary" href="/prompts/new">
              Write the first one
            </a>
          }
        >
          A prompt is a reusable request for the assistant, with variables to fill in.
        </Empty>
      )}
      {params.offset > 0 || p.next !== null ? (
        <nav class="row pager mt" aria-label="Pages">
          {params.offset > 0 ? (
            <a class="btn" href={listHref(params, Math.max(0, params.offset - PAGE_SIZE))} rel="prev">
              ← Previous
            </a>
          ) : null}
          {p.next !== null ? (
            <a class="btn" href={listHref(params, p.next)} rel="next">
              Next →
            </a>
          ) : null}
        </nav>
      ) : null}
    </div>
  );
}

async function showList(ctx: Ctx): Promise<Response> {
  const params = readParams(ctx.query);
  const r = await searchPrompts(ctx.app.db.orm, userOf(ctx.actor).id, { ...params, limit: PAGE_SIZE });
  const results = <Results params={params} prompts={r.prompts} next={r.next} />;
  if (ctx.isHtmx && ctx.request.headers.get("hx-target") === "prompt-results") return html(render(results));
  const live = { "hx-get": "/prompts", "hx-target": "#prompt-results", "hx-swap": "outerHTML", "hx-push-url": "true", "hx-include": "#prompt-search" };
  return promptPage(
    ctx,
    "Prompts",
    <>
      <div class="page-head">
        <div>
          <h1>Prompts</h1>
          <p class="muted">Reusable prompts for the assistant, with variables, versions and votes. Share them with a team or everyone.</p>
        </div>
        <div class="actions">
          <a class="btn primary" href="/prompts/new">
            New prompt
          </a>
        </div>
      </div>
      {ctx.query.deleted ? (
        <p class="flash ok" role="status">
          The prompt was deleted.
        </p>
      ) : null}
      <form id="prompt-search" class="prompt-search" role="search" method="get" action="/prompts">
        <div class="field grow">
          <label for="prompt-q">Search prompts</label>
          <input id="prompt-q" type="search" name="q" value={params.q} maxlength={QUERY_MAX} autocomplete="off" placeholder="Words in the name, description or text" {...live} hx-trigger="input changed delay:300ms, search" />
        </div>
        <div class="field">
          <label for="prompt-scope">Show</label>
          <select id="prompt-scope" name="scope" {...live} hx-trigger="change">
            {PROMPT_SCOPES.map((s) => (
              <option value={s} selected={s === params.scope}>
                {SCOPE_LABEL[s]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="prompt-sort">Sort by</label>
          <select id="prompt-sort" name="sort" {...live} hx-trigger="change">
            {PROMPT_SORTS.map((s) => (
              <option value={s} selected={s === params.sort}>
                {SORT_LABEL[s]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <button type="submit">Search</button>
        </div>
      </form>
      {results}
    </>,
  );
}

const tags = ["pages", "prompts"];

export const promptPageRoutes = [
  route({ method: "GET", path: "/prompts", permission: "user", kind: "page", summary: "The prompt library: search, filter (mine, team, everyone), sort (votes, recent, uses).", tags, handler: showList }),
  route({ method: "GET", path: "/prompts/new", permission: "user", kind: "page", summary: "Form to write a new prompt.", tags, handler: promptFormHandlers.showNew }),
  route({
    method: "POST",
    path: "/prompts/new",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Create a prompt from the form (or redraw it with the variables of the text); errors beside the fields.",
    tags,
    handler: promptFormHandlers.createFromForm,
  }),
  route({
    method: "POST",
    path: "/prompts/variables",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "The prompt form's variables section for the text typed so far (htmx fragment; saves nothing).",
    tags,
    handler: promptFormHandlers.variablesFragment,
  }),
  route({ method: "GET", path: "/prompts/:prompt", permission: "user", kind: "page", summary: "One prompt (`?v=` an older version): text, variables, votes, history, uses per version.", tags, handler: promptViewHandlers.showPrompt }),
  route({ method: "GET", path: "/prompts/:prompt/edit", permission: "user", kind: "page", summary: "Edit your prompt (saving a changed text makes a new version).", tags, handler: promptFormHandlers.showEdit }),
  route({
    method: "POST",
    path: "/prompts/:prompt/edit",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Save the edit form: a new version when the text or variables changed.",
    tags,
    handler: promptFormHandlers.saveEdit,
  }),
  route({ method: "GET", path: "/prompts/:prompt/diff", permission: "user", kind: "page", summary: "What changed between two versions (`from`, `to`; `view=split` side by side).", tags, handler: promptDiffHandlers.showDiff }),
  route({
    method: "POST",
    path: "/prompts/:prompt/vote",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Vote the prompt up or down, or take the vote back (htmx: the vote buttons; else back to the prompt).",
    tags,
    handler: promptViewHandlers.vote,
  }),
  route({
    method: "POST",
    path: "/prompts/:prompt/copy",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Copy the prompt (a version of it) into a new private prompt of your own.",
    tags,
    handler: promptViewHandlers.copy,
  }),
  route({
    method: "POST",
    path: "/prompts/:prompt/delete",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Delete your prompt with its versions, votes and uses.",
    tags,
    handler: promptViewHandlers.remove,
  }),
  route({ method: "GET", path: "/prompts/:prompt/use", permission: "user", kind: "page", summary: "Fill in the prompt's variables; after filling in, the text with copy and open-in-assistant links and thumbs.", tags, handler: promptUseHandlers.showUseForm }),
  route({
    method: "POST",
    path: "/prompts/:prompt/use",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Fill in the prompt: records a use of the version and shows the text.",
    tags,
    handler: promptUseHandlers.fillIn,
  }),
  route({
    method: "POST",
    path: "/prompts/:prompt/uses/:useId/feedback",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Thumbs up or down on one of your uses of the prompt.",
    tags,
    handler: promptUseHandlers.feedback,
  }),
];
