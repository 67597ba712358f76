import { afterAll, afterEach, beforeAll, describe, expect, spyOn } from "bun:test";
import Database from "libsql";
import * as decoding from "lib0/decoding";
import * as authProtocol from "y-protocols/auth";
import * as Y from "yjs";
import type { App } from "../core/app.ts";
import type { Project, User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { sha256 } from "../lib/crypto.ts";
import { deleteFile, onFilesChanged, readFile, writeFile, type FilesChanged } from "../projects/files.ts";
import { createProject } from "../projects/projects.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { test } from "../../test/helpers/quiet.ts";
import { waitFor as until } from "../../test/helpers/server.ts";
import type { Identity, Peer } from "./peer.ts";
import { CLOSE, decodeClientMessage, encodeSyncStep1, encodeSyncStep2, encodeUpdate, MESSAGE_AUTH, ProtocolError, type ClientMessage } from "./protocol.ts";
import { DocRoom, PresenceRoom } from "./room.ts";
import { loadDoc, UpdateLog, writeBase } from "./store.ts";

let dir: string;
let app: App;
let owner: User;
let log: UpdateLog;
/** A second connection to the database file: what is on disk, whatever this process has in flight. */
let other: InstanceType<typeof Database>;
let n = 0;
const rooms: DocRoom[] = [];
const enc = (s: string) => new TextEncoder().encode(s);
const PATH = "notes.md";

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-collab-room-", { WOVE_COLLAB_MATERIALISE: "20ms" }));
  owner = await createUser(app.db.orm, { email: "room@example.com", role: "member" }, null);
  log = new UpdateLog(app.db);
  other = new Database(app.db.file as string, { readonly: true } as ConstructorParameters<typeof Database>[1]);
});
afterEach(async () => {
  for (const room of rooms.splice(0)) {
    await room.serial(async () => {}); // let a write-back in progress finish before the room goes
    room.destroy();
  }
  await log.drain();
});
afterAll(() => {
  other?.close();
  closeTempApp(app, dir);
});

class FakePeer implements Peer {
  frames: Uint8Array[] = [];
  onSend?: () => void;
  constructor(
    readonly user: Identity,
    readonly canWrite: boolean,
  ) {}
  send(frame: Uint8Array): void {
    this.frames.push(frame);
    this.onSend?.();
  }
  close(): void {}
  /** Frames received, decoded as a client would read them (the wire format is the same both ways). */
  messages(): ClientMessage[] {
    return this.frames.filter((f) => f[0] !== MESSAGE_AUTH).map((f) => decodeClientMessage(f));
  }
  /** Reasons of the permission-denied messages received, read as y-protocols reads them. */
  denials(): string[] {
    const reasons: string[] = [];
    for (const f of this.frames.filter((f) => f[0] === MESSAGE_AUTH)) {
      const d = decoding.createDecoder(f);
      decoding.readVarUint(d);
      authProtocol.readAuthMessage(d, new Y.Doc(), (_doc, r) => reasons.push(r));
    }
    return reasons;
  }
}

const writer = (name = "Ann") => new FakePeer({ id: `u-${name}`, name, color: "#e5484d" }, true);
const reader = () => new FakePeer({ id: null, name: "Guest", color: "#30a46c" }, false);

async function projectWith(text: string, path = PATH): Promise<Project> {
  const project = await createProject(app.db.orm, dir, owner, { name: `collab room ${++n}` });
  await writeFile(app.config.dataDir, project.id, path, enc(text), app.config.maxFileBytes);
  return project;
}

async function openRoom(project: Project, path = PATH): Promise<DocRoom> {
  const room = new DocRoom({ app, log }, project, path);
  rooms.push(room);
  await room.load();
  return room;
}

async function onDisk(project: Project, path = PATH): Promise<string> {
  return new TextDecoder().decode((await readFile(app.config.dataDir, project.id, path)).bytes);
}

/** A client's copy of the room's document; `edit` returns the update a provider would send. */
function clientOf(room: DocRoom) {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(room.doc));
  const text = doc.getText("content");
  const edit = (fn: (t: Y.Text) => void): Uint8Array => {
    const updates: Uint8Array[] = [];
    const keep = (u: Uint8Array) => updates.push(u);
    doc.on("update", keep);
    doc.transact(() => fn(text));
    doc.off("update", keep);
    return Y.mergeUpdates(updates);
  };
  return { doc, text, edit };
}

const send = (room: DocRoom | PresenceRoom, peer: Peer, frame: Uint8Array) => room.receive(peer, decodeClientMessage(frame));

/** An edit stored exactly like a peer's but with no write-back scheduled: as if the server stopped before the debounce ran out. */
function unsavedEdit(room: DocRoom, fn: (t: Y.Text) => void): void {
  room.doc.transact(() => fn(room.text), "unsaved");
}

function storedRows(docId: string): number {
  return Number((other.prepare("SELECT count(*) AS n FROM collab_updates WHERE doc_id = ?").get([docId]) as { n: number }).n);
}

describe("DocRoom: loading", () => {
  test("the first load takes the file's text, stores it once and records it as the merge base", async () => {
    const text = "# Notes\nfirst line ✓ 😀\n";
    const project = await projectWith(text);
    const room = await openRoom(project);
    expect(room.text.toString()).toBe(text);
    const stored = await loadDoc(app.db, project.id, PATH);
    expect(stored).toMatchObject({ id: room.docId, baseText: text, baseHash: sha256(text) });
    expect(stored?.tail).toHaveLength(1);
    expect(room.dirty).toBe(false);

    const peer = writer();
    room.join(peer);
    expect(peer.messages()).toEqual([{ kind: "sync-step1", stateVector: Y.encodeStateVector(room.doc) }]);

    // Loading again reads the stored document: the text is not inserted a second time.
    room.destroy();
    const again = await openRoom(project);
    expect(again.text.toString()).toBe(text);
    expect(again.docId).toBe(room.docId);
    expect((await loadDoc(app.db, project.id, PATH))?.tail).toHaveLength(1);
  });

  test("a load after a crash brings the file level with the stored edits it never got", async () => {
    const project = await projectWith("one\ntwo\n");
    const first = await openRoom(project);
    unsavedEdit(first, (t) => t.insert(4, "TWO and "));
    await log.drain();
    first.destroy();
    expect(await onDisk(project)).toBe("one\ntwo\n");

    const room = await openRoom(project);
    expect(room.text.toString()).toBe("one\nTWO and two\n");
    await until("the stored edits to reach the file", async () => (await onDisk(project)) === "one\nTWO and two\n");
  });

  test("a write-back cut short (new base recorded, file still old) is finished, not mistaken for an outside change", async () => {
    const project = await projectWith("alpha\n");
    const first = await openRoom(project);
    unsavedEdit(first, (t) => t.insert(5, " beta"));
    await log.drain();
    await writeBase(app.db, first.docId, "alpha beta\n", sha256("alpha beta\n"), sha256("alpha\n"));
    first.destroy();

    const room = await openRoom(project);
    expect(room.text.toString()).toBe("alpha beta\n");
    await until("the write-back to be finished", async () => (await onDisk(project)) === "alpha beta\n");
  });

  test("a file changed while the room was unloaded is merged three ways, keeping unsaved edits", async () => {
    const project = await projectWith("a\nb\nc\n");
    const first = await openRoom(project);
    unsavedEdit(first, (t) => t.insert(0, "A from the editor, "));
    await log.drain();
    first.destroy();
    await writeFile(app.config.dataDir, project.id, PATH, enc("a\nb\nc from a push\n"), app.config.maxFileBytes);

    const room = await openRoom(project);
    const merged = "A from the editor, a\nb\nc from a push\n";
    expect(room.text.toString()).toBe(merged);
    await until("the merge to reach the file", async () => (await onDisk(project)) === merged);
    expect((await loadDoc(app.db, project.id, PATH))?.baseText).toBe(merged);
  });

  test("a file changed while unloaded, with nothing unsaved, simply becomes the document", async () => {
    const project = await projectWith("old\n");
    (await openRoom(project)).destroy();
    await writeFile(app.config.dataDir, project.id, PATH, enc("restored version\n"), app.config.maxFileBytes);
    const room = await openRoom(project);
    expect(room.text.toString()).toBe("restored version\n");
    expect(room.dirty).toBe(false);
  });
});

describe("DocRoom: peers", () => {
  test("a writer's update is stored, then broadcast to the other peers and not back to the sender", async () => {
    const project = await projectWith("hello\n");
    const room = await openRoom(project);
    const ann = writer("Ann");
    const bob = writer("Bob");
    room.join(ann);
    room.join(bob);
    ann.frames = [];
    bob.frames = [];
    const rowsBefore = storedRows(room.docId);
    const rowsWhenBroadcast: number[] = [];
    bob.onSend = () => rowsWhenBroadcast.push(storedRows(room.docId));
    const client = clientOf(room);
    const bobDoc = clientOf(room).doc;
    send(room, ann, encodeUpdate(client.edit((t) => t.insert(5, ", world"))));
    expect(room.text.toString()).toBe("hello, world\n");
    expect(bob.frames).toEqual([]); // not before it is stored
    await log.drain();

    expect(rowsWhenBroadcast).toEqual([rowsBefore + 1]);
    expect(ann.frames).toEqual([]);
    const [msg] = bob.messages();
    if (msg?.kind !== "update") throw new Error(`bob got ${msg?.kind}`);
    expect(msg.step2).toBe(false);
    Y.applyUpdate(bobDoc, msg.update);
    expect(bobDoc.getText("content").toString()).toBe("hello, world\n");
  });

  test("sync step 1 is answered with the document once everything before it is stored", async () => {
    const project = await projectWith("abc\n");
    const room = await openRoom(project);
    const ann = writer();
    const late = reader();
    room.join(ann);
    room.join(late);
    late.frames = [];
    send(room, ann, encodeUpdate(clientOf(room).edit((t) => t.insert(0, ">"))));
    send(room, late, encodeSyncStep1(new Y.Doc()));
    expect(late.frames).toEqual([]);
    await log.drain();
    const step2 = late.messages().find((m) => m.kind === "update" && m.step2);
    if (step2?.kind !== "update") throw new Error("no step 2");
    const doc = new Y.Doc();
    Y.applyUpdate(doc, step2.update);
    expect(doc.getText("content").toString()).toBe(">abc\n");
  });

  test("a read-only peer's edit is dropped and answered with permission-denied; its empty step 2 is silent", async () => {
    const project = await projectWith("read me\n");
    const room = await openRoom(project);
    const ann = writer();
    const guest = reader();
    room.join(ann);
    room.join(guest);
    ann.frames = [];
    guest.frames = [];
    const rows = storedRows(room.docId);

    const client = clientOf(room);
    send(room, guest, encodeUpdate(client.edit((t) => t.insert(0, "defaced "))));
    await log.drain();
    expect(room.text.toString()).toBe("read me\n");
    expect(guest.denials()).toEqual(["read-only"]);
    expect(ann.frames).toEqual([]);
    expect(storedRows(room.docId)).toBe(rows);
    // What a read-only provider sends on every connect: a step 2 with nothing the server lacks.
    guest.frames = [];
    const synced = clientOf(room).doc;
    send(room, guest, encodeSyncStep2(synced, Y.encodeStateVector(room.doc)));
    send(room, guest, encodeSyncStep2(synced, Y.encodeStateVector(new Y.Doc()))); // all it has, all known
    await log.drain();
    expect(guest.frames).toEqual([]);
  });

  test("an update that would make the document too large is a ProtocolError 4413 and changes nothing", async () => {
    const project = await projectWith("small\n");
    const room = await openRoom(project);
    const ann = writer();
    room.join(ann);
    const limit = app.config.collab.maxDocBytes;
    app.config.collab.maxDocBytes = room.storedBytes + 100;
    try {
      const big = encodeUpdate(clientOf(room).edit((t) => t.insert(0, "x".repeat(500))));
      expect(() => send(room, ann, big)).toThrow(expect.objectContaining({ constructor: ProtocolError, code: CLOSE.tooLarge }));
      expect(room.text.toString()).toBe("small\n");
      send(room, ann, encodeUpdate(clientOf(room).edit((t) => t.insert(0, "ok "))));
      expect(room.text.toString()).toBe("ok small\n");
    } finally {
      app.config.collab.maxDocBytes = limit;
    }
  });
});

describe("DocRoom: the working tree", () => {
  test("edits reach the file after the debounce, and the change is announced as the room's own", async () => {
    const project = await projectWith("draft\n");
    const room = await openRoom(project);
    const ann = writer();
    room.join(ann);
    const notices: FilesChanged[] = [];
    const stop = onFilesChanged((e) => e.projectId === project.id && notices.push(e));
    try {
      send(room, ann, encodeUpdate(clientOf(room).edit((t) => t.insert(5, " two"))));
      expect(room.dirty).toBe(true);
      expect(await onDisk(project)).toBe("draft\n");
      await until("the write-back", async () => (await onDisk(project)) === "draft two\n");
      await until("the room to be clean", () => !room.dirty);
      expect(notices).toMatchObject([{ paths: [PATH], source: "edit", actorId: "u-Ann", origin: room }]);
      expect((await loadDoc(app.db, project.id, PATH))?.baseText).toBe("draft two\n");
    } finally {
      stop();
    }
  });

  test("reconcile merges a change made on disk into the document, keeping unsaved edits; a deleted file says so", async () => {
    const project = await projectWith("l1\nl2\nl3\n");
    const room = await openRoom(project);
    const ann = writer();
    room.join(ann);
    expect(await room.serial(() => room.reconcile())).toBe(true); // nothing changed: nothing to do
    expect(room.text.toString()).toBe("l1\nl2\nl3\n");

    unsavedEdit(room, (t) => t.insert(2, " edited"));
    ann.frames = [];
    await writeFile(app.config.dataDir, project.id, PATH, enc("l1\nl2\nl3 on disk\n"), app.config.maxFileBytes);
    expect(await room.serial(() => room.reconcile())).toBe(true);
    const merged = "l1 edited\nl2\nl3 on disk\n";
    expect(room.text.toString()).toBe(merged);
    await log.drain();
    expect(ann.messages().some((m) => m.kind === "update")).toBe(true); // open editors see the file's change
    await until("the merge to be written back", async () => (await onDisk(project)) === merged);
    await deleteFile(app.config.dataDir, project.id, PATH);
    expect(await room.serial(() => room.reconcile())).toBe(false); // the file is gone
  });

  test("reconcile: when both sides changed the same line the file wins, and the conflict is logged", async () => {
    const project = await projectWith("x = 1\n");
    const room = await openRoom(project);
    const warn = spyOn(app.log, "warn");
    try {
      unsavedEdit(room, (t) => t.insert(4, "2"));
      await writeFile(app.config.dataDir, project.id, PATH, enc("x = 3\n"), app.config.maxFileBytes);
      expect(await room.serial(() => room.reconcile())).toBe(true);
      expect(room.text.toString()).toBe("x = 3\n");
      expect(warn.mock.calls.some(([msg, fields]) => msg.includes("conflict") && fields?.conflicts === 1)).toBe(true);
    } finally {
      warn.mockRestore();
    }
  });

  test("a write-back queued before an outside write (API, push) merges it instead of overwriting it", async () => {
    const project = await projectWith("a\nb\nc\n");
    const room = await openRoom(project);
    unsavedEdit(room, (t) => t.insert(0, "A "));
    // The file API writes under the repo lock while the write-back waits for it; the API's change
    // notice (reconcile) is queued behind that write-back.
    await writeFile(app.config.dataDir, project.id, PATH, enc("a\nb\nc via the API\n"), app.config.maxFileBytes);
    await room.serial(() => room.materialise());
    await room.serial(() => room.reconcile());
    const merged = "A a\nb\nc via the API\n";
    expect(room.text.toString()).toBe(merged);
    await until("the merged text on disk", async () => (await onDisk(project)) === merged);
  });

  test("compact folds the log into one snapshot; a reload gives the identical text and later edits still count", async () => {
    const project = await projectWith("start\n");
    const room = await openRoom(project);
    const ann = writer();
    room.join(ann);
    const client = clientOf(room);
    for (const word of [" one", " two", " three 😀", "\r\nfour"]) {
      send(room, ann, encodeUpdate(client.edit((t) => t.insert(t.length - 1, word))));
    }
    await log.drain();
    const before = room.text.toString();
    expect(storedRows(room.docId)).toBe(5);
    await room.compact();
    expect(storedRows(room.docId)).toBe(0);
    const stored = await loadDoc(app.db, project.id, PATH);
    expect(stored?.tail).toEqual([]);
    expect(room.storedBytes).toBe(stored?.snapshot?.byteLength as number);

    send(room, ann, encodeUpdate(client.edit((t) => t.insert(0, "> "))));
    await log.drain();
    await room.serial(async () => {});
    room.destroy();
    const again = await openRoom(project);
    expect(again.text.toString()).toBe(`> ${before}`);
  });
});

describe("PresenceRoom", () => {
  test("answers sync with an empty document, shares awareness and drops content", async () => {
    const project = await projectWith("");
    const room = new PresenceRoom({ app, log }, project);
    const ann = writer("Ann");
    const bob = writer("Bob");
    room.join(ann);
    expect(ann.messages().map((m) => m.kind)).toEqual(["sync-step1"]);
    send(room, ann, encodeSyncStep1(new Y.Doc()));
    expect(ann.messages().map((m) => m.kind)).toEqual(["sync-step1", "update"]);
    room.receive(ann, { kind: "awareness", entries: [{ clientID: 1, clock: 1, state: { file: "a.md", user: { name: "Mallory" } } }] });
    room.join(bob);
    const seen = bob.messages().find((m) => m.kind === "awareness");
    expect(seen).toEqual({ kind: "awareness", entries: [{ clientID: 1, clock: 1, state: { file: "a.md", user: ann.user } }] });
    const content = new Y.Doc();
    content.getText("content").insert(0, "text has no place here");
    send(room, ann, encodeUpdate(Y.encodeStateAsUpdate(content)));
    await log.drain();
    expect(bob.messages().filter((m) => m.kind === "update")).toEqual([]);
    room.leave(ann);
    expect(bob.messages().at(-1)).toEqual({ kind: "awareness", entries: [{ clientID: 1, clock: 2, state: null }] });
  });
});
