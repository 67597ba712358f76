/**
 * Teams: a shared owner for projects. Team slugs share one namespace with usernames.
 * Roles: owner > maintainer > member > viewer. A team always keeps at least one owner;
 * only owners (or instance admins) may grant, change or remove the owner role.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, projects, teamMembers, teams, users, type Team, type TeamRole, type User } from "../db/schema.ts";
import { eventValues, type NewEvent } from "../events/events.ts";
import { newId } from "../lib/crypto.ts";
import { conflict, forbidden, invalid, notFound } from "../lib/errors.ts";
import { checkHandle, checkName, slugify } from "../lib/validate.ts";
import { handleTaken } from "../auth/users.ts";

export const TEAM_ROLES: readonly TeamRole[] = ["owner", "maintainer", "member", "viewer"];
const DESCRIPTION_MAX = 2000;

/** Who is changing membership: their role in the team, or "admin" for an instance admin. */
export type ActingRole = TeamRole | "admin";

export type NewTeam = { slug?: string; name: string; description?: string };

export type TeamMember = {
  user: { id: string; username: string; name: string; email: string };
  role: TeamRole;
  /** When they joined (unix ms). */
  since: number;
};

export function isTeamRole(role: unknown): role is TeamRole {
  return typeof role === "string" && (TEAM_ROLES as readonly string[]).includes(role);
}

function checkDescription(description: string): string | undefined {
  if (description.length > DESCRIPTION_MAX) return `Description must be at most ${DESCRIPTION_MAX} characters.`;
  return undefined;
}

function isUniqueViolation(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? e) + String((e as { cause?: Error })?.cause?.message ?? "");
  return /UNIQUE constraint failed/i.test(msg);
}

/** An INSERT into events that happens only when the statement just before it changed a row (same batch). */
function eventIfChanged(orm: Orm, e: NewEvent) {
  const v = eventValues(e);
  return orm.run(sql`INSERT INTO events (at, actor_id, kind, subject_type, subject_id, project_id, team_id, data)
    SELECT ${v.at}, ${v.actorId}, ${v.kind}, ${v.subjectType}, ${v.subjectId}, ${v.projectId}, ${v.teamId}, ${v.data}
    WHERE changes() > 0`);
}

export async function createTeam(orm: Orm, creator: User, input: NewTeam): Promise<Team> {
  const errors: Record<string, string> = {};
  const name = (input.name ?? "").trim();
  const ne = checkName(name, "Team name");
  if (ne) errors.name = ne;
  const description = (input.description ?? "").trim();
  const de = checkDescription(description);
  if (de) errors.description = de;
  const rawSlug = input.slug?.trim();
  const slug = rawSlug ? rawSlug.toLowerCase() : slugify(name, 39);
  if (!errors.name) {
    if (!slug) errors.slug = "Choose a team slug (the name has no letters or digits to make one from).";
    else {
      const se = checkHandle(slug, "Team slug");
      if (se) errors.slug = se;
    }
  }
  if (Object.keys(errors).length > 0) throw invalid(Object.values(errors)[0] ?? "Invalid team.", errors);

  const taken = () => conflict(`The name "${slug}" is already used by a user or team.`, { slug: "This slug is taken." });
  if (await handleTaken(orm, slug)) throw taken();
  const now = Date.now();
  const team: Team = { id: newId(), slug, name, description, createdAt: now, updatedAt: now };
  try {
    await orm.batch([
      orm.insert(teams).values(team),
      orm.insert(teamMembers).values({ teamId: team.id, userId: creator.id, role: "owner", createdAt: now }),
      orm.insert(events).values(
        eventValues({ actorId: creator.id, kind: "team.created", subjectType: "team", subjectId: team.id, teamId: team.id, data: { slug, name } }),
      ),
    ]);
  } catch (e) {
    if (isUniqueViolation(e)) throw taken();
    throw e;
  }
  return team;
}

export async function getTeam(orm: Orm, id: string): Promise<Team | undefined> {
  return orm.select().from(teams).where(eq(teams.id, id)).get();
}

export async function findTeamBySlug(orm: Orm, slug: string): Promise<Team | undefined> {
  return orm.select().from(teams).where(eq(teams.slug, slug.toLowerCase())).get();
}

/** The teams a user belongs to, with their role in each, by name. */
export async function listTeamsForUser(orm: Orm, userId: string): Promise<(Team & { role: TeamRole })[]> {
  const rows = await orm
    .select({ team: teams, role: teamMembers.role })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(eq(teamMembers.userId, userId))
    .orderBy(asc(teams.name), asc(teams.slug));
  return rows.map((r) => ({ ...r.team, role: r.role }));
}

export async function listAllTeams(orm: Orm): Promise<Team[]> {
  return orm.select().from(teams).orderBy(asc(teams.name), asc(teams.slug));
}

/** Members by role (owners first), then username. */
export async function listMembers(orm: Orm, teamId: string): Promise<TeamMember[]> {
  const rows = await orm
    .select({ id: users.id, username: users.username, name: users.name, email: users.email, role: teamMembers.role, since: teamMembers.createdAt })
    .from(teamMembers)
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .where(eq(teamMembers.teamId, teamId))
    .orderBy(
      sql`CASE ${teamMembers.role} WHEN 'owner' THEN 0 WHEN 'maintainer' THEN 1 WHEN 'member' THEN 2 ELSE 3 END`,
      asc(users.username),
    );
  return rows.map((r) => ({ user: { id: r.id, username: r.username, name: r.name, email: r.email }, role: r.role, since: r.since }));
}

export async function teamRole(orm: Orm, teamId: string, userId: string): Promise<TeamRole | null> {
  const row = await orm
    .select({ role: teamMembers.role })
    .from(teamMembers)
    .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)))
    .get();
  return row?.role ?? null;
}

export async function countOwners(orm: Orm, teamId: string): Promise<number> {
  const row = await orm
    .select({ n: sql<number>`count(*)` })
    .from(teamMembers)
    .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.role, "owner")))
    .get();
  return Number(row?.n ?? 0);
}

const lastOwner = () => conflict("A team must keep at least one owner; make another member an owner first.");

function canManage(actorRole: ActingRole): boolean {
  return actorRole === "admin" || actorRole === "owner" || actorRole === "maintainer";
}

/**
 * Adds a user to a team or changes their role. `actorRole` is the acting user's role in
 * this team ("admin" for an instance admin). Maintainers manage maintainers, members and
 * viewers; only owners (and admins) grant or take away the owner role.
 */
export async function setMember(
  orm: Orm,
  teamId: string,
  userId: string,
  role: TeamRole,
  actorId: string | null,
  actorRole: ActingRole,
): Promise<{ created: boolean; role: TeamRole }> {
  if (!isTeamRole(role)) throw invalid("Role must be owner, maintainer, member or viewer.", { role: "Role must be owner, maintainer, member or viewer." });
  if (!canManage(actorRole)) throw forbidden("Only team owners and maintainers can manage members.");
  const team = await getTeam(orm, teamId);
  if (!team) throw notFound("Team");
  const user = await orm.select({ id: users.id }).from(users).where(eq(users.id, userId)).get();
  if (!user) throw notFound("User");
  const current = await teamRole(orm, teamId, userId);
  const ownerOnly = role === "owner" || current === "owner";
  if (ownerOnly && actorRole === "maintainer") throw forbidden("Only team owners can grant, change or remove the owner role.");
  if (current === role) return { created: false, role };
  const now = Date.now();

  if (current === null) {
    try {
      await orm.batch([
        orm.insert(teamMembers).values({ teamId, userId, role, createdAt: now }),
        orm.insert(events).values(
          eventValues({ actorId, kind: "team.member_added", subjectType: "team", subjectId: teamId, teamId, data: { userId, role } }),
        ),
      ]);
    } catch (e) {
      // Added concurrently: retry as a role change.
      if (isUniqueViolation(e)) return setMember(orm, teamId, userId, role, actorId, actorRole);
      throw e;
    }
    return { created: true, role };
  }

  // Demoting an owner: the guard inside the UPDATE keeps the last owner even under races.
  const [res] = await orm.batch([
    orm
      .update(teamMembers)
      .set({ role })
      .where(
        and(
          eq(teamMembers.teamId, teamId),
          eq(teamMembers.userId, userId),
          eq(teamMembers.role, current),
          sql`(${teamMembers.role} <> 'owner' OR (SELECT count(*) FROM team_members o WHERE o.team_id = ${teamId} AND o.role = 'owner') > 1)`,
        ),
      ),
    eventIfChanged(orm, { actorId, kind: "team.member_role_changed", subjectType: "team", subjectId: teamId, teamId, data: { userId, from: current, to: role } }),
  ]);
  if (res.rowsAffected === 0) {
    const now2 = await teamRole(orm, teamId, userId);
    if (now2 === current && current === "owner") throw lastOwner();
    // Changed or removed concurrently: start over from the new state.
    return setMember(orm, teamId, userId, role, actorId, actorRole);
  }
  return { created: false, role };
}

/**
 * Removes a member. Owners, maintainers and admins may remove others (maintainers not owners);
 * anyone may remove themselves (leave), as long as the team keeps an owner.
 */
export async function removeMember(orm: Orm, teamId: string, userId: string, actorId: string | null, actorRole: ActingRole | null): Promise<void> {
  const leaving = actorId !== null && actorId === userId;
  if (!leaving && (actorRole === null || !canManage(actorRole))) throw forbidden("Only team owners and maintainers can remove members.");
  const current = await teamRole(orm, teamId, userId);
  if (current === null) throw notFound("Team member");
  if (current === "owner" && !leaving && actorRole === "maintainer") throw forbidden("Only team owners can remove an owner.");
  const [res] = await orm.batch([
    orm
      .delete(teamMembers)
      .where(
        and(
          eq(teamMembers.teamId, teamId),
          eq(teamMembers.userId, userId),
          sql`(${teamMembers.role} <> 'owner' OR (SELECT count(*) FROM team_members o WHERE o.team_id = ${teamId} AND o.role = 'owner') > 1)`,
        ),
      ),
    eventIfChanged(orm, { actorId, kind: "team.member_removed", subjectType: "team", subjectId: teamId, teamId, data: { userId, role: current } }),
  ]);
  if (res.rowsAffected === 0) {
    const now = await teamRole(orm, teamId, userId);
    if (now === null) throw notFound("Team member");
    if (now === "owner") throw lastOwner();
    return removeMember(orm, teamId, userId, actorId, actorRole);
  }
}

export async function updateTeam(orm: Orm, team: Team, patch: { name?: string; description?: string }, actorId: string | null): Promise<Team> {
  const errors: Record<string, string> = {};
  const next: Partial<Team> = {};
  if (patch.name !== undefined) {
    const ne = checkName(patch.name, "Team name");
    if (ne) errors.name = ne;
    else if (patch.name.trim() !== team.name) next.name = patch.name.trim();
  }
  if (patch.description !== undefined) {
    const de = checkDescription(patch.description.trim());
    if (de) errors.description = de;
    else if (patch.description.trim() !== team.description) next.description = patch.description.trim();
  }
  if (Object.keys(errors).length > 0) throw invalid(Object.values(errors)[0] ?? "Invalid team.", errors);
  if (Object.keys(next).length === 0) return team;
  const updatedAt = Date.now();
  await orm.batch([
    orm.update(teams).set({ ...next, updatedAt }).where(eq(teams.id, team.id)),
    orm.insert(events).values(eventValues({ actorId, kind: "team.updated", subjectType: "team", subjectId: team.id, teamId: team.id, data: next })),
  ]);
  return { ...team, ...next, updatedAt };
}

/** Deletes a team and its memberships; refuses (409) while the team owns projects. */
export async function deleteTeam(orm: Orm, team: Team, actorId: string | null): Promise<void> {
  const refuse = () => conflict("This team still owns projects; delete or move them first.");
  const owned = await orm.select({ id: projects.id }).from(projects).where(eq(projects.ownerTeamId, team.id)).limit(1).get();
  if (owned) throw refuse();
  // NOT EXISTS inside the DELETE: a project created meanwhile is never cascade-deleted.
  const [res] = await orm.batch([
    orm.delete(teams).where(and(eq(teams.id, team.id), sql`NOT EXISTS (SELECT 1 FROM projects p WHERE p.owner_team_id = ${team.id})`)),
    eventIfChanged(orm, { actorId, kind: "team.deleted", subjectType: "team", subjectId: team.id, teamId: team.id, data: { slug: team.slug } }),
  ]);
  if (res.rowsAffected === 0) {
    if (await getTeam(orm, team.id)) throw refuse();
    throw notFound("Team");
  }
}
