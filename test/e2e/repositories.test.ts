/**
 * The versions journey in a real browser against a real server (issue 3): create a public
 * project from the built-in static-site template, change a file, save a version with a
 * message, read its diff (unified, then side by side), restore the first version (a new
 * version appears, nothing is lost), fork the project as a second user and find the public
 * fork on /explore. Both accounts are made with the CLI. The file is changed with the
 * plain-form editor (Edit on the file page); "Add a file" refuses an existing path.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { test } from "../helpers/quiet.ts";
import { logIn, skipE2E, TestBrowser } from "../helpers/browser.ts";
import { TestServer, type TestUser } from "../helpers/server.ts";

const e2e = test.skipIf(skipE2E);

let srv: TestServer;
let browser: TestBrowser;
let ada: TestUser;
let bob: TestUser;

beforeAll(async () => {
  if (skipE2E) return;
  srv = await TestServer.start();
  [ada, bob] = await Promise.all([
    srv.createUser({ role: "member", email: "ada@example.com", name: "Ada Lovelace", username: "ada" }),
    srv.createUser({ role: "member", email: "bob@example.com", name: "Bob Babbage", username: "bob" }),
  ]);
  browser = await TestBrowser.open();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await srv?.stop();
}, 120_000);

e2e("template project → edit → save version → diff → restore → fork as another user → explore", async () => {
  const page = await browser.newPage();
  await logIn(page, srv.url, ada.email, ada.password);

  // A public project from the built-in static-site template (radio cards on /new).
  await page.goto(`${srv.url}/new`);
  await page.fill('input[name="name"]', "Ada Site");
  await page.check('input[name="template"][value="static-site"]');
  await page.check('input[name="visibility"][value="public"]');
  await Promise.all([page.waitForURL(/\/projects\/[^/]+$/), page.click('form[action="/new"] button[type="submit"]')]);
  const projectUrl = page.url();
  const projectPath = new URL(projectUrl).pathname;
  expect(await page.locator("main h1").first().innerText()).toContain("Ada Site");
  const listing = await page.locator("main").innerText();
  for (const file of ["index.html", "style.css", "script.js"]) expect(listing).toContain(file);

  // "Add a file" does not overwrite: an existing path is refused beside the field.
  const details = page.locator("details#new-file");
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) await details.locator("summary").click();
  await page.fill("#f-path", "index.html");
  await page.fill("#f-content", "<h1>replaced</h1>\n");
  await details.locator('button[type="submit"]').click();
  await page.waitForLoadState("domcontentloaded");
  await page.locator("#f-path-error").waitFor({ state: "visible" });
  expect(await page.locator("#f-path-error").innerText()).toMatch(/already exists/i);

  // Edit the file: the file page's Edit button opens the plain-form editor.
  await page.goto(`${projectUrl}/blob/index.html`);
  expect(await page.locator("main").innerText()).toContain("Hello, world");
  await Promise.all([page.waitForURL(/\/edit\/index\.html$/), page.click('a.btn:has-text("Edit")')]);
  const templateHtml = await page.locator("#f-content").inputValue();
  expect(templateHtml).toContain("<h1>Hello, world</h1>");
  await page.fill("#f-content", templateHtml.replace("<h1>Hello, world</h1>", "<h1>Hello from the versions journey</h1>"));
  await Promise.all([page.waitForURL(/\/blob\/index\.html$/), page.click('button:has-text("Save file")')]);
  expect(await page.locator("main").innerText()).toContain("Hello from the versions journey");

  // History: the template made the first version; the change is unsaved until a version is saved.
  await page.goto(`${projectUrl}/history`);
  expect(await page.locator("main").innerText()).toMatch(/changes that are not saved/i);
  expect(await page.locator("#history-list > li").count()).toBe(1);
  await page.fill("#f-message", "Greet the journey");
  await Promise.all([page.waitForURL(/\/history\?saved=/), page.click(`form[action="${projectPath}/history/save"] button[type="submit"]`)]);
  expect(await page.locator("main").innerText()).toMatch(/Saved version/);
  const items = page.locator("#history-list > li");
  expect(await items.count()).toBe(2);
  expect(await items.nth(0).innerText()).toContain("Greet the journey");
  expect(await items.nth(1).innerText()).toMatch(/Create from template/);
  expect(await page.locator("main").innerText()).not.toMatch(/changes that are not saved/i);

  // The saved version's diff shows the changed line, unified first.
  await Promise.all([page.waitForURL(/\/history\/[0-9a-f]{40,64}$/), items.nth(0).locator("a.history-subject").click()]);
  expect(await page.locator("#version-heading").innerText()).toBe("Greet the journey");
  const unified = page.locator("table.diff-table.diff-unified");
  expect(await unified.count()).toBe(1);
  expect(await unified.innerText()).toContain("Hello from the versions journey");
  expect(await unified.innerText()).toContain("Hello, world");
  expect(await page.locator(".diff-path").first().innerText()).toBe("index.html");

  // Side by side (htmx swaps the diff and pushes the URL).
  await page.click('nav.diff-views a:has-text("Side by side")');
  await page.locator("table.diff-table.diff-split").waitFor({ state: "visible" });
  await page.waitForURL(/view=split/);
  expect(await page.locator("table.diff-table.diff-split").innerText()).toContain("Hello from the versions journey");
  expect(await page.locator('nav.diff-views a[aria-current="true"]').innerText()).toBe("Side by side");

  // Restore the first version: confirm, then a third version is on top of the list.
  await page.goto(`${projectUrl}/history`);
  await Promise.all([page.waitForURL(/\/history\/[0-9a-f]{40,64}$/), page.locator("#history-list > li").nth(1).locator("a.history-subject").click()]);
  expect(await page.locator("main").innerText()).toMatch(/this is the first version/i);
  page.once("dialog", (d) => d.accept());
  await Promise.all([page.waitForURL(/\/history\?restored=/), page.click('form[action$="/restore"] button[type="submit"]')]);
  expect(await page.locator("main").innerText()).toMatch(/Restored .* as the new version/);
  expect(await page.locator("#history-list > li").count()).toBe(3);
  expect(await page.locator("#history-list > li").nth(1).innerText()).toContain("Greet the journey");
  await page.goto(`${projectUrl}/blob/index.html`);
  expect(await page.locator("main").innerText()).toContain("Hello, world");
  expect(await page.locator("main").innerText()).not.toContain("Hello from the versions journey");

  // Log out; Bob logs in and forks the public project.
  await Promise.all([page.waitForURL(/\/login/), page.click('header form[action="/logout"] button[type="submit"]')]);
  await logIn(page, srv.url, bob.email, bob.password);
  await page.goto(projectUrl);
  await Promise.all([page.waitForURL((u) => u.pathname === `${projectPath}/fork`), page.click(`a[href="${projectPath}/fork"]`)]);
  expect(await page.locator("main h1").innerText()).toContain("Fork Ada Site");
  await page.fill('input[name="name"]', "Bob Site");
  expect(await page.locator('input[name="visibility"][value="public"]').isChecked()).toBe(true);
  await Promise.all([
    page.waitForURL((u) => /^\/projects\/[^/]+$/.test(u.pathname) && u.pathname !== projectPath),
    page.click(`form[action="${projectPath}/fork"] button[type="submit"]`),
  ]);
  const forkPath = new URL(page.url()).pathname;
  expect(await page.locator("main h1").first().innerText()).toContain("Bob Site");
  expect(await page.locator("main").innerText()).toContain("ada/ada-site");
  // The fork carries the saved history.
  await page.goto(`${srv.url}${forkPath}/history`);
  expect(await page.locator("#history-list > li").count()).toBe(3);

  // Explore lists the public fork, owned by Bob.
  await page.goto(`${srv.url}/explore`);
  const fork = page.locator(`main a[href="${forkPath}"]`).first();
  await fork.waitFor({ state: "visible" });
  expect(await fork.innerText()).toContain("Bob Site");
  expect(await page.locator("main").innerText()).toContain("bob");

  expect(browser.pageErrors).toEqual([]);
});
