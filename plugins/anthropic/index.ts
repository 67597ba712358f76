/**
 * Anthropic's Messages API: streaming POST /v1/messages (SSE: message_start, content blocks
 * — text and tool_use — as start/delta/stop, message_delta, message_stop; ping and error
 * events) and GET /v1/models. Anthropic has no embeddings API.
 *
 * Token counts are Anthropic's own: input tokens from message_start (plus cache reads and
 * writes, which are input too), output tokens from the cumulative count in message_delta.
 */
import { Type } from "@sinclair/typebox";
import {
  ProviderError,
  type ChatChunk,
  type ChatMessage,
  type ChatRequest,
  type ModelInfo,
  type ProviderClient,
  type ProviderConfig,
  type ProviderFailure,
  type ProviderPlugin,
} from "../../src/ai/types.ts";
import { baseUrl, estimateTokens, exchange, healthFrom, hostOf, jsonHeaders, parseJson, sseEvents } from "../_shared/http.ts";

export const ANTHROPIC_VERSION = "2023-06-01";
const DEFAULT_MAX_TOKENS = 4096;
/** Pages of /v1/models to follow at most (1000 models each). */
const MAX_PAGES = 5;

const optionsSchema = Type.Object(
  {
    maxTokens: Type.Optional(Type.Integer({ title: "Max output tokens", description: "Anthropic requires a limit on each answer; used when the caller sets none.", minimum: 1, maximum: 128_000, default: DEFAULT_MAX_TOKENS })),
    version: Type.Optional(Type.String({ title: "API version", description: "The anthropic-version header.", pattern: "^\\d{4}-\\d{2}-\\d{2}$", default: ANTHROPIC_VERSION })),
  },
  { additionalProperties: false },
);

type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }
  | { type: "tool_result"; tool_use_id: string; content: string };
type WireMessage = { role: "user" | "assistant"; content: Block[] };

/**
 * Our messages as Anthropic wants them: system text apart, tool answers as tool_result blocks
 * in a user turn, and consecutive turns of one role merged (all results for one assistant
 * turn's calls must sit in the single user turn after it). Empty text blocks are refused by
 * the API, so they are left out.
 */
export function toAnthropic(messages: ChatMessage[]): { system?: string; messages: WireMessage[] } {
  const system = messages.filter((m) => m.role === "system").map((m) => m.content).filter((t) => t !== "").join("\n\n");
  const out: WireMessage[] = [];
  for (const m of messages) {
    if (m.role === "system") continue;
    const role = m.role === "assistant" ? "assistant" : "user";
    const blocks: Block[] = [];
    if (m.role === "tool") blocks.push({ type: "tool_result", tool_use_id: m.toolCallId ?? "", content: m.content });
    else if (m.content !== "") blocks.push({ type: "text", text: m.content });
    for (const c of m.role === "assistant" ? (m.toolCalls ?? []) : []) blocks.push({ type: "tool_use", id: c.id, name: c.name, input: c.arguments });
    if (blocks.length === 0) continue;
    const prev = out.at(-1);
    if (prev && prev.role === role) prev.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  return { ...(system ? { system } : {}), messages: out };
}

const STREAM_ERRORS: Record<string, ProviderFailure> = {
  overloaded_error: "overloaded",
  rate_limit_error: "overloaded",
  api_error: "unavailable",
  authentication_error: "auth",
  permission_error: "auth",
  not_found_error: "not_found",
  invalid_request_error: "bad_request",
  request_too_large: "bad_request",
};

function finishReason(stop: string | undefined, toolCalls: number): "stop" | "length" | "tool_calls" | "other" {
  if (toolCalls > 0 || stop === "tool_use") return "tool_calls";
  if (stop === "end_turn" || stop === "stop_sequence" || stop === undefined) return "stop";
  if (stop === "max_tokens") return "length";
  return "other";
}

type Event = {
  type?: unknown;
  index?: unknown;
  message?: { usage?: Record<string, unknown> };
  content_block?: { type?: unknown; id?: unknown; name?: unknown; text?: unknown };
  delta?: { type?: unknown; text?: unknown; partial_json?: unknown; stop_reason?: unknown };
  usage?: Record<string, unknown>;
  error?: { type?: unknown; message?: unknown };
};

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export function createAnthropicClient(config: ProviderConfig): ProviderClient {
  const base = `${baseUrl(config.url, "/v1")}/v1`;
  const who = `Anthropic at ${hostOf(config.url)}`;
  const version = typeof config.options.version === "string" && config.options.version ? config.options.version : ANTHROPIC_VERSION;
  const defaultMax = typeof config.options.maxTokens === "number" ? config.options.maxTokens : DEFAULT_MAX_TOKENS;
  const headers = (extra: Record<string, string> = {}) =>
    jsonHeaders({ "anthropic-version": version, ...(config.apiKey ? { "x-api-key": config.apiKey } : {}), ...extra });

  async function listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    const models: ModelInfo[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const url = `${base}/models?limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ""}`;
      const ex = await exchange(config, { who, url, headers: headers(), signal });
      const body = (await ex.json()) as { data?: unknown; has_more?: unknown; last_id?: unknown } | null;
      if (!Array.isArray(body?.data)) throw new ProviderError("malformed", `${who} answered /v1/models without a data list.`);
      for (const m of body.data as { id?: unknown }[]) if (typeof m?.id === "string") models.push({ id: m.id });
      if (body.has_more !== true || typeof body.last_id !== "string") break;
      after = body.last_id;
    }
    return models;
  }

  return {
    listModels,

    async *chat(req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatChunk> {
      const { system, messages } = toAnthropic(req.messages);
      const payload = {
        model: req.model,
        max_tokens: req.maxTokens ?? defaultMax,
        messages,
        stream: true,
        ...(system ? { system } : {}),
        ...(req.tools?.length ? { tools: req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters })) } : {}),
        ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      };
      const ex = await exchange(config, {
        who, url: `${base}/messages`, method: "POST", headers: headers({ accept: "text/event-stream" }), body: JSON.stringify(payload), signal,
      });
      const tools = new Map<number, { id: string; name: string; json: string }>();
      let calls = 0;
      let outChars = 0;
      let tokensIn: number | undefined;
      let tokensOut: number | undefined;
      let stop: string | undefined;
      let ended = false;
      try {
        for await (const sse of sseEvents(ex.lines())) {
          const ev = parseJson(sse.data, who) as Event | null;
          if (!ev || typeof ev !== "object" || typeof ev.type !== "string") throw new ProviderError("malformed", `${who} sent an event without a type.`);
          const index = typeof ev.index === "number" ? ev.index : -1;
          if (ev.type === "message_start") {
            const u = ev.message?.usage;
            if (u && typeof u.input_tokens === "number") {
              tokensIn = u.input_tokens + num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens);
              tokensOut = num(u.output_tokens);
            }
          } else if (ev.type === "content_block_start") {
            const b = ev.content_block;
            if (b?.type === "tool_use") {
              if (typeof b.id !== "string" || typeof b.name !== "string") throw new ProviderError("malformed", `${who} started a tool_use block without an id or name.`);
              tools.set(index, { id: b.id, name: b.name, json: "" });
            } else if (b?.type === "text" && typeof b.text === "string" && b.text !== "") {
              outChars += b.text.length;
              yield { type: "token", text: b.text };
            }
          } else if (ev.type === "content_block_delta") {
            const d = ev.delta;
            if (d?.type === "text_delta" && typeof d.text === "string") {
              if (d.text !== "") {
                outChars += d.text.length;
                yield { type: "token", text: d.text };
              }
            } else if (d?.type === "input_json_delta" && typeof d.partial_json === "string") {
              const t = tools.get(index);
              if (!t) throw new ProviderError("malformed", `${who} sent tool input for a block it never started.`);
              t.json += d.partial_json;
            }
            // thinking_delta, signature_delta, citations_delta: not part of the answer text.
          } else if (ev.type === "content_block_stop") {
            const t = tools.get(index);
            if (t) {
              tools.delete(index);
              const input = t.json.trim() === "" ? {} : parseJson(t.json, who, "tool input");
              if (!input || typeof input !== "object" || Array.isArray(input)) throw new ProviderError("malformed", `${who} sent tool input that is not a JSON object.`);
              calls++;
              outChars += t.json.length;
              yield { type: "tool_call", call: { id: t.id, name: t.name, arguments: input as Record<string, unknown> } };
            }
          } else if (ev.type === "message_delta") {
            if (typeof ev.delta?.stop_reason === "string") stop = ev.delta.stop_reason;
            // Counts here are cumulative for the whole message.
            if (typeof ev.usage?.output_tokens === "number") tokensOut = ev.usage.output_tokens;
            if (typeof ev.usage?.input_tokens === "number") {
              tokensIn = ev.usage.input_tokens + num(ev.usage.cache_creation_input_tokens) + num(ev.usage.cache_read_input_tokens);
            }
          } else if (ev.type === "message_stop") {
            ended = true;
            break;
          } else if (ev.type === "error") {
            const type = typeof ev.error?.type === "string" ? ev.error.type : "api_error";
            const message = typeof ev.error?.message === "string" ? ev.error.message : type;
            throw new ProviderError(STREAM_ERRORS[type] ?? "unavailable", `${who} failed mid-answer: ${message}`);
          }
          // ping and event types added later: nothing to do.
        }
      } finally {
        ex.close();
      }
      if (!ended) throw new ProviderError("malformed", `${who} ended the stream before message_stop.`);
      yield {
        type: "done",
        // Anthropic always counts; the estimate only covers a proxy that strips usage.
        usage: { tokensIn: tokensIn ?? estimateTokens((system ?? "") + req.messages.map((m) => m.content).join("")), tokensOut: tokensOut || Math.ceil(outChars / 4) },
        finishReason: finishReason(stop, calls),
      };
    },

    async embed(): Promise<number[][]> {
      throw new ProviderError("bad_request", "Anthropic has no embeddings API; choose another provider for the embed task.");
    },

    health: (signal) => healthFrom(() => listModels(signal)),
  };
}

export default {
  kind: "anthropic",
  label: "Anthropic",
  defaultUrl: "https://api.anthropic.com",
  needsApiKey: true,
  optionsSchema,
  create: createAnthropicClient,
} satisfies ProviderPlugin;
