/**
 * Token accounting: one ai_usage row per model call (a failed attempt before a fallback is its
 * own row, with its cost from prices.ts — a model without a price, every local model by
 * default, costs 0), the tokens a user or team used since a moment (daily quotas), and the
 * usage report. The chat path's writes — usage rows, questions, answers — are group-committed
 * (src/db/write-together.ts): one transaction per tick for all concurrent requests.
 */
import { and, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { insertRows, writeTogether, type WriteKind } from "../db/write-together.ts";
import { aiUsage } from "../db/schema.ts";
import type { Actor } from "../auth/actor.ts";
import { forbidden, unauthorized } from "../lib/errors.ts";
import type { TaskKind } from "./types.ts";

export type UsageStatus = "ok" | "error" | "cancelled";

export type UsageRecord = {
  userId: string | null;
  teamId: string | null;
  projectId: string | null;
  conversationId: string | null;
  task: TaskKind;
  providerId: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  latencyMs: number;
  ttftMs: number | null;
  costMicros: number;
  status: UsageStatus;
  error: string | null;
};

const usageRows: WriteKind<typeof aiUsage.$inferInsert, void> = {
  statements: (rows) => insertRows(aiUsage, rows),
  results: (rows) => rows.map(() => undefined),
};

/** Stores one row, with the other writes of the tick (writeTogether). */
export function recordUsage(app: App, r: UsageRecord, at = Date.now()): Promise<void> {
  return writeTogether(app, usageRows, { at, ...r, error: r.error === null ? null : r.error.slice(0, 500) });
}

/**
 * A rough token count (four characters a token, the usual rule of thumb for English and code)
 * for calls whose provider reported none — a cancelled stream, one that broke midway — so that
 * quotas still see what was spent.
 */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

/** Midnight UTC at the start of the day containing `now`. */
export function startOfUtcDay(now = Date.now()): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** Tokens (in + out, every status: a failed call still cost the provider work) used since `since`. */
export async function tokensUsedSince(app: App, who: { userId: string } | { teamId: string }, since: number): Promise<number> {
  const subject = "userId" in who ? eq(aiUsage.userId, who.userId) : eq(aiUsage.teamId, who.teamId);
  const row = await app.db.orm
    .select({ n: sql<number>`coalesce(sum(${aiUsage.tokensIn} + ${aiUsage.tokensOut}), 0)` })
    .from(aiUsage)
    .where(and(subject, gte(aiUsage.at, since)))
    .get();
  return Number(row?.n ?? 0);
}

export type UsageTotals = {
  requests: number;
  ok: number;
  errors: number;
  cancelled: number;
  tokensIn: number;
  tokensOut: number;
  costMicros: number;
};

/** One day × provider × model. */
export type UsageRow = UsageTotals & {
  day: string;
  providerId: string;
  model: string;
  /** Mean over successful calls, ms (null when there were none). */
  avgLatencyMs: number | null;
  avgTtftMs: number | null;
};

export type UsageReport = {
  from: string;
  to: string;
  subject: { userId: string } | { teamId: string } | { all: true };
  totals: UsageTotals;
  rows: UsageRow[];
};

export type UsageFilter = { userId?: string; teamId?: string; all?: boolean };

/**
 * Usage between `from` (inclusive) and `to` (exclusive), epoch ms. By default the actor's own;
 * only instance admins may ask for another user's, a team's, or everyone's (`filter`).
 */
export async function usageFor(app: App, actor: Actor, from: number, to: number, filter: UsageFilter = {}): Promise<UsageReport> {
  if (actor.kind !== "user") throw unauthorized();
  const self = actor.user.id;
  const wantsOther = (filter.userId !== undefined && filter.userId !== self) || filter.teamId !== undefined || filter.all === true;
  if (wantsOther && actor.user.role !== "admin") throw forbidden("Only instance admins can see other people's or a team's AI usage.");
  const subject: UsageReport["subject"] =
    filter.teamId !== undefined ? { teamId: filter.teamId } : filter.all ? { all: true } : { userId: filter.userId ?? self };
  const where: SQL[] = [gte(aiUsage.at, from), lt(aiUsage.at, to)];
  if ("teamId" in subject) where.push(eq(aiUsage.teamId, subject.teamId));
  if ("userId" in subject) where.push(eq(aiUsage.userId, subject.userId));
  const day = sql<string>`strftime('%Y-%m-%d', ${aiUsage.at} / 1000, 'unixepoch')`;
  const okOnly = (col: SQL | typeof aiUsage.latencyMs) => sql<number | null>`avg(CASE WHEN ${aiUsage.status} = 'ok' THEN ${col} END)`;
  const raw = await app.db.orm
    .select({
      day,
      providerId: aiUsage.providerId,
      model: aiUsage.model,
      requests: sql<number>`count(*)`,
      ok: sql<number>`sum(${aiUsage.status} = 'ok')`,
      errors: sql<number>`sum(${aiUsage.status} = 'error')`,
      cancelled: sql<number>`sum(${aiUsage.status} = 'cancelled')`,
      tokensIn: sql<number>`sum(${aiUsage.tokensIn})`,
      tokensOut: sql<number>`sum(${aiUsage.tokensOut})`,
      costMicros: sql<number>`sum(${aiUsage.costMicros})`,
      avgLatencyMs: okOnly(aiUsage.latencyMs),
      avgTtftMs: okOnly(sql`${aiUsage.ttftMs}`),
    })
    .from(aiUsage)
    .where(and(...where))
    .groupBy(day, aiUsage.providerId, aiUsage.model)
    .orderBy(day, aiUsage.providerId, aiUsage.model)
    .all();
  const totals: UsageTotals = { requests: 0, ok: 0, errors: 0, cancelled: 0, tokensIn: 0, tokensOut: 0, costMicros: 0 };
  const rows: UsageRow[] = raw.map((r) => {
    const row: UsageRow = {
      day: r.day,
      providerId: r.providerId,
      model: r.model,
      requests: Number(r.requests),
      ok: Number(r.ok),
      errors: Number(r.errors),
      cancelled: Number(r.cancelled),
      tokensIn: Number(r.tokensIn),
      tokensOut: Number(r.tokensOut),
      costMicros: Number(r.costMicros),
      avgLatencyMs: r.avgLatencyMs === null ? null : Math.round(Number(r.avgLatencyMs)),
      avgTtftMs: r.avgTtftMs === null ? null : Math.round(Number(r.avgTtftMs)),
    };
    for (const k of Object.keys(totals) as (keyof UsageTotals)[]) totals[k] += row[k];
    return row;
  });
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), subject, totals, rows };
}
