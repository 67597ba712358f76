/**
 * The search page, `GET /search`: one search box with live results as you type, filters (what
 * to search — code, file names, projects, meaning —, regex, case, project, path), results grouped
 * by file with line numbers and highlighted matches, keyboard navigation, and links that open
 * the IDE at the matching line.
 *
 * It is a plain GET form first: without JavaScript, submitting it loads the page with results.
 * htmx makes it live: the query box asks again 200 ms after typing stops (and on Enter or
 * clearing), a changed filter at once; the same handler then answers with the results region
 * alone, plus out-of-band updates of the field errors and the screen-reader summary (the box
 * itself is never replaced, so typing is never interrupted). public/search.js adds keyboard
 * movement between results. Anyone may search; what is found depends on who asks (access.ts):
 * anonymous visitors see public projects only.
 */
import { route, type Ctx } from "../server/guard.ts";
import { html } from "../server/http.ts";
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import { render } from "../web/jsx/jsx-runtime.ts";
import { doc, Layout } from "../web/layout.tsx";
import { PAGER_IDS, Results, summaryText } from "./pages-search-results.tsx";
import { PAGE_KINDS, projectChoices, QUERY_MAX, readParams, runPageSearch, searchHref, type FieldErrors, type Outcome, type PageKind, type PageParams, type ProjectChoice } from "./pages-search-run.ts";

export const SEARCH_JS = "/assets/search.js";
export const SEARCH_CSS = "/assets/search.css";

const KIND_CHOICES: Record<PageKind, { label: string; hint: string }> = {
  code: { label: "Code", hint: "Text in files" },
  files: { label: "Files", hint: "File names, fuzzy" },
  projects: { label: "Projects", hint: "Name, README, tags" },
  semantic: { label: "Meaning", hint: "Code about a topic" },
};

/** Attributes that make a form control ask for results when it changes (the form's hx-* settings are inherited). */
const LIVE_ON_CHANGE = { "hx-get": "/search", "hx-include": "#search-form", "hx-trigger": "change" };

/** A field's error paragraph; always present so an htmx answer can fill or hide it out of band. */
function FieldError(p: { id: string; error?: string; oob?: boolean }): Html {
  return (
    <p class="field-error" id={p.id} role="alert" hidden={!p.error} hx-swap-oob={p.oob ? "true" : undefined}>
      {p.error ?? ""}
    </p>
  );
}

function SearchForm(p: { params: PageParams; errors: FieldErrors; projects: ProjectChoice[]; signedIn: boolean; admin: boolean }): Html {
  const { params, errors } = p;
  const everything = p.admin ? "Every project" : p.signedIn ? "Every project you can see" : "Every public project";
  return (
    <form
      id="search-form"
      class="search-form"
      role="search"
      method="get"
      action="/search"
      hx-get="/search"
      hx-target="#search-results"
      hx-swap="innerHTML"
      hx-replace-url="true"
      hx-sync="closest form:replace"
      hx-indicator="#search-busy"
    >
      <div class={errors.q ? "field has-error search-q-field" : "field search-q-field"}>
        <label for="search-q">Search for</label>
        <div class="search-q-row">
          <input
            id="search-q"
            type="search"
            name="q"
            value={params.q}
            maxlength={QUERY_MAX * 2}
            autocomplete="off"
            autocapitalize="off"
            spellcheck="false"
            autofocus
            class="mono"
            placeholder="eval(   or   useState path:src/ lang:ts"
            aria-describedby="search-q-hint search-q-error"
            aria-invalid={errors.q ? "true" : undefined}
            aria-controls="search-results"
            hx-get="/search"
            hx-trigger="input changed delay:200ms, search"
            hx-include="#search-form"
          />
          <button type="submit" class="primary">
            Search
          </button>
        </div>
        <p class="hint" id="search-q-hint">
          Filters inside the query: <code>path:src/</code> <code>-path:test</code> <code>lang:ts</code>; for projects <code>tag:</code> <code>tech:</code>{" "}
          <code>owner:</code>. Press ↓ to move into the results.
        </p>
        <FieldError id="search-q-error" error={errors.q} />
      </div>
      <fieldset class="search-kinds">
        <legend>Search in</legend>
        <div class="search-kind-list">
          {PAGE_KINDS.map((k) => (
            <label class="search-kind">
              <input type="radio" name="type" value={k} checked={params.type === k} {...LIVE_ON_CHANGE} />
              <span>
                <strong>{KIND_CHOICES[k].label}</strong> <span class="muted small">{KIND_CHOICES[k].hint}</span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      <div class="search-filters">
        <div class="search-toggles">
          <label class="search-toggle" title="Treat the query as a regular expression (code search)">
            <input type="checkbox" name="regex" value="1" checked={params.regex} {...LIVE_ON_CHANGE} /> Regex
          </label>
          <label class="search-toggle" title="Match upper and lower case exactly (code search)">
            <input type="checkbox" name="case" value="1" checked={params.caseSensitive} {...LIVE_ON_CHANGE} /> Match case
          </label>
        </div>
        <div class={errors.project ? "field has-error" : "field"}>
          <label for="search-project">Project</label>
          <select id="search-project" name="project" aria-describedby="search-project-error" aria-invalid={errors.project ? "true" : undefined} {...LIVE_ON_CHANGE}>
            <option value="">{everything}</option>
            {p.projects.map((c) => (
              <option value={c.id} selected={c.id === params.project}>
                {c.label}
              </option>
            ))}
            {params.project && !p.projects.some((c) => c.id === params.project) ? (
              <option value={params.project} selected>
                Unknown project ({params.project})
              </option>
            ) : null}
          </select>
          <FieldError id="search-project-error" error={errors.project} />
        </div>
        <div class={errors.path ? "field has-error" : "field"}>
          <label for="search-path">Path</label>
          <input
            id="search-path"
            type="text"
            name="path"
            value={params.path}
            class="mono"
            autocomplete="off"
            spellcheck="false"
            placeholder="src/ or *.test.ts"
            aria-describedby="search-path-error"
            aria-invalid={errors.path ? "true" : undefined}
            {...LIVE_ON_CHANGE}
            hx-trigger="input changed delay:300ms"
          />
          <FieldError id="search-path-error" error={errors.path} />
        </div>
      </div>
    </form>
  );
}

/** The results region's heading line: the busy indicator, then the results. */
function ResultsRegion(p: { outcome: Outcome; params: PageParams }): Html {
  return (
    <section class="search-results-wrap" aria-labelledby="search-results-heading">
      <div class="row between search-results-head">
        <h2 id="search-results-heading" class="visually-hidden">
          Results
        </h2>
        <span id="search-busy" class="htmx-indicator muted small" aria-hidden="true">
          Searching…
        </span>
      </div>
      <div id="search-results">
        <Results outcome={p.outcome} params={p.params} />
      </div>
    </section>
  );
}

/** What an htmx request gets: the results, and out of band the field errors and the spoken summary. */
function fragment(outcome: Outcome, params: PageParams): string {
  const errors = outcome.kind === "failed" ? outcome.fields : {};
  const extra: Child[] = [
    <FieldError id="search-q-error" error={errors.q} oob />,
    <FieldError id="search-project-error" error={errors.project} oob />,
    <FieldError id="search-path-error" error={errors.path} oob />,
    <p id="search-live" hx-swap-oob="innerHTML">
      {summaryText(outcome, params)}
    </p>,
  ];
  return render(<Results outcome={outcome} params={params} />) + render(extra);
}

async function showSearch(ctx: Ctx): Promise<Response> {
  const params = readParams(ctx.query);
  const outcome = await runPageSearch(ctx.app, ctx.actor, ctx.ip, params);
  const status = outcome.kind === "failed" ? outcome.status : 200;
  // htmx swaps only 2xx answers: a live search says what went wrong with a 200 and the message.
  // A history restore (Back after the cached page was evicted) needs the whole page.
  const restoring = ctx.request.headers.get("hx-history-restore-request") === "true";
  if (ctx.isHtmx && !restoring) {
    // The address bar shows the tidy URL (no empty fields); a new page of results is a new history entry.
    const paging = PAGER_IDS.includes(ctx.request.headers.get("hx-trigger") ?? "");
    return html(fragment(outcome, params), 200, { "Cache-Control": "no-store", Vary: "HX-Request", [paging ? "HX-Push-Url" : "HX-Replace-Url"]: searchHref(params) });
  }
  const errors = outcome.kind === "failed" ? outcome.fields : {};
  const choices = await projectChoices(ctx.app, ctx.actor, errors.project ? "" : params.project);
  const signedIn = ctx.actor.kind === "user";
  const admin = signedIn && ctx.actor.kind === "user" && ctx.actor.user.role === "admin";
  const title = params.q.trim() ? `${params.q.trim().slice(0, 60)} · Search` : "Search";
  return html(
    doc(
      <Layout title={title} actor={ctx.actor} csrf={signedIn ? ctx.csrf() : undefined} active="search" wide>
        <link rel="stylesheet" href={SEARCH_CSS} />
        <div class="search-page">
          <div class="page-head">
            <div>
              <h1>Search</h1>
              <p class="muted">{signedIn ? "Code, files and projects you can read." : "Code, files and projects that are public. Log in to search your own too."}</p>
            </div>
          </div>
          <SearchForm params={params} errors={errors} projects={choices} signedIn={signedIn} admin={admin} />
          <p id="search-live" class="visually-hidden" role="status" aria-live="polite">
            {summaryText(outcome, params)}
          </p>
          <ResultsRegion outcome={outcome} params={params} />
        </div>
        <script src={SEARCH_JS} defer></script>
      </Layout>,
    ),
    status,
    { "Cache-Control": "no-store", Vary: "HX-Request" },
  );
}

export const searchPageRoutes = [
  route({
    method: "GET",
    path: "/search",
    permission: "public",
    kind: "page",
    summary:
      "The search page: code (substring or regex, path/lang filters), file names, projects and semantic search with live results as you type; anonymous visitors search public projects only.",
    tags: ["pages"],
    handler: (ctx) => showSearch(ctx),
  }),
];
