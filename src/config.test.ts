import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { ConfigError, loadConfig, sizeFrom } from "./config.ts";

describe("loadConfig", () => {
  test("defaults", () => {
    const c = loadConfig({}, {});
    expect(c.port).toBe(3000);
    expect(c.host).toBe("127.0.0.1");
    expect(c.dataDir).toBe(resolve("./data"));
    expect(c.databaseUrl).toBe(`file:${resolve("./data/wove.db")}`);
    expect(c.baseUrl).toBe("http://127.0.0.1:3000");
    expect(c.allowSignup).toBe(false);
    expect(c.maxFileBytes).toBe(10 * 1024 * 1024);
  });

  test("flags beat env, env beats defaults", () => {
    const env = { WOVE_PORT: "4000", WOVE_HOST: "0.0.0.0", WOVE_DATA_DIR: "/tmp/env-data" };
    const fromEnv = loadConfig({}, env);
    expect([fromEnv.port, fromEnv.host, fromEnv.dataDir]).toEqual([4000, "0.0.0.0", "/tmp/env-data"]);
    expect(fromEnv.baseUrl).toBe("http://localhost:4000");
    const fromFlags = loadConfig({ port: "5000", host: "127.0.0.2", data: "/tmp/flag-data" }, env);
    expect([fromFlags.port, fromFlags.host, fromFlags.dataDir]).toEqual([5000, "127.0.0.2", "/tmp/flag-data"]);
  });

  test("base URL and database URL from env", () => {
    const c = loadConfig({}, { WOVE_BASE_URL: "https://wove.example.org/", WOVE_DATABASE_URL: "libsql://db.example.org" });
    expect(c.baseUrl).toBe("https://wove.example.org");
    expect(c.databaseUrl).toBe("libsql://db.example.org");
  });

  test.each([
    [{ port: "http" }, {}, "port must be a whole number"],
    [{ port: "70000" }, {}, "port must be between"],
    [{}, { WOVE_PORT: "-1" }, "port must be a whole number"],
    [{}, { WOVE_ALLOW_SIGNUP: "maybe" }, "WOVE_ALLOW_SIGNUP must be true or false"],
    [{}, { WOVE_BASE_URL: "ftp://x" }, "WOVE_BASE_URL must be an http(s) URL"],
    [{}, { WOVE_MAX_FILE_SIZE: "lots" }, "WOVE_MAX_FILE_SIZE must be a size"],
  ] as const)("rejects %p %p", (flags, env, message) => {
    expect(() => loadConfig(flags, env)).toThrow(ConfigError);
    expect(() => loadConfig(flags, env)).toThrow(message);
  });

  test("sizes", () => {
    expect(sizeFrom("x", "512")).toBe(512);
    expect(sizeFrom("x", "512k")).toBe(512 * 1024);
    expect(sizeFrom("x", "10M")).toBe(10 * 1024 ** 2);
    expect(sizeFrom("x", "1gib")).toBe(1024 ** 3);
  });
});
