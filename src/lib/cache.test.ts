import { describe, expect, test } from "bun:test";
import { bumpGeneration, ReadCache } from "./cache.ts";

describe("ReadCache", () => {
  test("hits until the generation moves or the TTL passes", async () => {
    const c = new ReadCache<number>(60_000);
    let calls = 0;
    const compute = async () => ++calls;
    expect(await c.get("k", compute)).toBe(1);
    expect(await c.get("k", compute)).toBe(1);
    bumpGeneration();
    expect(await c.get("k", compute)).toBe(2);
    const short = new ReadCache<number>(10);
    expect(await short.get("k", compute)).toBe(3);
    await Bun.sleep(20);
    expect(await short.get("k", compute)).toBe(4);
  });

  test("concurrent misses share one computation; errors are not cached", async () => {
    const c = new ReadCache<number>(60_000);
    let calls = 0;
    const slow = async () => {
      calls++;
      await Bun.sleep(5);
      return calls;
    };
    expect(await Promise.all([c.get("k", slow), c.get("k", slow), c.get("k", slow)])).toEqual([1, 1, 1]);
    await expect(c.get("e", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await c.get("e", async () => 7)).toBe(7);
  });

  test("a value computed across a change is not stored", async () => {
    const c = new ReadCache<number>(60_000);
    let calls = 0;
    const racing = async () => {
      calls++;
      bumpGeneration(); // a write lands while we read
      return calls;
    };
    expect(await c.get("k", racing)).toBe(1);
    expect(await c.get("k", async () => 99)).toBe(99);
  });

  test("TTL 0 turns caching off", async () => {
    const c = new ReadCache<number>(0);
    let calls = 0;
    await c.get("k", async () => ++calls);
    await c.get("k", async () => ++calls);
    expect(calls).toBe(2);
  });
});
