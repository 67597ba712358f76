/**
 * Stars: a user marks a project they can read. Starring twice (or unstarring what is not
 * starred) changes nothing and records nothing. `projects.star_count` is recounted in the same
 * batch as the change, so it can never drift from the stars table, even under concurrency.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { projects, projectStars, teamMembers, type Project, type User } from "../db/schema.ts";
import type { Actor } from "../auth/actor.ts";
import { eventValues, type NewEvent } from "../events/events.ts";
import { projectLevel } from "./access.ts";

export type StarState = { starred: boolean; starCount: number; changed: boolean };

type StarProject = Pick<Project, "id" | "ownerTeamId">;

/** An event INSERT that happens only when the statement just before it (same batch) changed a row. */
function eventIfChanged(orm: Orm, e: NewEvent) {
  const v = eventValues(e);
  return orm.run(sql`INSERT INTO events (at, actor_id, kind, subject_type, subject_id, project_id, team_id, data)
    SELECT ${v.at}, ${v.actorId}, ${v.kind}, ${v.subjectType}, ${v.subjectId}, ${v.projectId}, ${v.teamId}, ${v.data}
    WHERE changes() > 0`);
}

function recount(orm: Orm, projectId: string) {
  return orm
    .update(projects)
    .set({ starCount: sql`(SELECT count(*) FROM project_stars WHERE project_id = ${projectId})` })
    .where(eq(projects.id, projectId));
}

function countOf(orm: Orm, projectId: string) {
  return orm.select({ starCount: projects.starCount }).from(projects).where(eq(projects.id, projectId));
}

function event(project: StarProject, userId: string, kind: string): NewEvent {
  return { actorId: userId, kind, subjectType: "project", subjectId: project.id, projectId: project.id, teamId: project.ownerTeamId };
}

/** Stars the project for the user (idempotent). The caller has checked read access. */
export async function star(orm: Orm, project: StarProject, user: Pick<User, "id">): Promise<StarState> {
  const [, ev, , count] = await orm.batch([
    orm.insert(projectStars).values({ projectId: project.id, userId: user.id, createdAt: Date.now() }).onConflictDoNothing(),
    eventIfChanged(orm, event(project, user.id, "project.starred")),
    recount(orm, project.id),
    countOf(orm, project.id),
  ]);
  return { starred: true, starCount: count[0]?.starCount ?? 0, changed: ev.rowsAffected > 0 };
}

/** Removes the user's star (idempotent). */
export async function unstar(orm: Orm, project: StarProject, user: Pick<User, "id">): Promise<StarState> {
  const [, ev, , count] = await orm.batch([
    orm.delete(projectStars).where(and(eq(projectStars.projectId, project.id), eq(projectStars.userId, user.id))),
    eventIfChanged(orm, event(project, user.id, "project.unstarred")),
    recount(orm, project.id),
    countOf(orm, project.id),
  ]);
  return { starred: false, starCount: count[0]?.starCount ?? 0, changed: ev.rowsAffected > 0 };
}

export async function isStarred(orm: Orm, projectId: string, userId: string): Promise<boolean> {
  const row = await orm
    .select({ one: sql<number>`1` })
    .from(projectStars)
    .where(and(eq(projectStars.projectId, projectId), eq(projectStars.userId, userId)))
    .get();
  return row !== undefined;
}

/**
 * The projects a user starred and can still read (access may have been lost since),
 * most recently starred first.
 */
export async function listStarredBy(orm: Orm, user: User, limit = 100): Promise<Project[]> {
  const rows = await orm
    .select({ project: projects, role: teamMembers.role })
    .from(projectStars)
    .innerJoin(projects, eq(projects.id, projectStars.projectId))
    .leftJoin(teamMembers, and(eq(teamMembers.teamId, projects.ownerTeamId), eq(teamMembers.userId, user.id)))
    .where(eq(projectStars.userId, user.id))
    // rowid breaks ties between stars given in the same millisecond: the later insert is newer.
    .orderBy(desc(projectStars.createdAt), desc(sql`project_stars.rowid`))
    .limit(Math.min(Math.max(Math.trunc(limit) || 1, 1), 500));
  // projectLevel only looks at who the user is; how they signed in does not matter here.
  const asUser: Actor = { kind: "user", user, via: "session", sessionId: "" };
  return rows.filter((r) => projectLevel(r.project, asUser, r.role ?? null) !== "none").map((r) => r.project);
}
