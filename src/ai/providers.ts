/**
 * The model-provider registry over `ai_providers`: what admins add, check, enable, reorder and
 * remove (admin pages, API and `wove admin provider add`), and `clientFor`, which turns a row
 * into a working ProviderClient for the router.
 *
 * - The id is an admin-chosen slug (2–40 characters; no colon, because policies name models as
 *   `providerId:model`). The kind must be a loaded plugin's kind (plugins.ts).
 * - The URL is checked by provider-fetch.ts (loopback and LAN allowed, link-local and metadata
 *   addresses refused); the plugin later reaches only that host, through `providerFetch`.
 * - The API key is sealed with the instance key (lib/crypto.ts) and never returned: views say
 *   `hasApiKey`. It is opened with the key ring, so `wove admin rotate-key` loses nothing.
 * - Options are validated against the plugin's `optionsSchema` (its defaults filled in).
 * - `position` is the fallback order: a new provider goes last.
 * Every change is recorded in the events table; the last "Check connection" result of each
 * provider is kept in `settings` (`ai.provider.check.<id>`) so the list can show it.
 */
import { asc, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { Value } from "@sinclair/typebox/value";
import type { App } from "../core/app.ts";
import { aiPolicies, aiProviders, events, settings } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { seal } from "../lib/crypto.ts";
import { ApiError, conflict, invalid, notFound } from "../lib/errors.ts";
import { checkName } from "../lib/validate.ts";
import { keyRing, unsealWithRing } from "../projects/env.ts";
import { pluginFor } from "./plugins.ts";
import { checkProviderUrl, providerFetch } from "./provider-fetch.ts";
import { ProviderError, type HealthResult, type ProviderClient, type ProviderPlugin } from "./types.ts";

export type ProviderRow = typeof aiProviders.$inferSelect;

export type ProviderInput = { id: string; kind: string; url: string; apiKey?: string; name?: string; options?: Record<string, unknown> };

/** A change: absent fields stay; `apiKey: null` removes the stored key; `position` is 1-based. */
export type ProviderPatch = { url?: string; name?: string; apiKey?: string | null; enabled?: boolean; options?: Record<string, unknown>; position?: number };

export type LastCheck = { at: number; ok: boolean; models: string[]; reason?: string };

export const PROVIDER_ID_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])$/;
/** How long a request may wait for the first byte (the router's own deadlines may be shorter). */
export const PROVIDER_TIMEOUT_MS = 30_000;
export const CHECK_TIMEOUT_MS = 15_000;
const MAX_KEY_LENGTH = 1000;
const MAX_OPTIONS_BYTES = 16_000;
const CHECKED_MODELS_KEPT = 500;
const checkKey = (id: string) => `ai.provider.check.${id}`;

// ---- Validation ----

function kindError(kind: string): string {
  return `"${kind}" is not a provider kind this instance knows; the built-ins are ollama, openai-compatible and anthropic (others come from plugins/).`;
}

/** The options with the plugin's defaults filled in, or field errors named `options.<field>`. */
export function checkOptions(plugin: ProviderPlugin, raw: unknown): { options: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (raw !== undefined && (raw === null || typeof raw !== "object" || Array.isArray(raw))) return { options: {}, errors: { options: "Options must be a JSON object." } };
  if (JSON.stringify(raw ?? {}).length > MAX_OPTIONS_BYTES) return { options: {}, errors: { options: `Options must be at most ${MAX_OPTIONS_BYTES} bytes of JSON.` } };
  const options = Value.Default(plugin.optionsSchema, structuredClone(raw ?? {})) as Record<string, unknown>;
  for (const e of Value.Errors(plugin.optionsSchema, options)) {
    const field = `options${e.path.replace(/\//g, ".")}`;
    if (!(field in errors)) errors[field] = e.message;
  }
  return { options, errors };
}

async function checkUrlField(raw: string, errors: Record<string, string>): Promise<string> {
  const url = raw.trim().replace(/\/+$/, "");
  if (url === "") {
    errors.url = "The server's base URL is required, e.g. http://127.0.0.1:11434.";
    return url;
  }
  try {
    await checkProviderUrl(url);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    errors.url = e.message;
  }
  return url;
}

function checkKeyField(key: string, errors: Record<string, string>): void {
  if (key.length > MAX_KEY_LENGTH) errors.apiKey = `The API key must be at most ${MAX_KEY_LENGTH} characters.`;
  else if (/[\s\u0000-\u001f\u007f]/.test(key)) errors.apiKey = "The API key must not contain spaces or control characters.";
}

type Checked = { plugin: ProviderPlugin; url: string; name: string; apiKey?: string; options: Record<string, unknown> };

/** Validates a new provider (all field errors at once, 422). `id` is checked unless `withoutId` (an unsaved connection check). */
async function checkInput(input: ProviderInput, withoutId = false): Promise<Checked> {
  const errors: Record<string, string> = {};
  const id = (input.id ?? "").trim();
  if (!withoutId && !PROVIDER_ID_RE.test(id)) errors.id = "Use 2–40 lowercase letters, digits or dashes, not starting or ending with a dash (e.g. local-ollama).";
  const plugin = pluginFor((input.kind ?? "").trim());
  if (!plugin) errors.kind = kindError(input.kind ?? "");
  const url = await checkUrlField(input.url ?? "", errors);
  const name = (input.name ?? "").trim() || id;
  const nameError = withoutId ? undefined : checkName(name, "Name");
  if (nameError) errors.name = nameError;
  const apiKey = (input.apiKey ?? "").trim() || undefined;
  if (apiKey) checkKeyField(apiKey, errors);
  else if (plugin?.needsApiKey) errors.apiKey = `${plugin.label} needs an API key.`;
  let options: Record<string, unknown> = {};
  if (plugin) {
    const o = checkOptions(plugin, input.options);
    options = o.options;
    Object.assign(errors, o.errors);
  }
  if (Object.keys(errors).length > 0 || !plugin) throw invalid("Some fields need attention.", errors);
  return { plugin, url, name, apiKey, options };
}

// ---- Reading ----

/** Every provider, in fallback order. */
export async function listProviders(app: App): Promise<ProviderRow[]> {
  return app.db.orm.select().from(aiProviders).orderBy(asc(aiProviders.position), asc(aiProviders.id));
}

/** The enabled providers, in fallback order (the router's default chain). */
export async function enabledProviders(app: App): Promise<ProviderRow[]> {
  return (await listProviders(app)).filter((p) => p.enabled);
}

export async function getProvider(app: App, id: string): Promise<ProviderRow | undefined> {
  const [row] = await app.db.orm.select().from(aiProviders).where(eq(aiProviders.id, id));
  return row;
}

async function mustGet(app: App, id: string): Promise<ProviderRow> {
  const row = await getProvider(app, id);
  if (!row) throw notFound("Provider");
  return row;
}

/** The last "Check connection" result of each provider (id → result). */
export async function lastChecks(app: App): Promise<Map<string, LastCheck>> {
  const rows = await app.db.orm.select().from(settings).where(sql`${settings.key} LIKE 'ai.provider.check.%'`);
  const out = new Map<string, LastCheck>();
  for (const r of rows) {
    try {
      out.set(r.key.slice(checkKey("").length), JSON.parse(r.value) as LastCheck);
    } catch {
      // a damaged entry is simply not shown; the next check rewrites it
    }
  }
  return out;
}

/** What the API and pages show of a provider: never the key, only whether one is stored. */
export function providerJson(row: ProviderRow, check?: LastCheck) {
  let options: Record<string, unknown> = {};
  try {
    options = JSON.parse(row.options) as Record<string, unknown>;
  } catch {
    // stored by this module as JSON; an unreadable value shows as no options
  }
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    url: row.url,
    hasApiKey: row.apiKeySealed !== null,
    enabled: row.enabled,
    position: row.position,
    options,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    lastCheck: check ? { at: new Date(check.at).toISOString(), ok: check.ok, models: check.models, ...(check.reason ? { reason: check.reason } : {}) } : null,
  };
}

// ---- Changing ----

function event(actorId: string | null, kind: string, id: string, data: Record<string, unknown>) {
  return eventValues({ actorId, kind, subjectType: "instance", subjectId: id, data });
}

function taken(id: string): ApiError {
  return conflict(`A provider with the id "${id}" already exists.`, { id: `The id "${id}" is taken; choose another.` });
}

/** Adds a provider at the end of the fallback order. 409 when the id is taken, 422 with field errors. */
export async function addProvider(app: App, input: ProviderInput, actorId: string | null): Promise<ProviderRow> {
  const v = await checkInput(input);
  const id = input.id.trim();
  const now = Date.now();
  const orm = app.db.orm;
  if (await getProvider(app, id)) throw taken(id);
  try {
    // One statement picks the next position, so concurrent adds (the CLI while the server runs) never share one.
    await orm.batch([
      orm.run(sql`INSERT INTO ai_providers (id, kind, name, url, api_key_sealed, enabled, position, options, created_by, created_at, updated_at)
        SELECT ${id}, ${v.plugin.kind}, ${v.name}, ${v.url}, ${v.apiKey ? seal(app.secret, v.apiKey) : null}, 1,
               COALESCE(MAX(position), 0) + 1, ${JSON.stringify(input.options ?? {})}, ${actorId}, ${now}, ${now}
        FROM ai_providers`),
      orm.insert(events).values(event(actorId, "ai.provider_added", id, { kind: v.plugin.kind, url: v.url, hasApiKey: v.apiKey !== undefined })),
    ]);
  } catch (e) {
    // Added by someone else since the check above: the batch rolled back, event included.
    const cause = (e as Error & { cause?: unknown }).cause;
    if (/UNIQUE constraint failed/.test(`${(e as Error).message} ${cause instanceof Error ? cause.message : ""}`)) throw taken(id);
    throw e;
  }
  return mustGet(app, id);
}

/** Statements that rewrite positions 1..n in `order` (run in the caller's batch). */
function positionStatements(app: App, order: string[], now: number) {
  return order.map((pid, i) => app.db.orm.update(aiProviders).set({ position: i + 1, updatedAt: now }).where(eq(aiProviders.id, pid)));
}

/** Applies a patch (422 with field errors; 404 for an unknown id). */
export async function updateProvider(app: App, id: string, patch: ProviderPatch, actorId: string | null): Promise<ProviderRow> {
  const row = await mustGet(app, id);
  const plugin = pluginFor(row.kind);
  const errors: Record<string, string> = {};
  const set: Partial<ProviderRow> = {};
  const changed: string[] = [];
  const change = <K extends keyof ProviderRow>(key: K, value: ProviderRow[K], label: string) => {
    set[key] = value;
    changed.push(label);
  };
  if (patch.url !== undefined) {
    const url = await checkUrlField(patch.url, errors);
    if (!errors.url && url !== row.url) change("url", url, "url");
  }
  if (patch.name !== undefined) {
    const name = patch.name.trim();
    const e = checkName(name, "Name");
    if (e) errors.name = e;
    else if (name !== row.name) change("name", name, "name");
  }
  if (patch.apiKey === null) {
    if (plugin?.needsApiKey) errors.apiKey = `${plugin.label} needs an API key; set a new one instead of removing it.`;
    else if (row.apiKeySealed !== null) change("apiKeySealed", null, "apiKey removed");
  } else if (patch.apiKey !== undefined) {
    const key = patch.apiKey.trim();
    if (key === "") errors.apiKey = "The API key is empty; send null to remove the stored one.";
    else checkKeyField(key, errors);
    if (!errors.apiKey) change("apiKeySealed", seal(app.secret, key), "apiKey set");
  }
  if (patch.enabled !== undefined && patch.enabled !== row.enabled) change("enabled", patch.enabled, patch.enabled ? "enabled" : "disabled");
  if (patch.options !== undefined) {
    const before = Object.keys(errors).length;
    if (!plugin) errors.options = kindError(row.kind);
    else Object.assign(errors, checkOptions(plugin, patch.options).errors);
    if (Object.keys(errors).length === before) change("options", JSON.stringify(patch.options), "options");
  }
  if (patch.position !== undefined && (!Number.isInteger(patch.position) || patch.position < 1)) errors.position = "The position is a whole number from 1.";
  if (Object.keys(errors).length > 0) throw invalid("Some fields need attention.", errors);

  const now = Date.now();
  const orm = app.db.orm;
  let order: string[] | undefined;
  if (patch.position !== undefined) {
    const ids = (await listProviders(app)).map((p) => p.id).filter((pid) => pid !== id);
    ids.splice(Math.min(patch.position, ids.length + 1) - 1, 0, id);
    order = ids;
    changed.push(`position ${patch.position}`);
  }
  if (changed.length === 0) return row;
  await orm.batch([
    orm.update(aiProviders).set({ ...set, updatedAt: now }).where(eq(aiProviders.id, id)),
    ...(order ? positionStatements(app, order, now) : []),
    orm.insert(events).values(event(actorId, "ai.provider_updated", id, { changed })),
  ]);
  return mustGet(app, id);
}

/** Moves a provider one place up or down in the fallback order (no-op at either end). */
export async function moveProvider(app: App, id: string, direction: "up" | "down", actorId: string | null): Promise<ProviderRow> {
  const ids = (await listProviders(app)).map((p) => p.id);
  const at = ids.indexOf(id);
  if (at < 0) throw notFound("Provider");
  const to = direction === "up" ? at : at + 2; // 1-based target
  if (to < 1 || to > ids.length) return mustGet(app, id);
  return updateProvider(app, id, { position: to }, actorId);
}

/** Removes a provider, its prices (cascade), its last check, and its entries in every policy. */
export async function removeProvider(app: App, id: string, actorId: string | null): Promise<void> {
  await mustGet(app, id);
  const orm = app.db.orm;
  const now = Date.now();
  const policies = await orm.select().from(aiPolicies);
  const rewrites = policies.flatMap((p): BatchItem<"sqlite">[] => {
    let chain: { providerId: string; model: string }[] = [];
    try {
      chain = JSON.parse(p.chain) as typeof chain;
    } catch {
      return [];
    }
    const kept = chain.filter((c) => c.providerId !== id);
    if (kept.length === chain.length) return [];
    return kept.length === 0
      ? [orm.delete(aiPolicies).where(eq(aiPolicies.task, p.task))]
      : [orm.update(aiPolicies).set({ chain: JSON.stringify(kept), updatedBy: actorId, updatedAt: now }).where(eq(aiPolicies.task, p.task))];
  });
  const remaining = (await listProviders(app)).map((p) => p.id).filter((pid) => pid !== id);
  const rest: BatchItem<"sqlite">[] = [
    orm.delete(settings).where(eq(settings.key, checkKey(id))),
    ...rewrites,
    ...positionStatements(app, remaining, now),
    orm.insert(events).values(event(actorId, "ai.provider_removed", id, {})),
  ];
  const [deleted] = await orm.batch([orm.delete(aiProviders).where(eq(aiProviders.id, id)), ...rest]);
  if (deleted.rowsAffected === 0) throw notFound("Provider");
}

// ---- Using ----

/** The stored key, opened with the key ring; undefined when none is stored. Throws when no key of this instance opens it. */
function openKey(app: App, row: ProviderRow): string | undefined {
  if (row.apiKeySealed === null) return undefined;
  const key = unsealWithRing(keyRing(app.secret, app.config.dataDir), row.apiKeySealed);
  if (key === undefined) {
    const message = `The API key of the provider "${row.id}" cannot be decrypted with this instance's keys (was secret.key replaced?). Set it again.`;
    app.log.error(message);
    throw new ProviderError("unavailable", message);
  }
  return key;
}

function build(plugin: ProviderPlugin, url: string, apiKey: string | undefined, options: Record<string, unknown>): ProviderClient {
  const defaulted = Value.Default(plugin.optionsSchema, structuredClone(options)) as Record<string, unknown>;
  return plugin.create({ url, apiKey, options: defaulted, timeoutMs: PROVIDER_TIMEOUT_MS, fetch: providerFetch(url) });
}

const clients = new WeakMap<App, Map<string, { version: string; client: ProviderClient }>>();

/**
 * A client for a provider row: its key unsealed, its plugin found, and a fetch that reaches only
 * the provider's host. Reused while the row is unchanged (so the checked address is, too).
 * Throws ProviderError `unavailable` (the router moves on to the next model) when the row's kind
 * has no plugin or its key cannot be opened.
 */
export function clientFor(app: App, row: ProviderRow): ProviderClient {
  let byId = clients.get(app);
  if (!byId) clients.set(app, (byId = new Map()));
  const version = `${row.kind}\n${row.url}\n${row.apiKeySealed ?? ""}\n${row.options}\n${row.updatedAt}`;
  const hit = byId.get(row.id);
  if (hit && hit.version === version) return hit.client;
  const plugin = pluginFor(row.kind);
  if (!plugin) throw new ProviderError("unavailable", `The provider "${row.id}" has the kind "${row.kind}", but no plugin of that kind is loaded.`);
  let options: Record<string, unknown> = {};
  try {
    options = JSON.parse(row.options) as Record<string, unknown>;
  } catch {
    app.log.warn(`the options of the AI provider ${row.id} are not JSON; using the plugin's defaults`);
  }
  const client = build(plugin, row.url, openKey(app, row), options);
  byId.set(row.id, { version, client });
  return client;
}

/**
 * "Check connection": the provider's health (its models, or why it cannot be reached). Given an
 * id, checks the saved provider and remembers the result; given input, checks it unsaved.
 * Never throws for an unreachable server (that is `{ok: false, reason}`); 404/422 for bad input.
 */
export async function checkProvider(app: App, target: string | ProviderInput): Promise<HealthResult> {
  let client: ProviderClient;
  const id = typeof target === "string" ? target : undefined;
  try {
    if (typeof target === "string") client = clientFor(app, await mustGet(app, target));
    else {
      const v = await checkInput(target, true);
      client = build(v.plugin, v.url, v.apiKey, v.options);
    }
  } catch (e) {
    if (e instanceof ProviderError) return remember(app, id, { ok: false, reason: e.message });
    throw e;
  }
  let result: HealthResult;
  try {
    result = await client.health(AbortSignal.timeout(CHECK_TIMEOUT_MS));
  } catch (e) {
    result = { ok: false, reason: (e as Error).message || "The check failed." };
  }
  return remember(app, id, result);
}

async function remember(app: App, id: string | undefined, result: HealthResult): Promise<HealthResult> {
  if (id === undefined) return result;
  const check: LastCheck = result.ok
    ? { at: Date.now(), ok: true, models: result.models.slice(0, CHECKED_MODELS_KEPT).map((m) => m.id) }
    : { at: Date.now(), ok: false, models: [], reason: result.reason };
  // Only while the provider exists: a check racing a removal must not leave an orphan entry.
  await app.db.client.execute({
    sql: `INSERT INTO settings (key, value, updated_at) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM ai_providers WHERE id = ?)
          ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    args: [checkKey(id), JSON.stringify(check), check.at, id],
  });
  return result;
}
