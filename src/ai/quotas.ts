/**
 * AI quotas, checked before each request (`checkQuota`): requests per minute (a token bucket
 * per user and per team, in memory — one process serves an instance) and tokens per UTC day
 * (the sum of ai_usage since 00:00 UTC, so it survives restarts and counts every process).
 *
 * Limits come from ai_quotas: a user's own row, else the `default` row; a team's own row (the
 * default row is per person, so it is never applied to a whole team). A null column is
 * unlimited. The team is the one the request is made for — the owner of the project the chat
 * is about — so a member's personal projects count against their own limits only.
 *
 * A request that starts under its daily limit is allowed to finish: the check runs before the
 * call, and the tokens are counted when it ends.
 */
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { aiQuotas, projects, teams } from "../db/schema.ts";
import { cachePerOwner } from "../lib/cache.ts";
import { ApiError, unauthorized } from "../lib/errors.ts";
import type { Limits } from "./quotas-admin.ts";
import { startOfUtcDay, tokensUsedSince } from "./usage.ts";

/** A 429 that also says, as a number, how long to wait (the chat stream shows it; the HTTP layer sends Retry-After). */
export class QuotaError extends ApiError {
  constructor(
    code: "quota_exceeded" | "rate_limited",
    message: string,
    readonly retryAfter: number,
    details: Record<string, string>,
  ) {
    super(429, code, message, { ...details, retryAfter: String(retryAfter) }, { "Retry-After": String(retryAfter) });
  }
}


const UNLIMITED: Limits = { dailyTokens: null, requestsPerMinute: null };

/**
 * Every quota row by `scope\nsubject`. Admins change quotas through quotas-admin.ts, which
 * appends an event, so the copy is valid while the database's data version is unchanged.
 */
const quotaCache = cachePerOwner<App, Map<string, Limits>>((app) => app.config.readCacheMs, 1);

async function quotaRows(app: App): Promise<Map<string, Limits>> {
  return quotaCache(app).get("quotas", await app.db.dataVersion(), async () => {
    const rows = await app.db.orm.select().from(aiQuotas).all();
    return new Map(rows.map((r) => [`${r.scope}\n${r.subjectId}`, { dailyTokens: r.dailyTokens, requestsPerMinute: r.requestsPerMinute }]));
  });
}

/** The limits that apply to a user (own row, else default) and to a team (own row only). */
export async function effectiveLimits(app: App, userId: string, teamId: string | null): Promise<{ user: Limits; team: Limits | null }> {
  const rows = await quotaRows(app);
  return { user: rows.get(`user\n${userId}`) ?? rows.get("default\n") ?? UNLIMITED, team: teamId ? (rows.get(`team\n${teamId}`) ?? null) : null };
}

/** The team a request is made for: the one given, else the owner team of its project (null for a personal project). */
export async function teamForRequest(app: App, o: { teamId?: string | null; projectId?: string | null }): Promise<string | null> {
  if (o.teamId) return o.teamId;
  if (!o.projectId) return null;
  const p = await app.db.orm.select({ team: projects.ownerTeamId }).from(projects).where(eq(projects.id, o.projectId)).get();
  return p?.team ?? null;
}

type Bucket = { tokens: number; at: number };
const buckets = new WeakMap<App, Map<string, Bucket>>();

function bucketsOf(app: App): Map<string, Bucket> {
  let m = buckets.get(app);
  if (!m) buckets.set(app, (m = new Map()));
  return m;
}

/**
 * A token bucket holding up to `perMinute` requests, refilled continuously at perMinute/60 s:
 * a burst up to the limit is allowed, then one request every 60/limit seconds. Returns the
 * bucket as it would be after refilling, and the ms until one request is available (0 = now).
 */
function peek(map: Map<string, Bucket>, key: string, perMinute: number, now: number): { bucket: Bucket; waitMs: number } {
  const rate = perMinute / 60_000;
  const b = map.get(key);
  const tokens = b ? Math.min(perMinute, b.tokens + (now - b.at) * rate) : perMinute;
  return { bucket: { tokens, at: now }, waitMs: tokens >= 1 ? 0 : Math.ceil((1 - tokens) / rate) };
}

function sweep(map: Map<string, Bucket>, now: number): void {
  // A bucket untouched for a minute is full again: forgetting it changes nothing.
  if (map.size > 10_000) for (const [k, b] of map) if (now - b.at > 60_000) map.delete(k);
}

const fmt = (n: number) => n.toLocaleString("en-US");
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** Where a caller stands; `tokensToday` is counted only when there is a daily limit (else null). */
export type QuotaStatus = {
  teamId: string | null;
  user: Limits & { tokensToday: number | null };
  team: (Limits & { tokensToday: number | null }) | null;
};

/**
 * Refuses a request over any limit with a 429 (`rate_limited` or `quota_exceeded`, with
 * Retry-After), else counts it against the per-minute limits and returns where the caller stands.
 */
export async function checkQuota(app: App, actor: Actor, o: { teamId?: string | null; projectId?: string | null } = {}, now = Date.now()): Promise<QuotaStatus> {
  if (actor.kind !== "user") throw unauthorized("Sign in to use the AI assistant.");
  const userId = actor.user.id;
  const teamId = await teamForRequest(app, o);
  const limits = await effectiveLimits(app, userId, teamId);
  const dayStart = startOfUtcDay(now);
  const untilMidnight = dayStart + 86_400_000 - now;
  const teamName = async () => {
    const t = teamId ? await app.db.orm.select({ name: teams.name }).from(teams).where(eq(teams.id, teamId)).get() : undefined;
    return t?.name ?? "your team";
  };

  const userToday = limits.user.dailyTokens !== null ? await tokensUsedSince(app, { userId }, dayStart) : null;
  if (limits.user.dailyTokens !== null && userToday !== null && userToday >= limits.user.dailyTokens) {
    throw new QuotaError("quota_exceeded", `You have used your ${fmt(limits.user.dailyTokens)} tokens for today; the quota resets at 00:00 UTC.`, seconds(untilMidnight), {
      scope: "user",
      limit: String(limits.user.dailyTokens),
    });
  }
  const teamToday = teamId && limits.team?.dailyTokens != null ? await tokensUsedSince(app, { teamId }, dayStart) : null;
  if (limits.team && limits.team.dailyTokens !== null && teamToday !== null && teamToday >= limits.team.dailyTokens) {
    throw new QuotaError(
      "quota_exceeded",
      `The team “${await teamName()}” has used its ${fmt(limits.team.dailyTokens)} tokens for today; the quota resets at 00:00 UTC.`,
      seconds(untilMidnight),
      { scope: "team", limit: String(limits.team.dailyTokens) },
    );
  }

  const map = bucketsOf(app);
  sweep(map, now);
  const userRpm = limits.user.requestsPerMinute;
  const teamRpm = limits.team?.requestsPerMinute ?? null;
  const userBucket = userRpm !== null ? peek(map, `user:${userId}`, userRpm, now) : null;
  if (userRpm !== null && userBucket && userBucket.waitMs > 0) {
    const s = seconds(userBucket.waitMs);
    throw new QuotaError("rate_limited", `You are sending AI requests faster than your limit of ${fmt(userRpm)} a minute; try again in ${s} s.`, s, {
      scope: "user",
      limit: String(userRpm),
    });
  }
  const teamBucket = teamId && teamRpm !== null ? peek(map, `team:${teamId}`, teamRpm, now) : null;
  if (teamRpm !== null && teamBucket && teamBucket.waitMs > 0) {
    const s = seconds(teamBucket.waitMs);
    throw new QuotaError("rate_limited", `The team “${await teamName()}” is sending AI requests faster than its limit of ${fmt(teamRpm)} a minute; try again in ${s} s.`, s, {
      scope: "team",
      limit: String(teamRpm),
    });
  }
  // Both allowed: only now take a request from each, so a refusal by one does not spend the other.
  if (userBucket) map.set(`user:${userId}`, { tokens: userBucket.bucket.tokens - 1, at: now });
  if (teamBucket) map.set(`team:${teamId}`, { tokens: teamBucket.bucket.tokens - 1, at: now });

  return {
    teamId,
    user: { ...limits.user, tokensToday: userToday },
    team: limits.team ? { ...limits.team, tokensToday: teamToday } : null,
  };
}

/** Forgets the per-minute counters (an admin changed a limit and wants it to apply at once; tests). */
export function resetRateBuckets(app: App): void {
  bucketsOf(app).clear();
}
