/**
 * Which embedder semantic search uses: an instance setting the admin changes (pages-embedder.tsx).
 *
 * Stored in the `settings` table:
 * - `search.embedder`: JSON `{"kind":"builtin"}`, or `{"kind":"ollama"|"openai","url","model","dims"}`.
 *   No row means the built-in embedder.
 * - `search.embedder.api_key.sealed`: the OpenAI-compatible API key, sealed with the instance
 *   key (lib/crypto.ts seal), opened with the key ring so a key rotation never loses it.
 *
 * Saving checks the URL with the outbound check (its host is the only one allowed, so an admin
 * may name a private address; loopback and metadata addresses are always refused) and probes
 * the server with one embedding, which also tells the vector length. Changing the embedder
 * makes the semantic indexer re-embed every file in the background (semantic-index.ts).
 */
import type { App } from "../core/app.ts";
import { recordEvent } from "../events/events.ts";
import { seal } from "../lib/crypto.ts";
import { ApiError, invalid } from "../lib/errors.ts";
import { checkOutboundUrl, type CheckedUrl } from "../lib/outbound.ts";
import { keyRing, unsealWithRing } from "../projects/env.ts";
import { builtinEmbedder, type Embedder } from "./embed.ts";
import { EmbedderError, httpEmbedder, type HttpEmbedderKind } from "./embed-http.ts";

export const EMBEDDER_KEY = "search.embedder";
export const API_KEY_KEY = "search.embedder.api_key.sealed";
export const EMBEDDER_KINDS = ["builtin", "ollama", "openai"] as const;
export type EmbedderKind = (typeof EMBEDDER_KINDS)[number];

export type EmbedderConfig = { kind: "builtin" } | { kind: HttpEmbedderKind; url: string; model: string; dims: number; hasKey: boolean };

export type EmbedderInput = { kind: string; url?: string; model?: string; apiKey?: string; clearKey?: boolean };

/** Test hooks: how embedder URLs are checked (tests reach fake servers on loopback). Never set outside tests. */
export const _testHooks: { check?: (url: string) => Promise<CheckedUrl> } = {};

const MAX_DIMS = 8192;

type Stored = { kind: EmbedderKind; url?: string; model?: string; dims?: number };

async function readRows(app: App): Promise<{ stored: Stored; sealedKey: string | null; version: string }> {
  const rs = await app.db.client.execute({ sql: "SELECT key, value, updated_at FROM settings WHERE key IN (?, ?)", args: [EMBEDDER_KEY, API_KEY_KEY] });
  let stored: Stored = { kind: "builtin" };
  let sealedKey: string | null = null;
  let version = "";
  for (const r of rs.rows) {
    if (r.key === EMBEDDER_KEY) {
      try {
        const v = JSON.parse(String(r.value)) as Stored;
        if (EMBEDDER_KINDS.includes(v.kind)) stored = v;
      } catch {
        app.log.warn("the search.embedder setting is not JSON; using the built-in embedder");
      }
    } else sealedKey = String(r.value);
    version += `${String(r.key)}@${String(r.updated_at)};`;
  }
  return { stored, sealedKey, version };
}

function configOf(stored: Stored, sealedKey: string | null): EmbedderConfig {
  if (stored.kind === "builtin" || !stored.url || !stored.model || !stored.dims) return { kind: "builtin" };
  return { kind: stored.kind, url: stored.url, model: stored.model, dims: stored.dims, hasKey: sealedKey !== null };
}

/** The configured embedder, as the admin page shows it (never the key itself). */
export async function readEmbedderConfig(app: App): Promise<EmbedderConfig> {
  const { stored, sealedKey } = await readRows(app);
  return configOf(stored, sealedKey);
}

function openKey(app: App, sealed: string | null): string | undefined {
  if (sealed === null) return undefined;
  const key = unsealWithRing(keyRing(app.secret, app.config.dataDir), sealed);
  if (key === undefined) app.log.error("the embedder API key opens with none of this instance's keys; set it again on the admin page");
  return key;
}

function build(app: App, config: EmbedderConfig, apiKey: string | undefined, dims: number): Embedder {
  if (config.kind === "builtin") return builtinEmbedder;
  return httpEmbedder({ kind: config.kind, url: config.url, model: config.model, apiKey, dims, check: _testHooks.check });
}

const cache = new WeakMap<App, { version: string; embedder: Embedder }>();

/** The embedder in force now (re-read from the settings when they changed, cheap otherwise). */
export async function currentEmbedder(app: App): Promise<Embedder> {
  const { stored, sealedKey, version } = await readRows(app);
  const hit = cache.get(app);
  if (hit && hit.version === version) return hit.embedder;
  const config = configOf(stored, sealedKey);
  const embedder = build(app, config, openKey(app, sealedKey), config.kind === "builtin" ? 0 : config.dims);
  cache.set(app, { version, embedder });
  return embedder;
}

function fieldError(field: string, message: string): ApiError {
  return invalid(message, { [field]: message });
}

/** Checks the form input; returns the normalised values or throws 422 with field errors. */
async function validate(input: EmbedderInput): Promise<{ kind: EmbedderKind; url: string; model: string }> {
  const kind = input.kind as EmbedderKind;
  if (!EMBEDDER_KINDS.includes(kind)) throw fieldError("kind", "Choose the built-in embedder, Ollama or an OpenAI-compatible server.");
  if (kind === "builtin") return { kind, url: "", model: "" };
  const url = (input.url ?? "").trim().replace(/\/+$/, "");
  const model = (input.model ?? "").trim();
  const errors: Record<string, string> = {};
  if (url === "") errors.url = "The server's URL is required, e.g. http://10.0.0.5:11434.";
  else if (url.length > 500) errors.url = "The URL must be at most 500 characters.";
  if (model === "") errors.model = kind === "ollama" ? "The model name is required, e.g. nomic-embed-text." : "The model name is required, e.g. text-embedding-3-small.";
  else if (model.length > 200 || /[\u0000-\u001f\u007f]/.test(model)) errors.model = "The model name must be at most 200 characters, without control characters.";
  if ((input.apiKey ?? "").length > 500) errors.apiKey = "The API key must be at most 500 characters.";
  if (Object.keys(errors).length > 0) throw invalid("Some fields need attention.", errors);
  try {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
    await (_testHooks.check ?? ((u: string) => checkOutboundUrl(u, { allow: [host] })))(url);
  } catch (e) {
    if (e instanceof ApiError) throw fieldError("url", e.message);
    throw fieldError("url", "That is not a valid URL.");
  }
  return { kind, url, model };
}

/**
 * Saves the embedder setting after probing the server (422 with the reason beside the field
 * when it fails). An empty `apiKey` keeps the stored one unless `clearKey`.
 */
export async function saveEmbedderConfig(app: App, input: EmbedderInput, actorId: string | null): Promise<EmbedderConfig> {
  const v = await validate(input);
  const now = Date.now();
  const { sealedKey } = await readRows(app);
  let apiKey = (input.apiKey ?? "").trim() || (input.clearKey ? undefined : openKey(app, sealedKey));
  if (v.kind !== "openai") apiKey = undefined;
  let stored: Stored = { kind: "builtin" };
  if (v.kind !== "builtin") {
    let dims: number;
    try {
      const probe = httpEmbedder({ kind: v.kind, url: v.url, model: v.model, apiKey, dims: 0, timeoutMs: 15_000, check: _testHooks.check });
      const [vec] = await probe.embed(["wove embedding probe"]);
      dims = vec?.length ?? 0;
    } catch (e) {
      if (e instanceof EmbedderError) throw fieldError(e.status === 401 || e.status === 403 ? "apiKey" : e.status === 404 ? "model" : "url", e.message);
      throw e;
    }
    if (dims < 8 || dims > MAX_DIMS) throw fieldError("model", `The model returned ${dims}-dimensional vectors; semantic search needs 8 to ${MAX_DIMS}.`);
    stored = { kind: v.kind, url: v.url, model: v.model, dims };
  }
  const statements = [
    { sql: "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at", args: [EMBEDDER_KEY, JSON.stringify(stored), now] },
    apiKey
      ? { sql: "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at", args: [API_KEY_KEY, seal(app.secret, apiKey), now] }
      : { sql: "DELETE FROM settings WHERE key = ?", args: [API_KEY_KEY] },
  ];
  await app.db.client.batch(statements, "write");
  const config = configOf(stored, apiKey ? "sealed" : null);
  await recordEvent(app.db.orm, {
    actorId,
    kind: "search.embedder_changed",
    subjectType: "instance",
    subjectId: "search",
    data: config.kind === "builtin" ? { kind: "builtin" } : { kind: config.kind, model: config.model, dims: config.dims, host: new URL(config.url).host },
  });
  return config;
}

/** A short description for pages and logs. */
export function describeEmbedder(c: EmbedderConfig): string {
  if (c.kind === "builtin") return "built-in (hashed features, 384 dimensions, no download)";
  return `${c.kind === "ollama" ? "Ollama" : "OpenAI-compatible"} model ${c.model} at ${new URL(c.url).host} (${c.dims} dimensions)`;
}
