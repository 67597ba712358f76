/**
 * Token accounting: one ai_usage row per model call (a failed attempt before a fallback is its
 * own row, with its cost from prices.ts — a model without a price, every local model by
 * default, costs 0), the tokens a user or team used since a moment (daily quotas), and the
 * usage report. The chat path's writes — usage rows, questions, answers — are group-committed
 * (writeTogether): one transaction per tick for all concurrent requests.
 */
import type { InStatement, InValue, ResultSet } from "@libsql/client";
import { and, eq, getTableColumns, getTableName, gte, lt, sql, type Column, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { App } from "../core/app.ts";
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

/** Writes of one kind that every caller of a tick shares (see writeTogether). */
export type WriteKind<I, R> = {
  /** The statements that store `items`: a few multi-row ones rather than one per item. */
  statements(items: I[]): InStatement[];
  /** Each item's result, in order, from those statements' results. */
  results(items: I[], results: ResultSet[]): R[];
};

type Waiter = { resolve: (r: unknown) => void; reject: (e: unknown) => void };
type Gathered = { kind: WriteKind<unknown, unknown>; items: unknown[]; waiters: Waiter[] };
const gathering = new WeakMap<App, Map<WriteKind<unknown, unknown>, Gathered>>();

/**
 * Stores `item` in one transaction with every other write of the tick (group commit), each
 * kind as a few multi-row statements; resolves with the item's result once it is durable.
 *
 * The embedded database runs on the event loop, and with synchronous=FULL every commit is an
 * fsync of milliseconds: 200 chats storing their question, their answer and their usage rows
 * one commit at a time held every other stream's tokens for a thousand fsyncs. One transaction
 * per tick costs one fsync, whatever the number of callers. If it fails, every item is retried
 * in a transaction of its own, so one caller's failure (a conversation deleted meanwhile) does
 * not fail the others.
 */
export function writeTogether<I, R>(app: App, kind: WriteKind<I, R>, item: I): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let tick = gathering.get(app);
    if (!tick) {
      const pending = (tick = new Map());
      gathering.set(app, pending);
      // A timer, not setImmediate: it runs after the event loop has sent what this turn wrote
      // to sockets (Bun corks a turn's writes), so a commit never holds up tokens on their way.
      setTimeout(() => {
        gathering.delete(app);
        void commitGathered(app, [...pending.values()]);
      }, 0);
    }
    const k = kind as WriteKind<unknown, unknown>;
    let g = tick.get(k);
    if (!g) tick.set(k, (g = { kind: k, items: [], waiters: [] }));
    g.items.push(item);
    g.waiters.push({ resolve: resolve as (r: unknown) => void, reject });
  });
}

async function commitGathered(app: App, groups: Gathered[]): Promise<void> {
  try {
    const built = groups.map((g) => g.kind.statements(g.items));
    const results = await app.db.client.batch(built.flat(), "write");
    let at = 0;
    groups.forEach((g, i) => {
      const n = built[i]?.length ?? 0;
      const each = g.kind.results(g.items, results.slice(at, (at += n)));
      g.waiters.forEach((w, j) => w.resolve(each[j]));
    });
  } catch (e) {
    if (groups.length === 1 && groups[0]?.items.length === 1) {
      groups[0].waiters[0]?.reject(e);
      return;
    }
    for (const g of groups) {
      for (let j = 0; j < g.items.length; j++) {
        const one = [g.items[j]];
        try {
          g.waiters[j]?.resolve(g.kind.results(one, await app.db.client.batch(g.kind.statements(one), "write"))[0]);
        } catch (err) {
          g.waiters[j]?.reject(err);
        }
      }
    }
  }
}

/** Bound parameters per statement; SQLite allows 32766. */
const MAX_PARAMS = 30_000;

/**
 * Multi-row INSERTs of `rows` into `table` (several when they would bind too many parameters),
 * written out directly with the table's column names and value mapping: drizzle's query
 * builder costs some 25 µs a row, which 200 concurrent chats pay on the event loop. Every row
 * has the same keys; `returning` is a RETURNING clause.
 */
export function insertRows<T extends SQLiteTable>(table: T, rows: T["$inferInsert"][], returning = ""): InStatement[] {
  const first = rows[0];
  if (!first) return [];
  const columns = Object.entries(getTableColumns(table) as Record<string, Column>).filter(([key]) => key in first);
  const head = `INSERT INTO "${getTableName(table)}" (${columns.map(([, c]) => `"${c.name}"`).join(", ")}) VALUES `;
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  const per = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const out: InStatement[] = [];
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const args = chunk.flatMap((row) =>
      columns.map(([key, c]) => {
        const v = (row as Record<string, unknown>)[key];
        return (v === null || v === undefined ? null : c.mapToDriverValue(v)) as InValue;
      }),
    );
    out.push({ sql: `${head}${chunk.map(() => tuple).join(", ")}${returning ? ` RETURNING ${returning}` : ""}`, args });
  }
  return out;
}

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
