/** JSON API for teams and their members. */
import { t } from "elysia";
import { actorIdOf, route, userOf, type Ctx } from "../server/guard.ts";
import { json, noContent } from "../server/http.ts";
import { isAdmin } from "../auth/actor.ts";
import { createTeam, listAllTeams, listMembers, listTeamsForUser, removeMember, setMember, teamRole, type ActingRole } from "./teams.ts";
import type { Team } from "../db/schema.ts";

const TeamRole = t.Union([t.Literal("owner"), t.Literal("maintainer"), t.Literal("member"), t.Literal("viewer")]);

function teamJson(team: Team, role?: string | null) {
  return {
    id: team.id,
    slug: team.slug,
    name: team.name,
    description: team.description,
    createdAt: new Date(team.createdAt).toISOString(),
    ...(role !== undefined ? { role } : {}),
  };
}

async function actingRole(ctx: Ctx<unknown, unknown>): Promise<ActingRole> {
  if (isAdmin(ctx.actor)) return "admin";
  return (await teamRole(ctx.app.db.orm, ctx.team.id, userOf(ctx).id)) ?? "viewer";
}

export const teamApiRoutes = [
  route({
    method: "POST",
    path: "/api/v1/teams",
    permission: "user",
    kind: "api",
    summary: "Create a team; you become its owner. A school class is a team.",
    tags: ["teams"],
    body: t.Object(
      {
        name: t.String({ minLength: 1, maxLength: 100 }),
        slug: t.Optional(t.String({ minLength: 1, maxLength: 39 })),
        description: t.Optional(t.String({ maxLength: 2000 })),
      },
      { additionalProperties: false },
    ),
    responses: { 201: "The team" },
    handler: async (ctx) => json(teamJson(await createTeam(ctx.app.db.orm, userOf(ctx), ctx.body), "owner"), 201),
  }),
  route({
    method: "GET",
    path: "/api/v1/teams",
    permission: "user",
    kind: "api",
    summary: "Your teams with your role in each (admins: `?all=1` lists every team).",
    tags: ["teams"],
    query: t.Object({ all: t.Optional(t.Union([t.Literal("0"), t.Literal("1")])) }),
    handler: async (ctx) => {
      if (ctx.query.all === "1" && isAdmin(ctx.actor)) return json((await listAllTeams(ctx.app.db.orm)).map((tm) => teamJson(tm)));
      return json((await listTeamsForUser(ctx.app.db.orm, userOf(ctx).id)).map((tm) => teamJson(tm, tm.role)));
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/teams/:id",
    permission: "team:read",
    kind: "api",
    summary: "A team with its members.",
    tags: ["teams"],
    handler: async (ctx) => {
      const members = await listMembers(ctx.app.db.orm, ctx.team.id);
      return json({ ...teamJson(ctx.team), members: members.map((m) => ({ ...m.user, role: m.role, since: new Date(m.since).toISOString() })) });
    },
  }),
  route({
    method: "PUT",
    path: "/api/v1/teams/:id/members/:userId",
    permission: "team:manage",
    kind: "api",
    summary: "Add a member or change their role (owner, maintainer, member, viewer).",
    tags: ["teams"],
    body: t.Object({ role: TeamRole }, { additionalProperties: false }),
    responses: { 201: "Added", 200: "Role changed" },
    handler: async (ctx) => {
      const r = await setMember(ctx.app.db.orm, ctx.team.id, ctx.params.userId ?? "", ctx.body.role, actorIdOf(ctx), await actingRole(ctx));
      return json({ userId: ctx.params.userId, role: r.role }, r.created ? 201 : 200);
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/teams/:id/members/:userId",
    permission: "team:manage",
    kind: "api",
    summary: "Remove a member (a team always keeps an owner).",
    tags: ["teams"],
    responses: { 204: "Removed" },
    handler: async (ctx) => {
      await removeMember(ctx.app.db.orm, ctx.team.id, ctx.params.userId ?? "", actorIdOf(ctx), await actingRole(ctx));
      return noContent();
    },
  }),
];
