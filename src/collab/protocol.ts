/**
 * The y-websocket wire protocol, as the stock `WebsocketProvider` speaks it:
 * a varuint message type, then a y-protocols payload. Encoding lives here so
 * rooms deal in meaning (sync, awareness, denied), not bytes.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as Y from "yjs";

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;

export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;

/** Close codes the IDE reacts to (documented in docs/ARCHITECTURE.md, "Collaboration"). */
export const CLOSE = {
  goingAway: 1001,
  serverError: 1011,
  moved: 4301,
  badFrame: 4400,
  unauthenticated: 4401,
  forbidden: 4403,
  notFound: 4404,
  deleted: 4410,
  tooLarge: 4413,
  notText: 4415,
  rateLimited: 4429,
} as const;

/** Raised while reading a client's frame; the socket is closed with `code`. */
export class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A client frame, decoded and checked. Updates are fully decoded once, so a malformed one never reaches a doc. */
export type ClientMessage =
  | { kind: "sync-step1"; stateVector: Uint8Array }
  | { kind: "update"; update: Uint8Array; step2: boolean }
  | { kind: "awareness"; entries: AwarenessEntry[] }
  | { kind: "query-awareness" }
  | { kind: "auth" };

export type AwarenessEntry = { clientID: number; clock: number; state: Record<string, unknown> | null };

/** Most awareness entries one frame may carry: a tab has one client id; a provider that reconnected a few. */
const MAX_AWARENESS_ENTRIES = 16;
/** In UTF-16 code units (what JSON.parse sees), not bytes. */
const MAX_AWARENESS_STATE_CHARS = 16 * 1024;

function fail(message: string): never {
  throw new ProtocolError(CLOSE.badFrame, message);
}

function readAwareness(decoder: decoding.Decoder): AwarenessEntry[] {
  const inner = decoding.createDecoder(decoding.readVarUint8Array(decoder));
  const n = decoding.readVarUint(inner);
  if (n > MAX_AWARENESS_ENTRIES) fail("too many awareness entries");
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < n; i++) {
    const clientID = decoding.readVarUint(inner);
    const clock = decoding.readVarUint(inner);
    const json = decoding.readVarString(inner);
    if (json.length > MAX_AWARENESS_STATE_CHARS) fail("awareness state too large");
    let state: unknown;
    try {
      state = JSON.parse(json);
    } catch {
      fail("awareness state is not JSON");
    }
    if (state !== null && (typeof state !== "object" || Array.isArray(state))) fail("awareness state must be an object or null");
    entries.push({ clientID, clock, state: state as Record<string, unknown> | null });
  }
  if (decoding.hasContent(inner)) fail("trailing bytes in awareness update");
  return entries;
}

/** Decodes one frame; throws ProtocolError on anything malformed, truncated or unknown. */
export function decodeClientMessage(data: Uint8Array): ClientMessage {
  try {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    let msg: ClientMessage;
    if (type === MESSAGE_SYNC) {
      const step = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      if (step === SYNC_STEP1) {
        Y.decodeStateVector(payload); // validates
        msg = { kind: "sync-step1", stateVector: payload };
      } else if (step === SYNC_STEP2 || step === SYNC_UPDATE) {
        Y.decodeUpdate(payload); // a full decode: truncated or garbage updates fail here, before any doc sees them
        msg = { kind: "update", update: payload, step2: step === SYNC_STEP2 };
      } else fail(`unknown sync step ${step}`);
    } else if (type === MESSAGE_AWARENESS) {
      msg = { kind: "awareness", entries: readAwareness(decoder) };
    } else if (type === MESSAGE_QUERY_AWARENESS) {
      msg = { kind: "query-awareness" };
    } else if (type === MESSAGE_AUTH) {
      decoding.readVarUint(decoder);
      decoding.readVarString(decoder); // the reason: clients have nothing to say here, but the frame is read whole
      msg = { kind: "auth" };
    } else fail(`unknown message type ${type}`);
    if (decoding.hasContent(decoder)) fail("trailing bytes after the message");
    return msg;
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError(CLOSE.badFrame, `malformed frame: ${(e as Error).message}`);
  }
}

function frame(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  write(e);
  return encoding.toUint8Array(e);
}

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, SYNC_STEP1);
    encoding.writeVarUint8Array(e, Y.encodeStateVector(doc));
  });
}

export function encodeSyncStep2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, SYNC_STEP2);
    encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc, stateVector));
  });
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, SYNC_UPDATE);
    encoding.writeVarUint8Array(e, update);
  });
}

export function encodeAwareness(entries: AwarenessEntry[]): Uint8Array {
  const inner = frame((e) => {
    encoding.writeVarUint(e, entries.length);
    for (const x of entries) {
      encoding.writeVarUint(e, x.clientID);
      encoding.writeVarUint(e, x.clock);
      encoding.writeVarString(e, JSON.stringify(x.state));
    }
  });
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(e, inner);
  });
}

/** The y-protocols auth message the stock client logs as "Permission denied … <reason>". */
export function encodePermissionDenied(reason: string): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_AUTH);
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, reason);
  });
}
