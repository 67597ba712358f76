/**
 * The prompt library in Chromium against the real server: a user writes a prompt (its
 * variables appear as the text is typed), edits it into version 2 with a note, looks at the
 * diff between the versions, votes for it, and fills it in for the assistant. A second user
 * sees the shared prompt and its history; the pages fit a 360 px screen.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { test } from "../helpers/quiet.ts";
import { horizontalOverflow, logIn, skipE2E, TestBrowser } from "../helpers/browser.ts";
import { TestServer, type TestUser } from "../helpers/server.ts";
import { buildIslands } from "../../scripts/build-islands.ts";

const e2e = test.skipIf(skipE2E);

let srv: TestServer;
let browser: TestBrowser;
let ada: TestUser;
let bob: TestUser;
let promptPath = "";

beforeAll(async () => {
  if (skipE2E) return;
  await buildIslands({ ifStale: true, quiet: true });
  srv = await TestServer.start();
  ada = await srv.createUser({ email: "ada@example.com", name: "Ada Lovelace", username: "ada" });
  // A project to open the filled-in prompt in (the assistant lives in the IDE).
  const made = await srv.api("POST", "/api/v1/projects", { token: await srv.token(ada.email), body: { name: "Playground", visibility: "private" } });
  expect(made.status).toBe(201);
  bob = await srv.createUser({ email: "bob@example.com", name: "Bob Builder", username: "bob" });
  browser = await TestBrowser.open();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await srv?.stop();
}, 120_000);

e2e("write a prompt, edit it into version 2, see the diff, vote, and fill it in", async () => {
  const page = await browser.newPage();
  await logIn(page, srv.url, ada.email, ada.password);
  await page.goto(`${srv.url}/prompts`);
  await page.click("a.btn.primary:has-text('New prompt')");
  await page.waitForURL(/\/prompts\/new$/);

  await page.fill("#f-name", "Explain code");
  await page.fill("#f-description", "Explains a snippet for a chosen audience");
  await page.fill("#f-body", "Explain this {{language}} code to a {{audience}}.\nKeep it short.\n\n{{code}}\n");
  // htmx redraws the variables section from the text as it is typed.
  await page.waitForSelector("#f-var-audience-default");
  await page.fill("#f-var-language-description", "The programming language");
  await page.fill("#f-var-audience-default", "beginner");
  await page.check('input[name="visibility"][value="instance"]');
  await Promise.all([page.waitForURL(/\/prompts\/[a-z0-9]+$/), page.click("button.primary:has-text('Create prompt')")]);
  promptPath = new URL(page.url()).pathname;
  expect(await page.textContent("#prompt-text")).toContain("Keep it short.");
  expect(await page.textContent(".prompt-var-table")).toContain("The programming language");

  // Edit: a new version with a note.
  await page.click("a.btn:has-text('Edit')");
  await page.waitForURL(/\/edit$/);
  expect(await page.inputValue("#f-var-language-description")).toBe("The programming language");
  await page.fill("#f-body", "Explain this {{language}} code to a {{audience}}.\nKeep it under 200 words.\nUse an example.\n\n{{code}}\n");
  await page.fill("#f-note", "Shorter, with an example");
  await Promise.all([page.waitForURL((u) => u.pathname === promptPath), page.click("button.primary:has-text('Save new version')")]);
  expect(await page.textContent("#prompt-text-h")).toContain("version 2");
  expect(await page.textContent(".prompt-history")).toContain("Shorter, with an example");

  // The diff between the versions.
  await Promise.all([page.waitForURL(/\/diff\?from=1&to=2$/), page.click("a:has-text('Changes from v1')")]);
  const removed = await page.$$eval("tr.diff-del td.diff-code", (tds) => tds.map((td) => td.textContent ?? ""));
  const added = await page.$$eval("tr.diff-add td.diff-code", (tds) => tds.map((td) => td.textContent ?? ""));
  expect(removed).toEqual(["Keep it short."]);
  expect(added).toEqual(["Keep it under 200 words.", "Use an example."]);
  await page.click("a.diff-view-link:has-text('Side by side')");
  await page.waitForSelector("table.diff-split");

  // Vote: htmx swaps the buttons; pressing again takes the vote back.
  await page.goto(srv.url + promptPath);
  await page.click("#prompt-vote button.up");
  await page.waitForSelector("#prompt-vote button.up[aria-pressed=true]");
  expect((await page.textContent(".vote-score"))?.trim()).toContain("+1");
  await page.reload();
  expect((await page.textContent(".vote-score"))?.trim()).toContain("+1");

  // Use in chat: a required value left out is pointed at; filled in, the text is there to copy.
  await page.click("a.btn.primary:has-text('Use in chat')");
  await page.waitForURL(/\/use$/);
  await page.fill("#f-var-code", "const twice = (n) => n * 2;");
  await page.click("button.primary:has-text('Fill in')");
  await page.waitForSelector("#f-var-language-error");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("f-var-language");
  await page.keyboard.type("JavaScript");
  await Promise.all([page.waitForURL(/\/use\?v=2&use=\d+/), page.click("button.primary:has-text('Fill in')")]);
  expect(await page.inputValue("#prompt-result")).toBe("Explain this JavaScript code to a beginner.\nKeep it under 200 words.\nUse an example.\n\nconst twice = (n) => n * 2;\n");
  await page.click("button.thumb:has-text('It worked')");
  await page.waitForSelector("button.thumb[aria-pressed=true]");
  // Open in the assistant: the IDE's panel opens with the filled-in text in its box, not yet sent.
  await Promise.all([page.waitForURL(/\/ide\?prompt=/), page.click(".prompt-projects a.chip:has-text('Playground')")]);
  await page.waitForSelector("#ide[data-ready]");
  await page.waitForFunction(() => (document.querySelector<HTMLTextAreaElement>("#ide-assistant-input")?.value ?? "").startsWith("Explain this JavaScript code"));
  expect(await page.isVisible("#ide-assistant")).toBe(true);
  await page.goto(srv.url + promptPath);
  expect(await page.textContent(".prompt-stats tbody")).toMatch(/v2\s*\(current\)\s*1\s*1\s*0/);
});

e2e("another user finds the shared prompt, reads its history, and the pages fit 360 px", async () => {
  const context = await browser.browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  try {
    await logIn(page, srv.url, bob.email, bob.password);
    await page.goto(`${srv.url}/prompts`);
    await page.fill("#prompt-q", "explain");
    await page.waitForURL(/\/prompts\?q=explain/);
    await page.click("#prompt-results a.name:has-text('Explain code')");
    await page.waitForURL((u) => u.pathname === promptPath);
    expect(await horizontalOverflow(page)).toBe(0);
    expect(await page.textContent(".prompt-history")).toContain("Version 1");
    expect(await page.$("a.btn:has-text('Edit')")).toBeNull();
    for (const path of ["/prompts", `${promptPath}/diff`, `${promptPath}/use`, "/prompts/new"]) {
      await page.goto(srv.url + path);
      expect({ path, overflow: await horizontalOverflow(page) }).toEqual({ path, overflow: 0 });
    }
  } finally {
    await context.close();
  }
});
