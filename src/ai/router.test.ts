/**
 * The router against the fake model servers (real HTTP on loopback) through the real plugins:
 * fallbacks, no fallback once tokens were sent, timeouts, the circuit breaker, explicit model
 * choice, cancellation, and the ai_usage row every attempt leaves.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { asc } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import type { Actor } from "../auth/actor.ts";
import { aiUsage } from "../db/schema.ts";
import { setLogSink } from "../lib/log.ts";
import { aliceAndBob, apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { startFakeOllama, startFakeOpenAI, tokensOf, type FakeServer } from "../../test/helpers/fake-models.ts";
import { configureBreakers } from "./breaker.ts";
import { savePolicy } from "./policies.ts";
import { setPrice } from "./prices.ts";
import { addProvider } from "./providers.ts";
import { configureRouter } from "./router-chain.ts";
import { availableModels, routeChat, routeEmbed, type RoutedChunk, type RouteOptions } from "./router.ts";

let app: App;
let dir: string;
let alice: User;
let ollama: FakeServer;
let openai: FakeServer;
const actor = (): Actor => ({ kind: "user", user: alice, via: "session", sessionId: "s" });
const LOCAL = "local:qwen2.5-coder:1.5b";
const REMOTE = "remote:gpt-4o-mini";
const messages = [{ role: "user" as const, content: "Say hello" }];

async function run(o: Partial<RouteOptions> = {}, signal = new AbortController().signal): Promise<RoutedChunk[]> {
  const out: RoutedChunk[] = [];
  for await (const c of routeChat(app, { messages }, { task: "chat", actor: actor(), signal, ...o })) out.push(c);
  return out;
}
const text = (chunks: RoutedChunk[]) => chunks.map((c) => (c.type === "token" ? c.text : "")).join("");
const rows = () => app.db.orm.select().from(aiUsage).orderBy(asc(aiUsage.id)).all();
/** Runs `fn`, expecting it to throw an ApiError after streaming; returns the chunks seen and the error. */
async function runFailing(o: Partial<RouteOptions> = {}) {
  const seen: RoutedChunk[] = [];
  const error = await apiErrorOf(
    (async () => {
      for await (const c of routeChat(app, { messages }, { task: "chat", actor: actor(), signal: new AbortController().signal, ...o })) seen.push(c);
    })(),
  );
  return { seen, error };
}

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-ai-router-"));
  ({ alice } = await aliceAndBob(app.db.orm));
  ollama = await startFakeOllama();
  openai = await startFakeOpenAI();
  await addProvider(app, { id: "local", kind: "ollama", url: ollama.url }, null);
  await addProvider(app, { id: "remote", kind: "openai-compatible", url: openai.url, apiKey: "sk-test" }, null);
});
afterAll(async () => {
  await ollama?.stop();
  await openai?.stop();
  closeTempApp(app, dir);
});
beforeEach(async () => {
  ollama.setScript({});
  openai.setScript({});
  ollama.requests.length = 0;
  openai.requests.length = 0;
  configureRouter(app, { firstTokenTimeoutMs: 2000, idleTimeoutMs: 1000 });
  configureBreakers(app, { failures: 3, cooldownMs: 60_000 });
  await app.db.orm.delete(aiUsage);
  // Through savePolicy, as admins do: its event is what tells the router's cache.
  await savePolicy(app, "chat", [], null);
});

describe("routeChat", () => {
  test("no policy: the first enabled provider with its first chat model; done carries the accounting", async () => {
    const chunks = await run({ projectId: "P1", conversationId: "C1" });
    expect(text(chunks)).toBe("Hello from the fake model.");
    expect(chunks.filter((c) => c.type === "token").length).toBe(tokensOf("Hello from the fake model.").length);
    const done = chunks.at(-1);
    if (done?.type !== "done" || !("providerId" in done)) throw new Error("no done chunk");
    expect(done.providerId).toBe("local");
    expect(done.model).toBe("qwen2.5-coder:1.5b");
    expect(done.costMicros).toBe(0); // a local model without a price is free
    expect(done.usage.tokensOut).toBe(tokensOf("Hello from the fake model.").length);
    const [row] = await rows();
    expect(row).toMatchObject({ userId: alice.id, projectId: "P1", conversationId: "C1", task: "chat", providerId: "local", status: "ok", tokensOut: done.usage.tokensOut, tokensIn: done.usage.tokensIn });
    expect(row?.ttftMs).not.toBeNull();
    expect(row?.latencyMs).toBeGreaterThanOrEqual(row?.ttftMs ?? 0);
  });

  test("the first provider answers 503: falls back to the second, and both attempts are recorded", async () => {
    await savePolicy(app, "chat", [{ providerId: "local", model: "qwen2.5-coder:1.5b" }, { providerId: "remote", model: "gpt-4o-mini" }], null);
    await setPrice(app, { providerId: "remote", model: "gpt-4o-mini", inputMicrosPerMtok: 150_000_000, outputMicrosPerMtok: 600_000_000 }, null);
    ollama.setScript({ failWith: { status: 503 } });
    const chunks = await run();
    const fallback = chunks[0];
    expect(fallback).toMatchObject({ type: "fallback", from: LOCAL, to: REMOTE });
    expect(fallback?.type === "fallback" && fallback.reason).toContain("503");
    expect(text(chunks)).toBe("Hello from the fake model.");
    const done = chunks.at(-1);
    if (done?.type !== "done" || !("providerId" in done)) throw new Error("no done chunk");
    expect(done.providerId).toBe("remote");
    const expected = Math.round((done.usage.tokensIn * 150_000_000 + done.usage.tokensOut * 600_000_000) / 1_000_000);
    expect(done.costMicros).toBe(expected);
    const r = await rows();
    expect(r.map((x) => [x.providerId, x.status])).toEqual([["local", "error"], ["remote", "ok"]]);
    expect(r[1]?.costMicros).toBe(expected);
  });

  test("no fallback once tokens were sent: the stream ends with an error", async () => {
    await savePolicy(app, "chat", [{ providerId: "local", model: "qwen2.5-coder:1.5b" }, { providerId: "remote", model: "gpt-4o-mini" }], null);
    // Paced, so the first tokens reach Wove before the socket is destroyed.
    ollama.setScript({ reply: "one two three four five six", cutAfterTokens: 3, tokensPerSecond: 20 });
    const { seen, error } = await runFailing();
    expect(text(seen)).toStartWith("one two");
    expect(seen.some((c) => c.type === "fallback")).toBe(false);
    expect(error.code).toBe("stream_failed");
    expect(error.message).toContain("stopped in the middle of its answer");
    expect(openai.requests.filter((r) => r.path === "/v1/chat/completions").length).toBe(0);
    const [row] = await rows();
    expect(row).toMatchObject({ providerId: "local", status: "error" });
    expect(row?.tokensOut).toBeGreaterThan(0);
  });

  test("a malformed chunk before any token falls back", async () => {
    await savePolicy(app, "chat", [{ providerId: "local", model: "qwen2.5-coder:1.5b" }, { providerId: "remote", model: "gpt-4o-mini" }], null);
    ollama.setScript({ malformedAfterTokens: 0 });
    const chunks = await run();
    expect(chunks[0]).toMatchObject({ type: "fallback", from: LOCAL, to: REMOTE });
    expect(chunks[0]?.type === "fallback" && chunks[0].reason).toStartWith("malformed");
  });

  test("first-token timeout falls back; an idle stream after the first token ends with an error", async () => {
    configureRouter(app, { firstTokenTimeoutMs: 300, idleTimeoutMs: 300 });
    await savePolicy(app, "chat", [{ providerId: "local", model: "qwen2.5-coder:1.5b" }, { providerId: "remote", model: "gpt-4o-mini" }], null);
    ollama.setScript({ delayFirstMs: 3000 });
    const started = performance.now();
    const chunks = await run();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(chunks[0]?.type === "fallback" && chunks[0].reason).toContain("no first token within 0.3 s");
    ollama.setScript({ reply: "slow stream here", tokensPerSecond: 1 });
    const { seen, error } = await runFailing();
    expect(text(seen)).toBe("slow");
    expect(error.message).toContain("no data for 0.3 s");
  });

  test("the first provider is dead (killed): falls back; the models list names it unavailable", async () => {
    const dead = await startFakeOllama();
    await addProvider(app, { id: "doomed", kind: "ollama", url: dead.url }, null);
    await savePolicy(app, "chat", [{ providerId: "doomed", model: "qwen2.5-coder:1.5b" }, { providerId: "remote", model: "gpt-4o-mini" }], null);
    dead.kill();
    const chunks = await run();
    expect(chunks[0]).toMatchObject({ type: "fallback", from: "doomed:qwen2.5-coder:1.5b", to: REMOTE });
    expect(chunks[0]?.type === "fallback" && chunks[0].reason).toStartWith("unavailable");
    expect(text(chunks)).toBe("Hello from the fake model.");
    expect((await rows()).map((x) => [x.providerId, x.status])).toEqual([["doomed", "error"], ["remote", "ok"]]);
    const listed = await availableModels(app);
    expect(listed.unavailable.map((u) => u.providerId)).toEqual(["doomed"]);
    expect(listed.models.map((m) => m.id)).toContain(REMOTE);
  });

  test("circuit breaker: opens after N failures (the provider is skipped), half-opens after the cool-down, closes on success", async () => {
    configureBreakers(app, { failures: 2, cooldownMs: 400 });
    await savePolicy(app, "chat", [{ providerId: "local", model: "qwen2.5-coder:1.5b" }, { providerId: "remote", model: "gpt-4o-mini" }], null);
    ollama.setScript({ failWith: { status: 503 } });
    await run();
    await run();
    const before = ollama.requests.length;
    const skipped = await run();
    expect(ollama.requests.length).toBe(before); // not even tried
    expect(skipped[0]?.type === "fallback" && skipped[0].reason).toContain("circuit open");
    ollama.setScript({});
    await Bun.sleep(450);
    const probe = await run();
    expect(probe[0]?.type).toBe("token"); // the probe succeeded on the first provider
    const again = await run();
    expect(again.at(-1)).toMatchObject({ type: "done", providerId: "local" });
  });

  test("explicit model: providerId:model, a bare name, a bare Ollama name with its tag; unknown → 422", async () => {
    let chunks = await run({ model: REMOTE });
    expect(chunks.at(-1)).toMatchObject({ providerId: "remote", model: "gpt-4o-mini" });
    chunks = await run({ model: "gpt-4o-mini" });
    expect(chunks.at(-1)).toMatchObject({ providerId: "remote", model: "gpt-4o-mini" });
    chunks = await run({ model: "qwen2.5-coder:1.5b" });
    expect(chunks.at(-1)).toMatchObject({ providerId: "local", model: "qwen2.5-coder:1.5b" });
    const e = await apiErrorOf(run({ model: "no-such-model" }));
    expect([e.status, e.code]).toEqual([422, "unknown_model"]);
  });

  test("an explicit model that fails falls back to the task's chain", async () => {
    openai.setScript({ failWith: { status: 503 } });
    const chunks = await run({ model: REMOTE });
    expect(chunks[0]).toMatchObject({ type: "fallback", from: REMOTE, to: "local" });
    expect(chunks.at(-1)).toMatchObject({ providerId: "local" });
  });

  test("a non-retryable failure (a wrong key) is an error, not a fallback", async () => {
    openai.setScript({ apiKey: "another-key" });
    const { seen, error } = await runFailing({ model: REMOTE });
    expect(seen).toEqual([]);
    expect(error.code).toBe("provider_auth");
    expect(ollama.requests.filter((r) => r.path === "/api/chat").length).toBe(0);
  });

  test("cancellation (the signal, or leaving the loop) stops the provider and records 'cancelled'", async () => {
    ollama.setScript({ reply: "a b c d e f g h i j k l m n o p", tokensPerSecond: 20 });
    const ctl = new AbortController();
    const seen: RoutedChunk[] = [];
    for await (const c of routeChat(app, { messages }, { task: "chat", actor: actor(), signal: ctl.signal })) {
      seen.push(c);
      if (seen.length === 2) ctl.abort();
    }
    expect(seen.length).toBe(2);
    expect(seen.some((c) => c.type === "done")).toBe(false);
    for await (const c of routeChat(app, { messages }, { task: "chat", actor: actor(), signal: new AbortController().signal })) {
      if (c.type === "token") break;
    }
    await Bun.sleep(100);
    const r = await rows();
    expect(r.map((x) => x.status)).toEqual(["cancelled", "cancelled"]);
    expect(r[0]?.tokensOut).toBeGreaterThan(0);
    expect(ollama.requests.filter((q) => q.path === "/api/chat").every((q) => q.cancelled)).toBe(true);
  });

  test("every provider failing: 503 ai_unavailable naming each attempt, Retry-After the soonest a provider asked for", async () => {
    ollama.setScript({ failWith: { status: 503, retryAfter: 7 } });
    openai.setScript({ failWith: { status: 503 } });
    await savePolicy(app, "chat", [{ providerId: "local", model: "qwen2.5-coder:1.5b" }, { providerId: "remote", model: "gpt-4o-mini" }], null);
    const { seen, error } = await runFailing();
    expect(seen.map((c) => c.type)).toEqual(["fallback"]);
    expect(error.status).toBe(503);
    expect(error.code).toBe("ai_unavailable");
    expect(error.message).toContain(LOCAL);
    expect(error.message).toContain(REMOTE);
    expect(error.headers?.["Retry-After"]).toBe("7");
  });
});

describe("routeEmbed", () => {
  test("embeds with the first embedding model, falling back when it fails", async () => {
    const first = await routeEmbed(app, ["hello", "world"], { actor: actor() });
    expect(first).toMatchObject({ providerId: "local", model: "nomic-embed-text:latest", fallbacks: [] });
    expect(first.vectors.length).toBe(2);
    ollama.setScript({ failWith: { status: 503 } });
    const second = await routeEmbed(app, ["hello"], { actor: actor() });
    expect(second.providerId).toBe("remote");
    expect(second.fallbacks[0]).toMatchObject({ from: "local:nomic-embed-text:latest", to: "remote" });
    expect((await rows()).map((x) => [x.task, x.providerId, x.status])).toEqual([
      ["embed", "local", "ok"],
      ["embed", "local", "error"],
      ["embed", "remote", "ok"],
    ]);
  });
});
