/**
 * Agents: the assistant's "agent" mode. An orchestrator reads the request, decides which
 * specialised agents it needs — explain, edit code, write tests, write docs — and runs them.
 *
 * - Routing: the model is asked with a short routing prompt (task "chat") to name the agents;
 *   when its answer is unusable (or the call fails) keywords of the request decide.
 * - Several agents run in parallel ("add tests and docs"), or one after another when the
 *   request gives an order ("fix the bug, then document it"): each later agent is told what the
 *   earlier ones said.
 * - Each agent is a loop: the model (through routeChat, with tools) reads, lists and searches
 *   the project's files (agent-tools.ts) until it stops calling tools or MAX_STEPS is reached;
 *   edit/tests/docs agents end by calling `propose_edit`, which stores a code action
 *   (actions.ts) and emits an `action` event. People without write access get explanations only.
 * - Every step is written to ai_agent_logs and emitted as a `log` event. The answer streams as
 *   `token` events — live for one agent or agents in order; agents in parallel each deliver
 *   their answer under a heading as they finish. `done` carries the usage summed over every
 *   model call of the run.
 *
 * Nothing executes user code. The chat API checks the caller's quota before a run; a run makes
 * at most (MAX_STEPS + 1) model calls per agent plus one routing call, each recorded in ai_usage.
 */
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import type { Project } from "../db/schema.ts";
import { aiAgentLogs } from "../db/schema.ts";
import { newId } from "../lib/crypto.ts";
import { ApiError, notFound, unauthorized } from "../lib/errors.ts";
import { atLeast, projectAccess } from "../projects/access.ts";
import { routeChat, type RoutedDone } from "./router.ts";
import { actionRef } from "./actions.ts";
import { PROPOSE_EDIT, READ_TOOLS, runTool, type ToolEnv } from "./agent-tools.ts";
import type { ChatEvent, ChatMessage, TaskKind, ToolCall } from "./types.ts";

export type AgentKind = "explain" | "edit" | "tests" | "docs";
export const AGENT_KINDS: AgentKind[] = ["edit", "tests", "docs", "explain"];
export const AGENT_LABEL: Record<AgentKind, string> = { explain: "Explain", edit: "Edit code", tests: "Write tests", docs: "Write docs" };

/** Model calls with tools per agent; one more without tools then asks for the answer. */
export const MAX_STEPS = 8;
/** Code actions one agent may propose in a run. */
export const MAX_PROPOSALS = 3;

export const ROUTING_PROMPT = [
  "You route requests to the agents of a coding assistant. Reply with the names of the agents the request needs,",
  "comma-separated, and nothing else. Agents: explain (questions about the code), edit (change, fix or add code),",
  "tests (write or extend tests), docs (write or update documentation).",
].join(" ");

const ORCHESTRATOR = "orchestrator";

export type AgentRunInput = {
  projectId: string;
  conversationId: string | null;
  messages: ChatMessage[];
  signal: AbortSignal;
  /** The model the person picked ("providerId:model" or a bare name); else the task's chain. */
  model?: string;
};

type DoneUsage = Extract<ChatEvent, { type: "done" }>["usage"];

export type AgentRunResult = {
  runId: string;
  agents: AgentKind[];
  /** The answer as streamed in `token` events. */
  text: string;
  actions: { id: string; summary: string; files: string[] }[];
  usage: DoneUsage;
  cancelled: boolean;
};

const VOCABULARY: Record<string, AgentKind> = {
  explain: "explain",
  explanation: "explain",
  question: "explain",
  edit: "edit",
  code: "edit",
  fix: "edit",
  change: "edit",
  refactor: "edit",
  implement: "edit",
  test: "tests",
  tests: "tests",
  testing: "tests",
  doc: "docs",
  docs: "docs",
  documentation: "docs",
  readme: "docs",
};

function ordered(kinds: Iterable<AgentKind>): AgentKind[] {
  const set = new Set(kinds);
  // Explaining is part of what the other agents say; alone it is the explain agent.
  if (set.size > 1) set.delete("explain");
  return AGENT_KINDS.filter((k) => set.has(k));
}

/** The agents a routing answer names; empty when the answer is not a short list of agent names. */
export function intentsFromAnswer(answer: string): AgentKind[] {
  const text = answer.trim().toLowerCase();
  if (text.length === 0 || text.length > 80) return [];
  return ordered((text.match(/[a-z]+/g) ?? []).map((w) => VOCABULARY[w]).filter((k): k is AgentKind => k !== undefined));
}

/** The fallback: which agents the request's own words call for. */
export function intentsFromKeywords(request: string): AgentKind[] {
  const found: AgentKind[] = [];
  if (/\b(unit[- ]?)?tests?\b|\bspecs?\b|\btest (coverage|cases?)\b/i.test(request)) found.push("tests");
  if (/\bdoc(s|umentation|strings?|umented|ument)?\b|\breadme\b|\bjsdoc\b|\bdocstrings?\b/i.test(request)) found.push("docs");
  const editVerb = /\b(fix|change|refactor|rename|implement|edit|update|remove|delete|replace|convert|rewrite|optimi[sz]e|add|create|make|write)\b/i;
  // "write tests" or "add docs" are the tests and docs agents' work, not a code edit as well; and
  // a question ("How does add work?") wants an edit only when it asks for one outright.
  const strongEdit = /\b(fix|change|refactor|rename|implement|replace|convert|rewrite|optimi[sz]e|remove|delete)\b/i;
  const question = /^\s*(how|what|why|where|which|who|when|does|do|is|are|explain|tell me)\b/i.test(request) || /\?\s*$/.test(request);
  if (found.length === 0 && !question ? editVerb.test(request) : strongEdit.test(request)) found.push("edit");
  return found.length === 0 ? ["explain"] : ordered(found);
}

/** Whether the request gives its parts an order ("…, then …"): agents then run one after another. */
export function asksForOrder(request: string): boolean {
  return /\b(then|afterwards|after that|and finally|first)\b/i.test(request);
}

const PURPOSE: Record<AgentKind, string> = {
  explain: "You explain code. Answer the question about the project clearly in Markdown, naming the files and lines you rely on. Do not change files.",
  edit: "You change code. Find and read the code the request is about, then call propose_edit once with the complete new content of every file you change. Keep the project's style; change only what the request needs.",
  tests:
    "You write tests. Find the code to test and the project's existing tests (their framework, location and naming) and follow them. Call propose_edit once with the complete content of each new or changed test file.",
  docs: "You write documentation: README sections, docs/ pages or doc comments, matching what the code really does. Read the code first. Call propose_edit once with the complete content of each file you write.",
};

function systemPrompt(kind: AgentKind, project: Project, canPropose: boolean, earlier: string): string {
  const parts = [
    `You are the ${AGENT_LABEL[kind].toLowerCase()} agent of Wove, a collaborative code editor, working on the project "${project.name}".`,
    PURPOSE[kind],
    "Use the tools read_file, list_files and search to look at the project before you answer; never guess a file's content.",
  ];
  if (kind !== "explain" && !canPropose) parts.push("The person asking cannot change this project's files: describe the change in your answer instead of proposing it.");
  if (kind !== "explain" && canPropose) parts.push("The person reviews your proposal as a diff and applies it. After proposing, reply with a short summary of the change.");
  if (earlier) parts.push(`Agents that ran before you in this request said:\n${earlier}`);
  return parts.join("\n\n");
}

/** Sums the usage of every model call of a run. */
class Meter {
  tokensIn = 0;
  tokensOut = 0;
  costMicros = 0;
  model = "";
  providerId = "";
  add(d: RoutedDone): void {
    this.tokensIn += d.usage.tokensIn;
    this.tokensOut += d.usage.tokensOut;
    this.costMicros += d.costMicros;
    this.model = d.model;
    this.providerId = d.providerId;
  }
  usage(latencyMs: number): DoneUsage {
    return { tokensUsed: this.tokensIn + this.tokensOut, tokensIn: this.tokensIn, tokensOut: this.tokensOut, modelUsed: this.model, providerId: this.providerId, latencyMs, costMicros: this.costMicros };
  }
}

type Run = {
  app: App;
  actor: Actor;
  input: AgentRunInput;
  project: Project;
  canPropose: boolean;
  runId: string;
  history: ChatMessage[];
  meter: Meter;
  actions: AgentRunResult["actions"];
  emit: (e: ChatEvent) => void;
  log: (agent: string, text: string) => Promise<void>;
};

/** One model call: passes fallbacks on, counts usage, hands tokens to `out`; returns the text and the tool calls. */
async function ask(run: Run, task: TaskKind, req: { messages: ChatMessage[]; tools?: typeof READ_TOOLS; temperature?: number; maxTokens?: number }, out: (t: string) => void): Promise<{ text: string; calls: ToolCall[] }> {
  let text = "";
  const calls: ToolCall[] = [];
  const { input } = run;
  for await (const c of routeChat(run.app, req, { task, model: input.model, actor: run.actor, projectId: input.projectId, conversationId: input.conversationId, signal: input.signal })) {
    if (c.type === "token") {
      text += c.text;
      out(c.text);
    } else if (c.type === "tool_call") calls.push(c.call);
    else if (c.type === "fallback") run.emit(c);
    else run.meter.add(c);
  }
  return { text, calls };
}

async function classify(run: Run, request: string): Promise<AgentKind[]> {
  let answer = "";
  try {
    answer = (await ask(run, "chat", { messages: [{ role: "system", content: ROUTING_PROMPT }, { role: "user", content: request.slice(0, 4000) }], temperature: 0, maxTokens: 24 }, () => {})).text;
  } catch (e) {
    if (run.input.signal.aborted) throw e;
    // No provider at all, or over quota: the agents cannot run either.
    if (e instanceof ApiError && (e.status === 429 || e.code === "ai_not_configured")) throw e;
    await run.log(ORCHESTRATOR, `The routing call failed (${e instanceof Error ? e.message : String(e)}); deciding by keywords.`);
  }
  const named = intentsFromAnswer(answer);
  if (named.length > 0) {
    await run.log(ORCHESTRATOR, `Routing: ${named.join(", ")} (asked the model).`);
    return named;
  }
  const byWords = intentsFromKeywords(request);
  await run.log(ORCHESTRATOR, `Routing: ${byWords.join(", ")} (by keywords${answer.trim() ? `; the model answered "${answer.trim().slice(0, 80)}"` : ""}).`);
  return byWords;
}

type AgentOutcome = { kind: AgentKind; text: string; error?: unknown };

async function runAgent(run: Run, kind: AgentKind, earlier: string, out: (t: string) => void): Promise<AgentOutcome> {
  const propose = kind !== "explain" && run.canPropose;
  const tools = propose ? [...READ_TOOLS, PROPOSE_EDIT] : READ_TOOLS;
  const task: TaskKind = kind === "explain" ? "chat" : "code-edit";
  const env: ToolEnv = { app: run.app, actor: run.actor, project: run.project, conversationId: run.input.conversationId, signal: run.input.signal };
  const messages: ChatMessage[] = [{ role: "system", content: systemPrompt(kind, run.project, run.canPropose, earlier) }, ...run.history];
  let text = "";
  let proposals = 0;
  for (let step = 1; step <= MAX_STEPS + 1; step++) {
    if (run.input.signal.aborted) break;
    const last = step > MAX_STEPS;
    if (last) {
      await run.log(kind, `Step limit (${MAX_STEPS}) reached; asking for the answer.`);
      messages.push({ role: "user", content: "Stop using tools now and give your answer with what you have found." });
    }
    const r = await ask(run, task, { messages, tools: last ? undefined : tools, temperature: 0.2 }, out);
    text += r.text;
    if (run.input.signal.aborted) break;
    if (r.calls.length === 0 || last) {
      await run.log(kind, `Step ${step}: answered${r.calls.length ? " (tool calls after the limit ignored)" : ""}.`);
      break;
    }
    await run.log(kind, `Step ${step}: ${r.calls.map((c) => c.name).join(", ")}`);
    messages.push({ role: "assistant", content: r.text, toolCalls: r.calls });
    for (const call of r.calls) {
      const result =
        call.name === PROPOSE_EDIT.name && proposals >= MAX_PROPOSALS
          ? { text: `You already proposed ${MAX_PROPOSALS} edits in this run; give your answer now.`, log: "propose_edit refused: proposal limit reached" }
          : await runTool(env, call, tools);
      await run.log(kind, result.log);
      if ("action" in result && result.action) {
        proposals++;
        const ref = actionRef(result.action);
        run.actions.push(ref);
        run.emit({ type: "action", action: ref });
      }
      messages.push({ role: "tool", toolCallId: call.id, content: result.text });
    }
  }
  if (propose && proposals === 0 && !run.input.signal.aborted) await run.log(kind, "Finished without proposing an edit.");
  return { kind, text };
}

/** Catches an agent's failure so the others still finish; it is logged and told in the answer. */
async function settle(run: Run, kind: AgentKind, work: Promise<AgentOutcome>): Promise<AgentOutcome> {
  try {
    return await work;
  } catch (error) {
    if (!run.input.signal.aborted) await run.log(kind, `Stopped: ${error instanceof Error ? error.message : String(error)}`);
    return { kind, text: "", error };
  }
}

/** Runs the agents a request needs; see the top of this file. Throws when every agent failed. */
export async function runAgents(app: App, actor: Actor, input: AgentRunInput, emit: (e: ChatEvent) => void): Promise<AgentRunResult> {
  const started = performance.now();
  if (actor.kind !== "user") throw unauthorized("Sign in to use the assistant's agents.");
  const { project, level } = await projectAccess(app.db.orm, actor, input.projectId);
  if (!project || level === "none") throw notFound("Project");
  const runId = newId();
  const meter = new Meter();
  const log = async (agent: string, text: string) => {
    await app.db.orm.insert(aiAgentLogs).values({ runId, conversationId: input.conversationId, agent, at: Date.now(), text });
    emit({ type: "log", agent, text, runId });
  };
  const history = input.messages.filter((m) => m.role !== "tool").map((m) => ({ role: m.role, content: m.content }));
  const request = [...history].reverse().find((m) => m.role === "user")?.content ?? "";
  const run: Run = { app, actor, input, project, canPropose: atLeast(level, "write"), runId, history, meter, actions: [], emit, log };

  const agents = await classify(run, request);
  const parallel = agents.length > 1 && !asksForOrder(request);
  let answer = "";
  const say = (t: string) => {
    answer += t;
    emit({ type: "token", text: t });
  };
  const heading = (kind: AgentKind) => (agents.length > 1 ? `${answer ? "\n\n" : ""}### ${AGENT_LABEL[kind]}\n\n` : "");
  const failure = (o: AgentOutcome) => (o.error ? `${o.text ? "\n\n" : ""}_The ${AGENT_LABEL[o.kind].toLowerCase()} agent stopped: ${o.error instanceof Error ? o.error.message : String(o.error)}_` : "");
  const outcomes: AgentOutcome[] = [];
  if (parallel) {
    await log(ORCHESTRATOR, `Running ${agents.join(", ")} in parallel.`);
    // Each agent's answer is kept until it finishes, then shown whole under its heading.
    await Promise.all(
      agents.map(async (kind) => {
        let own = "";
        const o = await settle(run, kind, runAgent(run, kind, "", (t) => (own += t)));
        outcomes.push(o);
        if (!input.signal.aborted) say(heading(kind) + own + failure(o));
      }),
    );
  } else {
    if (agents.length > 1) await log(ORCHESTRATOR, `Running ${agents.join(", ")} one after another.`);
    let earlier = "";
    for (const kind of agents) {
      if (input.signal.aborted) break;
      say(heading(kind));
      const o = await settle(run, kind, runAgent(run, kind, earlier, say));
      outcomes.push(o);
      say(failure(o));
      if (o.text) earlier += `\n[${kind}] ${o.text.slice(0, 4000)}`;
    }
  }
  const cancelled = input.signal.aborted;
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (!cancelled && outcomes.length > 0 && failed.length === outcomes.length) throw failed[0]?.error;
  const usage = meter.usage(Math.round(performance.now() - started));
  if (!cancelled) emit({ type: "done", conversationId: input.conversationId, usage });
  return { runId, agents, text: answer, actions: run.actions, usage, cancelled };
}
