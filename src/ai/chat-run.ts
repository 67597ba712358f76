/**
 * One chat request from question to stored answer: builds the context (context.ts), asks the
 * model through the router (or the agents, in agent mode), passes every event on as it comes,
 * and stores the answer with its meta on the conversation.
 *
 * The HTTP layer (chat-routes.ts) reads the events from `run.events`. It waits up to a moment
 * for the first sign of the model (`run.firstEvent`): a failure before that — no provider, a
 * refused request, every provider of the chain down — ends the run with `run.earlyError` and
 * stores nothing, so the caller gets a plain HTTP error; once the route has started streaming
 * (`run.begin()`), a failure becomes an `error` event after what already arrived, and the
 * partial answer is kept.
 *
 * The question — and a new conversation with it — is stored once the first of the answer
 * reached the client (`run.delivered()`), and always before the answer, which is stored
 * before `done`: the database stays off the path to the first token, and an early failure
 * leaves nothing to undo. Agent mode stores it before the agents start, since their logs and
 * proposed actions refer to the conversation.
 */
import { eq, inArray } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { aiConversations, aiMessages, type Project } from "../db/schema.ts";
import { ApiError } from "../lib/errors.ts";
import { buildContext, DEFAULT_CONTEXT_WINDOW, routerSummariser, type BuiltContext, type HistoryMessage, type Selection } from "./context.ts";
import { storeAnswer, storeTurn, type Conversation, type MessageMeta, type StoredMessage } from "./conversations.ts";
import { routeChat } from "./router.ts";
import { modelsOf, pickModel, resolveChain } from "./router-chain.ts";
import { runAgents } from "./agents.ts";
import { ProviderError, type ChatEvent, type ChatMessage } from "./types.ts";

export type ChatMode = "chat" | "agent";

export type ChatInput = {
  actor: Actor;
  project: Project | null;
  /** The conversation; a new one (`isNew`) is stored with the question. */
  conversation: Conversation;
  isNew: boolean;
  /** The conversation's stored messages, oldest first. */
  history: HistoryMessage[];
  /** What the client sent: messages a stateless client carries along, then the question. */
  messages: [...ChatMessage[], ChatMessage];
  /** Stored with the question (the file and selection it was asked about). */
  questionMeta: MessageMeta;
  filePath?: string;
  selection?: Selection;
  openTabs?: string[];
  model?: string;
  mode: ChatMode;
};

export type DoneEvent = Extract<ChatEvent, { type: "done" }>;

/** A push queue of events with one reader. */
export class EventQueue<T> {
  private buffer: T[] = [];
  private wake: (() => void) | null = null;
  private ended = false;

  push(e: T): void {
    if (this.ended) return;
    this.buffer.push(e);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** The next event if one is waiting, else null (whether or not the queue ended). */
  take(): T | null {
    return this.buffer.shift() ?? null;
  }

  /** The next event, or null once the queue ended and is drained. */
  async next(): Promise<T | null> {
    for (;;) {
      const e = this.buffer.shift();
      if (e !== undefined) return e;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.wake = () => {
          this.wake = null;
          resolve();
        };
      });
    }
  }
}

/** The model's context window: the chosen model's (or the chain's first) when its provider says, else the default. */
export async function contextWindowFor(app: App, model?: string): Promise<number> {
  // An unknown explicit model is the caller's mistake (422): let it through.
  const chain = await resolveChain(app, "chat", model);
  const first = chain[0];
  if (!first) return DEFAULT_CONTEXT_WINDOW;
  try {
    const models = await modelsOf(app, first.provider);
    const id = first.model ?? pickModel(models, "chat");
    return models.find((m) => m.id === id)?.contextWindow ?? DEFAULT_CONTEXT_WINDOW;
  } catch {
    return DEFAULT_CONTEXT_WINDOW;
  }
}

export function errorEvent(e: unknown): Extract<ChatEvent, { type: "error" }> {
  if (e instanceof ApiError) return { type: "error", code: e.code, message: e.message };
  if (e instanceof ProviderError) return { type: "error", code: `provider_${e.failure}`, message: e.message };
  return { type: "error", code: "internal", message: "Something went wrong on our side while answering; ask again." };
}

const MAX_LOGS_KEPT = 300;

/** A new summary with the id of the newest message it covers (known once the messages are stored). */
function summaryToKeep(s: BuiltContext["newSummary"]): { text: string; upto: number } | null {
  if (!s) return null;
  const ids = s.covers.map((m) => m.id);
  const upto = s.upto ?? (ids.every((id) => id !== undefined) && ids.length > 0 ? Math.max(...(ids as number[])) : null);
  return upto === null ? null : { text: s.text, upto };
}

export class ChatRun {
  readonly events = new EventQueue<ChatEvent>();
  /** Settles at the first event from the model or the agents, at an early failure, or when the run ends. */
  readonly firstEvent: Promise<void>;
  /** Settles when the answer is stored (or the run was undone). */
  readonly finished: Promise<void>;
  earlyError: unknown = null;
  private started = false;
  /** Storing the question (storeQuestion), once started. */
  private questionWrite: Promise<StoredMessage[]> | null = null;
  private signalFirst: () => void = () => {};
  private readonly ctl = new AbortController();

  constructor(
    private readonly app: App,
    private readonly input: ChatInput,
  ) {
    this.firstEvent = new Promise<void>((resolve) => (this.signalFirst = resolve));
    this.finished = this.work();
  }

  get conversationId(): string {
    return this.input.conversation.id;
  }

  /** The route starts streaming: from now on failures are events. */
  begin(): void {
    this.started = true;
  }

  /** The first of the answer reached the client: store the question now (it is, at the latest, before the answer). */
  delivered(): void {
    // A failure is handled where the answer is stored, which waits for this write.
    if (this.questionWrite === null) this.storeQuestion().catch(() => {});
  }

  /** Stores the messages the client sent (and a new conversation), once. */
  private storeQuestion(): Promise<StoredMessage[]> {
    const { input } = this;
    const last = input.messages.length - 1;
    this.questionWrite ??= storeTurn(
      this.app,
      input.conversation,
      input.isNew,
      input.messages.map((m, i) => ({ role: m.role, content: m.content, meta: i === last ? input.questionMeta : {} })),
    );
    return this.questionWrite;
  }

  /** Stop (the client left or pressed Stop): the model call is aborted and the partial answer kept. */
  abort(reason?: unknown): void {
    this.ctl.abort(reason ?? new DOMException("The client stopped the answer.", "AbortError"));
  }

  private emit(e: ChatEvent): void {
    this.events.push(e);
    // The answer has started once the model (or an agent) says something; a fallback is still the router looking for one.
    if (e.type !== "context" && e.type !== "fallback") this.signalFirst();
  }

  /** Takes back the question after an early failure, if it was stored (agent mode). */
  private async undo(): Promise<void> {
    if (this.questionWrite === null) return;
    const stored = await this.questionWrite.catch(() => []);
    const { orm } = this.app.db;
    if (this.input.isNew) await orm.delete(aiConversations).where(eq(aiConversations.id, this.conversationId));
    else if (stored.length > 0) await orm.delete(aiMessages).where(inArray(aiMessages.id, stored.map((m) => m.id)));
  }

  private async work(): Promise<void> {
    const { app, input } = this;
    const signal = this.ctl.signal;
    const startedAt = Date.now();
    const meta: MessageMeta = { mode: input.mode };
    let text = "";
    let done: DoneEvent["usage"] | null = null;
    let failure: unknown = null;
    let summary: BuiltContext["newSummary"] = null;
    // Messages a stateless client carried along are history too (they get their ids once stored); the question is the new turn.
    const carried: HistoryMessage[] = input.messages.slice(0, -1).map((m) => ({ role: m.role, content: m.content }));
    const question = input.messages[input.messages.length - 1] as ChatMessage;
    try {
      const contextWindow = await contextWindowFor(app, input.model);
      const built = await buildContext(app, {
        actor: input.actor,
        project: input.project,
        filePath: input.filePath,
        selection: input.selection,
        openTabs: input.openTabs,
        history: [...input.history, ...carried],
        turn: [{ role: "user", content: question.content }],
        summary: input.conversation.summary !== null && input.conversation.summaryUpto !== null ? { text: input.conversation.summary, upto: input.conversation.summaryUpto } : null,
        contextWindow,
        summarise: routerSummariser(app, { actor: input.actor, projectId: input.project?.id ?? null, conversationId: this.conversationId, contextWindow }),
        signal,
      });
      summary = built.newSummary;
      meta.files = built.files;
      meta.contextTokens = built.tokens;
      this.emit({ type: "context", files: built.files, tokens: built.tokens });
      if (input.mode === "agent" && input.project) {
        await this.storeQuestion();
        // The agents get the same prompt (the files included, the history) and add their own instructions and tools.
        await runAgents(app, input.actor, { projectId: input.project.id, conversationId: this.conversationId, messages: built.messages, signal, model: input.model }, (e) => {
          if (signal.aborted) return;
          if (e.type === "token") text += e.text;
          else if (e.type === "action") (meta.actions ??= []).push(e.action);
          else if (e.type === "log") {
            const logs = (meta.logs ??= []);
            if (logs.length < MAX_LOGS_KEPT) logs.push({ agent: e.agent, text: e.text, runId: e.runId });
          } else if (e.type === "fallback") (meta.fallbacks ??= []).push({ from: e.from, to: e.to, reason: e.reason });
          else if (e.type === "context") return;
          else if (e.type === "done") {
            done = e.usage;
            return;
          }
          this.emit(e);
        });
      } else {
        const stream = routeChat(app, { messages: built.messages }, { task: "chat", model: input.model, actor: input.actor, projectId: input.project?.id ?? null, conversationId: this.conversationId, signal });
        for await (const chunk of stream) {
          if (chunk.type === "token") {
            text += chunk.text;
            this.emit(chunk);
          } else if (chunk.type === "fallback") {
            (meta.fallbacks ??= []).push({ from: chunk.from, to: chunk.to, reason: chunk.reason });
            this.emit(chunk);
          } else if (chunk.type === "done") {
            done = {
              tokensUsed: chunk.usage.tokensIn + chunk.usage.tokensOut,
              tokensIn: chunk.usage.tokensIn,
              tokensOut: chunk.usage.tokensOut,
              modelUsed: chunk.model,
              providerId: chunk.providerId,
              latencyMs: chunk.latencyMs,
              costMicros: chunk.costMicros,
            };
          }
          // Tool calls do not occur: chat mode offers the model no tools.
        }
      }
    } catch (e) {
      failure = e;
    }
    if (failure !== null && !this.started && !signal.aborted) {
      // Nothing was streamed yet: the route answers with an HTTP error, as if the request never happened.
      await this.undo().catch((e: unknown) => app.log.error("ai chat: could not undo a failed request", { conversationId: this.conversationId, error: String(e) }));
      this.earlyError = failure;
      this.signalFirst();
      this.events.end();
      return;
    }
    if (failure !== null && !signal.aborted) {
      meta.error = { code: errorEvent(failure).code, message: errorEvent(failure).message };
      if (!(failure instanceof ApiError || failure instanceof ProviderError)) app.log.error("ai chat failed", { conversationId: this.conversationId, error: String(failure) });
    }
    const none = { tokensUsed: 0, tokensIn: 0, tokensOut: 0, modelUsed: "", providerId: "", latencyMs: Date.now() - startedAt, costMicros: 0 };
    const usage: DoneEvent["usage"] = done ?? none;
    if (done) {
      meta.model = usage.modelUsed;
      meta.providerId = usage.providerId;
      meta.usage = { tokensIn: usage.tokensIn, tokensOut: usage.tokensOut, latencyMs: usage.latencyMs, costMicros: usage.costMicros };
    }
    if (signal.aborted) meta.stopped = true;
    let stored: StoredMessage[] | null = null;
    try {
      stored = await this.storeQuestion();
    } catch (e) {
      // Without the question the answer cannot be kept either: say so instead of `done`.
      app.log.error("ai chat: could not store the question", { conversationId: this.conversationId, error: String(e) });
      meta.error = { code: "not_stored", message: "The conversation could not be saved, so this answer is not kept; ask again." };
    }
    if (stored) {
      carried.forEach((m, i) => (m.id = stored[i]?.id));
      try {
        await storeAnswer(app, this.conversationId, { role: "assistant", content: text, meta }, summaryToKeep(summary));
      } catch (e) {
        app.log.error("ai chat: could not store the answer", { conversationId: this.conversationId, error: String(e) });
      }
    }
    if (meta.error) this.emit({ type: "error", ...meta.error });
    else if (!signal.aborted) this.emit({ type: "done", conversationId: this.conversationId, usage });
    this.signalFirst();
    this.events.end();
  }
}
