/**
 * Quality bars every page must meet, checked in the browser: no horizontal
 * overflow at 360 px wide, and the login form usable with the keyboard alone.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import type { Page } from "playwright-core";
import { test } from "../helpers/quiet.ts";
import { horizontalOverflow, logIn, skipE2E, TestBrowser } from "../helpers/browser.ts";
import { TestServer, type TestUser } from "../helpers/server.ts";

const e2e = test.skipIf(skipE2E);

let srv: TestServer;
let user: TestUser;
let projectId: string;

beforeAll(async () => {
  if (skipE2E) return;
  srv = await TestServer.start();
  user = await srv.createUser({ role: "admin", email: "narrow@example.com", username: "narrow-screen-user-with-a-long-name" });
  const token = await srv.token(user.email);
  const created = await srv.api("POST", "/api/v1/projects", {
    token,
    body: { name: "A project with a rather long name to test wrapping on phones", description: "x ".repeat(200) },
  });
  projectId = (created.json as { id: string }).id;
  const longLine = `const aVeryLongIdentifierThatDoesNotWrap = ${JSON.stringify("y".repeat(300))};\n`;
  await srv.api("PUT", `/api/v1/projects/${projectId}/files/src/deeply/nested/folder/with-a-long-file-name-component.ts`, { token, body: longLine });
}, 120_000);
afterAll(async () => {
  await srv?.stop();
}, 120_000);

async function expectNoOverflow(page: Page, path: string): Promise<void> {
  const res = await page.goto(srv.url + path);
  expect({ path, status: res?.status() }).toEqual({ path, status: 200 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect({ path, scrollWidth: width <= 360 }).toEqual({ path, scrollWidth: true });
  expect({ path, overflow: await horizontalOverflow(page) }).toEqual({ path, overflow: 0 });
}

e2e("at 360 px wide, the login page and the signed-in pages have no horizontal overflow", async () => {
  const browser = await TestBrowser.open({ width: 360, height: 740 });
  try {
    const page = await browser.newPage();
    await expectNoOverflow(page, "/login");
    await logIn(page, srv.url, user.email, user.password);
    for (const path of ["/", "/new", `/projects/${projectId}`, `/projects/${projectId}/blob/src/deeply/nested/folder/with-a-long-file-name-component.ts`, "/teams", "/account", "/admin", "/admin/users"]) {
      await expectNoOverflow(page, path);
    }
    expect(browser.pageErrors).toEqual([]);
  } finally {
    await browser.close();
  }
});

e2e("the keyboard alone reaches the login fields and the submit button, and logs in", async () => {
  const browser = await TestBrowser.open();
  try {
    const page = await browser.newPage();
    await page.goto(`${srv.url}/login`);
    // Walk the tab order (the email field may already have focus via autofocus) and note what gets focus.
    const order: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      order.push(
        await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          if (!el) return "";
          const name = el.getAttribute("name");
          return name ? `${el.tagName.toLowerCase()}[name=${name}]` : `${el.tagName.toLowerCase()}${el.getAttribute("type") ? `[type=${el.getAttribute("type")}]` : ""}:${el.textContent?.trim() ?? ""}`;
        }),
      );
    }
    const email = order.indexOf("input[name=email]");
    const password = order.indexOf("input[name=password]", email);
    const submit = order.findIndex((s, i) => i > password && s.startsWith("button[type=submit]"));
    expect({ order, reached: email >= 0 && password > email && submit > password }).toEqual({ order, reached: true });

    // Now actually log in by keyboard: focus moves field to field with Tab, Enter submits.
    await page.goto(`${srv.url}/login`);
    await page.focus('input[name="email"]');
    await page.keyboard.type(user.email);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("password");
    await page.keyboard.type(user.password);
    await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.keyboard.press("Enter")]);
    // The skip link is the first stop on a signed-in page and leads to the main content.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("href"))).toBe("#main");
    // Focus is visible: the focused element has an outline or a box shadow.
    const visible = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const s = getComputedStyle(el);
      return (s.outlineStyle !== "none" && s.outlineWidth !== "0px") || s.boxShadow !== "none";
    });
    expect(visible).toBe(true);
    expect(browser.pageErrors).toEqual([]);
  } finally {
    await browser.close();
  }
});
