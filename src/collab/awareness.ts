/**
 * Server-side awareness for one room: who is here, where their cursor is. The
 * server keeps the states itself (instead of y-protocols' Awareness) to enforce
 * two rules: a connection only speaks for the client ids it introduced, and the
 * `user` field always carries the authenticated identity, whatever was sent.
 */
import { encodeAwareness, ProtocolError, CLOSE, type AwarenessEntry } from "./protocol.ts";
import type { Peer } from "./peer.ts";

/** A state not renewed for this long is dropped (y-protocols clients renew every 15 s). */
export const AWARENESS_TIMEOUT_MS = 30_000;
/** Client ids one connection may introduce (a provider that reconnects reuses its id). */
const MAX_IDS_PER_PEER = 8;

type Entry = { clock: number; state: Record<string, unknown>; updated: number; peer: Peer };

export class RoomAwareness {
  private readonly states = new Map<number, Entry>();

  constructor(private readonly broadcast: (frame: Uint8Array, except: Peer | null) => void) {}

  get size(): number {
    return this.states.size;
  }

  /** Everyone's state, for a peer that just joined or asked. */
  snapshot(): Uint8Array | undefined {
    if (this.states.size === 0) return undefined;
    return encodeAwareness([...this.states].map(([clientID, e]) => ({ clientID, clock: e.clock, state: e.state })));
  }

  /** Every state with its authenticated identity (one per client id: a person with two tabs appears twice). */
  people(): { user: Peer["user"]; state: Record<string, unknown> }[] {
    return [...this.states.values()].map((e) => ({ user: e.peer.user, state: e.state }));
  }

  apply(peer: Peer, entries: AwarenessEntry[]): void {
    const now = Date.now();
    const accepted: AwarenessEntry[] = [];
    for (const e of entries) {
      const cur = this.states.get(e.clientID);
      if (cur && cur.peer !== peer) continue; // someone else's id: ignored, never overwritten
      if (!cur) {
        if (e.state === null) continue;
        let owned = 0;
        for (const x of this.states.values()) if (x.peer === peer) owned++;
        if (owned >= MAX_IDS_PER_PEER) throw new ProtocolError(CLOSE.badFrame, "too many awareness client ids on one connection");
      } else if (!(e.clock > cur.clock || (e.clock === cur.clock && e.state === null))) continue;
      if (e.state === null) {
        this.states.delete(e.clientID);
        accepted.push({ clientID: e.clientID, clock: e.clock, state: null });
      } else {
        const state = { ...e.state, user: peer.user };
        this.states.set(e.clientID, { clock: e.clock, state, updated: now, peer });
        accepted.push({ clientID: e.clientID, clock: e.clock, state });
      }
    }
    if (accepted.length > 0) this.broadcast(encodeAwareness(accepted), peer);
  }

  /** Removes the states of a peer that left, telling the others. */
  removePeer(peer: Peer): void {
    this.remove((e) => e.peer === peer);
  }

  /** Drops states whose client stopped renewing them (a connection that died without closing). */
  sweep(now = Date.now()): void {
    this.remove((e) => now - e.updated >= AWARENESS_TIMEOUT_MS);
  }

  private remove(match: (e: Entry) => boolean): void {
    const gone: AwarenessEntry[] = [];
    for (const [clientID, e] of this.states) {
      if (!match(e)) continue;
      this.states.delete(clientID);
      gone.push({ clientID, clock: e.clock + 1, state: null });
    }
    if (gone.length > 0) this.broadcast(encodeAwareness(gone), null);
  }
}
