/**
 * The context manager against a real project: the current file (live document before the
 * working tree), the selection, a window around it when the file is long, open tabs, search
 * chunks from the index, the budget, and the sliding history window with its summary.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { Project, User } from "../db/schema.ts";
import type { Actor } from "../auth/actor.ts";
import { setLogSink } from "../lib/log.ts";
import { aliceAndBob, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { createProject } from "../projects/projects.ts";
import { writeProjectFile } from "../projects/files.ts";
import { closeCollab, collabFor } from "../collab/rooms.ts";
import type { DocRoom } from "../collab/room.ts";
import type { Peer } from "../collab/peer.ts";
import { startSearchIndexer, type SearchIndexer } from "../search/indexer.ts";
import { answerReserve, buildContext, slideWindow, windowAround, type ContextRequest, type HistoryMessage, type Summariser } from "./context.ts";
import { countTokens, promptTokens } from "./tokens.ts";

let app: App;
let dir: string;
let alice: User;
let project: Project;
let indexer: SearchIndexer;
const actor = (): Actor => ({ kind: "user", user: alice, via: "session", sessionId: "s" });
const never: Summariser = async () => {
  throw new Error("no summary expected");
};
const LONG = Array.from({ length: 600 }, (_, i) => `export const value${i} = computeSomething(${i}, "line ${i + 1}");`).join("\n");

async function put(path: string, text: string): Promise<void> {
  await writeProjectFile(app.db.orm, app.config.dataDir, project, path, new TextEncoder().encode(text), app.config.maxFileBytes, alice.id);
}

function request(o: Partial<ContextRequest>): ContextRequest {
  return {
    actor: actor(),
    project,
    history: [],
    turn: [{ role: "user", content: "What does this do?" }],
    summary: null,
    contextWindow: 8192,
    summarise: never,
    signal: new AbortController().signal,
    ...o,
  };
}

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-ai-context-"));
  ({ alice } = await aliceAndBob(app.db.orm));
  project = await createProject(app.db.orm, app.config.dataDir, alice, { name: "Context Demo", visibility: "private" });
  await put("src/main.ts", 'import { greet } from "./greet";\n\nconsole.log(greet("world"));\n');
  await put("src/greet.ts", "export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}\n");
  await put("src/long.ts", LONG);
  await put("src/tax.ts", "// Computes the sales tax for an invoice.\nexport function salesTaxFor(invoiceTotal: number): number {\n  return Math.round(invoiceTotal * 0.19);\n}\n");
  await put("assets/logo.png", "\u0089PNG\u0000\u0000binary");
  indexer = startSearchIndexer(app, { pollMs: 20 });
  await indexer.settled();
});
afterAll(async () => {
  await indexer?.stop();
  await closeCollab(app);
  closeTempApp(app, dir);
});

describe("files", () => {
  test("the current file, the selection and the open tabs are included, each with its reason and tokens", async () => {
    const built = await buildContext(app, request({ filePath: "src/main.ts", selection: { startLine: 3, endLine: 3 }, openTabs: ["src/greet.ts", "src/main.ts", "assets/logo.png", "../etc/passwd", "gone.ts"] }));
    expect(built.files.map((f) => `${f.reason}:${f.path}`)).toEqual(["selection:src/main.ts", "current:src/main.ts", "tab:src/greet.ts"]);
    for (const f of built.files) expect(f.tokens).toBeGreaterThan(5);
    const files = built.messages.find((m) => m.role === "system" && m.content.startsWith("Project files"))?.content ?? "";
    expect(files).toContain('The user selected line 3 of src/main.ts:\n```typescript\nconsole.log(greet("world"));\n```');
    expect(files).toContain("export function greet(name: string)");
    expect(built.messages[built.messages.length - 1]).toEqual({ role: "user", content: "What does this do?" });
    expect(built.tokens).toBe(promptTokens(built.messages));
  });

  test("a file too long for its share is cut to a window around the selection", async () => {
    const built = await buildContext(app, request({ filePath: "src/long.ts", selection: { startLine: 300, endLine: 301 }, contextWindow: 2048 }));
    const current = built.files.find((f) => f.reason === "current");
    expect(current).toBeDefined();
    const files = built.messages[1]?.content ?? "";
    const m = /src\/long\.ts: lines (\d+)–(\d+) of 600/.exec(files);
    expect(m).not.toBeNull();
    const [from, to] = [Number(m?.[1]), Number(m?.[2])];
    expect(from).toBeLessThan(300);
    expect(to).toBeGreaterThan(301);
    expect(files).toContain("value299 ");
    expect(files).not.toContain("value0 ");
    expect(built.tokens).toBeLessThanOrEqual(2048 - answerReserve(2048));
  });

  test("the live collaborative document wins over the working tree (unsaved keystrokes included)", async () => {
    const peer: Peer = { user: { id: alice.id, name: "Alice", color: "#0090ff" }, canWrite: true, send() {}, close() {} };
    const room = (await collabFor(app).join(peer, project, "src/greet.ts")) as DocRoom;
    try {
      room.doc.transact(() => room.text.insert(0, "// typed a moment ago\n"));
      const built = await buildContext(app, request({ filePath: "src/greet.ts" }));
      expect(built.messages[1]?.content).toContain("// typed a moment ago\nexport function greet");
    } finally {
      collabFor(app).leave(peer, room);
    }
  });

  test("chunks found by searching the project for the question come in, other files' only", async () => {
    const built = await buildContext(app, request({ filePath: "src/main.ts", turn: [{ role: "user", content: "how is the salesTaxFor invoice computed?" }] }));
    const search = built.files.filter((f) => f.reason === "search").map((f) => f.path);
    expect(search).toContain("src/tax.ts");
    expect(search).not.toContain("src/main.ts");
    expect(built.messages[1]?.content).toContain("Math.round(invoiceTotal * 0.19)");
  });

  test("without a project nothing is read; a projectless prompt is the system prompt and the question", async () => {
    const built = await buildContext(app, request({ project: null, filePath: "src/main.ts" }));
    expect(built.files).toEqual([]);
    expect(built.messages.map((m) => m.role)).toEqual(["system", "user"]);
  });
});

describe("history", () => {
  const chat = (n: number, words = 60): HistoryMessage[] =>
    Array.from({ length: n }, (_, i) => ({ id: i + 1, role: i % 2 === 0 ? ("user" as const) : ("assistant" as const), content: `message ${i + 1}: ${"how the parser recovers from a missing brace ".repeat(words)}` }));

  test("the window keeps the newest messages that fit", () => {
    const h = chat(10, 10);
    const one = promptTokens([h[9] as HistoryMessage]);
    const { kept, slidOut } = slideWindow(h, one * 3 + 2);
    expect(kept.map((m) => m.id)).toEqual([8, 9, 10]);
    expect(slidOut.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test("what slid out is summarised once, kept up to a message id, and reused while nothing new slid out", async () => {
    const calls: { previous: string | null; ids: (number | undefined)[] }[] = [];
    const summarise: Summariser = async (previous, slidOut) => {
      calls.push({ previous, ids: slidOut.map((m) => m.id) });
      return "They discussed how the parser recovers from a missing brace.";
    };
    const history = chat(30);
    const first = await buildContext(app, request({ history, summarise, contextWindow: 2048 }));
    expect(calls.length).toBe(1);
    expect(calls[0]?.previous).toBeNull();
    const upto = first.newSummary?.upto ?? 0;
    expect(upto).toBeGreaterThan(0);
    expect(calls[0]?.ids).toEqual(Array.from({ length: upto }, (_, i) => i + 1));
    expect(first.messages.some((m) => m.content === "Summary of the earlier part of this conversation:\nThey discussed how the parser recovers from a missing brace.")).toBe(true);
    // The newest message is in the window; the first is not.
    expect(first.messages.some((m) => m.content.startsWith("message 30:"))).toBe(true);
    expect(first.messages.some((m) => m.content.startsWith("message 1:"))).toBe(false);
    expect(first.tokens).toBeLessThanOrEqual(2048 - answerReserve(2048));

    const again = await buildContext(app, request({ history, summarise, contextWindow: 2048, summary: { text: "They discussed how the parser recovers from a missing brace.", upto } }));
    expect(calls.length).toBe(1);
    expect(again.newSummary).toBeNull();

    // Two more turns push more messages out: only those are summarised, onto the previous summary.
    const longer = chat(34);
    const later = await buildContext(app, request({ history: longer, summarise, contextWindow: 2048, summary: { text: "They discussed how the parser recovers from a missing brace.", upto } }));
    expect(calls.length).toBe(2);
    expect(calls[1]?.previous).toBe("They discussed how the parser recovers from a missing brace.");
    expect(calls[1]?.ids[0]).toBe(upto + 1);
    expect(later.newSummary?.upto).toBeGreaterThan(upto);
  });

  test("a failed summary leaves the older messages out and still answers", async () => {
    const built = await buildContext(app, request({ history: chat(30), contextWindow: 2048, summarise: never }));
    expect(built.newSummary).toBeNull();
    expect(built.messages[built.messages.length - 1]?.content).toBe("What does this do?");
  });
});

test("windowAround grows evenly around the lines asked for", () => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`);
  const w = windowAround(lines, 50, 50, (countTokens("line 50") + 1) * 11);
  expect(w.start).toBe(45);
  expect(w.end).toBe(55);
});
