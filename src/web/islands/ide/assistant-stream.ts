/**
 * The assistant panel's side of the chat API (src/ai/chat-routes.ts): reading the NDJSON
 * stream of ChatEvents as it arrives, and turning refusals (429 limits, no model configured,
 * a provider that failed) into words a person can act on.
 */
import type { ChatEvent } from "../../../ai/types.ts";

/** Reads NDJSON events as they arrive (blank lines are keep-alives); resolves at the end of the stream. */
export async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (e: ChatEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const take = (line: string) => {
    const text = line.trim();
    if (text !== "") onEvent(JSON.parse(text) as ChatEvent);
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      take(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  take(buffer + decoder.decode());
}

export type Failure = {
  title: string;
  detail: string;
  /** Seconds until asking again can work (from Retry-After), when the server said. */
  retryAfter?: number;
};

const TITLES: Record<string, string> = {
  quota_exceeded: "Daily AI quota used up",
  rate_limited: "Too many questions at once",
  ai_not_configured: "No AI model is set up",
  ai_unavailable: "The AI models are not answering",
  provider_auth: "The model provider refused Wove's key",
  model_not_found: "That model is not available",
  unknown_model: "That model is not available",
  model_rejected: "The model refused the request",
  stream_failed: "The answer broke off",
  not_found: "Not found",
  forbidden: "Not allowed",
  csrf_failed: "Your session changed",
};

type ErrorBody = { error?: { code?: string; message?: string } };

/** An HTTP refusal of the chat API, in words. */
export function failureOf(status: number, body: unknown, retryAfterHeader: string | null): Failure {
  const e = (body as ErrorBody | undefined)?.error;
  const code = e?.code ?? "";
  const retry = Number(retryAfterHeader);
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : undefined;
  const title = TITLES[code] ?? (status === 429 ? "Limit reached" : status >= 500 ? "The assistant is not available" : `The request was refused (HTTP ${status})`);
  let detail = e?.message ?? "";
  if (code === "ai_not_configured" && !detail) detail = "An admin can add a model provider (for example a local Ollama) under Admin → AI.";
  if (code === "csrf_failed") detail = "Reload the page and ask again.";
  return { title, detail, ...(retryAfter !== undefined ? { retryAfter } : {}) };
}

/** An `error` event in the middle of a stream, in words. */
export function failureOfEvent(e: Extract<ChatEvent, { type: "error" }>): Failure {
  return { title: TITLES[e.code] ?? "The assistant failed", detail: e.message };
}

export const OFFLINE: Failure = { title: "Wove could not be reached", detail: "Check your connection and ask again." };

/** "42 s", "3 min", "2 h 5 min" */
export function waitText(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ""}`;
}
