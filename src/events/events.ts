/**
 * The append-only event log: every change to users, teams, projects and files
 * (who, what, when). Triggers in the schema refuse UPDATE and DELETE.
 */
import { and, desc, eq, inArray, lt, or, type SQL } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events } from "../db/schema.ts";

export type SubjectType = "user" | "team" | "project" | "file" | "token" | "session" | "instance" | "prompt";

export type NewEvent = {
  actorId: string | null;
  kind: string;
  subjectType: SubjectType;
  subjectId: string;
  projectId?: string | null;
  teamId?: string | null;
  data?: Record<string, unknown>;
};

export type EventRow = typeof events.$inferSelect;

export function eventValues(e: NewEvent) {
  return {
    at: Date.now(),
    actorId: e.actorId,
    kind: e.kind,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    projectId: e.projectId ?? null,
    teamId: e.teamId ?? null,
    data: JSON.stringify(e.data ?? {}),
  };
}

export async function recordEvent(orm: Orm, e: NewEvent): Promise<void> {
  await orm.insert(events).values(eventValues(e));
}

export type EventFilter = { projectIds?: string[]; actorId?: string; teamIds?: string[]; before?: number; limit?: number };

/** Newest first. With several filters, an event matching any of them is returned. */
export async function listEvents(orm: Orm, f: EventFilter): Promise<EventRow[]> {
  const any: SQL[] = [];
  if (f.projectIds && f.projectIds.length > 0) any.push(inArray(events.projectId, f.projectIds));
  if (f.teamIds && f.teamIds.length > 0) any.push(inArray(events.teamId, f.teamIds));
  if (f.actorId) any.push(eq(events.actorId, f.actorId));
  if (any.length === 0) return [];
  const where = and(or(...any), f.before ? lt(events.id, f.before) : undefined);
  return orm.select().from(events).where(where).orderBy(desc(events.id)).limit(Math.min(f.limit ?? 50, 200));
}
