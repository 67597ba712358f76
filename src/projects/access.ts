/**
 * Who may do what to a project or team: the one place the authorization guard asks.
 * Each check is one query (the project or team joined with the actor's membership row).
 *
 * project:  instance admin → admin; owning user → admin;
 *           team project: team owner/maintainer → admin, member → write, viewer → read;
 *           anyone else (signed in or not): public/unlisted → read, private → none.
 * team:     instance admin, owner, maintainer → manage; member, viewer → read; others → none.
 * (Token scopes narrow this further; the guard applies them.)
 */
import { and, eq } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { projects, teamMembers, teams, type Project, type Team, type TeamRole, type Visibility } from "../db/schema.ts";
import { isAdmin, type Actor } from "../auth/actor.ts";

export type AccessLevel = "none" | "read" | "write" | "admin";
export type TeamAccessLevel = "none" | "read" | "manage";

const RANK: Record<AccessLevel, number> = { none: 0, read: 1, write: 2, admin: 3 };

/** True when `have` grants at least `need`. */
export function atLeast(have: AccessLevel, need: AccessLevel): boolean {
  return RANK[have] >= RANK[need];
}

/** The pure rule, for callers that already hold the project and the actor's team role. */
export function projectLevel(
  project: Pick<Project, "ownerUserId" | "visibility">,
  actor: Actor,
  teamRoleOfActor: TeamRole | null,
): AccessLevel {
  if (isAdmin(actor)) return "admin";
  if (actor.kind === "user") {
    if (project.ownerUserId !== null && project.ownerUserId === actor.user.id) return "admin";
    if (teamRoleOfActor === "owner" || teamRoleOfActor === "maintainer") return "admin";
    if (teamRoleOfActor === "member") return "write";
    if (teamRoleOfActor === "viewer") return "read";
  }
  return isListedOrLinked(project.visibility) ? "read" : "none";
}

function isListedOrLinked(v: Visibility): boolean {
  return v === "public" || v === "unlisted";
}

export async function projectAccess(orm: Orm, actor: Actor, projectId: string): Promise<{ project: Project | undefined; level: AccessLevel }> {
  if (actor.kind !== "user") {
    const project = await orm.select().from(projects).where(eq(projects.id, projectId)).get();
    return { project, level: project ? projectLevel(project, actor, null) : "none" };
  }
  const row = await orm
    .select({ project: projects, role: teamMembers.role })
    .from(projects)
    .leftJoin(teamMembers, and(eq(teamMembers.teamId, projects.ownerTeamId), eq(teamMembers.userId, actor.user.id)))
    .where(eq(projects.id, projectId))
    .get();
  if (!row) return { project: undefined, level: "none" };
  return { project: row.project, level: projectLevel(row.project, actor, row.role ?? null) };
}

export function teamLevel(actor: Actor, role: TeamRole | null): TeamAccessLevel {
  if (isAdmin(actor)) return "manage";
  if (role === "owner" || role === "maintainer") return "manage";
  if (role === "member" || role === "viewer") return "read";
  return "none";
}

export async function teamAccess(
  orm: Orm,
  actor: Actor,
  teamId: string,
): Promise<{ team: Team | undefined; role: TeamRole | null; level: TeamAccessLevel }> {
  if (actor.kind !== "user") {
    const team = await orm.select().from(teams).where(eq(teams.id, teamId)).get();
    return { team, role: null, level: "none" };
  }
  const row = await orm
    .select({ team: teams, role: teamMembers.role })
    .from(teams)
    .leftJoin(teamMembers, and(eq(teamMembers.teamId, teams.id), eq(teamMembers.userId, actor.user.id)))
    .where(eq(teams.id, teamId))
    .get();
  if (!row) return { team: undefined, role: null, level: "none" };
  const role = row.role ?? null;
  return { team: row.team, role, level: teamLevel(actor, role) };
}
