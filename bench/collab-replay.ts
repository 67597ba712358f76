/**
 * Replays an editing trace (bench/collab-trace.ts) through a server from one stock
 * `y-websocket` WebsocketProvider (the typist, A) to another (the watcher, B), both real
 * WebSockets in this process, each keystroke one Yjs transaction and so one update message.
 *
 * A types as fast as the server keeps up, with at most `window` keystrokes that B has not
 * seen yet (so the measurement is the server's pace, not a queue in A's socket). B's progress
 * is A's clock in B's document: a keystroke that inserts advances A's clock, and the server
 * relays one socket's updates in order, so B holding clock c means it has every keystroke
 * up to the one that produced c (deletions included).
 *
 * End-to-end time is from A's first keystroke until B's text equals the trace's final text.
 * Then a third provider joins late and must receive the same text, and (Wove only) the file
 * API must serve it, which shows the materialisation into the working tree.
 */
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { Histogram } from "./collab-client.ts";
import type { Server } from "./collab-servers.ts";
import type { Trace } from "./collab-trace.ts";

export type ReplayResult = {
  keystrokes: number;
  finalChars: number;
  e2eMs: number;
  keysPerSec: number;
  /** A's keystroke → B has it, for keystrokes that insert (deletes do not advance a clock). */
  p50: number;
  p99: number;
  watcherEqual: boolean;
  lateJoinerEqual: boolean;
  lateJoinMs: number;
  /** After B had the final text: until the file API served it (Wove), else null. */
  materialisedMs: number | null;
};

function provider(server: Server, path: string, doc: Y.Doc): WebsocketProvider {
  return new WebsocketProvider(server.serverUrl, server.room(path), doc, { params: server.params, disableBc: true, maxBackoffTime: 500 });
}

function whenSynced(p: WebsocketProvider, what: string): Promise<void> {
  if (p.synced) return Promise.resolve();
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${what}: no sync within 30 s`)), 30_000);
    p.on("sync", (ok: boolean) => {
      if (ok) {
        clearTimeout(timer);
        res();
      }
    });
    p.on("connection-close", (ev: CloseEvent | null) => {
      if (ev && ev.code >= 4000) {
        clearTimeout(timer);
        rej(new Error(`${what}: closed ${ev.code} ${ev.reason}`));
      }
    });
  });
}

export async function replayTrace(
  server: Server,
  path: string,
  trace: Trace,
  window: number,
  fileText?: () => Promise<string | undefined>,
): Promise<ReplayResult> {
  await server.createRoom(path, "");
  const docA = new Y.Doc();
  const docB = new Y.Doc();
  const a = provider(server, path, docA);
  const b = provider(server, path, docB);
  try {
    await Promise.all([whenSynced(a, "typist"), whenSynced(b, "watcher")]);
    const textA = docA.getText("content");
    const textB = docB.getText("content");
    if (textA.length || textB.length) throw new Error(`room ${path} is not empty`);

    // A's clock after each keystroke, and when it was typed.
    const ops = trace.ops;
    const clockAfter = new Float64Array(ops.length);
    const sentAt = new Float64Array(ops.length);
    let clock = 0;
    ops.forEach((op, i) => {
      clock += op.ins.length;
      clockAfter[i] = clock;
    });
    const hist = new Histogram();
    let acked = 0; // keystrokes B has
    let wake: (() => void) | undefined;
    let done: (() => void) | undefined;
    const finished = new Promise<void>((res) => (done = res));
    let endAt = Number.NaN;
    const clientA = docA.clientID;
    docB.on("update", () => {
      const now = performance.now();
      const have = Y.getState(docB.store, clientA);
      while (acked < ops.length && (clockAfter[acked] ?? Infinity) <= have) {
        if (ops[acked]?.ins) hist.add(now - (sentAt[acked] ?? now));
        acked++;
      }
      wake?.();
      if (acked === ops.length && textB.length === trace.final.length && textB.toString() === trace.final) {
        endAt = now;
        done?.();
      }
    });

    const t0 = performance.now();
    for (let i = 0; i < ops.length; i++) {
      while (i - acked >= window) await new Promise<void>((res) => (wake = res));
      const op = ops[i];
      if (!op) continue;
      sentAt[i] = performance.now();
      docA.transact(() => {
        if (op.del) textA.delete(op.pos, op.del);
        if (op.ins) textA.insert(op.pos, op.ins);
      });
    }
    const ok = await Promise.race([finished.then(() => true), Bun.sleep(30_000).then(() => false)]);
    const e2eMs = (ok ? endAt : performance.now()) - t0;
    const watcherEqual = textB.toString() === trace.final && textA.toString() === trace.final;

    const docC = new Y.Doc();
    const tc = performance.now();
    const c = provider(server, path, docC);
    let lateJoinerEqual = false;
    try {
      await whenSynced(c, "late joiner");
      lateJoinerEqual = docC.getText("content").toString() === trace.final;
    } finally {
      c.destroy();
      docC.destroy();
    }
    const lateJoinMs = performance.now() - tc;

    let materialisedMs: number | null = null;
    if (fileText) {
      const tm = performance.now();
      while (performance.now() - tm < 10_000) {
        if ((await fileText()) === trace.final) {
          materialisedMs = performance.now() - (ok ? endAt : tm);
          break;
        }
        await Bun.sleep(25);
      }
    }
    return {
      keystrokes: ops.length,
      finalChars: trace.final.length,
      e2eMs,
      keysPerSec: ops.length / (e2eMs / 1000),
      p50: hist.percentile(50),
      p99: hist.percentile(99),
      watcherEqual,
      lateJoinerEqual,
      lateJoinMs,
      materialisedMs,
    };
  } finally {
    a.destroy();
    b.destroy();
    // The provider's awareness keeps a timer until its document is destroyed.
    docA.destroy();
    docB.destroy();
  }
}
