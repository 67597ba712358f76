/**
 * The collaborative IDE in Chromium against the real server (issue 4, "Tests"): two people
 * with write access open the same file, type, and see each other's text and named cursors;
 * one undoes only their own edit; one goes offline, types, comes back, and both converge;
 * the text reaches the file API. A viewer gets a read-only editor; the tree creates, renames
 * and uploads; open tabs follow a move made elsewhere and say so when the file is deleted;
 * binary files are offered as downloads; the page works at 360 px with the tree in a drawer.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import type { Page } from "playwright-core";
import { test } from "../helpers/quiet.ts";
import { registerOutput, unregisterOutput, type OutputSource } from "../helpers/quiet.ts";
import { horizontalOverflow, skipE2E, TestBrowser, editorText, openIdeAt, personPage as signedInPage } from "../helpers/browser.ts";
import { TestServer, waitFor, type TestUser } from "../helpers/server.ts";
import { buildIslands } from "../../scripts/build-islands.ts";

const e2e = test.skipIf(skipE2E);
const FILE = "src/shared.ts";

let srv: TestServer;
let browser: TestBrowser;
let ada: TestUser;
let bob: TestUser;
let vic: TestUser;
let token: string;
let projectId: string;
const logs: OutputSource & { lines: string[] } = { label: "extra browser contexts (console and page errors)", lines: [], output: () => logs.lines.join("\n") };
const pageErrors: string[] = [];
const people = { lines: logs.lines, pageErrors };

beforeAll(async () => {
  if (skipE2E) return;
  await buildIslands({ ifStale: true, quiet: true });
  srv = await TestServer.start();
  ada = await srv.createUser({ email: "ada@example.com", name: "Ada Lovelace", username: "ada" });
  bob = await srv.createUser({ email: "bob@example.com", name: "Bob Builder", username: "bob" });
  vic = await srv.createUser({ email: "vic@example.com", name: "Vic Viewer", username: "vic" });
  token = await srv.token(ada.email);
  const team = await srv.api("POST", "/api/v1/teams", { token, body: { name: "Makers" } });
  const teamId = (team.json as { id: string }).id;
  expect((await srv.api("PUT", `/api/v1/teams/${teamId}/members/${bob.id}`, { token, body: { role: "member" } })).status).toBe(201);
  expect((await srv.api("PUT", `/api/v1/teams/${teamId}/members/${vic.id}`, { token, body: { role: "viewer" } })).status).toBe(201);
  const created = await srv.api("POST", "/api/v1/projects", { token, body: { name: "Shared code", team: teamId, visibility: "private" } });
  projectId = (created.json as { id: string }).id;
  expect((await srv.api("PUT", `/api/v1/projects/${projectId}/files/${FILE}`, { token, body: "const start = 1;\n" })).status).toBe(201);
  browser = await TestBrowser.open();
  registerOutput(logs);
}, 120_000);
afterAll(async () => {
  unregisterOutput(logs);
  await browser?.close();
  await srv?.stop();
}, 120_000);

/** A signed-in page in its own browser context, reporting into this file's log. */
const personPage = (who: TestUser, viewport = { width: 1280, height: 800 }) => signedInPage(browser, srv.url, who, people, viewport);

/** The IDE on the test file, ready and synced. */
const openIde = (page: Page) => openIdeAt(page, `${srv.url}/projects/${projectId}/ide/${FILE}`);


async function waitForText(page: Page, what: string, pred: (text: string) => boolean): Promise<string> {
  let last = "";
  await waitFor(
    what,
    async () => {
      last = await editorText(page);
      return pred(last);
    },
    10_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; the editor shows:\n${last}`);
  });
  return last;
}

async function typeAt(page: Page, where: "start" | "end", text: string): Promise<void> {
  await page.click(".monaco-editor .view-lines");
  await page.keyboard.press(where === "start" ? "Control+Home" : "Control+End");
  await page.keyboard.type(text);
}

e2e(
  "two people edit one file live, see named cursors, undo only their own edits, merge offline edits, and the text reaches the file API",
  async () => {
    const a = await personPage(ada);
    const b = await personPage(bob);
    await openIde(a.page);
    await openIde(b.page);
    // Ada owns the team (admin of its projects); Bob is a member (write).
    expect(await a.page.locator("#ide").getAttribute("data-access")).toBe("admin");
    expect(await b.page.locator("#ide").getAttribute("data-access")).toBe("write");

    // Live typing both ways.
    await typeAt(a.page, "end", "// from Ada");
    await waitForText(b.page, "Ada's text at Bob's", (t) => t.includes("// from Ada"));
    await typeAt(b.page, "start", "// from Bob\n");
    await waitForText(a.page, "Bob's text at Ada's", (t) => t.includes("// from Bob"));

    // Bob's cursor shows at Ada's in Bob's colour, labelled with his name (and the presence list has him).
    const labels = () =>
      a.page.evaluate(() => Array.from(document.querySelectorAll(".yRemoteSelectionHead")).map((el) => getComputedStyle(el, "::after").content));
    await waitFor("Bob's named cursor at Ada's", async () => (await labels()).some((l) => l.includes("Bob Builder"))).catch(async (e: Error) => {
      throw new Error(`${e.message}; cursor labels: ${JSON.stringify(await labels())}`);
    });
    await waitFor("Bob in Ada's presence list", async () => (await a.page.locator("#ide-presence").innerText()).includes("Bob Builder"));
    expect(await a.page.locator("#ide-presence").innerText()).toContain(FILE);

    // Ada's undo takes back her edit only; redo brings it back.
    await a.page.click(".monaco-editor .view-lines");
    await a.page.keyboard.press("Control+z");
    const undone = await waitForText(a.page, "Ada's edit undone", (t) => !t.includes("// from Ada"));
    expect(undone).toContain("// from Bob");
    await waitForText(b.page, "the undo at Bob's", (t) => !t.includes("// from Ada") && t.includes("// from Bob"));
    await a.page.keyboard.press("Control+Shift+z");
    await waitForText(b.page, "the redo at Bob's", (t) => t.includes("// from Ada"));

    // Bob goes offline (the browser says so; the IDE stops its sockets), types; Ada keeps typing.
    await b.context.setOffline(true);
    await b.page.waitForSelector('#ide-conn[data-state="offline"]');
    await typeAt(b.page, "start", "// offline by Bob\n");
    expect(await b.page.locator("#ide-conn-text").innerText()).toMatch(/Offline · \d+ edits? kept in this browser/);
    await typeAt(a.page, "end", "\n// online by Ada");
    await waitForText(b.page, "Bob's own offline edit", (t) => t.includes("// offline by Bob"));
    await a.page.waitForTimeout(500);
    expect(await editorText(a.page)).not.toContain("// offline by Bob");

    // Back online: both converge on the same text with both edits.
    await b.context.setOffline(false);
    await b.page.waitForSelector('#ide-conn[data-state="synced"]');
    const both = (t: string) => t.includes("// offline by Bob") && t.includes("// online by Ada");
    const atAda = await waitForText(a.page, "convergence at Ada's", both);
    const atBob = await waitForText(b.page, "convergence at Bob's", (t) => t === atAda);
    expect(atBob).toBe(atAda);

    // The working tree catches up within a few seconds (materialised ≤ 2 s after the last edit).
    let onDisk = "";
    await waitFor(
      "the merged text in GET …/files",
      async () => {
        onDisk = (await srv.api("GET", `/api/v1/projects/${projectId}/files/${FILE}`, { token })).text;
        return onDisk === atAda;
      },
      8000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; the file API has:\n${onDisk}\nthe editors show:\n${atAda}`);
    });

    await a.context.close();
    await b.context.close();
    expect(pageErrors).toEqual([]);
  },
  90_000,
);

e2e("a viewer gets a read-only editor without tree controls, and typing changes nothing", async () => {
  const v = await personPage(vic);
  await openIde(v.page);
  expect(await v.page.locator("#ide").getAttribute("data-access")).toBe("read");
  expect(await v.page.locator("#ide-tree-tools").count()).toBe(0);
  expect(await v.page.locator("#ide-conn-text").innerText()).toContain("read-only");
  const before = await editorText(v.page);
  await typeAt(v.page, "end", "viewer was here");
  await v.page.waitForTimeout(400);
  expect(await editorText(v.page)).toBe(before);
  expect((await srv.api("GET", `/api/v1/projects/${projectId}/files/${FILE}`, { token })).text).not.toContain("viewer was here");
  await v.context.close();
  expect(pageErrors).toEqual([]);
});

e2e("at 360 px the IDE fits, the tree is a drawer, and quick open finds a file by keyboard", async () => {
  await srv.api("PUT", `/api/v1/projects/${projectId}/files/docs/guide/getting-started.md`, { token, body: "# Start\n" });
  const p = await personPage(ada, { width: 360, height: 740 });
  await openIde(p.page);
  expect(await horizontalOverflow(p.page)).toBe(0);
  const toggle = p.page.locator("#ide-drawer-toggle");
  expect(await toggle.getAttribute("aria-expanded")).toBe("false");
  await toggle.click();
  expect(await toggle.getAttribute("aria-expanded")).toBe("true");
  await p.page.locator('#ide-tree [role="treeitem"][data-path="src"]').waitFor();
  await p.page.keyboard.press("Escape");
  expect(await toggle.getAttribute("aria-expanded")).toBe("false");

  await p.page.keyboard.press("Control+p");
  await p.page.keyboard.type("gst");
  await p.page.locator('#ide-quick-open-list [role="option"][aria-selected="true"]', { hasText: "getting-started.md" }).waitFor();
  await p.page.keyboard.press("Enter");
  await p.page.waitForURL(/\/ide\/docs\/guide\/getting-started\.md$/);
  await waitForText(p.page, "the opened file", (t) => t.includes("# Start"));
  expect(await p.page.locator('#ide-tabs [role="tab"]').count()).toBeGreaterThanOrEqual(2);
  await p.context.close();
  expect(pageErrors).toEqual([]);
});

e2e("the tree creates, renames and uploads files; tabs follow moves made elsewhere, report deletions, and offer binary files as downloads", async () => {
  await srv.api("PUT", `/api/v1/projects/${projectId}/files/assets/logo.bin`, { token, body: new Uint8Array([0, 159, 146, 150, 0, 1]) });
  const p = await personPage(bob);
  await openIde(p.page);

  // New file (Alt+N): the dialog takes a path, the file opens in a tab and is editable.
  await p.page.keyboard.press("Alt+n");
  await p.page.locator("#ide-prompt-input").fill("notes/todo.md");
  await p.page.keyboard.press("Enter");
  await p.page.locator('#ide-tabs [role="tab"][title="notes/todo.md"][aria-selected="true"]').waitFor();
  await p.page.waitForSelector('#ide-conn[data-state="synced"]');
  await typeAt(p.page, "start", "# Todo");
  await waitFor("the new file's text on disk", async () => (await srv.api("GET", `/api/v1/projects/${projectId}/files/notes/todo.md`, { token })).text === "# Todo", 8000);

  // A duplicate path is refused beside the field, and the dialog stays open.
  await p.page.keyboard.press("Alt+n");
  await p.page.locator("#ide-prompt-input").fill("notes/todo.md");
  await p.page.keyboard.press("Enter");
  expect(await p.page.locator("#ide-prompt-error").innerText()).toContain("already exists");
  await p.page.keyboard.press("Escape");

  // Rename with F2 in the tree: the name without its extension is selected.
  await p.page.click('#ide-tree [data-path="notes/todo.md"] > .ide-tree-row');
  await p.page.keyboard.press("F2");
  await p.page.keyboard.type("tasks");
  await p.page.keyboard.press("Enter");
  await p.page.locator('#ide-tabs [role="tab"][title="notes/tasks.md"]').waitFor();
  expect((await srv.api("GET", `/api/v1/projects/${projectId}/files/notes/tasks.md`, { token })).text).toBe("# Todo");

  // Someone else moves the file: the tab follows it to the new path, same document.
  expect((await srv.api("POST", `/api/v1/projects/${projectId}/files/notes/tasks.md:move`, { token, body: { to: "done/tasks.md" } })).status).toBe(200);
  await p.page.locator('#ide-tabs [role="tab"][title="done/tasks.md"]').waitFor();
  await p.page.waitForSelector('#ide-conn[data-state="synced"]');
  await waitForText(p.page, "the moved file's text", (t) => t.includes("# Todo"));

  // Someone else deletes it: the editor says so and stops taking edits.
  expect((await srv.api("DELETE", `/api/v1/projects/${projectId}/files/done/tasks.md`, { token })).status).toBe(204);
  await p.page.locator(".ide-banner", { hasText: "This file was deleted" }).waitFor();
  expect(await p.page.locator("#ide-conn").getAttribute("data-state")).toBe("error");

  // Upload through the toolbar's file input, into the selected folder.
  await p.page.click('#ide-tree [data-path="src"] > .ide-tree-row');
  await p.page.setInputFiles("#ide-upload", [{ name: "up.txt", mimeType: "text/plain", buffer: Buffer.from("uploaded\n") }]);
  await p.page.locator('#ide-tree [data-path="src/up.txt"]').waitFor();
  expect((await srv.api("GET", `/api/v1/projects/${projectId}/files/src/up.txt`, { token })).text).toBe("uploaded\n");

  // A binary file is not opened as a document: a download link instead.
  await p.page.click('#ide-tree [data-path="assets"] > .ide-tree-row');
  await p.page.click('#ide-tree [data-path="assets/logo.bin"] > .ide-tree-row');
  const download = p.page.locator(".ide-panel a[download]");
  await download.waitFor();
  expect(await p.page.locator(".ide-panel").innerText()).toContain("binary file");
  expect(await download.getAttribute("href")).toBe(`/api/v1/projects/${projectId}/files/assets/logo.bin`);

  await p.context.close();
  expect(pageErrors).toEqual([]);
});
