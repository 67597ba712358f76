/**
 * The behaviour every provider plugin owes the router, as a test suite to run against a fake
 * server of the plugin's protocol (test/helpers/fake-models.ts): streaming order without
 * buffering, tool calls, usage, embeddings, models and health, each failure mapped to its
 * ProviderError kind, and cancellation that drops the HTTP stream at once.
 *
 * A plugin's own test file calls `providerConformance({...})` and adds what is specific to its
 * wire format. Used only by tests (it imports bun:test).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tokensOf, fakeVector, type FakeScript, type FakeServer } from "../../test/helpers/fake-models.ts";
import { ProviderError, type ChatChunk, type ChatRequest, type ProviderClient, type ProviderPlugin, type ToolCall } from "../../src/ai/types.ts";

export type ConformanceOptions = {
  plugin: ProviderPlugin;
  start: (script?: FakeScript) => Promise<FakeServer>;
  chatModel: string;
  /** Undefined when the backend has no embeddings (the plugin must refuse with bad_request). */
  embedModel?: string;
  /** The models the fake lists by default. */
  models: string[];
  apiKey?: string;
};

export type Collected = { tokens: string[]; times: number[]; calls: ToolCall[]; done?: Extract<ChatChunk, { type: "done" }>; error?: unknown; firstAt?: number };

/** Runs a chat to its end (or error), noting when each token arrived (ms since the call). */
export async function collect(stream: AsyncIterable<ChatChunk>, onToken?: (n: number) => void): Promise<Collected> {
  const started = performance.now();
  const out: Collected = { tokens: [], times: [], calls: [] };
  try {
    for await (const c of stream) {
      if (c.type === "token") {
        out.tokens.push(c.text);
        out.times.push(performance.now() - started);
        onToken?.(out.tokens.length);
      } else if (c.type === "tool_call") out.calls.push(c.call);
      else out.done = c;
    }
  } catch (e) {
    out.error = e;
  }
  return out;
}

export function failureOf(e: unknown): string {
  return e instanceof ProviderError ? e.failure : `not a ProviderError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
}

async function waitFor(cond: () => boolean, ms = 1000): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (cond()) return true;
    await Bun.sleep(5);
  }
  return cond();
}

export function providerConformance(o: ConformanceOptions): void {
  const user = "Explain the build script, please.";
  const req = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: o.chatModel, messages: [{ role: "system", content: "You are terse." }, { role: "user", content: user }], ...extra });
  const signal = () => new AbortController().signal;

  describe(`${o.plugin.kind} plugin against its fake server`, () => {
    let fake: FakeServer;
    let client: ProviderClient;
    const make = (url: string, timeoutMs = 5000): ProviderClient => o.plugin.create({ url, apiKey: o.apiKey, options: {}, timeoutMs, fetch });
    const script = (s: FakeScript = {}) => fake.setScript({ apiKey: o.apiKey, ...s });

    beforeAll(async () => {
      fake = await o.start({ apiKey: o.apiKey });
      client = make(fake.url);
    });
    afterAll(() => fake.stop());

    test("streams the reply's tokens in order, with the server's token counts", async () => {
      const reply = "The build script bundles src into one executable.";
      script({ reply });
      const r = await collect(client.chat(req(), signal()));
      expect(r.error).toBeUndefined();
      expect(r.tokens).toEqual(tokensOf(reply));
      expect(r.done?.finishReason).toBe("stop");
      // The fakes count a prompt as ceil(chars / 4) and one token per streamed piece.
      expect(r.done?.usage).toEqual({ tokensIn: Math.ceil(("You are terse.".length + user.length) / 4), tokensOut: tokensOf(reply).length });
      const body = fake.requests.at(-1)?.body as { model?: string };
      expect(body.model).toBe(o.chatModel);
      expect(fake.requests.at(-1)?.lastUser).toBe(user);
    });

    test("hands each token on as it arrives (no buffering)", async () => {
      const reply = "one two three four five six";
      script({ reply, tokensPerSecond: 20 });
      const r = await collect(client.chat(req(), signal()));
      expect(r.error).toBeUndefined();
      expect(r.tokens.join("")).toBe(reply);
      // Six tokens 50 ms apart: the first comes long before the last, and they come spread out.
      const [first, last] = [r.times[0] ?? 0, r.times.at(-1) ?? 0];
      expect(last - first).toBeGreaterThanOrEqual(200);
      expect(first).toBeLessThan(last - 150);
      const gaps = r.times.slice(1).map((t, i) => t - (r.times[i] ?? 0));
      expect(gaps.filter((g) => g >= 25).length).toBeGreaterThanOrEqual(4);
    });

    test("streams tool calls with their arguments and finishes with tool_calls", async () => {
      script({ reply: "Let me look.", toolCalls: [{ name: "read_file", arguments: { path: "src/main.ts", lines: [1, 20] } }, { name: "search", arguments: { q: "build" } }] });
      const tools = [
        { name: "read_file", description: "Read a project file", parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] } },
        { name: "search", description: "Search the project", parameters: { type: "object", properties: { q: { type: "string" } } } },
      ];
      const r = await collect(client.chat(req({ tools }), signal()));
      expect(r.error).toBeUndefined();
      expect(r.tokens.join("")).toBe("Let me look.");
      expect(r.calls.map((c) => [c.name, c.arguments])).toEqual([
        ["read_file", { path: "src/main.ts", lines: [1, 20] }],
        ["search", { q: "build" }],
      ]);
      expect(new Set(r.calls.map((c) => c.id)).size).toBe(2);
      expect(r.done?.finishReason).toBe("tool_calls");
      expect(JSON.stringify(fake.requests.at(-1)?.body)).toContain("Read a project file");
    });

    test("estimates tokens (chars / 4) when the server reports none", async () => {
      const reply = "An answer without counts.";
      script({ reply, omitUsage: true });
      const r = await collect(client.chat(req(), signal()));
      expect(r.error).toBeUndefined();
      expect(r.done?.usage.tokensOut).toBe(Math.ceil(reply.length / 4));
      expect(r.done?.usage.tokensIn).toBeGreaterThan(0);
    });

    test("lists models, and health says ok with them", async () => {
      script();
      const models = await client.listModels();
      expect(models.map((m) => m.id)).toEqual(o.models);
      const h = await client.health();
      expect(h.ok).toBe(true);
      if (h.ok) expect(h.models.map((m) => m.id)).toEqual(o.models);
    });

    if (o.embedModel) {
      const embedModel = o.embedModel;
      test("embeds texts, one vector per text in order", async () => {
        script({ embedDims: 16 });
        const vectors = await client.embed(embedModel, ["first text", "second text"]);
        expect(vectors).toEqual([fakeVector("first text", 16), fakeVector("second text", 16)]);
        expect(await client.embed(embedModel, [])).toEqual([]);
      });
    } else {
      test("refuses embeddings as a bad request", async () => {
        const e = await client.embed("any", ["x"]).catch((err: unknown) => err);
        expect(failureOf(e)).toBe("bad_request");
      });
    }

    const statusCases: [string, FakeScript["failWith"], string, number | undefined][] = [
      ["429 with Retry-After", { status: 429, retryAfter: 7 }, "overloaded", 7],
      ["503", { status: 503 }, "overloaded", undefined],
      ["401", { status: 401 }, "auth", undefined],
      ["403", { status: 403 }, "auth", undefined],
      ["500", { status: 500 }, "unavailable", undefined],
      ["400", { status: 400 }, "bad_request", undefined],
    ];
    for (const [name, failWith, failure, retryAfter] of statusCases) {
      test(`maps HTTP ${name} to ${failure}`, async () => {
        script({ failWith });
        const r = await collect(client.chat(req(), signal()));
        expect(failureOf(r.error)).toBe(failure);
        expect((r.error as ProviderError).retryAfter).toBe(retryAfter);
        expect(r.tokens).toEqual([]);
      });
    }

    test("maps an unknown model to not_found", async () => {
      script();
      const r = await collect(client.chat(req({ model: "no-such-model" }), signal()));
      expect(failureOf(r.error)).toBe("not_found");
    });

    test("maps no first byte within timeoutMs to timeout, without waiting for the server", async () => {
      script({ delayFirstMs: 1500 });
      const slow = make(fake.url, 150);
      const started = performance.now();
      const r = await collect(slow.chat(req(), signal()));
      expect(failureOf(r.error)).toBe("timeout");
      expect(performance.now() - started).toBeLessThan(1000);
      const h = await slow.health();
      expect(h.ok).toBe(false);
    });

    test("throws malformed mid-stream at a chunk that is not JSON, after the tokens before it", async () => {
      script({ reply: "a b c d e", malformedAfterTokens: 2 });
      const r = await collect(client.chat(req(), signal()));
      expect(r.tokens).toEqual(["a", " b"]);
      expect(failureOf(r.error)).toBe("malformed");
    });

    test("throws malformed when the stream is cut before its end", async () => {
      script({ reply: "a b c d e", cutAfterTokens: 3, tokensPerSecond: 50 });
      const r = await collect(client.chat(req(), signal()));
      // Tokens sent just before a close can be lost with it; the earlier ones arrived.
      expect(r.tokens.length).toBeGreaterThanOrEqual(2);
      expect(r.tokens).toEqual(["a", " b", " c"].slice(0, r.tokens.length));
      expect(failureOf(r.error)).toBe("malformed");
      expect(r.done).toBeUndefined();
    });

    test("aborting the signal stops the HTTP stream at once", async () => {
      script({ reply: "w ".repeat(40).trim(), tokensPerSecond: 20 });
      const ctl = new AbortController();
      const started = performance.now();
      let abortedAt = 0;
      const r = await collect(client.chat(req(), ctl.signal), (n) => {
        if (n === 2) {
          abortedAt = performance.now();
          ctl.abort();
        }
      });
      expect(r.tokens.length).toBe(2);
      expect((r.error as Error).name).toBe("AbortError");
      expect(performance.now() - abortedAt).toBeLessThan(100);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(await waitFor(() => fake.requests.at(-1)?.cancelled === true, 500)).toBe(true);
    });

    test("leaving the stream early closes the connection too", async () => {
      script({ reply: "w ".repeat(40).trim(), tokensPerSecond: 20 });
      for await (const c of client.chat(req(), signal())) if (c.type === "token") break;
      expect(await waitFor(() => fake.requests.at(-1)?.cancelled === true, 500)).toBe(true);
    });

    test("an already aborted signal sends nothing", async () => {
      const before = fake.requests.length;
      const ctl = new AbortController();
      ctl.abort();
      const r = await collect(client.chat(req(), ctl.signal));
      expect((r.error as Error).name).toBe("AbortError");
      expect(fake.requests.length).toBe(before);
    });

    test("makes every request through config.fetch", async () => {
      script();
      const seen: string[] = [];
      const spy = Object.assign((input: string | URL | Request, init?: RequestInit) => {
        seen.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      }, { preconnect: fetch.preconnect });
      const c = o.plugin.create({ url: fake.url, apiKey: o.apiKey, options: {}, timeoutMs: 5000, fetch: spy });
      const before = fake.requests.length;
      await collect(c.chat(req(), signal()));
      await c.listModels();
      if (o.embedModel) await c.embed(o.embedModel, ["x"]);
      expect(seen.length).toBe(fake.requests.length - before);
      expect(seen.every((u) => u.startsWith(fake.url))).toBe(true);
    });

    test("a dead server is unavailable, and health says why instead of throwing", async () => {
      const dead = await o.start();
      const c = make(dead.url);
      dead.kill();
      const r = await collect(c.chat(req(), signal()));
      expect(failureOf(r.error)).toBe("unavailable");
      const h = await c.health();
      expect(h.ok).toBe(false);
      if (!h.ok) expect(h.reason).toContain("could not be reached");
    });
  });
}
