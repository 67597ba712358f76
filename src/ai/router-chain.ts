/**
 * Which models the router tries, in which order, and what each provider offers.
 *
 * The chain for a request: an explicit model first (when the caller chose one), then the
 * admin's policy for the task (ai_policies: [{providerId, model}]), or — with no usable policy
 * — every enabled provider in the order they were added, each with its first listed model
 * (for embeddings its first embedding model). Disabled providers never appear. An explicit
 * choice is followed by the rest of the chain, so a dead provider still gets an answer, and the
 * fallback is shown to the user.
 *
 * Model lists are cached for `modelsTtlMs`; the last list a provider gave is kept after that,
 * so that a provider that has since gone down still has a model name to be tried (and
 * recorded) under.
 */
import type { App } from "../core/app.ts";
import { cachePerOwner } from "../lib/cache.ts";
import { ApiError } from "../lib/errors.ts";
import { readPolicies, type Policies } from "./policies.ts";
import { listPrices, type Price } from "./prices.ts";
import { clientFor, enabledProviders, type ProviderRow } from "./providers.ts";
import { ProviderError, type ModelInfo, type TaskKind } from "./types.ts";

export type RouterSettings = {
  /** No first token (or tool call) within this long: the attempt failed with `timeout`, ms. */
  firstTokenTimeoutMs: number;
  /** No data for this long in the middle of a stream: the attempt failed with `timeout`, ms. */
  idleTimeoutMs: number;
  /** How long a provider's model list is reused, ms. */
  modelsTtlMs: number;
  /** How long listing a provider's models may take (the models endpoint, GET /api/v1/ai/models), ms. */
  listTimeoutMs: number;
};

/** A cold local model can take a while to load before its first token; a stream that stalls mid-answer is dead sooner. */
export const DEFAULT_ROUTER: RouterSettings = { firstTokenTimeoutMs: 60_000, idleTimeoutMs: 30_000, modelsTtlMs: 30_000, listTimeoutMs: 5_000 };

const settingsByApp = new WeakMap<App, RouterSettings>();

export function configureRouter(app: App, s: Partial<RouterSettings>): void {
  settingsByApp.set(app, { ...routerSettings(app), ...s });
  modelCaches.delete(app);
}

export function routerSettings(app: App): RouterSettings {
  return settingsByApp.get(app) ?? DEFAULT_ROUTER;
}

// ---- what the admin configured: providers, policies, prices ----------------------------------

type Routing = { providers: ProviderRow[]; policies: Policies; prices: Map<string, Price> };

/**
 * Every change to providers, policies or prices appends an event (providers.ts, policies.ts,
 * prices.ts), so a copy is valid exactly as long as the database's data version is unchanged —
 * also when the CLI changed them from another process. This keeps the database off the path
 * to the first token: reading the data version is a prepared statement of a few microseconds.
 */
const routingCache = cachePerOwner<App, Routing>((app) => app.config.readCacheMs, 1);

export async function routing(app: App): Promise<Routing> {
  const version = await app.db.dataVersion();
  return routingCache(app).get("routing", version, async () => {
    const [providers, policies, prices] = await Promise.all([enabledProviders(app), readPolicies(app), listPrices(app)]);
    return { providers, policies, prices: new Map(prices.map((p) => [`${p.providerId}\n${p.model}`, p])) };
  });
}

const FREE: Price = { inputMicrosPerMtok: 0, outputMicrosPerMtok: 0 };

/** The admin-set price of a model (prices.ts); unset is free — local models cost 0 unless an admin says otherwise. */
export async function priceOf(app: App, providerId: string, model: string): Promise<Price> {
  return (await routing(app)).prices.get(`${providerId}\n${model}`) ?? FREE;
}

// ---- model lists ------------------------------------------------------------

type ModelList = { at: number; version: number; models: ModelInfo[] };
const modelCaches = new WeakMap<App, Map<string, { fresh?: Promise<ModelList>; last?: ModelList }>>();

/**
 * The provider's models (cached); throws ProviderError when it cannot list them. The listing is
 * shared by concurrent callers, so it runs under its own time limit, not any one caller's signal.
 */
export async function modelsOf(app: App, row: ProviderRow): Promise<ModelInfo[]> {
  let cache = modelCaches.get(app);
  if (!cache) modelCaches.set(app, (cache = new Map()));
  let entry = cache.get(row.id);
  if (!entry) cache.set(row.id, (entry = {}));
  const { modelsTtlMs } = routerSettings(app);
  const last = entry.last;
  if (last && last.version === row.updatedAt && Date.now() - last.at < modelsTtlMs) return last.models;
  // Concurrent requests share one listing.
  let fresh = entry.fresh;
  if (!fresh) {
    const e = entry;
    fresh = e.fresh = (async () => {
      const models = await clientFor(app, row).listModels(AbortSignal.timeout(routerSettings(app).listTimeoutMs));
      return { at: Date.now(), version: row.updatedAt, models };
    })().then(
      (list) => {
        e.last = list;
        e.fresh = undefined;
        return list;
      },
      (err: unknown) => {
        e.fresh = undefined;
        throw err;
      },
    );
  }
  return (await fresh).models;
}

/** The model a provider was last known to offer for the task, without asking it (null if never listed). */
export function lastKnownModel(app: App, providerId: string, task: TaskKind): string | null {
  const models = modelCaches.get(app)?.get(providerId)?.last?.models;
  return models ? pickModel(models, task) : null;
}

/** The first listed model fit for the task: an embedding model for `embed`, else the first that is not one. */
export function pickModel(models: ModelInfo[], task: TaskKind): string | null {
  const fit = task === "embed" ? models.find((m) => m.embedding === true) : models.find((m) => m.embedding !== true);
  return (fit ?? models[0])?.id ?? null;
}

/** The provider's model for a task (listing its models, cached); throws ProviderError when it has none. */
export async function defaultModelOf(app: App, row: ProviderRow, task: TaskKind): Promise<string> {
  const model = pickModel(await modelsOf(app, row), task);
  if (model === null) throw new ProviderError("not_found", `The provider “${row.id}” lists no models.`);
  return model;
}

export type AvailableModel = { id: string; providerId: string; model: string; contextWindow?: number; embedding?: boolean };

/** Every model of every enabled provider; providers that cannot be listed now are named with the reason. */
export async function availableModels(app: App): Promise<{ models: AvailableModel[]; unavailable: { providerId: string; reason: string }[] }> {
  const { providers } = await routing(app);
  const lists = await Promise.allSettled(providers.map((p) => modelsOf(app, p)));
  const models: AvailableModel[] = [];
  const unavailable: { providerId: string; reason: string }[] = [];
  lists.forEach((r, i) => {
    const p = providers[i] as ProviderRow;
    if (r.status === "rejected") {
      unavailable.push({ providerId: p.id, reason: (r.reason as Error)?.message ?? String(r.reason) });
      return;
    }
    for (const m of r.value) {
      models.push({
        id: `${p.id}:${m.id}`,
        providerId: p.id,
        model: m.id,
        ...(m.contextWindow !== undefined ? { contextWindow: m.contextWindow } : {}),
        ...(m.embedding ? { embedding: true } : {}),
      });
    }
  });
  return { models, unavailable };
}

// ---- the chain ------------------------------------------------------------------------

/** One step of a chain; `model` null = the provider's first listed model, looked up when it is tried. */
export type ChainEntry = { provider: ProviderRow; model: string | null; source: "explicit" | "policy" | "default" };

export function labelOf(e: { provider: ProviderRow; model: string | null }): string {
  return e.model === null ? e.provider.id : `${e.provider.id}:${e.model}`;
}

/** Ollama names carry a tag (`llama3.2:latest`); a bare name means its `latest`. */
function sameModel(listed: string, asked: string): boolean {
  return listed === asked || listed === `${asked}:latest`;
}

/**
 * Finds an explicitly chosen model: "providerId:model" when the part before the first colon is
 * an enabled provider (Ollama model names contain colons too), else a bare model name offered
 * by an enabled provider (the first in order that lists it). Throws 422 `unknown_model`.
 */
async function explicitEntry(app: App, providers: ProviderRow[], asked: string, task: TaskKind): Promise<ChainEntry> {
  const colon = asked.indexOf(":");
  if (colon > 0) {
    const provider = providers.find((p) => p.id === asked.slice(0, colon));
    const model = asked.slice(colon + 1);
    if (provider && model !== "") return { provider, model, source: "explicit" };
  }
  const lists = await Promise.allSettled(providers.map((p) => modelsOf(app, p)));
  for (let i = 0; i < providers.length; i++) {
    const r = lists[i];
    const hit = r?.status === "fulfilled" ? r.value.find((m) => sameModel(m.id, asked)) : undefined;
    if (hit) return { provider: providers[i] as ProviderRow, model: hit.id, source: "explicit" };
  }
  throw new ApiError(
    422,
    "unknown_model",
    `No enabled model provider offers the model “${asked}”${task === "embed" ? " for embeddings" : ""}. GET /api/v1/ai/models lists the models you can choose.`,
    { model: "unknown model" },
  );
}

/** The models to try, in order, without repeats. Empty when no provider is enabled. */
export async function resolveChain(app: App, task: TaskKind, model?: string): Promise<ChainEntry[]> {
  const { providers, policies } = await routing(app);
  if (providers.length === 0) return [];
  const chain: ChainEntry[] = [];
  const seen = new Set<string>();
  const add = (e: ChainEntry) => {
    const key = e.model === null ? `${e.provider.id}\n` : `${e.provider.id}\n${e.model}`;
    // A provider's default step repeats nothing when the provider is already in the chain.
    const providerTried = chain.some((c) => c.provider.id === e.provider.id);
    if (seen.has(key) || (e.model === null && providerTried)) return;
    seen.add(key);
    chain.push(e);
  };
  if (model !== undefined && model.trim() !== "") add(await explicitEntry(app, providers, model.trim(), task));
  const byId = new Map(providers.map((p) => [p.id, p]));
  const policy = policies[task].flatMap((s) => {
    const provider = byId.get(s.providerId);
    return provider ? [{ provider, model: s.model, source: "policy" as const }] : [];
  });
  if (policy.length > 0) for (const e of policy) add(e);
  else for (const provider of providers) add({ provider, model: null, source: "default" });
  return chain;
}
