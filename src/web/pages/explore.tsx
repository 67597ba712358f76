/**
 * Explore (`GET /explore`, and `GET /api/v1/explore` as JSON): public projects only — never
 * unlisted or private — sorted by recent activity, stars or remixes (forks), filtered by tag and
 * detected tech. Filters are plain links and a GET form, so it works without JavaScript; htmx
 * (hx-boost on the results region) swaps only the results when it is there.
 */
import { t } from "elysia";
import type { Project } from "../../db/schema.ts";
import { route } from "../../server/guard.ts";
import { html, json } from "../../server/http.ts";
import { doc, Layout } from "../layout.tsx";
import type { Html } from "../jsx/jsx-runtime.ts";
import { EXPLORE_SORTS, explore, exploreSearch, parseExploreQuery, type ExploreQuery, type ExploreResult, type Facet } from "../../projects/explore.ts";
import { ownerHandles, projectsJson } from "../../projects/projects.ts";
import { tagsOf } from "../../projects/tags.ts";
import { techOf } from "../../projects/techstack.ts";
import { Empty, projectUrl, RelTime } from "../../projects/pages-ui.tsx";

const SORT_LABELS: Record<ExploreQuery["sort"], string> = { recent: "Recently updated", stars: "Most stars", remixes: "Most remixed" };

/** Where an owner's profile lives: `/t/<slug>` for a team, `/u/<username>` for a user. */
export function ownerUrl(project: Pick<Project, "ownerTeamId">, handle: string): string {
  return `/${project.ownerTeamId ? "t" : "u"}/${encodeURIComponent(handle)}`;
}

export type CardData = { projects: Project[]; handles: Map<string, string>; tags: Map<string, string[]>; tech: Map<string, string[]> };

/** Owners, tags and tech for a list of projects (three queries). */
export async function cardData(orm: Parameters<typeof ownerHandles>[0], list: Project[]): Promise<CardData> {
  const ids = list.map((p) => p.id);
  const [handles, tags, tech] = await Promise.all([ownerHandles(orm, list), tagsOf(orm, ids), techOf(orm, ids)]);
  return { projects: list, handles, tags, tech };
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** Project cards: name, owner (linked to the profile), description, tags, tech, stars, remixes. */
export function ProjectCards(p: { data: CardData; showVisibility?: boolean }): Html {
  const { projects, handles, tags, tech } = p.data;
  return (
    <ul class="grid project-cards">
      {projects.map((pr) => {
        const owner = handles.get(pr.id) ?? "";
        const prTags = tags.get(pr.id) ?? [];
        const prTech = tech.get(pr.id) ?? [];
        return (
          <li class="card project-card">
            <h3>
              <a href={projectUrl(pr.id)}>{pr.name}</a>
              {p.showVisibility && pr.visibility !== "public" ? <span class={`badge ${pr.visibility}`}>{pr.visibility}</span> : null}
            </h3>
            <p class="owner small">
              by <a href={ownerUrl(pr, owner)}>{owner}</a>
            </p>
            {pr.description ? <p class="desc">{pr.description}</p> : null}
            {prTags.length + prTech.length > 0 ? (
              <ul class="chips" aria-label="Tags and tech">
                {prTags.map((tag) => (
                  <li>
                    <a class="chip" href={`/explore?tag=${encodeURIComponent(tag)}`}>
                      #{tag}
                    </a>
                  </li>
                ))}
                {prTech.map((x) => (
                  <li>
                    <a class="chip tech" href={`/explore?tech=${encodeURIComponent(x)}`}>
                      {x}
                    </a>
                  </li>
                ))}
              </ul>
            ) : null}
            <p class="meta small">
              <span>{plural(pr.starCount, "star", "stars")}</span>
              <span class="meta-sep">{plural(pr.forkCount, "remix", "remixes")}</span>
              <span class="meta-sep">
                Updated <RelTime at={pr.updatedAt} />
              </span>
            </p>
          </li>
        );
      })}
    </ul>
  );
}

function FacetList(p: { title: string; name: "tag" | "tech"; facets: Facet[]; q: ExploreQuery }): Html {
  const current = p.q[p.name];
  const label = (v: string) => (p.name === "tag" ? `#${v}` : v);
  return (
    <section class="facet" aria-labelledby={`facet-${p.name}`}>
      <h2 id={`facet-${p.name}`}>{p.title}</h2>
      {p.facets.length === 0 && !current ? (
        <p class="muted small">None yet.</p>
      ) : (
        <ul>
          {current && !p.facets.some((f) => f.value === current) ? (
            <li>
              <a href={`/explore${exploreSearch(p.q, { [p.name]: null })}`} aria-current="true">
                {label(current)} <span class="count">0</span>
              </a>
            </li>
          ) : null}
          {p.facets.map((f) => {
            const on = f.value === current;
            // Choosing the active value again clears it.
            return (
              <li>
                <a href={`/explore${exploreSearch(p.q, { [p.name]: on ? null : f.value })}`} aria-current={on ? "true" : undefined} title={on ? "Remove this filter" : undefined}>
                  {label(f.value)} <span class="count">{f.count}</span>
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

function Results(p: { q: ExploreQuery; r: ExploreResult; cards: CardData }): Html {
  const { q, r } = p;
  const filtered = q.tag !== null || q.tech !== null;
  return (
    <div id="explore-results" class="explore" hx-boost="true" hx-target="#explore-results" hx-select="#explore-results" hx-swap="outerHTML">
      <aside class="facets" aria-label="Filters">
        <FacetList title="Tags" name="tag" facets={r.tags} q={q} />
        <FacetList title="Tech" name="tech" facets={r.tech} q={q} />
      </aside>
      <div class="stack explore-main">
        {/* Applied by the button, not on change: choosing with the keyboard must not swap the form away mid-choice. Boosted: htmx submits it in place. */}
        <form class="row explore-sort" method="get" action="/explore">
          {q.tag ? <input type="hidden" name="tag" value={q.tag} /> : null}
          {q.tech ? <input type="hidden" name="tech" value={q.tech} /> : null}
          <label for="explore-sort">Sort by</label>
          <select id="explore-sort" name="sort">
            {EXPLORE_SORTS.map((s) => (
              <option value={s} selected={s === q.sort}>
                {SORT_LABELS[s]}
              </option>
            ))}
          </select>
          <button type="submit">Sort</button>
          {filtered ? (
            <p class="active-filters small grow">
              Showing {q.tag ? <strong>#{q.tag}</strong> : null}
              {q.tag && q.tech ? " and " : null}
              {q.tech ? <strong>{q.tech}</strong> : null} · <a href={`/explore${exploreSearch(q, { tag: null, tech: null })}`}>Clear filters</a>
            </p>
          ) : null}
        </form>
        {r.projects.length > 0 ? (
          <ProjectCards data={p.cards} />
        ) : q.page > 1 ? (
          <Empty title="No more projects">
            <a href={`/explore${exploreSearch(q)}`}>Back to the first page</a>
          </Empty>
        ) : (
          <Empty title={filtered ? "No public project matches" : "No public projects yet"}>
            {filtered ? "Try another tag or tech, or clear the filters." : "When someone makes a project public, it shows up here for everyone."}
          </Empty>
        )}
        {q.page > 1 || r.hasMore ? (
          <nav class="pager row between" aria-label="Pages">
            {q.page > 1 ? (
              <a class="btn" rel="prev" href={`/explore${exploreSearch(q, { page: q.page - 1 })}`}>
                Previous
              </a>
            ) : (
              <span />
            )}
            <span class="muted small">Page {q.page}</span>
            {r.hasMore ? (
              <a class="btn" rel="next" href={`/explore${exploreSearch(q, { page: q.page + 1 })}`}>
                Next
              </a>
            ) : (
              <span />
            )}
          </nav>
        ) : null}
      </div>
    </div>
  );
}

const ExploreQuerySchema = t.Object({
  sort: t.Optional(t.String({ maxLength: 20 })),
  tag: t.Optional(t.String({ maxLength: 64 })),
  tech: t.Optional(t.String({ maxLength: 64 })),
  page: t.Optional(t.String({ maxLength: 6 })),
});

export const exploreRoutes = [
  route({
    method: "GET",
    path: "/explore",
    permission: "public",
    kind: "page",
    summary: "Explore public projects: sort by recent, stars or remixes; filter by tag and detected tech.",
    query: ExploreQuerySchema,
    handler: async (ctx) => {
      const { orm } = ctx.app.db;
      const q = parseExploreQuery(ctx.query);
      const r = await explore(orm, q);
      const body = <Results q={q} r={r} cards={await cardData(orm, r.projects)} />;
      if (ctx.isHtmx) return html(body.value);
      return html(
        doc(
          <Layout title="Explore" actor={ctx.actor} csrf={ctx.actor.kind === "user" ? ctx.csrf() : undefined} active="explore" wide>
            <div class="page-head">
              <div>
                <h1>Explore</h1>
                <p class="muted">Public projects on this Wove. Remix one to start from it.</p>
              </div>
            </div>
            {body}
          </Layout>,
        ),
      );
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/explore",
    permission: "public",
    kind: "api",
    summary:
      "Public projects (never unlisted or private), `sort` = recent | stars | remixes, filtered by `tag` and `tech`, " +
      "24 a `page`; with the tag and tech facets (value and count) of the current filter.",
    tags: ["projects"],
    query: ExploreQuerySchema,
    handler: async (ctx) => {
      const { orm } = ctx.app.db;
      const q = parseExploreQuery(ctx.query);
      const r = await explore(orm, q);
      return json({
        sort: q.sort,
        tag: q.tag,
        tech: q.tech,
        page: q.page,
        hasMore: r.hasMore,
        projects: await projectsJson(orm, r.projects, ctx.app.config.baseUrl),
        facets: { tags: r.tags, tech: r.tech },
      });
    },
  }),
];
