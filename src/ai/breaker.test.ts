import { describe, expect, test } from "bun:test";
import { CircuitBreaker } from "./breaker.ts";

describe("CircuitBreaker", () => {
  const settings = { failures: 3, cooldownMs: 1000 };

  test("stays closed below the threshold; a success resets the count", () => {
    const b = new CircuitBreaker(settings);
    b.failure(0);
    b.failure(0);
    expect(b.state(0)).toBe("closed");
    b.success();
    b.failure(0);
    b.failure(0);
    expect(b.state(0)).toBe("closed");
    expect(b.admit(0)).toEqual({ ok: true, probe: false });
  });

  test("opens after N consecutive failures and refuses with the time left", () => {
    const b = new CircuitBreaker(settings);
    for (let i = 0; i < 3; i++) b.failure(100);
    expect(b.state(100)).toBe("open");
    expect(b.admit(600)).toEqual({ ok: false, retryInMs: 500, failures: 3 });
  });

  test("half-open after the cool-down admits one probe at a time", () => {
    const b = new CircuitBreaker(settings);
    for (let i = 0; i < 3; i++) b.failure(0);
    expect(b.state(1000)).toBe("half-open");
    expect(b.admit(1000)).toEqual({ ok: true, probe: true });
    expect(b.admit(1001).ok).toBe(false);
  });

  test("a successful probe closes it", () => {
    const b = new CircuitBreaker(settings);
    for (let i = 0; i < 3; i++) b.failure(0);
    b.admit(1000);
    b.success();
    expect(b.state(1000)).toBe("closed");
    expect(b.admit(1000)).toEqual({ ok: true, probe: false });
  });

  test("a failed probe opens it again for a whole cool-down", () => {
    const b = new CircuitBreaker(settings);
    for (let i = 0; i < 3; i++) b.failure(0);
    b.admit(1000);
    b.failure(1500);
    expect(b.state(1600)).toBe("open");
    expect(b.admit(2400)).toEqual({ ok: false, retryInMs: 100, failures: 4 });
    expect(b.admit(2500).ok).toBe(true);
  });

  test("a released probe (cancelled, or refused for its own reasons) lets the next request probe", () => {
    const b = new CircuitBreaker(settings);
    for (let i = 0; i < 3; i++) b.failure(0);
    expect(b.admit(1000).ok).toBe(true);
    b.release();
    expect(b.admit(1000)).toEqual({ ok: true, probe: true });
  });
});
