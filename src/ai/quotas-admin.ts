/**
 * AI quotas as admins set them (`ai_quotas`): a default for everyone, and overrides per user
 * and per team — each a daily token budget and a requests-per-minute rate (null = unlimited).
 * The router enforces them (router.ts `checkQuota`); this module reads and saves them.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { aiQuotas, events, teams, users } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { invalid, notFound } from "../lib/errors.ts";

export type QuotaScope = "default" | "user" | "team";
export type Limits = { dailyTokens: number | null; requestsPerMinute: number | null };
export type QuotaEntry = Limits & { scope: QuotaScope; subjectId: string; /** username or team slug; "" for the default */ subjectName: string; updatedAt: number };
export type Quotas = { default: QuotaEntry | null; users: QuotaEntry[]; teams: QuotaEntry[] };

/** `subject`: for users an id, username (with or without @) or email; for teams an id or slug; ignored for the default. */
export type QuotaInput = { scope: string; subject?: string } & Limits;

export const MAX_DAILY_TOKENS = 1_000_000_000_000;
export const MAX_RPM = 1_000_000;

export function isScope(v: string): v is QuotaScope {
  return v === "default" || v === "user" || v === "team";
}

/** "" → null (unlimited); a whole number → it; anything else → NaN (rejected by saveQuota). */
export function parseLimit(text: string): number | null {
  const t = text.trim().replace(/[_,\s]/g, "");
  if (t === "") return null;
  return /^\d{1,13}$/.test(t) ? Number(t) : Number.NaN;
}

/** Every quota row, with the names of the users and teams they apply to. */
export async function readQuotas(app: App): Promise<Quotas> {
  const orm = app.db.orm;
  const rows = await orm.select().from(aiQuotas);
  const userIds = rows.filter((r) => r.scope === "user").map((r) => r.subjectId);
  const teamIds = rows.filter((r) => r.scope === "team").map((r) => r.subjectId);
  const userNames = new Map(
    userIds.length ? (await orm.select({ id: users.id, name: users.username }).from(users).where(inArray(users.id, userIds))).map((u) => [u.id, u.name]) : [],
  );
  const teamNames = new Map(
    teamIds.length ? (await orm.select({ id: teams.id, name: teams.slug }).from(teams).where(inArray(teams.id, teamIds))).map((t) => [t.id, t.name]) : [],
  );
  const out: Quotas = { default: null, users: [], teams: [] };
  for (const r of rows) {
    const base = { scope: r.scope, subjectId: r.subjectId, dailyTokens: r.dailyTokens, requestsPerMinute: r.requestsPerMinute, updatedAt: r.updatedAt };
    if (r.scope === "default") out.default = { ...base, subjectName: "" };
    // Rows of deleted users or teams (ids are not foreign keys here) are not shown; they apply to no one.
    else if (r.scope === "user" && userNames.has(r.subjectId)) out.users.push({ ...base, subjectName: userNames.get(r.subjectId) ?? "" });
    else if (r.scope === "team" && teamNames.has(r.subjectId)) out.teams.push({ ...base, subjectName: teamNames.get(r.subjectId) ?? "" });
  }
  const byName = (a: QuotaEntry, b: QuotaEntry) => a.subjectName.localeCompare(b.subjectName);
  out.users.sort(byName);
  out.teams.sort(byName);
  return out;
}

async function resolveSubject(app: App, scope: QuotaScope, subject: string): Promise<{ id: string; name: string } | undefined> {
  const orm = app.db.orm;
  const s = subject.trim();
  if (scope === "default") return { id: "", name: "" };
  if (s === "") return undefined;
  if (scope === "user") {
    const handle = s.replace(/^@/, "").toLowerCase();
    const [u] = await orm
      .select({ id: users.id, name: users.username })
      .from(users)
      .where(s.includes("@") && !s.startsWith("@") ? eq(users.email, s.toLowerCase()) : eq(users.username, handle));
    if (u) return u;
    const [byId] = await orm.select({ id: users.id, name: users.username }).from(users).where(eq(users.id, s));
    return byId;
  }
  const [t] = await orm.select({ id: teams.id, name: teams.slug }).from(teams).where(eq(teams.slug, s.toLowerCase()));
  if (t) return t;
  const [byId] = await orm.select({ id: teams.id, name: teams.slug }).from(teams).where(eq(teams.id, s));
  return byId;
}

function checkLimit(v: number | null, max: number, field: string, what: string, errors: Record<string, string>): void {
  if (v === null) return;
  if (!Number.isInteger(v) || v < 0 || v > max) errors[field] = `${what} is a whole number from 0 to ${max.toLocaleString("en-US")}, or empty for no limit.`;
}

/** Saves the default or one user's or team's limits (422 with field errors). */
export async function saveQuota(app: App, input: QuotaInput, actorId: string | null): Promise<QuotaEntry> {
  const errors: Record<string, string> = {};
  const scope = input.scope;
  if (!isScope(scope)) throw invalid("Choose the default, a user or a team.", { scope: "Choose the default, a user or a team." });
  const subject = await resolveSubject(app, scope, input.subject ?? "");
  if (!subject) errors.subject = scope === "user" ? "No account has that username or email." : "No team has that slug.";
  checkLimit(input.dailyTokens, MAX_DAILY_TOKENS, "dailyTokens", "The daily token quota", errors);
  checkLimit(input.requestsPerMinute, MAX_RPM, "requestsPerMinute", "The rate", errors);
  if (Object.keys(errors).length > 0 || !subject) throw invalid("Some fields need attention.", errors);
  const now = Date.now();
  const limits = { dailyTokens: input.dailyTokens, requestsPerMinute: input.requestsPerMinute };
  const orm = app.db.orm;
  await orm.batch([
    orm
      .insert(aiQuotas)
      .values({ scope, subjectId: subject.id, ...limits, updatedAt: now })
      .onConflictDoUpdate({ target: [aiQuotas.scope, aiQuotas.subjectId], set: { ...limits, updatedAt: now } }),
    orm.insert(events).values(eventValues({ actorId, kind: "ai.quota_set", subjectType: "instance", subjectId: `quota:${scope}:${subject.id}`, data: { scope, subject: subject.name, ...limits } })),
  ]);
  return { scope, subjectId: subject.id, subjectName: subject.name, ...limits, updatedAt: now };
}

/** Removes an override (or the default, which means: no limits unless overridden); 404 when there is none. */
export async function removeQuota(app: App, scope: string, subjectId: string, actorId: string | null): Promise<void> {
  if (!isScope(scope)) throw notFound("Quota");
  const orm = app.db.orm;
  const where = and(eq(aiQuotas.scope, scope), eq(aiQuotas.subjectId, scope === "default" ? "" : subjectId));
  if ((await orm.select({ s: aiQuotas.scope }).from(aiQuotas).where(where)).length === 0) throw notFound("Quota");
  await orm.batch([
    orm.delete(aiQuotas).where(where),
    orm.insert(events).values(eventValues({ actorId, kind: "ai.quota_removed", subjectType: "instance", subjectId: `quota:${scope}:${subjectId}`, data: { scope } })),
  ]);
}
