/**
 * Code actions end to end against a real `wove serve`: an admin adds a fake OpenAI-compatible
 * provider (real HTTP on loopback); an agent run through the chat API reads a file and proposes
 * an edit; one person applies it through the API while two stock y-websocket editors have the
 * file open. The second editor's Y.Text shows the change within a second, the working tree gets
 * it, and the event log records it with the conversation id. Undo comes back the same way.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import Database from "libsql";
import { join } from "node:path";
import { test } from "../helpers/quiet.ts";
import { waitFor, TestServer } from "../helpers/server.ts";
import { connect, disconnectAll, synced, teamWithRoles, type Team3 } from "../helpers/collab.ts";
import { startFakeOpenAI, type FakeRequest, type FakeServer, type FakeToolCall } from "../helpers/fake-models.ts";

let srv: TestServer;
let fake: FakeServer;
let team: Team3;
let projectId: string;
const PATH = "src/math.js";
const MATH = "export function add(a, b) {\n  return a + b;\n}\n\nexport function sub(a, b) {\n  return a - b;\n}\n";
const SWAPPED = MATH.replace("a + b", "b + a");

type Wire = { role: string; content: string | null; tool_calls?: { function: { name: string } }[] };
const messagesOf = (r: FakeRequest) => ((r.body as { messages?: Wire[] } | undefined)?.messages ?? []);
const hasTools = (r: FakeRequest) => ((r.body as { tools?: unknown[] } | undefined)?.tools ?? []).length > 0;
const called = (r: FakeRequest) => messagesOf(r).flatMap((m) => (m.tool_calls ?? []).map((c) => c.function.name));

async function fileText(path: string): Promise<string> {
  const r = await srv.api("GET", `/api/v1/projects/${projectId}/files/${path}`, { token: team.tokens.owner });
  return r.status === 200 ? r.text : `<${r.status}>`;
}

/** Events of a kind for the project, read straight from the database file (another connection, read-only). */
function eventsOf(kind: string): { actorId: string; data: Record<string, unknown> }[] {
  const db = new Database(join(srv.dataDir, "wove.db"), { readonly: true } as ConstructorParameters<typeof Database>[1]);
  try {
    const rows = db.prepare("SELECT actor_id, data FROM events WHERE kind = ? AND project_id = ? ORDER BY id").all([kind, projectId]) as { actor_id: string; data: string }[];
    return rows.map((r) => ({ actorId: r.actor_id, data: JSON.parse(r.data) as Record<string, unknown> }));
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  fake = await startFakeOpenAI();
  // The model a tool-calling agent would be: route to "edit", read the file, propose the swap, then say so.
  fake.setScript({
    reply: (r) => {
      if (!hasTools(r)) return messagesOf(r)[0]?.content?.startsWith("You route requests") ? "edit" : "Done.";
      return called(r).includes("propose_edit") ? "I swapped the operands of add." : "";
    },
    toolCalls: (r): FakeToolCall[] => {
      if (!hasTools(r)) return [];
      const done = called(r);
      if (!done.includes("read_file")) return [{ name: "read_file", arguments: { path: PATH } }];
      if (!done.includes("propose_edit")) return [{ name: "propose_edit", arguments: { summary: "Swap the operands of add", edits: [{ path: PATH, content: SWAPPED }] } }];
      return [];
    },
  });
  srv = await TestServer.start({ env: { WOVE_COLLAB_IDLE: "1s" } });
  team = await teamWithRoles(srv);
  const admin = await srv.createUser({ role: "admin", username: "root" });
  const adminToken = await srv.token(admin.email, "read,write,admin");
  const added = await srv.api("POST", "/api/v1/admin/providers", { token: adminToken, body: { id: "fake", kind: "openai-compatible", url: fake.url } });
  expect(added.status).toBe(201);
  const p = await srv.api("POST", "/api/v1/projects", { token: team.tokens.owner, body: { name: "Assisted", team: team.teamId } });
  projectId = (p.json as { id: string }).id;
  expect((await srv.api("PUT", `/api/v1/projects/${projectId}/files/${PATH}`, { token: team.tokens.owner, body: MATH })).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await srv?.stop();
  await fake?.stop();
}, 120_000);

describe("a code action through the live document", () => {
  test("proposed by an agent, applied by one person, seen by a second connected editor within a second", async () => {
    const a = connect(srv, projectId, PATH, team.tokens.owner);
    const b = connect(srv, projectId, PATH, team.tokens.writer);
    await Promise.all([synced(a), synced(b)]);
    expect(b.text.toString()).toBe(MATH);

    const chat = await srv.api("POST", "/api/v1/ai/chat", {
      token: team.tokens.owner,
      body: { messages: [{ role: "user", content: "Swap the operands in add" }], projectId, mode: "agent", stream: false },
    });
    expect(chat.status).toBe(200);
    const answer = chat.json as { conversationId: string; actions: { id: string; files: string[] }[]; logs: { agent: string; text: string }[]; message: { content: string } };
    expect(answer.actions.map((x) => x.files)).toEqual([[PATH]]);
    expect(answer.message.content).toBe("I swapped the operands of add.");
    expect(answer.logs.some((l) => l.agent === "edit" && l.text === `read_file ${PATH}`)).toBe(true);
    const actionId = answer.actions[0]?.id as string;

    // The diff, as anyone who can read the project sees it (the viewer here).
    const diff = await srv.api("GET", `/api/v1/ai/actions/${actionId}`, { token: team.tokens.viewer });
    expect(diff.status).toBe(200);
    expect((diff.json as { files: { diff: string }[] }).files[0]?.diff).toContain("-  return a + b;\n+  return b + a;\n");
    // Nothing changed before anyone applies it.
    expect(b.text.toString()).toBe(MATH);
    expect((await srv.api("POST", `/api/v1/ai/actions/${actionId}/apply`, { token: team.tokens.viewer })).status).toBe(403);

    const appliedAt = Date.now();
    const applied = await srv.api("POST", `/api/v1/ai/actions/${actionId}/apply`, { token: team.tokens.writer });
    expect(applied.status).toBe(200);
    await waitFor("the second editor to show the change", () => b.text.toString() === SWAPPED, 1000);
    expect(Date.now() - appliedAt).toBeLessThan(1000);
    await waitFor("the first editor too", () => a.text.toString() === SWAPPED, 1000);
    await waitFor("the working tree", async () => (await fileText(PATH)) === SWAPPED, 3000);

    const events = eventsOf("ai.action_applied");
    expect(events.length).toBe(1);
    expect(events[0]?.actorId).toBe(team.writer.id);
    expect(events[0]?.data).toMatchObject({ actionId, conversationId: answer.conversationId, files: [PATH] });

    // The second editor types on another line; undo reverts the action and keeps the typing, live.
    b.text.insert(0, "// reviewed\n");
    await waitFor("the typing to reach the first editor", () => a.text.toString() === `// reviewed\n${SWAPPED}`, 2000);
    const undone = await srv.api("POST", `/api/v1/ai/actions/${actionId}/undo`, { token: team.tokens.owner });
    expect(undone.status).toBe(200);
    await waitFor("both editors to show the undo", () => a.text.toString() === `// reviewed\n${MATH}` && b.text.toString() === `// reviewed\n${MATH}`, 1000);
    await waitFor("the working tree to follow", async () => (await fileText(PATH)) === `// reviewed\n${MATH}`, 3000);
    expect(eventsOf("ai.action_undone")[0]?.data).toMatchObject({ actionId, conversationId: answer.conversationId });

    // Typed over the lines the action changes: applying it now is refused, and nothing moves.
    const at = b.text.toString().indexOf("a + b");
    b.text.insert(at, "0 + ");
    await waitFor("the typing to arrive", () => a.text.toString().includes("0 + a + b"), 2000);
    const refused = await srv.api("POST", `/api/v1/ai/actions/${actionId}/apply`, { token: team.tokens.writer });
    expect(refused.status).toBe(409);
    expect((refused.json as { error: { code: string; details: Record<string, string> } }).error).toMatchObject({ code: "conflict", details: { [PATH]: expect.any(String) } });
    expect(a.text.toString()).toContain("0 + a + b");
    disconnectAll(a, b);
  });
});
