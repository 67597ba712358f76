import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { hmac, newId, randomToken, safeEqual, seal, sha256, unseal } from "./crypto.ts";

describe("crypto helpers", () => {
  test("ids are 16 lowercase alphanumerics and do not repeat", () => {
    const ids = new Set(Array.from({ length: 5000 }, newId));
    expect(ids.size).toBe(5000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{16}$/);
  });

  test("tokens are url-safe and long", () => {
    expect(randomToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test("sha256 and hmac are stable", () => {
    expect(sha256("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const key = Buffer.alloc(32, 1);
    expect(hmac(key, "x")).toBe(hmac(key, "x"));
    expect(hmac(key, "x")).not.toBe(hmac(Buffer.alloc(32, 2), "x"));
  });

  test("safeEqual compares by value, including different lengths", () => {
    expect(safeEqual("abc", "abc")).toBe(true);
    expect(safeEqual("abc", "abd")).toBe(false);
    expect(safeEqual("abc", "abcd")).toBe(false);
    expect(safeEqual("", "")).toBe(true);
  });

  test("seal/unseal round-trips and detects tampering or a wrong key", () => {
    const key = randomBytes(32);
    const sealed = seal(key, "s3cret ✓");
    expect(sealed).not.toContain("s3cret");
    expect(unseal(key, sealed)).toBe("s3cret ✓");
    expect(seal(key, "same")).not.toBe(seal(key, "same")); // fresh IV each time
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3] ?? "", "base64url");
    body[0] = (body[0] ?? 0) ^ 1;
    parts[3] = body.toString("base64url");
    expect(() => unseal(key, parts.join("."))).toThrow();
    expect(() => unseal(randomBytes(32), sealed)).toThrow();
    expect(() => unseal(key, "garbage")).toThrow("not a sealed value");
  });
});
