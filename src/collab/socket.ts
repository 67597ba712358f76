/**
 * One WebSocket as a room peer: limits (frame size, message rate, send
 * backlog), decoding, and the hand-off to the room. Anything malformed closes
 * this socket only; the room and everyone else carry on.
 */
import type { ServerWebSocket } from "bun";
import type { App } from "../core/app.ts";
import type { Project } from "../db/schema.ts";
import { CLOSE, decodeClientMessage, ProtocolError } from "./protocol.ts";
import type { Identity, Peer } from "./peer.ts";
import { RoomError, type Room } from "./room.ts";
import { collabFor } from "./rooms.ts";

/** Frames that may wait while the room loads. */
const MAX_QUEUED = 256;
/** A reader this far behind is closed rather than buffered without end. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

type Socket = ServerWebSocket<unknown>;

function clip(reason: string): string {
  // Close reasons are at most 123 bytes of UTF-8.
  let r = reason;
  while (new TextEncoder().encode(r).byteLength > 123) r = r.slice(0, -4) + "...";
  return r;
}

/** Token bucket: `rate` per second on average, bursts up to ten seconds' worth. */
class Bucket {
  private tokens: number;
  private at = performance.now();
  constructor(private readonly rate: number) {
    this.tokens = rate * 10;
  }
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rate * 10, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

class SocketPeer implements Peer {
  closed = false;
  constructor(
    private readonly ws: Socket,
    readonly user: Identity,
    readonly canWrite: boolean,
  ) {}

  send(frame: Uint8Array): void {
    if (this.closed) return;
    this.ws.send(frame);
    if (this.ws.getBufferedAmount() > MAX_BUFFERED_BYTES) this.close(1008, "too far behind; reconnect");
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, clip(reason));
  }
}

export type SocketTarget = { project: Project; path: string | null; user: Identity; canWrite: boolean };

/** The `ws.data` handlers Elysia's socket dispatcher calls for one collab connection. */
export function collabSocket(app: App, target: SocketTarget) {
  const collab = collabFor(app);
  const limits = app.config.collab;
  const bucket = new Bucket(limits.ratePerSecond);
  let peer: SocketPeer | undefined;
  let room: Room | undefined;
  const queue: Uint8Array[] = [];

  const handle = (data: Uint8Array) => {
    if (!peer || !room || peer.closed) return;
    try {
      room.receive(peer, decodeClientMessage(data));
    } catch (e) {
      if (e instanceof ProtocolError) peer.close(e.code, e.message);
      else {
        app.log.warn("collab frame refused", { room: room.key, error: String(e) });
        peer.close(CLOSE.badFrame, "malformed update");
      }
    }
  };

  return {
    open(ws: Socket) {
      const p = new SocketPeer(ws, target.user, target.canWrite);
      peer = p;
      collab.connections++;
      collab
        .join(p, target.project, target.path)
        .then((r) => {
          if (p.closed) return collab.leave(p, r);
          room = r;
          for (const data of queue.splice(0)) handle(data);
        })
        .catch((e: unknown) => {
          if (e instanceof RoomError) return p.close(e.code, e.message);
          app.log.error("collab room failed to open", { project: target.project.id, path: target.path, error: (e as Error)?.stack ?? String(e) });
          p.close(CLOSE.serverError, "the document could not be opened");
        });
    },
    message(_ws: Socket, message: string | Buffer) {
      if (!peer || peer.closed) return;
      if (typeof message === "string") return peer.close(CLOSE.badFrame, "text frames are not part of the protocol");
      if (message.byteLength > limits.maxMessageBytes) return peer.close(CLOSE.tooLarge, "message too large");
      if (!bucket.take()) return peer.close(CLOSE.rateLimited, "too many messages; slow down");
      const data = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
      if (!room) {
        if (queue.length >= MAX_QUEUED) return peer.close(CLOSE.rateLimited, "too many messages before the document opened");
        queue.push(data.slice());
        return;
      }
      handle(data);
    },
    close() {
      collab.connections--;
      if (peer) peer.closed = true;
      if (peer && room) collab.leave(peer, room);
    },
    drain() {},
  };
}
