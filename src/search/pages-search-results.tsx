/**
 * The search page's results region: code hits grouped by file with line numbers and the
 * matches highlighted, file-finder hits, project hits with their facets, the pager, and the
 * empty and error states. Rendered inside the full page and, alone, as the htmx fragment that
 * live search swaps in. Every piece of text is escaped by the JSX runtime; highlights are
 * <mark> elements built here from the hits' character ranges, never markup from the index.
 */
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import { ideUrl } from "../projects/pages-ide-view.tsx";
import { projectUrl } from "../projects/pages-ui.tsx";
import type { Facet } from "./projects.ts";
import type { FileHit } from "./finder.ts";
import type { ProjectHit } from "./types.ts";
import { searchHref, type Found, type LineHit, type Outcome, type PageParams } from "./pages-search-run.ts";

/** Where a result opens: the IDE at the line. */
export function hitUrl(projectId: string, path: string, line?: number): string {
  return `${ideUrl(projectId, path)}${line && line > 0 ? `?line=${line}` : ""}`;
}

/** Valid, sorted ranges inside a text of `length` characters. */
function cleanRanges(ranges: [number, number][] | undefined, length: number): [number, number][] {
  return (ranges ?? [])
    .filter(([s, e]) => Number.isInteger(s) && Number.isInteger(e) && s >= 0 && e > s && s < length)
    .map(([s, e]): [number, number] => [s, Math.min(e, length)])
    .sort((a, b) => a[0] - b[0]);
}

/** The text of [from, to) with the parts inside `ranges` as <mark> elements. */
function marked(text: string, from: number, to: number, ranges: [number, number][]): Child[] {
  const out: Child[] = [];
  let at = from;
  for (const [s, e] of ranges) {
    const a = Math.max(s, at);
    const b = Math.min(e, to);
    if (b <= a) continue;
    if (a > at) out.push(text.slice(at, a));
    out.push(<mark>{text.slice(a, b)}</mark>);
    at = b;
  }
  if (at < to) out.push(text.slice(at, to));
  return out;
}

export type SnippetLine = { parts: Child[]; hit: boolean };

/** A snippet (lines joined by "\n") split into lines, each with its matches marked. */
export function highlightLines(snippet: string, ranges?: [number, number][]): SnippetLine[] {
  const rs = cleanRanges(ranges, snippet.length);
  let offset = 0;
  return snippet.split("\n").map((line) => {
    const from = offset;
    const to = offset + line.length;
    offset = to + 1;
    return { parts: marked(snippet, from, to, rs), hit: rs.some(([s, e]) => s < to && e > from) };
  });
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One code hit: its lines, numbered when the snippet's first line is known. */
function CodeHitLink(p: { hit: LineHit; label: string }): Html {
  const { hit } = p;
  const lines = highlightLines(hit.snippet, hit.ranges);
  const first = hit.snippetStart;
  return (
    <a class="search-hit search-code" data-hit href={hitUrl(hit.projectId, hit.path, hit.line)}>
      <span class="visually-hidden">
        {p.label}, line {hit.line}:{" "}
      </span>
      {/* Without the snippet's first line (semantic hits) the lines go unnumbered and the hit's line is named once. */}
      {first === undefined ? (
        <span class="search-line search-line-label" aria-hidden="true">
          <span class="search-ln"></span>
          <span class="muted small">Line {hit.line}</span>
        </span>
      ) : null}
      {lines.map((l, i) => (
        <span class={l.hit ? "search-line is-hit" : "search-line"}>
          <span class="search-ln" aria-hidden="true">
            {first !== undefined ? first + i : ""}
          </span>
          <code>{l.parts.length > 0 ? l.parts : " "}</code>
        </span>
      ))}
    </a>
  );
}

/** Consecutive hits of one file form its group (code results come ordered by file then line). */
function groupByFile(hits: LineHit[]): LineHit[][] {
  const groups: LineHit[][] = [];
  for (const h of hits) {
    const last = groups.at(-1);
    const head = last?.[0];
    if (last && head && head.projectId === h.projectId && head.path === h.path) last.push(h);
    else groups.push([h]);
  }
  return groups;
}

function CodeResults(p: { hits: LineHit[]; names: Map<string, string>; showProject: boolean }): Html {
  return (
    <ol class="plain search-files">
      {groupByFile(p.hits).map((g) => {
        const head = g[0] as LineHit;
        const project = p.names.get(head.projectId) ?? "a project";
        return (
          <li class="search-file">
            <h3 class="search-file-head">
              <a class="mono" href={hitUrl(head.projectId, head.path, head.line)} tabindex="-1">
                {head.path}
              </a>
              {p.showProject ? <span class="muted small search-project">{project}</span> : null}
            </h3>
            <ol class="plain search-hits">
              {g.map((hit) => (
                <li>
                  <CodeHitLink hit={hit} label={head.path} />
                </li>
              ))}
            </ol>
          </li>
        );
      })}
    </ol>
  );
}

function FileResults(p: { hits: FileHit[]; names: Map<string, string>; showProject: boolean }): Html {
  return (
    <ol class="plain search-found-files">
      {p.hits.map((h) => (
        <li>
          <a class="search-hit search-path" data-hit href={hitUrl(h.projectId, h.path)}>
            <code>{marked(h.path, 0, h.path.length, cleanRanges(h.ranges, h.path.length))}</code>
            {h.binary ? <span class="badge">binary</span> : null}
            {p.showProject ? <span class="muted small search-project">{p.names.get(h.projectId) ?? ""}</span> : null}
          </a>
        </li>
      ))}
    </ol>
  );
}

/** Whether `key:value` is one of the words of q (as parseQuery reads it: case-insensitive, maybe quoted). */
function hasFilter(q: string, key: string, value: string): boolean {
  const want = [`${key}:${value}`, `${key}:"${value}"`].map((t) => t.toLowerCase());
  return q.split(/\s+/).some((w) => want.includes(w.toLowerCase()));
}

/** q with the filter `key:value` added, or removed when `on`. */
function toggleFilter(q: string, key: string, value: string, on: boolean): string {
  if (!on) return `${q.trim()} ${key}:${/\s/.test(value) ? `"${value}"` : value}`.trim();
  const drop = [`${key}:${value}`, `${key}:"${value}"`].map((t) => t.toLowerCase());
  return q
    .split(/\s+/)
    .filter((w) => w !== "" && !drop.includes(w.toLowerCase()))
    .join(" ");
}

function FacetGroup(p: { title: string; name: "tag" | "tech" | "owner"; facets: Facet[]; params: PageParams }): Html | null {
  if (p.facets.length === 0) return null;
  return (
    <section class="facet" aria-labelledby={`search-facet-${p.name}`}>
      <h2 id={`search-facet-${p.name}`}>{p.title}</h2>
      <ul>
        {p.facets.map((f) => {
          const on = hasFilter(p.params.q, p.name, f.value);
          return (
            <li>
              <a
                href={searchHref(p.params, { q: toggleFilter(p.params.q, p.name, f.value, on), cursor: "" })}
                aria-current={on ? "true" : undefined}
                title={on ? "Remove this filter" : undefined}
              >
                {p.name === "tag" ? `#${f.value}` : f.value} <span class="count">{f.count}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ProjectResults(p: { hits: ProjectHit[]; facets: Extract<Found, { kind: "projects" }>["facets"]; params: PageParams }): Html {
  return (
    <div class="search-projects">
      <aside class="facets" aria-label="Narrow the projects">
        <FacetGroup title="Tags" name="tag" facets={p.facets.tags} params={p.params} />
        <FacetGroup title="Tech" name="tech" facets={p.facets.tech} params={p.params} />
        <FacetGroup title="Owners" name="owner" facets={p.facets.owners} params={p.params} />
      </aside>
      <ol class="plain search-project-list">
        {p.hits.map((h) => (
          <li>
            <a class="search-hit search-project-hit" data-hit href={projectUrl(h.projectId)}>
              <strong>{h.name}</strong>
              {h.owner ? <span class="muted small"> by {h.owner}</span> : null}
              {h.description ? <span class="search-desc">{h.description}</span> : null}
            </a>
          </li>
        ))}
      </ol>
    </div>
  );
}

const KIND_LABEL: Record<PageParams["type"], string> = { code: "code", files: "file names", projects: "projects", semantic: "code by meaning" };

/** The one-line summary (also announced to screen readers). */
export function summaryText(outcome: Outcome, params: PageParams): string {
  if (outcome.kind === "idle") return "";
  if (outcome.kind === "failed") return outcome.message ?? "The search could not run; see the message beside the field.";
  const f = outcome.found;
  const more = f.next ? " (more on the next page)" : "";
  if (f.results.length === 0) return params.cursor ? "No more results." : `Nothing found in ${KIND_LABEL[params.type]}.`;
  switch (f.kind) {
    case "code":
    case "semantic": {
      const files = new Set(f.results.map((h) => `${h.projectId}\n${h.path}`)).size;
      return `${plural(f.results.length, f.kind === "code" ? "match" : "result", f.kind === "code" ? "matches" : "results")} in ${plural(files, "file")}${more}.`;
    }
    case "files":
      return `${plural(f.results.length, "file")}${more}.`;
    case "projects":
      return `${plural(f.results.length, "project")}${more}.`;
  }
}

function Tips(p: { params: PageParams }): Html {
  const example = (q: string, change: Partial<PageParams> = {}) => (
    <a href={searchHref(p.params, { q, cursor: "", ...change })}>
      <code>{q}</code>
    </a>
  );
  return (
    <div class="empty search-tips">
      <h3>Search code, files and projects</h3>
      <p>Results appear as you type. Use ↓ to move into them and Enter to open one in the editor.</p>
      <ul class="plain search-tip-list">
        <li>{example("eval(")} finds text anywhere in code you can read</li>
        <li>{example("useState path:src/ lang:ts")} narrows to a folder and a language; <code>-path:test</code> leaves one out</li>
        <li>{example("fetch\\(.*json", { regex: true })} with <em>Regex</em> on; <em>Match case</em> for exact case</li>
        <li>{example("chart tag:d3", { type: "projects" })} finds projects by name, description, README, tags and tech</li>
      </ul>
    </div>
  );
}

function NoResults(p: { params: PageParams }): Html {
  const { params } = p;
  if (params.cursor) {
    return (
      <div class="empty">
        <h3>No more results</h3>
        <p>
          <a href={searchHref(params, { cursor: "" })}>Back to the first page</a>
        </p>
      </div>
    );
  }
  const ideas: Child[] = [];
  if (params.caseSensitive) ideas.push(<li><a href={searchHref(params, { caseSensitive: false })}>Search without matching case</a></li>);
  if (params.path) ideas.push(<li><a href={searchHref(params, { path: "" })}>Search every path</a></li>);
  if (params.project) ideas.push(<li><a href={searchHref(params, { project: "" })}>Search every project</a></li>);
  if (params.type === "code") ideas.push(<li><a href={searchHref(params, { type: "semantic", regex: false, caseSensitive: false })}>Search by meaning instead</a></li>);
  if (params.type !== "files") ideas.push(<li><a href={searchHref(params, { type: "files", regex: false })}>Look for file names instead</a></li>);
  return (
    <div class="empty">
      <h3>No matches</h3>
      <p>Nothing you can read matches “{params.q}”. Files still being indexed show up within a second or two.</p>
      {ideas.length > 0 ? <ul class="plain search-ideas">{ideas}</ul> : null}
    </div>
  );
}

/** The pager links' ids: a request they make is a new page, so it gets its own history entry. */
export const PAGER_IDS = ["search-first", "search-next"];

function Pager(p: { params: PageParams; next: string | null }): Html | null {
  if (!p.next && !p.params.cursor) return null;
  return (
    <nav class="pager row between search-pager" aria-label="Result pages">
      {p.params.cursor ? (
        <a class="btn" id="search-first" href={searchHref(p.params, { cursor: "" })} data-pager hx-get={searchHref(p.params, { cursor: "" })} hx-target="#search-results" hx-indicator="#search-busy">
          First page
        </a>
      ) : (
        <span />
      )}
      {p.next ? (
        <a class="btn" id="search-next" rel="next" href={searchHref(p.params, { cursor: p.next })} data-pager hx-get={searchHref(p.params, { cursor: p.next })} hx-target="#search-results" hx-indicator="#search-busy">
          Next page
        </a>
      ) : (
        <span />
      )}
    </nav>
  );
}

/** The results region's content for an outcome. */
export function Results(p: { outcome: Outcome; params: PageParams }): Html {
  const { outcome, params } = p;
  if (outcome.kind === "idle") return <Tips params={params} />;
  if (outcome.kind === "failed") {
    return outcome.message ? (
      <div class="flash error" role="alert">
        {outcome.message}
      </div>
    ) : (
      <p class="muted">Fix the search above to see results.</p>
    );
  }
  const f = outcome.found;
  const showProject = params.project === "";
  let list: Html;
  if (f.results.length === 0) list = <NoResults params={params} />;
  else if (f.kind === "files") list = <FileResults hits={f.results} names={outcome.names} showProject={showProject} />;
  else if (f.kind === "projects") list = <ProjectResults hits={f.results} facets={f.facets} params={params} />;
  else list = <CodeResults hits={f.results} names={outcome.names} showProject={showProject} />;
  return (
    <>
      <p class="muted small search-summary">{summaryText(outcome, params)}</p>
      {list}
      <Pager params={params} next={f.next} />
    </>
  );
}
