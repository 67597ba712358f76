/**
 * Search from the UI in Chromium against the real server (issue 5, "Done when"): a signed-in
 * user types a query, sees results appear as they type (no submit), moves into them with the
 * keyboard, opens one with Enter and lands in the IDE with the matching line selected and in
 * view. Someone else's private project that contains the same text never shows up. The page
 * also works without JavaScript (a plain GET form), and fits a 360 px screen.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { test } from "../helpers/quiet.ts";
import { horizontalOverflow, logIn, skipE2E, TestBrowser } from "../helpers/browser.ts";
import { TestServer, waitFor, type TestUser } from "../helpers/server.ts";
import { buildIslands } from "../../scripts/build-islands.ts";

const e2e = test.skipIf(skipE2E);
const WORD = "plotTheAxes";
const FILE = "src/chart/axes.ts";
const LINE = 57;

let srv: TestServer;
let browser: TestBrowser;
let ada: TestUser;
let bob: TestUser;
let adaProject: string;
let bobProject: string;

/** A file of `lines` lines with `text` on line `at` (1-based). */
function fileWith(lines: number, at: number, text: string): string {
  const out = Array.from({ length: lines }, (_, i) => `export const filler${i + 1} = ${i + 1}; // nothing to see`);
  out[at - 1] = text;
  return `${out.join("\n")}\n`;
}

/** The search page's results as someone with this token sees them (page routes accept API tokens too). */
async function resultLinks(token: string, q: string): Promise<string[]> {
  const res = await srv.fetch(`/search?q=${encodeURIComponent(q)}`, { headers: { Authorization: `Bearer ${token}` } });
  const body = await res.text();
  return [...body.matchAll(/data-hit href="([^"]+)"/g)].map((m) => (m[1] ?? "").replaceAll("&amp;", "&"));
}

beforeAll(async () => {
  if (skipE2E) return;
  await buildIslands({ ifStale: true, quiet: true });
  srv = await TestServer.start();
  ada = await srv.createUser({ email: "ada@example.com", name: "Ada Lovelace", username: "ada" });
  bob = await srv.createUser({ email: "bob@example.com", name: "Bob Builder", username: "bob" });
  const adaToken = await srv.token(ada.email);
  const bobToken = await srv.token(bob.email);
  const mine = await srv.api("POST", "/api/v1/projects", { token: adaToken, body: { name: "Chart kit", visibility: "public" } });
  adaProject = (mine.json as { id: string }).id;
  const theirs = await srv.api("POST", "/api/v1/projects", { token: bobToken, body: { name: "Bob private sketches", visibility: "private" } });
  bobProject = (theirs.json as { id: string }).id;
  const put = (token: string, project: string, path: string, body: string) => srv.api("PUT", `/api/v1/projects/${project}/files/${path}`, { token, body });
  expect((await put(adaToken, adaProject, FILE, fileWith(120, LINE, `export function ${WORD}(svg: Svg) { return drawAxes(svg); }`))).status).toBe(201);
  expect((await put(adaToken, adaProject, "README.md", "# Chart kit\n\nDraws charts.\n")).status).toBe(201);
  expect((await put(bobToken, bobProject, "secret.ts", `// ${WORD} in bob's private sketches\n`)).status).toBe(201);
  // Indexing runs in the background: wait until both files are searchable by their owners.
  await waitFor("both files to be indexed", async () => (await resultLinks(adaToken, WORD)).length > 0 && (await resultLinks(bobToken, WORD)).length > 0, 15_000);
  browser = await TestBrowser.open();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await srv?.stop();
}, 120_000);

e2e("a user types a query, sees live results, opens one by keyboard and lands in the IDE at the line", async () => {
  const page = await browser.newPage();
  await logIn(page, srv.url, ada.email, ada.password);
  // From the header's Search link.
  await page.click('header.top a[href="/search"]');
  await page.waitForURL(/\/search$/);
  await page.waitForSelector("#search-q:focus");
  // Type without submitting: results arrive as you type.
  await page.keyboard.type(WORD, { delay: 25 });
  await page.waitForSelector("#search-results [data-hit]");
  expect(page.url()).toBe(`${srv.url}/search?q=${WORD}`);
  const links = await page.$$eval("#search-results [data-hit]", (as) => as.map((a) => a.getAttribute("href") ?? ""));
  expect(links).toEqual([`/projects/${adaProject}/ide/${FILE}?line=${LINE}`]);
  // Bob's private project has the same word; Ada never sees it.
  expect(links.some((h) => h.includes(bobProject))).toBe(false);
  expect(await page.textContent("#search-results")).not.toContain("private sketches");
  expect(await page.textContent("#search-results mark")).toBe(WORD);
  expect(await page.textContent("#search-live")).toBe("1 match in 1 file.");

  // ↓ from the box to the result, Enter to open it.
  await page.keyboard.press("ArrowDown");
  expect(await page.evaluate(() => document.activeElement?.getAttribute("href"))).toBe(links[0]);
  await Promise.all([page.waitForURL(/\/ide\//), page.keyboard.press("Enter")]);
  expect(new URL(page.url()).pathname).toBe(`/projects/${adaProject}/ide/${FILE}`);
  await page.waitForSelector("#ide[data-ready]");
  await page.waitForSelector('#ide-conn[data-state="synced"]');
  // The line is selected (the cursor at its end) and in view.
  await waitFor("the cursor on the line", async () => ((await page.textContent("#ide-cursor")) ?? "").startsWith(`Ln ${LINE},`), 10_000);
  const shown = await page.evaluate((word) => {
    const lines = Array.from(document.querySelectorAll<HTMLElement>(".monaco-editor .view-lines .view-line"));
    const hit = lines.find((l) => (l.textContent ?? "").includes(word));
    const box = document.querySelector(".monaco-editor .overflow-guard")?.getBoundingClientRect();
    const r = hit?.getBoundingClientRect();
    return { found: Boolean(hit), inView: Boolean(r && box && r.top >= box.top && r.bottom <= box.bottom) };
  }, WORD);
  expect(shown).toEqual({ found: true, inView: true });
  expect(await page.locator(".monaco-editor .selected-text").count()).toBeGreaterThan(0);
  expect(browser.pageErrors).toEqual([]);
});

e2e("anonymous visitors search public projects only; a bad regex is explained beside the box", async () => {
  const context = await browser.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${srv.url}/search?q=${WORD}`);
  const links = await page.$$eval("#search-results [data-hit]", (as) => as.map((a) => a.getAttribute("href") ?? ""));
  expect(links).toEqual([`/projects/${adaProject}/ide/${FILE}?line=${LINE}`]);
  // Regex on, then an unbalanced parenthesis: the message appears under the box while typing.
  await page.check('input[name="regex"]');
  await page.fill("#search-q", "");
  await page.focus("#search-q");
  await page.keyboard.type("plot(", { delay: 25 });
  await page.waitForSelector("#search-q-error:not([hidden])");
  expect(await page.textContent("#search-q-error")).toContain("regular expression");
  expect(await page.getAttribute("#search-q", "aria-invalid")).toBe("true");
  await page.keyboard.type("The)?Axes", { delay: 25 });
  await page.waitForSelector("#search-q-error[hidden]", { state: "attached" });
  await page.waitForSelector("#search-results [data-hit]");
  expect(await page.getAttribute("#search-q", "aria-invalid")).toBeNull();
  await context.close();
});

e2e("without JavaScript the page is a plain form; at 360 px it fits", async () => {
  const noJs = await browser.browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 740 } });
  const page = await noJs.newPage();
  await page.goto(`${srv.url}/search`);
  await page.fill("#search-q", WORD);
  await Promise.all([page.waitForURL(/\/search\?/), page.press("#search-q", "Enter")]);
  expect(new URL(page.url()).searchParams.get("q")).toBe(WORD);
  expect(await page.$$eval("#search-results [data-hit]", (as) => as.length)).toBe(1);
  expect(await horizontalOverflow(page)).toBe(0);
  // Files and projects by the radio buttons and the Search button.
  await page.check('input[name="type"][value="projects"]');
  await page.fill("#search-q", "chart");
  await Promise.all([page.waitForURL(/type=projects/), page.click('#search-form button[type="submit"]')]);
  expect(await page.$$eval("#search-results [data-hit]", (as) => as.map((a) => a.getAttribute("href")))).toEqual([`/projects/${adaProject}`]);
  expect(await horizontalOverflow(page)).toBe(0);
  await noJs.close();
});
