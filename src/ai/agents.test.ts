/**
 * Agents against the fake OpenAI-compatible server through the real plugin and router: the
 * model is scripted to route, read a file, propose an edit and answer — the way a tool-calling
 * model does. Covers routing (model and keyword fallback), the tool loop, action events, logs,
 * parallel and ordered runs, summed usage, read-only people, cancellation and tool confinement.
 */
import { afterAll, beforeAll, beforeEach, describe, expect } from "bun:test";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { createUser } from "../auth/users.ts";
import { aiAgentLogs, aiConversations, aiUsage, type Project, type User } from "../db/schema.ts";
import { newId } from "../lib/crypto.ts";
import { setLogSink } from "../lib/log.ts";
import { writeProjectFile } from "../projects/files.ts";
import { createProject } from "../projects/projects.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { closeCollab } from "../collab/rooms.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { startFakeOpenAI, type FakeRequest, type FakeServer, type FakeToolCall } from "../../test/helpers/fake-models.ts";
import { test } from "../../test/helpers/quiet.ts";
import { addProvider } from "./providers.ts";
import { getAction } from "./actions.ts";
import { runTool, READ_TOOLS, PROPOSE_EDIT } from "./agent-tools.ts";
import { asksForOrder, intentsFromAnswer, intentsFromKeywords, ROUTING_PROMPT, runAgents, type AgentRunResult } from "./agents.ts";
import type { ChatEvent } from "./types.ts";

let dir: string;
let app: App;
let owner: User;
let viewer: User;
let project: Project;
let elsewhere: Project;
let fake: FakeServer;
let conversationId: string;
const enc = (s: string) => new TextEncoder().encode(s);
const as = (user: User): Actor => ({ kind: "user", user, via: "session", sessionId: `s-${user.id}` });
const MATH = "export function add(a, b) {\n  return a + b;\n}\n";

type Wire = { role: string; content: string | null; tool_calls?: { function: { name: string } }[] };
const messagesOf = (r: FakeRequest) => ((r.body as { messages?: Wire[] } | undefined)?.messages ?? []);
const systemOf = (r: FakeRequest) => messagesOf(r)[0]?.content ?? "";
const toolsOf = (r: FakeRequest) => ((r.body as { tools?: { function: { name: string } }[] } | undefined)?.tools ?? []).map((t) => t.function.name);
const isRouting = (r: FakeRequest) => systemOf(r) === ROUTING_PROMPT;
/** Which agent a request comes from, by its system prompt. */
const agentOf = (r: FakeRequest) => /You are the (.+?) agent/.exec(systemOf(r))?.[1] ?? "";
/** Tool calls the agent made so far in this loop, by name. */
const calledSoFar = (r: FakeRequest) => messagesOf(r).flatMap((m) => (m.tool_calls ?? []).map((c) => c.function.name));

/** A tool-calling model: read the file, propose a change to `target`, then answer in words. */
function scriptedModel(route: string, target: Record<string, { path: string; content: string }>) {
  fake.setScript({
    reply: (r) => {
      if (isRouting(r)) return route;
      const called = calledSoFar(r);
      if (!toolsOf(r).length || called.includes("propose_edit") || (!toolsOf(r).includes("propose_edit") && called.includes("read_file"))) return `Done by the ${agentOf(r)} agent.`;
      return "";
    },
    toolCalls: (r): FakeToolCall[] => {
      if (isRouting(r) || !toolsOf(r).length) return [];
      const called = calledSoFar(r);
      if (!called.includes("read_file")) return [{ name: "read_file", arguments: { path: "src/math.js" } }];
      const t = target[agentOf(r)];
      if (!called.includes("propose_edit") && t && toolsOf(r).includes("propose_edit")) return [{ name: "propose_edit", arguments: { summary: `${agentOf(r)} change`, edits: [t] } }];
      return [];
    },
  });
}

async function run(actor: Actor, request: string, signal = new AbortController().signal): Promise<{ events: ChatEvent[]; result: AgentRunResult }> {
  const events: ChatEvent[] = [];
  const result = await runAgents(app, actor, { projectId: project.id, conversationId, messages: [{ role: "user", content: request }], signal }, (e) => events.push(e));
  return { events, result };
}

beforeAll(async () => {
  setLogSink(() => {});
  ({ dir, app } = await openTempApp("wove-ai-agents-"));
  const orm = app.db.orm;
  owner = await createUser(orm, { email: "owner@example.com", role: "member", username: "owner", name: "Olga" }, null);
  viewer = await createUser(orm, { email: "viewer@example.com", role: "member", username: "viewer", name: "Vera" }, null);
  const team = await createTeam(orm, owner, { name: "Agents", slug: "agents" });
  await setMember(orm, team.id, viewer.id, "viewer", owner.id, "owner");
  project = await createProject(orm, dir, owner, { name: "Agents", visibility: "private", team: team.id });
  elsewhere = await createProject(orm, dir, owner, { name: "Elsewhere", visibility: "private" });
  await writeProjectFile(orm, app.config.dataDir, project, "src/math.js", enc(MATH), app.config.maxFileBytes, owner.id);
  await writeProjectFile(orm, app.config.dataDir, elsewhere, "secret.txt", enc("top secret\n"), app.config.maxFileBytes, owner.id);
  fake = await startFakeOpenAI();
  await addProvider(app, { id: "fake", kind: "openai-compatible", url: fake.url }, null);
});
beforeEach(async () => {
  fake.requests.length = 0;
  conversationId = newId();
  await app.db.orm.insert(aiConversations).values({ id: conversationId, userId: owner.id, projectId: project.id, title: "agents", createdAt: Date.now(), updatedAt: Date.now() });
});
afterAll(async () => {
  await fake?.stop();
  await closeCollab(app);
  closeTempApp(app, dir);
});

describe("routing", () => {
  test("the model's answer names agents; a rambling or empty answer is unusable", () => {
    expect(intentsFromAnswer("tests, docs")).toEqual(["tests", "docs"]);
    expect(intentsFromAnswer("Edit.")).toEqual(["edit"]);
    expect(intentsFromAnswer("explain, tests")).toEqual(["tests"]);
    expect(intentsFromAnswer("")).toEqual([]);
    expect(intentsFromAnswer("Sure! I would be delighted to help you with your request about the code base today.")).toEqual([]);
  });

  test("keywords decide when the model cannot", () => {
    expect(intentsFromKeywords("How does the router pick a model?")).toEqual(["explain"]);
    expect(intentsFromKeywords("Fix the off-by-one in paging")).toEqual(["edit"]);
    expect(intentsFromKeywords("How does add work?")).toEqual(["explain"]);
    expect(intentsFromKeywords("Can you fix the overflow in add?")).toEqual(["edit"]);
    expect(intentsFromKeywords("Add a subtract function")).toEqual(["edit"]);
    expect(intentsFromKeywords("add tests and docs for add()")).toEqual(["tests", "docs"]);
    expect(intentsFromKeywords("write unit tests for math.js")).toEqual(["tests"]);
    expect(intentsFromKeywords("refactor add, then document it")).toEqual(["edit", "docs"]);
    expect(asksForOrder("refactor add, then document it")).toBe(true);
    expect(asksForOrder("add tests and docs")).toBe(false);
  });
});

describe("runAgents", () => {
  test("an edit agent reads the file, proposes an edit, streams its answer and logs every step", async () => {
    scriptedModel("edit", { "edit code": { path: "src/math.js", content: MATH.replace("a + b", "b + a") } });
    const { events, result } = await run(as(owner), "Swap the operands in add");
    expect(result.agents).toEqual(["edit"]);
    const action = events.find((e) => e.type === "action");
    expect(action?.type === "action" && action.action.files).toEqual(["src/math.js"]);
    const stored = await getAction(app, result.actions[0]?.id ?? "");
    expect(stored?.edits[0]).toEqual({ path: "src/math.js", before: MATH, after: MATH.replace("a + b", "b + a") });
    expect(stored?.conversationId).toBe(conversationId);
    expect(events.filter((e) => e.type === "token").map((e) => (e.type === "token" ? e.text : "")).join("")).toBe("Done by the edit code agent.");
    expect(result.text).toBe("Done by the edit code agent.");
    // Logs: routing, each step, each tool — in the table and as events, with one run id.
    const logs = await app.db.orm.select().from(aiAgentLogs).where(eq(aiAgentLogs.runId, result.runId)).all();
    const logEvents = events.filter((e) => e.type === "log");
    expect(logEvents.length).toBe(logs.length);
    expect(logs.map((l) => l.text)).toEqual([
      "Routing: edit (asked the model).",
      "Step 1: read_file",
      "read_file src/math.js",
      "Step 2: propose_edit",
      "proposed an edit to src/math.js",
      "Step 3: answered.",
    ]);
    expect(logs.every((l) => l.conversationId === conversationId)).toBe(true);
    // done: last, with the usage of all four model calls summed.
    const done = events.at(-1);
    expect(done?.type).toBe("done");
    const usage = await app.db.orm.select().from(aiUsage).where(eq(aiUsage.conversationId, conversationId)).all();
    expect(usage.length).toBe(4);
    const sum = usage.reduce((n, u) => n + u.tokensIn + u.tokensOut, 0);
    expect(done?.type === "done" && done.usage).toMatchObject({ tokensUsed: sum, modelUsed: "gpt-4o-mini", providerId: "fake" });
    expect(done?.type === "done" && done.conversationId).toBe(conversationId);
  });

  test("tests and docs run in parallel, each proposing its own action, answers under headings", async () => {
    scriptedModel("tests, docs", {
      "write tests": { path: "src/math.test.js", content: "test('add', () => expect(add(1, 2)).toBe(3));\n" },
      "write docs": { path: "docs/math.md", content: "# add\n\nAdds two numbers.\n" },
    });
    const { events, result } = await run(as(owner), "add tests and docs for add()");
    expect(result.agents).toEqual(["tests", "docs"]);
    expect(result.actions.map((a) => a.files[0]).sort()).toEqual(["docs/math.md", "src/math.test.js"]);
    expect(events.filter((e) => e.type === "action").length).toBe(2);
    expect(result.text).toContain("### Write tests\n\nDone by the write tests agent.");
    expect(result.text).toContain("### Write docs\n\nDone by the write docs agent.");
    // In parallel: both agents' first calls come before either agent's last.
    const order = fake.requests.filter((r) => !isRouting(r)).map(agentOf);
    expect(order.slice(0, 2).sort()).toEqual(["write docs", "write tests"]);
    expect(events.some((e) => e.type === "log" && e.text === "Running tests, docs in parallel.")).toBe(true);
  });

  test("an ordered request runs agents one after another, the later told what the earlier said", async () => {
    scriptedModel("edit, docs", { "edit code": { path: "src/math.js", content: MATH.replace("add", "plus") }, "write docs": { path: "docs/plus.md", content: "# plus\n" } });
    const { result } = await run(as(owner), "Rename add to plus, then document it");
    expect(result.agents).toEqual(["edit", "docs"]);
    const agents = fake.requests.filter((r) => !isRouting(r)).map(agentOf);
    expect(agents).toEqual(["edit code", "edit code", "edit code", "write docs", "write docs", "write docs"]);
    const docsFirst = fake.requests.find((r) => agentOf(r) === "write docs");
    expect(docsFirst && systemOf(docsFirst)).toContain("[edit] Done by the edit code agent.");
  });

  test("an unusable routing answer falls back to keywords", async () => {
    scriptedModel("Well, it depends on many things; I would first like to know more about your project setup.", {});
    const { result, events } = await run(as(owner), "How does add work?");
    expect(result.agents).toEqual(["explain"]);
    expect(events.some((e) => e.type === "log" && e.text.startsWith("Routing: explain (by keywords"))).toBe(true);
    // The explain agent gets no propose_edit tool.
    expect(fake.requests.filter((r) => !isRouting(r)).every((r) => !toolsOf(r).includes("propose_edit"))).toBe(true);
  });

  test("someone who can only read gets no propose_edit tool and no action", async () => {
    scriptedModel("edit", { "edit code": { path: "src/math.js", content: "x\n" } });
    const { result, events } = await run(as(viewer), "Swap the operands in add");
    expect(result.actions).toEqual([]);
    expect(events.some((e) => e.type === "action")).toBe(false);
    const agentCalls = fake.requests.filter((r) => !isRouting(r));
    expect(agentCalls.every((r) => !toolsOf(r).includes("propose_edit"))).toBe(true);
    expect(systemOf(agentCalls[0] as FakeRequest)).toContain("cannot change this project's files");
  });

  test("a model that never stops calling tools is stopped at the step limit and still answers", async () => {
    fake.setScript({
      reply: (r) => (isRouting(r) ? "explain" : toolsOf(r).length ? "" : "Here is what I found."),
      toolCalls: (r) => (isRouting(r) || !toolsOf(r).length ? [] : [{ name: "list_files", arguments: {} }]),
    });
    const { result, events } = await run(as(owner), "What is in this project?");
    expect(result.text).toBe("Here is what I found.");
    expect(events.some((e) => e.type === "log" && e.text.startsWith("Step limit"))).toBe(true);
    expect(fake.requests.filter((r) => !isRouting(r)).length).toBe(9);
  });

  test("a cancelled run stops without done", async () => {
    const ctl = new AbortController();
    fake.setScript({ reply: (r) => (isRouting(r) ? "explain" : "a b c d e f g h i j k l m n o p"), tokensPerSecond: 20 });
    const events: ChatEvent[] = [];
    const p = runAgents(app, as(owner), { projectId: project.id, conversationId, messages: [{ role: "user", content: "explain add" }], signal: ctl.signal }, (e) => {
      events.push(e);
      if (e.type === "token") ctl.abort();
    });
    const result = await p;
    expect(result.cancelled).toBe(true);
    expect(events.some((e) => e.type === "done")).toBe(false);
  });
});

describe("tools are confined to the project", () => {
  const env = () => ({ app, actor: as(owner), project, conversationId: null, signal: new AbortController().signal });
  const call = (name: string, args: Record<string, unknown>) => runTool(env(), { id: "c", name, arguments: args }, [...READ_TOOLS, PROPOSE_EDIT]);

  test("read_file reads only this project's files", async () => {
    expect((await call("read_file", { path: "src/math.js" })).text).toContain("return a + b;");
    expect((await call("read_file", { path: "src/math.js", start_line: 2, end_line: 2 })).text).toBe("src/math.js (lines 2-2 of 4)\n  return a + b;");
    expect((await call("read_file", { path: "../secret.txt" })).text).toContain("failed");
    expect((await call("read_file", { path: `../../${elsewhere.id}/files/secret.txt` })).text).toContain("failed");
    expect((await call("read_file", { path: "secret.txt" })).text).toContain("There is no file");
  });

  test("list_files and search see only this project; unknown tools are refused", async () => {
    const listed = (await call("list_files", {})).text;
    expect(listed).toContain("src/math.js");
    expect(listed).not.toContain("secret.txt");
    const found = await call("search", { query: "secret" });
    expect(found.text).not.toContain("top secret");
    expect((await runTool(env(), { id: "c", name: "propose_edit", arguments: {} }, READ_TOOLS)).text).toContain('There is no tool "propose_edit"');
    expect((await call("propose_edit", { summary: "x", edits: [{ path: ".git/config", content: "x" }] })).text).toContain("failed");
  });
});
