/**
 * The AI assistant's contracts. A model provider is a plugin (`plugins/<kind>/index.ts`) that
 * implements `ProviderPlugin`; the router (router.ts) turns an enabled provider row into a
 * `ProviderClient` and calls it. Everything above the router speaks `ChatEvent`s.
 */
import type { TSchema } from "@sinclair/typebox";

export type ChatRole = "system" | "user" | "assistant" | "tool";

export type ToolCall = { id: string; name: string; arguments: Record<string, unknown> };

/** A function the model may call (JSON-schema parameters, as OpenAI/Ollama/Anthropic take them). */
export type ToolSpec = { name: string; description: string; parameters: Record<string, unknown> };

export type ChatMessage = {
  role: ChatRole;
  content: string;
  /** Assistant turns that called tools. */
  toolCalls?: ToolCall[];
  /** Tool turns: which call this answers. */
  toolCallId?: string;
};

export type ChatRequest = {
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  temperature?: number;
  maxTokens?: number;
};

export type Usage = { tokensIn: number; tokensOut: number };

/** What a provider streams. Exactly one `done` ends a stream that did not throw. */
export type ChatChunk =
  | { type: "token"; text: string }
  | { type: "tool_call"; call: ToolCall }
  | { type: "done"; usage: Usage; finishReason: "stop" | "length" | "tool_calls" | "other" };

export type ModelInfo = { id: string; contextWindow?: number; embedding?: boolean };

export type HealthResult = { ok: true; models: ModelInfo[] } | { ok: false; reason: string };

/**
 * Why a provider call failed. `retryable` failures (the server is down, slow, overloaded, or
 * sent garbage) make the router try the next model in the chain and count against the
 * provider's circuit breaker; the others (a bad request, a wrong key) go back to the caller.
 */
export type ProviderFailure = "unavailable" | "timeout" | "overloaded" | "malformed" | "auth" | "bad_request" | "not_found";

export class ProviderError extends Error {
  constructor(
    readonly failure: ProviderFailure,
    message: string,
    /** Seconds the server asked us to wait (Retry-After), when it said. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ProviderError";
  }
  get retryable(): boolean {
    return this.failure === "unavailable" || this.failure === "timeout" || this.failure === "overloaded" || this.failure === "malformed";
  }
}

export interface ProviderClient {
  listModels(signal?: AbortSignal): Promise<ModelInfo[]>;
  /** Streams the answer. Throws ProviderError — also mid-stream, when the stream breaks or a chunk is malformed. */
  chat(req: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk>;
  embed(model: string, texts: string[], signal?: AbortSignal): Promise<number[][]>;
  /** "Check connection": lists the models, or says why it cannot. Never throws. */
  health(signal?: AbortSignal): Promise<HealthResult>;
}

/** What a provider is configured with (from its ai_providers row, the key unsealed). */
export type ProviderConfig = {
  url: string;
  apiKey?: string;
  options: Record<string, unknown>;
  /** Per-request timeout before the first byte, ms. */
  timeoutMs: number;
  /**
   * The fetch to use: it refuses URLs the outbound allowlist does not permit (air-gapped by
   * default). Plugins must make every request through it.
   */
  fetch: typeof fetch;
};

export interface ProviderPlugin {
  /** The `kind` stored on provider rows: "ollama", "openai-compatible", "anthropic", … */
  kind: string;
  label: string;
  /** Shown in the admin form. */
  defaultUrl: string;
  needsApiKey: boolean;
  /** Plugin-specific options (validated before a row is saved). */
  optionsSchema: TSchema;
  create(config: ProviderConfig): ProviderClient;
}

export type TaskKind = "chat" | "code-edit" | "summarise" | "embed";

/** What the chat API streams to the browser (NDJSON lines or SSE events of these). */
export type ChatEvent =
  | { type: "token"; text: string }
  | { type: "context"; files: { path: string; reason: "current" | "selection" | "tab" | "search"; tokens: number }[]; tokens: number }
  | { type: "action"; action: { id: string; summary: string; files: string[] } }
  | { type: "log"; agent: string; text: string; runId: string }
  | { type: "fallback"; from: string; to: string; reason: string }
  | { type: "error"; code: string; message: string }
  | {
      type: "done";
      conversationId: string | null;
      usage: { tokensUsed: number; tokensIn: number; tokensOut: number; modelUsed: string; providerId: string; latencyMs: number; costMicros: number };
    };
