/**
 * A circuit breaker per model provider. After `failures` consecutive retryable failures the
 * breaker opens: the router skips the provider (and says why in a fallback event) instead of
 * making every request wait for a dead server's timeout. After `cooldownMs` it is half-open:
 * ONE request is let through as a probe; its success closes the breaker, its failure opens it
 * again for another cool-down. Requests arriving while the probe runs are skipped as if open.
 *
 * State lives in memory: one process serves an instance, and a restart forgetting that a
 * provider was down costs at most one timeout per request until it re-opens.
 */
import type { App } from "../core/app.ts";

export type BreakerSettings = {
  /** Consecutive retryable failures that open the breaker. */
  failures: number;
  /** How long an open breaker stays open before a probe is allowed, ms. */
  cooldownMs: number;
};

export const DEFAULT_BREAKER: BreakerSettings = { failures: 3, cooldownMs: 30_000 };

export type BreakerState = "closed" | "open" | "half-open";

/** What `admit` answers: go ahead (maybe as the half-open probe), or skip with the time left. */
export type Admission = { ok: true; probe: boolean } | { ok: false; retryInMs: number; failures: number };

export class CircuitBreaker {
  private consecutive = 0;
  private openedAt = 0;
  private open = false;
  private probing = false;

  constructor(private readonly settings: BreakerSettings) {}

  state(now = Date.now()): BreakerState {
    if (!this.open) return "closed";
    return now - this.openedAt >= this.settings.cooldownMs ? "half-open" : "open";
  }

  /** Asks to send a request; a half-open breaker admits one probe at a time. */
  admit(now = Date.now()): Admission {
    if (!this.open) return { ok: true, probe: false };
    const left = this.openedAt + this.settings.cooldownMs - now;
    if (left > 0 || this.probing) return { ok: false, retryInMs: Math.max(left, 0), failures: this.consecutive };
    this.probing = true;
    return { ok: true, probe: true };
  }

  success(): void {
    this.consecutive = 0;
    this.open = false;
    this.probing = false;
  }

  failure(now = Date.now()): void {
    this.consecutive++;
    this.probing = false;
    if (this.open || this.consecutive >= this.settings.failures) {
      this.open = true;
      this.openedAt = now;
    }
  }

  /**
   * The admitted request ended without telling us anything about the provider's health (the
   * caller cancelled, or the provider refused the request itself): a probe slot is handed back.
   */
  release(): void {
    this.probing = false;
  }

  consecutiveFailures(): number {
    return this.consecutive;
  }
}

type Registry = { settings: BreakerSettings; byProvider: Map<string, CircuitBreaker> };
const registries = new WeakMap<App, Registry>();

function registry(app: App): Registry {
  let r = registries.get(app);
  if (!r) registries.set(app, (r = { settings: DEFAULT_BREAKER, byProvider: new Map() }));
  return r;
}

/** Sets the thresholds for this App's breakers (at boot or in tests); existing breakers are reset. */
export function configureBreakers(app: App, settings: Partial<BreakerSettings>): void {
  const r = registry(app);
  r.settings = { ...r.settings, ...settings };
  r.byProvider.clear();
}

export function breakerFor(app: App, providerId: string): CircuitBreaker {
  const r = registry(app);
  let b = r.byProvider.get(providerId);
  if (!b) r.byProvider.set(providerId, (b = new CircuitBreaker(r.settings)));
  return b;
}

/** Every provider's breaker state, for the admin console and metrics. */
export function breakerStates(app: App, now = Date.now()): { providerId: string; state: BreakerState; failures: number }[] {
  return [...registry(app).byProvider].map(([providerId, b]) => ({ providerId, state: b.state(now), failures: b.consecutiveFailures() }));
}
