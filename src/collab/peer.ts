/**
 * A peer is one connected client as a room sees it: who it is, whether it may
 * write, and how to reach it. Sockets (socket.ts) implement it; room tests use
 * plain objects.
 */
import { sha256 } from "../lib/crypto.ts";

/** What everyone else sees of a person in awareness: set by the server, never by the client. */
export type Identity = { id: string | null; name: string; color: string };

export interface Peer {
  readonly user: Identity;
  readonly canWrite: boolean;
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** Twelve colours that read on light and dark backgrounds alike. */
const PALETTE = ["#e5484d", "#f76b15", "#ad7f00", "#30a46c", "#12a594", "#0090ff", "#3e63dd", "#8e4ec6", "#d6409f", "#e54666", "#5b8c00", "#0d74ce"];

/** A stable colour per person: the same on every page, in every room, after every restart. */
export function colorFor(userId: string | null, fallbackSeed: string): string {
  const h = sha256(userId ?? fallbackSeed);
  return PALETTE[Number.parseInt(h.slice(0, 8), 16) % PALETTE.length] as string;
}
