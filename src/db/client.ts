/**
 * The data layer: drizzle over `@libsql/client`. A `file:` URL is the embedded
 * default (one libSQL file in WAL mode); a `libsql://` / `http(s)://` URL points
 * at a libSQL server for installs that outgrow one machine.
 */
import { createClient, type Client } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import Database from "libsql";
import * as schema from "./schema.ts";

export type Orm = LibSQLDatabase<typeof schema>;

export type Db = {
  client: Client;
  orm: Orm;
  /** The local file path when the database is embedded; undefined for a libSQL server. */
  file: string | undefined;
  /**
   * The id of the newest event (0 when none). Every change to users, teams, projects and
   * files appends an event, so this number changing is how read caches learn that what
   * they hold may be stale — across processes too (the CLI writes while the server runs).
   */
  dataVersion(): Promise<number>;
  close(): void;
};

const BUSY_TIMEOUT_MS = 5000;

export async function openDatabase(url: string, authToken?: string): Promise<Db> {
  const file = url.startsWith("file:") ? url.slice("file:".length) : undefined;
  // `timeout` is libsql's busy timeout: the CLI may write while the server runs.
  const client = createClient({ url, authToken, timeout: BUSY_TIMEOUT_MS } as Parameters<typeof createClient>[0]);
  if (file) {
    // WAL is persistent in the file; synchronous=FULL and foreign_keys=ON are
    // libsql's per-connection defaults (checked at start by checkPragmas).
    await client.execute("PRAGMA journal_mode=WAL");
  }
  const orm = drizzle(client, { schema });
  let reader: InstanceType<typeof Database> | undefined;
  let versionStmt: { get(): unknown } | undefined;
  const dataVersion = async (): Promise<number> => {
    if (!file) {
      const rs = await client.execute("SELECT max(id) FROM events");
      return Number(rs.rows[0]?.[0] ?? 0);
    }
    if (!versionStmt) {
      // A read-only `libsql` connection with the statement prepared once: a synchronous
      // read of a few microseconds, where @libsql/client costs ~20 µs per call. WAL lets it
      // see every commit, from any process, without blocking writers.
      reader = new Database(file, { readonly: true, timeout: BUSY_TIMEOUT_MS } as ConstructorParameters<typeof Database>[1]);
      versionStmt = reader.prepare("SELECT max(id) AS id FROM events");
    }
    return Number((versionStmt.get() as { id: number | null } | undefined)?.id ?? 0);
  };
  return {
    client,
    orm,
    file,
    dataVersion,
    close: () => {
      reader?.close();
      client.close();
    },
  };
}

/** Fails loudly if the durability settings we rely on are not in force. */
export async function checkPragmas(db: Db): Promise<Record<string, unknown>> {
  if (!db.file) return {};
  const read = async (p: string) => {
    const row = (await db.client.execute(`PRAGMA ${p}`)).rows[0];
    return row ? row[0] : undefined;
  };
  const found = {
    journal_mode: await read("journal_mode"),
    synchronous: await read("synchronous"),
    foreign_keys: await read("foreign_keys"),
  };
  if (found.journal_mode !== "wal") throw new Error(`database is not in WAL mode (${String(found.journal_mode)})`);
  if (Number(found.synchronous) < 2) throw new Error(`database synchronous is ${String(found.synchronous)}, want FULL (2)`);
  if (Number(found.foreign_keys) !== 1) throw new Error("database foreign_keys is off");
  return found;
}

/**
 * Refuses to start on a damaged database file instead of failing later on some
 * query. quick_check reads every page (milliseconds for a small instance).
 */
export async function checkIntegrity(db: Db): Promise<void> {
  let problems: string[];
  try {
    const rs = await db.client.execute("PRAGMA quick_check");
    problems = rs.rows.map((r) => String(r[0])).filter((v) => v !== "ok");
  } catch (e) {
    problems = [(e as Error).message];
  }
  if (problems.length > 0) {
    throw new Error(
      `the database ${db.file} is damaged (${problems.slice(0, 3).join("; ")}). ` +
        "Stop Wove and restore the data directory from a backup; keep the damaged file for inspection.",
    );
  }
}
