/**
 * Group commit for writes on a hot path: every caller of one event-loop tick shares one
 * transaction (one fsync under synchronous=FULL), with each kind of write as a few multi-row
 * statements. Used by the AI chat path (questions, answers, usage rows).
 */
import type { InStatement, InValue, ResultSet } from "@libsql/client";
import { getTableColumns, getTableName, type Column } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { App } from "../core/app.ts";

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
