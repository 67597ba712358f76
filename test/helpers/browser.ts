/**
 * Headless Debian Chromium through playwright-core, with the flags that work on
 * these machines (DESIGN.md). Each `openBrowser` gets a fresh temporary profile.
 * Browser console messages and page errors are captured and printed only when a
 * test fails. Without Chromium, e2e tests skip with a note — except under CI,
 * where a missing browser is a failure.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { registerOutput, unregisterOutput, type OutputSource } from "./quiet.ts";

export const CHROMIUM_PATH = process.env.WOVE_CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export const chromiumMissing = !existsSync(CHROMIUM_PATH);

/**
 * True when the e2e tests must be skipped (no Chromium, not in CI). In CI a
 * missing browser does not skip: the tests run and fail with `requireChromium`.
 */
export const skipE2E = chromiumMissing && !process.env.CI;
if (skipE2E) {
  console.warn(`\n[e2e] SKIPPED: no Chromium at ${CHROMIUM_PATH}. Install it (Debian: apt-get install chromium) or set WOVE_CHROMIUM to its path.\n`);
}

export function requireChromium(): void {
  if (chromiumMissing) {
    throw new Error(`Chromium is required for the end-to-end tests but ${CHROMIUM_PATH} does not exist (CI is set, so this fails instead of skipping). Install it: apt-get install -y chromium`);
  }
}

export class TestBrowser implements OutputSource {
  readonly label = "chromium (console and page errors)";
  private lines: string[] = [];
  readonly pageErrors: string[] = [];

  private constructor(
    readonly browser: Browser,
    readonly context: BrowserContext,
  ) {
    registerOutput(this);
  }

  static async open(opts: { width?: number; height?: number } = {}): Promise<TestBrowser> {
    requireChromium();
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
    const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 } });
    context.setDefaultTimeout(10_000);
    return new TestBrowser(browser, context);
  }

  async newPage(): Promise<Page> {
    const page = await this.context.newPage();
    page.on("console", (m) => this.lines.push(`[console.${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => {
      this.pageErrors.push(e.message);
      this.lines.push(`[pageerror] ${e.message}`);
    });
    page.on("requestfailed", (r) => this.lines.push(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ""}`));
    page.on("response", (r) => {
      if (r.status() >= 400) this.lines.push(`[http ${r.status()}] ${r.request().method()} ${r.url()}`);
    });
    return page;
  }

  output(): string {
    return this.lines.join("\n");
  }

  async close(): Promise<void> {
    unregisterOutput(this);
    await this.context.close().catch(() => {});
    await this.browser.close().catch(() => {});
  }
}

/** Fills the login form and submits it. */
export async function logIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.click('form[action="/login"] button[type="submit"]')]);
}

/** How far the page overflows its viewport horizontally (0 when it fits). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Opens the IDE at a URL and waits until the editor is ready and its document synced. */
export async function openIdeAt(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("#ide[data-ready]");
  await page.waitForSelector('#ide-conn[data-state="synced"]');
  await page.waitForSelector(".monaco-editor .view-line");
}

/** The editor's text, line by line as Monaco renders it (for short files: every line is on screen). */
export function editorText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const lines = Array.from(document.querySelectorAll<HTMLElement>(".monaco-editor .view-lines .view-line"));
    lines.sort((a, b) => Number.parseFloat(a.style.top) - Number.parseFloat(b.style.top));
    return lines.map((l) => (l.textContent ?? "").replace(/\u00a0/g, " ")).join("\n");
  });
}

/** Where several people's pages report their console lines, page errors and failed requests. */
export type PeopleLog = { lines: string[]; pageErrors: string[] };

/** A signed-in page in its own browser context (own cookies, own IndexedDB, own socket), reporting into `log`. */
export async function personPage(
  browser: TestBrowser,
  baseUrl: string,
  who: { username: string; email: string; password: string },
  log: PeopleLog,
  viewport = { width: 1280, height: 800 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.browser.newContext({ viewport });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.on("console", (m) => log.lines.push(`[${who.username} console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => {
    log.pageErrors.push(`${who.username}: ${e.message}`);
    log.lines.push(`[${who.username} pageerror] ${e.message}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) log.lines.push(`[${who.username} http ${r.status()}] ${r.request().method()} ${r.url()}`);
  });
  await logIn(page, baseUrl, who.email, who.password);
  return { context, page };
}
