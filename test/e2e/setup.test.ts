/**
 * First run in a browser: the one-time setup link printed by `wove serve`
 * creates the first admin, logs them in, and stops working afterwards.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { test } from "../helpers/quiet.ts";
import { logIn, skipE2E, TestBrowser } from "../helpers/browser.ts";
import { TestServer } from "../helpers/server.ts";

const e2e = test.skipIf(skipE2E);

let srv: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  if (skipE2E) return;
  srv = await TestServer.start();
  browser = await TestBrowser.open();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await srv?.stop();
}, 120_000);

e2e("the setup link printed at first start creates the first admin in the browser, once", async () => {
  expect(srv.setupUrl).toBeDefined();
  const setupUrl = srv.setupUrl as string;
  expect(setupUrl.startsWith(`${srv.url}/setup?token=`)).toBe(true);
  const page = await browser.newPage();

  // Without the token there is no setup page; the login page says setup is pending.
  expect((await page.goto(`${srv.url}/setup`))?.status()).toBe(404);
  expect((await page.goto(`${srv.url}/setup?token=wrong-token-value`))?.status()).toBe(404);
  await page.goto(`${srv.url}/login`);
  expect(await page.locator("main").innerText()).toMatch(/no admin yet/i);

  const res = await page.goto(setupUrl);
  expect(res?.status()).toBe(200);
  // Mismatched passwords: the error is shown beside the confirm field and nothing is created.
  await page.fill('input[name="name"]', "Grace Hopper");
  await page.fill('input[name="email"]', "grace@example.com");
  await page.fill('input[name="password"]', "correct horse battery staple");
  await page.fill('input[name="confirm"]', "a different passphrase");
  await page.click('form[action="/setup"] button[type="submit"]');
  await page.waitForLoadState("domcontentloaded");
  await page.locator("#f-confirm-error").waitFor({ state: "visible" });
  expect(await page.locator('input[name="email"]').inputValue()).toBe("grace@example.com");

  await page.fill('input[name="password"]', "correct horse battery staple");
  await page.fill('input[name="confirm"]', "correct horse battery staple");
  await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.click('form[action="/setup"] button[type="submit"]')]);
  // Signed in as the new admin: the admin area is in the header and opens.
  expect(await page.locator("header nav").innerText()).toContain("Admin");
  const admin = await page.goto(`${srv.url}/admin`);
  expect(admin?.status()).toBe(200);

  // The link is spent: a second visit (even in a fresh browser) finds nothing.
  const other = await browser.browser.newContext();
  const fresh = await other.newPage();
  expect((await fresh.goto(setupUrl))?.status()).toBe(404);
  // And the admin can log in with the password chosen during setup.
  await logIn(fresh, srv.url, "grace@example.com", "correct horse battery staple");
  expect(new URL(fresh.url()).pathname).toBe("/");
  await other.close();

  expect(browser.pageErrors).toEqual([]);
});
