/**
 * Code actions: edits to one or more files that the assistant proposes and a person applies.
 *
 * A proposal stores, per file, the text the edit was written against (`before`; null for a new
 * file) and the text it wants (`after`). Applying it (project write access):
 *
 * - Each file is opened as its live collaborative document through the room registry
 *   (collab/rooms.ts), so the change is ONE Yjs transaction per file that every connected editor
 *   receives at once; the room then writes the text back to the working tree exactly as it does
 *   after typing. New files are written with `writeProjectFile`.
 * - The rule when a file changed since the proposal: if its text is still `before`, the edit is
 *   applied as proposed; if it already equals `after`, nothing is done to it; otherwise the
 *   proposal and the changes made since are merged three ways (collab/merge.ts `merge3`, base
 *   `before`) and the merge is applied when it is clean — nobody touched the lines the edit
 *   changes. If any file has overlapping changes (or was deleted, or became binary or too large),
 *   nothing is applied: 409 `conflict`, the status becomes "conflict" and `details` names each
 *   file with the reason. A conflicted action may be applied again later (the same rule runs).
 * - The transactions' origin is an `ActionPeer`, a peer of the room that stands for the applying
 *   person: a `Y.UndoManager` tracking `ActionPeer` (by class) sees exactly the actions' edits.
 *   `undoAction` reverts from the recorded texts: a file still as the action left it goes back to
 *   what it was; one edited since is reverted by the same clean three-way merge (base: the
 *   applied text), keeping the later edits; overlapping edits → 409 and nothing is reverted. A
 *   created file is deleted when it is unchanged. An undone action is "proposed" again.
 * - Applying, undoing and discarding each record an event (`ai.action_applied`, …) carrying the
 *   conversation id and the files.
 */
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { aiActions, events, projects, type Project, type User } from "../db/schema.ts";
import { newId } from "../lib/crypto.ts";
import { ApiError, conflict, forbidden, invalid, notFound, tooLarge } from "../lib/errors.ts";
import { atLeast, projectAccess } from "../projects/access.ts";
import { deleteProjectFile, isProbablyText, readFile, validatePath, writeProjectFile } from "../projects/files.ts";
import { eventValues } from "../events/events.ts";
import { collabFor } from "../collab/rooms.ts";
import { DocRoom, RoomError } from "../collab/room.ts";
import { applyTextChange, merge3 } from "../collab/merge.ts";
import { colorFor, type Identity, type Peer } from "../collab/peer.ts";

/** At most this many files per action. */
export const MAX_ACTION_FILES = 20;
/** Each file's proposed text at most this many bytes (and never more than a file or a live document may hold). */
export const MAX_ACTION_FILE_BYTES = 1024 * 1024;
/** All files' old and new texts together at most this many bytes (one row holds them). */
export const MAX_ACTION_BYTES = 4 * 1024 * 1024;
export const MAX_SUMMARY_CHARS = 500;

export type ActionStatus = "proposed" | "applied" | "discarded" | "conflict";

export type ActionEdit = {
  path: string;
  /** The file's text when the edit was proposed; null when the edit creates the file. */
  before: string | null;
  after: string;
  /** While applied: the text just before (null: the action created the file) and the text it was given. */
  applied?: { from: string | null; to: string; merged: boolean };
};

export type CodeAction = {
  id: string;
  projectId: string;
  conversationId: string | null;
  userId: string | null;
  summary: string;
  edits: ActionEdit[];
  status: ActionStatus;
  createdAt: number;
  appliedAt: number | null;
  appliedBy: string | null;
};

export type ProposeInput = {
  projectId: string;
  conversationId: string | null;
  userId: string | null;
  summary: string;
  edits: { path: string; after: string }[];
};

/**
 * A peer of a file's room that stands for a person applying (or undoing) an action. It is the
 * origin of the action's Yjs transaction: the room stores and broadcasts the update, credits the
 * person with the write-back, and a Y.UndoManager may track the class to see only actions' edits.
 */
export class ActionPeer implements Peer {
  readonly canWrite = true;
  constructor(
    readonly user: Identity,
    readonly actionId: string,
    readonly kind: "apply" | "undo",
  ) {}
  send(): void {}
  close(): void {}
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function fileLimit(app: App): number {
  return Math.min(MAX_ACTION_FILE_BYTES, app.config.maxFileBytes, app.config.collab.maxDocBytes);
}

function rowToAction(r: typeof aiActions.$inferSelect): CodeAction {
  return { ...r, edits: JSON.parse(r.edits) as ActionEdit[], status: r.status };
}

export async function getAction(app: App, id: string): Promise<CodeAction | undefined> {
  const row = await app.db.orm.select().from(aiActions).where(eq(aiActions.id, id)).get();
  return row ? rowToAction(row) : undefined;
}

/**
 * A file's text as collaborators see it now: the live document's when it is open, else the
 * file's. Null when there is no such file; 422 when it is not UTF-8 text; 413 over `limit`.
 */
export async function currentText(app: App, projectId: string, path: string, limit = fileLimit(app)): Promise<string | null> {
  const room = collabFor(app).room(`${projectId}/${path}`);
  if (room instanceof DocRoom && !room.closed) return room.text.toString();
  let bytes: Uint8Array;
  try {
    ({ bytes } = await readFile(app.config.dataDir, projectId, path));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
  if (bytes.byteLength > limit) throw tooLarge(`"${path}" is ${bytes.byteLength} bytes; code actions take files up to ${limit} bytes.`);
  if (!isProbablyText(bytes)) throw invalid(`"${path}" is not a text file.`, { [path]: "Not a UTF-8 text file." });
  return utf8.decode(bytes);
}

/** Stores a proposal against the files as they are now. 400/413/422 for bad paths, sizes or binary files. */
export async function proposeAction(app: App, input: ProposeInput): Promise<CodeAction> {
  const summary = input.summary.trim().slice(0, MAX_SUMMARY_CHARS);
  if (input.edits.length === 0) throw invalid("A code action needs at least one edit.", { edits: "No edits." });
  if (input.edits.length > MAX_ACTION_FILES) throw invalid(`A code action may change at most ${MAX_ACTION_FILES} files.`, { edits: "Too many files." });
  const limit = fileLimit(app);
  const seen = new Set<string>();
  const edits: ActionEdit[] = [];
  let total = 0;
  for (const e of input.edits) {
    const path = validatePath(e.path);
    if (seen.has(path)) throw invalid(`"${path}" is edited twice in one action.`, { [path]: "Edited twice." });
    seen.add(path);
    if (encoder.encode(e.after).byteLength > limit) throw tooLarge(`The new text of "${path}" is larger than ${limit} bytes.`);
    if (e.after.includes("\u0000")) throw invalid(`The new text of "${path}" is not text (it contains NUL).`, { [path]: "Not text." });
    const before = await currentText(app, input.projectId, path, limit);
    if (before === e.after) continue;
    total += encoder.encode(e.after).byteLength + (before === null ? 0 : encoder.encode(before).byteLength);
    if (total > MAX_ACTION_BYTES) throw tooLarge(`The files of one code action may hold at most ${MAX_ACTION_BYTES} bytes, old and new text together.`);
    edits.push({ path, before, after: e.after });
  }
  if (edits.length === 0) throw invalid("The proposed edits change nothing: every file already has that text.", { edits: "No changes." });
  const row = {
    id: newId(),
    projectId: input.projectId,
    conversationId: input.conversationId,
    userId: input.userId,
    summary,
    edits: JSON.stringify(edits),
    status: "proposed" as const,
    createdAt: Date.now(),
    appliedAt: null,
    appliedBy: null,
  };
  await app.db.orm.insert(aiActions).values(row);
  return rowToAction(row);
}

/** One operation per action at a time (a double click on Apply must not apply twice). */
const busy = new Map<string, Promise<unknown>>();
function exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
  const run = (busy.get(id) ?? Promise.resolve()).then(fn, fn);
  const tail = run.catch(() => {});
  busy.set(id, tail);
  void tail.then(() => {
    if (busy.get(id) === tail) busy.delete(id);
  });
  return run;
}

/** The action, its project and the acting user, when the actor may write to the project. */
async function forWriting(app: App, actor: Actor, id: string): Promise<{ action: CodeAction; project: Project; user: User }> {
  const action = await getAction(app, id);
  if (!action) throw notFound("Code action");
  const { project, level } = await projectAccess(app.db.orm, actor, action.projectId);
  if (!project || level === "none" || actor.kind !== "user") throw notFound("Code action");
  if (!atLeast(level, "write")) throw forbidden("You need write access to this project to change its files.");
  return { action, project, user: actor.user };
}

function identityOf(user: User): Identity {
  return { id: user.id, name: `${user.name || user.username} (assistant edit)`, color: colorFor(user.id, user.id) };
}

function stateError(action: CodeAction, doing: string): ApiError {
  return new ApiError(409, "invalid_state", `This code action is ${action.status}; it cannot be ${doing}.`);
}

type Opened = { edit: ActionEdit; room: DocRoom };

/**
 * Opens the live documents of `paths` as `peer`; files that cannot be opened go into
 * `problems`. The caller must `leaveAll` the result.
 */
async function openRooms(app: App, project: Project, peer: ActionPeer, edits: ActionEdit[], problems: Record<string, string>): Promise<Opened[]> {
  const collab = collabFor(app);
  const opened: Opened[] = [];
  for (const edit of edits) {
    try {
      const room = await collab.join(peer, project, edit.path);
      if (room instanceof DocRoom) opened.push({ edit, room });
    } catch (e) {
      if (!(e instanceof RoomError)) {
        leaveAll(app, peer, opened);
        throw e;
      }
      problems[edit.path] = e.message === "no such file" ? "It was deleted since the edit was proposed." : `It cannot be edited: ${e.message}.`;
    }
  }
  return opened;
}

function leaveAll(app: App, peer: ActionPeer, opened: Opened[]): void {
  const collab = collabFor(app);
  for (const { room } of opened) collab.leave(peer, room);
}

/** What `current` becomes when `base → want` is applied to it, or why it cannot be. */
function rebase(base: string, current: string, want: string, limit: number, since: "proposed" | "applied"): { to: string; merged: boolean } | string {
  if (current === base) return { to: want, merged: false };
  if (current === want) return { to: current, merged: false };
  const m = merge3(base, current, want);
  if (m.conflicts > 0) return `It was changed on the same lines since the edit was ${since}.`;
  if (encoder.encode(m.text).byteLength > limit) return "The merged text would be too large.";
  return { to: m.text, merged: true };
}

function conflictError(problems: Record<string, string>, doing: string): ApiError {
  const files = Object.keys(problems);
  return conflict(`Could not ${doing}: ${files.map((f) => `"${f}"`).join(", ")} ${files.length === 1 ? "has" : "have"} changed in a way that overlaps. Nothing was changed.`, problems);
}

async function record(app: App, action: CodeAction, patch: Partial<typeof aiActions.$inferInsert>, kind: string, actorId: string, data: Record<string, unknown>): Promise<CodeAction> {
  const orm = app.db.orm;
  await orm.batch([
    orm.update(aiActions).set(patch).where(eq(aiActions.id, action.id)),
    orm.insert(events).values(
      eventValues({ actorId, kind, subjectType: "project", subjectId: action.projectId, projectId: action.projectId, data: { actionId: action.id, conversationId: action.conversationId, ...data } }),
    ),
    orm.update(projects).set({ updatedAt: Date.now() }).where(eq(projects.id, action.projectId)),
  ]);
  return (await getAction(app, action.id)) as CodeAction;
}

/** Applies a proposed (or conflicted) action; see the rule at the top of this file. */
export function applyAction(app: App, actor: Actor, id: string): Promise<CodeAction> {
  return exclusive(id, async () => {
    const { action, project, user } = await forWriting(app, actor, id);
    if (action.status !== "proposed" && action.status !== "conflict") throw stateError(action, "applied");
    const limit = fileLimit(app);
    const problems: Record<string, string> = {};
    // New files that still do not exist are written; everything else goes through its live document.
    const creates: ActionEdit[] = [];
    const live: ActionEdit[] = [];
    for (const edit of action.edits) {
      if (edit.before !== null) live.push(edit);
      else if ((await currentText(app, project.id, edit.path, limit).catch(() => "")) === null) creates.push(edit);
      else live.push(edit);
    }
    const peer = new ActionPeer(identityOf(user), action.id, "apply");
    const opened = await openRooms(app, project, peer, live, problems);
    const created: string[] = [];
    try {
      // Checked before anything is written, and again (synchronously, with the writes) after new files exist.
      const plan = () =>
        opened.map(({ edit, room }) => {
          const current = room.text.toString();
          const r = room.closed ? "It was moved or deleted while the edit was being applied." : rebase(edit.before ?? "", current, edit.after, limit, "proposed");
          if (typeof r === "string") problems[edit.path] = r;
          return { edit, room, current, r };
        });
      const refuse = async () => {
        await app.db.orm.update(aiActions).set({ status: "conflict" }).where(eq(aiActions.id, action.id));
        return conflictError(problems, "apply the code action");
      };
      plan();
      if (Object.keys(problems).length > 0) throw await refuse();
      for (const edit of creates) {
        await writeProjectFile(app.db.orm, app.config.dataDir, project, edit.path, encoder.encode(edit.after), limit, user.id);
        created.push(edit.path);
      }
      const steps = plan();
      if (Object.keys(problems).length > 0) throw await refuse();
      const applied = new Map<string, ActionEdit["applied"]>();
      for (const { edit, room, current, r } of steps) {
        if (typeof r === "string") continue;
        room.doc.transact(() => applyTextChange(room.text, current, r.to), peer);
        applied.set(edit.path, { from: current, to: r.to, merged: r.merged });
      }
      for (const path of created) applied.set(path, { from: null, to: action.edits.find((e) => e.path === path)?.after ?? "", merged: false });
      created.length = 0; // done: nothing to roll back
      const edits = action.edits.map((e) => ({ ...e, applied: applied.get(e.path) }));
      const merged = edits.filter((e) => e.applied?.merged).map((e) => e.path);
      return await record(app, action, { status: "applied", appliedAt: Date.now(), appliedBy: user.id, edits: JSON.stringify(edits) }, "ai.action_applied", user.id, {
        files: edits.map((e) => e.path),
        created: edits.filter((e) => e.applied?.from === null).map((e) => e.path),
        merged,
      });
    } finally {
      leaveAll(app, peer, opened);
      // A refusal after new files were written takes them back.
      for (const path of created) await deleteProjectFile(app.db.orm, app.config.dataDir, project, path, user.id).catch(() => {});
    }
  });
}

/** Reverts an applied action (see the rule at the top of this file); the action is "proposed" again. */
export function undoAction(app: App, actor: Actor, id: string): Promise<CodeAction> {
  return exclusive(id, async () => {
    const { action, project, user } = await forWriting(app, actor, id);
    if (action.status !== "applied" || action.edits.some((e) => !e.applied)) throw stateError(action, "undone");
    const limit = fileLimit(app);
    const problems: Record<string, string> = {};
    const removes = action.edits.filter((e) => e.applied?.from === null);
    const reverts = action.edits.filter((e) => e.applied && e.applied.from !== null);
    for (const edit of removes) {
      const now = await currentText(app, project.id, edit.path, limit).catch(() => "");
      if (now !== null && now !== edit.applied?.to) problems[edit.path] = "It was changed since the action created it.";
    }
    const peer = new ActionPeer(identityOf(user), action.id, "undo");
    const opened = await openRooms(app, project, peer, reverts, problems);
    try {
      const steps = opened.map(({ edit, room }) => {
        const { from, to } = edit.applied as { from: string; to: string };
        const current = room.text.toString();
        const r = rebase(to, current, from, limit, "applied");
        if (typeof r === "string") problems[edit.path] = r;
        return { room, current, r };
      });
      if (Object.keys(problems).length > 0) throw conflictError(problems, "undo the code action");
      for (const { room, current, r } of steps) {
        if (typeof r !== "string") room.doc.transact(() => applyTextChange(room.text, current, r.to), peer);
      }
    } finally {
      leaveAll(app, peer, opened);
    }
    const deleted: string[] = [];
    for (const edit of removes) {
      // Checked again: a keystroke since the check above keeps the file.
      if ((await currentText(app, project.id, edit.path, limit).catch(() => "")) !== edit.applied?.to) continue;
      await deleteProjectFile(app.db.orm, app.config.dataDir, project, edit.path, user.id);
      deleted.push(edit.path);
    }
    const edits = action.edits.map(({ applied: _, ...e }) => e);
    return record(app, action, { status: "proposed", appliedAt: null, appliedBy: null, edits: JSON.stringify(edits) }, "ai.action_undone", user.id, {
      files: edits.map((e) => e.path),
      deleted,
    });
  });
}

/** Sets a proposal aside; it can no longer be applied. */
export function discardAction(app: App, actor: Actor, id: string): Promise<CodeAction> {
  return exclusive(id, async () => {
    const { action, user } = await forWriting(app, actor, id);
    if (action.status !== "proposed" && action.status !== "conflict") throw stateError(action, "discarded");
    return record(app, action, { status: "discarded" }, "ai.action_discarded", user.id, { files: action.edits.map((e) => e.path) });
  });
}

/** The short form chat streams carry (`{type:"action"}`). */
export function actionRef(a: CodeAction): { id: string; summary: string; files: string[] } {
  return { id: a.id, summary: a.summary, files: a.edits.map((e) => e.path) };
}
