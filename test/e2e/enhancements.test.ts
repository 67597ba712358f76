/**
 * public/app.js in a real browser: the dashboard filter and its "/" shortcut, arrow keys in
 * the file tree, "Add file" opening its form, the copy button, the typed-name guard on project
 * deletion, and no script errors or horizontal overflow at 360 px on the main pages.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { test } from "../helpers/quiet.ts";
import { horizontalOverflow, logIn, skipE2E, TestBrowser } from "../helpers/browser.ts";
import { TestServer, type TestUser } from "../helpers/server.ts";

const e2e = test.skipIf(skipE2E);

let srv: TestServer;
let browser: TestBrowser;
let user: TestUser;
let projectId = "";

beforeAll(async () => {
  if (skipE2E) return;
  srv = await TestServer.start();
  user = await srv.createUser({ role: "member", email: "grace@example.com", name: "Grace Hopper", username: "grace" });
  const token = await srv.token(user.email);
  for (const name of ["Compiler", "Cobol Notes", "Navy Sims"]) {
    const r = await srv.api("POST", "/api/v1/projects", { token, body: { name, visibility: "private" } });
    expect(r.status).toBe(201);
    if (name === "Compiler") projectId = (r.json as { id: string }).id;
  }
  for (const [path, text] of [
    ["README.md", "# Compiler\n\nA **tiny** compiler.\n"],
    ["src/lexer.ts", "export const lex = (s: string) => s.split(/\\s+/);\n"],
    ["src/parser.ts", "export function parse() {}\n"],
    ["docs/guide.md", "# Guide\n"],
  ]) {
    const r = await srv.api("PUT", `/api/v1/projects/${projectId}/files/${path}`, { token, body: text as string });
    expect(r.status).toBe(201);
  }
  browser = await TestBrowser.open();
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: srv.url });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await srv?.stop();
}, 120_000);

e2e("dashboard: '/' focuses the filter, typing filters the list, Escape clears it", async () => {
  const page = await browser.newPage();
  await logIn(page, srv.url, user.email, user.password);
  await page.goto(`${srv.url}/`);
  const items = page.locator("#project-list > li");
  expect(await items.count()).toBe(3);
  await page.keyboard.press("/");
  expect(await page.evaluate(() => document.activeElement?.getAttribute("data-filter"))).toBe("#project-list");
  await page.keyboard.type("co");
  const shown = await page.locator("#project-list > li:visible .name").allInnerTexts();
  expect(shown.sort()).toEqual(["Cobol Notes", "Compiler"]);
  await page.keyboard.type("zzz");
  expect(await page.locator("#project-list > li:visible").count()).toBe(0);
  expect(await page.locator("#project-filter-empty").isVisible()).toBe(true);
  await page.keyboard.press("Escape");
  expect(await page.locator("#project-list > li:visible").count()).toBe(3);
  expect(browser.pageErrors).toEqual([]);
  await page.close();
});

e2e("file tree: arrow keys move between visible entries and open and close folders", async () => {
  const page = await browser.newPage();
  await page.goto(`${srv.url}/projects/${projectId}/blob/src/parser.ts`);
  const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim());
  await page.focus('.tree a[aria-current="page"]');
  await page.keyboard.press("ArrowUp");
  expect(await focused()).toBe("lexer.ts");
  await page.keyboard.press("ArrowLeft"); // to the folder
  expect(await focused()).toBe("src");
  await page.keyboard.press("ArrowLeft"); // close it
  expect(await page.locator(".tree details:has(> summary:text-is('src'))").evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
  await page.keyboard.press("ArrowDown"); // skips the hidden children
  expect(await focused()).toBe("README.md");
  await page.keyboard.press("Home");
  expect(await focused()).toBe("docs");
  await page.keyboard.press("ArrowRight"); // open docs
  await page.keyboard.press("ArrowRight"); // into it
  expect(await focused()).toBe("guide.md");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/blob\/docs\/guide\.md$/);
  expect(browser.pageErrors).toEqual([]);
  await page.close();
});

e2e("'Add file' opens the form and focuses the path; the copy button copies the path", async () => {
  const page = await browser.newPage();
  await page.goto(`${srv.url}/projects/${projectId}/blob/src/lexer.ts`);
  await page.click("text=Copy path");
  await expect(page.locator("button[data-copy]").innerText()).resolves.toBe("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("src/lexer.ts");
  await page.click(".tree-pane >> text=Add file");
  await page.waitForURL(/#new-file$/);
  await page.waitForFunction(() => document.activeElement?.id === "f-path");
  expect(await page.locator("details#new-file").evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
  await page.close();
});

e2e("deleting a project: the button waits for the exact name", async () => {
  const page = await browser.newPage();
  await page.goto(`${srv.url}/projects/${projectId}/settings`);
  const button = page.locator(".danger-zone button[type=submit]");
  expect(await button.isDisabled()).toBe(true);
  await page.fill("#f-confirm", "compiler");
  expect(await button.isDisabled()).toBe(true);
  await page.fill("#f-confirm", "Compiler");
  expect(await button.isEnabled()).toBe(true);
  await page.close();
});

e2e("360 px: no horizontal overflow and no script errors on the main pages", async () => {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 360, height: 740 });
  for (const path of ["/", "/new", "/teams", `/projects/${projectId}`, `/projects/${projectId}/blob/src/lexer.ts`, `/projects/${projectId}/settings`]) {
    await page.goto(`${srv.url}${path}`);
    expect({ path, overflow: await horizontalOverflow(page) }).toEqual({ path, overflow: 0 });
  }
  expect(browser.pageErrors).toEqual([]);
  await page.close();
});
