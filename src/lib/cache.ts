/**
 * A read-through cache for hot, per-user read models (dashboard, project
 * lists). An entry is valid only for the data version it was computed at
 * (`Db.dataVersion()`: the newest event id — every change appends an event),
 * so a reader never sees data older than the last committed change, from this
 * process or another. The TTL only bounds memory held for idle keys.
 */

type Entry<V> = { value: V; version: number; expiresAt: number };

export class ReadCache<V> {
  private entries = new Map<string, Entry<V>>();
  private pending = new Map<string, { version: number; promise: Promise<V> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 5000,
  ) {}

  /** `version` must be read BEFORE computing, so a change racing the computation is seen next time. */
  async get(key: string, version: number, compute: () => Promise<V>): Promise<V> {
    if (this.ttlMs <= 0) return compute();
    const hit = this.entries.get(key);
    if (hit && hit.version === version && hit.expiresAt > Date.now()) return hit.value;
    // Concurrent misses for one key and version share one computation.
    const running = this.pending.get(key);
    if (running && running.version === version) return running.promise;
    const promise = compute().then(
      (value) => {
        if (this.pending.get(key)?.promise === promise) this.pending.delete(key);
        if (this.entries.size >= this.maxEntries) this.entries.clear();
        this.entries.set(key, { value, version, expiresAt: Date.now() + this.ttlMs });
        return value;
      },
      (e: unknown) => {
        if (this.pending.get(key)?.promise === promise) this.pending.delete(key);
        throw e;
      },
    );
    this.pending.set(key, { version, promise });
    return promise;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** One cache per owner (an App): tests and tools may open several Apps in one process. */
export function cachePerOwner<O extends object, V>(ttl: (owner: O) => number, maxEntries?: number): (owner: O) => ReadCache<V> {
  const caches = new WeakMap<O, ReadCache<V>>();
  return (owner) => {
    let c = caches.get(owner);
    if (!c) caches.set(owner, (c = new ReadCache<V>(ttl(owner), maxEntries)));
    return c;
  };
}
