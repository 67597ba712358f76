/**
 * The AI assistant's "Done when", against the compiled executable: a chat request streams from
 * a (fake, protocol-faithful) Ollama through `POST /api/v1/ai/chat`; when that Ollama dies the
 * router falls back to an OpenAI-compatible provider added second, and the usage API shows
 * calls to both. Providers are added the two ways an admin can: the CLI and the admin API.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { test } from "../helpers/quiet.ts";
import { runCli, TestServer, type TestUser } from "../helpers/server.ts";
import { compiledWove } from "../helpers/binary.ts";
import { startFakeOllama, startFakeOpenAI, type FakeServer } from "../helpers/fake-models.ts";

let binary: string;
let srv: TestServer;
let ollama: FakeServer;
let openai: FakeServer;
let ada: TestUser;
let token: string;

type Event = { type: string; text?: string; usage?: { tokensUsed: number; modelUsed: string; providerId: string }; from?: string; to?: string };

/** POST /api/v1/ai/chat, read as NDJSON, with the times the events arrived. */
async function chat(question: string): Promise<{ status: number; events: Event[]; at: number[] }> {
  const started = performance.now();
  const res = await fetch(`${srv.url}/api/v1/ai/chat`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: question }] }),
  });
  const events: Event[] = [];
  const at: number[] = [];
  if (!res.ok || !res.body) return { status: res.status, events, at };
  const decoder = new TextDecoder();
  let pending = "";
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue; // keep-alive
      events.push(JSON.parse(line) as Event);
      at.push(performance.now() - started);
    }
  }
  return { status: res.status, events, at };
}

beforeAll(async () => {
  binary = await compiledWove();
  ollama = await startFakeOllama({ reply: "Streaming from the local model, word by word.", tokensPerSecond: 40 });
  openai = await startFakeOpenAI({ reply: "The remote model answers instead." });
  srv = await TestServer.start({ command: [binary] });
  const admin = await srv.createUser({ role: "admin", username: "root", name: "Root" });
  ada = await srv.createUser({ email: "ada@example.com", username: "ada", name: "Ada" });
  token = await srv.token(ada.email);
  // First provider through the CLI (works next to the running server), second through the admin API.
  const added = await runCli(["admin", "provider", "add", "--data", srv.dataDir, "--id", "local", "--kind", "ollama", "--url", ollama.url], { command: [binary] });
  expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: "" });
  const adminToken = await srv.token(admin.email, "read,write,admin");
  const second = await srv.api("POST", "/api/v1/admin/providers", { token: adminToken, body: { id: "remote", kind: "openai-compatible", url: openai.url, apiKey: "sk-test" } });
  expect(second.status).toBe(201);
}, 240_000);

afterAll(async () => {
  await srv?.stop();
  await ollama?.stop();
  await openai?.stop();
}, 120_000);

test("a chat request streams through the binary from the fake Ollama, token by token", async () => {
  const r = await chat("Say something.");
  expect(r.status).toBe(200);
  const tokens = r.events.filter((e) => e.type === "token");
  expect(tokens.map((e) => e.text).join("")).toBe("Streaming from the local model, word by word.");
  // Streamed, not buffered: at 40 tokens/s the first and last tokens arrive well apart.
  const first = r.at[r.events.indexOf(tokens[0]!)]!;
  const last = r.at[r.events.indexOf(tokens.at(-1)!)]!;
  expect(last - first).toBeGreaterThan(100);
  const done = r.events.at(-1);
  expect(done?.type).toBe("done");
  expect(done?.usage?.providerId).toBe("local");
  expect(done?.usage?.tokensUsed).toBeGreaterThan(0);
}, 60_000);

test("killing the fake Ollama makes the router fall back to the OpenAI-compatible provider; usage shows both", async () => {
  ollama.kill();
  const r = await chat("Say something else.");
  expect(r.status).toBe(200);
  expect(r.events.find((e) => e.type === "fallback")).toMatchObject({ type: "fallback" });
  expect(r.events.filter((e) => e.type === "token").map((e) => e.text).join("")).toBe("The remote model answers instead.");
  const done = r.events.at(-1);
  expect(done?.type).toBe("done");
  expect(done?.usage?.providerId).toBe("remote");
  expect(openai.requests.length).toBeGreaterThan(0);
  const usage = await srv.api("GET", "/api/v1/ai/usage", { token });
  expect(usage.status).toBe(200);
  const body = JSON.stringify(usage.json);
  expect(body).toContain('"local"');
  expect(body).toContain('"remote"');
}, 60_000);
