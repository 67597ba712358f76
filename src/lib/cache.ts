/**
 * A read-through cache for hot, per-user read models (dashboard, project
 * lists). Every change in Wove appends an event (events.ts), and appending
 * bumps the generation, which invalidates every entry at once: a reader in
 * this process never sees data older than its own last write. A change made
 * by another process (the CLI) is seen within the TTL.
 */

let generation = 0;

/** Called by the event log on every change. */
export function bumpGeneration(): void {
  generation++;
}

export function currentGeneration(): number {
  return generation;
}

type Entry<V> = { value: V; generation: number; expiresAt: number };

export class ReadCache<V> {
  private entries = new Map<string, Entry<V>>();
  private pending = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 5000,
  ) {}

  async get(key: string, compute: () => Promise<V>): Promise<V> {
    if (this.ttlMs <= 0) return compute();
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.generation === generation && hit.expiresAt > now) return hit.value;
    // Concurrent misses for one key share one computation.
    const running = this.pending.get(key);
    if (running) return running;
    const gen = generation;
    const p = compute().then(
      (value) => {
        this.pending.delete(key);
        if (gen === generation) {
          if (this.entries.size >= this.maxEntries) this.entries.clear();
          this.entries.set(key, { value, generation: gen, expiresAt: Date.now() + this.ttlMs });
        }
        return value;
      },
      (e: unknown) => {
        this.pending.delete(key);
        throw e;
      },
    );
    this.pending.set(key, p);
    return p;
  }
}

/** TTL for read caches: WOVE_READ_CACHE_MS (default 2000; 0 turns caching off, e.g. to measure cold paths). */
export function readCacheTtl(): number {
  const raw = process.env.WOVE_READ_CACHE_MS;
  const n = raw === undefined ? 2000 : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : 2000;
}
