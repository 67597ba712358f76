/**
 * Profiles: `GET /u/:username` and `GET /t/:slug`, open to everyone. They list the owner's
 * projects and recent activity as the viewer may see them (projects/explore.ts userProfile and
 * teamProfile): others see public projects only and only events of projects they may see listed,
 * so a private or unlisted project's name never appears; the user themselves, team members and
 * admins see all of them.
 */
import { route, type Ctx } from "../../server/guard.ts";
import { html } from "../../server/http.ts";
import { notFound } from "../../lib/errors.ts";
import { doc, Layout } from "../layout.tsx";
import type { Html } from "../jsx/jsx-runtime.ts";
import { isAdmin } from "../../auth/actor.ts";
import { findUserByUsername } from "../../auth/users.ts";
import { findTeamBySlug, teamRole } from "../../teams/teams.ts";
import { teamProfile, userProfile, type Profile } from "../../projects/explore.ts";
import { ActivityFeed, Avatar, Empty, RelTime, TeamIdentity, teamUrl } from "../../projects/pages-ui.tsx";
import { cardData, ProjectCards, type CardData } from "./explore.tsx";

function ProfileBody(p: { profile: Profile; cards: CardData; me: string | null; allShown: boolean; emptyText: string }): Html {
  return (
    <div class="split">
      <section class="stack" aria-labelledby="profile-projects">
        <h2 id="profile-projects" class="row">
          {p.allShown ? "Projects" : "Public projects"} <span class="badge">{p.profile.projects.length}</span>
        </h2>
        {p.profile.projects.length > 0 ? <ProjectCards data={p.cards} showVisibility={p.allShown} /> : <Empty title="No projects to show">{p.emptyText}</Empty>}
      </section>
      <section class="card" aria-labelledby="profile-activity">
        <h2 id="profile-activity">Recent activity</h2>
        <ActivityFeed activity={p.profile.activity} me={p.me} emptyText="Nothing to show yet." />
      </section>
    </div>
  );
}

function page(ctx: Ctx<undefined>, title: string, head: Html, body: Html): Response {
  return html(
    doc(
      <Layout title={title} actor={ctx.actor} csrf={ctx.actor.kind === "user" ? ctx.csrf() : undefined} wide>
        {head}
        {body}
      </Layout>,
    ),
  );
}

export const profilePageRoutes = [
  route({
    method: "GET",
    path: "/u/:username",
    permission: "public",
    kind: "page",
    summary: "A user's profile: their public projects (all of them for themselves and admins) and recent activity the viewer may see.",
    handler: async (ctx) => {
      const { orm } = ctx.app.db;
      const user = await findUserByUsername(orm, ctx.params.username ?? "");
      // A disabled account has no public face.
      if (!user || user.disabledAt !== null) throw notFound("User");
      const me = ctx.actor.kind === "user" ? ctx.actor.user.id : null;
      const profile = await userProfile(orm, ctx.actor, user);
      const cards = await cardData(orm, profile.projects);
      const head = (
        <div class="page-head">
          <div class="row">
            <Avatar name={user.name || user.username} large />
            <div>
              <h1>{user.name || user.username}</h1>
              <p class="muted small">
                <span class="mono">@{user.username}</span> · Joined <RelTime at={user.createdAt} />
              </p>
            </div>
          </div>
        </div>
      );
      const allShown = me === user.id || isAdmin(ctx.actor);
      const body = (
        <ProfileBody
          profile={profile}
          cards={cards}
          me={me}
          allShown={allShown}
          emptyText={me === user.id ? "Projects you create show up here; others see the public ones." : `${user.username} has no public projects yet.`}
        />
      );
      return page(ctx, user.name || user.username, head, body);
    },
  }),
  route({
    method: "GET",
    path: "/t/:slug",
    permission: "public",
    kind: "page",
    summary: "A team's profile: its public projects (all of them for members and admins) and recent activity the viewer may see.",
    handler: async (ctx) => {
      const { orm } = ctx.app.db;
      const team = await findTeamBySlug(orm, ctx.params.slug ?? "");
      if (!team) throw notFound("Team");
      const me = ctx.actor.kind === "user" ? ctx.actor.user.id : null;
      const role = me ? await teamRole(orm, team.id, me) : null;
      const profile = await teamProfile(orm, ctx.actor, team, role);
      const cards = await cardData(orm, profile.projects);
      const member = role !== null || isAdmin(ctx.actor);
      const head = (
        <div class="page-head">
          <TeamIdentity team={team} />
          {member ? (
            <div class="actions">
              <a class="btn" href={teamUrl(team.id)}>
                Manage team
              </a>
            </div>
          ) : null}
        </div>
      );
      const body = <ProfileBody profile={profile} cards={cards} me={me} allShown={member} emptyText={`${team.name} has no public projects yet.`} />;
      return page(ctx, team.name, head, body);
    },
  }),
];
