/**
 * The main journey in a real browser against a real server: log in through the
 * form (account made with the CLI), see the dashboard, create a project with
 * the form, add a file, view it, see the error for a bad path beside the path
 * field, log out.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { test } from "../helpers/quiet.ts";
import { logIn, skipE2E, TestBrowser } from "../helpers/browser.ts";
import { TestServer, type TestUser } from "../helpers/server.ts";

const e2e = test.skipIf(skipE2E);

let srv: TestServer;
let browser: TestBrowser;
let user: TestUser;

beforeAll(async () => {
  if (skipE2E) return;
  srv = await TestServer.start();
  user = await srv.createUser({ role: "member", email: "ada@example.com", name: "Ada Lovelace", username: "ada" });
  browser = await TestBrowser.open();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await srv?.stop();
}, 120_000);

e2e("log in, create a project and a file, view it, see a bad-path error, log out", async () => {
  const page = await browser.newPage();

  // Anonymous visitors are sent to the login page.
  await page.goto(`${srv.url}/`);
  expect(new URL(page.url()).pathname).toBe("/login");

  // A wrong password shows an error and keeps us on the form.
  await page.fill('input[name="email"]', user.email);
  await page.fill('input[name="password"]', "not the password at all");
  await page.click('form[action="/login"] button[type="submit"]');
  await page.waitForLoadState("domcontentloaded");
  expect(new URL(page.url()).pathname).toBe("/login");
  expect(await page.locator("main").innerText()).toMatch(/incorrect|wrong|invalid|didn.t match|not match/i);

  // Logging in through the form lands on the dashboard.
  await logIn(page, srv.url, user.email, user.password);
  expect(new URL(page.url()).pathname).toBe("/");
  expect(await page.locator("header nav").innerText()).toContain("ada");
  expect(await page.locator("#projects-heading").count()).toBe(1);

  // New project form.
  await page.goto(`${srv.url}/new`);
  await page.fill('input[name="name"]', "Browser Made");
  await page.fill('textarea[name="description"]', "Made by the e2e test");
  await Promise.all([page.waitForURL(/\/projects\/[^/]+$/), page.click('form[action="/new"] button[type="submit"]')]);
  const projectUrl = page.url();
  expect(await page.locator("main h1").first().innerText()).toContain("Browser Made");

  // Add a file (the form is open on an empty project).
  const details = page.locator("details#new-file");
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) await details.locator("summary").click();
  await page.fill("#f-path", "src/hello.js");
  await page.fill("#f-content", "export const greeting = 'hello from the browser';\n");
  await Promise.all([page.waitForURL(/\/blob\/src\/hello\.js$/), details.locator('button[type="submit"]').click()]);
  expect(await page.locator("main").innerText()).toContain("hello from the browser");
  expect(await page.locator("main").innerText()).toContain("hello.js");

  // The project page lists the new file; the file view is reachable from it.
  await page.goto(projectUrl);
  expect(await page.locator("main").innerText()).toContain("src");
  await page.goto(`${projectUrl}/blob/src/hello.js`);
  expect(await page.locator("main").innerText()).toContain("greeting");

  // A bad path is refused with the error next to the path field, and the typed content survives.
  await page.goto(projectUrl);
  const form = page.locator("details#new-file");
  if (!(await form.evaluate((d) => (d as HTMLDetailsElement).open))) await form.locator("summary").click();
  await page.fill("#f-path", "../x");
  await page.fill("#f-content", "escape attempt");
  await form.locator('button[type="submit"]').click();
  await page.waitForLoadState("domcontentloaded");
  const pathError = page.locator("#f-path-error");
  await pathError.waitFor({ state: "visible" });
  expect((await pathError.innerText()).length).toBeGreaterThan(5);
  expect(await page.locator("#f-path").getAttribute("aria-invalid")).toBe("true");
  expect(await page.locator("#f-path").getAttribute("aria-describedby")).toContain("f-path-error");
  expect(await page.locator("#f-content").inputValue()).toBe("escape attempt");
  // The error sits beside the field: inside the same .field wrapper.
  expect(await pathError.evaluate((el) => el.closest(".field")?.querySelector("#f-path") !== null)).toBe(true);

  // Log out from the header; the dashboard is closed again.
  await Promise.all([page.waitForURL(/\/login/), page.click('header form[action="/logout"] button[type="submit"]')]);
  expect(await page.locator("main").innerText()).toMatch(/logged out/i);
  await page.goto(`${srv.url}/`);
  expect(new URL(page.url()).pathname).toBe("/login");

  expect(browser.pageErrors).toEqual([]);
});
