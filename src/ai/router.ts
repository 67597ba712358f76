/**
 * The model router: every model call Wove makes goes through `routeChat` or `routeEmbed`.
 *
 * It walks the chain (router-chain.ts) and tries each model in turn. A retryable failure
 * (unavailable, timeout, overloaded, malformed) BEFORE anything was passed on to the caller
 * makes it try the next model, announced by a `fallback` chunk. Once a token or tool call has
 * been passed on, a failure ends the stream with an ApiError instead: restarting on another
 * model would give the user the start of one answer followed by a second, different answer,
 * and the agent tools would see half a tool plan from one model and the rest from another. The
 * caller shows the error after the partial answer, and the user can ask again.
 *
 * Each provider has a circuit breaker (breaker.ts): an open one is skipped, with the reason in
 * the fallback chunk. Two timeouts guard a stream: no first token within `firstTokenTimeoutMs`,
 * and no data for `idleTimeoutMs` once it has started (time the caller spends consuming a
 * chunk does not count). Every attempt is one ai_usage row (ok | error | cancelled) with its
 * tokens, latency, time to first token and cost. Chunks are passed on as they arrive: nothing is
 * buffered per token.
 *
 * Cancelling — the caller's signal aborting, or the caller leaving the loop — aborts the
 * provider request, records the attempt as `cancelled`, and ends the stream without `done`.
 */
import type { App } from "../core/app.ts";
import { actorId, type Actor } from "../auth/actor.ts";
import { ApiError } from "../lib/errors.ts";
import { breakerFor } from "./breaker.ts";
import { teamForRequest } from "./quotas.ts";
import { defaultModelOf, labelOf, lastKnownModel, priceOf, resolveChain, routerSettings, type ChainEntry } from "./router-chain.ts";
import { costMicros } from "./prices.ts";
import { clientFor } from "./providers.ts";
import { estimateTokens, recordUsage, type UsageRecord, type UsageStatus } from "./usage.ts";
import { ProviderError, type ChatChunk, type ChatRequest, type TaskKind } from "./types.ts";

export { availableModels, configureRouter, type AvailableModel, type RouterSettings } from "./router-chain.ts";
export { checkQuota, QuotaError, type QuotaStatus } from "./quotas.ts";
export { usageFor } from "./usage.ts";

export type FallbackChunk = { type: "fallback"; from: string; to: string; reason: string };
export type RoutedDone = Extract<ChatChunk, { type: "done" }> & { providerId: string; model: string; latencyMs: number; costMicros: number };
export type RoutedChunk = Exclude<ChatChunk, { type: "done" }> | RoutedDone | FallbackChunk;

export type RouteOptions = {
  task: TaskKind;
  /** "providerId:model" or a bare model name; tried first, then the task's chain. */
  model?: string;
  actor: Actor;
  projectId?: string | null;
  conversationId?: string | null;
  /** The team the request is made for; default the owner team of `projectId`. */
  teamId?: string | null;
  signal: AbortSignal;
};

/** Who an attempt is accounted to. */
type Account = Pick<UsageRecord, "userId" | "teamId" | "projectId" | "conversationId" | "task">;

/** `model`: the one tried (a default step learns it only when tried; null when even that failed). */
type Outcome = { kind: "done" } | { kind: "cancelled" } | { kind: "failed"; error: ProviderError; sent: boolean; model: string | null };

export const noProvider = () =>
  new ApiError(503, "ai_not_configured", "No AI model provider is enabled. An admin can add one (for example a local Ollama) under Admin → AI.");

/** Any error from a plugin as a ProviderError; something else is a broken connection or plugin, treated as unavailable. */
export function asProviderError(e: unknown): ProviderError {
  if (e instanceof ProviderError) return e;
  const err = e as { name?: string; message?: string } | undefined;
  if (err?.name === "TimeoutError") return new ProviderError("timeout", "the provider did not answer in time");
  return new ProviderError("unavailable", err?.message ?? String(e));
}

const DEFAULT_RETRY_S = 30;

/** Every model failed: 503, with the soonest a retry may help (a provider's Retry-After, a breaker's cool-down) as Retry-After. */
function unavailable(message: string, waits: number[]): ApiError {
  const retry = waits.length > 0 ? Math.max(1, Math.ceil(Math.min(...waits))) : DEFAULT_RETRY_S;
  return new ApiError(503, "ai_unavailable", message, undefined, { "Retry-After": String(retry) });
}

/** The message a failure gives in a fallback chunk or an error. */
function describe(e: ProviderError): string {
  return `${e.failure}: ${e.message}`;
}

/** A non-retryable failure, as the caller should see it. */
function refusal(e: ProviderError, entry: { provider: { id: string }; model: string | null }): ApiError {
  const label = labelOf(entry as ChainEntry);
  switch (e.failure) {
    case "auth":
      return new ApiError(502, "provider_auth", `The provider “${entry.provider.id}” refused Wove's credentials (${e.message}). An admin needs to check its API key under Admin → AI.`);
    case "not_found":
      return new ApiError(404, "model_not_found", `The model ${label} is not available: ${e.message}`);
    default:
      return new ApiError(400, "model_rejected", `${label} refused the request: ${e.message}`);
  }
}

export function accountFor(app: App, o: Pick<RouteOptions, "actor" | "projectId" | "conversationId" | "teamId" | "task">): Promise<Account> {
  return teamForRequest(app, o).then((teamId) => ({
    userId: actorId(o.actor),
    teamId,
    projectId: o.projectId ?? null,
    conversationId: o.conversationId ?? null,
    task: o.task,
  }));
}

/** Streams a chat answer through the chain; see the top of this file. */
export async function* routeChat(app: App, req: Omit<ChatRequest, "model">, o: RouteOptions): AsyncGenerator<RoutedChunk, void, undefined> {
  const [chain, account] = await Promise.all([resolveChain(app, o.task, o.model), accountFor(app, o)]);
  if (chain.length === 0) throw noProvider();
  const tried: string[] = [];
  const waits: number[] = [];
  for (let i = 0; i < chain.length; i++) {
    let entry = chain[i] as ChainEntry;
    const next = chain[i + 1];
    const breaker = breakerFor(app, entry.provider.id);
    const admission = breaker.admit();
    let reason: string;
    if (!admission.ok) {
      reason = `circuit open: ${entry.provider.id} failed ${admission.failures} times in a row; it is tried again in ${Math.ceil(admission.retryInMs / 1000)} s`;
      waits.push(admission.retryInMs / 1000);
    } else {
      const outcome = yield* attempt(app, entry, req, o, account);
      if (outcome.kind !== "failed") return;
      const { error, sent } = outcome;
      entry = { ...entry, model: outcome.model };
      if (!error.retryable) throw refusal(error, entry);
      if (sent) {
        throw new ApiError(
          502,
          "stream_failed",
          `${labelOf(entry)} stopped in the middle of its answer (${describe(error)}). The answer above is incomplete; ask again to retry.`,
        );
      }
      reason = describe(error);
      if (error.retryAfter !== undefined) waits.push(error.retryAfter);
    }
    tried.push(`${labelOf(entry)} (${reason})`);
    if (next) yield { type: "fallback", from: labelOf(entry), to: labelOf(next), reason };
  }
  throw unavailable(`No model could answer. Tried ${tried.join("; ")}.`, waits);
}

/** One model call, passed through chunk by chunk; records its ai_usage row whatever happens. */
async function* attempt(app: App, entry: ChainEntry, req: Omit<ChatRequest, "model">, o: RouteOptions, account: Account): AsyncGenerator<RoutedChunk, Outcome, undefined> {
  const settings = routerSettings(app);
  const breaker = breakerFor(app, entry.provider.id);
  const started = performance.now();
  const ctl = new AbortController();
  let model = entry.model;
  let ttft: number | null = null;
  let outChars = 0;
  let sent = false;
  let recorded = false;
  let timeout: ProviderError | null = null;
  // The pending wait on the provider: the timer or the caller's signal rejects it at once,
  // even if the plugin is slow to notice its own aborted signal.
  let waiting: { since: number; reject: (e: unknown) => void } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const fire = (e: ProviderError) => {
    timeout = e;
    ctl.abort(e);
    waiting?.reject(e);
  };
  const check = () => {
    const now = performance.now();
    if (ttft === null) return fire(new ProviderError("timeout", `no first token within ${settings.firstTokenTimeoutMs / 1000} s`));
    const idle = waiting ? now - waiting.since : 0;
    if (idle >= settings.idleTimeoutMs) return fire(new ProviderError("timeout", `the stream stalled: no data for ${settings.idleTimeoutMs / 1000} s`));
    timer = setTimeout(check, settings.idleTimeoutMs - idle);
  };
  const onCallerAbort = () => {
    ctl.abort(o.signal.reason);
    waiting?.reject(o.signal.reason ?? new Error("cancelled"));
  };
  const wait = <T>(p: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      waiting = { since: performance.now(), reject };
      p.then(resolve, reject);
    }).finally(() => {
      waiting = null;
    });

  const record = async (status: UsageStatus, tokensIn: number, tokensOut: number, error: string | null, latencyMs = Math.round(performance.now() - started)): Promise<number> => {
    recorded = true;
    const usedModel = model ?? lastKnownModel(app, entry.provider.id, o.task) ?? "(unknown)";
    const cost = costMicros(await priceOf(app, entry.provider.id, usedModel), { tokensIn, tokensOut });
    await recordUsage(app, {
      ...account,
      providerId: entry.provider.id,
      model: usedModel,
      tokensIn,
      tokensOut,
      latencyMs,
      ttftMs: ttft === null ? null : Math.round(ttft),
      costMicros: cost,
      status,
      error,
    });
    return cost;
  };
  /** Prompt tokens, estimated, for calls that ended without the provider's own count. */
  const promptTokens = () => estimateTokens(req.messages.map((m) => m.content).join("\n"));

  if (o.signal.aborted) return { kind: "cancelled" };
  o.signal.addEventListener("abort", onCallerAbort, { once: true });
  timer = setTimeout(check, settings.firstTokenTimeoutMs);
  let iterator: AsyncIterator<ChatChunk> | undefined;
  try {
    if (model === null) model = await wait(defaultModelOf(app, entry.provider, o.task));
    const client = clientFor(app, entry.provider);
    iterator = client.chat({ ...req, model }, ctl.signal)[Symbol.asyncIterator]();
    for (;;) {
      const r = await wait(iterator.next());
      if (r.done) throw new ProviderError("malformed", "the stream ended without its final message");
      const chunk = r.value;
      if (chunk.type === "done") {
        clearTimeout(timer);
        // A provider that reports no counts (some OpenAI-compatible servers) is estimated, so quotas still see the call.
        const reported = chunk.usage.tokensIn + chunk.usage.tokensOut > 0;
        const tokensIn = reported ? chunk.usage.tokensIn : promptTokens();
        const tokensOut = reported ? chunk.usage.tokensOut : Math.ceil(outChars / 4);
        const latencyMs = Math.round(performance.now() - started);
        const cost = await record("ok", tokensIn, tokensOut, null, latencyMs);
        breaker.success();
        yield { ...chunk, usage: { tokensIn, tokensOut }, providerId: entry.provider.id, model, latencyMs, costMicros: cost };
        return { kind: "done" };
      }
      if (ttft === null) {
        ttft = performance.now() - started;
        clearTimeout(timer);
        timer = setTimeout(check, settings.idleTimeoutMs);
      }
      if (chunk.type === "token") outChars += chunk.text.length;
      sent = true;
      yield chunk;
    }
  } catch (e) {
    if (o.signal.aborted && timeout === null) {
      breaker.release();
      await record("cancelled", promptTokens(), Math.ceil(outChars / 4), null);
      return { kind: "cancelled" };
    }
    const error = timeout ?? asProviderError(e);
    if (error.retryable) breaker.failure();
    else breaker.release();
    // Tokens already streamed were spent even though the call failed.
    await record("error", sent ? promptTokens() : 0, Math.ceil(outChars / 4), describe(error));
    return { kind: "failed", error, sent, model };
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener("abort", onCallerAbort);
    if (!ctl.signal.aborted) ctl.abort(new Error("the router stopped reading"));
    // The plugin's own clean-up (closing its response body); it must not hold up the caller.
    iterator?.return?.().catch(() => {});
    if (!recorded) {
      // The caller left the loop (stop button, closed connection) while we were suspended at a yield.
      breaker.release();
      await record("cancelled", promptTokens(), Math.ceil(outChars / 4), null);
    }
  }
}

export type EmbedOptions = Omit<RouteOptions, "task" | "signal"> & { signal?: AbortSignal };
export type EmbedResult = { vectors: number[][]; providerId: string; model: string; latencyMs: number; costMicros: number; fallbacks: FallbackChunk[] };

/**
 * Embeds texts with the `embed` chain, falling back on retryable failures like routeChat. The
 * result names the model: vectors from different models are not comparable, so a caller that
 * stores them must keep them apart.
 */
export async function routeEmbed(app: App, texts: string[], o: EmbedOptions): Promise<EmbedResult> {
  const task: TaskKind = "embed";
  const [chain, account] = await Promise.all([resolveChain(app, task, o.model), accountFor(app, { ...o, task })]);
  if (chain.length === 0) throw noProvider();
  const { firstTokenTimeoutMs } = routerSettings(app);
  const tokensIn = estimateTokens(texts.join("\n"));
  const fallbacks: FallbackChunk[] = [];
  const tried: string[] = [];
  const waits: number[] = [];
  for (let i = 0; i < chain.length; i++) {
    let entry = chain[i] as ChainEntry;
    const next = chain[i + 1];
    const breaker = breakerFor(app, entry.provider.id);
    const admission = breaker.admit();
    let reason: string;
    if (!admission.ok) {
      reason = `circuit open: ${entry.provider.id} failed ${admission.failures} times in a row`;
      waits.push(admission.retryInMs / 1000);
    } else {
      const started = performance.now();
      const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(firstTokenTimeoutMs)]) : AbortSignal.timeout(firstTokenTimeoutMs);
      let model = entry.model;
      const row = async (status: UsageStatus, error: string | null, tokens: number) => {
        const used = model ?? lastKnownModel(app, entry.provider.id, task) ?? "(unknown)";
        const cost = costMicros(await priceOf(app, entry.provider.id, used), { tokensIn: tokens, tokensOut: 0 });
        const latencyMs = Math.round(performance.now() - started);
        await recordUsage(app, { ...account, providerId: entry.provider.id, model: used, tokensIn: tokens, tokensOut: 0, latencyMs, ttftMs: null, costMicros: cost, status, error });
        return { cost, latencyMs };
      };
      try {
        model ??= await defaultModelOf(app, entry.provider, task);
        const client = clientFor(app, entry.provider);
        const vectors = await client.embed(model, texts, signal);
        breaker.success();
        const { cost, latencyMs } = await row("ok", null, tokensIn);
        return { vectors, providerId: entry.provider.id, model, latencyMs, costMicros: cost, fallbacks };
      } catch (e) {
        if (o.signal?.aborted) {
          breaker.release();
          await row("cancelled", null, 0);
          throw o.signal.reason ?? new DOMException("The embedding request was cancelled.", "AbortError");
        }
        const error = asProviderError(e);
        if (error.retryable) breaker.failure();
        else breaker.release();
        await row("error", describe(error), 0);
        entry = { ...entry, model };
        if (!error.retryable) throw refusal(error, entry);
        reason = describe(error);
        if (error.retryAfter !== undefined) waits.push(error.retryAfter);
      }
    }
    tried.push(`${labelOf(entry)} (${reason})`);
    if (next) fallbacks.push({ type: "fallback", from: labelOf(entry), to: labelOf(next), reason });
  }
  throw unavailable(`No embedding model could answer. Tried ${tried.join("; ")}.`, waits);
}
