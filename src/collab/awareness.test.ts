import { afterEach, describe, expect, setSystemTime } from "bun:test";
import { test } from "../../test/helpers/quiet.ts";
import { AWARENESS_TIMEOUT_MS, RoomAwareness } from "./awareness.ts";
import type { Identity, Peer } from "./peer.ts";
import { CLOSE, decodeClientMessage, ProtocolError, type AwarenessEntry } from "./protocol.ts";

class FakePeer implements Peer {
  readonly canWrite = true;
  constructor(readonly user: Identity) {}
  send(): void {}
  close(): void {}
}

const ann = new FakePeer({ id: "u-ann", name: "Ann", color: "#e5484d" });
const bob = new FakePeer({ id: "u-bob", name: "Bob", color: "#0090ff" });
const guest = new FakePeer({ id: null, name: "Guest", color: "#30a46c" });

type Sent = { entries: AwarenessEntry[]; except: Peer | null };

/** A RoomAwareness whose broadcasts are decoded and kept, in order. */
function room(): { aw: RoomAwareness; sent: Sent[] } {
  const sent: Sent[] = [];
  const aw = new RoomAwareness((frame, except) => {
    const msg = decodeClientMessage(frame);
    if (msg.kind !== "awareness") throw new Error(`broadcast a ${msg.kind} frame`);
    sent.push({ entries: msg.entries, except });
  });
  return { aw, sent };
}

function statesOf(aw: RoomAwareness): AwarenessEntry[] {
  const frame = aw.snapshot();
  if (!frame) return [];
  const msg = decodeClientMessage(frame);
  return msg.kind === "awareness" ? msg.entries : [];
}

afterEach(() => setSystemTime());

describe("RoomAwareness.apply", () => {
  test("the user field is the authenticated identity, whatever the client sent", () => {
    const { aw, sent } = room();
    aw.apply(ann, [{ clientID: 10, clock: 1, state: { user: { id: "u-admin", name: "Admin", color: "#000" }, selection: { anchor: 3 } } }]);
    aw.apply(guest, [{ clientID: 20, clock: 1, state: { file: "a.md" } }]);
    const expected = [
      { clientID: 10, clock: 1, state: { user: ann.user, selection: { anchor: 3 } } },
      { clientID: 20, clock: 1, state: { file: "a.md", user: guest.user } },
    ];
    expect(sent).toEqual([
      { entries: [expected[0] as AwarenessEntry], except: ann },
      { entries: [expected[1] as AwarenessEntry], except: guest },
    ]);
    expect(statesOf(aw)).toEqual(expected);
    expect(aw.people()).toEqual([
      { user: ann.user, state: { user: ann.user, selection: { anchor: 3 } } },
      { user: guest.user, state: { file: "a.md", user: guest.user } },
    ]);
  });

  test("a peer can neither change nor remove another peer's client id", () => {
    const { aw, sent } = room();
    aw.apply(ann, [{ clientID: 1, clock: 1, state: { file: "mine.ts" } }]);
    sent.length = 0;
    aw.apply(bob, [{ clientID: 1, clock: 99, state: { file: "hijacked.ts" } }]);
    aw.apply(bob, [{ clientID: 1, clock: 100, state: null }]);
    expect(sent).toEqual([]);
    expect(statesOf(aw)).toEqual([{ clientID: 1, clock: 1, state: { file: "mine.ts", user: ann.user } }]);
    // In a mixed frame the foreign entry is skipped and the peer's own entry still applies.
    aw.apply(bob, [
      { clientID: 1, clock: 101, state: { file: "again.ts" } },
      { clientID: 2, clock: 1, state: { file: "bob.ts" } },
    ]);
    expect(sent).toEqual([{ entries: [{ clientID: 2, clock: 1, state: { file: "bob.ts", user: bob.user } }], except: bob }]);
    // Bob leaving does not take Ann's state with him.
    aw.removePeer(bob);
    expect(statesOf(aw).map((e) => e.clientID)).toEqual([1]);
  });

  test("clock rules: newer wins, older and equal are ignored, equal with null removes, unknown null is ignored", () => {
    const { aw, sent } = room();
    aw.apply(ann, [{ clientID: 5, clock: 3, state: { v: "first" } }]);
    aw.apply(ann, [{ clientID: 5, clock: 2, state: { v: "older" } }]);
    aw.apply(ann, [{ clientID: 5, clock: 3, state: { v: "same clock" } }]);
    expect(statesOf(aw)).toEqual([{ clientID: 5, clock: 3, state: { v: "first", user: ann.user } }]);
    aw.apply(ann, [{ clientID: 5, clock: 4, state: { v: "newer" } }]);
    expect(statesOf(aw)).toEqual([{ clientID: 5, clock: 4, state: { v: "newer", user: ann.user } }]);
    aw.apply(ann, [{ clientID: 5, clock: 3, state: null }]); // an old removal
    expect(aw.size).toBe(1);
    aw.apply(ann, [{ clientID: 5, clock: 4, state: null }]);
    expect(aw.size).toBe(0);
    expect(aw.snapshot()).toBeUndefined();
    aw.apply(ann, [{ clientID: 6, clock: 1, state: null }]); // never known: nothing to tell anyone
    expect(sent.map((s) => s.entries)).toEqual([
      [{ clientID: 5, clock: 3, state: { v: "first", user: ann.user } }],
      [{ clientID: 5, clock: 4, state: { v: "newer", user: ann.user } }],
      [{ clientID: 5, clock: 4, state: null }],
    ]);
  });

  test("once removed, a client id may be introduced again at any clock", () => {
    const { aw } = room();
    aw.apply(ann, [{ clientID: 8, clock: 7, state: { a: 1 } }]);
    aw.apply(ann, [{ clientID: 8, clock: 8, state: null }]);
    aw.apply(ann, [{ clientID: 8, clock: 0, state: { a: 2 } }]);
    expect(statesOf(aw)).toEqual([{ clientID: 8, clock: 0, state: { a: 2, user: ann.user } }]);
  });

  test("too many client ids from one connection is a protocol error; freeing one makes room", () => {
    const { aw } = room();
    for (let id = 1; id <= 8; id++) aw.apply(ann, [{ clientID: id, clock: 1, state: {} }]);
    let error: unknown;
    try {
      aw.apply(ann, [{ clientID: 9, clock: 1, state: {} }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(CLOSE.badFrame);
    // Renewing an id it already has is fine, and another peer has its own allowance.
    aw.apply(ann, [{ clientID: 3, clock: 2, state: { renewed: true } }]);
    aw.apply(bob, [{ clientID: 100, clock: 1, state: {} }]);
    aw.apply(ann, [{ clientID: 1, clock: 2, state: null }]);
    aw.apply(ann, [{ clientID: 9, clock: 1, state: {} }]);
    expect(aw.size).toBe(9);
  });
});

describe("RoomAwareness.removePeer and sweep", () => {
  test("removePeer tells everyone the peer's states are gone, with clocks one past the last", () => {
    const { aw, sent } = room();
    aw.apply(ann, [
      { clientID: 1, clock: 4, state: { a: 1 } },
      { clientID: 2, clock: 9, state: { a: 2 } },
    ]);
    aw.apply(bob, [{ clientID: 3, clock: 1, state: { b: 1 } }]);
    sent.length = 0;
    aw.removePeer(ann);
    expect(sent).toEqual([
      {
        entries: [
          { clientID: 1, clock: 5, state: null },
          { clientID: 2, clock: 10, state: null },
        ],
        except: null,
      },
    ]);
    expect(statesOf(aw).map((e) => e.clientID)).toEqual([3]);
    aw.removePeer(ann); // nothing left of Ann: nothing sent
    expect(sent).toHaveLength(1);
  });

  test(`sweep drops states not renewed within ${AWARENESS_TIMEOUT_MS / 1000} s, and only those`, () => {
    const { aw, sent } = room();
    const t0 = new Date("2026-01-01T00:00:00Z").getTime();
    setSystemTime(t0);
    aw.apply(ann, [{ clientID: 1, clock: 1, state: { a: 1 } }]);
    aw.apply(bob, [{ clientID: 2, clock: 1, state: { b: 1 } }]);
    setSystemTime(t0 + 20_000);
    aw.apply(bob, [{ clientID: 2, clock: 2, state: { b: 2 } }]); // Bob renews; Ann goes quiet
    sent.length = 0;
    aw.sweep(t0 + AWARENESS_TIMEOUT_MS - 1);
    expect(sent).toEqual([]);
    aw.sweep(t0 + AWARENESS_TIMEOUT_MS);
    expect(sent).toEqual([{ entries: [{ clientID: 1, clock: 2, state: null }], except: null }]);
    expect(statesOf(aw).map((e) => e.clientID)).toEqual([2]);
    aw.sweep(t0 + 20_000 + AWARENESS_TIMEOUT_MS);
    expect(aw.size).toBe(0);
    // Ann's tab wakes up and renews: she is back.
    aw.apply(ann, [{ clientID: 1, clock: 3, state: { a: 3 } }]);
    expect(statesOf(aw)).toEqual([{ clientID: 1, clock: 3, state: { a: 3, user: ann.user } }]);
  });
});
