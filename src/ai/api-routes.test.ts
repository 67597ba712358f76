import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { createToken } from "../auth/tokens.ts";
import { createTeam } from "../teams/teams.ts";
import { setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { aliceAndBob, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { startFakeOllama, startFakeOpenAI, type FakeServer } from "../../test/helpers/fake-models.ts";
import { addProvider, updateProvider } from "./providers.ts";
import { aiApiRoutes, parseWhen, usageRange } from "./api-routes.ts";
import { recordUsage, type UsageRecord } from "./usage.ts";

let app: App;
let dir: string;
let alice: User;
let bob: User;
let admin: User;
let teamId: string;
let ollama: FakeServer;
let openai: FakeServer;
let server: ReturnType<typeof createServer>;
const tokens = new Map<string, string>();

async function get(path: string, user: User): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await server.handle(new Request(`http://wove.test${path}`, { headers: { Authorization: `Bearer ${tokens.get(user.id)}` } }));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const row = (over: Partial<UsageRecord>): UsageRecord => ({
  userId: null,
  teamId: null,
  projectId: null,
  conversationId: null,
  task: "chat",
  providerId: "local",
  model: "m1",
  tokensIn: 10,
  tokensOut: 20,
  latencyMs: 100,
  ttftMs: 10,
  costMicros: 5,
  status: "ok",
  error: null,
  ...over,
});

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-ai-api-"));
  ({ alice, bob } = await aliceAndBob(app.db.orm));
  admin = await createUser(app.db.orm, { email: "root@example.com", role: "admin", username: "root", name: "Root" }, null);
  teamId = (await createTeam(app.db.orm, alice, { name: "Crew", slug: "crew" })).id;
  for (const u of [alice, bob, admin]) tokens.set(u.id, (await createToken(app.db.orm, u, { name: "t", scopes: ["read"], expiresAt: null }, null)).token);
  ollama = await startFakeOllama();
  openai = await startFakeOpenAI({ models: ["gpt-4o-mini"] });
  await addProvider(app, { id: "local", kind: "ollama", url: ollama.url }, null);
  await addProvider(app, { id: "remote", kind: "openai-compatible", url: openai.url }, null);
  await addProvider(app, { id: "off", kind: "ollama", url: ollama.url }, null);
  await updateProvider(app, "off", { enabled: false }, null);
  const day = (d: number, h = 12) => Date.UTC(2026, 10, d, h);
  await recordUsage(app, row({ userId: alice.id }), day(1));
  await recordUsage(app, row({ userId: alice.id, status: "error", tokensIn: 0, tokensOut: 0, costMicros: 0 }), day(1, 13));
  await recordUsage(app, row({ userId: alice.id, model: "m2", providerId: "remote", teamId }), day(2));
  await recordUsage(app, row({ userId: bob.id, teamId }), day(2));
  await recordUsage(app, row({ userId: bob.id }), day(20));
  server = createServer(app, { routes: aiApiRoutes });
});
afterAll(async () => {
  await ollama?.stop();
  await openai?.stop();
  closeTempApp(app, dir);
});

describe("GET /api/v1/ai/models", () => {
  test("lists the enabled providers' models as providerId:model", async () => {
    const { status, body } = await get("/api/v1/ai/models", bob);
    expect(status).toBe(200);
    const models = body.models as { id: string; providerId: string; model: string }[];
    expect(models.map((m) => m.id)).toEqual(["local:qwen2.5-coder:1.5b", "local:nomic-embed-text:latest", "remote:gpt-4o-mini"]);
    expect(models[2]).toMatchObject({ providerId: "remote", model: "gpt-4o-mini" });
    expect(body.unavailable).toEqual([]);
  });
});

describe("GET /api/v1/ai/usage", () => {
  const Q = "from=2026-11-01&to=2026-11-02";
  type Report = { totals: Record<string, number>; rows: { day: string; providerId: string; model: string; requests: number; errors: number; tokensIn: number; costMicros: number; avgLatencyMs: number | null }[]; subject: unknown };

  test("a user sees their own usage: totals and one row per day × provider × model", async () => {
    const { status, body } = await get(`/api/v1/ai/usage?${Q}`, alice);
    expect(status).toBe(200);
    const r = body as unknown as Report;
    expect(r.subject).toEqual({ userId: alice.id });
    expect(r.totals).toEqual({ requests: 3, ok: 2, errors: 1, cancelled: 0, tokensIn: 20, tokensOut: 40, costMicros: 10 });
    expect(r.rows.map((x) => [x.day, x.providerId, x.model, x.requests, x.errors])).toEqual([
      ["2026-11-01", "local", "m1", 2, 1],
      ["2026-11-02", "remote", "m2", 1, 0],
    ]);
    expect(r.rows[0]?.avgLatencyMs).toBe(100);
  });

  const scenarios: { name: string; query: string; as: () => User; status: number; requests?: number; code?: string }[] = [
    { name: "asking for yourself by username is allowed", query: `${Q}&user=alice`, as: () => alice, status: 200, requests: 3 },
    { name: "a member may not see another user's usage", query: `${Q}&user=bob`, as: () => alice, status: 403 },
    { name: "nor a team's", query: `${Q}&team=crew`, as: () => alice, status: 403 },
    { name: "nor everyone's", query: `${Q}&all=1`, as: () => alice, status: 403 },
    { name: "an unknown user looks the same as another user to a member", query: `${Q}&user=nobody`, as: () => alice, status: 403 },
    { name: "an admin sees a user's usage by username", query: `${Q}&user=bob`, as: () => admin, status: 200, requests: 1 },
    { name: "an admin sees a team's usage by slug", query: `${Q}&team=crew`, as: () => admin, status: 200, requests: 2 },
    { name: "an admin sees everyone's", query: `${Q}&all=1`, as: () => admin, status: 200, requests: 4 },
    { name: "an admin asking for an unknown user gets 404", query: `${Q}&user=nobody`, as: () => admin, status: 404 },
    { name: "one subject at a time", query: `${Q}&user=bob&team=crew`, as: () => admin, status: 400 },
    { name: "a bad date is a 400", query: "from=2026-13-01", as: () => alice, status: 400, code: "bad_request" },
    { name: "from after to is a 400", query: "from=2026-11-05&to=2026-11-01", as: () => alice, status: 400 },
    { name: "ISO times are accepted", query: "from=2026-11-01T12:30:00Z&to=2026-11-02T00:00:00Z", as: () => alice, status: 200, requests: 1 },
    { name: "default: the last 30 days", query: "", as: () => bob, status: 200 },
  ];
  for (const s of scenarios) {
    test(s.name, async () => {
      const { status, body } = await get(`/api/v1/ai/usage?${s.query}`, s.as());
      expect(status).toBe(s.status);
      if (s.requests !== undefined) expect((body as unknown as Report).totals.requests).toBe(s.requests);
      if (s.code) expect((body.error as { code: string }).code).toBe(s.code);
    });
  }
});

describe("usage periods", () => {
  test("dates are UTC days, `to` inclusive; times are exact", () => {
    expect(parseWhen("2026-11-01", false)).toBe(Date.UTC(2026, 10, 1));
    expect(parseWhen("2026-11-01", true)).toBe(Date.UTC(2026, 10, 2));
    expect(parseWhen("2026-02-30", false)).toBeNull();
    expect(parseWhen("yesterday", false)).toBeNull();
    expect(parseWhen("2026-11-01T10:00:00+01:00", false)).toBe(Date.UTC(2026, 10, 1, 9));
  });

  test("the default window is the last 30 UTC days up to now; more than 366 days is refused", () => {
    const now = Date.UTC(2026, 10, 22, 15);
    expect(usageRange({}, now)).toEqual({ from: Date.UTC(2026, 9, 24), to: now });
    expect(() => usageRange({ from: "2024-01-01", to: "2026-01-01" }, now)).toThrow("at most 366 days");
  });
});
