/**
 * Embedders served over HTTP by a model server the admin runs:
 * - Ollama: `POST <url>/api/embed` `{model, input: [...]}` → `{embeddings: [[...], ...]}`.
 * - OpenAI-compatible (OpenAI, vLLM, llama.cpp server, LM Studio, LocalAI…):
 *   `POST <url>/v1/embeddings` `{model, input: [...]}` with `Authorization: Bearer <key>` →
 *   `{data: [{index, embedding: [...]}, ...]}`.
 *
 * Every request: the URL passes the outbound check first (lib/outbound.ts, with the configured
 * host as the allowlist) and the connection goes to an address that check approved (no second
 * DNS answer), redirects are not followed, each request has a timeout, texts go in batches,
 * a 429 or 5xx is retried twice with a pause, and every failure is an EmbedderError whose
 * message names the server and says what went wrong. Vectors come back L2-normalised.
 */
import { checkOutboundUrl, type CheckedUrl } from "../lib/outbound.ts";
import { normalise, type Embedder } from "./embed.ts";

export type HttpEmbedderKind = "ollama" | "openai";

export type HttpEmbedderOptions = {
  kind: HttpEmbedderKind;
  /** The server's base URL, e.g. `http://10.0.0.5:11434` or `https://api.openai.com` (a trailing `/v1` is accepted). */
  url: string;
  model: string;
  apiKey?: string;
  /** The vector length the model returns (learned by probing when the admin saved the setting). */
  dims: number;
  timeoutMs?: number;
  batchSize?: number;
  /** How the URL is checked and pinned; tests replace it to reach a fake server on loopback. */
  check?: (url: string) => Promise<CheckedUrl>;
  /** Pause before a retry, ms (tests shorten it). */
  retryDelayMs?: number;
};

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_BATCH = 32;
/** Longer texts are cut: servers refuse inputs past their context, and chunks are far shorter. */
const MAX_INPUT_CHARS = 8000;
const RETRIES = 2;

/** An embedding request that failed; `status` is the HTTP status when the server answered. */
export class EmbedderError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The endpoint for a kind and base URL: `<base>/api/embed` or `<base>/v1/embeddings`. */
export function endpointUrl(kind: HttpEmbedderKind, base: string): string {
  const b = base.trim().replace(/\/+$/, "");
  if (kind === "ollama") return `${b.replace(/\/api$/, "")}/api/embed`;
  return `${b.replace(/\/v1$/, "")}/v1/embeddings`;
}

/** The default check: only the host the admin configured, resolved once and pinned. */
function defaultCheck(configured: string): (url: string) => Promise<CheckedUrl> {
  let host = "";
  try {
    host = new URL(configured.trim()).hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  } catch {
    // checkOutboundUrl reports the bad URL
  }
  return (url) => checkOutboundUrl(url, { allow: host ? [host] : [] });
}

/** Fetch options that connect to the checked address while keeping the name for Host and TLS. */
function pinned(checked: CheckedUrl): { url: string; headers: Record<string, string>; tls?: { serverName: string } } {
  const address = checked.addresses[0] ?? checked.host;
  const u = new URL(checked.url.href);
  const hostHeader = checked.url.host;
  u.hostname = address.includes(":") ? `[${address}]` : address;
  return { url: u.href, headers: { host: hostHeader }, tls: checked.url.protocol === "https:" ? { serverName: checked.host } : undefined };
}

function describe(kind: HttpEmbedderKind): string {
  return kind === "ollama" ? "Ollama" : "the OpenAI-compatible server";
}

/** The error message a server put in its body: Ollama `{error}`, OpenAI `{error: {message}}`. */
function serverMessage(body: unknown): string | undefined {
  if (!body || typeof body !== "object") return undefined;
  const e = (body as { error?: unknown }).error;
  if (typeof e === "string") return e;
  if (e && typeof e === "object" && typeof (e as { message?: unknown }).message === "string") return (e as { message: string }).message;
  return undefined;
}

function vectorsFrom(kind: HttpEmbedderKind, body: unknown, count: number): number[][] {
  if (kind === "ollama") {
    const list = (body as { embeddings?: unknown } | null)?.embeddings;
    if (!Array.isArray(list)) throw new EmbedderError("Ollama answered without an `embeddings` list; is this an Ollama server (0.3 or later)?");
    return list as number[][];
  }
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new EmbedderError("The server answered without a `data` list; is it OpenAI-compatible?");
  const out = new Array<number[]>(count);
  data.forEach((d: { index?: unknown; embedding?: unknown }, i) => {
    const at = typeof d?.index === "number" ? d.index : i;
    if (Array.isArray(d?.embedding) && at >= 0 && at < count) out[at] = d.embedding as number[];
  });
  return out;
}

/** An Embedder for Ollama or an OpenAI-compatible server. */
export function httpEmbedder(o: HttpEmbedderOptions): Embedder {
  const endpoint = endpointUrl(o.kind, o.url);
  const check = o.check ?? defaultCheck(o.url);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const batchSize = Math.max(1, o.batchSize ?? DEFAULT_BATCH);
  const who = `${describe(o.kind)} at ${safeHost(o.url)}`;

  async function once(input: string[]): Promise<Response> {
    const checked = await check(endpoint).catch((e: Error) => {
      throw new EmbedderError(`The embedding server URL is refused: ${e.message}`);
    });
    const p = pinned(checked);
    const headers: Record<string, string> = { ...p.headers, "content-type": "application/json", accept: "application/json" };
    if (o.kind === "openai" && o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
    const body = o.kind === "ollama" ? { model: o.model, input, truncate: true } : { model: o.model, input, encoding_format: "float" };
    try {
      return await fetch(p.url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
        tls: p.tls,
      });
    } catch (e) {
      const err = e as Error;
      if (err.name === "TimeoutError" || err.name === "AbortError") {
        throw new EmbedderError(`${who} did not answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}.`);
      }
      throw new EmbedderError(`${who} could not be reached: ${err.message}`);
    }
  }

  async function batch(texts: string[]): Promise<Float32Array[]> {
    const input = texts.map((t) => (t.length > MAX_INPUT_CHARS ? t.slice(0, MAX_INPUT_CHARS) : t === "" ? " " : t));
    let res: Response | undefined;
    for (let attempt = 0; ; attempt++) {
      res = await once(input);
      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable || attempt >= RETRIES) break;
      await res.body?.cancel();
      const after = Number(res.headers.get("retry-after"));
      await Bun.sleep(Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 10_000) : (o.retryDelayMs ?? 1000) * (attempt + 1));
    }
    let parsed: unknown;
    const text = await res.text();
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.status >= 300 && res.status < 400) throw new EmbedderError(`${who} answered with a redirect (${res.status}); give the server's own address.`, res.status);
    if (!res.ok) {
      const said = serverMessage(parsed) ?? text.slice(0, 200);
      const hint = res.status === 401 || res.status === 403 ? " Check the API key." : res.status === 404 ? ` Check the URL and that the model "${o.model}" exists there.` : "";
      throw new EmbedderError(`${who} refused the request (HTTP ${res.status}${said ? `: ${said}` : ""}).${hint}`, res.status);
    }
    if (parsed === undefined) throw new EmbedderError(`${who} answered with something that is not JSON.`);
    const vectors = vectorsFrom(o.kind, parsed, texts.length);
    if (vectors.length !== texts.length) throw new EmbedderError(`${who} returned ${vectors.length} vectors for ${texts.length} texts.`);
    return vectors.map((v, i) => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
        throw new EmbedderError(`${who} returned an invalid vector for text ${i + 1}.`);
      }
      if (o.dims > 0 && v.length !== o.dims) {
        throw new EmbedderError(`${who} returned ${v.length}-dimensional vectors, but the index holds ${o.dims}; save the embedder setting again to re-embed.`);
      }
      return normalise(Float32Array.from(v));
    });
  }

  return {
    id: httpEmbedderId(o.kind, o.model, o.dims),
    dims: o.dims,
    async embed(texts) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) out.push(...(await batch(texts.slice(i, i + batchSize))));
      return out;
    },
  };
}

/** The vector space of a remote model: the same model and size give comparable vectors wherever it runs. */
export function httpEmbedderId(kind: HttpEmbedderKind, model: string, dims: number): string {
  return `${kind}:${model}:${dims}`;
}

function safeHost(url: string): string {
  try {
    return new URL(url.trim()).host;
  } catch {
    return url.slice(0, 60);
  }
}
