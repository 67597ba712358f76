import { describe, expect, test } from "bun:test";
import { baseUrl, exchange, failureForStatus, retryAfterSeconds, serverMessage, sseEvents } from "./http.ts";

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("status and header mapping", () => {
  test("failureForStatus", () => {
    expect([401, 403, 404, 408, 429, 503, 529, 500, 502, 400, 422].map(failureForStatus)).toEqual([
      "auth", "auth", "not_found", "timeout", "overloaded", "overloaded", "overloaded", "unavailable", "unavailable", "bad_request", "bad_request",
    ]);
  });

  test("retryAfterSeconds reads seconds, HTTP dates and retry-after-ms", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterSeconds(new Headers({ "retry-after": "12" }), now)).toBe(12);
    expect(retryAfterSeconds(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }), now)).toBe(30);
    expect(retryAfterSeconds(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }), now)).toBe(2);
    expect(retryAfterSeconds(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(retryAfterSeconds(new Headers(), now)).toBeUndefined();
  });

  test("serverMessage finds the message in each protocol's error body", () => {
    expect(serverMessage('{"error":"model not found"}')).toBe("model not found");
    expect(serverMessage('{"error":{"message":"bad key","type":"x"}}')).toBe("bad key");
    expect(serverMessage('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')).toBe("Overloaded");
    expect(serverMessage("  upstream timed out \n")).toBe("upstream timed out");
  });

  test("baseUrl trims slashes and a known suffix", () => {
    expect(baseUrl("http://h:1/v1/", "/v1")).toBe("http://h:1");
    expect(baseUrl("http://h:1/proxy/", "/v1")).toBe("http://h:1/proxy");
  });
});

describe("sseEvents", () => {
  test("follows the event-stream rules: fields, comments, multi-line data, and a cut-off event is dropped", async () => {
    const lines = [": keep-alive", "event: ping", "data: {}", "", "data: a", "data:b", "", "id: 7", "retry: 10", "data: [DONE]", "", "event: cut", "data: {\"half\":"];
    expect(await all(sseEvents(from(lines)))).toEqual([
      { event: "ping", data: "{}" },
      { event: "message", data: "a\nb" },
      { event: "message", data: "[DONE]" },
    ]);
  });
});

describe("exchange", () => {
  test("lines() splits across chunk boundaries, CRLF and a character cut between chunks", async () => {
    const bytes = new TextEncoder().encode("héllo\r\nwörld\nlast");
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        new Response(
          new ReadableStream({
            async start(c) {
              // Split inside "é" (2 bytes) and inside "\r\n".
              for (const [a, b] of [[0, 2], [2, 7], [7, 12], [12, bytes.length]] as const) {
                c.enqueue(bytes.slice(a, b));
                await Bun.sleep(5);
              }
              c.close();
            },
          }),
        ),
    });
    try {
      const ex = await exchange({ url: "", options: {}, timeoutMs: 1000, fetch }, { who: "test", url: `http://127.0.0.1:${server.port}/` });
      expect(await all(ex.lines())).toEqual(["héllo", "wörld", "last"]);
    } finally {
      server.stop(true);
    }
  });

  test("a fetch that refuses the URL (the outbound check) is a bad request, not an outage", async () => {
    const refusing = Object.assign(async () => {
      throw Object.assign(new Error("The host 10.0.0.5 is not on this instance's allowlist."), { status: 422 });
    }, { preconnect: fetch.preconnect });
    const e = await exchange({ url: "", options: {}, timeoutMs: 1000, fetch: refusing }, { who: "test", url: "http://10.0.0.5/" }).catch((x: unknown) => x);
    expect((e as { failure?: string }).failure).toBe("bad_request");
    expect((e as Error).message).toContain("allowlist");
  });
});

describe("looksLikeEmbedding", () => {
  test("knows the common embedding model names and no chat model", async () => {
    const { looksLikeEmbedding } = await import("./http.ts");
    for (const n of ["nomic-embed-text:latest", "text-embedding-3-small", "mxbai-embed-large", "BAAI/bge-m3", "intfloat/e5-large-v2", "all-minilm:l6-v2", "Qwen/Qwen3-Embedding-0.6B", "snowflake-arctic-embed"]) {
      expect([n, looksLikeEmbedding(n)]).toEqual([n, true]);
    }
    for (const n of ["qwen2.5-coder:1.5b", "llama3.2:3b", "gpt-4o-mini", "phi3.5:latest", "claude-sonnet-4-5", "deepseek-coder-v2:16b", "gemma3:4b"]) {
      expect([n, looksLikeEmbedding(n)]).toEqual([n, false]);
    }
  });
});
