/**
 * Assistant conversations: one per chat thread, owned by the user who started it, optionally
 * about a project. Who may see one:
 *
 * - its owner, while they can still read its project (a conversation quotes the project's
 *   code, so losing access to the project hides it too);
 * - when it is shared (shared = 1), anyone who can read its project — reading only: the owner
 *   alone adds messages, renames, shares or deletes it.
 *
 * Anyone else is told it does not exist (404), never that it is someone else's.
 * Messages keep their meta: the files the context included, the model that answered, usage
 * and the code actions proposed.
 */
import { and, asc, desc, eq, getTableName, gt, inArray, lt, or, sql } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Orm } from "../db/client.ts";
import { aiConversations, aiMessages, users } from "../db/schema.ts";
import type { Actor } from "../auth/actor.ts";
import { projectAccess } from "../projects/access.ts";
import { newId } from "../lib/crypto.ts";
import { forbidden, notFound } from "../lib/errors.ts";
import { insertRows, writeTogether, type WriteKind } from "../db/write-together.ts";
import type { ChatEvent, ChatRole } from "./types.ts";

export type Conversation = typeof aiConversations.$inferSelect;
export type StoredMessage = typeof aiMessages.$inferSelect;

export const TITLE_MAX = 120;

/** A file the context manager put into the prompt (the `context` event's entries). */
export type IncludedFile = Extract<ChatEvent, { type: "context" }>["files"][number];

/** What a message remembers besides its text. */
export type MessageMeta = {
  files?: IncludedFile[];
  contextTokens?: number;
  filePath?: string;
  selection?: { startLine: number; endLine: number };
  model?: string;
  providerId?: string;
  usage?: { tokensIn: number; tokensOut: number; latencyMs: number; costMicros: number };
  actions?: { id: string; summary: string; files: string[] }[];
  logs?: { agent: string; text: string; runId: string }[];
  fallbacks?: { from: string; to: string; reason: string }[];
  mode?: "chat" | "agent";
  /** The user pressed Stop (or left): the text is what had arrived. */
  stopped?: boolean;
  error?: { code: string; message: string };
};

export type ConversationJson = {
  id: string;
  title: string;
  projectId: string | null;
  shared: boolean;
  owner: { id: string; username: string; name: string };
  /** True when the caller owns it (and so may write to it). */
  mine: boolean;
  createdAt: string;
  updatedAt: string;
};

export type MessageJson = { id: number; role: ChatRole; content: string; meta: MessageMeta; createdAt: string };

type Owner = { id: string; username: string; name: string };

export function conversationJson(c: Conversation, owner: Owner, actor: Actor): ConversationJson {
  return {
    id: c.id,
    title: c.title,
    projectId: c.projectId,
    shared: c.shared,
    owner,
    mine: actor.kind === "user" && actor.user.id === c.userId,
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}

export function parseMeta(text: string): MessageMeta {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as MessageMeta) : {};
  } catch {
    return {};
  }
}

export function messageJson(m: StoredMessage): MessageJson {
  return { id: m.id, role: m.role, content: m.content, meta: parseMeta(m.meta), createdAt: new Date(m.createdAt).toISOString() };
}

/** A title from the first question: its first line, shortened at a word. */
export function titleFrom(text: string): string {
  const line = text.trim().split("\n")[0]?.trim() ?? "";
  if (line.length <= 60) return line || "New conversation";
  const cut = line.slice(0, 60);
  const space = cut.lastIndexOf(" ");
  return `${(space > 30 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** A new conversation's row, not stored yet: storeTurn stores it with its first messages. */
export function newConversation(input: { userId: string; projectId: string | null; title: string }): Conversation {
  const now = Date.now();
  return {
    id: newId(),
    userId: input.userId,
    projectId: input.projectId,
    title: input.title.slice(0, TITLE_MAX),
    shared: false,
    summary: null,
    summaryUpto: null,
    createdAt: now,
    updatedAt: now,
  };
}

export async function createConversation(orm: Orm, input: { userId: string; projectId: string | null; title: string }): Promise<Conversation> {
  const row = newConversation(input);
  await orm.insert(aiConversations).values(row);
  return row;
}

export type Visible = { conversation: Conversation; owner: Owner; canWrite: boolean };

/** The conversation if `actor` may see it (404 otherwise); `canWrite` says whether they own it. */
export async function visibleConversation(app: App, actor: Actor, id: string): Promise<Visible> {
  if (actor.kind !== "user") throw notFound("Conversation");
  const row = await app.db.orm
    .select({ c: aiConversations, owner: { id: users.id, username: users.username, name: users.name } })
    .from(aiConversations)
    .innerJoin(users, eq(users.id, aiConversations.userId))
    .where(eq(aiConversations.id, id))
    .get();
  if (!row) throw notFound("Conversation");
  const mine = row.c.userId === actor.user.id;
  if (!mine && !row.c.shared) throw notFound("Conversation");
  if (row.c.projectId !== null) {
    const { level } = await projectAccess(app.db.orm, actor, row.c.projectId);
    if (level === "none") throw notFound("Conversation");
  }
  return { conversation: row.c, owner: row.owner, canWrite: mine };
}

/** Like visibleConversation, but only for its owner: a reader of a shared one gets 403. */
export async function ownConversation(app: App, actor: Actor, id: string): Promise<Visible> {
  const v = await visibleConversation(app, actor, id);
  if (!v.canWrite) throw forbidden("Only the person who started this conversation can change it.");
  return v;
}

export type ListOptions = { projectId?: string; limit?: number; before?: number };

/**
 * Conversations for the caller, newest first: in one project, their own and the ones others
 * shared there (the caller must be able to read the project — checked by the caller);
 * without a project, all of their own.
 */
export async function listConversations(app: App, actor: Actor, o: ListOptions = {}): Promise<{ conversation: Conversation; owner: Owner }[]> {
  if (actor.kind !== "user") return [];
  const me = actor.user.id;
  const limit = Math.max(1, Math.min(200, o.limit ?? 50));
  const who = o.projectId !== undefined ? and(eq(aiConversations.projectId, o.projectId), or(eq(aiConversations.userId, me), eq(aiConversations.shared, true))) : eq(aiConversations.userId, me);
  const where = o.before !== undefined ? and(who, lt(aiConversations.updatedAt, o.before)) : who;
  const rows = await app.db.orm
    .select({ conversation: aiConversations, owner: { id: users.id, username: users.username, name: users.name } })
    .from(aiConversations)
    .innerJoin(users, eq(users.id, aiConversations.userId))
    .where(where)
    .orderBy(desc(aiConversations.updatedAt), desc(aiConversations.id))
    .limit(limit)
    .all();
  if (o.projectId !== undefined) return rows;
  // Without a project filter, own conversations about projects the caller can no longer read stay hidden.
  const projectIds = [...new Set(rows.map((r) => r.conversation.projectId).filter((p): p is string => p !== null))];
  const readable = new Set<string>();
  for (const p of projectIds) if ((await projectAccess(app.db.orm, actor, p)).level !== "none") readable.add(p);
  return rows.filter((r) => r.conversation.projectId === null || readable.has(r.conversation.projectId));
}

export async function conversationMessages(orm: Orm, conversationId: string, o: { afterId?: number } = {}): Promise<StoredMessage[]> {
  const where = o.afterId !== undefined ? and(eq(aiMessages.conversationId, conversationId), gt(aiMessages.id, o.afterId)) : eq(aiMessages.conversationId, conversationId);
  return orm.select().from(aiMessages).where(where).orderBy(asc(aiMessages.id)).all();
}

export type NewMessage = { role: ChatRole; content: string; meta?: MessageMeta };

const messageRows = (conversationId: string, messages: NewMessage[], now: number) =>
  messages.map((m) => ({ conversationId, role: m.role, content: m.content, meta: JSON.stringify(m.meta ?? {}), createdAt: now }));

/** Appends messages in order and marks the conversation as just used; returns the stored rows. */
export async function appendMessages(orm: Orm, conversationId: string, messages: NewMessage[]): Promise<StoredMessage[]> {
  if (messages.length === 0) return [];
  const now = Date.now();
  const rows = await orm.insert(aiMessages).values(messageRows(conversationId, messages, now)).returning();
  await orm.update(aiConversations).set({ updatedAt: now }).where(eq(aiConversations.id, conversationId));
  return rows;
}

type MessageRow = ReturnType<typeof messageRows>[number];

/** One request's write to a conversation at `at`: the conversation itself when new, message rows, a new summary; it is marked as just used. */
type ConversationWrite = { at: number; conversationId: string; create: Conversation | null; rows: MessageRow[]; summary: { text: string; upto: number } | null };

const conversationWrites: WriteKind<ConversationWrite, StoredMessage[]> = {
  statements(items) {
    const now = Date.now();
    const touched = [...new Set(items.filter((w) => !w.create).map((w) => w.conversationId))];
    const c = aiConversations;
    return [
      ...insertRows(c, items.flatMap((w) => (w.create ? [{ ...w.create, updatedAt: w.at }] : []))),
      ...insertRows(aiMessages, items.flatMap((w) => w.rows), "id"),
      ...(touched.length > 0 ? [{ sql: `UPDATE "${getTableName(c)}" SET "${c.updatedAt.name}" = ? WHERE "${c.id.name}" IN (SELECT value FROM json_each(?))`, args: [now, JSON.stringify(touched)] }] : []),
      ...items.flatMap((w) => (w.summary ? [{ sql: `UPDATE "${getTableName(c)}" SET "${c.summary.name}" = ?, "${c.summaryUpto.name}" = ? WHERE "${c.id.name}" = ?`, args: [w.summary.text, w.summary.upto, w.conversationId] }] : [])),
    ];
  },
  results(items, results) {
    // Each row gets the next id in the order of the VALUES, so sorted by id the returned ids are the items' messages in turn.
    const ids = results.flatMap((r) => (r.columns.length === 1 && r.columns[0] === "id" ? r.rows.map((row) => Number(row.id)) : [])).sort((a, b) => a - b);
    let at = 0;
    return items.map((w) => w.rows.map((row) => ({ ...row, id: ids[at++] ?? 0 })));
  },
};

/**
 * Stores a chat turn — a new conversation (newConversation) with it — in the transaction the
 * tick's other chat writes share (writeTogether). Returns the stored messages.
 */
export function storeTurn(app: App, conversation: Conversation, isNew: boolean, messages: NewMessage[]): Promise<StoredMessage[]> {
  const at = Date.now();
  return writeTogether(app, conversationWrites, { at, conversationId: conversation.id, create: isNew ? conversation : null, rows: messageRows(conversation.id, messages, at), summary: null });
}

/** Stores an answer and a new summary of the conversation's older messages, like storeTurn. */
export async function storeAnswer(app: App, conversationId: string, answer: NewMessage, summary: { text: string; upto: number } | null): Promise<StoredMessage | undefined> {
  const at = Date.now();
  return (await writeTogether(app, conversationWrites, { at, conversationId, create: null, rows: messageRows(conversationId, [answer], at), summary }))[0];
}

export async function updateConversation(app: App, actor: Actor, id: string, patch: { title?: string; shared?: boolean }): Promise<Visible> {
  const v = await ownConversation(app, actor, id);
  const set: Partial<Conversation> = {};
  if (patch.title !== undefined) set.title = patch.title.trim().slice(0, TITLE_MAX) || v.conversation.title;
  // A conversation about no project has no readers to share it with.
  if (patch.shared !== undefined) set.shared = v.conversation.projectId !== null && patch.shared;
  if (Object.keys(set).length === 0) return v;
  await app.db.orm.update(aiConversations).set(set).where(eq(aiConversations.id, id));
  return { ...v, conversation: { ...v.conversation, ...set } };
}

export async function deleteConversation(app: App, actor: Actor, id: string): Promise<void> {
  await ownConversation(app, actor, id);
  // Messages and agent logs go with it (ON DELETE CASCADE); proposed actions keep their row with no conversation.
  await app.db.orm.delete(aiConversations).where(eq(aiConversations.id, id));
}

/** How many messages each conversation holds (for lists). */
export async function messageCounts(orm: Orm, ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await orm
    .select({ id: aiMessages.conversationId, n: sql<number>`count(*)` })
    .from(aiMessages)
    .where(inArray(aiMessages.conversationId, ids))
    .groupBy(aiMessages.conversationId)
    .all();
  return new Map(rows.map((r) => [r.id, Number(r.n)]));
}
