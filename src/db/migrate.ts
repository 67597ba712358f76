/** Applies the embedded SQL migrations, each in its own transaction, once. */
import type { Db } from "./client.ts";
import { migrations } from "./migrations/index.ts";

export type MigrationResult = { applied: string[]; current: string | undefined };

async function appliedIds(db: Db): Promise<Set<string>> {
  await db.client.execute(
    "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
  );
  const rs = await db.client.execute("SELECT id FROM schema_migrations");
  return new Set(rs.rows.map((r) => String(r[0])));
}

export async function migrate(db: Db): Promise<MigrationResult> {
  const applied: string[] = [];
  let done = await appliedIds(db);
  const known = new Set(migrations.map((m) => m.id));
  const unknown = [...done].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new Error(`the database has migrations this wove does not know (${unknown.join(", ")}); is it older than the data?`);
  }
  for (const m of migrations) {
    if (done.has(m.id)) continue;
    const id = m.id.replace(/'/g, "");
    try {
      await db.client.executeMultiple(
        `BEGIN IMMEDIATE;\n${m.sql}\nINSERT INTO schema_migrations (id, applied_at) VALUES ('${id}', ${Date.now()});\nCOMMIT;`,
      );
    } catch (e) {
      // Another process (a CLI next to the server) may have applied it first.
      done = await appliedIds(db);
      if (done.has(m.id)) continue;
      throw new Error(`migration ${m.id} failed: ${(e as Error).message}`);
    }
    applied.push(m.id);
  }
  return { applied, current: migrations.at(-1)?.id };
}
