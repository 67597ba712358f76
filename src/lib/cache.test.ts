import { describe, expect, test } from "bun:test";
import { ReadCache } from "./cache.ts";

describe("ReadCache", () => {
  test("hits while the data version stays and the TTL holds", async () => {
    const c = new ReadCache<number>(60_000);
    let calls = 0;
    const compute = async () => ++calls;
    expect(await c.get("k", 1, compute)).toBe(1);
    expect(await c.get("k", 1, compute)).toBe(1);
    expect(await c.get("k", 2, compute)).toBe(2);
    expect(await c.get("other", 2, compute)).toBe(3);
    const short = new ReadCache<number>(10);
    expect(await short.get("k", 1, compute)).toBe(4);
    await Bun.sleep(20);
    expect(await short.get("k", 1, compute)).toBe(5);
  });

  test("concurrent misses share one computation; errors are not cached", async () => {
    const c = new ReadCache<number>(60_000);
    let calls = 0;
    const slow = async () => {
      calls++;
      await Bun.sleep(5);
      return calls;
    };
    expect(await Promise.all([c.get("k", 1, slow), c.get("k", 1, slow), c.get("k", 1, slow)])).toEqual([1, 1, 1]);
    await expect(c.get("e", 1, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await c.get("e", 1, async () => 7)).toBe(7);
  });

  test("TTL 0 turns caching off", async () => {
    const c = new ReadCache<number>(0);
    let calls = 0;
    await c.get("k", 1, async () => ++calls);
    await c.get("k", 1, async () => ++calls);
    expect(calls).toBe(2);
  });
});
