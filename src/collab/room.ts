/**
 * A room is everyone editing one file (a DocRoom, holding the Y.Doc) or
 * everyone in one project (a PresenceRoom: awareness only, for "who is here").
 *
 * A DocRoom's life: load (snapshot + stored updates, then reconcile with the
 * file on disk) → peers exchange updates (each stored before it is broadcast)
 * → the text is written back to the working tree a moment after the typing
 * stops → when the last peer has been gone a while, it compacts and unloads.
 */
import * as Y from "yjs";
import type { App } from "../core/app.ts";
import type { Project } from "../db/schema.ts";
import { sha256 } from "../lib/crypto.ts";
import { ApiError } from "../lib/errors.ts";
import { withRepoLock } from "../projects/git.ts";
import { isProbablyText, notifyFilesChanged, readFile, touch, writeFile } from "../projects/files.ts";
import { RoomAwareness } from "./awareness.ts";
import { applyTextChange, merge3 } from "./merge.ts";
import type { Peer } from "./peer.ts";
import { CLOSE, encodePermissionDenied, encodeSyncStep1, encodeSyncStep2, ProtocolError, type ClientMessage } from "./protocol.ts";
import { ensureDocId, loadDoc, writeBase, writeSnapshot, type UpdateLog } from "./store.ts";

export type RoomEnv = { app: App; log: UpdateLog };

/** Compact after this many stored updates (or this many bytes of them). */
const COMPACT_UPDATES = 500;
const COMPACT_BYTES = 256 * 1024;
/** Typing for longer than this still reaches the working tree. */
const MATERIALISE_MAX_WAIT_MS = 2000;
/** A collaborative editing session shows up in the activity feed at most this often per file. */
const EVENT_EVERY_MS = 10 * 60_000;

/** Why a room could not open; the socket is closed with `code`. */
export class RoomError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const FILE_ORIGIN = Symbol("file");
const utf8 = new TextDecoder("utf-8", { fatal: true });

export abstract class Room {
  readonly peers = new Set<Peer>();
  readonly awareness = new RoomAwareness((frame, except) => this.broadcast(frame, except));
  closed = false;

  constructor(
    readonly env: RoomEnv,
    readonly project: Project,
  ) {}

  abstract get key(): string;

  broadcast(frame: Uint8Array, except: Peer | null): void {
    for (const p of this.peers) if (p !== except) p.send(frame);
  }

  join(peer: Peer): void {
    this.peers.add(peer);
    const states = this.awareness.snapshot();
    if (states) peer.send(states);
  }

  leave(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    this.awareness.removePeer(peer);
  }

  /** Closes every peer (they reconnect or move on, depending on the code). */
  closePeers(code: number, reason: string): void {
    for (const p of [...this.peers]) {
      this.peers.delete(p);
      this.awareness.removePeer(p); // leave() will find them gone: their cursors go now
      p.close(code, reason);
    }
  }

  abstract receive(peer: Peer, msg: ClientMessage): void;
}

/** The project's "who is here": awareness states carry `file`, the path each person has open. */
export class PresenceRoom extends Room {
  private readonly empty = new Y.Doc();

  get key(): string {
    return this.project.id;
  }

  override join(peer: Peer): void {
    // The stock provider waits for sync before it reports "synced": answer with an empty document.
    peer.send(encodeSyncStep1(this.empty));
    super.join(peer);
  }

  receive(peer: Peer, msg: ClientMessage): void {
    if (msg.kind === "sync-step1") peer.send(encodeSyncStep2(this.empty, msg.stateVector));
    else if (msg.kind === "awareness") this.awareness.apply(peer, msg.entries);
    else if (msg.kind === "query-awareness") {
      const states = this.awareness.snapshot();
      if (states) peer.send(states);
    }
    // Content sent to a presence room has nowhere to go and is dropped.
  }
}

export class DocRoom extends Room {
  readonly doc = new Y.Doc();
  readonly text = this.doc.getText("content");
  docId = "";
  path: string;
  /** Stored bytes (snapshot + updates since): the document's size as far as limits go. */
  storedBytes = 0;
  private nextSeq = 0;
  private tailUpdates = 0;
  private tailBytes = 0;
  private baseText = "";
  private baseHash = "";
  private dirtySince = 0;
  private materialiseTimer: ReturnType<typeof setTimeout> | null = null;
  private lastEditor: string | null = null;
  private lastEventAt = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private compacting = false;

  constructor(env: RoomEnv, project: Project, path: string) {
    super(env, project);
    this.path = path;
  }

  get key(): string {
    return `${this.project.id}/${this.path}`;
  }

  get dirty(): boolean {
    return this.dirtySince !== 0 || this.materialiseTimer !== null;
  }

  /** Runs `fn` after every earlier serial step of this room (loads, writes back, merges). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  /** Reads the file as text, or explains why it cannot be a document. */
  private async readText(): Promise<string | null> {
    const { config } = this.env.app;
    let bytes: Uint8Array;
    try {
      ({ bytes } = await readFile(config.dataDir, this.project.id, this.path));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      if (e instanceof ApiError && e.status === 400) throw new RoomError(CLOSE.notFound, e.message);
      throw e;
    }
    if (bytes.byteLength > config.collab.maxDocBytes) throw new RoomError(CLOSE.tooLarge, "file is larger than the collaborative editor takes");
    if (!isProbablyText(bytes)) throw new RoomError(CLOSE.notText, "binary file");
    try {
      return utf8.decode(bytes);
    } catch {
      throw new RoomError(CLOSE.notText, "file is not UTF-8 text");
    }
  }

  /** Loads the stored document and brings it level with the file on disk. */
  async load(): Promise<void> {
    const { app } = this.env;
    const fileText = await this.readText();
    if (fileText === null) throw new RoomError(CLOSE.notFound, "no such file");
    let stored = await loadDoc(app.db, this.project.id, this.path);
    if (!stored) {
      await ensureDocId(app.db, this.project.id, this.path);
      stored = await loadDoc(app.db, this.project.id, this.path);
      if (!stored) throw new Error("document row vanished while loading");
    }
    this.docId = stored.id;
    this.baseText = stored.baseText;
    this.baseHash = stored.baseHash;
    const updates = [...(stored.snapshot ? [stored.snapshot] : []), ...stored.tail.map((u) => u.data)];
    if (updates.length > 0) Y.applyUpdate(this.doc, updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates));
    this.nextSeq = Math.max(stored.snapshotSeq, ...stored.tail.map((u) => u.seq));
    this.tailUpdates = stored.tail.length;
    this.tailBytes = stored.tail.reduce((n, u) => n + u.data.byteLength, 0);
    this.storedBytes = (stored.snapshot?.byteLength ?? 0) + this.tailBytes;
    this.doc.on("update", (update: Uint8Array, origin: unknown) => this.onUpdate(update, origin));
    const fileHash = sha256(fileText);
    if (updates.length === 0) {
      // First open: the document starts as the file. This happens once per document id.
      this.doc.transact(() => this.text.insert(0, fileText), FILE_ORIGIN);
      await this.setBase(fileText, fileHash);
    } else if (fileHash !== this.baseHash && fileHash !== stored.prevHash) {
      this.mergeFile(fileText);
      await this.setBase(fileText, fileHash);
    } else if (this.text.toString() !== fileText) {
      // Stored edits the file never got: the server stopped before writing them back, or a write-back
      // was cut short (the file still has the previous base). What the file holds is the base the
      // write-back starts from; otherwise materialise finds text == base and never writes.
      if (fileHash !== this.baseHash) await this.setBase(fileText, fileHash);
      this.scheduleMaterialise(0);
    }
    await new Promise<void>((resolve) => this.env.log.afterDurable(resolve));
  }

  /** Applies a file's text that changed outside the editor, keeping edits not yet written back. */
  private mergeFile(fileText: string): void {
    const current = this.text.toString();
    const { text: merged, conflicts } = merge3(this.baseText, current, fileText);
    if (conflicts > 0) this.env.app.log.warn("collab merge conflict: the file's version won", { project: this.project.id, path: this.path, conflicts });
    this.doc.transact(() => applyTextChange(this.text, current, merged), FILE_ORIGIN);
    if (merged !== fileText) this.scheduleMaterialise(0);
  }

  private async setBase(text: string, hash: string): Promise<void> {
    const prev = this.baseHash;
    this.baseText = text;
    this.baseHash = hash;
    await writeBase(this.env.app.db, this.docId, text, hash, prev);
  }

  override join(peer: Peer): void {
    super.join(peer);
    peer.send(encodeSyncStep1(this.doc));
  }

  receive(peer: Peer, msg: ClientMessage): void {
    switch (msg.kind) {
      case "sync-step1": {
        const reply = encodeSyncStep2(this.doc, msg.stateVector);
        this.env.log.afterDurable(() => peer.send(reply)); // never show anyone what is not yet stored
        break;
      }
      case "update":
        this.applyClientUpdate(peer, msg.update);
        break;
      case "awareness":
        this.awareness.apply(peer, msg.entries);
        break;
      case "query-awareness": {
        const states = this.awareness.snapshot();
        if (states) peer.send(states);
        break;
      }
      case "auth":
        break;
    }
  }

  private applyClientUpdate(peer: Peer, update: Uint8Array): void {
    if (!peer.canWrite) {
      if (changesDoc(this.doc, update)) peer.send(encodePermissionDenied("read-only"));
      return;
    }
    if (this.storedBytes + update.byteLength > this.env.app.config.collab.maxDocBytes) {
      throw new ProtocolError(CLOSE.tooLarge, "document too large");
    }
    Y.applyUpdate(this.doc, update, peer);
  }

  private onUpdate(update: Uint8Array, origin: unknown): void {
    if (this.closed) return;
    const seq = ++this.nextSeq;
    this.storedBytes += update.byteLength;
    this.tailUpdates++;
    this.tailBytes += update.byteLength;
    const sender = origin !== FILE_ORIGIN && this.peers.has(origin as Peer) ? (origin as Peer) : null;
    if (sender) {
      this.lastEditor = sender.user.id;
      this.scheduleMaterialise(this.env.app.config.collab.materialiseMs);
    }
    const frame = encodeUpdateFrame(update);
    this.env.log.append(this.docId, seq, update, (error) => {
      if (error) return this.fail(error);
      this.broadcast(frame, sender);
    });
    if (this.tailUpdates >= COMPACT_UPDATES || this.tailBytes >= COMPACT_BYTES) this.compactSoon();
  }

  /** Storing failed (a full disk): what is in memory is no longer what is acknowledged, so start over from disk. */
  private fail(error: Error): void {
    if (this.closed) return;
    this.env.app.log.error("collab update could not be stored; the room restarts from disk", { project: this.project.id, path: this.path, error: error.message });
    this.closed = true;
    this.closePeers(CLOSE.serverError, "could not store the edit; reconnecting");
    this.onClosed?.(this);
  }

  /** Set by the registry: called once when the room closes itself. */
  onClosed?: (room: DocRoom) => void;

  private compactSoon(): void {
    if (this.compacting) return;
    this.compacting = true;
    this.env.log.afterDurable(() => void this.compact().finally(() => (this.compacting = false)));
  }

  /** Folds the stored updates into one snapshot, so the next load reads one row. */
  async compact(): Promise<void> {
    if (this.closed || this.tailUpdates === 0) return;
    const upto = this.nextSeq;
    const [folded, foldedBytes] = [this.tailUpdates, this.tailBytes];
    const snapshot = Y.encodeStateAsUpdate(this.doc);
    await writeSnapshot(this.env.app.db, this.docId, snapshot, upto);
    // Updates stored while the snapshot was written stay in the tail (and in the size).
    this.tailUpdates -= folded;
    this.tailBytes -= foldedBytes;
    this.storedBytes = snapshot.byteLength + this.tailBytes;
  }

  private scheduleMaterialise(quietMs: number): void {
    const now = Date.now();
    if (this.dirtySince === 0) this.dirtySince = now;
    if (this.materialiseTimer) clearTimeout(this.materialiseTimer);
    const wait = Math.max(0, Math.min(quietMs, this.dirtySince + MATERIALISE_MAX_WAIT_MS - now));
    this.materialiseTimer = setTimeout(() => {
      this.materialiseTimer = null;
      void this.serial(() => this.materialise()).catch((e: unknown) =>
        this.env.app.log.error("collab write-back failed", { project: this.project.id, path: this.path, error: String(e) }),
      );
    }, wait);
  }

  /** Writes the document's text into the working tree (run through `serial`). */
  async materialise(): Promise<void> {
    if (this.materialiseTimer) {
      clearTimeout(this.materialiseTimer);
      this.materialiseTimer = null;
    }
    this.dirtySince = 0;
    if (this.closed) return;
    if (sha256(this.text.toString()) === this.baseHash) return;
    const { app } = this.env;
    const path = this.path;
    const text = await withRepoLock(this.project.id, async () => {
      // A file deleted (or moved) meanwhile is not brought back by a late write; the change notice sorts it out.
      const onDisk = await this.readText().catch(() => null);
      if (onDisk === null) return null;
      // Written by someone else since our base (file API, push, restore) while this write-back waited;
      // their change notice is queued behind us: merge their text in rather than overwrite it.
      const diskHash = sha256(onDisk);
      if (diskHash !== this.baseHash) {
        this.mergeFile(onDisk);
        await this.setBase(onDisk, diskHash);
      }
      const current = this.text.toString();
      const hash = sha256(current);
      if (hash === this.baseHash) return null;
      await this.setBase(current, hash);
      await writeFile(app.config.dataDir, this.project.id, path, new TextEncoder().encode(current), app.config.maxFileBytes);
      return current;
    });
    if (text === null) return;
    const now = Date.now();
    if (now - this.lastEventAt >= EVENT_EVERY_MS) {
      this.lastEventAt = now;
      await touch(app.db.orm, this.project, "file.written", path, this.lastEditor, { size: text.length, via: "editor" });
    }
    notifyFilesChanged({ dataDir: app.config.dataDir, projectId: this.project.id, actorId: this.lastEditor, source: "edit", paths: [path], origin: this });
  }

  /**
   * The file may have changed outside the editor (run through `serial`): merge it in.
   * Returns false when the file is gone.
   */
  async reconcile(): Promise<boolean> {
    if (this.closed) return true;
    let fileText: string | null;
    try {
      fileText = await this.readText();
    } catch (e) {
      if (e instanceof RoomError) {
        this.closePeers(e.code, e.message);
        return false;
      }
      throw e;
    }
    if (fileText === null) return false;
    const hash = sha256(fileText);
    if (hash === this.baseHash) return true;
    this.mergeFile(fileText);
    await this.setBase(fileText, hash);
    return true;
  }

  /** Writes back what is pending and folds the log; the room is then safe to drop. */
  async flush(): Promise<void> {
    await this.serial(() => this.materialise());
    await new Promise<void>((resolve) => this.env.log.afterDurable(resolve));
    await this.compact();
  }

  destroy(): void {
    this.closed = true;
    if (this.materialiseTimer) clearTimeout(this.materialiseTimer);
    this.materialiseTimer = null;
    this.doc.destroy();
  }
}

function encodeUpdateFrame(update: Uint8Array): Uint8Array {
  // Kept local so the hot path builds the frame once for every receiver.
  const header = new Uint8Array([0, 2]);
  const len = varUintBytes(update.byteLength);
  const out = new Uint8Array(header.length + len.length + update.byteLength);
  out.set(header, 0);
  out.set(len, header.length);
  out.set(update, header.length + len.length);
  return out;
}

function varUintBytes(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return new Uint8Array(out);
}

/** Would this update add or delete anything in `doc`? (Decides whether a read-only peer is told "denied".) */
function changesDoc(doc: Y.Doc, update: Uint8Array): boolean {
  const sv = Y.decodeStateVector(Y.encodeStateVector(doc));
  const { structs, ds } = Y.decodeUpdate(update);
  for (const s of structs) if (s.id.clock + s.length > (sv.get(s.id.client) ?? 0)) return true;
  const known = Y.createDeleteSetFromStructStore(doc.store);
  for (const [client, ranges] of ds.clients) {
    for (const r of ranges) {
      for (let c = r.clock; c < r.clock + r.len; c++) {
        if (!Y.isDeleted(known, { client, clock: c } as Y.ID)) return true;
      }
    }
  }
  return false;
}
