/**
 * The chat API and the conversation API.
 *
 * `POST /api/v1/ai/chat` streams ChatEvents (types.ts): NDJSON by default (one JSON object a
 * line; blank lines are keep-alives sent during a quiet spell — skip them), Server-Sent Events
 * with `Accept: text/event-stream` (`event: <type>` + `data: <json>`; keep-alives are
 * comments), or one JSON object with `stream: false`. A stream starts with a `context` event
 * (the files the prompt included), then tokens (agent mode: logs and actions too), and ends
 * with `done` (usage: tokensUsed, modelUsed, …) or `error`. The `X-Conversation-Id` header
 * names the conversation from the start, so a client that stops early can still continue it.
 *
 * Failures found before anything is streamed are plain HTTP errors: 404 for a project or
 * conversation the caller cannot see, 422 for a bad body or unknown model, 429 with
 * Retry-After over a rate limit or daily quota, 503 when no model provider is enabled or none
 * answered. Closing the connection aborts the model call; what had arrived is kept.
 */
import { t } from "elysia";
import type { App } from "../core/app.ts";
import type { Project } from "../db/schema.ts";
import { route, userOf } from "../server/guard.ts";
import { json, noContent } from "../server/http.ts";
import { invalid, notFound } from "../lib/errors.ts";
import { projectAccess } from "../projects/access.ts";
import { checkQuota } from "./router.ts";
import { ChatRun, type DoneEvent } from "./chat-run.ts";
import {
  conversationJson,
  conversationMessages,
  deleteConversation,
  listConversations,
  messageJson,
  newConversation,
  ownConversation,
  titleFrom,
  TITLE_MAX,
  updateConversation,
  visibleConversation,
  type Conversation,
} from "./conversations.ts";
import type { HistoryMessage } from "./context.ts";
import type { ChatEvent, ChatMessage } from "./types.ts";

/** How long the route waits for the model's first sign before it commits to a 200 stream. */
const PRIME_MS = 1500;
/** A quiet stream gets a keep-alive this often (Bun and proxies cut idle connections). */
const KEEPALIVE_MS = 5000;

const Line = t.Integer({ minimum: 1, maximum: 10_000_000 });

const ChatBody = t.Object({
  messages: t.Array(t.Object({ role: t.Union([t.Literal("user"), t.Literal("assistant")]), content: t.String({ maxLength: 200_000 }) }), { minItems: 1, maxItems: 200 }),
  projectId: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
  filePath: t.Optional(t.String({ minLength: 1, maxLength: 1024 })),
  selection: t.Optional(t.Object({ startLine: Line, startColumn: t.Optional(Line), endLine: Line, endColumn: t.Optional(Line) })),
  openTabs: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 1024 }), { maxItems: 50 })),
  model: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
  conversationId: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
  mode: t.Optional(t.Union([t.Literal("chat"), t.Literal("agent")])),
  stream: t.Optional(t.Boolean()),
});

async function readableProject(app: App, ctx: Parameters<typeof userOf>[0], id: string): Promise<Project> {
  const { project, level } = await projectAccess(app.db.orm, ctx.actor, id);
  if (!project || level === "none") throw notFound("Project");
  return project;
}

/** The conversation's earlier messages as the context manager takes them (empty answers — stopped at once, failed — left out). */
async function historyOf(app: App, c: Conversation): Promise<HistoryMessage[]> {
  const rows = await conversationMessages(app.db.orm, c.id);
  return rows.filter((m) => (m.role === "user" || m.role === "assistant") && m.content.trim() !== "").map((m) => ({ id: m.id, role: m.role, content: m.content }));
}

/** Waits for `p`, at most `ms`. */
async function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function encoder(sse: boolean): { event: (e: ChatEvent) => string; keepAlive: string } {
  return sse
    ? { event: (e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`, keepAlive: ": keep-alive\n\n" }
    : { event: (e) => `${JSON.stringify(e)}\n`, keepAlive: "\n" };
}

/**
 * The run's events as the response body, each written to the socket as it comes (a direct
 * stream, flushed after every batch of events). Once the first bytes are out the question is
 * stored (run.delivered): its database write then cannot hold up the first token. Cancelling
 * the body, or a write finding the client gone, stops the run.
 */
function streamBody(run: ChatRun, format: { event: (e: ChatEvent) => string; keepAlive: string }): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setInterval> | undefined;
  const source: Bun.DirectUnderlyingSource<Uint8Array> = {
    type: "direct",
    async pull(controller) {
      let quietSince = Date.now();
      timer = setInterval(() => {
        if (Date.now() - quietSince < KEEPALIVE_MS) return;
        quietSince = Date.now();
        try {
          controller.write(format.keepAlive);
          controller.flush();
        } catch {
          clearInterval(timer);
        }
      }, 1000);
      try {
        for (let e = await run.events.next(); e !== null; e = await run.events.next()) {
          let out = format.event(e);
          // Events that queued up while the socket was busy go out in one write.
          for (let more = run.events.take(); more !== null; more = run.events.take()) out += format.event(more);
          const written = await controller.write(out);
          controller.flush();
          quietSince = Date.now();
          if (written === 0) {
            run.abort();
            return;
          }
          run.delivered();
        }
        controller.close();
      } catch {
        // The client went away mid-write.
        run.abort();
      } finally {
        clearInterval(timer);
      }
    },
    cancel() {
      clearInterval(timer);
      run.abort();
    },
  };
  // The DOM typings this project includes describe ReadableStream's constructor without Bun's direct sources.
  return new ReadableStream(source as unknown as UnderlyingDefaultSource<Uint8Array>);
}

/** `stream: false`: everything the stream would carry, as one object. */
async function collect(run: ChatRun): Promise<Record<string, unknown>> {
  let text = "";
  let context: Extract<ChatEvent, { type: "context" }> | null = null;
  let done: DoneEvent | null = null;
  let error: Extract<ChatEvent, { type: "error" }> | null = null;
  const actions: Extract<ChatEvent, { type: "action" }>["action"][] = [];
  const logs: Omit<Extract<ChatEvent, { type: "log" }>, "type">[] = [];
  const fallbacks: Omit<Extract<ChatEvent, { type: "fallback" }>, "type">[] = [];
  for (let e = await run.events.next(); e !== null; e = await run.events.next()) {
    if (e.type === "token") text += e.text;
    else if (e.type === "context") context = e;
    else if (e.type === "done") done = e;
    else if (e.type === "error") error = e;
    else if (e.type === "action") actions.push(e.action);
    else if (e.type === "log") logs.push({ agent: e.agent, text: e.text, runId: e.runId });
    else fallbacks.push({ from: e.from, to: e.to, reason: e.reason });
  }
  return {
    conversationId: run.conversationId,
    message: { role: "assistant", content: text },
    context: context ? { files: context.files, tokens: context.tokens } : null,
    usage: done?.usage ?? null,
    actions,
    logs,
    fallbacks,
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  };
}

export const aiChatApiRoutes = [
  route({
    method: "POST",
    path: "/api/v1/ai/chat",
    permission: "user",
    kind: "api",
    summary:
      "Asks the assistant. Streams ChatEvents — NDJSON, or SSE with Accept: text/event-stream; `stream: false` returns one JSON object — starting with `context` (the files included) and ending with `done` (usage: tokensUsed, modelUsed) or `error`. With `conversationId` the messages continue that conversation; without, they start a new one (X-Conversation-Id names it). `mode: \"agent\"` runs the agents (needs projectId). 429 with Retry-After over a limit.",
    tags: ["ai"],
    body: ChatBody,
    responses: { 200: "NDJSON / SSE stream of ChatEvents, or one JSON object", 429: "Rate limit or daily token quota reached (Retry-After)", 503: "No model provider is enabled, or none could answer" },
    handler: async (ctx) => {
      const { app } = ctx;
      const user = userOf(ctx);
      const b = ctx.body;
      const question = b.messages[b.messages.length - 1];
      if (!question || question.role !== "user" || question.content.trim() === "") {
        throw invalid("The last message must be the user's question, and not empty.", { messages: "End with a non-empty user message." });
      }
      let project = b.projectId !== undefined ? await readableProject(app, ctx, b.projectId) : null;
      let conversation: Conversation | null = null;
      if (b.conversationId !== undefined) {
        conversation = (await ownConversation(app, ctx.actor, b.conversationId)).conversation;
        if (conversation.projectId !== (project?.id ?? conversation.projectId)) {
          throw invalid("That conversation is about another project.", { conversationId: "Belongs to another project." });
        }
        if (!project && conversation.projectId !== null) project = await readableProject(app, ctx, conversation.projectId);
      }
      const mode = b.mode ?? "chat";
      if (mode === "agent" && !project) throw invalid("Agents work on a project: send projectId.", { projectId: "Required in agent mode." });
      if ((b.filePath !== undefined || b.openTabs !== undefined) && !project) throw invalid("Files belong to a project: send projectId too.", { projectId: "Required with filePath or openTabs." });
      await checkQuota(app, ctx.actor, { projectId: project?.id ?? null });

      // A new conversation gets its id now (X-Conversation-Id) and is stored with the question once the answer starts (chat-run.ts).
      const isNew = conversation === null;
      conversation ??= newConversation({ userId: user.id, projectId: project?.id ?? null, title: titleFrom(question.content) });
      const history = isNew ? [] : await historyOf(app, conversation);
      const questionMeta = { ...(b.filePath ? { filePath: b.filePath } : {}), ...(b.selection ? { selection: { startLine: b.selection.startLine, endLine: b.selection.endLine } } : {}) };

      const run = new ChatRun(app, {
        actor: ctx.actor,
        project,
        conversation,
        isNew,
        history,
        messages: b.messages as [...ChatMessage[], ChatMessage],
        questionMeta,
        filePath: b.filePath,
        selection: b.selection,
        openTabs: b.openTabs,
        model: b.model,
        mode,
      });
      ctx.request.signal.addEventListener("abort", () => run.abort(), { once: true });
      if (b.stream === false) {
        // Waits for the whole answer; a long one keeps the connection open with leading spaces (valid JSON whitespace).
        await settledWithin(run.finished, PRIME_MS);
        if (run.earlyError !== null) throw run.earlyError;
        run.begin();
        run.delivered();
        const result = collect(run);
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            const enc = new TextEncoder();
            const keep = setInterval(() => controller.enqueue(enc.encode(" ")), KEEPALIVE_MS);
            try {
              controller.enqueue(enc.encode(JSON.stringify(await result)));
              controller.close();
            } finally {
              clearInterval(keep);
            }
          },
          cancel: () => run.abort(),
        });
        return new Response(body, { headers: { "Content-Type": "application/json; charset=utf-8", "X-Conversation-Id": conversation.id } });
      }
      await settledWithin(run.firstEvent, PRIME_MS);
      if (run.earlyError !== null) throw run.earlyError;
      run.begin();
      const sse = (ctx.request.headers.get("accept") ?? "").includes("text/event-stream");
      return new Response(streamBody(run, encoder(sse)), {
        headers: {
          "Content-Type": sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson; charset=utf-8",
          "Cache-Control": "no-cache, no-transform",
          "X-Accel-Buffering": "no",
          "X-Conversation-Id": conversation.id,
        },
      });
    },
  }),

  route({
    method: "GET",
    path: "/api/v1/ai/conversations",
    permission: "user",
    kind: "api",
    summary: "Your assistant conversations, newest first; with `projectId`, those about that project — yours and the ones its readers shared. `limit` (≤ 200), `before` (updatedAt, ms) pages back.",
    tags: ["ai"],
    query: t.Object({ projectId: t.Optional(t.String({ minLength: 1 })), limit: t.Optional(t.String({ pattern: "^[0-9]{1,3}$" })), before: t.Optional(t.String({ pattern: "^[0-9]{1,15}$" })) }),
    handler: async (ctx) => {
      const { app } = ctx;
      const projectId = ctx.query.projectId;
      if (projectId !== undefined) await readableProject(app, ctx, projectId);
      const rows = await listConversations(app, ctx.actor, {
        projectId,
        limit: ctx.query.limit !== undefined ? Number(ctx.query.limit) : undefined,
        before: ctx.query.before !== undefined ? Number(ctx.query.before) : undefined,
      });
      return json({ conversations: rows.map((r) => conversationJson(r.conversation, r.owner, ctx.actor)) });
    },
  }),

  route({
    method: "GET",
    path: "/api/v1/ai/conversations/:cid",
    permission: "user",
    kind: "api",
    summary: "One conversation with its messages (each with meta: files included, model, usage, actions). Its owner, or — when shared — anyone who can read its project.",
    tags: ["ai"],
    handler: async (ctx) => {
      const v = await visibleConversation(ctx.app, ctx.actor, ctx.params.cid ?? "");
      const messages = await conversationMessages(ctx.app.db.orm, v.conversation.id);
      return json({ conversation: conversationJson(v.conversation, v.owner, ctx.actor), messages: messages.map(messageJson) });
    },
  }),

  route({
    method: "PATCH",
    path: "/api/v1/ai/conversations/:cid",
    permission: "user",
    kind: "api",
    summary: "Renames a conversation or shares it with the readers of its project (`shared`). Its owner only.",
    tags: ["ai"],
    body: t.Object({ title: t.Optional(t.String({ minLength: 1, maxLength: TITLE_MAX })), shared: t.Optional(t.Boolean()) }),
    handler: async (ctx) => {
      const v = await updateConversation(ctx.app, ctx.actor, ctx.params.cid ?? "", ctx.body);
      return json({ conversation: conversationJson(v.conversation, v.owner, ctx.actor) });
    },
  }),

  route({
    method: "DELETE",
    path: "/api/v1/ai/conversations/:cid",
    permission: "user",
    kind: "api",
    summary: "Deletes a conversation and its messages. Its owner only.",
    tags: ["ai"],
    handler: async (ctx) => {
      await deleteConversation(ctx.app, ctx.actor, ctx.params.cid ?? "");
      return noContent();
    },
  }),
];
