/**
 * `wove admin rotate-key`: replaces the instance key in `<data>/secret.key` with a new random
 * one and re-seals every sealed value with it; `--forget-old` later retires the old keys.
 *
 * Why this order is crash-safe. The key file and the database cannot change in one atomic
 * step, so at some instant one is new and the other old. Readers therefore try a key ring —
 * the running key, the key file, then every kept `secret.key.old-*` (projects/env.ts keyRing) —
 * and the steps are ordered so that every value opens with some key of that ring at every
 * instant:
 *   1. copy the current key to `secret.key.old-<UTC time>` (0600; fsync file and dir);
 *   2. write the new key to `secret.key.new` (0600; fsync), rename it over `secret.key`,
 *      fsync the dir — the rename is atomic: the file holds the old key or the new one;
 *   3. in ONE write transaction (a batch), open every value with the ring and seal it with the new key.
 * A crash before step 2's rename changes nothing that matters; between the rename and the
 * commit, values are still sealed with the old key, which step 1 kept; after the commit they
 * are sealed with the new key in `secret.key`. Running the command again finishes the job.
 * (The other order — re-seal, then rename — would leave, after a crash in between, values
 * sealed with a key that exists only in a temp file nobody reads.)
 *
 * The old key is kept until `--forget-old`: a server still running with it in memory seals
 * new values with it until it restarts, and backups taken before the rotation need it.
 * `--forget-old` re-seals whatever still needs an old key with the current one, commits,
 * and only then deletes the old key files.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Client, InValue } from "@libsql/client";
import type { Db } from "../db/client.ts";
import { seal, unseal } from "../lib/crypto.ts";
import { KEY_FILE, keyRing, OLD_KEY_PREFIX, oldKeyFiles, readKeyFile, unsealWithRing } from "../projects/env.ts";

/** A column whose values are sealed with the instance key; rotate-key re-seals each one. */
export type SealedColumn = { what: string; table: string; keys: string[]; value: string };

/** Every sealed column of the schema. A feature that seals something adds its line here. */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { what: "project environment variables", table: "project_env", keys: ["project_id", "name"], value: "value_sealed" },
  { what: "AI provider API keys", table: "ai_providers", keys: ["id"], value: "api_key_sealed" },
];

export type RotateStep = "old-key-kept" | "new-key-written" | "key-replaced" | "committed";

export type RotateOptions = {
  dataDir: string;
  db: Db;
  /** Called after each step (crash-injection tests kill the process here). */
  onStep?: (step: RotateStep) => void;
  /** The environment to check for WOVE_SECRET_KEY (default process.env). */
  env?: Record<string, string | undefined>;
};

export type RotateResult = Resealed & { keyFile: string; oldKeyFile: string };

/** A refusal the admin can act on; the message says what to do. */
export class RotateKeyError extends Error {}

const IDENT = /^[a-z_][a-z0-9_]*$/;

function checkRegistry(): void {
  for (const c of SEALED_COLUMNS) {
    for (const id of [c.table, c.value, ...c.keys]) if (!IDENT.test(id)) throw new Error(`sealed column registry: bad identifier ${JSON.stringify(id)}`);
  }
}

export function envKeyRefusal(dataDir: string): string {
  const key = join(dataDir, KEY_FILE);
  return [
    "This instance takes its key from WOVE_SECRET_KEY, so rotate-key cannot replace it. To rotate it:",
    `  1. Stop Wove, then put the current key in the key file:  (umask 077; printf '%s\\n' "$WOVE_SECRET_KEY" > ${key})`,
    `  2. Rotate without the variable:  env -u WOVE_SECRET_KEY wove admin rotate-key --data ${dataDir}`,
    `  3. Set WOVE_SECRET_KEY to the new key (the contents of ${key}), delete ${key}, and start Wove.`,
    `  4. Later: wove admin rotate-key --data ${dataDir} --forget-old  (with the new WOVE_SECRET_KEY set) to retire the old key.`,
  ].join("\n");
}

/** Writes `data` to a new file with mode 0600 and flushes it to disk. */
function writeDurably(path: string, data: string | Buffer, flag: "wx" | "w"): void {
  const fd = openSync(path, flag, 0o600);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename or unlink in `dir` durable. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Copies the key file to a new `secret.key.old-<UTC time>` (a second rotation in the same millisecond gets a suffix). */
function keepOldKey(dataDir: string, bytes: Buffer): string {
  const stamp = new Date().toISOString().replace(/:/g, "-");
  for (let n = 1; ; n++) {
    const path = join(dataDir, `${OLD_KEY_PREFIX}${stamp}${n > 1 ? `-${n}` : ""}`);
    try {
      writeDurably(path, bytes, "wx");
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || n > 100) throw e;
    }
  }
}

type Row = { column: SealedColumn; keys: InValue[]; sealed: string };

async function readSealed(client: Client, column: SealedColumn): Promise<Row[]> {
  // A NULL is no secret (a provider without an API key): nothing to re-seal.
  const rs = await client.execute(`SELECT ${[...column.keys, column.value].join(", ")} FROM ${column.table} WHERE ${column.value} IS NOT NULL`);
  return rs.rows.map((r) => ({ column, keys: column.keys.map((_, i) => r[i] ?? null), sealed: String(r[column.keys.length]) }));
}

function describeRow(r: Row): string {
  return `${r.column.table}(${r.column.keys.map((k, i) => `${k}=${String(r.keys[i])}`).join(", ")})`;
}

function refuseUnreadable(bad: string[]): never {
  throw new RotateKeyError(
    `${bad.length} sealed value(s) open with none of this instance's keys, so they cannot be re-sealed: ${bad.slice(0, 10).join("; ")}${bad.length > 10 ? "; …" : ""}. ` +
      "Restore the key they were sealed with (as a secret.key.old-* file in the data dir) or delete those values, then try again.",
  );
}

/** Every sealed value that `needs` work, opened with the ring; refuses when any cannot be opened. */
async function opened(db: Db, ring: readonly Buffer[], needs: (sealed: string) => boolean): Promise<{ row: Row; plain: string }[]> {
  const todo: { row: Row; plain: string }[] = [];
  const bad: string[] = [];
  for (const column of SEALED_COLUMNS) {
    for (const row of await readSealed(db.client, column)) {
      if (!needs(row.sealed)) continue;
      const plain = unsealWithRing(ring, row.sealed);
      if (plain === undefined) bad.push(describeRow(row));
      else todo.push({ row, plain });
    }
  }
  if (bad.length > 0) refuseUnreadable(bad);
  return todo;
}

type Resealed = { counts: Record<string, number>; changedMeanwhile: number };

/**
 * Re-seals with `target` every value that `needs` it, opening each with `ring`, in ONE batch
 * (one write transaction). Each UPDATE applies only if the value is still the one read, so a
 * value the server rewrote in the meantime is left as written (sealed with the server's
 * running key, which the ring holds) instead of being overwritten with stale content. The
 * write lock is held only while the batch runs, never across a wait.
 */
async function reseal(db: Db, ring: readonly Buffer[], target: Buffer, needs: (sealed: string) => boolean): Promise<Resealed> {
  const todo = await opened(db, ring, needs);
  const counts: Record<string, number> = Object.fromEntries(SEALED_COLUMNS.map((c) => [c.what, 0]));
  if (todo.length === 0) return { counts, changedMeanwhile: 0 };
  const results = await db.client.batch(
    todo.map(({ row, plain }) => ({
      sql: `UPDATE ${row.column.table} SET ${row.column.value} = ? WHERE ${row.column.keys.map((k) => `${k} = ?`).join(" AND ")} AND ${row.column.value} = ?`,
      args: [seal(target, plain), ...row.keys, row.sealed],
    })),
    "write",
  );
  let changedMeanwhile = 0;
  results.forEach((r, i) => {
    const what = todo[i]?.row.column.what ?? "";
    if (r.rowsAffected > 0) counts[what] = (counts[what] ?? 0) + 1;
    else changedMeanwhile++;
  });
  return { counts, changedMeanwhile };
}

/** Rotates the key file's key; see the comment at the top for the order of the steps. */
export async function rotateKey(o: RotateOptions): Promise<RotateResult> {
  checkRegistry();
  const env = o.env ?? process.env;
  if (env.WOVE_SECRET_KEY) throw new RotateKeyError(envKeyRefusal(o.dataDir));
  const keyFile = join(o.dataDir, KEY_FILE);
  const current = readKeyFile(keyFile);
  if (!current) throw new RotateKeyError(`${keyFile} is missing or damaged; start Wove once to create it, or restore it from a backup.`);
  // Refuse before touching any file when some value cannot be opened.
  await opened(o.db, keyRing(current, o.dataDir), () => true);

  const oldKeyFile = keepOldKey(o.dataDir, readFileSync(keyFile));
  fsyncDir(o.dataDir);
  o.onStep?.("old-key-kept");

  const next = randomBytes(32);
  const temp = join(o.dataDir, `${KEY_FILE}.new`);
  writeDurably(temp, next.toString("base64") + "\n", "w");
  o.onStep?.("new-key-written");
  renameSync(temp, keyFile);
  fsyncDir(o.dataDir);
  o.onStep?.("key-replaced");

  // The ring again, now holding the new key file too: nothing is lost if values changed since the check.
  const resealed = await reseal(o.db, keyRing(current, o.dataDir), next, () => true);
  o.onStep?.("committed");
  return { ...resealed, keyFile, oldKeyFile };
}

export type ForgetResult = Resealed & { deleted: string[] };

/**
 * Re-seals with `current` every value that does not open with it, then deletes the old key
 * files. `current` is the key the server runs with (WOVE_SECRET_KEY or the key file).
 */
export async function forgetOldKeys(o: { dataDir: string; db: Db; current: Buffer }): Promise<ForgetResult> {
  checkRegistry();
  const ring = keyRing(o.current, o.dataDir);
  const opensWithCurrent = (sealed: string) => {
    try {
      unseal(o.current, sealed);
      return true;
    } catch {
      return false;
    }
  };
  const resealed = await reseal(o.db, ring, o.current, (s) => !opensWithCurrent(s));
  // A server still running with an old key may have sealed values with it meanwhile.
  const stillOld = await opened(o.db, ring, (s) => !opensWithCurrent(s));
  if (stillOld.length > 0) {
    throw new RotateKeyError(
      `${stillOld.length} value(s) are still sealed with an old key, so the old keys were kept. A server that has not restarted since the rotation writes them: restart Wove, then run this again.`,
    );
  }
  const deleted: string[] = [];
  for (const f of oldKeyFiles(o.dataDir)) {
    unlinkSync(f);
    deleted.push(basename(f));
  }
  if (deleted.length > 0) fsyncDir(o.dataDir);
  return { ...resealed, deleted };
}

function counted(r: Resealed): string {
  const parts = Object.entries(r.counts).map(([what, n]) => `${what}: ${n}`);
  const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
  const meanwhile = r.changedMeanwhile > 0 ? `; ${r.changedMeanwhile} changed meanwhile were left as the server wrote them` : "";
  return `${total} value${total === 1 ? "" : "s"} (${parts.join(", ")}${meanwhile})`;
}

/** What the command prints after a rotation: where the keys are and what to do next. */
export function rotatedMessage(r: RotateResult, dataDir: string): string {
  return [
    `Rotated the instance key; re-sealed ${counted(r)}.`,
    `  new key: ${r.keyFile}`,
    `  old key: ${r.oldKeyFile} (kept, mode 0600)`,
    "Next:",
    "  1. Restart Wove. Until then the running server keeps the old key in memory; values it saves",
    "     meanwhile stay readable, because the old key is kept.",
    "     After the restart, forms already open in browsers fail their security check once",
    "     (CSRF tokens are signed with the key): reloading the page fixes it.",
    `  2. Then retire the old key: wove admin rotate-key --data ${dataDir} --forget-old`,
    "     Backups taken before now need the old key: store a copy of it with them if you may restore one.",
  ].join("\n");
}

export function forgottenMessage(r: ForgetResult): string {
  const lines = [`Re-sealed ${counted(r)} that still needed an old key.`];
  lines.push(r.deleted.length ? `Deleted ${r.deleted.join(", ")}.` : "There were no old key files to delete.");
  return lines.join("\n");
}
