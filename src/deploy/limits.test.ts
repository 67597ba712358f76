import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { events } from "../db/schema.ts";
import { setLogSink } from "../lib/log.ts";
import { apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { checkLimits, formatMemory, LIMITS_KEY, parseMemory, readLimits, readLimitsSetting, resetLimits, saveLimits } from "./limits.ts";

let app: App;
let dir: string;
beforeAll(async () => {
  ({ app, dir } = await openTempApp("wove-limits-", { WOVE_DEPLOY_CPUS: "2", WOVE_DEPLOY_MEMORY: "256m", WOVE_DEPLOY_PIDS: "128" }));
});
afterAll(() => closeTempApp(app, dir));

const MiB = 1024 ** 2;

describe("deploy limits", () => {
  test("the server's settings are the defaults until an admin changes them", async () => {
    expect(await readLimitsSetting(app)).toEqual({
      limits: { cpus: 2, memoryBytes: 256 * MiB, pids: 128 },
      defaults: { cpus: 2, memoryBytes: 256 * MiB, pids: 128 },
      updatedAt: null,
    });
  });

  test("saving stores them, records who changed what, and reset goes back", async () => {
    const saved = await saveLimits(app, { cpus: "0.5", memory: "1.5g", pids: "1000" }, null);
    expect(saved).toEqual({ cpus: 0.5, memoryBytes: 1.5 * 1024 * MiB, pids: 1000 });
    expect(await readLimits(app)).toEqual(saved);
    const setting = await readLimitsSetting(app);
    expect(setting.updatedAt).toBeGreaterThan(0);
    const changes = await app.db.orm.select().from(events).where(eq(events.kind, "deploy.limits_changed"));
    expect(changes).toHaveLength(1);
    expect(JSON.parse(changes[0]?.data ?? "{}")).toEqual({ before: { cpus: 2, memoryBytes: 256 * MiB, pids: 128 }, after: saved });

    expect(await resetLimits(app, null)).toEqual({ cpus: 2, memoryBytes: 256 * MiB, pids: 128 });
    expect((await readLimitsSetting(app)).updatedAt).toBeNull();
    // Resetting again changes nothing and records nothing.
    await resetLimits(app, null);
    expect(await app.db.orm.select().from(events).where(eq(events.kind, "deploy.limits_changed"))).toHaveLength(2);
  });

  const bad: [string, Parameters<typeof checkLimits>[0], string[]][] = [
    ["too few CPUs", { cpus: "0.05", memory: "512m", pids: "256" }, ["cpus"]],
    ["too many CPUs", { cpus: "65", memory: "512m", pids: "256" }, ["cpus"]],
    ["CPUs with three decimals", { cpus: "0.125", memory: "512m", pids: "256" }, ["cpus"]],
    ["too little memory", { cpus: "1", memory: "8m", pids: "256" }, ["memory"]],
    ["too much memory", { cpus: "1", memory: "65g", pids: "256" }, ["memory"]],
    ["unreadable memory", { cpus: "1", memory: "lots", pids: "256" }, ["memory"]],
    ["too few processes", { cpus: "1", memory: "512m", pids: "15" }, ["pids"]],
    ["a fractional pid limit", { cpus: "1", memory: "512m", pids: "20.5" }, ["pids"]],
    ["everything empty", {}, ["cpus", "memory", "pids"]],
  ];
  test.each(bad)("%s is refused with an error beside the field", async (_name, input, fields) => {
    const e = await apiErrorOf(saveLimits(app, input, null));
    expect(e.status).toBe(422);
    expect(Object.keys(e.details ?? {}).sort()).toEqual(fields.sort());
  });

  test("the edges of each range are accepted", () => {
    expect(checkLimits({ cpus: "0.1", memory: "16m", pids: "16" })).toEqual({ cpus: 0.1, memoryBytes: 16 * MiB, pids: 16 });
    expect(checkLimits({ cpus: 64, memory: "64g", pids: 100000 })).toEqual({ cpus: 64, memoryBytes: 64 * 1024 * MiB, pids: 100000 });
  });

  test("a damaged stored value falls back to the defaults field by field", async () => {
    await app.db.client.execute({ sql: "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)", args: [LIMITS_KEY, JSON.stringify({ cpus: 4, memoryBytes: 1, pids: "x" }), 1] });
    expect(await readLimits(app)).toEqual({ cpus: 4, memoryBytes: 256 * MiB, pids: 128 });
    await app.db.client.execute({ sql: "UPDATE settings SET value = 'not json' WHERE key = ?", args: [LIMITS_KEY] });
    const logs: string[] = [];
    setLogSink((text) => logs.push(text));
    try {
      expect(await readLimits(app)).toEqual({ cpus: 2, memoryBytes: 256 * MiB, pids: 128 });
      await resetLimits(app, null);
    } finally {
      setLogSink((text) => process.stdout.write(text));
    }
    expect(logs.join("")).toContain("the deploy.limits setting is not JSON");
  });

  test("memory sizes read and print the way people write them", () => {
    expect(parseMemory("512m")).toBe(512 * MiB);
    expect(parseMemory("512 MB")).toBe(512 * MiB);
    expect(parseMemory("2GiB")).toBe(2048 * MiB);
    expect(parseMemory("1048576")).toBe(MiB);
    expect(parseMemory("-1m")).toBeUndefined();
    expect(parseMemory("1x")).toBeUndefined();
    expect(formatMemory(512 * MiB)).toBe("512m");
    expect(formatMemory(1536 * MiB)).toBe("1.5g");
    expect(formatMemory(1000 * MiB)).toBe("1000m");
    expect(formatMemory(2048 * MiB)).toBe("2g");
  });
});
