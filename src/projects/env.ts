/**
 * Project environment variables. Every value — secret or not — is sealed with the instance
 * key (AES-256-GCM, lib/crypto.ts) before it reaches the database; events record only the
 * name and whether the variable is secret. Secret values are never unsealed for a listing:
 * only `envForDeploy` opens them, for the container that needs them.
 *
 * Values may be sealed with an older key for a while after `wove admin rotate-key`
 * (see src/cli/rotate-key.ts), so opening a value tries the key ring: the running key, the
 * key file on disk, then the kept old keys, newest first.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { and, asc, eq, sql } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { projectEnv, type Project } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { seal, unseal } from "../lib/crypto.ts";
import { ApiError, invalid, notFound } from "../lib/errors.ts";

export const ENV_NAME_RE = /^[A-Z_][A-Z0-9_]*$/;
export const ENV_NAME_MAX = 128;
export const ENV_VALUE_MAX_BYTES = 32 * 1024;
export const ENV_VARS_MAX = 200;
/** What a listing shows instead of a secret value. */
export const MASK = "••••••";

export type EnvVarJson = {
  name: string;
  /** The value, or MASK for a secret one. */
  value: string;
  secret: boolean;
  updatedAt: string;
  /** Present (true) only when a non-secret value opens with none of the instance's keys. */
  unreadable?: true;
};

export type EnvInput = {
  value: string;
  /** Omitted when replacing: the variable keeps its current setting (a secret stays secret). */
  secret?: boolean;
};

type EnvProject = Pick<Project, "id" | "ownerTeamId">;

// ---- Keys ----

export const KEY_FILE = "secret.key";
/** Where rotate-key keeps a replaced key: `secret.key.old-<UTC timestamp>`. */
export const OLD_KEY_PREFIX = "secret.key.old-";

/** A key file's key (base64 text, as core/app.ts writes it), or undefined when missing or damaged. */
export function readKeyFile(path: string): Buffer | undefined {
  try {
    const key = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
    return key.length >= 32 ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The kept old key files of a data dir, newest first (their timestamps sort as text). */
export function oldKeyFiles(dataDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dataDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(OLD_KEY_PREFIX))
    .sort()
    .reverse()
    .map((n) => join(dataDir, n));
}

/**
 * Every key that may have sealed a value of this instance, the one to seal with first:
 * the running key, then the key file (it differs from the running key after a rotation,
 * until the server restarts), then the kept old keys.
 */
export function keyRing(current: Buffer, dataDir: string): Buffer[] {
  const ring = [current];
  const add = (k: Buffer | undefined) => {
    if (k && !ring.some((r) => r.subarray(0, 32).equals(k.subarray(0, 32)))) ring.push(k);
  };
  add(readKeyFile(join(dataDir, KEY_FILE)));
  for (const f of oldKeyFiles(dataDir)) add(readKeyFile(f));
  return ring;
}

/** Opens a sealed value with the first key of the ring that authenticates it; undefined when none does. */
export function unsealWithRing(ring: readonly Buffer[], sealed: string): string | undefined {
  for (const key of ring) {
    try {
      return unseal(key, sealed);
    } catch {
      // GCM authentication failed: sealed with another key; try the next one.
    }
  }
  return undefined;
}

// ---- Validation ----

/** Field errors for a name and value (empty when both are fine). */
export function checkEnv(name: unknown, value: unknown): Record<string, string> {
  const errors: Record<string, string> = {};
  if (typeof name !== "string" || name === "") errors.name = "Name is required.";
  else if (name.length > ENV_NAME_MAX) errors.name = `Name must be at most ${ENV_NAME_MAX} characters.`;
  else if (!ENV_NAME_RE.test(name)) errors.name = "Use capital letters, digits and underscores, not starting with a digit (like DATABASE_URL).";
  if (typeof value !== "string") errors.value = "Value must be text.";
  else if (Buffer.byteLength(value, "utf8") > ENV_VALUE_MAX_BYTES) errors.value = `Value must be at most ${ENV_VALUE_MAX_BYTES / 1024} KiB.`;
  else if (value.includes("\u0000")) errors.value = "Value must not contain NUL characters (a process environment cannot hold them).";
  return errors;
}

function failIf(errors: Record<string, string>): void {
  if (Object.keys(errors).length > 0) throw invalid(Object.values(errors).join(" "), errors);
}

// ---- Service ----

/** `{"name": …, "secret": true|false}` for an event, read from the variable's row. */
function eventDataSql(name: string) {
  return sql`json_object('name', ${name}, 'secret', CASE WHEN secret THEN json('true') ELSE json('false') END)`;
}

/** An event INSERT whose data comes from the variable's row; `onlyIfChanged`: only when the statement before it changed a row. */
function envEvent(project: EnvProject, name: string, kind: string, actorId: string | null, onlyIfChanged: boolean) {
  const v = eventValues({ actorId, kind, subjectType: "project", subjectId: project.id, projectId: project.id, teamId: project.ownerTeamId });
  return sql`INSERT INTO events (at, actor_id, kind, subject_type, subject_id, project_id, team_id, data)
    SELECT ${v.at}, ${v.actorId}, ${v.kind}, ${v.subjectType}, ${v.subjectId}, ${v.projectId}, ${v.teamId}, ${eventDataSql(name)}
    FROM project_env WHERE project_id = ${project.id} AND name = ${name}${onlyIfChanged ? sql` AND changes() > 0` : sql``}`;
}

/**
 * Creates or replaces a variable. One batch (one transaction, run without yielding, so
 * concurrent calls cannot interleave): replace if it exists, else create if the project is
 * under the limit, each with its event.
 */
export async function setEnv(
  orm: Orm,
  secretKey: Buffer,
  project: EnvProject,
  name: string,
  input: EnvInput,
  actorId: string | null,
): Promise<{ created: boolean; variable: EnvVarJson }> {
  failIf(checkEnv(name, input.value));
  const sealed = seal(secretKey, input.value);
  const now = Date.now();
  const secretArg = input.secret === undefined ? null : input.secret ? 1 : 0;
  const [replaced, , created, , row] = await orm.batch([
    orm.run(sql`UPDATE project_env SET value_sealed = ${sealed}, secret = coalesce(${secretArg}, secret), updated_at = ${now}, updated_by = ${actorId}
      WHERE project_id = ${project.id} AND name = ${name}`),
    orm.run(envEvent(project, name, "project.env_updated", actorId, true)),
    orm.run(sql`INSERT INTO project_env (project_id, name, value_sealed, secret, created_at, updated_at, updated_by)
      SELECT ${project.id}, ${name}, ${sealed}, ${secretArg ?? 0}, ${now}, ${now}, ${actorId}
      WHERE NOT EXISTS (SELECT 1 FROM project_env WHERE project_id = ${project.id} AND name = ${name})
        AND (SELECT count(*) FROM project_env WHERE project_id = ${project.id}) < ${ENV_VARS_MAX}`),
    orm.run(envEvent(project, name, "project.env_created", actorId, true)),
    orm.select({ secret: projectEnv.secret }).from(projectEnv).where(and(eq(projectEnv.projectId, project.id), eq(projectEnv.name, name))),
  ]);
  if (replaced.rowsAffected === 0 && created.rowsAffected === 0) {
    throw invalid(`A project can have at most ${ENV_VARS_MAX} variables; delete one first.`, { name: `This project already has ${ENV_VARS_MAX} variables.` });
  }
  const secret = row[0]?.secret ?? false;
  const variable: EnvVarJson = { name, value: secret ? MASK : input.value, secret, updatedAt: new Date(now).toISOString() };
  return { created: created.rowsAffected > 0, variable };
}

/** The project's variables by name; secret values masked (and never unsealed). */
export async function listEnv(orm: Orm, ring: readonly Buffer[], projectId: string): Promise<EnvVarJson[]> {
  const rows = await orm.select().from(projectEnv).where(eq(projectEnv.projectId, projectId)).orderBy(asc(projectEnv.name));
  return rows.map((r) => {
    const base = { name: r.name, secret: r.secret, updatedAt: new Date(r.updatedAt).toISOString() };
    if (r.secret) return { ...base, value: MASK };
    const value = unsealWithRing(ring, r.valueSealed);
    return value === undefined ? { ...base, value: "", unreadable: true as const } : { ...base, value };
  });
}

/** Deletes a variable; 404 when the project has none by that name. */
export async function deleteEnv(orm: Orm, project: EnvProject, name: string, actorId: string | null): Promise<void> {
  const [, deleted] = await orm.batch([
    orm.run(envEvent(project, name, "project.env_deleted", actorId, false)),
    orm.run(sql`DELETE FROM project_env WHERE project_id = ${project.id} AND name = ${name}`),
  ]);
  if (deleted.rowsAffected === 0) throw notFound("Variable");
}

/**
 * Every variable, unsealed, for the process a deployment starts. A value no key opens
 * stops the deployment with a clear error rather than starting it without the variable.
 */
export async function envForDeploy(orm: Orm, ring: Buffer | readonly Buffer[], projectId: string): Promise<Record<string, string>> {
  const keys = Buffer.isBuffer(ring) ? [ring] : ring;
  const rows = await orm
    .select({ name: projectEnv.name, valueSealed: projectEnv.valueSealed })
    .from(projectEnv)
    .where(eq(projectEnv.projectId, projectId))
    .orderBy(asc(projectEnv.name));
  const out: Record<string, string> = {};
  const unreadable: string[] = [];
  for (const r of rows) {
    const value = unsealWithRing(keys, r.valueSealed);
    if (value === undefined) unreadable.push(r.name);
    else out[r.name] = value;
  }
  if (unreadable.length > 0) {
    throw new ApiError(
      500,
      "unreadable_secret",
      `The variables ${unreadable.join(", ")} cannot be decrypted with this instance's keys (was secret.key or WOVE_SECRET_KEY replaced?). Set them again.`,
    );
  }
  return out;
}
