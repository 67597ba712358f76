/**
 * The room registry of one Wove instance: opens rooms on first join, unloads
 * them when idle, follows file changes made elsewhere (API, push, restore,
 * rename, delete) into the live documents, and flushes everything on shutdown.
 * One per App (`collabFor`).
 */
import type { App } from "../core/app.ts";
import type { Project } from "../db/schema.ts";
import { onFilesChanged, registerEditFlusher, type FilesChanged } from "../projects/files.ts";
import { registerGauge } from "../server/metrics.ts";
import { CLOSE } from "./protocol.ts";
import type { Peer } from "./peer.ts";
import { DocRoom, PresenceRoom, RoomError, type Room, type RoomEnv } from "./room.ts";
import { deleteDocs, moveDocs, UpdateLog } from "./store.ts";

const SWEEP_EVERY_MS = 5000;

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export class Collab {
  private readonly rooms = new Map<string, Room>();
  private readonly opening = new Map<string, Promise<Room>>();
  private readonly unloading = new Map<string, Promise<void>>();
  private readonly idleTimers = new Map<Room, ReturnType<typeof setTimeout>>();
  private changes: Promise<void> = Promise.resolve();
  private readonly env: RoomEnv;
  private readonly stopListening: () => void;
  private readonly stopFlushing: () => void;
  private readonly sweeper: ReturnType<typeof setInterval>;
  readonly log: UpdateLog;
  connections = 0;
  private closing = false;

  constructor(readonly app: App) {
    this.log = new UpdateLog(app.db);
    this.env = { app, log: this.log };
    this.stopListening = onFilesChanged((e) => {
      if (e.dataDir !== app.config.dataDir || e.origin instanceof DocRoom) return;
      this.changes = this.changes.then(() => this.followChange(e)).catch((err: unknown) => app.log.error("collab could not follow a file change", { project: e.projectId, error: String(err) }));
    });
    // Saving or exporting a version first takes the text still waiting in editors.
    this.stopFlushing = registerEditFlusher(async (dataDir, projectId) => {
      if (dataDir !== app.config.dataDir) return;
      await Promise.all(this.docRooms(projectId).filter((r) => r.dirty).map((r) => r.serial(() => r.materialise())));
    });
    this.sweeper = setInterval(() => {
      for (const room of this.rooms.values()) room.awareness.sweep();
    }, SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  get loadedRooms(): number {
    return this.rooms.size;
  }

  room(key: string): Room | undefined {
    return this.rooms.get(key);
  }

  /** Puts `peer` in the room for a file (or the project's presence room when `path` is null); throws RoomError. */
  async join(peer: Peer, project: Project, path: string | null): Promise<Room> {
    if (this.closing) throw new RoomError(CLOSE.goingAway, "server restarting");
    const key = path === null ? project.id : `${project.id}/${path}`;
    for (;;) {
      const leaving = this.unloading.get(key);
      if (leaving) {
        await leaving;
        continue;
      }
      let room = this.rooms.get(key);
      if (!room) {
        let opening = this.opening.get(key);
        if (!opening) {
          opening = this.open(project, path).finally(() => this.opening.delete(key));
          this.opening.set(key, opening);
        }
        room = await opening;
      }
      if (room.closed) continue;
      this.cancelIdle(room);
      room.join(peer);
      return room;
    }
  }

  leave(peer: Peer, room: Room): void {
    room.leave(peer);
    if (room.peers.size === 0 && !room.closed) this.scheduleIdle(room);
  }

  private async open(project: Project, path: string | null): Promise<Room> {
    if (path === null) {
      const room = new PresenceRoom(this.env, project);
      this.rooms.set(room.key, room);
      return room;
    }
    const room = new DocRoom(this.env, project, path);
    try {
      await room.serial(() => room.load());
    } catch (e) {
      room.destroy();
      throw e;
    }
    room.onClosed = (r) => this.forget(r);
    this.rooms.set(room.key, room);
    return room;
  }

  private cancelIdle(room: Room): void {
    const t = this.idleTimers.get(room);
    if (t) clearTimeout(t);
    this.idleTimers.delete(room);
  }

  private scheduleIdle(room: Room): void {
    this.cancelIdle(room);
    const wait = room instanceof DocRoom ? this.app.config.collab.idleMs : 0;
    const t = setTimeout(() => {
      this.idleTimers.delete(room);
      if (room.peers.size === 0) void this.unload(room);
    }, wait);
    t.unref?.();
    this.idleTimers.set(room, t);
  }

  /** Writes back, compacts and drops a room; joins meanwhile wait and then load it afresh. */
  async unload(room: Room): Promise<void> {
    const key = room.key;
    if (this.rooms.get(key) !== room || this.unloading.has(key)) return;
    const done = (async () => {
      try {
        if (room instanceof DocRoom) await room.flush();
      } catch (e) {
        this.app.log.error("collab room did not flush cleanly", { room: key, error: String(e) });
      } finally {
        if (room instanceof DocRoom) room.destroy();
        room.closed = true;
        this.forget(room);
      }
    })();
    this.unloading.set(key, done);
    try {
      await done;
    } finally {
      this.unloading.delete(key);
    }
  }

  private forget(room: Room): void {
    this.cancelIdle(room);
    if (this.rooms.get(room.key) === room) this.rooms.delete(room.key);
  }

  private docRooms(projectId: string): DocRoom[] {
    return [...this.rooms.values()].filter((r): r is DocRoom => r instanceof DocRoom && r.project.id === projectId && !r.closed);
  }

  /** A change made outside the editor: renames follow, deletions close, everything else merges in. */
  private async followChange(e: FilesChanged): Promise<void> {
    const { db } = this.app;
    if (e.moved) {
      const { from, to } = e.moved;
      await this.log.drain();
      await moveDocs(db, e.projectId, from, to);
      for (const room of this.docRooms(e.projectId)) {
        if (under(room.path, to)) this.drop(room, CLOSE.deleted, "replaced by a moved file");
        else if (under(room.path, from)) {
          this.rooms.delete(room.key);
          room.path = to + room.path.slice(from.length);
          this.rooms.set(room.key, room);
          // The new path travels in the reason when it fits (123 bytes); otherwise the client looks it up.
          const reason = `moved:${room.path}`;
          room.closePeers(CLOSE.moved, new TextEncoder().encode(reason).byteLength <= 123 ? reason : "moved");
          this.scheduleIdle(room);
          if (room.dirty) await room.serial(() => room.materialise());
        }
      }
      return;
    }
    if (e.deleted) {
      for (const room of this.docRooms(e.projectId)) if (under(room.path, e.deleted)) this.drop(room, CLOSE.deleted, "deleted");
      await this.log.drain();
      await deleteDocs(db, e.projectId, e.deleted);
      return;
    }
    for (const room of this.docRooms(e.projectId)) {
      if (e.paths && !e.paths.includes(room.path)) continue;
      const present = await room.serial(() => room.reconcile());
      if (!present) {
        this.drop(room, CLOSE.deleted, "deleted");
        await this.log.drain();
        await deleteDocs(db, e.projectId, room.path);
      }
    }
  }

  private drop(room: DocRoom, code: number, reason: string): void {
    room.closePeers(code, reason);
    room.destroy();
    this.forget(room);
  }

  /** Shutdown: tell everyone, write every document back, store everything pending. */
  async close(): Promise<void> {
    this.closing = true;
    this.stopListening();
    this.stopFlushing();
    clearInterval(this.sweeper);
    const rooms = [...this.rooms.values()];
    for (const room of rooms) room.closePeers(CLOSE.goingAway, "server restarting");
    await Promise.all(rooms.map((r) => this.unload(r)));
    await this.log.drain();
    await this.changes;
  }
}

const instances = new WeakMap<App, Collab>();
let gaugesRegistered = false;

/** The registry for this app, created on first use. */
export function collabFor(app: App): Collab {
  let c = instances.get(app);
  if (!c) {
    c = new Collab(app);
    instances.set(app, c);
    const current = c;
    if (!gaugesRegistered) {
      gaugesRegistered = true;
      registerGauge("wove_collab_rooms_loaded", () => current.loadedRooms);
      registerGauge("wove_collab_connections", () => current.connections);
      registerGauge("wove_collab_commits_total", () => current.log.commits);
      registerGauge("wove_collab_updates_stored_total", () => current.log.appended);
    }
  }
  return c;
}

/** Flushes the app's collab state if it was ever used (shutdown path). */
export async function closeCollab(app: App): Promise<void> {
  const c = instances.get(app);
  if (c) await c.close();
  instances.delete(app);
}
