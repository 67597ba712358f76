/**
 * The deployments table: one row per press of Deploy (or rollback). A row moves
 * queued → building → starting → live, or ends failed / stopped / superseded. At most one row
 * per project is live (a partial unique index), and the switch from the old live row to the new
 * one is a single batch, so a crash can never leave two live deployments or none by accident.
 */
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { deployments, projects, type Project } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { newId } from "../lib/crypto.ts";
import type { DeployKind, DeployStatus, Plan } from "./types.ts";

export type Deployment = typeof deployments.$inferSelect;

/** Statuses after which nothing more happens to a deployment's build. */
export const FINISHED: readonly DeployStatus[] = ["live", "failed", "stopped", "superseded"];
export const IN_PROGRESS: readonly DeployStatus[] = ["queued", "building", "starting"];

export type DeploymentJson = {
  id: string;
  projectId: string;
  number: number;
  status: DeployStatus;
  kind: DeployKind | null;
  url: string | null;
  rollbackOf: string | null;
  error: string | null;
  restarts: number;
  createdBy: string | null;
  createdAt: string;
  startedAt: string | null;
  liveAt: string | null;
  finishedAt: string | null;
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function deploymentJson(d: Deployment, url: string | null): DeploymentJson {
  return {
    id: d.id,
    projectId: d.projectId,
    number: d.number,
    status: d.status,
    kind: d.kind,
    url: d.status === "live" ? url : null,
    rollbackOf: d.rollbackOf,
    error: d.error,
    restarts: d.restarts,
    createdBy: d.createdBy,
    createdAt: new Date(d.createdAt).toISOString(),
    startedAt: iso(d.startedAt),
    liveAt: iso(d.liveAt),
    finishedAt: iso(d.finishedAt),
  };
}

export function planOf(d: Deployment): Plan | null {
  return d.plan ? (JSON.parse(d.plan) as Plan) : null;
}

/** A new queued deployment with the project's next number (computed inside the INSERT, so two presses never share one). */
export async function createDeployment(orm: Orm, project: Pick<Project, "id" | "ownerTeamId">, actorId: string | null, rollbackOf: string | null = null): Promise<Deployment> {
  const id = newId();
  const now = Date.now();
  const ev = eventValues({
    actorId,
    kind: rollbackOf ? "deploy.rollback" : "deploy.create",
    subjectType: "project",
    subjectId: project.id,
    projectId: project.id,
    teamId: project.ownerTeamId,
    data: { deploymentId: id, rollbackOf },
  });
  await orm.batch([
    orm.run(sql`INSERT INTO deployments (id, project_id, number, status, rollback_of, created_by, created_at)
      SELECT ${id}, ${project.id}, coalesce(max(number), 0) + 1, 'queued', ${rollbackOf}, ${actorId}, ${now}
      FROM deployments WHERE project_id = ${project.id}`),
    orm.run(sql`INSERT INTO events (at, actor_id, kind, subject_type, subject_id, project_id, team_id, data)
      VALUES (${ev.at}, ${ev.actorId}, ${ev.kind}, ${ev.subjectType}, ${ev.subjectId}, ${ev.projectId}, ${ev.teamId}, ${ev.data})`),
  ]);
  return (await getDeployment(orm, id)) as Deployment;
}

export async function getDeployment(orm: Orm, id: string): Promise<Deployment | undefined> {
  const [row] = await orm.select().from(deployments).where(eq(deployments.id, id));
  return row;
}

export async function listDeployments(orm: Orm, projectId: string, limit = 50): Promise<Deployment[]> {
  return orm.select().from(deployments).where(eq(deployments.projectId, projectId)).orderBy(desc(deployments.number)).limit(limit);
}

export async function liveDeployment(orm: Orm, projectId: string): Promise<Deployment | undefined> {
  const [row] = await orm.select().from(deployments).where(and(eq(deployments.projectId, projectId), eq(deployments.status, "live")));
  return row;
}

export async function deploymentsWithStatus(orm: Orm, statuses: readonly DeployStatus[]): Promise<Deployment[]> {
  return orm.select().from(deployments).where(inArray(deployments.status, [...statuses])).orderBy(deployments.createdAt);
}

export type DeploymentPatch = Partial<Pick<Deployment, "status" | "kind" | "plan" | "image" | "containerId" | "hostPort" | "error" | "restarts" | "startedAt" | "finishedAt">>;

export async function updateDeployment(orm: Orm, id: string, patch: DeploymentPatch): Promise<void> {
  await orm.update(deployments).set(patch).where(eq(deployments.id, id));
}

/**
 * Makes `id` the project's live deployment and the previous live one superseded — one batch,
 * demotion first (the unique index on live rows would refuse the other order).
 * Returns the deployment that was live before, if any.
 */
export async function switchLive(orm: Orm, projectId: string, id: string, actorId: string | null): Promise<Deployment | undefined> {
  const before = await liveDeployment(orm, projectId);
  const now = Date.now();
  const [owner] = await orm.select({ teamId: projects.ownerTeamId }).from(projects).where(eq(projects.id, projectId));
  const ev = eventValues({ actorId, kind: "deploy.live", subjectType: "project", subjectId: projectId, projectId, teamId: owner?.teamId ?? null, data: { deploymentId: id, previous: before?.id ?? null } });
  await orm.batch([
    orm.update(deployments).set({ status: "superseded", finishedAt: now }).where(and(eq(deployments.projectId, projectId), eq(deployments.status, "live"))),
    orm.update(deployments).set({ status: "live", liveAt: now, error: null }).where(eq(deployments.id, id)),
    orm.run(sql`INSERT INTO events (at, actor_id, kind, subject_type, subject_id, project_id, team_id, data)
      VALUES (${ev.at}, ${ev.actorId}, ${ev.kind}, ${ev.subjectType}, ${ev.subjectId}, ${ev.projectId}, ${ev.teamId}, ${ev.data})`),
  ]);
  return before?.id === id ? undefined : before;
}

/** Ends a deployment (failed or stopped) with an optional error, recording the moment. */
export async function finishDeployment(orm: Orm, id: string, status: "failed" | "stopped", error: string | null = null): Promise<void> {
  await orm.update(deployments).set({ status, error, finishedAt: Date.now() }).where(eq(deployments.id, id));
}

export async function deleteDeploymentRow(orm: Orm, id: string): Promise<void> {
  await orm.delete(deployments).where(eq(deployments.id, id));
}
