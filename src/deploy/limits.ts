/**
 * Per-deployment resource limits (the admin's "plan" limits): CPUs, memory and processes each
 * app and build container gets. The defaults come from the server's settings (WOVE_DEPLOY_CPUS,
 * WOVE_DEPLOY_MEMORY, WOVE_DEPLOY_PIDS); an admin can change them on /admin/deploy, which stores
 * them in the `settings` table under `deploy.limits` as JSON `{"cpus","memoryBytes","pids"}`.
 * They apply to deployments started after the change.
 */
import type { App } from "../core/app.ts";
import { recordEvent } from "../events/events.ts";
import { invalid } from "../lib/errors.ts";
import type { Limits } from "./types.ts";

export const LIMITS_KEY = "deploy.limits";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** The ranges the form accepts, and that a stored value must be in to be used. */
export const LIMIT_RANGES = {
  cpus: { min: 0.1, max: 64 },
  memoryBytes: { min: 16 * MiB, max: 64 * GiB },
  pids: { min: 16, max: 100_000 },
} as const;

/** The form's text values: cpus ("0.5"), memory ("512m", "1.5g", "768 MB" or bytes), pids ("256"). */
export type LimitsInput = { cpus?: string | number; memory?: string | number; pids?: string | number };

export type LimitsSetting = {
  /** What new deployments get. */
  limits: Limits;
  /** The server's defaults (what "Reset to defaults" goes back to). */
  defaults: Limits;
  /** When an admin last changed them; null while the defaults are in force. */
  updatedAt: number | null;
};

export function defaultLimits(app: App): Limits {
  const d = app.config.deploy;
  return { cpus: d.cpus, memoryBytes: d.memoryBytes, pids: d.pids };
}

const inRange = (v: unknown, r: { min: number; max: number }): v is number => typeof v === "number" && Number.isFinite(v) && v >= r.min && v <= r.max;

/** The limits in force and where they come from. A damaged stored value falls back to the defaults, field by field. */
export async function readLimitsSetting(app: App): Promise<LimitsSetting> {
  const defaults = defaultLimits(app);
  const rs = await app.db.client.execute({ sql: "SELECT value, updated_at FROM settings WHERE key = ?", args: [LIMITS_KEY] });
  const row = rs.rows[0];
  if (!row) return { limits: defaults, defaults, updatedAt: null };
  let stored: Partial<Record<keyof Limits, unknown>> = {};
  try {
    const v: unknown = JSON.parse(String(row.value));
    if (v && typeof v === "object" && !Array.isArray(v)) stored = v as typeof stored;
  } catch {
    app.log.warn("the deploy.limits setting is not JSON; using the default limits");
  }
  const limits: Limits = {
    cpus: inRange(stored.cpus, LIMIT_RANGES.cpus) ? stored.cpus : defaults.cpus,
    memoryBytes: inRange(stored.memoryBytes, LIMIT_RANGES.memoryBytes) && Number.isInteger(stored.memoryBytes) ? stored.memoryBytes : defaults.memoryBytes,
    pids: inRange(stored.pids, LIMIT_RANGES.pids) && Number.isInteger(stored.pids) ? stored.pids : defaults.pids,
  };
  return { limits, defaults, updatedAt: Number(row.updated_at) };
}

/** The limits every new deployment gets. */
export async function readLimits(app: App): Promise<Limits> {
  return (await readLimitsSetting(app)).limits;
}

/** Memory as people write it — `512m`, `1.5g`, `768 MB`, `2GiB`, or plain bytes — in bytes; undefined when unreadable. */
export function parseMemory(raw: string | number): number | undefined {
  if (typeof raw === "number") return Number.isSafeInteger(raw) && raw > 0 ? raw : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(raw.trim());
  if (!m) return undefined;
  const unit = { "": 1, k: 1024, m: MiB, g: GiB, t: 1024 * GiB }[(m[2] ?? "").toLowerCase()] ?? 1;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Bytes as the form shows them: the largest whole-ish unit ("512m", "1.5g", "64g"). */
export function formatMemory(bytes: number): string {
  const fmt = (v: number) => String(Math.round(v * 100) / 100);
  if (bytes >= GiB && bytes % (GiB / 4) === 0) return `${fmt(bytes / GiB)}g`;
  if (bytes >= MiB && bytes % MiB === 0) return `${fmt(bytes / MiB)}m`;
  if (bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}

/** Checks the form's values: the limits, or a 422 with an error beside each wrong field. */
export function checkLimits(input: LimitsInput): Limits {
  const errors: Record<string, string> = {};
  const text = (v: string | number | undefined) => (typeof v === "number" ? String(v) : (v ?? "").trim());

  const cpusText = text(input.cpus);
  const cpus = /^\d+(\.\d{1,2})?$/.test(cpusText) ? Number(cpusText) : NaN;
  if (!inRange(cpus, LIMIT_RANGES.cpus)) errors.cpus = "Enter a number of CPUs from 0.1 to 64, like 1 or 0.5 (at most two decimals).";

  const memory = parseMemory(typeof input.memory === "number" ? input.memory : text(input.memory));
  if (memory === undefined) errors.memory = "Enter a size like 512m or 1g (k, m, g; plain numbers are bytes).";
  else if (!inRange(memory, LIMIT_RANGES.memoryBytes)) errors.memory = "Memory must be from 16m to 64g.";

  const pidsText = text(input.pids);
  const pids = /^\d+$/.test(pidsText) ? Number(pidsText) : NaN;
  if (!inRange(pids, LIMIT_RANGES.pids)) errors.pids = "Enter a whole number of processes from 16 to 100000.";

  if (Object.keys(errors).length > 0) throw invalid("Some limits need attention.", errors);
  return { cpus, memoryBytes: memory as number, pids };
}

async function recordChange(app: App, actorId: string | null, before: Limits, after: Limits, reset: boolean): Promise<void> {
  await recordEvent(app.db.orm, {
    actorId,
    kind: "deploy.limits_changed",
    subjectType: "instance",
    subjectId: "deploy",
    data: { before, after, ...(reset ? { reset: true } : {}) },
  });
}

/** Saves new limits (422 with field errors when a value is out of range) and records who changed them. */
export async function saveLimits(app: App, input: LimitsInput, actorId: string | null): Promise<Limits> {
  const limits = checkLimits(input);
  const before = await readLimits(app);
  await app.db.client.execute({
    sql: "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    args: [LIMITS_KEY, JSON.stringify(limits), Date.now()],
  });
  await recordChange(app, actorId, before, limits, false);
  return limits;
}

/** Goes back to the server's defaults (the stored value is removed). */
export async function resetLimits(app: App, actorId: string | null): Promise<Limits> {
  const before = await readLimitsSetting(app);
  if (before.updatedAt === null) return before.defaults;
  await app.db.client.execute({ sql: "DELETE FROM settings WHERE key = ?", args: [LIMITS_KEY] });
  await recordChange(app, actorId, before.limits, before.defaults, true);
  return before.defaults;
}
