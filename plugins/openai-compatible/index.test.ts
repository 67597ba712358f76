import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeOpenAI, tokensOf, type FakeServer } from "../../test/helpers/fake-models.ts";
import { collect, failureOf, providerConformance } from "../_shared/conformance.ts";
import plugin from "./index.ts";

providerConformance({
  plugin,
  start: startFakeOpenAI,
  chatModel: "gpt-4o-mini",
  embedModel: "text-embedding-3-small",
  models: ["gpt-4o-mini", "text-embedding-3-small"],
  apiKey: "sk-test-key",
});

const signal = () => new AbortController().signal;

describe("openai-compatible plugin: OpenAI's wire format", () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: "sk-test-key" });
  });
  afterAll(() => fake.stop());

  test("sends tools, assistant tool calls as JSON strings, tool answers by id, and asks for usage", async () => {
    const client = plugin.create({ url: `${fake.url}/v1/`, apiKey: "sk-test-key", options: { organization: "org-1" }, timeoutMs: 5000, fetch });
    const r = await collect(
      client.chat(
        {
          model: "gpt-4o-mini",
          maxTokens: 200,
          temperature: 0,
          tools: [{ name: "read_file", description: "Read a file", parameters: { type: "object", properties: { path: { type: "string" } } } }],
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "Open a.ts" },
            { role: "assistant", content: "", toolCalls: [{ id: "call_9", name: "read_file", arguments: { path: "a.ts" } }] },
            { role: "tool", content: "export const a = 1;", toolCallId: "call_9" },
          ],
        },
        signal(),
      ),
    );
    expect(r.error).toBeUndefined();
    const sent = fake.requests.at(-1);
    expect(sent?.path).toBe("/v1/chat/completions");
    expect(sent?.headers.authorization).toBe("Bearer sk-test-key");
    expect(sent?.headers["openai-organization"]).toBe("org-1");
    expect(sent?.body).toEqual({
      model: "gpt-4o-mini",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 200,
      temperature: 0,
      tools: [{ type: "function", function: { name: "read_file", description: "Read a file", parameters: { type: "object", properties: { path: { type: "string" } } } } }],
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Open a.ts" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_9", type: "function", function: { name: "read_file", arguments: '{"path":"a.ts"}' } }] },
        { role: "tool", content: "export const a = 1;", tool_call_id: "call_9" },
      ],
    });
  });

  test("with streamUsage off it sends no stream_options and estimates the tokens", async () => {
    const reply = "Counted by Wove, not the server.";
    fake.setScript({ apiKey: "sk-test-key", reply });
    const client = plugin.create({ url: fake.url, apiKey: "sk-test-key", options: { streamUsage: false }, timeoutMs: 5000, fetch });
    const r = await collect(client.chat({ model: "gpt-4o-mini", messages: [{ role: "user", content: "12345678" }] }, signal()));
    expect((fake.requests.at(-1)?.body as Record<string, unknown>).stream_options).toBeUndefined();
    expect(r.tokens).toEqual(tokensOf(reply));
    expect(r.done?.usage).toEqual({ tokensIn: 2, tokensOut: Math.ceil(reply.length / 4) });
  });

  test("a wrong API key is auth", async () => {
    fake.setScript({ apiKey: "sk-test-key" });
    const client = plugin.create({ url: fake.url, apiKey: "sk-wrong", options: {}, timeoutMs: 5000, fetch });
    const r = await collect(client.chat({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }, signal()));
    expect(failureOf(r.error)).toBe("auth");
    expect((r.error as Error).message).toContain("Incorrect API key");
    const h = await client.health();
    expect(h.ok).toBe(false);
  });

  describe("servers that differ from OpenAI", () => {
    let server: ReturnType<typeof Bun.serve>;
    let answer: () => Response;
    beforeAll(() => {
      server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => answer() });
    });
    afterAll(() => server.stop(true));
    const sse = (...events: string[]) => new Response(events.map((e) => `data: ${e}\n\n`).join(""), { headers: { "content-type": "text/event-stream" } });
    const client = () => plugin.create({ url: `http://127.0.0.1:${server.port}`, options: {}, timeoutMs: 5000, fetch });

    test("an error chunk mid-stream (vLLM, llama.cpp) is unavailable", async () => {
      answer = () => sse('{"choices":[{"index":0,"delta":{"content":"Hi"}}]}', '{"error":{"message":"CUDA out of memory","code":500}}');
      const r = await collect(client().chat({ model: "m", messages: [{ role: "user", content: "hi" }] }, signal()));
      expect(r.tokens).toEqual(["Hi"]);
      expect(failureOf(r.error)).toBe("unavailable");
      expect((r.error as Error).message).toContain("CUDA out of memory");
    });

    test("tool calls without ids get numbered ones, and a usage-only chunk with null choices counts", async () => {
      answer = () =>
        sse(
          '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"search","arguments":"{\\"q\\":"}}]}}]}',
          '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"x\\"}"}}]},"finish_reason":"stop"}]}',
          '{"choices":null,"usage":{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14}}',
          "[DONE]",
        );
      const r = await collect(client().chat({ model: "m", messages: [{ role: "user", content: "hi" }] }, signal()));
      expect(r.error).toBeUndefined();
      expect(r.calls).toEqual([{ id: "call_0", name: "search", arguments: { q: "x" } }]);
      expect(r.done).toEqual({ type: "done", usage: { tokensIn: 11, tokensOut: 3 }, finishReason: "tool_calls" });
    });

    test("vLLM's max_model_len becomes the context window", async () => {
      answer = () => Response.json({ object: "list", data: [{ id: "Qwen/Qwen2.5-Coder-7B", object: "model", max_model_len: 32768 }, { id: "BAAI/bge-m3", object: "model" }] });
      expect(await client().listModels()).toEqual([{ id: "Qwen/Qwen2.5-Coder-7B", contextWindow: 32768 }, { id: "BAAI/bge-m3", embedding: true }]);
    });

    test("a redirect is refused rather than followed", async () => {
      answer = () => new Response(null, { status: 302, headers: { location: "http://169.254.169.254/" } });
      const r = await collect(client().chat({ model: "m", messages: [{ role: "user", content: "hi" }] }, signal()));
      expect(failureOf(r.error)).toBe("bad_request");
      expect((r.error as Error).message).toContain("redirect");
    });
  });
});
