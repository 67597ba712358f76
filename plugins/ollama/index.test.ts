import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeOllama, type FakeServer } from "../../test/helpers/fake-models.ts";
import { collect, failureOf, providerConformance } from "../_shared/conformance.ts";
import plugin from "./index.ts";

providerConformance({
  plugin,
  start: startFakeOllama,
  chatModel: "qwen2.5-coder:1.5b",
  embedModel: "nomic-embed-text",
  models: ["qwen2.5-coder:1.5b", "nomic-embed-text:latest"],
});

describe("ollama plugin: Ollama's wire format", () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeOllama();
  });
  afterAll(() => fake.stop());

  test("sends /api/chat with tools, tool answers by name, model options and keep_alive", async () => {
    const client = plugin.create({ url: `${fake.url}/`, apiKey: "proxy-key", options: { keepAlive: "10m", numCtx: 8192 }, timeoutMs: 5000, fetch });
    const r = await collect(
      client.chat(
        {
          model: "qwen2.5-coder:1.5b",
          temperature: 0.2,
          maxTokens: 300,
          tools: [{ name: "read_file", description: "Read a file", parameters: { type: "object", properties: { path: { type: "string" } } } }],
          messages: [
            { role: "user", content: "Open a.ts" },
            { role: "assistant", content: "", toolCalls: [{ id: "call_0", name: "read_file", arguments: { path: "a.ts" } }] },
            { role: "tool", content: "export const a = 1;", toolCallId: "call_0" },
          ],
        },
        new AbortController().signal,
      ),
    );
    expect(r.error).toBeUndefined();
    const sent = fake.requests.at(-1);
    expect(sent?.path).toBe("/api/chat");
    expect(sent?.headers.authorization).toBe("Bearer proxy-key");
    expect(sent?.body).toMatchObject({
      model: "qwen2.5-coder:1.5b",
      stream: true,
      keep_alive: "10m",
      options: { temperature: 0.2, num_predict: 300, num_ctx: 8192 },
      tools: [{ type: "function", function: { name: "read_file", description: "Read a file" } }],
      messages: [
        { role: "user", content: "Open a.ts" },
        { role: "assistant", content: "", tool_calls: [{ function: { name: "read_file", arguments: { path: "a.ts" } } }] },
        { role: "tool", content: "export const a = 1;", tool_name: "read_file" },
      ],
    });
  });

  test("marks embedding models in the list", async () => {
    const client = plugin.create({ url: fake.url, options: {}, timeoutMs: 5000, fetch });
    const models = await client.listModels();
    expect(models.find((m) => m.id.startsWith("nomic"))?.embedding).toBe(true);
    expect(models.find((m) => m.id.startsWith("qwen"))?.embedding).toBeUndefined();
  });

  test("lists chat models before embedding ones, whatever order Ollama gives", async () => {
    fake.setScript({ models: ["nomic-embed-text:latest", "qwen2.5-coder:1.5b", "all-minilm:l6-v2"] });
    const client = plugin.create({ url: fake.url, options: {}, timeoutMs: 5000, fetch });
    expect(await client.listModels()).toEqual([{ id: "qwen2.5-coder:1.5b" }, { id: "nomic-embed-text:latest", embedding: true }, { id: "all-minilm:l6-v2", embedding: true }]);
    fake.setScript({});
  });

  test("a URL ending in /api works like the bare host", async () => {
    const client = plugin.create({ url: `${fake.url}/api`, options: {}, timeoutMs: 5000, fetch });
    expect((await client.listModels()).length).toBe(2);
    expect(fake.requests.at(-1)?.path).toBe("/api/tags");
  });

  test("an error line mid-stream (the model runner failed) is unavailable", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        new Response('{"model":"m","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false}\n{"error":"llama runner process has terminated"}\n', {
          headers: { "content-type": "application/x-ndjson" },
        }),
    });
    try {
      const client = plugin.create({ url: `http://127.0.0.1:${server.port}`, options: {}, timeoutMs: 5000, fetch });
      const r = await collect(client.chat({ model: "m", messages: [{ role: "user", content: "hi" }] }, new AbortController().signal));
      expect(r.tokens).toEqual(["Hi"]);
      expect(failureOf(r.error)).toBe("unavailable");
      expect((r.error as Error).message).toContain("llama runner process has terminated");
    } finally {
      server.stop(true);
    }
  });
});
