/**
 * The HTTP plumbing the built-in provider plugins share (this folder is not a plugin: the
 * loader skips folders whose name starts with `_`).
 *
 * `exchange()` makes one request through the provider's outbound-checked `config.fetch` and
 * turns every way it can fail into a ProviderError:
 * - the connection is refused, reset or cannot be made → `unavailable`;
 * - no first byte of the body within `config.timeoutMs` → `timeout`;
 * - an HTTP error status → by status (429/503/529 `overloaded` with Retry-After, 401/403
 *   `auth`, 404 `not_found`, other 4xx `bad_request`, other 5xx `unavailable`);
 * - the body breaks off after it began → `malformed` (a stream cut before its end).
 * When the caller's signal aborts, the request is torn down at once and the signal's reason
 * (an AbortError) is thrown as it is: a cancellation is not a provider failure.
 *
 * `lines()` and `sseEvents()` hand each line / server-sent event on the moment its last byte
 * arrives: nothing waits for more tokens.
 */
import { ProviderError, type HealthResult, type ModelInfo, type ProviderConfig, type ProviderFailure } from "../../src/ai/types.ts";

/** Used when a config carries no usable timeout (the contract says it always does). */
const FALLBACK_TIMEOUT_MS = 60_000;

export type ExchangeOptions = {
  /** Names the server in error messages: "Ollama at 10.0.0.5:11434". */
  who: string;
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
};

export type Exchange = {
  status: number;
  headers: Headers;
  /** The body chunk by chunk, as it arrives. Ends the exchange when it ends or is left. */
  chunks(): AsyncGenerator<Uint8Array>;
  /** The body split into lines (without their line ends), each handed on when complete. */
  lines(): AsyncGenerator<string>;
  /** The whole body parsed as JSON (`malformed` when it is not). */
  json(): Promise<unknown>;
  /** Stops the request and closes the connection (safe to call twice). */
  close(): void;
};

/** Rough token count for text a backend did not count: about four characters per token. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

/** The configured base URL without trailing slashes (or without `suffix`, e.g. "/v1", when it ends with it). */
export function baseUrl(url: string, suffix?: string): string {
  let b = url.trim().replace(/\/+$/, "");
  if (suffix && b.endsWith(suffix)) b = b.slice(0, -suffix.length);
  return b;
}

/** "host:port" for messages, or the raw text cut short when it is not a URL. */
export function hostOf(url: string): string {
  try {
    return new URL(url.trim()).host;
  } catch {
    return url.slice(0, 60);
  }
}

export function failureForStatus(status: number): ProviderFailure {
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not_found";
  if (status === 408) return "timeout";
  if (status === 429 || status === 503 || status === 529) return "overloaded";
  if (status >= 500) return "unavailable";
  return "bad_request";
}

/** Seconds from `Retry-After` (seconds or an HTTP date) or OpenAI's `retry-after-ms`; undefined when absent. */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.has("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return Math.ceil(ms / 1000);
  const raw = headers.get("retry-after")?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.ceil(Number(raw));
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : undefined;
}

/** The message a server put in an error body: `{error: "…"}`, `{error: {message}}` or `{message}`. */
export function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === "object") {
      const e = (body as { error?: unknown }).error;
      if (typeof e === "string") return e;
      if (e && typeof e === "object" && typeof (e as { message?: unknown }).message === "string") return (e as { message: string }).message;
      const m = (body as { message?: unknown }).message;
      if (typeof m === "string") return m;
    }
  } catch {
    // not JSON: the text itself says it
  }
  return text.trim().slice(0, 300);
}

const HINTS: Partial<Record<ProviderFailure, string>> = {
  auth: " Check the API key.",
  not_found: " Check the URL and the model name.",
  overloaded: " The server is busy; try again shortly.",
};

/** A ProviderError for an HTTP error answer. */
export function httpError(who: string, status: number, bodyText: string, headers: Headers): ProviderError {
  const failure = failureForStatus(status);
  const said = serverMessage(bodyText);
  return new ProviderError(failure, `${who} answered HTTP ${status}${said ? `: ${said}` : ""}.${HINTS[failure] ?? ""}`, retryAfterSeconds(headers));
}

/** Network errors (refused, reset, DNS) carry a code or are TypeErrors; anything else came from the outbound check. */
function isNetworkError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return e instanceof TypeError || (typeof code === "string" && code !== "");
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  // Bun appends advice about its own `verbose` option, which means nothing to an admin.
  const message = e.message.replace(/\s*For more information, pass `verbose: true`.*$/s, "");
  return typeof code === "string" && code !== "" && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Parses JSON from a server, or throws `malformed` naming what it was. */
export function parseJson(text: string, who: string, what = "a chunk"): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProviderError("malformed", `${who} sent ${what} that is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
}

const MAX_ERROR_BODY = 64 * 1024;

/** One request through `config.fetch`, failures mapped as described at the top of this file. */
export async function exchange(config: ProviderConfig, o: ExchangeOptions): Promise<Exchange> {
  const caller = o.signal;
  if (caller?.aborted) throw caller.reason;
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(caller?.reason);
  caller?.addEventListener("abort", onAbort, { once: true });
  const timeoutMs = Number.isFinite(config.timeoutMs) && config.timeoutMs > 0 ? config.timeoutMs : FALLBACK_TIMEOUT_MS;
  const timeoutError = () => new ProviderError("timeout", `${o.who} sent nothing within ${timeoutMs} ms.`);
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
    timedOut = true;
    ctl.abort(timeoutError());
  }, timeoutMs);
  const stopClock = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  let closed = false;
  const close = () => {
    stopClock();
    caller?.removeEventListener("abort", onAbort);
    if (!closed) {
      closed = true;
      // Aborting the fetch drops the connection: the server sees the client go away at once.
      ctl.abort(caller?.reason ?? new DOMException("The request was closed.", "AbortError"));
    }
  };
  const finished = () => {
    stopClock();
    caller?.removeEventListener("abort", onAbort);
    closed = true;
  };
  /** What a failure while waiting or reading means, given why the request was stopped. */
  const classify = (e: unknown, started: boolean): unknown => {
    if (timedOut) return timeoutError();
    if (caller?.aborted) return caller.reason;
    if (e instanceof ProviderError) return e;
    if (started) return new ProviderError("malformed", `${o.who} cut the stream before its end (${describe(e)}).`);
    if (isNetworkError(e)) return new ProviderError("unavailable", `${o.who} could not be reached (${describe(e)}).`);
    return new ProviderError("bad_request", `${o.who}: ${describe(e)}`);
  };

  let res: Response;
  try {
    res = await config.fetch(o.url, { method: o.method ?? "GET", headers: o.headers, body: o.body, signal: ctl.signal, redirect: "manual" });
  } catch (e) {
    const err = classify(e, false);
    close();
    throw err;
  }
  if (res.status >= 300 && res.status < 400) {
    close();
    throw new ProviderError("bad_request", `${o.who} answered with a redirect (HTTP ${res.status}); give the server's own address.`);
  }
  if (!res.ok) {
    let text = "";
    try {
      text = (await res.text()).slice(0, MAX_ERROR_BODY);
    } catch (e) {
      // The status says enough, unless the wait for the body timed out or was cancelled.
      if (timedOut || caller?.aborted) {
        const err = classify(e, false);
        close();
        throw err;
      }
    }
    close();
    throw httpError(o.who, res.status, text, res.headers);
  }

  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (!res.body) {
      finished();
      return;
    }
    const reader = res.body.getReader();
    let firstByte = false;
    try {
      for (;;) {
        let step: Awaited<ReturnType<typeof reader.read>>;
        try {
          step = await reader.read();
        } catch (e) {
          // The answer began with its headers: a read that fails from here on is a cut stream.
          throw classify(e, true);
        }
        if (step.done) {
          finished();
          return;
        }
        if (!firstByte) {
          firstByte = true;
          stopClock();
        }
        yield step.value;
      }
    } finally {
      // Left early (the consumer stopped, or an error): drop the connection.
      close();
      reader.releaseLock();
    }
  }

  async function* lines(): AsyncGenerator<string> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of chunks()) {
      pending += decoder.decode(chunk, { stream: true });
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        yield pending.slice(0, nl).replace(/\r$/, "");
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
      }
    }
    pending += decoder.decode();
    if (pending !== "") yield pending.replace(/\r$/, "");
  }

  async function json(): Promise<unknown> {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of chunks()) text += decoder.decode(chunk, { stream: true });
    text += decoder.decode();
    return parseJson(text, o.who, "an answer");
  }

  return { status: res.status, headers: res.headers, chunks, lines, json, close };
}

export type SseEvent = { event: string; data: string };

/**
 * Server-sent events from lines (the WHATWG rules: `event:` and `data:` fields, `:` comments,
 * a blank line dispatches). An event cut off before its blank line is dropped, as the spec says.
 */
export async function* sseEvents(lines: AsyncIterable<string>): AsyncGenerator<SseEvent> {
  let event = "";
  let data: string[] = [];
  for await (const line of lines) {
    if (line === "") {
      if (data.length > 0) yield { event: event || "message", data: data.join("\n") };
      event = "";
      data = [];
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
}

/** Headers every JSON request carries. */
export function jsonHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { "content-type": "application/json", accept: "application/json", ...extra };
}

/** A model is taken for an embedding model when its name or family says so (no backend lists it plainly). */
export function looksLikeEmbedding(...names: (string | undefined)[]): boolean {
  return names.some((n) => n !== undefined && /embed|bert|(?:^|[^a-z])(?:bge|e5|gte|minilm)(?:[^a-z]|$)/i.test(n));
}

/**
 * Chat models first, embedding models after (each group in the server's order): with no policy
 * set, the router takes a provider's first listed model for chat, and Ollama lists the most
 * recently pulled model first, which may well be the embedding one.
 */
export function chatModelsFirst(models: ModelInfo[]): ModelInfo[] {
  return [...models.filter((m) => !m.embedding), ...models.filter((m) => m.embedding)];
}

/** `health()` for every plugin: the model list, or the reason there is none. Never throws. */
export async function healthFrom(list: () => Promise<ModelInfo[]>): Promise<HealthResult> {
  try {
    const models = await list();
    return { ok: true, models };
  } catch (e) {
    if (e instanceof ProviderError) return { ok: false, reason: e.message };
    if (e instanceof Error && e.name === "AbortError") return { ok: false, reason: "The check was cancelled." };
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}
