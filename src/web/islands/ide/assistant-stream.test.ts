import { describe, expect, test } from "bun:test";
import type { ChatEvent } from "../../../ai/types.ts";
import { failureOf, failureOfEvent, readEvents, waitText } from "./assistant-stream.ts";

/** A body that arrives in the given pieces, as a network would cut it. */
function body(pieces: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of pieces) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

describe("readEvents", () => {
  test("events split anywhere (inside a line, inside a multi-byte character) arrive whole; keep-alive blank lines are skipped", async () => {
    const line = JSON.stringify({ type: "token", text: "héllo ✓" });
    const bytes = new TextEncoder().encode(`${line}\n\n${JSON.stringify({ type: "token", text: "!" })}\n`);
    const cut = [bytes.slice(0, 26), bytes.slice(26, 33), bytes.slice(33)];
    const seen: ChatEvent[] = [];
    await readEvents(
      new ReadableStream({
        start(c) {
          for (const b of cut) c.enqueue(b);
          c.close();
        },
      }),
      (e) => seen.push(e),
    );
    expect(seen).toEqual([
      { type: "token", text: "héllo ✓" },
      { type: "token", text: "!" },
    ]);
  });

  test("a last line without a newline still counts", async () => {
    const seen: ChatEvent[] = [];
    await readEvents(body(['{"type":"token","text":"a"}\n{"type":"tok', 'en","text":"b"}']), (e) => seen.push(e));
    expect(seen.map((e) => (e.type === "token" ? e.text : ""))).toEqual(["a", "b"]);
  });
});

describe("failures in words", () => {
  test("429 with Retry-After: what happened, the server's message and how long to wait", () => {
    const f = failureOf(429, { error: { code: "rate_limited", message: "You asked 10 questions this minute." } }, "42");
    expect(f).toEqual({ title: "Too many questions at once", detail: "You asked 10 questions this minute.", retryAfter: 42 });
    expect(failureOf(429, { error: { code: "quota_exceeded", message: "…" } }, null).title).toBe("Daily AI quota used up");
  });

  test("no provider, provider down, unknown codes and broken bodies", () => {
    expect(failureOf(503, { error: { code: "ai_not_configured" } }, null)).toEqual({ title: "No AI model is set up", detail: "An admin can add a model provider (for example a local Ollama) under Admin → AI." });
    expect(failureOf(503, { error: { code: "ai_unavailable", message: "Tried local" } }, "30")).toMatchObject({ title: "The AI models are not answering", retryAfter: 30 });
    expect(failureOf(500, undefined, null).title).toBe("The assistant is not available");
    expect(failureOf(418, { error: { code: "teapot", message: "short and stout" } }, null)).toEqual({ title: "The request was refused (HTTP 418)", detail: "short and stout" });
    expect(failureOfEvent({ type: "error", code: "stream_failed", message: "cut" })).toEqual({ title: "The answer broke off", detail: "cut" });
  });

  test("waits read naturally", () => {
    expect(waitText(42)).toBe("42 s");
    expect(waitText(125)).toBe("3 min");
    expect(waitText(7500)).toBe("2 h 5 min");
  });
});
