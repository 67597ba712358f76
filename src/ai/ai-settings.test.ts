/** Routing policies, prices and quotas as admins read and save them. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { createTeam } from "../teams/teams.ts";
import { aliceAndBob, apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { chainText, parseChain, policyFor, readPolicies, savePolicy } from "./policies.ts";
import { costMicros, formatUnits, FREE, listPrices, parseUnits, priceFor, removePrice, setPrice } from "./prices.ts";
import { parseLimit, readQuotas, removeQuota, saveQuota } from "./quotas-admin.ts";
import { addProvider } from "./providers.ts";

let app: App;
let dir: string;
let alice: User;

beforeEach(async () => {
  ({ app, dir } = await openTempApp("wove-ai-settings-"));
  ({ alice } = await aliceAndBob(app.db.orm));
  await addProvider(app, { id: "local", kind: "ollama", url: "http://127.0.0.1:11434" }, null);
  await addProvider(app, { id: "remote", kind: "openai-compatible", url: "http://10.0.0.9:8000" }, null);
});
afterEach(() => closeTempApp(app, dir));

describe("policies", () => {
  test("parseChain splits at the first colon, so model names keep theirs", () => {
    expect(parseChain(" local:qwen2.5-coder:1.5b \n\nremote:gpt-4o-mini\r\n")).toEqual({
      chain: [
        { providerId: "local", model: "qwen2.5-coder:1.5b" },
        { providerId: "remote", model: "gpt-4o-mini" },
      ],
    });
    expect(parseChain("local:a\nno-colon-here").error).toMatch(/^Line 2 /);
    expect(parseChain(":model").error).toMatch(/^Line 1 /);
    expect(parseChain("local:").error).toMatch(/^Line 1 /);
    expect(chainText([{ providerId: "local", model: "m:1" }, { providerId: "remote", model: "x" }])).toBe("local:m:1\nremote:x");
  });

  test("save, read, replace and clear a task's chain", async () => {
    expect(await readPolicies(app)).toEqual({ chat: [], "code-edit": [], summarise: [], embed: [] });
    const chain = [
      { providerId: "local", model: "qwen2.5-coder:1.5b" },
      { providerId: "remote", model: "gpt-4o-mini" },
    ];
    await savePolicy(app, "chat", chain, alice.id);
    await savePolicy(app, "embed", [{ providerId: "local", model: "nomic-embed-text" }], alice.id);
    expect((await readPolicies(app)).chat).toEqual(chain);
    expect(await policyFor(app, "embed")).toEqual([{ providerId: "local", model: "nomic-embed-text" }]);
    await savePolicy(app, "chat", [chain[1]!], alice.id);
    expect(await policyFor(app, "chat")).toEqual([chain[1]!]);
    await savePolicy(app, "chat", [], alice.id);
    expect(await policyFor(app, "chat")).toEqual([]);
  });

  test("unknown providers, bad model names, duplicates and long chains are refused under `chain`", async () => {
    const unknown = await apiErrorOf(savePolicy(app, "chat", [{ providerId: "ghost", model: "m" }], null));
    expect(unknown.status).toBe(422);
    expect(unknown.details?.chain).toContain('"ghost" is not a provider here (known: local, remote)');
    const dup = await apiErrorOf(savePolicy(app, "chat", [{ providerId: "local", model: "m" }, { providerId: "local", model: "m" }], null));
    expect(dup.details?.chain).toContain("listed twice");
    const control = await apiErrorOf(savePolicy(app, "chat", [{ providerId: "local", model: "a\u0000b" }], null));
    expect(control.details?.chain).toContain("control characters");
    const long = await apiErrorOf(savePolicy(app, "chat", Array.from({ length: 11 }, (_, i) => ({ providerId: "local", model: `m${i}` })), null));
    expect(long.details?.chain).toContain("at most 10");
    expect((await apiErrorOf(savePolicy(app, "translate" as "chat", [], null))).details?.task).toBeTruthy();
    expect(await policyFor(app, "chat")).toEqual([]);
  });
});

describe("prices", () => {
  test("units ↔ micros, exactly", () => {
    expect(["0", "0.15", "3", "2.5", "0.000001", "1000000", "12.123456"].map(parseUnits)).toEqual([0, 150_000, 3_000_000, 2_500_000, 1, 1_000_000_000_000, 12_123_456]);
    expect(["", "-1", "1e3", "0.1234567", "1,5", "abc", "1000001"].map(parseUnits)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
    expect([0, 150_000, 3_000_000, 1, 12_123_456].map(formatUnits)).toEqual(["0", "0.15", "3", "0.000001", "12.123456"]);
  });

  test("cost of a call: tokens × price per million, rounded to the micro", () => {
    expect(costMicros({ inputMicrosPerMtok: 150_000, outputMicrosPerMtok: 600_000 }, { tokensIn: 1000, tokensOut: 500 })).toBe(450);
    expect(costMicros(FREE, { tokensIn: 10_000_000, tokensOut: 10_000_000 })).toBe(0);
    expect(costMicros({ inputMicrosPerMtok: 1, outputMicrosPerMtok: 0 }, { tokensIn: 400_000, tokensOut: 0 })).toBe(0);
  });

  test("set, replace, list, look up (unset = free) and remove", async () => {
    expect(await priceFor(app, "remote", "gpt-4o-mini")).toEqual(FREE);
    await setPrice(app, { providerId: "remote", model: "gpt-4o-mini", inputMicrosPerMtok: 150_000, outputMicrosPerMtok: 600_000 }, alice.id);
    await setPrice(app, { providerId: "remote", model: "gpt-4o-mini", inputMicrosPerMtok: 200_000, outputMicrosPerMtok: 800_000 }, alice.id);
    expect(await priceFor(app, "remote", "gpt-4o-mini")).toEqual({ inputMicrosPerMtok: 200_000, outputMicrosPerMtok: 800_000 });
    expect((await listPrices(app)).map((p) => `${p.providerId}:${p.model}`)).toEqual(["remote:gpt-4o-mini"]);
    await removePrice(app, "remote", "gpt-4o-mini", alice.id);
    expect(await priceFor(app, "remote", "gpt-4o-mini")).toEqual(FREE);
    expect((await apiErrorOf(removePrice(app, "remote", "gpt-4o-mini", alice.id))).status).toBe(404);
  });

  test("field errors: unknown provider, empty model, out-of-range amounts", async () => {
    const e = await apiErrorOf(setPrice(app, { providerId: "ghost", model: " ", inputMicrosPerMtok: -1, outputMicrosPerMtok: 1.5 }, null));
    expect(Object.keys(e.details ?? {}).sort()).toEqual(["input", "model", "output", "providerId"]);
  });
});

describe("quotas", () => {
  test("parseLimit: empty is unlimited, numbers may have separators, anything else is NaN", () => {
    expect(["", " ", "0", "200000", "200_000", "1,000", "abc", "-5", "1.5"].map(parseLimit)).toEqual([null, null, 0, 200_000, 200_000, 1000, NaN, NaN, NaN]);
  });

  test("the default, a user by username/email/@handle, a team by slug; read back with names; remove", async () => {
    const team = await createTeam(app.db.orm, alice, { name: "Class 7B", slug: "class-7b" });
    await saveQuota(app, { scope: "default", dailyTokens: 100_000, requestsPerMinute: 10 }, null);
    await saveQuota(app, { scope: "user", subject: "@Alice", dailyTokens: 500_000, requestsPerMinute: null }, null);
    await saveQuota(app, { scope: "user", subject: "bob@example.com", dailyTokens: 0, requestsPerMinute: 1 }, null);
    await saveQuota(app, { scope: "team", subject: "class-7b", dailyTokens: 1_000_000, requestsPerMinute: 60 }, null);
    const q = await readQuotas(app);
    expect(q.default).toMatchObject({ scope: "default", subjectId: "", dailyTokens: 100_000, requestsPerMinute: 10 });
    expect(q.users.map((u) => [u.subjectName, u.dailyTokens, u.requestsPerMinute])).toEqual([
      ["alice", 500_000, null],
      ["bob", 0, 1],
    ]);
    expect(q.teams).toMatchObject([{ subjectId: team.id, subjectName: "class-7b", dailyTokens: 1_000_000 }]);
    await saveQuota(app, { scope: "user", subject: alice.id, dailyTokens: 1, requestsPerMinute: 1 }, null);
    expect((await readQuotas(app)).users.find((u) => u.subjectName === "alice")?.dailyTokens).toBe(1);
    await removeQuota(app, "user", alice.id, null);
    await removeQuota(app, "default", "", null);
    const after = await readQuotas(app);
    expect(after.default).toBeNull();
    expect(after.users.map((u) => u.subjectName)).toEqual(["bob"]);
    expect((await apiErrorOf(removeQuota(app, "user", alice.id, null))).status).toBe(404);
  });

  test("unknown subjects and bad numbers are field errors", async () => {
    const e = await apiErrorOf(saveQuota(app, { scope: "user", subject: "nobody", dailyTokens: Number.NaN, requestsPerMinute: -1 }, null));
    expect(Object.keys(e.details ?? {}).sort()).toEqual(["dailyTokens", "requestsPerMinute", "subject"]);
    expect((await apiErrorOf(saveQuota(app, { scope: "team", subject: "", dailyTokens: null, requestsPerMinute: null }, null))).details?.subject).toContain("No team");
    expect((await apiErrorOf(saveQuota(app, { scope: "galaxy", dailyTokens: null, requestsPerMinute: null }, null))).details?.scope).toBeTruthy();
    expect(await readQuotas(app)).toEqual({ default: null, users: [], teams: [] });
  });
});
