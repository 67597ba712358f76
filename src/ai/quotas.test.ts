import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import type { Actor } from "../auth/actor.ts";
import { aiQuotas, aiUsage } from "../db/schema.ts";
import { createTeam } from "../teams/teams.ts";
import { createProject } from "../projects/projects.ts";
import { createServer } from "../server/server.ts";
import { createToken } from "../auth/tokens.ts";
import { setLogSink } from "../lib/log.ts";
import { aliceAndBob, apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { aiChatApiRoutes } from "./chat-routes.ts";
import { checkQuota, QuotaError, resetRateBuckets } from "./quotas.ts";
import { removeQuota, saveQuota } from "./quotas-admin.ts";
import { recordUsage, startOfUtcDay, type UsageRecord } from "./usage.ts";

let app: App;
let dir: string;
let alice: User;
let bob: User;
let teamId: string;
let teamProjectId: string;
const as = (user: User): Actor => ({ kind: "user", user, via: "session", sessionId: "s" });

/** Through the admin functions (quotas-admin.ts): their events are what tell the quota cache. */
async function setQuota(scope: "default" | "user" | "team", subject: string, dailyTokens: number | null, requestsPerMinute: number | null) {
  await saveQuota(app, { scope, subject, dailyTokens, requestsPerMinute }, null);
}

function usage(userId: string, tokens: number, extra: Partial<UsageRecord> = {}): UsageRecord {
  return {
    userId,
    teamId: null,
    projectId: null,
    conversationId: null,
    task: "chat",
    providerId: "p",
    model: "m",
    tokensIn: Math.floor(tokens / 2),
    tokensOut: tokens - Math.floor(tokens / 2),
    latencyMs: 10,
    ttftMs: 5,
    costMicros: 0,
    status: "ok",
    error: null,
    ...extra,
  };
}

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-ai-quotas-"));
  ({ alice, bob } = await aliceAndBob(app.db.orm));
  const team = await createTeam(app.db.orm, alice, { name: "Robotics Club", slug: "robotics" });
  teamId = team.id;
  const project = await createProject(app.db.orm, app.config.dataDir, alice, { name: "Rover", team: teamId, visibility: "private" });
  teamProjectId = project.id;
});
afterAll(() => closeTempApp(app, dir));
beforeEach(async () => {
  for (const q of await app.db.orm.select().from(aiQuotas)) await removeQuota(app, q.scope, q.subjectId, null);
  await app.db.orm.delete(aiUsage);
  resetRateBuckets(app);
});

describe("checkQuota", () => {
  test("no quota rows: unlimited", async () => {
    for (let i = 0; i < 50; i++) await checkQuota(app, as(alice));
    const s = await checkQuota(app, as(alice));
    expect(s.user).toEqual({ dailyTokens: null, requestsPerMinute: null, tokensToday: null });
  });

  test("daily tokens: today's usage counts, yesterday's does not; the message and Retry-After say when it resets", async () => {
    await setQuota("default", "", 50_000, null);
    const now = Date.UTC(2026, 10, 22, 18, 0, 0);
    await recordUsage(app, usage(alice.id, 30_000), startOfUtcDay(now) - 1000);
    await recordUsage(app, usage(alice.id, 49_999), now - 60_000);
    expect((await checkQuota(app, as(alice), {}, now)).user.tokensToday).toBe(49_999);
    await recordUsage(app, usage(alice.id, 1, { status: "error" }), now - 1000);
    const e = await apiErrorOf(checkQuota(app, as(alice), {}, now));
    expect(e).toBeInstanceOf(QuotaError);
    expect(e.status).toBe(429);
    expect(e.code).toBe("quota_exceeded");
    expect(e.message).toBe("You have used your 50,000 tokens for today; the quota resets at 00:00 UTC.");
    expect(e.headers?.["Retry-After"]).toBe(String(6 * 3600));
    expect((e as QuotaError).retryAfter).toBe(6 * 3600);
    // bob has his own budget
    await checkQuota(app, as(bob), {}, now);
  });

  test("a user's own row replaces the default", async () => {
    await setQuota("default", "", 10, null);
    await setQuota("user", alice.id, null, null);
    await recordUsage(app, usage(alice.id, 100));
    await recordUsage(app, usage(bob.id, 100));
    await checkQuota(app, as(alice));
    expect((await apiErrorOf(checkQuota(app, as(bob)))).code).toBe("quota_exceeded");
  });

  test("requests per minute: a burst up to the limit, then 429 rate_limited until the bucket refills", async () => {
    await setQuota("user", alice.id, null, 3);
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) await checkQuota(app, as(alice), {}, t0);
    const e = await apiErrorOf(checkQuota(app, as(alice), {}, t0 + 1));
    expect(e.code).toBe("rate_limited");
    expect(e.message).toBe("You are sending AI requests faster than your limit of 3 a minute; try again in 20 s.");
    expect(e.headers?.["Retry-After"]).toBe("20");
    // One request comes back every 20 s.
    await checkQuota(app, as(alice), {}, t0 + 20_000);
    expect((await apiErrorOf(checkQuota(app, as(alice), {}, t0 + 20_001))).code).toBe("rate_limited");
  });

  test("team limits apply to requests about the team's projects, not to members' own", async () => {
    await setQuota("team", teamId, 1000, 2);
    await checkQuota(app, as(alice), { projectId: teamProjectId });
    await checkQuota(app, as(bob), { teamId });
    const e = await apiErrorOf(checkQuota(app, as(alice), { projectId: teamProjectId }));
    expect(e.code).toBe("rate_limited");
    expect(e.message).toContain("The team “Robotics Club” is sending AI requests faster than its limit of 2 a minute");
    await checkQuota(app, as(alice)); // not about the team: only her own (unlimited) limits
    resetRateBuckets(app);
    await recordUsage(app, usage(bob.id, 1000, { teamId }));
    const daily = await apiErrorOf(checkQuota(app, as(alice), { teamId }));
    expect(daily.message).toBe("The team “Robotics Club” has used its 1,000 tokens for today; the quota resets at 00:00 UTC.");
    expect(daily.details?.scope).toBe("team");
  });

  test("a refusal by the team does not spend the user's requests", async () => {
    await setQuota("user", alice.id, null, 1);
    await setQuota("team", teamId, 0, null);
    expect((await apiErrorOf(checkQuota(app, as(alice), { teamId }))).details?.scope).toBe("team");
    await checkQuota(app, as(alice));
  });

  test("anonymous callers are refused", async () => {
    expect((await apiErrorOf(checkQuota(app, { kind: "anonymous" }))).status).toBe(401);
  });

  test("through POST /api/v1/ai/chat: 429 with Retry-After and the clear message in the JSON error", async () => {
    const server = createServer(app, { routes: aiChatApiRoutes });
    const { token } = await createToken(app.db.orm, alice, { name: "t", scopes: ["read", "write"], expiresAt: null }, null);
    await setQuota("user", alice.id, 5, null);
    await recordUsage(app, usage(alice.id, 5));
    const res = await server.handle(
      new Request("http://wove.test/api/v1/ai/chat", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "hello" }] }),
      }),
    );
    expect(res.status).toBe(429);
    const retry = Number(res.headers.get("retry-after"));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(86_400);
    const body = (await res.json()) as { error: { code: string; message: string; details: Record<string, string> } };
    expect(body.error.code).toBe("quota_exceeded");
    expect(body.error.message).toBe("You have used your 5 tokens for today; the quota resets at 00:00 UTC.");
    expect(body.error.details.retryAfter).toBe(String(retry));
  });
});
