/**
 * The provider registry: sealed keys (the raw column never holds one), validation and SSRF
 * refusals, order, changes and removal, and real clients talking to the fake Ollama and
 * OpenAI-compatible servers — including `wove admin rotate-key` re-sealing provider keys.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { aiPrices, aiProviders, events } from "../db/schema.ts";
import { unseal } from "../lib/crypto.ts";
import { setLogSink } from "../lib/log.ts";
import { rotateKey } from "../cli/rotate-key.ts";
import { keyRing, unsealWithRing } from "../projects/env.ts";
import { apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { startFakeOllama, startFakeOpenAI, type FakeServer } from "../../test/helpers/fake-models.ts";
import { readPolicies, savePolicy } from "./policies.ts";
import { listPrices, setPrice } from "./prices.ts";
import {
  addProvider,
  checkProvider,
  clientFor,
  enabledProviders,
  getProvider,
  lastChecks,
  listProviders,
  moveProvider,
  providerJson,
  removeProvider,
  updateProvider,
} from "./providers.ts";

let app: App;
let dir: string;
let ollama: FakeServer;
let openai: FakeServer;
const KEY = "sk-test-secret-4f9c2b7a";

beforeAll(async () => {
  setLogSink(() => {});
  ollama = await startFakeOllama();
  openai = await startFakeOpenAI({ apiKey: KEY });
});
afterAll(async () => {
  await ollama.stop();
  await openai.stop();
  setLogSink((text) => process.stdout.write(text));
});
beforeEach(async () => {
  ({ app, dir } = await openTempApp("wove-providers-"));
});
afterEach(() => closeTempApp(app, dir));

async function rawKeyColumn(id: string): Promise<string | null> {
  const rs = await app.db.client.execute({ sql: "SELECT api_key_sealed FROM ai_providers WHERE id = ?", args: [id] });
  return (rs.rows[0]?.[0] as string | null | undefined) ?? null;
}

async function eventKinds(): Promise<string[]> {
  return (await app.db.orm.select({ kind: events.kind }).from(events)).map((e) => e.kind).filter((k) => k.startsWith("ai."));
}

describe("adding", () => {
  test("a provider with a key: the column holds a sealed value, never the key; views say hasApiKey", async () => {
    const row = await addProvider(app, { id: "remote", kind: "openai-compatible", url: `${openai.url}/`, apiKey: ` ${KEY} ` }, null);
    expect(row).toMatchObject({ id: "remote", kind: "openai-compatible", name: "remote", url: openai.url, enabled: true, position: 1 });
    const raw = await rawKeyColumn("remote");
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(KEY);
    expect(raw).toStartWith("v1.");
    expect(unseal(app.secret, raw ?? "")).toBe(KEY);
    const view = providerJson(row);
    expect(view.hasApiKey).toBe(true);
    expect(JSON.stringify(view)).not.toContain(KEY);
    expect(JSON.stringify(view)).not.toContain(raw ?? "-");
    // The event log records that a key exists, not the key.
    const ev = await app.db.orm.select().from(events).where(eq(events.kind, "ai.provider_added"));
    expect(ev).toHaveLength(1);
    expect(ev[0]?.data).not.toContain(KEY);
    expect(JSON.parse(ev[0]?.data ?? "{}")).toMatchObject({ kind: "openai-compatible", hasApiKey: true });
  });

  test("positions follow the order of adding; enabledProviders skips disabled ones", async () => {
    await addProvider(app, { id: "b-first", kind: "ollama", url: "http://127.0.0.1:11434" }, null);
    await addProvider(app, { id: "a-second", kind: "ollama", url: "http://10.0.0.5:11434", name: "LAN box" }, null);
    await addProvider(app, { id: "c-third", kind: "openai-compatible", url: "http://192.168.1.9:8000/v1" }, null);
    expect((await listProviders(app)).map((p) => [p.id, p.position])).toEqual([["b-first", 1], ["a-second", 2], ["c-third", 3]]);
    await updateProvider(app, "a-second", { enabled: false }, null);
    expect((await enabledProviders(app)).map((p) => p.id)).toEqual(["b-first", "c-third"]);
  });

  test("invalid input: every field's problem at once (422), nothing stored", async () => {
    const e = await apiErrorOf(addProvider(app, { id: "X", kind: "gopher", url: "ftp://127.0.0.1", name: "bad\u0007name" }, null));
    expect(e.status).toBe(422);
    expect(Object.keys(e.details ?? {}).sort()).toEqual(["id", "kind", "name", "url"]);
    expect(e.details?.kind).toContain("not a provider kind");
    expect(await listProviders(app)).toEqual([]);
    expect(await eventKinds()).toEqual([]);
  });

  test.each([
    ["a", "id"],
    ["has:colon", "id"],
    ["-dash", "id"],
    ["x".repeat(41), "id"],
  ])("the id %s is refused", async (id, field) => {
    const e = await apiErrorOf(addProvider(app, { id, kind: "ollama", url: "http://127.0.0.1:11434" }, null));
    expect(e.status).toBe(422);
    expect(Object.keys(e.details ?? {})).toEqual([field]);
  });

  test.each([
    "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]:11434",
    "http://metadata.google.internal",
    "http://0.0.0.0:11434",
    "http://user:pw@127.0.0.1:11434",
    "gopher://127.0.0.1:70",
    "",
  ])("SSRF: the URL %p is refused beside the url field", async (url) => {
    const e = await apiErrorOf(addProvider(app, { id: "ssrf", kind: "ollama", url }, null));
    expect(e.status).toBe(422);
    expect(e.details?.url).toBeTruthy();
    expect(await getProvider(app, "ssrf")).toBeUndefined();
  });

  test("a kind that needs a key refuses to be added without one; options are checked by the plugin's schema", async () => {
    const noKey = await apiErrorOf(addProvider(app, { id: "claude", kind: "anthropic", url: "https://api.anthropic.com" }, null));
    expect(noKey.details?.apiKey).toContain("needs an API key");
    const badOptions = await apiErrorOf(addProvider(app, { id: "tuned", kind: "ollama", url: "http://127.0.0.1:11434", options: { numCtx: 3, colour: "red" } }, null));
    expect(Object.keys(badOptions.details ?? {}).every((k) => k.startsWith("options"))).toBe(true);
    expect(badOptions.details?.["options.numCtx"]).toBeTruthy();
    const ok = await addProvider(app, { id: "tuned", kind: "ollama", url: "http://127.0.0.1:11434", options: { numCtx: 8192, keepAlive: "10m" } }, null);
    expect(providerJson(ok).options).toEqual({ numCtx: 8192, keepAlive: "10m" });
  });

  test("a duplicate id is 409 and records nothing", async () => {
    await addProvider(app, { id: "dup", kind: "ollama", url: "http://127.0.0.1:11434" }, null);
    const e = await apiErrorOf(addProvider(app, { id: "dup", kind: "openai-compatible", url: "http://127.0.0.1:8000" }, null));
    expect(e.status).toBe(409);
    expect(e.details?.id).toContain("taken");
    expect(await eventKinds()).toEqual(["ai.provider_added"]);
  });

  test("concurrent adds get distinct positions", async () => {
    await Promise.all(Array.from({ length: 6 }, (_, i) => addProvider(app, { id: `p${i}-x`, kind: "ollama", url: "http://127.0.0.1:11434" }, null)));
    const positions = (await listProviders(app)).map((p) => p.position);
    expect(new Set(positions).size).toBe(6);
  });
});

describe("changing and removing", () => {
  beforeEach(async () => {
    for (const id of ["one", "two", "three"]) await addProvider(app, { id, kind: "openai-compatible", url: "http://127.0.0.1:8000" }, null);
  });
  const order = async () => (await listProviders(app)).map((p) => `${p.id}@${p.position}`);

  test("url, name, enabled, options; an unchanged patch records nothing", async () => {
    const before = (await eventKinds()).length;
    await updateProvider(app, "one", { url: "http://127.0.0.1:8000" }, null);
    expect((await eventKinds()).length).toBe(before);
    const row = await updateProvider(app, "one", { url: "http://10.1.1.1:8000/", name: "GPU box", enabled: false, options: { streamUsage: false } }, null);
    expect(row).toMatchObject({ url: "http://10.1.1.1:8000", name: "GPU box", enabled: false });
    expect(providerJson(row).options).toEqual({ streamUsage: false });
    const refused = await apiErrorOf(updateProvider(app, "one", { url: "http://169.254.169.254", name: "" }, null));
    expect(Object.keys(refused.details ?? {}).sort()).toEqual(["name", "url"]);
    expect((await getProvider(app, "one"))?.url).toBe("http://10.1.1.1:8000");
    expect((await apiErrorOf(updateProvider(app, "nope", { enabled: true }, null))).status).toBe(404);
  });

  test("the key: set (sealed), kept when absent, removed with null; an empty string is refused", async () => {
    await updateProvider(app, "two", { apiKey: "first-key-123" }, null);
    const sealed = await rawKeyColumn("two");
    expect(sealed).not.toContain("first-key-123");
    await updateProvider(app, "two", { name: "Renamed" }, null);
    expect(await rawKeyColumn("two")).toBe(sealed);
    expect((await apiErrorOf(updateProvider(app, "two", { apiKey: "  " }, null))).details?.apiKey).toContain("empty");
    await updateProvider(app, "two", { apiKey: null }, null);
    expect(await rawKeyColumn("two")).toBeNull();
  });

  test("reorder by position and by moving up/down; ends are no-ops", async () => {
    await updateProvider(app, "three", { position: 1 }, null);
    expect(await order()).toEqual(["three@1", "one@2", "two@3"]);
    await moveProvider(app, "two", "up", null);
    expect(await order()).toEqual(["three@1", "two@2", "one@3"]);
    await moveProvider(app, "three", "up", null);
    await moveProvider(app, "one", "down", null);
    expect(await order()).toEqual(["three@1", "two@2", "one@3"]);
    await updateProvider(app, "three", { position: 99 }, null);
    expect(await order()).toEqual(["two@1", "one@2", "three@3"]);
    expect((await apiErrorOf(updateProvider(app, "one", { position: 0 }, null))).details?.position).toBeTruthy();
  });

  test("removing takes its prices, last check and policy entries with it, and closes the gap", async () => {
    await setPrice(app, { providerId: "two", model: "gpt-4o-mini", inputMicrosPerMtok: 150_000, outputMicrosPerMtok: 600_000 }, null);
    await setPrice(app, { providerId: "one", model: "m", inputMicrosPerMtok: 1, outputMicrosPerMtok: 2 }, null);
    await savePolicy(app, "chat", [{ providerId: "two", model: "gpt-4o-mini" }, { providerId: "one", model: "m" }], null);
    await savePolicy(app, "embed", [{ providerId: "two", model: "text-embedding-3-small" }], null);
    await checkProvider(app, "two");
    await removeProvider(app, "two", null);
    expect(await order()).toEqual(["one@1", "three@2"]);
    expect((await listPrices(app)).map((p) => p.providerId)).toEqual(["one"]);
    expect(await app.db.orm.select().from(aiPrices).where(eq(aiPrices.providerId, "two"))).toEqual([]);
    const policies = await readPolicies(app);
    expect(policies.chat).toEqual([{ providerId: "one", model: "m" }]);
    expect(policies.embed).toEqual([]);
    expect((await lastChecks(app)).has("two")).toBe(false);
    expect((await apiErrorOf(removeProvider(app, "two", null))).status).toBe(404);
    expect(await eventKinds()).toContain("ai.provider_removed");
  });
});

describe("clients and connection checks against the fake servers", () => {
  test("Ollama: health lists the models; the result is kept as the last check", async () => {
    await addProvider(app, { id: "local", kind: "ollama", url: ollama.url }, null);
    const r = await checkProvider(app, "local");
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.models.map((m) => m.id)).toEqual(["qwen2.5-coder:1.5b", "nomic-embed-text:latest"]);
    const last = (await lastChecks(app)).get("local");
    expect(last).toMatchObject({ ok: true, models: ["qwen2.5-coder:1.5b", "nomic-embed-text:latest"] });
    expect(providerJson((await getProvider(app, "local"))!, last).lastCheck?.models).toHaveLength(2);
  });

  test("OpenAI-compatible: the unsealed key reaches the server; a chat streams through clientFor", async () => {
    const row = await addProvider(app, { id: "remote", kind: "openai-compatible", url: openai.url, apiKey: KEY }, null);
    const client = clientFor(app, row);
    expect(clientFor(app, row)).toBe(client); // reused while the row is unchanged
    const text: string[] = [];
    for await (const c of client.chat({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }, AbortSignal.timeout(5000))) {
      if (c.type === "token") text.push(c.text);
    }
    expect(text.join("")).toBe("Hello from the fake model.");
    expect(openai.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  test("a wrong key, a dead server, an unsaved input: ok false with the reason", async () => {
    await addProvider(app, { id: "wrong", kind: "openai-compatible", url: openai.url, apiKey: "sk-wrong" }, null);
    const wrong = await checkProvider(app, "wrong");
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.reason).toMatch(/401|key/i);
    const dead = await startFakeOllama();
    await addProvider(app, { id: "dead", kind: "ollama", url: dead.url }, null);
    dead.kill();
    const down = await checkProvider(app, "dead");
    expect(down.ok).toBe(false);
    expect((await lastChecks(app)).get("dead")?.ok).toBe(false);
    const unsaved = await checkProvider(app, { id: "", kind: "ollama", url: ollama.url });
    expect(unsaved.ok).toBe(true);
    expect((await lastChecks(app)).size).toBe(2);
    expect((await apiErrorOf(checkProvider(app, "missing"))).status).toBe(404);
    expect((await apiErrorOf(checkProvider(app, { id: "", kind: "ollama", url: "http://169.254.169.254" }))).status).toBe(422);
  });

  test("a key sealed with a lost instance key: the check says so instead of failing", async () => {
    await addProvider(app, { id: "orphan", kind: "openai-compatible", url: openai.url, apiKey: KEY }, null);
    await app.db.orm.update(aiProviders).set({ apiKeySealed: "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA", updatedAt: Date.now() + 1 }).where(eq(aiProviders.id, "orphan"));
    const r = await checkProvider(app, "orphan");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain("cannot be decrypted");
  });
});

describe("wove admin rotate-key", () => {
  test("re-seals provider keys with the new key (providers without a key are left alone)", async () => {
    await addProvider(app, { id: "keyed", kind: "openai-compatible", url: openai.url, apiKey: KEY }, null);
    await addProvider(app, { id: "keyless", kind: "ollama", url: ollama.url }, null);
    const before = await rawKeyColumn("keyed");
    const r = await rotateKey({ dataDir: dir, db: app.db, env: {} });
    expect(r.counts["AI provider API keys"]).toBe(1);
    const after = await rawKeyColumn("keyed");
    expect(after).not.toBe(before);
    expect(() => unseal(app.secret, after ?? "")).toThrow(); // no longer the old key's
    expect(unsealWithRing(keyRing(app.secret, dir), after ?? "")).toBe(KEY);
    expect(await rawKeyColumn("keyless")).toBeNull();
  });
});
