/**
 * The assistant in the IDE, end to end in Chromium (issue 6, "Tests"): the real server with
 * the fake Ollama added as a provider through the admin API; a person opens a file in the
 * IDE, asks in the Assistant panel and watches the answer arrive token by token; it renders
 * as Markdown with a highlighted code block and lists the open file as context. Stop aborts
 * the answer (the model call is cancelled), a rate limit shows as a clear message with the
 * wait, conversations come back from the history and can be shared, and the panel is a
 * drawer at 360 px that Escape closes.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import type { Page } from "playwright-core";
import { test } from "../helpers/quiet.ts";
import { horizontalOverflow, logIn, skipE2E, TestBrowser, openIdeAt } from "../helpers/browser.ts";
import { TestServer, waitFor, type TestUser } from "../helpers/server.ts";
import { startFakeOllama, type FakeServer } from "../helpers/fake-models.ts";
import { buildIslands } from "../../scripts/build-islands.ts";
import { loadConfig } from "../../src/config.ts";
import { openApp } from "../../src/core/app.ts";
import { saveQuota } from "../../src/ai/quotas-admin.ts";

const e2e = test.skipIf(skipE2E);
const FILE = "src/sum.ts";
const SHOTS = process.env.WOVE_SCREENSHOTS;

/** A Markdown answer with a heading, inline code, a list and a TypeScript block. */
const ANSWER = [
  "### Summing numbers",
  "",
  "Use `reduce` with a start value:",
  "",
  "```ts",
  "export function sum(xs: number[]): number {",
  "  return xs.reduce((total, x) => total + x, 0);",
  "}",
  "```",
  "",
  "- an empty list gives `0`",
  "- see [the docs](https://developer.mozilla.org/) or [this](javascript:alert(1))",
].join("\n");
const LONG = Array.from({ length: 200 }, (_, i) => `step${i}`).join(" ");

let srv: TestServer;
let ollama: FakeServer;
let browser: TestBrowser;
let ada: TestUser;
let projectId: string;

beforeAll(async () => {
  if (skipE2E) return;
  await buildIslands({ ifStale: true, quiet: true });
  ollama = await startFakeOllama({ reply: (r) => (r.lastUser.includes("long") ? LONG : ANSWER), tokensPerSecond: 15 });
  srv = await TestServer.start();
  const admin = await srv.createUser({ role: "admin", username: "root", name: "Root" });
  const adminToken = await srv.token(admin.email, "read,write,admin");
  const added = await srv.api("POST", "/api/v1/admin/providers", { token: adminToken, body: { id: "local", kind: "ollama", url: ollama.url } });
  expect(added.status).toBe(201);
  ada = await srv.createUser({ email: "ada@example.com", name: "Ada Lovelace", username: "ada" });
  const token = await srv.token(ada.email);
  const created = await srv.api("POST", "/api/v1/projects", { token, body: { name: "Numbers", visibility: "private" } });
  projectId = (created.json as { id: string }).id;
  expect((await srv.api("PUT", `/api/v1/projects/${projectId}/files/${FILE}`, { token, body: "export function sum(xs: number[]): number {\n  let t = 0;\n  for (const x of xs) t += x;\n  return t;\n}\n" })).status).toBe(201);
  browser = await TestBrowser.open();
  // One signed-in browser context for the tests at 1280 px (the 360 px test signs in its own).
  const page = await browser.newPage();
  await logIn(page, srv.url, ada.email, ada.password);
  await page.close();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await srv?.stop();
  await ollama?.stop();
}, 120_000);

/** The IDE on the test file, ready and synced. */
const openIde = (page: Page) => openIdeAt(page, `${srv.url}/projects/${projectId}/ide/${FILE}`);

async function openPanel(page: Page): Promise<void> {
  if (await page.isVisible("#ide-assistant")) return;
  await page.click("#ide-assistant-toggle");
  await page.waitForSelector("#ide-assistant:not([hidden])");
}

async function ask(page: Page, question: string): Promise<void> {
  await page.fill("#ide-assistant-input", question);
  await page.press("#ide-assistant-input", "Enter");
}

const lastAnswer = ".chat-assistant:last-of-type";

e2e("asked in the panel, the answer streams in token by token, renders Markdown with a highlighted code block and lists the open file", async () => {
  const page = await browser.newPage();
  await openIde(page);
  await openPanel(page);
  expect(await page.getAttribute("#ide-assistant-toggle", "aria-expanded")).toBe("true");
  // Select line 3 of the file (the loop): the question is about it.
  await page.click(".monaco-editor .view-line:nth-child(3)");
  await page.keyboard.press("Home");
  await page.keyboard.press("Shift+End");
  await ask(page, "How do I sum numbers?");

  // Watch the answer grow: each state seen is kept while the stream runs.
  const states: string[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const text = (await page.textContent(`${lastAnswer} .chat-markdown`).catch(() => null)) ?? "";
    if (text && states[states.length - 1] !== text) states.push(text);
    if (await page.isVisible(`${lastAnswer} .chat-facts:not(:empty)`)) break;
    await page.waitForTimeout(40);
  }
  const final = (await page.textContent(`${lastAnswer} .chat-markdown`)) ?? "";
  const intermediate = states.filter((s) => s !== final && s.trim() !== "");
  expect(intermediate.length).toBeGreaterThanOrEqual(2);
  // The first text seen was the start of the answer, long before its end.
  expect(intermediate[0]?.length ?? 0).toBeLessThan(final.length / 2);
  expect(final.startsWith((intermediate[0] ?? "").slice(0, 6))).toBe(true);

  // Markdown: heading, inline code, list, a highlighted TypeScript block; the javascript: link is plain text.
  expect(await page.textContent(`${lastAnswer} .chat-markdown h5`)).toBe("Summing numbers");
  expect(await page.textContent(`${lastAnswer} .chat-markdown p code`)).toBe("reduce");
  expect(await page.locator(`${lastAnswer} .chat-markdown li`).count()).toBe(2);
  expect(await page.locator(`${lastAnswer} pre code[data-lang="ts"] .hl-kw`).count()).toBeGreaterThan(2);
  expect(await page.getAttribute(`${lastAnswer} .chat-markdown a`, "href")).toBe("https://developer.mozilla.org/");
  expect(await page.locator(`${lastAnswer} .chat-markdown a[href^="javascript"]`).count()).toBe(0);
  expect(await page.textContent(`${lastAnswer} .chat-facts`)).toContain("local:qwen2.5-coder:1.5b");

  // The files the prompt included: the open file, as the current one.
  await page.click(`${lastAnswer} .chat-files summary`);
  expect(await page.textContent(`${lastAnswer} .chat-files li[data-reason="current"]`)).toContain(FILE);
  expect(await page.textContent(`${lastAnswer} .chat-files li[data-reason="selection"]`)).toContain(FILE);
  expect(await page.textContent(".chat-user")).toContain(`${FILE}, lines 3–3`);
  // The model was given the file's live text.
  const sent = JSON.stringify(ollama.requests.filter((r) => r.path === "/api/chat").pop()?.body);
  expect(sent).toContain("for (const x of xs) t += x;");
  expect(sent).toContain("The user selected line 3 of src/sum.ts");
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/assistant-1280.png` });

  // The conversation is in the history; reopening it shows the same answer.
  await waitFor("the conversation bar", async () => (await page.inputValue("#ide-assistant-title")) === "How do I sum numbers?", 5000);
  await page.click("#ide-assistant-new");
  expect(await page.locator(".chat-assistant").count()).toBe(0);
  await page.click("#ide-assistant-history-toggle");
  await page.click('.chat-history-item:has-text("How do I sum numbers?")');
  await page.waitForSelector(`${lastAnswer} pre code .hl-kw`);
  expect(await page.textContent(".chat-user")).toContain("How do I sum numbers?");

  // Sharing goes through the API and shows on the conversations page.
  await page.check("#ide-assistant-share");
  await waitFor("the share to be saved", async () => {
    const r = await page.request.get(`${srv.url}/api/v1/ai/conversations?projectId=${projectId}`);
    return ((await r.json()) as { conversations: { shared: boolean }[] }).conversations[0]?.shared === true;
  });
  await page.close();
});

e2e("Stop aborts the answer: the model call is cancelled and what arrived stays, marked stopped", async () => {
  const page = await browser.newPage();
  await openIde(page);
  await openPanel(page);
  await page.click("#ide-assistant-new");
  await ask(page, "Write something long please");
  await page.waitForSelector("#ide-assistant-stop:not([hidden])");
  await waitFor("a few tokens", async () => ((await page.textContent(`${lastAnswer} .chat-markdown`)) ?? "").includes("step3"), 10_000);
  await page.click("#ide-assistant-stop");
  await page.waitForSelector(`${lastAnswer} .chat-facts .badge:has-text("stopped")`);
  await waitFor("the fake to see the request cancelled", () => ollama.requests.some((r) => r.path === "/api/chat" && r.cancelled), 5000);
  const stopped = (await page.textContent(`${lastAnswer} .chat-markdown`)) ?? "";
  await page.waitForTimeout(500);
  expect(await page.textContent(`${lastAnswer} .chat-markdown`)).toBe(stopped);
  expect(stopped).not.toContain("step199");
  expect(await page.isHidden("#ide-assistant-stop")).toBe(true);
  expect(await page.isEnabled("#ide-assistant-send")).toBe(true);
  await page.close();
});

e2e("over the rate limit the panel says so clearly, with the wait, and keeps the question", async () => {
  // The admin sets a limit of one question a minute (as the admin page would, on the same data dir).
  const app = await openApp(loadConfig({ data: srv.dataDir }));
  try {
    await saveQuota(app, { scope: "user", subject: "ada", dailyTokens: null, requestsPerMinute: 1 }, null);
  } finally {
    app.close();
  }
  const page = await browser.newPage();
  await openIde(page);
  await openPanel(page);
  await page.click("#ide-assistant-new");
  await ask(page, "first question");
  await page.waitForSelector(`${lastAnswer} .chat-facts:not(:empty), ${lastAnswer} .chat-problem:not([hidden])`);
  await ask(page, "second question");
  await page.waitForSelector(`${lastAnswer} .chat-problem .flash.error`);
  const alert = (await page.textContent(`${lastAnswer} .chat-problem`)) ?? "";
  expect(alert).toContain("Too many questions at once");
  expect(alert).toMatch(/Time left: \d+ s/);
  expect(await page.inputValue("#ide-assistant-input")).toBe("second question");
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/assistant-429.png` });
  await page.close();
});

e2e("the Assistant and Deploy panels take turns beside the editor", async () => {
  const page = await browser.newPage();
  await openIde(page);
  await openPanel(page);
  await page.click("#ide-deploy-toggle");
  await page.waitForSelector("#ide-deploy:not([hidden])");
  await page.waitForSelector("#ide-assistant", { state: "hidden" });
  expect(await page.getAttribute("#ide-assistant-toggle", "aria-expanded")).toBe("false");
  await page.click("#ide-assistant-toggle");
  await page.waitForSelector("#ide-assistant:not([hidden])");
  await page.waitForSelector("#ide-deploy", { state: "hidden" });
  expect(await page.getAttribute("#ide-deploy-toggle", "aria-expanded")).toBe("false");
  await page.close();
});

e2e("at 360 px the panel is a drawer over the editor; Escape closes it and gives focus back", async () => {
  const context = await browser.browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  await logIn(page, srv.url, ada.email, ada.password);
  await openIde(page);
  await openPanel(page);
  const box = await page.locator("#ide-assistant").boundingBox();
  expect(box?.width).toBeLessThanOrEqual(360);
  expect(await horizontalOverflow(page)).toBe(0);
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/assistant-360.png` });
  await page.press("#ide-assistant-input", "Escape");
  await page.waitForSelector("#ide-assistant", { state: "hidden" });
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("ide-assistant-toggle");
  await context.close();
});
