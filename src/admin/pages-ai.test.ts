/** Admin › AI through the real guard and forms: providers, one provider's page, routing, prices, quotas. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ACCOUNT_ROUTES, Browser, csrfIn, openHarness, type Harness } from "../auth/pages-testkit.ts";
import { createServer } from "../server/server.ts";
import type { User } from "../db/schema.ts";
import { getProvider, lastChecks, listProviders } from "../ai/providers.ts";
import { policyFor } from "../ai/policies.ts";
import { priceFor } from "../ai/prices.ts";
import { readQuotas } from "../ai/quotas-admin.ts";
import { startFakeOllama, type FakeServer } from "../../test/helpers/fake-models.ts";
import { aiAdminPageRoutes } from "./pages-ai.tsx";

let h: Harness;
let site: Harness;
let ip = 0;
let ollama: FakeServer;
const KEY = "sk-page-secret-77aa";

beforeAll(async () => {
  h = await openHarness();
  const server = createServer(h.app, { routes: [...ACCOUNT_ROUTES, ...aiAdminPageRoutes] });
  site = { ...h, handle: (req) => server.handle(req), browser: (addr = `10.9.0.${++ip}`) => new Browser(site, addr) };
  ollama = await startFakeOllama();
});
afterAll(async () => {
  await ollama.stop();
  h.close();
});

async function signedIn(role: "admin" | "member"): Promise<{ user: User; b: Browser }> {
  const user = await h.user(role);
  const b = site.browser();
  expect((await b.login(user.email)).status).toBe(303);
  return { user, b };
}

async function post(b: Browser, action: string, form: Record<string, string>, headers?: Record<string, string>) {
  return b.send("POST", action, { form: { _csrf: csrfIn((await b.get("/account")).text), ...form }, headers });
}

/** The text of the field error beside the input named `name`. */
function fieldError(html: string, name: string): string | undefined {
  const m = new RegExp(`id="f-${name.replace(/\./g, "\\.")}-error"[^>]*>([^<]*)<`).exec(html);
  return m?.[1];
}

describe("Admin › AI", () => {
  test("members get 403 on every page and action; anonymous visitors are sent to log in", async () => {
    const { b } = await signedIn("member");
    for (const path of ["/admin/ai", "/admin/ai/routing", "/admin/ai/prices", "/admin/ai/quotas"]) {
      expect((await b.get(path)).status).toBe(403);
      const anon = await site.browser().get(path);
      expect(anon.status).toBe(303);
      expect(anon.location).toStartWith("/login?next=");
    }
    for (const action of ["/admin/ai/providers", "/admin/ai/routing", "/admin/ai/prices", "/admin/ai/quotas"]) {
      expect((await post(b, action, { id: "m1", kind: "ollama", url: ollama.url, scope: "default" })).status).toBe(403);
    }
    expect(await listProviders(h.app)).toEqual([]);
  });

  test("the empty page explains that nothing leaves the server, and has the add form", async () => {
    const { b } = await signedIn("admin");
    const r = await b.get("/admin/ai");
    expect(r.status).toBe(200);
    expect(r.text).toContain("No provider yet");
    expect(r.text).toContain('aria-current="page">AI</a>');
    expect(r.text).toContain('name="_csrf"');
    expect(r.text).toContain('<option value="ollama" selected>Ollama</option>');
  });

  test("adding: errors beside the fields (422, values kept), then 303 and listed; the key never appears", async () => {
    const { b } = await signedIn("admin");
    const bad = await post(b, "/admin/ai/providers", { id: "Bad Id", kind: "ollama", url: "http://169.254.169.254/latest", name: "" });
    expect(bad.status).toBe(422);
    expect(fieldError(bad.text, "id")).toContain("lowercase");
    expect(fieldError(bad.text, "url")).toContain("local or reserved");
    expect(bad.text).toContain('value="Bad Id"');
    const ok = await post(b, "/admin/ai/providers", { id: "local", kind: "ollama", url: ollama.url, name: "Local Ollama" });
    expect(ok.status).toBe(303);
    expect(ok.location).toStartWith("/admin/ai?done=added&id=local");
    const keyed = await post(b, "/admin/ai/providers", { id: "remote", kind: "openai-compatible", url: "http://127.0.0.1:9", apiKey: KEY });
    expect(keyed.status).toBe(303);
    const page = await b.get(ok.location ?? "");
    expect(page.text).toContain("Added local.");
    expect(page.text).toContain("Local Ollama");
    expect(page.text).toContain("key stored");
    expect(page.text).not.toContain(KEY);
    const dup = await post(b, "/admin/ai/providers", { id: "local", kind: "ollama", url: ollama.url });
    expect(dup.status).toBe(409);
    expect(fieldError(dup.text, "id")).toContain("taken");
  });

  test("check connection: without JS a redirect to the listed models; with htmx the fragment", async () => {
    const { b } = await signedIn("admin");
    const plain = await post(b, "/admin/ai/providers/local/check", {});
    expect(plain.status).toBe(303);
    const page = await b.get(plain.location ?? "");
    expect(page.text).toContain("qwen2.5-coder:1.5b");
    expect(page.text).toContain("2 models");
    const fragment = await post(b, "/admin/ai/providers/remote/check", {}, { "hx-request": "true" });
    expect(fragment.status).toBe(200);
    expect(fragment.text).not.toContain("<html");
    expect(fragment.text).toContain("unreachable");
    expect((await lastChecks(h.app)).get("remote")?.ok).toBe(false);
  });

  test("enable/disable, move up/down, remove", async () => {
    const { b } = await signedIn("admin");
    expect((await post(b, "/admin/ai/providers/local/disable", {})).status).toBe(303);
    expect((await getProvider(h.app, "local"))?.enabled).toBe(false);
    expect((await b.get("/admin/ai?done=disabled&id=local")).text).toContain("local is disabled");
    expect((await post(b, "/admin/ai/providers/local/enable", {})).status).toBe(303);
    expect((await post(b, "/admin/ai/providers/remote/move-up", {})).status).toBe(303);
    expect((await listProviders(h.app)).map((p) => p.id)).toEqual(["remote", "local"]);
    expect((await post(b, "/admin/ai/providers/remote/move-down", {})).status).toBe(303);
    expect((await listProviders(h.app)).map((p) => p.id)).toEqual(["local", "remote"]);
    const gone = await post(b, "/admin/ai/providers/ghost/remove", {});
    expect(gone.status).toBe(404);
    expect(gone.text).toContain("There is no provider");
  });

  test("a provider's page: options generated from the plugin's schema, the key write-only, errors beside fields", async () => {
    const { b } = await signedIn("admin");
    const r = await b.get("/admin/ai/providers/remote");
    expect(r.status).toBe(200);
    expect(r.text).toContain('name="opt.streamUsage"');
    expect(r.text).toMatch(/name="opt\.streamUsage" value="on" checked/); // its default is on
    expect(r.text).toContain('name="opt.organization"');
    expect(r.text).toContain("A key is stored");
    expect(r.text).not.toContain(KEY);
    const bad = await post(b, "/admin/ai/providers/remote", { name: "", url: "http://[fe80::1]/", apiKey: "" });
    expect(bad.status).toBe(422);
    expect(fieldError(bad.text, "name")).toBeTruthy();
    expect(fieldError(bad.text, "url")).toBeTruthy();
    const local = await post(b, "/admin/ai/providers/local", { name: "Local", url: ollama.url, "opt.numCtx": "100" });
    expect(local.status).toBe(422);
    expect(fieldError(local.text, "opt.numCtx")).toBeTruthy();
    const ok = await post(b, "/admin/ai/providers/remote", { name: "Remote GPU", url: "http://127.0.0.1:9", "opt.organization": "org-1", clearKey: "on" });
    expect(ok.status).toBe(303);
    const row = await getProvider(h.app, "remote");
    expect(row).toMatchObject({ name: "Remote GPU", apiKeySealed: null });
    expect(JSON.parse(row?.options ?? "{}")).toEqual({ streamUsage: false, organization: "org-1" });
    expect((await b.get("/admin/ai/providers/ghost")).status).toBe(404);
  });

  test("routing: one form per task, errors beside the chain, saved and shown back", async () => {
    const { b } = await signedIn("admin");
    const page = await b.get("/admin/ai/routing");
    expect(page.status).toBe(200);
    for (const task of ["chat", "code-edit", "summarise", "embed"]) expect(page.text).toContain(`name="chain-${task}"`);
    expect(page.text).toContain("qwen2.5-coder:1.5b"); // from local's last check
    const bad = await post(b, "/admin/ai/routing", { task: "chat", "chain-chat": "ghost:model" });
    expect(bad.status).toBe(422);
    expect(fieldError(bad.text, "chain-chat")).toContain("&quot;ghost&quot; is not a provider here");
    expect(bad.text).toContain("ghost:model</textarea>");
    const malformed = await post(b, "/admin/ai/routing", { task: "chat", "chain-chat": "local" });
    expect(fieldError(malformed.text, "chain-chat")).toContain("Line 1");
    const ok = await post(b, "/admin/ai/routing", { task: "chat", "chain-chat": "local:qwen2.5-coder:1.5b\nremote:gpt-4o-mini" });
    expect(ok.status).toBe(303);
    expect(await policyFor(h.app, "chat")).toEqual([
      { providerId: "local", model: "qwen2.5-coder:1.5b" },
      { providerId: "remote", model: "gpt-4o-mini" },
    ]);
    expect((await b.get(ok.location ?? "")).text).toContain("local:qwen2.5-coder:1.5b\nremote:gpt-4o-mini</textarea>");
    expect((await post(b, "/admin/ai/routing", {})).status).toBe(422);
  });

  test("prices: set with decimals, errors beside fields, remove (twice is harmless)", async () => {
    const { b } = await signedIn("admin");
    const bad = await post(b, "/admin/ai/prices", { providerId: "remote", model: "", input: "1e3", output: "0.5" });
    expect(bad.status).toBe(422);
    expect(fieldError(bad.text, "model")).toBeTruthy();
    expect(fieldError(bad.text, "input")).toContain("0.15");
    const ok = await post(b, "/admin/ai/prices", { providerId: "remote", model: "gpt-4o-mini", input: "0.15", output: "0.6" });
    expect(ok.status).toBe(303);
    expect(await priceFor(h.app, "remote", "gpt-4o-mini")).toEqual({ inputMicrosPerMtok: 150_000, outputMicrosPerMtok: 600_000 });
    const page = await b.get(ok.location ?? "");
    expect(page.text).toContain("Saved the price of remote:gpt-4o-mini");
    expect(page.text).toContain("<td class=\"num\">0.15</td>");
    for (let i = 0; i < 2; i++) expect((await post(b, "/admin/ai/prices/remove", { providerId: "remote", model: "gpt-4o-mini" })).status).toBe(303);
    expect((await priceFor(h.app, "remote", "gpt-4o-mini")).inputMicrosPerMtok).toBe(0);
  });

  test("quotas: the default and an override, errors beside fields, remove", async () => {
    const { b } = await signedIn("admin");
    const target = await h.user("member");
    const bad = await post(b, "/admin/ai/quotas", { scope: "default", dailyTokens: "lots", requestsPerMinute: "" });
    expect(bad.status).toBe(422);
    expect(fieldError(bad.text, "dailyTokens")).toContain("whole number");
    expect((await post(b, "/admin/ai/quotas", { scope: "default", dailyTokens: "200,000", requestsPerMinute: "20" })).status).toBe(303);
    const noOne = await post(b, "/admin/ai/quotas", { scope: "user", subject: "nobody-here", "o-dailyTokens": "5" });
    expect(noOne.status).toBe(422);
    expect(fieldError(noOne.text, "subject")).toContain("No account");
    expect((await post(b, "/admin/ai/quotas", { scope: "user", subject: target.username, "o-dailyTokens": "5000", "o-requestsPerMinute": "" })).status).toBe(303);
    const q = await readQuotas(h.app);
    expect(q.default).toMatchObject({ dailyTokens: 200_000, requestsPerMinute: 20 });
    expect(q.users).toMatchObject([{ subjectId: target.id, dailyTokens: 5000, requestsPerMinute: null }]);
    const page = await b.get("/admin/ai/quotas?done=override");
    expect(page.text).toContain(`@${target.username}`);
    expect(page.text).toContain('value="200000"');
    expect((await post(b, "/admin/ai/quotas/remove", { scope: "user", subjectId: target.id })).status).toBe(303);
    expect((await post(b, "/admin/ai/quotas/remove", { scope: "user", subjectId: target.id })).location).toBe("/admin/ai/quotas?done=gone");
    expect((await readQuotas(h.app)).users).toEqual([]);
  });

  test("removing a provider from its page", async () => {
    const { b } = await signedIn("admin");
    const r = await post(b, "/admin/ai/providers/remote/remove", {});
    expect(r.status).toBe(303);
    expect(r.location).toBe("/admin/ai?done=removed&id=remote");
    expect((await b.get(r.location ?? "")).text).toContain("Removed remote");
    expect(await getProvider(h.app, "remote")).toBeUndefined();
  });
});
