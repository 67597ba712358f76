/**
 * Code actions in two real browsers (issue 6, "Done when": a proposed code action applied in
 * one browser appears in a second browser's editor). The real server with the fake Ollama
 * added as a provider through the admin API, scripted as a tool-calling agent: route to
 * "edit", read the file, propose an edit. Ada (team owner) and Bob (team member, write
 * access) each open the same file in the IDE in their own browser context. Ada turns on
 * Agents in the Assistant panel and asks; the proposal shows in the answer; she reviews its
 * diff in the panel and presses Apply: Bob's editor shows the new text without a reload, and
 * so does hers. Undo reverts it in both. Then Bob applies the same proposal from the action's
 * own page, and Ada's editor follows.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import type { Page } from "playwright-core";
import { test, registerOutput, unregisterOutput, type OutputSource } from "../helpers/quiet.ts";
import { skipE2E, TestBrowser, editorText, openIdeAt, personPage as signedInPage } from "../helpers/browser.ts";
import { TestServer, waitFor, type TestUser } from "../helpers/server.ts";
import { startFakeOllama, type FakeRequest, type FakeServer, type FakeToolCall } from "../helpers/fake-models.ts";
import { buildIslands } from "../../scripts/build-islands.ts";

const e2e = test.skipIf(skipE2E);
const FILE = "src/math.ts";
const MATH = "export function add(a: number, b: number): number {\n  return a + b;\n}\n\nexport function sub(a: number, b: number): number {\n  return a - b;\n}\n";
const SWAPPED = MATH.replace("a + b", "b + a");
const SUMMARY = "Swap the operands of add";
const SHOTS = process.env.WOVE_SCREENSHOTS;
/** How long a collaborator's editor may take to show an applied (or undone) action. */
const LIVE_MS = 5000;

// The wire shape of Ollama's /api/chat messages, as far as the script reads them.
type Wire = { role: string; content: string | null; tool_calls?: { function: { name: string } }[] };
const messagesOf = (r: FakeRequest) => (r.body as { messages?: Wire[] } | undefined)?.messages ?? [];
const hasTools = (r: FakeRequest) => ((r.body as { tools?: unknown[] } | undefined)?.tools ?? []).length > 0;
const called = (r: FakeRequest) => messagesOf(r).flatMap((m) => (m.tool_calls ?? []).map((c) => c.function.name));
const isRouting = (r: FakeRequest) => messagesOf(r)[0]?.content?.startsWith("You route requests") === true;

let srv: TestServer;
let ollama: FakeServer;
let browser: TestBrowser;
let ada: TestUser;
let bob: TestUser;
let token: string;
let projectId: string;
const logs: OutputSource & { lines: string[] } = { label: "browser contexts (console and page errors)", lines: [], output: () => logs.lines.join("\n") };
const pageErrors: string[] = [];
const people = { lines: logs.lines, pageErrors };

beforeAll(async () => {
  if (skipE2E) return;
  await buildIslands({ ifStale: true, quiet: true });
  // The model a tool-calling agent would be: the orchestrator's routing question is answered
  // "edit"; the edit agent reads the file, proposes the swap, then says so.
  ollama = await startFakeOllama({
    reply: (r) => {
      if (!hasTools(r)) return isRouting(r) ? "edit" : "Done.";
      return called(r).includes("propose_edit") ? "I swapped the operands of add." : "";
    },
    toolCalls: (r): FakeToolCall[] => {
      if (!hasTools(r)) return [];
      const done = called(r);
      if (!done.includes("read_file")) return [{ name: "read_file", arguments: { path: FILE } }];
      if (!done.includes("propose_edit")) return [{ name: "propose_edit", arguments: { summary: SUMMARY, edits: [{ path: FILE, content: SWAPPED }] } }];
      return [];
    },
  });
  srv = await TestServer.start();
  const admin = await srv.createUser({ role: "admin", username: "root", name: "Root" });
  const adminToken = await srv.token(admin.email, "read,write,admin");
  const added = await srv.api("POST", "/api/v1/admin/providers", { token: adminToken, body: { id: "local", kind: "ollama", url: ollama.url } });
  expect(added.status).toBe(201);
  ada = await srv.createUser({ email: "ada@example.com", name: "Ada Lovelace", username: "ada" });
  bob = await srv.createUser({ email: "bob@example.com", name: "Bob Builder", username: "bob" });
  token = await srv.token(ada.email);
  const team = await srv.api("POST", "/api/v1/teams", { token, body: { name: "Makers" } });
  const teamId = (team.json as { id: string }).id;
  expect((await srv.api("PUT", `/api/v1/teams/${teamId}/members/${bob.id}`, { token, body: { role: "member" } })).status).toBe(201);
  const created = await srv.api("POST", "/api/v1/projects", { token, body: { name: "Assisted", team: teamId, visibility: "private" } });
  projectId = (created.json as { id: string }).id;
  expect((await srv.api("PUT", `/api/v1/projects/${projectId}/files/${FILE}`, { token, body: MATH })).status).toBe(201);
  browser = await TestBrowser.open();
  registerOutput(logs);
}, 120_000);
afterAll(async () => {
  unregisterOutput(logs);
  await browser?.close();
  await srv?.stop();
  await ollama?.stop();
}, 120_000);

/** A signed-in page in its own browser context, reporting into this file's log. */
const personPage = (who: TestUser) => signedInPage(browser, srv.url, who, people);

/** The IDE on the test file, ready and synced. */
const openIde = (page: Page) => openIdeAt(page, `${srv.url}/projects/${projectId}/ide/${FILE}`);


/**
 * Waits (bounded) until the editor shows exactly `want` (Monaco renders the final newline as an
 * empty last line, so the joined lines equal the file's text); the error says what it showed.
 */
async function waitForEditor(page: Page, what: string, want: string, ms = LIVE_MS): Promise<void> {
  let last = "";
  await waitFor(
    what,
    async () => {
      last = await editorText(page);
      return last === want;
    },
    ms,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; the editor shows:\n${last}\nwanted:\n${want}`);
  });
}

/** Marks the loaded document; the mark is gone if the page reloads or navigates. */
function markPage(page: Page): Promise<void> {
  return page.evaluate(() => {
    document.documentElement.dataset.testLoaded = "same";
  });
}
async function stillSamePage(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.dataset.testLoaded === "same");
}

async function fileText(): Promise<string> {
  const r = await srv.api("GET", `/api/v1/projects/${projectId}/files/${FILE}`, { token });
  return r.status === 200 ? r.text : `<${r.status}>`;
}

const lastAnswer = ".chat-assistant:last-of-type";
const preview = `${lastAnswer} .chat-action-preview .ai-action`;

e2e(
  "a code action proposed in the Assistant and applied in one browser appears live in a second browser's editor; Undo reverts it there too",
  async () => {
    const a = await personPage(ada);
    const b = await personPage(bob);
    await openIde(a.page);
    await openIde(b.page);
    expect(await a.page.locator("#ide").getAttribute("data-access")).toBe("admin");
    expect(await b.page.locator("#ide").getAttribute("data-access")).toBe("write");
    await waitForEditor(b.page, "Bob's editor to show the file", MATH);

    // Ada asks the agents in the Assistant panel; the answer carries the proposal.
    await a.page.click("#ide-assistant-toggle");
    await a.page.waitForSelector("#ide-assistant:not([hidden])");
    await a.page.check("#ide-assistant-agents");
    await a.page.fill("#ide-assistant-input", "Swap the operands in add");
    await a.page.press("#ide-assistant-input", "Enter");
    await a.page.waitForSelector(`${lastAnswer} .chat-facts:not(:empty)`, { timeout: 20_000 });
    expect(await a.page.locator(`${lastAnswer} .chat-problem`).isHidden()).toBe(true);
    expect(await a.page.textContent(`${lastAnswer} .chat-markdown`)).toContain("I swapped the operands of add.");
    expect(await a.page.textContent(`${lastAnswer} .chat-facts`)).toContain("agents");
    expect(await a.page.textContent(`${lastAnswer} .chat-logs`)).toContain(`read_file ${FILE}`);
    const card = a.page.locator(`${lastAnswer} .chat-action`);
    expect(await card.count()).toBe(1);
    expect(await card.textContent()).toContain(SUMMARY);
    expect(await card.textContent()).toContain(FILE);
    // The edit agent called propose_edit, through the real Ollama plugin and its tool calls.
    expect(ollama.requests.some((r) => r.path === "/api/chat" && called(r).includes("propose_edit"))).toBe(true);

    // Nothing has changed yet, anywhere.
    await markPage(a.page);
    await markPage(b.page);
    expect(await editorText(b.page)).toBe(MATH);
    expect(await fileText()).toBe(MATH);

    // The diff preview loads in the panel: the one changed line, old and new.
    await card.getByRole("button", { name: "Review the change" }).click();
    await a.page.waitForSelector(preview);
    const actionId = ((await a.page.getAttribute(preview, "id")) ?? "").replace(/^ai-action-/, "");
    expect(actionId).not.toBe("");
    expect(await a.page.textContent(`${preview} .diff-path`)).toBe(FILE);
    expect(await a.page.textContent(`${preview} tr.diff-del .diff-code`)).toContain("return a + b;");
    expect(await a.page.textContent(`${preview} tr.diff-add .diff-code`)).toContain("return b + a;");
    expect(await a.page.textContent(`${preview} .badge`)).toBe("Proposed");

    // Ada applies it: Bob's editor shows it live (no reload), and so does Ada's.
    await a.page.click(`${preview} button:has-text("Apply")`);
    await waitForEditor(b.page, "the applied action in Bob's editor", SWAPPED);
    await waitForEditor(a.page, "the applied action in Ada's editor", SWAPPED);
    await a.page.waitForSelector(`${preview} .badge:has-text("Applied")`);
    expect(await a.page.textContent(`${preview} .flash`)).toContain("Applied. Everyone editing these files sees the change now.");
    expect(await b.page.locator('#ide-conn[data-state="synced"]').count()).toBe(1);
    expect(await stillSamePage(b.page)).toBe(true);
    expect(await stillSamePage(a.page)).toBe(true);
    if (SHOTS) {
      await a.page.screenshot({ path: `${SHOTS}/ai-action-applied-ada.png` });
      await b.page.screenshot({ path: `${SHOTS}/ai-action-applied-bob.png` });
    }
    await waitFor("the working tree to get the applied text", async () => (await fileText()) === SWAPPED, 8000);

    // Undo in the panel reverts it in both editors, live.
    await a.page.click(`${preview} button:has-text("Undo")`);
    await waitForEditor(b.page, "the undo in Bob's editor", MATH);
    await waitForEditor(a.page, "the undo in Ada's editor", MATH);
    await a.page.waitForSelector(`${preview} .badge:has-text("Proposed")`);
    expect(await a.page.textContent(`${preview} .flash`)).toContain("Undone.");
    await waitFor("the working tree to get the undo", async () => (await fileText()) === MATH, 8000);
    expect(await stillSamePage(b.page)).toBe(true);

    // Bob applies the same proposal from the action's own page; Ada's editor follows.
    await b.page.goto(`${srv.url}/projects/${projectId}/ai/actions/${actionId}`);
    expect(await b.page.textContent(".ai-action h2")).toBe(SUMMARY);
    await b.page.click('.ai-action button:has-text("Apply")');
    await b.page.waitForSelector('.ai-action .badge:has-text("Applied")');
    await waitForEditor(a.page, "Bob's apply in Ada's editor", SWAPPED);
    expect(await stillSamePage(a.page)).toBe(true);
    await waitFor("the working tree to get Bob's apply", async () => (await fileText()) === SWAPPED, 8000);

    await a.context.close();
    await b.context.close();
    expect(pageErrors).toEqual([]);
  },
  90_000,
);
