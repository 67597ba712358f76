/**
 * The chat and conversation API on a real listener, through the real router and Ollama plugin
 * against the fake Ollama: NDJSON, SSE and one-JSON answers, continuing a conversation, early
 * failures as plain HTTP errors (nothing stored), 429 with Retry-After, the client leaving
 * mid-answer, and who may read or change a conversation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Project, User } from "../db/schema.ts";
import { aiConversations } from "../db/schema.ts";
import { setLogSink } from "../lib/log.ts";
import { createUser } from "../auth/users.ts";
import { createToken } from "../auth/tokens.ts";
import { createProject } from "../projects/projects.ts";
import { writeProjectFile } from "../projects/files.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { createServer } from "../server/server.ts";
import { waitFor } from "../../test/helpers/server.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { startFakeOllama, type FakeServer } from "../../test/helpers/fake-models.ts";
import { addProvider } from "./providers.ts";
import { saveQuota } from "./quotas-admin.ts";
import { resetRateBuckets } from "./quotas.ts";
import { aiChatApiRoutes } from "./chat-routes.ts";
import { conversationMessages, type ConversationJson, type MessageJson } from "./conversations.ts";
import type { ChatEvent } from "./types.ts";

let app: App;
let dir: string;
let ollama: FakeServer;
let server: { stop(): unknown };
let base: string;
let owner: User;
const tokens: Record<"owner" | "viewer" | "outsider", string> = { owner: "", viewer: "", outsider: "" };
let project: Project;

type Res = { status: number; headers: Headers; text: string };

async function call(method: string, path: string, who: keyof typeof tokens, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${tokens[who]}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
const events = (text: string): ChatEvent[] =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as ChatEvent);
const answer = (evs: ChatEvent[]) => evs.map((e) => (e.type === "token" ? e.text : "")).join("");
const conversationCount = async () => (await app.db.orm.select().from(aiConversations).all()).length;

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-ai-chat-"));
  const orm = app.db.orm;
  const mk = (username: string) => createUser(orm, { email: `${username}@example.com`, username, name: username, role: "member" }, null);
  owner = await mk("olga");
  const viewer = await mk("vera");
  const outsider = await mk("otto");
  for (const [k, u] of [["owner", owner], ["viewer", viewer], ["outsider", outsider]] as const) tokens[k] = (await createToken(orm, u, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  const team = await createTeam(orm, owner, { name: "Makers", slug: "makers" });
  await setMember(orm, team.id, viewer.id, "viewer", owner.id, "owner");
  project = await createProject(orm, app.config.dataDir, owner, { name: "Chat Demo", visibility: "private", team: team.id });
  await writeProjectFile(orm, app.config.dataDir, project, "src/app.ts", new TextEncoder().encode("export const answer = 42;\n"), app.config.maxFileBytes, owner.id);
  ollama = await startFakeOllama();
  await addProvider(app, { id: "local", kind: "ollama", url: ollama.url }, null);
  const s = createServer(app, { routes: aiChatApiRoutes }).listen({ port: 0, hostname: "127.0.0.1" });
  server = s;
  base = `http://127.0.0.1:${s.server?.port}`;
});
afterAll(async () => {
  await server?.stop();
  await ollama?.stop();
  closeTempApp(app, dir);
});
beforeEach(() => {
  ollama.setScript({ reply: (r) => `You said: ${r.lastUser}` });
  ollama.requests.length = 0;
  resetRateBuckets(app);
});

describe("POST /api/v1/ai/chat", () => {
  test("NDJSON: context first, tokens as they come, done with usage; the conversation is stored with meta", async () => {
    const r = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "What is answer?" }], projectId: project.id, filePath: "src/app.ts" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("application/x-ndjson");
    const evs = events(r.text);
    expect(evs[0]).toEqual({ type: "context", files: [{ path: "src/app.ts", reason: "current", tokens: expect.any(Number) }], tokens: expect.any(Number) });
    expect(evs.filter((e) => e.type === "token").length).toBeGreaterThan(2);
    expect(answer(evs)).toBe("You said: What is answer?");
    const done = evs[evs.length - 1];
    if (done?.type !== "done") throw new Error(`the stream ended with ${JSON.stringify(done)}`);
    expect(done.usage).toMatchObject({ modelUsed: "qwen2.5-coder:1.5b", providerId: "local" });
    expect(done.usage.tokensUsed).toBe(done.usage.tokensIn + done.usage.tokensOut);
    expect(done.usage.tokensUsed).toBeGreaterThan(0);
    expect(done.conversationId).toBe(r.headers.get("x-conversation-id") as string);
    // The model saw the file.
    const sent = JSON.stringify(ollama.requests.find((q) => q.path === "/api/chat")?.body);
    expect(sent).toContain("export const answer = 42;");

    const got = await call("GET", `/api/v1/ai/conversations/${done.conversationId}`, "owner");
    const c = JSON.parse(got.text) as { conversation: ConversationJson; messages: MessageJson[] };
    expect(c.conversation).toMatchObject({ title: "What is answer?", projectId: project.id, shared: false, mine: true });
    expect(c.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", "What is answer?"],
      ["assistant", "You said: What is answer?"],
    ]);
    expect(c.messages[1]?.meta).toMatchObject({ model: "qwen2.5-coder:1.5b", providerId: "local", mode: "chat", files: [{ path: "src/app.ts", reason: "current" }] });
  });

  test("SSE with Accept: text/event-stream; the next question continues the conversation with its history", async () => {
    const first = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "Remember the word kiwi." }] });
    const cid = first.headers.get("x-conversation-id") as string;
    const r = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "Which word?" }], conversationId: cid }, { accept: "text/event-stream" });
    expect(r.headers.get("content-type")).toStartWith("text/event-stream");
    const blocks = r.text.split("\n\n").filter((b) => b.startsWith("event: "));
    expect(blocks[0]).toStartWith("event: context\ndata: {");
    expect(blocks[blocks.length - 1]).toStartWith("event: done\ndata: ");
    const last = ollama.requests.filter((q) => q.path === "/api/chat").pop()?.body as { messages: { role: string; content: string }[] };
    expect(last.messages.map((m) => m.content)).toEqual([expect.any(String), "Remember the word kiwi.", "You said: Remember the word kiwi.", "Which word?"]);
  });

  test("stream: false answers with one JSON object", async () => {
    const r = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "hi" }], stream: false });
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as { message: { content: string }; usage: { modelUsed: string }; conversationId: string };
    expect(body.message.content).toBe("You said: hi");
    expect(body.usage.modelUsed).toBe("qwen2.5-coder:1.5b");
    expect(body.conversationId).toBe(r.headers.get("x-conversation-id") as string);
  });

  test("failures before the answer starts are plain HTTP errors and store nothing", async () => {
    const before = await conversationCount();
    const unknown = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "hi" }], model: "no-such-model" });
    expect(unknown.status).toBe(422);
    expect(JSON.parse(unknown.text).error.code).toBe("unknown_model");
    ollama.setScript({ failWith: { status: 400, body: '{"error":"bad"}' } });
    const refused = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "hi" }] });
    expect(refused.status).toBe(400);
    ollama.setScript({ failWith: { status: 503, retryAfter: 5 } });
    const down = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "hi" }] });
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text).error.code).toBe("ai_unavailable");
    expect(await conversationCount()).toBe(before);
    const notMine = await call("POST", "/api/v1/ai/chat", "outsider", { messages: [{ role: "user", content: "hi" }], projectId: project.id });
    expect(notMine.status).toBe(404);
    const notAQuestion = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "assistant", content: "hi" }] });
    expect(notAQuestion.status).toBe(422);
  });

  test("over the per-minute limit: 429 with Retry-After and a clear message", async () => {
    await saveQuota(app, { scope: "user", subject: "otto", dailyTokens: null, requestsPerMinute: 1 }, null);
    expect((await call("POST", "/api/v1/ai/chat", "outsider", { messages: [{ role: "user", content: "one" }] })).status).toBe(200);
    const r = await call("POST", "/api/v1/ai/chat", "outsider", { messages: [{ role: "user", content: "two" }] });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(JSON.parse(r.text).error.message).toMatch(/minute|limit/i);
  });

  test("a conversation longer than the model's window: older messages are summarised through the router, newer ones sent as they are", async () => {
    const filler = "the quick brown fox jumps over the lazy dog ".repeat(40);
    const messages = Array.from({ length: 30 }, (_, i) => ({ role: i % 2 === 0 ? ("user" as const) : ("assistant" as const), content: `turn ${i}: ${filler}` }));
    messages.push({ role: "user", content: "So what did we decide?" });
    ollama.setScript({ reply: (r) => (JSON.stringify(r.body).includes("Summarise this conversation") ? "We talked about foxes." : `You said: ${r.lastUser}`) });
    const r = await call("POST", "/api/v1/ai/chat", "owner", { messages });
    expect(r.status).toBe(200);
    const chats = ollama.requests.filter((q) => q.path === "/api/chat").map((q) => q.body as { messages: { role: string; content: string }[] });
    expect(chats.length).toBe(2);
    expect(chats[0]?.messages[0]?.content).toStartWith("Summarise this conversation");
    const final = chats[1]?.messages ?? [];
    expect(final.some((m) => m.content === "Summary of the earlier part of this conversation:\nWe talked about foxes.")).toBe(true);
    expect(final.some((m) => m.content.startsWith("turn 0:"))).toBe(false);
    expect(final.some((m) => m.content.startsWith("turn 29:"))).toBe(true);
    expect(final[final.length - 1]?.content).toBe("So what did we decide?");
    // The summary is kept on the conversation up to the newest message it covers, which was stored with the question.
    const cid = r.headers.get("x-conversation-id") as string;
    const row = await app.db.orm.select().from(aiConversations).where(eq(aiConversations.id, cid)).get();
    expect(row?.summary).toBe("We talked about foxes.");
    const stored = await conversationMessages(app.db.orm, cid);
    const covered = stored.filter((m) => m.id <= (row?.summaryUpto ?? 0));
    expect(covered.length).toBeGreaterThan(0);
    expect(final.some((m) => m.content === covered[covered.length - 1]?.content)).toBe(false);
    expect(final.some((m) => m.content === stored[covered.length]?.content)).toBe(true);
  });

  test("agent mode runs the agents and streams their log before the answer", async () => {
    const r = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "explain what answer is" }], projectId: project.id, mode: "agent" });
    expect(r.status).toBe(200);
    const evs = events(r.text);
    expect(evs[0]?.type).toBe("context");
    expect(evs.some((e) => e.type === "log")).toBe(true);
    expect(answer(evs).length).toBeGreaterThan(0);
    const done = evs[evs.length - 1];
    expect(done?.type).toBe("done");
    const cid = r.headers.get("x-conversation-id") as string;
    const c = JSON.parse((await call("GET", `/api/v1/ai/conversations/${cid}`, "owner")).text) as { messages: MessageJson[] };
    expect(c.messages[1]?.meta.mode).toBe("agent");
    expect(c.messages[1]?.meta.logs?.length).toBeGreaterThan(0);
    expect((await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "x" }], mode: "agent" })).status).toBe(422);
  });

  test("closing the connection mid-answer aborts the model call and keeps what arrived", async () => {
    ollama.setScript({ reply: Array.from({ length: 80 }, (_, i) => `word${i}`).join(" "), tokensPerSecond: 40 });
    const ctl = new AbortController();
    const res = await fetch(`${base}/api/v1/ai/chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.owner}`, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "count slowly" }] }),
      signal: ctl.signal,
    });
    const cid = res.headers.get("x-conversation-id") as string;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = "";
    while ((seen.match(/"token"/g) ?? []).length < 3) seen += new TextDecoder().decode((await reader.read()).value);
    ctl.abort();
    await waitFor("the fake to see the request cancelled", () => ollama.requests.some((q) => q.path === "/api/chat" && q.cancelled), 3000);
    let stored: MessageJson | undefined;
    await waitFor(
      "the partial answer to be stored",
      async () => {
        const c = JSON.parse((await call("GET", `/api/v1/ai/conversations/${cid}`, "owner")).text) as { messages: MessageJson[] };
        stored = c.messages.find((m) => m.role === "assistant");
        return stored !== undefined;
      },
      3000,
    );
    expect(stored?.meta.stopped).toBe(true);
    expect(stored?.content).toStartWith("word0 word1");
    expect(stored?.content).not.toContain("word79");
  });
});

describe("conversations", () => {
  let cid: string;
  beforeAll(async () => {
    const r = await call("POST", "/api/v1/ai/chat", "owner", { messages: [{ role: "user", content: "About the project" }], projectId: project.id });
    cid = r.headers.get("x-conversation-id") as string;
  });

  test("listed for their owner, per project; private until shared", async () => {
    const mine = JSON.parse((await call("GET", `/api/v1/ai/conversations?projectId=${project.id}`, "owner")).text) as { conversations: ConversationJson[] };
    expect(mine.conversations.map((c) => c.id)).toContain(cid);
    const theirs = JSON.parse((await call("GET", `/api/v1/ai/conversations?projectId=${project.id}`, "viewer")).text) as { conversations: ConversationJson[] };
    expect(theirs.conversations.map((c) => c.id)).not.toContain(cid);
    expect((await call("GET", `/api/v1/ai/conversations/${cid}`, "viewer")).status).toBe(404);
    expect((await call("GET", `/api/v1/ai/conversations?projectId=${project.id}`, "outsider")).status).toBe(404);
  });

  test("shared: the project's readers may read it, only the owner changes it; outsiders still see nothing", async () => {
    const shared = await call("PATCH", `/api/v1/ai/conversations/${cid}`, "owner", { shared: true, title: "Project chat" });
    expect(JSON.parse(shared.text).conversation).toMatchObject({ shared: true, title: "Project chat" });
    const list = JSON.parse((await call("GET", `/api/v1/ai/conversations?projectId=${project.id}`, "viewer")).text) as { conversations: ConversationJson[] };
    expect(list.conversations.find((c) => c.id === cid)).toMatchObject({ mine: false, owner: { username: "olga" } });
    expect((await call("GET", `/api/v1/ai/conversations/${cid}`, "viewer")).status).toBe(200);
    expect((await call("PATCH", `/api/v1/ai/conversations/${cid}`, "viewer", { title: "Mine now" })).status).toBe(403);
    expect((await call("DELETE", `/api/v1/ai/conversations/${cid}`, "viewer")).status).toBe(403);
    expect((await call("POST", "/api/v1/ai/chat", "viewer", { messages: [{ role: "user", content: "me too" }], conversationId: cid })).status).toBe(403);
    expect((await call("GET", `/api/v1/ai/conversations/${cid}`, "outsider")).status).toBe(404);
  });

  test("deleted by its owner, with its messages", async () => {
    expect((await call("DELETE", `/api/v1/ai/conversations/${cid}`, "owner")).status).toBe(204);
    expect((await call("GET", `/api/v1/ai/conversations/${cid}`, "owner")).status).toBe(404);
  });
});
