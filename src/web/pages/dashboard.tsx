/**
 * The dashboard (`GET /`): the signed-in user's projects (own and their teams'), their teams
 * and recent activity. It is the busiest page. Building it costs a fixed handful of indexed
 * queries whatever the number of projects (projects, teams, owner handles, events, names).
 * The finished page is then kept per browser session until anything in the instance changes —
 * which one tiny query (the newest event id) tells — or for PAGE_CACHE_MS at most, so relative
 * times stay roughly current without JavaScript (app.js refreshes them in the browser).
 * The session is part of the key because the page carries that session's CSRF token.
 */
import type { App } from "../../core/app.ts";
import type { Project, Team, TeamRole, User } from "../../db/schema.ts";
import { route, type Ctx } from "../../server/guard.ts";
import { doc, Layout } from "../layout.tsx";
import { loadActivity, type Activity } from "../../events/activity.ts";
import { cachePerOwner } from "../../lib/cache.ts";
import { listProjectsForUser, ownerHandles } from "../../projects/projects.ts";
import { listTeamsForUser } from "../../teams/teams.ts";
import { ActivityFeed, Avatar, Empty, ProjectList, teamUrl, userOf } from "../../projects/pages-ui.tsx";
import type { Html } from "../jsx/jsx-runtime.ts";

/** How many projects the dashboard lists (most recently updated first). */
export const DASHBOARD_PROJECTS = 100;
const FEED_LENGTH = 15;
const PAGE_CACHE_MS = 30_000;
/** About 35 KB a page with 50 projects: ~35 MB at most. */
const PAGE_CACHE_MAX = 1_000;

/** Pages are kept as UTF-8 bytes (a hit then costs no string encoding), one cache per App. */
const pageCache = cachePerOwner<App, Uint8Array<ArrayBuffer>>((app) => Math.min(PAGE_CACHE_MS, app.config.readCacheMs), PAGE_CACHE_MAX);

/** What of the user shows in the body: a rename must not be served from the cache. */
function userKey(user: User): string {
  return `${user.updatedAt}\u0000${user.username}\u0000${user.name}\u0000${user.role}`;
}

type DashboardData = {
  projects: Project[];
  handles: Map<string, string>;
  teams: (Team & { role: TeamRole })[];
  activity: Activity;
};

async function load(orm: Parameters<typeof listProjectsForUser>[0], user: User): Promise<DashboardData> {
  const [projects, teams] = await Promise.all([listProjectsForUser(orm, user, { limit: DASHBOARD_PROJECTS }), listTeamsForUser(orm, user.id)]);
  const projectNames = new Map(projects.map((p) => [p.id, p.name]));
  const teamNames = new Map(teams.map((t) => [t.id, t.name]));
  const [handles, activity] = await Promise.all([
    ownerHandles(orm, projects),
    loadActivity(orm, { projectIds: [...projectNames.keys()], teamIds: [...teamNames.keys()], actorId: user.id }, FEED_LENGTH, {
      projects: projectNames,
      teams: teamNames,
      users: new Map([[user.id, user.username]]),
    }),
  ]);
  return { projects, handles, teams, activity };
}

function ProjectsSection(p: { data: DashboardData }): Html {
  const { projects, handles } = p.data;
  return (
    <section class="stack" aria-labelledby="projects-heading">
      <div class="row between">
        <h2 id="projects-heading" class="row">
          Projects <span class="badge">{projects.length}</span>
        </h2>
        {projects.length > 0 ? (
          <input
            type="search"
            class="filter"
            placeholder="Filter projects…  ( / )"
            aria-label="Filter projects"
            data-filter="#project-list"
            data-filter-empty="#project-filter-empty"
            autocomplete="off"
          />
        ) : null}
      </div>
      {projects.length > 0 ? (
        <>
          <ProjectList projects={projects} handles={handles} id="project-list" />
          <p class="empty filter-empty" id="project-filter-empty" hidden>
            No project matches that filter.
          </p>
          {projects.length >= DASHBOARD_PROJECTS ? (
            <p class="muted small">Showing the {DASHBOARD_PROJECTS} most recently updated projects.</p>
          ) : null}
        </>
      ) : (
        <Empty
          title="No projects yet"
          action={
            <a class="btn primary" href="/new">
              Create your first project
            </a>
          }
        >
          A project holds your files — a website, an app, a set of exercises. Create one, or ask a teammate to add you to their team.
        </Empty>
      )}
    </section>
  );
}

function TeamsCard(p: { teams: DashboardData["teams"] }): Html {
  return (
    <section class="card" aria-labelledby="teams-heading">
      <div class="card-head">
        <h2 id="teams-heading">Your teams</h2>
        <a class="small" href="/teams">
          {p.teams.length > 0 ? "All teams" : "Create a team"}
        </a>
      </div>
      {p.teams.length > 0 ? (
        <ul class="entity-list">
          {p.teams.map((t) => (
            <li>
              <Avatar name={t.name} team />
              <span class="grow">
                <a href={teamUrl(t.id)}>{t.name}</a>
                <span class="muted small mono">{t.slug}</span>
              </span>
              <span class={`badge role-${t.role}`}>{t.role}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted small">You are not in a team yet. Teams share projects between people: create one and add your colleagues.</p>
      )}
    </section>
  );
}

function DashboardBody(p: { user: User; data: DashboardData }): Html {
  const { user, data } = p;
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Dashboard</h1>
          <p class="muted">Welcome back, {user.name || user.username}.</p>
        </div>
        <div class="actions">
          <a class="btn" href="/teams#create-team">
            New team
          </a>
          <a class="btn primary" href="/new">
            New project
          </a>
        </div>
      </div>
      <div class="split">
        <ProjectsSection data={data} />
        <aside class="stack" aria-label="Teams and activity">
          <TeamsCard teams={data.teams} />
          <section class="card" aria-labelledby="activity-heading">
            <div class="card-head">
              <h2 id="activity-heading">Recent activity</h2>
            </div>
            <ActivityFeed activity={data.activity} me={user.id} emptyText="Nothing yet. Changes to your projects and teams will show up here." />
          </section>
        </aside>
      </div>
    </>
  );
}

function renderPage(ctx: Ctx, data: DashboardData): string {
  const user = userOf(ctx.actor);
  return doc(
    <Layout title="Dashboard" actor={ctx.actor} csrf={ctx.csrf()} active="dashboard" wide>
      <DashboardBody user={user} data={data} />
    </Layout>,
  );
}

const utf8 = new TextEncoder();
const HTML_TYPE = "text/html; charset=utf-8";

/** The whole page: from the cache when nothing changed since this session last saw it. */
async function dashboardPage(ctx: Ctx): Promise<string | Uint8Array<ArrayBuffer>> {
  const { app, actor } = ctx;
  const user = userOf(actor);
  // Only cookie sessions are cached: their CSRF token is fixed, and no cookie is set.
  if (actor.kind !== "user" || actor.via !== "session") return renderPage(ctx, await load(app.db.orm, user));
  const version = await app.db.dataVersion();
  return pageCache(app).get(`${actor.sessionId}\u0000${userKey(user)}`, version, async () =>
    utf8.encode(renderPage(ctx, await load(app.db.orm, user))),
  );
}

export const dashboardRoutes = [
  route({
    method: "GET",
    path: "/",
    permission: "user",
    kind: "page",
    summary: "Dashboard: your projects, your teams and recent activity.",
    tags: ["pages"],
    handler: async (ctx) => new Response(await dashboardPage(ctx), { headers: { "Content-Type": HTML_TYPE } }),
  }),
];
