/**
 * Code actions against real live documents: proposals, the apply rule (as proposed, merged,
 * refused as a conflict), a connected peer receiving the one transaction, the write-back to the
 * working tree, undo (recorded texts and a Y.UndoManager), discard and who may do what.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { and, eq } from "drizzle-orm";
import * as Y from "yjs";
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { createUser } from "../auth/users.ts";
import { aiConversations, events, type Project, type User } from "../db/schema.ts";
import { newId } from "../lib/crypto.ts";
import { readFile, writeProjectFile } from "../projects/files.ts";
import { createProject } from "../projects/projects.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { closeCollab, collabFor } from "../collab/rooms.ts";
import { DocRoom } from "../collab/room.ts";
import { decodeClientMessage } from "../collab/protocol.ts";
import type { Identity, Peer } from "../collab/peer.ts";
import { apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { test } from "../../test/helpers/quiet.ts";
import { waitFor } from "../../test/helpers/server.ts";
import { ActionPeer, applyAction, discardAction, getAction, proposeAction, undoAction } from "./actions.ts";

let dir: string;
let app: App;
let owner: User;
let writer: User;
let viewer: User;
let stranger: User;
let project: Project;
let conversationId: string;
let n = 0;
const enc = (s: string) => new TextEncoder().encode(s);
const as = (user: User): Actor => ({ kind: "user", user, via: "session", sessionId: `s-${user.id}` });

const BASE = ["import { x } from './x';", "", "export function add(a, b) {", "  return a + b;", "}", "", "export function sub(a, b) {", "  return a - b;", "}", ""].join("\n");

/** An editor connected to the file's room: its own Y.Doc, fed by the frames the room sends it. */
class Editor implements Peer {
  readonly canWrite = true;
  readonly doc = new Y.Doc();
  constructor(readonly user: Identity) {}
  send(frame: Uint8Array): void {
    const m = decodeClientMessage(frame);
    if (m.kind === "update") Y.applyUpdate(this.doc, m.update, "server");
  }
  close(): void {}
  get text(): string {
    return this.doc.getText("content").toString();
  }
  /** Types into this editor's copy and sends the update to the room, as a provider does. */
  type(room: DocRoom, fn: (t: Y.Text) => void): void {
    const updates: Uint8Array[] = [];
    const keep = (u: Uint8Array, origin: unknown) => origin !== "server" && updates.push(u);
    this.doc.on("update", keep);
    this.doc.transact(() => fn(this.doc.getText("content")));
    this.doc.off("update", keep);
    room.receive(this, { kind: "update", update: Y.mergeUpdates(updates), step2: false });
  }
}

async function connectEditor(path: string): Promise<{ editor: Editor; room: DocRoom }> {
  const editor = new Editor({ id: writer.id, name: "Wim", color: "#0090ff" });
  const room = (await collabFor(app).join(editor, project, path)) as DocRoom;
  Y.applyUpdate(editor.doc, Y.encodeStateAsUpdate(room.doc));
  return { editor, room };
}

/** The text of the file's live document once changes made through the file API have reached it. */
async function liveSettles(path: string, text: string): Promise<void> {
  await waitFor("the live document to follow the file", () => (collabFor(app).room(`${project.id}/${path}`) as DocRoom | undefined)?.text.toString() === text, 2000);
}

async function onDisk(path: string): Promise<string | null> {
  try {
    return new TextDecoder().decode((await readFile(app.config.dataDir, project.id, path)).bytes);
  } catch {
    return null;
  }
}

async function freshFile(text = BASE): Promise<string> {
  const path = `src/math-${++n}.js`;
  await writeProjectFile(app.db.orm, app.config.dataDir, project, path, enc(text), app.config.maxFileBytes, owner.id);
  return path;
}

const propose = (path: string, after: string) => proposeAction(app, { projectId: project.id, conversationId, userId: owner.id, summary: "Rename add", edits: [{ path, after }] });

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-ai-actions-", { WOVE_COLLAB_MATERIALISE: "20ms" }));
  const orm = app.db.orm;
  owner = await createUser(orm, { email: "owner@example.com", role: "member", username: "owner", name: "Olga" }, null);
  writer = await createUser(orm, { email: "writer@example.com", role: "member", username: "writer", name: "Wim" }, null);
  viewer = await createUser(orm, { email: "viewer@example.com", role: "member", username: "viewer", name: "Vera" }, null);
  stranger = await createUser(orm, { email: "stranger@example.com", role: "member", username: "stranger", name: "Sam" }, null);
  const team = await createTeam(orm, owner, { name: "Actions", slug: "actions" });
  await setMember(orm, team.id, writer.id, "member", owner.id, "owner");
  await setMember(orm, team.id, viewer.id, "viewer", owner.id, "owner");
  project = await createProject(orm, dir, owner, { name: "Actions", visibility: "private", team: team.id });
  conversationId = newId();
  await orm.insert(aiConversations).values({ id: conversationId, userId: owner.id, projectId: project.id, title: "t", createdAt: Date.now(), updatedAt: Date.now() });
});
afterAll(async () => {
  await closeCollab(app);
  closeTempApp(app, dir);
});

describe("proposing", () => {
  test("stores each file's current text as before; a new file has before null", async () => {
    const path = await freshFile();
    const a = await proposeAction(app, { projectId: project.id, conversationId, userId: owner.id, summary: "  Two files  ", edits: [{ path, after: BASE.replace("add", "plus") }, { path: "docs/NEW.md", after: "# New\n" }] });
    expect(a.status).toBe("proposed");
    expect(a.summary).toBe("Two files");
    expect(a.edits.map((e) => [e.path, e.before])).toEqual([[path, BASE], ["docs/NEW.md", null]]);
    expect((await getAction(app, a.id))?.edits[0]?.after).toContain("plus");
  });

  test("the live document's text is the before when the file is open", async () => {
    const path = await freshFile();
    const { editor, room } = await connectEditor(path);
    editor.type(room, (t) => t.insert(0, "// typed\n"));
    const a = await propose(path, BASE);
    expect(a.edits[0]?.before).toBe(`// typed\n${BASE}`);
    collabFor(app).leave(editor, room);
  });

  test("refuses bad paths, binary files, duplicates, no-ops and too many files", async () => {
    const path = await freshFile();
    expect((await apiErrorOf(propose("../etc/passwd", "x"))).status).toBe(400);
    expect((await apiErrorOf(propose(".git/config", "x"))).status).toBe(400);
    await writeProjectFile(app.db.orm, app.config.dataDir, project, "img.bin", new Uint8Array([0, 1, 2, 0]), 1000, owner.id);
    expect((await apiErrorOf(propose("img.bin", "x"))).status).toBe(422);
    expect((await apiErrorOf(propose(path, BASE))).status).toBe(422);
    const twice = proposeAction(app, { projectId: project.id, conversationId: null, userId: null, summary: "", edits: [{ path, after: "a" }, { path, after: "b" }] });
    expect((await apiErrorOf(twice)).status).toBe(422);
    const many = Array.from({ length: 21 }, (_, i) => ({ path: `f${i}.txt`, after: "x" }));
    expect((await apiErrorOf(proposeAction(app, { projectId: project.id, conversationId: null, userId: null, summary: "", edits: many }))).status).toBe(422);
    expect((await apiErrorOf(propose(path, "x".repeat(1024 * 1024 + 1)))).status).toBe(413);
  });
});

describe("applying", () => {
  test("one transaction reaches a connected editor, the working tree gets it, an event keeps the conversation id", async () => {
    const path = await freshFile();
    const { editor, room } = await connectEditor(path);
    const updates: unknown[] = [];
    editor.doc.on("update", (_u: Uint8Array, origin: unknown) => updates.push(origin));
    const after = BASE.replace("export function add", "export function plus").replace("  return a - b;", "  return a - b; // difference");
    const a = await propose(path, after);
    const applied = await applyAction(app, as(writer), a.id);
    expect(applied.status).toBe("applied");
    expect(applied.appliedBy).toBe(writer.id);
    expect(room.text.toString()).toBe(after);
    await waitFor("the editor to receive the change", () => editor.text === after, 2000);
    expect(updates.length).toBe(1); // one transaction, one update
    await waitFor("the write-back", async () => (await onDisk(path)) === after, 3000);
    const ev = await app.db.orm.select().from(events).where(and(eq(events.kind, "ai.action_applied"), eq(events.projectId, project.id))).all();
    const data = ev.map((e) => JSON.parse(e.data) as { actionId: string; conversationId: string; files: string[] }).find((d) => d.actionId === a.id);
    expect(data).toEqual({ actionId: a.id, conversationId, files: [path], created: [], merged: [] } as unknown as typeof data);
    collabFor(app).leave(editor, room);
  });

  test("a change made since on other lines is merged; on the same lines it is a 409 conflict naming the file", async () => {
    const path = await freshFile();
    const a = await propose(path, BASE.replace("  return a + b;", "  return b + a;"));
    await writeProjectFile(app.db.orm, app.config.dataDir, project, path, enc(BASE.replace("  return a - b;", "  return -(b - a);")), app.config.maxFileBytes, owner.id);
    const merged = await applyAction(app, as(owner), a.id);
    expect(merged.edits[0]?.applied?.merged).toBe(true);
    await waitFor("the merged write-back", async () => (await onDisk(path)) === BASE.replace("  return a + b;", "  return b + a;").replace("  return a - b;", "  return -(b - a);"), 3000);

    const path2 = await freshFile();
    const other = await freshFile();
    const b = await proposeAction(app, { projectId: project.id, conversationId, userId: owner.id, summary: "", edits: [{ path: other, after: `${BASE}// more\n` }, { path: path2, after: BASE.replace("a + b", "b + a") }] });
    await writeProjectFile(app.db.orm, app.config.dataDir, project, path2, enc(BASE.replace("a + b", "a + b + 0")), app.config.maxFileBytes, owner.id);
    const err = await apiErrorOf(applyAction(app, as(owner), b.id));
    expect(err.status).toBe(409);
    expect(err.code).toBe("conflict");
    expect(Object.keys(err.details ?? {})).toEqual([path2]);
    expect((await getAction(app, b.id))?.status).toBe("conflict");
    // Nothing was applied, not even the file without a conflict.
    expect(await onDisk(other)).toBe(BASE);
    // Once the overlapping change is gone, the conflicted action applies.
    await writeProjectFile(app.db.orm, app.config.dataDir, project, path2, enc(BASE), app.config.maxFileBytes, owner.id);
    await liveSettles(path2, BASE);
    expect((await applyAction(app, as(owner), b.id)).status).toBe("applied");
  });

  test("a deleted file is a conflict; a new file is created and undo deletes it", async () => {
    const path = await freshFile();
    const a = await propose(path, "changed\n");
    const { deleteProjectFile } = await import("../projects/files.ts");
    await deleteProjectFile(app.db.orm, app.config.dataDir, project, path, owner.id);
    const err = await apiErrorOf(applyAction(app, as(owner), a.id));
    expect(err.status).toBe(409);
    expect(err.details?.[path]).toContain("deleted");

    const b = await propose(`notes/new-${n}.md`, "# Hello\n");
    const applied = await applyAction(app, as(owner), b.id);
    expect(applied.edits[0]?.applied?.from).toBeNull();
    expect(await onDisk(`notes/new-${n}.md`)).toBe("# Hello\n");
    await undoAction(app, as(owner), b.id);
    expect(await onDisk(`notes/new-${n}.md`)).toBeNull();
  });

  test("applying twice, or after discarding, is refused", async () => {
    const path = await freshFile();
    const a = await propose(path, "one\n");
    await applyAction(app, as(owner), a.id);
    expect((await apiErrorOf(applyAction(app, as(owner), a.id))).code).toBe("invalid_state");
    const b = await propose(path, "two\n");
    expect((await discardAction(app, as(owner), b.id)).status).toBe("discarded");
    expect((await apiErrorOf(applyAction(app, as(owner), b.id))).status).toBe(409);
    expect((await apiErrorOf(discardAction(app, as(owner), b.id))).status).toBe(409);
    // Two Apply presses at once: one applies, the other is refused.
    const c = await propose(path, "three\n");
    const both = await Promise.allSettled([applyAction(app, as(owner), c.id), applyAction(app, as(owner), c.id)]);
    expect(both.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
  });

  test("viewers get 403, people outside the project 404", async () => {
    const path = await freshFile();
    const a = await propose(path, "x\n");
    expect((await apiErrorOf(applyAction(app, as(viewer), a.id))).status).toBe(403);
    expect((await apiErrorOf(applyAction(app, as(stranger), a.id))).status).toBe(404);
    expect((await apiErrorOf(discardAction(app, as(viewer), a.id))).status).toBe(403);
    expect((await apiErrorOf(applyAction(app, { kind: "anonymous" }, a.id))).status).toBe(404);
    expect((await apiErrorOf(applyAction(app, as(owner), "nope"))).status).toBe(404);
    expect((await getAction(app, a.id))?.status).toBe("proposed");
  });
});

describe("undoing", () => {
  test("reverts the action, keeps edits made since on other lines, refuses overlapping ones", async () => {
    const path = await freshFile();
    const { editor, room } = await connectEditor(path);
    const after = BASE.replace("a + b", "b + a");
    const a = await propose(path, after);
    await applyAction(app, as(owner), a.id);
    // Someone types on another line after the action.
    editor.type(room, (t) => t.insert(0, "// hi\n"));
    const undone = await undoAction(app, as(writer), a.id);
    expect(undone.status).toBe("proposed");
    expect(undone.appliedAt).toBeNull();
    expect(room.text.toString()).toBe(`// hi\n${BASE}`);
    await waitFor("the editor to see the undo", () => editor.text === `// hi\n${BASE}`, 2000);

    // Applied again (merging past "// hi"), then the same lines are edited: undo refuses.
    await applyAction(app, as(owner), a.id);
    expect(room.text.toString()).toBe(`// hi\n${after}`);
    const at = room.text.toString().indexOf("b + a");
    editor.type(room, (t) => t.insert(at, "0 + "));
    const err = await apiErrorOf(undoAction(app, as(owner), a.id));
    expect(err.status).toBe(409);
    expect(err.details?.[path]).toContain("since the edit was applied");
    expect((await getAction(app, a.id))?.status).toBe("applied");
    collabFor(app).leave(editor, room);
  });

  test("a Y.UndoManager tracking ActionPeer reverts exactly the action's transaction", async () => {
    const path = await freshFile();
    const { editor, room } = await connectEditor(path);
    const undo = new Y.UndoManager(room.text, { trackedOrigins: new Set([ActionPeer]) });
    editor.type(room, (t) => t.insert(0, "// mine\n"));
    const a = await propose(path, `// mine\n${BASE.replace("a - b", "b - a")}`);
    await applyAction(app, as(owner), a.id);
    expect(undo.undoStack.length).toBe(1);
    undo.undo();
    expect(room.text.toString()).toBe(`// mine\n${BASE}`);
    await waitFor("the editor to see the revert", () => editor.text === `// mine\n${BASE}`, 2000);
    undo.destroy();
    collabFor(app).leave(editor, room);
  });
});
