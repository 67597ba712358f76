/**
 * Fixed-window counters in memory, keyed by purpose and subject (an IP, an
 * account). One process serves an instance, so memory is the right place.
 */
export type Limit = { max: number; windowMs: number };

export class RateLimiter {
  private hits = new Map<string, { count: number; resetAt: number }>();
  constructor(readonly limit: Limit) {}

  /** Counts one hit; returns 0 when allowed, else the seconds until the window resets. */
  hit(key: string, now = Date.now()): number {
    let e = this.hits.get(key);
    if (!e || e.resetAt <= now) {
      if (this.hits.size > 50_000) this.sweep(now);
      e = { count: 0, resetAt: now + this.limit.windowMs };
      this.hits.set(key, e);
    }
    e.count++;
    return e.count > this.limit.max ? Math.ceil((e.resetAt - now) / 1000) : 0;
  }

  /** True when the key is already over its limit, without counting a hit. */
  blocked(key: string, now = Date.now()): number {
    const e = this.hits.get(key);
    return e && e.resetAt > now && e.count >= this.limit.max ? Math.ceil((e.resetAt - now) / 1000) : 0;
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  private sweep(now: number): void {
    for (const [k, e] of this.hits) if (e.resetAt <= now) this.hits.delete(k);
  }
}
