/**
 * The chat path's writes (writeTogether in usage.ts): questions, answers and usage rows of the
 * same tick share one transaction, each caller gets its own rows back, and one caller's failure
 * does not fail the others.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { aiConversations, aiUsage } from "../db/schema.ts";
import { aliceAndBob, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { conversationMessages, newConversation, storeAnswer, storeTurn, type Conversation } from "./conversations.ts";
import { insertRows } from "../db/write-together.ts";
import { recordUsage, type UsageRecord } from "./usage.ts";

let app: App;
let dir: string;
let alice: User;

beforeAll(async () => {
  ({ app, dir } = await openTempApp("wove-ai-conversations-"));
  ({ alice } = await aliceAndBob(app.db.orm));
});
afterAll(() => closeTempApp(app, dir));

/** Counts the transactions the client runs while `f` does its work. */
async function transactionsDuring(f: () => Promise<unknown>): Promise<number> {
  const client = app.db.client;
  const batch = client.batch.bind(client);
  let n = 0;
  client.batch = ((...args: Parameters<typeof batch>) => {
    n++;
    return batch(...args);
  }) as typeof client.batch;
  try {
    await f();
  } finally {
    client.batch = batch;
  }
  return n;
}

const usage = (conversationId: string): UsageRecord => ({
  userId: alice.id,
  teamId: null,
  projectId: null,
  conversationId,
  task: "chat",
  providerId: "local",
  model: "m",
  tokensIn: 3,
  tokensOut: 4,
  latencyMs: 10,
  ttftMs: 2,
  costMicros: 0,
  status: "ok",
  error: null,
});

test("concurrent turns, answers and usage rows are one transaction; every caller gets its own messages back, in order", async () => {
  const earlier = newConversation({ userId: alice.id, projectId: null, title: "Earlier" });
  await storeTurn(app, earlier, true, [{ role: "user", content: "first question" }]);
  const fresh: Conversation[] = Array.from({ length: 40 }, (_, i) => newConversation({ userId: alice.id, projectId: null, title: `Chat ${i}` }));
  let turns: Awaited<ReturnType<typeof storeTurn>>[] = [];
  const transactions = await transactionsDuring(async () => {
    [turns] = await Promise.all([
      Promise.all(fresh.map((c, i) => storeTurn(app, c, true, Array.from({ length: 1 + (i % 3) }, (_, k) => ({ role: k % 2 === 0 ? "user" : "assistant", content: `chat ${i} message ${k}` }))))),
      storeAnswer(app, earlier.id, { role: "assistant", content: "first answer", meta: { model: "m" } }, null),
      ...fresh.map((c) => recordUsage(app, usage(c.id))),
    ]);
  });
  expect(transactions).toBe(1);
  for (const [i, c] of fresh.entries()) {
    const stored = await conversationMessages(app.db.orm, c.id);
    expect(stored.map((m) => m.content)).toEqual(Array.from({ length: 1 + (i % 3) }, (_, k) => `chat ${i} message ${k}`));
    expect(turns[i]?.map((m) => [m.id, m.content])).toEqual(stored.map((m) => [m.id, m.content]));
  }
  expect((await conversationMessages(app.db.orm, earlier.id)).map((m) => m.content)).toEqual(["first question", "first answer"]);
  expect((await app.db.orm.select().from(aiUsage).all()).length).toBe(fresh.length);
});

test("one caller's failure fails only that caller", async () => {
  const ok = newConversation({ userId: alice.id, projectId: null, title: "Fine" });
  await storeTurn(app, ok, true, [{ role: "user", content: "still here?" }]);
  const [gone, kept] = await Promise.allSettled([
    // No such conversation: the foreign key refuses the message.
    storeAnswer(app, "no-such-conversation", { role: "assistant", content: "lost" }, null),
    storeAnswer(app, ok.id, { role: "assistant", content: "yes" }, { text: "They checked in.", upto: 1 }),
  ]);
  expect(gone.status).toBe("rejected");
  expect(kept.status).toBe("fulfilled");
  expect((await conversationMessages(app.db.orm, ok.id)).map((m) => m.content)).toEqual(["still here?", "yes"]);
  const row = await app.db.orm.select().from(aiConversations).where(eq(aiConversations.id, ok.id)).get();
  expect(row).toMatchObject({ summary: "They checked in.", summaryUpto: 1 });
});

test("insertRows splits rows that would bind too many parameters", () => {
  const rows = Array.from({ length: 2500 }, (_, i) => ({ at: i, userId: null, task: "chat", providerId: "p", model: "m", status: "ok" as const }));
  const statements = insertRows(aiUsage, rows);
  expect(statements.length).toBe(Math.ceil(2500 / Math.floor(30_000 / 6)));
  expect(statements.reduce((n, s) => n + (typeof s === "string" ? 0 : (s.args as unknown[]).length), 0)).toBe(2500 * 6);
  expect(typeof statements[0] === "string" ? statements[0] : statements[0]?.sql).toStartWith('INSERT INTO "ai_usage" ("at", "user_id", "task", "provider_id", "model", "status") VALUES (?, ?, ?, ?, ?, ?), (');
});
