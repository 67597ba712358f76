import { afterEach, describe, expect } from "bun:test";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as authProtocol from "y-protocols/auth";
import * as awarenessProtocol from "y-protocols/awareness";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { test } from "../../test/helpers/quiet.ts";
import {
  CLOSE,
  decodeClientMessage,
  encodeAwareness,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  ProtocolError,
  type ClientMessage,
} from "./protocol.ts";

/** Frames as the stock y-websocket client builds them. */
function clientFrame(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  write(e);
  return encoding.toUint8Array(e);
}

function docWith(text: string): Y.Doc {
  const doc = new Y.Doc();
  doc.getText("content").insert(0, text);
  return doc;
}

const awarenesses: awarenessProtocol.Awareness[] = [];
/** A y-protocols Awareness (its renewal timer is stopped after each test). */
function clientAwareness(state: Record<string, unknown> | null): awarenessProtocol.Awareness {
  const a = new awarenessProtocol.Awareness(new Y.Doc());
  awarenesses.push(a);
  a.setLocalState(state);
  return a;
}
afterEach(() => {
  for (const a of awarenesses.splice(0)) a.destroy();
});

function awarenessFrame(a: awarenessProtocol.Awareness, clients = [a.clientID]): Uint8Array {
  return clientFrame((e) => {
    encoding.writeVarUint(e, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(a, clients));
  });
}

/** An awareness frame with hand-written entries (for states y-protocols itself would never send). */
function rawAwarenessFrame(entries: [clientID: number, clock: number, json: string][]): Uint8Array {
  const inner = clientFrame((e) => {
    encoding.writeVarUint(e, entries.length);
    for (const [id, clock, json] of entries) {
      encoding.writeVarUint(e, id);
      encoding.writeVarUint(e, clock);
      encoding.writeVarString(e, json);
    }
  });
  return clientFrame((e) => {
    encoding.writeVarUint(e, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(e, inner);
  });
}

function refusal(frame: Uint8Array): ProtocolError {
  try {
    decodeClientMessage(frame);
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe(CLOSE.badFrame);
    return e as ProtocolError;
  }
  throw new Error(`frame [${[...frame].join(",")}] was accepted`);
}

/** Every valid frame kind a client sends, built with y-protocols' own encoders. */
function validFrames(): Record<string, Uint8Array> {
  const doc = docWith("hello ünïcode 😀\n");
  const update = Y.encodeStateAsUpdate(doc);
  return {
    step1: clientFrame((e) => {
      encoding.writeVarUint(e, MESSAGE_SYNC);
      syncProtocol.writeSyncStep1(e, doc);
    }),
    step2: clientFrame((e) => {
      encoding.writeVarUint(e, MESSAGE_SYNC);
      syncProtocol.writeSyncStep2(e, doc, Y.encodeStateVector(new Y.Doc()));
    }),
    update: clientFrame((e) => {
      encoding.writeVarUint(e, MESSAGE_SYNC);
      syncProtocol.writeUpdate(e, update);
    }),
    awareness: awarenessFrame(clientAwareness({ user: { name: "Ann" }, selection: { anchor: 1, head: 4 } })),
    queryAwareness: clientFrame((e) => encoding.writeVarUint(e, MESSAGE_QUERY_AWARENESS)),
  };
}

describe("decodeClientMessage reads what y-protocols writes", () => {
  test("sync step 1 carries the client's state vector", () => {
    const doc = docWith("abc");
    const frame = clientFrame((e) => {
      encoding.writeVarUint(e, MESSAGE_SYNC);
      syncProtocol.writeSyncStep1(e, doc);
    });
    const msg = decodeClientMessage(frame);
    expect(msg).toEqual({ kind: "sync-step1", stateVector: Y.encodeStateVector(doc) });
  });

  test("sync step 2 and update carry a Yjs update that rebuilds the text", () => {
    const frames = validFrames();
    for (const [name, step2] of [
      ["step2", true],
      ["update", false],
    ] as const) {
      const msg = decodeClientMessage(frames[name] as Uint8Array);
      if (msg.kind !== "update") throw new Error(`${name} decoded as ${msg.kind}`);
      expect(msg.step2).toBe(step2);
      const doc = new Y.Doc();
      Y.applyUpdate(doc, msg.update);
      expect(doc.getText("content").toString()).toBe("hello ünïcode 😀\n");
    }
  });

  test("an empty step 2 (a client with nothing new) decodes as an update that changes nothing", () => {
    const frame = clientFrame((e) => {
      encoding.writeVarUint(e, MESSAGE_SYNC);
      syncProtocol.writeSyncStep2(e, new Y.Doc(), Y.encodeStateVector(new Y.Doc()));
    });
    const msg = decodeClientMessage(frame);
    expect(msg.kind).toBe("update");
  });

  test("awareness: client id, clock and state, including a removal (null state)", () => {
    const a = clientAwareness({ user: { name: "Ann", color: "#123" }, file: "src/a.ts" });
    a.setLocalStateField("file", "src/b.ts");
    expect(decodeClientMessage(awarenessFrame(a))).toEqual({
      kind: "awareness",
      entries: [{ clientID: a.clientID, clock: 2, state: { user: { name: "Ann", color: "#123" }, file: "src/b.ts" } }],
    });
    const frames: Uint8Array[] = [];
    a.on("update", ({ removed }: { removed: number[] }) => frames.push(awarenessFrame(a, removed)));
    awarenessProtocol.removeAwarenessStates(a, [a.clientID], "test");
    expect(decodeClientMessage(frames[0] as Uint8Array)).toEqual({ kind: "awareness", entries: [{ clientID: a.clientID, clock: 3, state: null }] });
  });

  test("query-awareness and auth", () => {
    expect(decodeClientMessage(validFrames().queryAwareness as Uint8Array)).toEqual({ kind: "query-awareness" });
    const auth = clientFrame((e) => {
      encoding.writeVarUint(e, MESSAGE_AUTH);
      authProtocol.writePermissionDenied(e, "whatever");
    });
    expect(decodeClientMessage(auth)).toEqual({ kind: "auth" });
  });
});

describe("server frames are read by y-protocols (what the stock client runs)", () => {
  test("step 1 and step 2 bring a client doc level with the server doc", () => {
    const server = docWith("server text\n");
    const client = new Y.Doc();
    // Server step 1 → the client answers with its own step 2 (empty here), as readSyncMessage does.
    const d1 = decoding.createDecoder(encodeSyncStep1(server));
    expect(decoding.readVarUint(d1)).toBe(MESSAGE_SYNC);
    const reply = encoding.createEncoder();
    expect(syncProtocol.readSyncMessage(d1, reply, client, null)).toBe(syncProtocol.messageYjsSyncStep1);
    expect(encoding.length(reply)).toBeGreaterThan(0);
    // Server step 2 for the client's state vector → the client has the text.
    const d2 = decoding.createDecoder(encodeSyncStep2(server, Y.encodeStateVector(client)));
    decoding.readVarUint(d2);
    expect(syncProtocol.readSyncMessage(d2, encoding.createEncoder(), client, null)).toBe(syncProtocol.messageYjsSyncStep2);
    expect(client.getText("content").toString()).toBe("server text\n");
  });

  test("an update frame applies on the client", () => {
    const server = docWith("a");
    const client = new Y.Doc();
    Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
    let update: Uint8Array | undefined;
    server.on("update", (u: Uint8Array) => (update = u));
    server.getText("content").insert(1, "b");
    const d = decoding.createDecoder(encodeUpdate(update as Uint8Array));
    decoding.readVarUint(d);
    expect(syncProtocol.readSyncMessage(d, encoding.createEncoder(), client, null)).toBe(syncProtocol.messageYjsUpdate);
    expect(client.getText("content").toString()).toBe("ab");
  });

  test("awareness frames apply on a y-protocols Awareness, null states remove", () => {
    const a = clientAwareness(null);
    const state = { user: { id: "u1", name: "Ann", color: "#e5484d" }, selection: null };
    const apply = (frame: Uint8Array) => {
      const d = decoding.createDecoder(frame);
      expect(decoding.readVarUint(d)).toBe(MESSAGE_AWARENESS);
      awarenessProtocol.applyAwarenessUpdate(a, decoding.readVarUint8Array(d), "server");
    };
    apply(encodeAwareness([{ clientID: 77, clock: 4, state }]));
    expect(a.getStates().get(77)).toEqual(state);
    apply(encodeAwareness([{ clientID: 77, clock: 5, state: null }]));
    expect(a.getStates().has(77)).toBe(false);
  });

  test("permission-denied is the y-protocols auth message with its reason", () => {
    const d = decoding.createDecoder(encodePermissionDenied("read-only"));
    expect(decoding.readVarUint(d)).toBe(MESSAGE_AUTH);
    const reasons: string[] = [];
    authProtocol.readAuthMessage(d, new Y.Doc(), (_doc, reason) => reasons.push(reason));
    expect(reasons).toEqual(["read-only"]);
    expect(decoding.hasContent(d)).toBe(false);
  });

  test("server frames decode again with decodeClientMessage (the same wire format both ways)", () => {
    const doc = docWith("x");
    const kinds = [encodeSyncStep1(doc), encodeSyncStep2(doc, new Uint8Array([0])), encodeUpdate(Y.encodeStateAsUpdate(doc)), encodeAwareness([{ clientID: 1, clock: 0, state: { a: 1 } }])].map(
      (f) => decodeClientMessage(f).kind,
    );
    expect(kinds).toEqual(["sync-step1", "update", "update", "awareness"]);
  });
});

describe("malformed frames are a ProtocolError 4400, never anything else", () => {
  test("every truncation of every valid sync, awareness and query frame", () => {
    for (const [name, frame] of Object.entries(validFrames())) {
      expect(frame.length, name).toBeGreaterThan(0);
      for (let n = 0; n < frame.length; n++) {
        // A copy ends the buffer at the cut; a view over the longer buffer lets a sloppy reader run past it.
        refusal(frame.slice(0, n));
        refusal(frame.subarray(0, n));
      }
    }
  });

  test("auth frames are read whole: truncated or with trailing bytes is refused like any other frame", () => {
    const auth = encodePermissionDenied("read-only");
    for (let n = 0; n < auth.length; n++) refusal(auth.slice(0, n));
    refusal(new Uint8Array([...auth, 0]));
  });

  test("trailing bytes after any valid frame", () => {
    for (const frame of Object.values(validFrames())) expect(refusal(new Uint8Array([...frame, 0])).message).toContain("trailing");
    // Trailing bytes inside the awareness payload too.
    const a = awarenessFrame(clientAwareness({ x: 1 }));
    const d = decoding.createDecoder(a);
    decoding.readVarUint(d);
    const inner = decoding.readVarUint8Array(d);
    refusal(clientFrame((e) => (encoding.writeVarUint(e, MESSAGE_AWARENESS), encoding.writeVarUint8Array(e, new Uint8Array([...inner, 9])))));
  });

  test("unknown message types and sync steps", () => {
    refusal(new Uint8Array([4]));
    refusal(new Uint8Array([99, 0, 0]));
    refusal(clientFrame((e) => encoding.writeVarUint(e, 2 ** 31)));
    refusal(new Uint8Array([MESSAGE_SYNC, 3, 0]));
    refusal(new Uint8Array([]));
  });

  test("garbage inside well-formed framing: a state vector or update that does not decode", () => {
    const junk = new Uint8Array([200, 201, 202, 203, 204, 205]);
    for (const step of [0, 1, 2]) refusal(clientFrame((e) => (encoding.writeVarUint(e, MESSAGE_SYNC), encoding.writeVarUint(e, step), encoding.writeVarUint8Array(e, junk))));
  });

  test("awareness states must be JSON objects or null, and small", () => {
    expect(refusal(rawAwarenessFrame([[1, 1, "{not json"]])).message).toContain("JSON");
    refusal(rawAwarenessFrame([[1, 1, "[1,2]"]]));
    refusal(rawAwarenessFrame([[1, 1, "3"]]));
    refusal(rawAwarenessFrame([[1, 1, '"text"']]));
    refusal(rawAwarenessFrame([[1, 1, ""]]));
    expect(refusal(rawAwarenessFrame([[1, 1, JSON.stringify({ pad: "x".repeat(17 * 1024) })]])).message).toContain("too large");
    expect(refusal(rawAwarenessFrame(Array.from({ length: 17 }, (_, i) => [i, 1, "{}"] as [number, number, string]))).message).toContain("too many");
    // The limits themselves are fine.
    const ok = decodeClientMessage(rawAwarenessFrame([...Array.from({ length: 15 }, (_, i) => [i, 1, "{}"] as [number, number, string]), [15, 1, "null"]]));
    expect(ok.kind === "awareness" && ok.entries.length).toBe(16);
    expect(ok.kind === "awareness" && ok.entries[15]?.state).toBeNull();
  });

  test("random bytes either decode to a message or fail as a ProtocolError 4400", () => {
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = new Uint8Array(Math.floor(next() * 48));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(next() * 256);
      // Bias toward plausible headers so the decoders behind them get exercised too.
      if (bytes.length > 0 && next() < 0.7) bytes[0] = Math.floor(next() * 4);
      if (bytes.length > 1 && next() < 0.5) bytes[1] = Math.floor(next() * 3);
      let msg: ClientMessage | undefined;
      try {
        msg = decodeClientMessage(bytes);
      } catch (e) {
        if (!(e instanceof ProtocolError) || e.code !== CLOSE.badFrame) throw new Error(`[${[...bytes].join(",")}] threw ${String(e)}`);
      }
      if (msg) decoded++;
    }
    expect(decoded).toBeLessThan(5000);
  });
});
