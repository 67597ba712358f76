/**
 * Ollama (https://ollama.com), through the official `ollama` npm client: streaming /api/chat
 * with tool calls, /api/embed, /api/tags.
 *
 * The client is handed a fetch that goes through the provider's outbound-checked
 * `config.fetch` (plugins/_shared/http.ts `exchange`), so every failure is a ProviderError:
 * HTTP errors are mapped before the client sees them, and the NDJSON stream is checked line by
 * line as it passes — the client itself would skip a line that is not JSON with a console
 * warning, and only notice a cut stream at its end. Token counts are Ollama's own
 * (`prompt_eval_count`, `eval_count` on the last line).
 */
import { Type } from "@sinclair/typebox";
import { Ollama, type ChatResponse, type Message, type Tool } from "ollama/browser";
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
import { baseUrl, chatModelsFirst, estimateTokens, exchange, healthFrom, hostOf, looksLikeEmbedding, parseJson, type Exchange } from "../_shared/http.ts";

const optionsSchema = Type.Object(
  {
    keepAlive: Type.Optional(Type.String({ title: "Keep alive", description: "How long Ollama keeps a model loaded after a request (e.g. 5m, 1h).", maxLength: 20, pattern: "^-?[0-9]+(ms|s|m|h)?$" })),
    numCtx: Type.Optional(Type.Integer({ title: "Context window", description: "Tokens of context to ask for (num_ctx); unset = the model's default.", minimum: 512, maximum: 1_048_576 })),
  },
  { additionalProperties: false },
);

type Options = { keepAlive?: string; numCtx?: number };

function readOptions(raw: Record<string, unknown>): Options {
  return {
    keepAlive: typeof raw.keepAlive === "string" && raw.keepAlive !== "" ? raw.keepAlive : undefined,
    numCtx: typeof raw.numCtx === "number" ? raw.numCtx : undefined,
  };
}

/** Our messages in Ollama's shape; a tool answer names its tool (Ollama matches by name, not id). */
function toOllamaMessages(messages: ChatMessage[]): Message[] {
  const toolNames = new Map<string, string>();
  return messages.map((m): Message => {
    if (m.role === "assistant" && m.toolCalls?.length) {
      for (const c of m.toolCalls) toolNames.set(c.id, c.name);
      return { role: "assistant", content: m.content, tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) };
    }
    if (m.role === "tool") {
      const name = m.toolCallId ? toolNames.get(m.toolCallId) : undefined;
      return name ? { role: "tool", content: m.content, tool_name: name } : { role: "tool", content: m.content };
    }
    return { role: m.role, content: m.content };
  });
}

function headerRecord(h: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(h).forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

/**
 * A body that hands the client each NDJSON line as it arrives, after checking it: a line that
 * is not a JSON object → `malformed`; an `{"error": …}` line (the model runner failed) →
 * `unavailable`; the body ending before a `"done": true` line → `malformed` (cut).
 */
function checkedNdjson(ex: Exchange, who: string): ReadableStream<Uint8Array> {
  const lines = ex.lines();
  const encoder = new TextEncoder();
  let sawDone = false;
  const fail = async (e: ProviderError): Promise<never> => {
    await lines.return(undefined);
    throw e;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const next = await lines.next();
        if (next.done) {
          if (!sawDone) throw new ProviderError("malformed", `${who} ended the stream before its last ("done") line.`);
          controller.close();
          return;
        }
        if (next.value.trim() === "") continue;
        const value = parseJson(next.value, who);
        if (!value || typeof value !== "object" || Array.isArray(value)) {
          return fail(new ProviderError("malformed", `${who} sent a line that is not a JSON object.`));
        }
        const error = (value as { error?: unknown }).error;
        if (error !== undefined) return fail(new ProviderError("unavailable", `${who} failed mid-answer: ${String(error)}`));
        if ((value as { done?: unknown }).done === true) sawDone = true;
        controller.enqueue(encoder.encode(`${next.value}\n`));
        return;
      }
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
}

function toolCallOf(raw: unknown, n: number, who: string): ToolCall {
  const fn = (raw as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
  let args: unknown = fn?.arguments ?? {};
  if (typeof args === "string") args = parseJson(args, who, "tool call arguments");
  if (!fn || typeof fn.name !== "string" || !args || typeof args !== "object" || Array.isArray(args)) {
    throw new ProviderError("malformed", `${who} sent a tool call without a name or object arguments.`);
  }
  // Ollama only gives calls an id from 0.12 on; otherwise number them in order.
  const id = (raw as { id?: unknown }).id;
  return { id: typeof id === "string" && id !== "" ? id : `call_${n}`, name: fn.name, arguments: args as Record<string, unknown> };
}

function finishReason(doneReason: string | undefined, toolCalls: number): "stop" | "length" | "tool_calls" | "other" {
  if (toolCalls > 0) return "tool_calls";
  if (doneReason === "stop" || doneReason === undefined || doneReason === "") return "stop";
  if (doneReason === "length") return "length";
  return "other";
}

export function createOllamaClient(config: ProviderConfig): ProviderClient {
  const host = baseUrl(config.url, "/api");
  const who = `Ollama at ${hostOf(config.url)}`;
  const options = readOptions(config.options);
  // Ollama has no keys of its own; one is sent when it sits behind an authenticating proxy.
  const headers = config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : undefined;

  /** A client whose every request goes through `exchange` with the caller's signal. */
  function client(signal: AbortSignal | undefined, streaming: boolean): Ollama {
    const viaExchange = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const signals = [signal, init?.signal ?? undefined].filter((s): s is AbortSignal => s !== undefined);
      const ex = await exchange(config, {
        who,
        url: typeof input === "string" ? input : input instanceof URL ? input.href : input.url,
        method: init?.method === "POST" ? "POST" : "GET",
        headers: headerRecord(init?.headers),
        body: typeof init?.body === "string" ? init.body : undefined,
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      });
      const body = streaming ? checkedNdjson(ex, who) : new ReadableStream<Uint8Array>({
        async start(controller) {
          try {
            for await (const chunk of ex.chunks()) controller.enqueue(chunk);
            controller.close();
          } catch (e) {
            controller.error(e);
          }
        },
      });
      return new Response(body, { status: ex.status, headers: ex.headers });
    };
    return new Ollama({ host, headers, fetch: Object.assign(viaExchange, { preconnect: fetch.preconnect }) });
  }

  /** Errors the client raised itself (not ours) mean the answer made no sense. */
  function mapped(e: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (e instanceof ProviderError) return e;
    if (e instanceof Error && e.name === "AbortError") return e;
    return new ProviderError("malformed", `${who} answered in a way the client could not read: ${e instanceof Error ? e.message : String(e)}`);
  }

  async function listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    try {
      const list = await client(signal, false).list();
      if (!Array.isArray(list?.models)) throw new ProviderError("malformed", `${who} answered /api/tags without a models list.`);
      return chatModelsFirst(list.models.map((m) => ({ id: m.name ?? m.model, ...(looksLikeEmbedding(m.name, m.details?.family) ? { embedding: true } : {}) })));
    } catch (e) {
      throw mapped(e, signal);
    }
  }

  return {
    listModels,

    async *chat(req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatChunk> {
      const tools: Tool[] | undefined = req.tools?.length
        ? req.tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.parameters as Tool["function"]["parameters"] } }))
        : undefined;
      const modelOptions = {
        ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
        ...(req.maxTokens !== undefined ? { num_predict: req.maxTokens } : {}),
        ...(options.numCtx !== undefined ? { num_ctx: options.numCtx } : {}),
      };
      let stream: AsyncIterable<ChatResponse> & { abort(): void };
      try {
        stream = await client(signal, true).chat({
          model: req.model,
          messages: toOllamaMessages(req.messages),
          tools,
          stream: true,
          options: modelOptions,
          ...(options.keepAlive ? { keep_alive: options.keepAlive } : {}),
        });
      } catch (e) {
        throw mapped(e, signal);
      }
      let outChars = 0;
      let calls = 0;
      let last: ChatResponse | undefined;
      try {
        for await (const part of stream) {
          const text = part.message?.content;
          if (typeof text === "string" && text !== "") {
            outChars += text.length;
            yield { type: "token", text };
          }
          for (const raw of part.message?.tool_calls ?? []) {
            const call = toolCallOf(raw, calls++, who);
            outChars += JSON.stringify(call.arguments).length;
            yield { type: "tool_call", call };
          }
          if (part.done) last = part;
        }
      } catch (e) {
        throw mapped(e, signal);
      } finally {
        stream.abort();
      }
      if (!last) throw new ProviderError("malformed", `${who} ended the stream before its last ("done") line.`);
      // Ollama leaves prompt_eval_count out when the whole prompt came from its cache: then the
      // counts are estimated (about four characters per token).
      yield {
        type: "done",
        usage: {
          tokensIn: typeof last.prompt_eval_count === "number" ? last.prompt_eval_count : estimateTokens(req.messages.map((m) => m.content).join("")),
          tokensOut: typeof last.eval_count === "number" ? last.eval_count : Math.ceil(outChars / 4),
        },
        finishReason: finishReason(last.done_reason, calls),
      };
    },

    async embed(model: string, texts: string[], signal?: AbortSignal): Promise<number[][]> {
      if (texts.length === 0) return [];
      let vectors: unknown;
      try {
        const res = await client(signal, false).embed({ model, input: texts, truncate: true, ...(options.keepAlive ? { keep_alive: options.keepAlive } : {}) });
        vectors = res?.embeddings;
      } catch (e) {
        throw mapped(e, signal);
      }
      if (!Array.isArray(vectors) || vectors.length !== texts.length || !vectors.every((v) => Array.isArray(v) && v.every((x) => typeof x === "number"))) {
        throw new ProviderError("malformed", `${who} did not return one vector per text.`);
      }
      return vectors as number[][];
    },

    health: (signal) => healthFrom(() => listModels(signal)),
  };
}

export default {
  kind: "ollama",
  label: "Ollama",
  defaultUrl: "http://127.0.0.1:11434",
  needsApiKey: false,
  optionsSchema,
  create: createOllamaClient,
} satisfies ProviderPlugin;
