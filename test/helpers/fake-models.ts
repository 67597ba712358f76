/**
 * Protocol-faithful fake model servers for tests and benches: real HTTP on 127.0.0.1 (port 0),
 * speaking the documented wire formats so the real provider plugins can be tested end to end.
 *
 * - Ollama: GET /api/tags, /api/version; POST /api/chat, /api/generate (NDJSON when `stream`
 *   is not false, the last line `done: true` with `prompt_eval_count`/`eval_count`), /api/embed.
 * - OpenAI: GET /v1/models; POST /v1/chat/completions (SSE `data:` chunks, tool calls as
 *   `delta.tool_calls` fragments, a usage chunk when `stream_options.include_usage`, then
 *   `data: [DONE]`), /v1/embeddings.
 * - Anthropic: GET /v1/models; POST /v1/messages (SSE message_start, content_block_start/
 *   delta/stop — text and tool_use blocks —, ping, message_delta with usage, message_stop).
 *
 * Each is scriptable (`setScript`, which replaces the whole script): what to answer (also as a
 * function of the request), tool calls, pace, a first-byte delay, an HTTP failure, a stream cut
 * (the socket is destroyed) or a malformed chunk after N tokens. A model not in `models` gets
 * the server's real 404. `requests` records every request; `kill()` drops every connection and
 * the listener at once (a dead server: new connections are refused).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export type FakeToolCall = { name: string; arguments: Record<string, unknown> };

export type FakeRequest = {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The parsed JSON body (undefined for GET). */
  body: unknown;
  /** The text of the last user message of a chat request ("" otherwise). */
  lastUser: string;
  /** The answer ended unfinished: the client went away, or the script cut the stream. */
  cancelled: boolean;
};

export type FakeScript = {
  reply?: string | ((req: FakeRequest) => string);
  toolCalls?: FakeToolCall[] | ((req: FakeRequest) => FakeToolCall[]);
  /** Pace of streamed tokens; unset = as fast as possible. */
  tokensPerSecond?: number;
  /** Wait before the status line and first byte. */
  delayFirstMs?: number;
  /** Answer every request with this HTTP error (the body defaults to the protocol's error shape). */
  failWith?: { status: number; body?: string; retryAfter?: number };
  /** Destroy the socket after this many tokens (0 = right after the headers). */
  cutAfterTokens?: number;
  /** Send a chunk that is not valid JSON after this many tokens, then end the response. */
  malformedAfterTokens?: number;
  /** Models the server has; default one chat and one embedding model. */
  models?: string[];
  /** Leave out the token counts (a server that reports none). */
  omitUsage?: boolean;
  /** Require this key (Bearer for OpenAI, x-api-key for Anthropic). */
  apiKey?: string;
  /** Length of the embedding vectors; default 8. */
  embedDims?: number;
};

export type FakeServer = {
  url: string;
  port: number;
  requests: FakeRequest[];
  setScript(script: FakeScript): void;
  /** Closes the server, ending open connections. */
  stop(): Promise<void>;
  /** Drops every connection mid-answer and stops listening, like a crashed server. */
  kill(): void;
};

export const DEFAULT_REPLY = "Hello from the fake model.";

/** How the fakes split a reply into streamed tokens (tests use it to predict counts). */
export function tokensOf(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Deterministic vector for a text (same text → same vector). */
export function fakeVector(text: string, dims = 8): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return Array.from({ length: dims }, (_, i) => (((h >>> (i % 24)) & 0xff) - 127.5) / 127.5 + i * 0.001);
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === "object" && typeof p.text === "string" ? p.text : "")).join("");
  return "";
}

type Json = Record<string, unknown>;
const asObj = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});

function promptChars(body: Json): number {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  return msgs.reduce((n: number, m) => n + textOf(asObj(m).content).length, 0) + textOf(body.system).length + textOf(body.prompt).length;
}

type Frames = { head: string[]; tokens: string[]; tail: string[]; malformed: string; contentType: string };

/** What one protocol answers; `play` paces and breaks the frames as the script says. */
type Ctx = {
  req: FakeRequest;
  body: Json;
  script: FakeScript;
  models: string[];
  reply: string;
  toolCalls: FakeToolCall[];
  usage: { prompt: number; completion: number };
  res: ServerResponse;
};
type Protocol = {
  errorBody(status: number, message: string): string;
  route(ctx: Ctx): Frames | { status: number; json: unknown } | undefined;
};

const CUT_GRACE_MS = 50;

/** Writes and waits until the data is handed to the socket (so a cut right after it still delivers it). */
function send(res: ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.write(data, () => resolve());
  });
}

async function play(ctx: Ctx, f: Frames): Promise<void> {
  const { res, script, req } = ctx;
  res.writeHead(200, { "content-type": f.contentType, "cache-control": "no-cache" });
  res.flushHeaders();
  for (const h of f.head) await send(res, h);
  const gap = script.tokensPerSecond ? 1000 / script.tokensPerSecond : 0;
  for (let i = 0; i <= f.tokens.length; i++) {
    if (req.cancelled) return;
    if (script.cutAfterTokens === i) {
      // Close the connection mid-body. Bun's fetch drops data that arrives in the same read as
      // the close, so give the client a moment to take the tokens already sent.
      await Bun.sleep(CUT_GRACE_MS);
      res.socket?.destroy();
      return;
    }
    if (script.malformedAfterTokens === i) {
      res.end(f.malformed);
      return;
    }
    if (i === f.tokens.length) break;
    if (gap > 0 && i > 0) await Bun.sleep(gap);
    if (req.cancelled) return;
    await send(res, f.tokens[i] ?? "");
  }
  res.end(f.tail.join(""));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

async function startFake(protocol: Protocol, defaultModels: string[], initial: FakeScript = {}): Promise<FakeServer> {
  let script = initial;
  const requests: FakeRequest[] = [];
  const server = createServer(async (inc, res) => {
    const url = new URL(inc.url ?? "/", "http://fake");
    const raw = inc.method === "POST" ? await readBody(inc) : "";
    let parsed: unknown;
    let badJson = false;
    try {
      parsed = raw === "" ? undefined : JSON.parse(raw);
    } catch {
      badJson = true;
    }
    const body = asObj(parsed);
    const msgs = Array.isArray(body.messages) ? body.messages : [];
    const lastUserMsg = [...msgs].reverse().find((m) => asObj(m).role === "user");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(inc.headers)) if (typeof v === "string") headers[k] = v;
    const req: FakeRequest = { method: inc.method ?? "GET", path: url.pathname, headers, body: parsed, lastUser: textOf(asObj(lastUserMsg).content), cancelled: false };
    requests.push(req);
    res.on("close", () => {
      if (!res.writableFinished) req.cancelled = true;
    });
    const s = script;
    const sendJson = (status: number, value: unknown, extra: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...extra });
      res.end(typeof value === "string" ? value : JSON.stringify(value));
    };
    if (s.delayFirstMs) await Bun.sleep(s.delayFirstMs);
    if (req.cancelled) return;
    if (badJson) return sendJson(400, protocol.errorBody(400, "The request body is not valid JSON."));
    if (s.failWith) {
      const extra: Record<string, string> = s.failWith.retryAfter !== undefined ? { "retry-after": String(s.failWith.retryAfter) } : {};
      return sendJson(s.failWith.status, s.failWith.body ?? protocol.errorBody(s.failWith.status, "The fake server was told to fail."), extra);
    }
    const reply = typeof s.reply === "function" ? s.reply(req) : (s.reply ?? DEFAULT_REPLY);
    const toolCalls = typeof s.toolCalls === "function" ? s.toolCalls(req) : (s.toolCalls ?? []);
    const completion = tokensOf(reply).length + toolCalls.reduce((n, c) => n + Math.ceil(JSON.stringify(c.arguments).length / 4), 0);
    const ctx: Ctx = {
      req, body, script: s, models: s.models ?? defaultModels, reply, toolCalls, res,
      usage: { prompt: Math.max(1, Math.ceil(promptChars(body) / 4)), completion },
    };
    try {
      const out = protocol.route(ctx);
      if (out === undefined) return sendJson(404, protocol.errorBody(404, `No route ${req.method} ${req.path}.`));
      if ("status" in out) return sendJson(out.status, out.json);
      await play(ctx, out);
    } catch (e) {
      if (!res.headersSent) sendJson(500, protocol.errorBody(500, (e as Error).message));
      else res.socket?.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  let closed = false;
  const kill = () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    server.close();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setScript(next) {
      script = next;
    },
    async stop() {
      kill();
      await Bun.sleep(0);
    },
    kill,
  };
}

const now = () => new Date().toISOString();
const split2 = (s: string): [string, string] => [s.slice(0, Math.ceil(s.length / 2)), s.slice(Math.ceil(s.length / 2))];
const nd = (v: unknown) => JSON.stringify(v) + "\n";
const sse = (v: unknown, event?: string) => `${event ? `event: ${event}\n` : ""}data: ${typeof v === "string" ? v : JSON.stringify(v)}\n\n`;

// --- Ollama ------------------------------------------------------------------------------------

const ollama: Protocol = {
  errorBody: (_status, message) => JSON.stringify({ error: message }),
  route(c) {
    const { req, body, models } = c;
    if (req.method === "GET" && req.path === "/api/version") return { status: 200, json: { version: "0.12.6" } };
    if (req.method === "GET" && req.path === "/api/tags") {
      return {
        status: 200,
        json: {
          models: models.map((name) => {
            const family = /embed/.test(name) ? "nomic-bert" : "qwen2";
            return {
              name, model: name, modified_at: now(), size: 986_000_000, digest: "f".repeat(64),
              details: { parent_model: "", format: "gguf", family, families: [family], parameter_size: "1.5B", quantization_level: "Q4_K_M" },
            };
          }),
        },
      };
    }
    if (req.method !== "POST" || !["/api/chat", "/api/generate", "/api/embed"].includes(req.path)) return undefined;
    const model = String(body.model ?? "");
    if (!models.includes(model) && !models.includes(`${model}:latest`)) {
      return { status: 404, json: { error: `model "${model}" not found, try pulling it first` } };
    }
    if (req.path === "/api/embed") {
      const input = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")];
      const dims = c.script.embedDims ?? 8;
      return {
        status: 200,
        json: { model, embeddings: input.map((t) => fakeVector(t, dims)), total_duration: 1_000_000, load_duration: 100_000, prompt_eval_count: input.reduce((n, t) => n + Math.ceil(t.length / 4), 0) },
      };
    }
    const chat = req.path === "/api/chat";
    const piece = (text: string, extra: Json = {}) =>
      chat ? { model, created_at: now(), message: { role: "assistant", content: text, ...extra }, done: false } : { model, created_at: now(), response: text, done: false };
    const usage = c.script.omitUsage ? {} : { prompt_eval_count: c.usage.prompt, prompt_eval_duration: 1_000_000, eval_count: c.usage.completion, eval_duration: 5_000_000 };
    const last = { ...piece(""), done: true, done_reason: "stop", total_duration: 9_000_000, load_duration: 500_000, ...usage, ...(chat ? {} : { context: [1, 2, 3] }) };
    const calls = chat && c.toolCalls.length > 0 ? [nd(piece("", { tool_calls: c.toolCalls.map((t) => ({ function: { name: t.name, arguments: t.arguments } })) }))] : [];
    if (body.stream === false) {
      const message = { role: "assistant", content: c.reply, ...(calls.length ? { tool_calls: c.toolCalls.map((t) => ({ function: { name: t.name, arguments: t.arguments } })) } : {}) };
      return { status: 200, json: chat ? { ...last, message } : { ...last, response: c.reply } };
    }
    return {
      contentType: "application/x-ndjson",
      head: [],
      tokens: tokensOf(c.reply).map((t) => nd(piece(t))),
      tail: [...calls, nd(last)],
      malformed: `{"model":${JSON.stringify(model)},"created_at":"${now()}","message":{"role":"assistant","content":"\n`,
    };
  },
};

// --- OpenAI ------------------------------------------------------------------------------------

const OPENAI_ERROR_TYPES: Record<number, [string, string | null]> = {
  400: ["invalid_request_error", null], 401: ["invalid_request_error", "invalid_api_key"], 403: ["invalid_request_error", "unsupported_country_region_territory"],
  404: ["invalid_request_error", "model_not_found"], 429: ["requests", "rate_limit_exceeded"], 500: ["server_error", null], 503: ["server_error", "overloaded"],
};

const openai: Protocol = {
  errorBody(status, message) {
    const [type, code] = OPENAI_ERROR_TYPES[status] ?? ["server_error", null];
    return JSON.stringify({ error: { message, type, param: null, code } });
  },
  route(c) {
    const { req, body, models, script } = c;
    if (script.apiKey && req.headers.authorization !== `Bearer ${script.apiKey}`) {
      return { status: 401, json: JSON.parse(openai.errorBody(401, "Incorrect API key provided.")) };
    }
    if (req.method === "GET" && req.path === "/v1/models") {
      return { status: 200, json: { object: "list", data: models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "fake" })) } };
    }
    if (req.method !== "POST" || !["/v1/chat/completions", "/v1/embeddings"].includes(req.path)) return undefined;
    const model = String(body.model ?? "");
    if (!models.includes(model)) return { status: 404, json: JSON.parse(openai.errorBody(404, `The model \`${model}\` does not exist or you do not have access to it.`)) };
    if (req.path === "/v1/embeddings") {
      const input = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")];
      const tokens = input.reduce((n, t) => n + Math.ceil(t.length / 4), 0);
      return {
        status: 200,
        json: { object: "list", data: input.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(t, script.embedDims ?? 8) })), model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
      };
    }
    const id = "chatcmpl-fake";
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: Json, finish: string | null = null) => ({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_fake", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    const finish = c.toolCalls.length > 0 ? "tool_calls" : "stop";
    const usage = { prompt_tokens: c.usage.prompt, completion_tokens: c.usage.completion, total_tokens: c.usage.prompt + c.usage.completion };
    const callIds = c.toolCalls.map((_, i) => `call_fake${i}`);
    if (body.stream !== true) {
      const tool_calls = c.toolCalls.map((t, i) => ({ id: callIds[i], type: "function", function: { name: t.name, arguments: JSON.stringify(t.arguments) } }));
      const message = { role: "assistant", content: c.reply || null, ...(tool_calls.length ? { tool_calls } : {}) };
      return { status: 200, json: { id, object: "chat.completion", created, model, choices: [{ index: 0, message, finish_reason: finish }], ...(script.omitUsage ? {} : { usage }) } };
    }
    const calls = c.toolCalls.flatMap((t, index) => {
      const [a, b] = split2(JSON.stringify(t.arguments));
      return [
        sse(chunk({ tool_calls: [{ index, id: callIds[index], type: "function", function: { name: t.name, arguments: "" } }] })),
        sse(chunk({ tool_calls: [{ index, function: { arguments: a } }] })),
        sse(chunk({ tool_calls: [{ index, function: { arguments: b } }] })),
      ];
    });
    const wantsUsage = asObj(body.stream_options).include_usage === true && !script.omitUsage;
    return {
      contentType: "text/event-stream",
      head: [sse(chunk({ role: "assistant", content: "" }))],
      tokens: tokensOf(c.reply).map((t) => sse(chunk({ content: t }))),
      tail: [...calls, sse(chunk({}, finish)), ...(wantsUsage ? [sse({ id, object: "chat.completion.chunk", created, model, choices: [], usage })] : []), sse("[DONE]")],
      malformed: `data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":\n\n`,
    };
  },
};

// --- Anthropic ---------------------------------------------------------------------------------

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
  413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error",
};

const anthropic: Protocol = {
  errorBody: (status, message) => JSON.stringify({ type: "error", error: { type: ANTHROPIC_ERROR_TYPES[status] ?? "api_error", message } }),
  route(c) {
    const { req, body, models, script } = c;
    const err = (status: number, message: string) => ({ status, json: JSON.parse(anthropic.errorBody(status, message)) });
    if (script.apiKey && req.headers["x-api-key"] !== script.apiKey) return err(401, "invalid x-api-key");
    if (!req.headers["anthropic-version"]) return err(400, "anthropic-version: header is required");
    if (req.method === "GET" && req.path === "/v1/models") {
      const data = models.map((id) => ({ type: "model", id, display_name: id, created_at: "2025-09-29T00:00:00Z" }));
      return { status: 200, json: { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null } };
    }
    if (req.method !== "POST" || req.path !== "/v1/messages") return undefined;
    const model = String(body.model ?? "");
    if (typeof body.max_tokens !== "number") return err(400, "max_tokens: Field required");
    if (!models.includes(model)) return err(404, `model: ${model}`);
    const id = "msg_fake01";
    const stop = c.toolCalls.length > 0 ? "tool_use" : "end_turn";
    const inputUsage = script.omitUsage ? {} : { input_tokens: c.usage.prompt, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
    const toolIds = c.toolCalls.map((_, i) => `toolu_fake${i}`);
    if (body.stream !== true) {
      const content = [
        ...(c.reply ? [{ type: "text", text: c.reply }] : []),
        ...c.toolCalls.map((t, i) => ({ type: "tool_use", id: toolIds[i], name: t.name, input: t.arguments })),
      ];
      const usage = script.omitUsage ? {} : { input_tokens: c.usage.prompt, output_tokens: c.usage.completion };
      return { status: 200, json: { id, type: "message", role: "assistant", model, content, stop_reason: stop, stop_sequence: null, usage } };
    }
    const message = { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: inputUsage };
    const text = c.reply !== "";
    const firstTool = text ? 1 : 0;
    const tools = c.toolCalls.flatMap((t, i) => {
      const index = firstTool + i;
      const [a, b] = split2(JSON.stringify(t.arguments));
      return [
        sse({ type: "content_block_start", index, content_block: { type: "tool_use", id: toolIds[i], name: t.name, input: {} } }, "content_block_start"),
        sse({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: a } }, "content_block_delta"),
        sse({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: b } }, "content_block_delta"),
        sse({ type: "content_block_stop", index }, "content_block_stop"),
      ];
    });
    return {
      contentType: "text/event-stream; charset=utf-8",
      head: [
        sse({ type: "message_start", message }, "message_start"),
        ...(text ? [sse({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"), sse({ type: "ping" }, "ping")] : []),
      ],
      tokens: tokensOf(c.reply).map((t) => sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: t } }, "content_block_delta")),
      tail: [
        ...(text ? [sse({ type: "content_block_stop", index: 0 }, "content_block_stop")] : []),
        ...tools,
        sse({ type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: script.omitUsage ? {} : { output_tokens: c.usage.completion } }, "message_delta"),
        sse({ type: "message_stop" }, "message_stop"),
      ],
      malformed: `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_del\n\n`,
    };
  },
};

export function startFakeOllama(script?: FakeScript): Promise<FakeServer> {
  return startFake(ollama, ["qwen2.5-coder:1.5b", "nomic-embed-text:latest"], script);
}

export function startFakeOpenAI(script?: FakeScript): Promise<FakeServer> {
  return startFake(openai, ["gpt-4o-mini", "text-embedding-3-small"], script);
}

export function startFakeAnthropic(script?: FakeScript): Promise<FakeServer> {
  return startFake(anthropic, ["claude-sonnet-4-5", "claude-haiku-4-5"], script);
}
