import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import { recordEvent, listEvents } from "../events/events.ts";
import { checkPragmas, openDatabase } from "./client.ts";
import { migrate } from "./migrate.ts";
import { migrations } from "./migrations/index.ts";
import { checkVectorExtension, openVectorDatabase } from "./vec.ts";

let dir = "";
let app: App | undefined;
afterEach(() => {
  app?.close();
  app = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function fresh(): Promise<App> {
  dir = mkdtempSync(join(tmpdir(), "wove-db-"));
  app = await openApp(loadConfig({ data: dir }, {}));
  return app;
}

describe("storage", () => {
  test("a new data dir gets WAL, FULL sync, foreign keys, every migration, and a 0600 secret key", async () => {
    const a = await fresh();
    expect(await checkPragmas(a.db)).toEqual({ journal_mode: "wal", synchronous: 2, foreign_keys: 1 });
    const rows = (await a.db.client.execute("SELECT id FROM schema_migrations ORDER BY id")).rows.map((r) => r[0]);
    expect(rows).toEqual(migrations.map((m) => m.id));
    expect(statSync(join(dir, "secret.key")).mode & 0o777).toBe(0o600);
    expect(a.secret.length).toBe(32);
  });

  test("migrating twice is a no-op, and a second process sees the same schema", async () => {
    const a = await fresh();
    expect((await migrate(a.db)).applied).toEqual([]);
    const other = await openDatabase(`file:${join(dir, "wove.db")}`);
    expect((await migrate(other)).applied).toEqual([]);
    other.close();
  });

  test("a database from a newer wove is refused with a clear message", async () => {
    const a = await fresh();
    await a.db.client.execute("INSERT INTO schema_migrations (id, applied_at) VALUES ('9999_future', 0)");
    await expect(migrate(a.db)).rejects.toThrow("migrations this wove does not know (9999_future)");
  });

  test("the events table is append-only", async () => {
    const a = await fresh();
    await recordEvent(a.db.orm, { actorId: null, kind: "test.thing", subjectType: "instance", subjectId: "x", projectId: "p1" });
    await expect(a.db.client.execute("UPDATE events SET kind = 'changed'")).rejects.toThrow("append-only");
    await expect(a.db.client.execute("DELETE FROM events")).rejects.toThrow("append-only");
    const list = await listEvents(a.db.orm, { projectIds: ["p1"] });
    expect(list.map((e) => e.kind)).toEqual(["test.thing"]);
  });

  test("a damaged secret key is refused", async () => {
    dir = mkdtempSync(join(tmpdir(), "wove-db-"));
    writeFileSync(join(dir, "secret.key"), "c2hvcnQ=\n", { mode: 0o600 });
    await expect(openApp(loadConfig({ data: dir }, {}))).rejects.toThrow("is damaged");
  });

  test("sqlite-vec loads, and blobs bound as one array do not crash libsql (regression: bare Buffer args abort the process)", async () => {
    expect(checkVectorExtension()).toMatch(/^v\d+\.\d+\.\d+/);
    const a = await fresh();
    const vdb = openVectorDatabase(a.db.file ?? "");
    vdb.exec("CREATE VIRTUAL TABLE IF NOT EXISTS test_vec USING vec0(embedding float[4])");
    const insert = vdb.prepare("INSERT INTO test_vec(rowid, embedding) VALUES (?, ?)");
    // Always pass parameters as ONE array: libsql 0.5.29 panics on a bare typed-array argument.
    insert.run([1n, new Float32Array([1, 0, 0, 0])]);
    insert.run([2n, new Float32Array([0, 1, 0, 0])]);
    const hits = vdb
      .prepare("SELECT rowid, distance FROM test_vec WHERE embedding MATCH ? ORDER BY distance LIMIT 1")
      .all([new Float32Array([0.9, 0.1, 0, 0])]) as { rowid: number }[];
    expect(Number(hits[0]?.rowid)).toBe(1);
    vdb.close();
  });
});
