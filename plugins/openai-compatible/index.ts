/**
 * Any server that speaks OpenAI's API: OpenAI itself, vLLM, llama.cpp's server, LM Studio,
 * LocalAI, Ollama's /v1. Streaming /v1/chat/completions (SSE) with tool calls, /v1/embeddings,
 * /v1/models.
 *
 * Usage comes from the server: the request asks for it with `stream_options.include_usage`
 * and it arrives in the last chunk before `data: [DONE]`. Servers that ignore that option (or
 * when the admin turns it off for one that refuses it) report none: then tokens are estimated.
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
  type ProviderPlugin,
  type ToolCall,
} from "../../src/ai/types.ts";
import { baseUrl, chatModelsFirst, estimateTokens, exchange, healthFrom, hostOf, jsonHeaders, looksLikeEmbedding, parseJson, sseEvents } from "../_shared/http.ts";

const optionsSchema = Type.Object(
  {
    streamUsage: Type.Optional(
      Type.Boolean({ title: "Ask for token usage", description: "Send stream_options.include_usage (turn off for a server that rejects it; tokens are then estimated).", default: true }),
    ),
    organization: Type.Optional(Type.String({ title: "Organization", description: "OpenAI-Organization header, for OpenAI accounts in several organizations.", maxLength: 100 })),
  },
  { additionalProperties: false },
);

type WireToolCall = { id: string; type: "function"; function: { name: string; arguments: string } };
type WireMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: WireToolCall[] }
  | { role: "tool"; content: string; tool_call_id: string };

function toWireMessages(messages: ChatMessage[]): WireMessage[] {
  return messages.map((m): WireMessage => {
    if (m.role === "assistant") {
      if (!m.toolCalls?.length) return { role: "assistant", content: m.content };
      return {
        role: "assistant",
        content: m.content === "" ? null : m.content,
        tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments) } })),
      };
    }
    if (m.role === "tool") return { role: "tool", content: m.content, tool_call_id: m.toolCallId ?? "" };
    return { role: m.role, content: m.content };
  });
}

function finishReason(raw: string | undefined, toolCalls: number): "stop" | "length" | "tool_calls" | "other" {
  // Some servers say "stop" after tool calls; the calls are what matters.
  if (toolCalls > 0 || raw === "tool_calls" || raw === "function_call") return "tool_calls";
  if (raw === "stop" || raw === undefined) return "stop";
  if (raw === "length") return "length";
  return "other";
}

type Usage = { prompt_tokens?: unknown; completion_tokens?: unknown };
type Delta = { content?: unknown; tool_calls?: unknown };
type Chunk = { choices?: unknown; usage?: unknown; error?: unknown };

export function createOpenAICompatibleClient(config: ProviderConfig): ProviderClient {
  const base = `${baseUrl(config.url, "/v1")}/v1`;
  const who = `The OpenAI-compatible server at ${hostOf(config.url)}`;
  const streamUsage = config.options.streamUsage !== false;
  const headers = (extra: Record<string, string> = {}) =>
    jsonHeaders({
      ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
      ...(typeof config.options.organization === "string" && config.options.organization ? { "openai-organization": config.options.organization } : {}),
      ...extra,
    });

  async function listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    const ex = await exchange(config, { who, url: `${base}/models`, headers: headers(), signal });
    const body = (await ex.json()) as { data?: unknown } | null;
    if (!Array.isArray(body?.data)) throw new ProviderError("malformed", `${who} answered /v1/models without a data list.`);
    return chatModelsFirst(body.data.flatMap((m: { id?: unknown; max_model_len?: unknown }): ModelInfo[] => {
      if (typeof m?.id !== "string") return [];
      // vLLM reports the context it serves as max_model_len; others say nothing.
      const contextWindow = typeof m.max_model_len === "number" ? m.max_model_len : undefined;
      return [{ id: m.id, ...(contextWindow ? { contextWindow } : {}), ...(looksLikeEmbedding(m.id) ? { embedding: true } : {}) }];
    }));
  }

  return {
    listModels,

    async *chat(req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatChunk> {
      const payload = {
        model: req.model,
        messages: toWireMessages(req.messages),
        stream: true,
        ...(streamUsage ? { stream_options: { include_usage: true } } : {}),
        ...(req.tools?.length ? { tools: req.tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.parameters } })) } : {}),
        ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
        ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
      };
      const ex = await exchange(config, {
        who, url: `${base}/chat/completions`, method: "POST", headers: headers({ accept: "text/event-stream" }), body: JSON.stringify(payload), signal,
      });
      /** Tool calls arrive in pieces keyed by index: the id and name first, the arguments in fragments. */
      const pending = new Map<number, { id: string; name: string; args: string }>();
      let emitted = 0;
      let outChars = 0;
      let finish: string | undefined;
      let usage: { tokensIn: number; tokensOut: number } | undefined;
      let sawDone = false;
      const flushCalls = (): ToolCall[] => {
        const calls = [...pending.entries()].sort(([a], [b]) => a - b).map(([index, c]): ToolCall => {
          const args = c.args.trim() === "" ? {} : parseJson(c.args, who, "tool call arguments");
          if (!args || typeof args !== "object" || Array.isArray(args)) throw new ProviderError("malformed", `${who} sent tool call arguments that are not a JSON object.`);
          return { id: c.id || `call_${emitted + index}`, name: c.name, arguments: args as Record<string, unknown> };
        });
        pending.clear();
        return calls;
      };
      try {
        for await (const ev of sseEvents(ex.lines())) {
          if (ev.data.trim() === "[DONE]") {
            sawDone = true;
            break;
          }
          const chunk = parseJson(ev.data, who) as Chunk | null;
          if (!chunk || typeof chunk !== "object") throw new ProviderError("malformed", `${who} sent a chunk that is not a JSON object.`);
          if (chunk.error !== undefined) {
            // vLLM and llama.cpp report a failure during generation as a chunk of its own.
            const e = chunk.error as { message?: unknown; code?: unknown } | string;
            const message = typeof e === "string" ? e : String(e?.message ?? "unknown error");
            throw new ProviderError("unavailable", `${who} failed mid-answer: ${message}`);
          }
          const u = chunk.usage as Usage | null | undefined;
          if (u && typeof u.prompt_tokens === "number" && typeof u.completion_tokens === "number") usage = { tokensIn: u.prompt_tokens, tokensOut: u.completion_tokens };
          if (chunk.choices === undefined || chunk.choices === null) continue;
          if (!Array.isArray(chunk.choices)) throw new ProviderError("malformed", `${who} sent a chunk whose choices are not a list.`);
          const choice = chunk.choices[0] as { delta?: Delta; finish_reason?: unknown } | undefined;
          if (!choice) continue;
          const delta = choice.delta ?? {};
          if (typeof delta.content === "string" && delta.content !== "") {
            outChars += delta.content.length;
            yield { type: "token", text: delta.content };
          }
          if (Array.isArray(delta.tool_calls)) {
            for (const raw of delta.tool_calls as { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } }[]) {
              const index = typeof raw?.index === "number" ? raw.index : 0;
              const c = pending.get(index) ?? { id: "", name: "", args: "" };
              if (typeof raw?.id === "string") c.id = raw.id;
              if (typeof raw?.function?.name === "string") c.name += raw.function.name;
              if (typeof raw?.function?.arguments === "string") c.args += raw.function.arguments;
              pending.set(index, c);
            }
          }
          if (typeof choice.finish_reason === "string") {
            finish = choice.finish_reason;
            for (const call of flushCalls()) {
              emitted++;
              outChars += JSON.stringify(call.arguments).length;
              yield { type: "tool_call", call };
            }
          }
        }
      } finally {
        ex.close();
      }
      if (!sawDone) throw new ProviderError("malformed", `${who} ended the stream before "data: [DONE]".`);
      for (const call of flushCalls()) {
        emitted++;
        outChars += JSON.stringify(call.arguments).length;
        yield { type: "tool_call", call };
      }
      yield {
        type: "done",
        // No usage chunk (the server ignores stream_options, or it was turned off): estimated.
        usage: usage ?? { tokensIn: estimateTokens(req.messages.map((m) => m.content).join("")), tokensOut: Math.ceil(outChars / 4) },
        finishReason: finishReason(finish, emitted),
      };
    },

    async embed(model: string, texts: string[], signal?: AbortSignal): Promise<number[][]> {
      if (texts.length === 0) return [];
      const ex = await exchange(config, {
        who, url: `${base}/embeddings`, method: "POST", headers: headers(), body: JSON.stringify({ model, input: texts, encoding_format: "float" }), signal,
      });
      const body = (await ex.json()) as { data?: unknown } | null;
      if (!Array.isArray(body?.data)) throw new ProviderError("malformed", `${who} answered /v1/embeddings without a data list.`);
      const out = new Array<number[] | undefined>(texts.length).fill(undefined);
      body.data.forEach((d: { index?: unknown; embedding?: unknown }, i: number) => {
        const at = typeof d?.index === "number" ? d.index : i;
        if (at >= 0 && at < texts.length && Array.isArray(d?.embedding) && d.embedding.every((x) => typeof x === "number")) out[at] = d.embedding as number[];
      });
      if (out.some((v) => v === undefined)) throw new ProviderError("malformed", `${who} did not return one vector per text.`);
      return out as number[][];
    },

    health: (signal) => healthFrom(() => listModels(signal)),
  };
}

export default {
  kind: "openai-compatible",
  label: "OpenAI-compatible (OpenAI, vLLM, llama.cpp, LM Studio, LocalAI)",
  defaultUrl: "https://api.openai.com/v1",
  needsApiKey: false,
  optionsSchema,
  create: createOpenAICompatibleClient,
} satisfies ProviderPlugin;
