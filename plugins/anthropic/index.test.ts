import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeAnthropic, type FakeServer } from "../../test/helpers/fake-models.ts";
import { collect, failureOf, providerConformance } from "../_shared/conformance.ts";
import plugin, { ANTHROPIC_VERSION, toAnthropic } from "./index.ts";

providerConformance({
  plugin,
  start: startFakeAnthropic,
  chatModel: "claude-sonnet-4-5",
  models: ["claude-sonnet-4-5", "claude-haiku-4-5"],
  apiKey: "sk-ant-test",
});

const signal = () => new AbortController().signal;

describe("anthropic plugin: the Messages API's wire format", () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: "sk-ant-test" });
  });
  afterAll(() => fake.stop());

  test("sends the system text apart, tool_use and tool_result blocks, tools with input_schema, the key and version", async () => {
    // A provider at a public host, reached (as the outbound-checked fetch would) at the fake's address.
    const redirecting = Object.assign((input: string | URL | Request, init?: RequestInit) => fetch(String(input).replace("https://api.anthropic.com", fake.url), init), { preconnect: fetch.preconnect });
    const client = plugin.create({ url: plugin.defaultUrl, apiKey: "sk-ant-test", options: {}, timeoutMs: 5000, fetch: redirecting });
    const r = await collect(
      client.chat(
        {
          model: "claude-sonnet-4-5",
          tools: [{ name: "read_file", description: "Read a file", parameters: { type: "object", properties: { path: { type: "string" } } } }],
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "Open a.ts and b.ts" },
            { role: "assistant", content: "Opening both.", toolCalls: [{ id: "toolu_1", name: "read_file", arguments: { path: "a.ts" } }, { id: "toolu_2", name: "read_file", arguments: { path: "b.ts" } }] },
            { role: "tool", content: "a", toolCallId: "toolu_1" },
            { role: "tool", content: "b", toolCallId: "toolu_2" },
          ],
        },
        signal(),
      ),
    );
    expect(r.error).toBeUndefined();
    const sent = fake.requests.at(-1);
    expect(sent?.path).toBe("/v1/messages");
    expect(sent?.headers["x-api-key"]).toBe("sk-ant-test");
    expect(sent?.headers["anthropic-version"]).toBe(ANTHROPIC_VERSION);
    expect(sent?.body).toEqual({
      model: "claude-sonnet-4-5",
      max_tokens: 4096,
      stream: true,
      system: "Be brief.",
      tools: [{ name: "read_file", description: "Read a file", input_schema: { type: "object", properties: { path: { type: "string" } } } }],
      messages: [
        { role: "user", content: [{ type: "text", text: "Open a.ts and b.ts" }] },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Opening both." },
            { type: "tool_use", id: "toolu_1", name: "read_file", input: { path: "a.ts" } },
            { type: "tool_use", id: "toolu_2", name: "read_file", input: { path: "b.ts" } },
          ],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "a" }, { type: "tool_result", tool_use_id: "toolu_2", content: "b" }] },
      ],
    });
  });

  test("toAnthropic drops empty text and merges turns of one role", () => {
    expect(
      toAnthropic([
        { role: "user", content: "one" },
        { role: "user", content: "two" },
        { role: "assistant", content: "" },
      ]),
    ).toEqual({ messages: [{ role: "user", content: [{ type: "text", text: "one" }, { type: "text", text: "two" }] }] });
  });

  test("a 529 (Anthropic's overloaded) is overloaded; a wrong key is auth", async () => {
    fake.setScript({ apiKey: "sk-ant-test", failWith: { status: 529 } });
    const client = plugin.create({ url: fake.url, apiKey: "sk-ant-test", options: {}, timeoutMs: 5000, fetch });
    const r = await collect(client.chat({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }, signal()));
    expect(failureOf(r.error)).toBe("overloaded");
    fake.setScript({ apiKey: "sk-ant-test" });
    const wrong = plugin.create({ url: fake.url, apiKey: "nope", options: {}, timeoutMs: 5000, fetch });
    const r2 = await collect(wrong.chat({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }, signal()));
    expect(failureOf(r2.error)).toBe("auth");
    expect((r2.error as Error).message).toContain("invalid x-api-key");
  });

  test("an error event mid-stream maps by its type", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        new Response(
          [
            'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n',
            'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
            'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n',
            'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
          ].join(""),
          { headers: { "content-type": "text/event-stream" } },
        ),
    });
    try {
      const client = plugin.create({ url: `http://127.0.0.1:${server.port}`, apiKey: "k", options: { maxTokens: 50 }, timeoutMs: 5000, fetch });
      const r = await collect(client.chat({ model: "m", messages: [{ role: "user", content: "hi" }] }, signal()));
      expect(r.tokens).toEqual(["Hel"]);
      expect(failureOf(r.error)).toBe("overloaded");
    } finally {
      server.stop(true);
    }
  });
});
