/**
 * Load-generator worker of bench/collab.ts (a child process, driven over IPC). It holds whole
 * rooms: every client of a room lives in the same worker, so a keystroke's send time and its
 * arrival at each of the room's other clients are read from the same clock.
 *
 * Each client is a LeanClient that types into its own line: after the sync it inserts "\n" with
 * Yjs, then every keystroke inserts one character before that newline (so an insert has a left
 * and a right origin, as in an editor): one Yjs update of one character, one clock tick of that
 * client. To keep the generator's CPU for sending and receiving, keystroke updates are encoded
 * by hand (`keystrokeUpdate`), byte for byte what Yjs encodes for the same insert; the worker
 * checks that against Yjs when it starts. A receiver reads which clock ranges of which clients
 * an update carries (`clockRanges`: a fast path for one struct, else `Y.parseUpdateMeta`, so an
 * update a server merged is counted right) and looks the send times up; it never integrates.
 *
 * Commands (JSON over IPC): connect, run, close. See `Command` and `Report`.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { Histogram, LeanClient, syncMessage, type SparseHistogram } from "./collab-client.ts";

export type Command =
  | { cmd: "connect"; rooms: string[][]; concurrency: number }
  | { cmd: "run"; rate: number; warmupSec: number; seconds: number; drainSec: number }
  | { cmd: "close" };

export type RunResult = {
  sent: number;
  expected: number;
  delivered: number;
  windowSec: number;
  /** Sends the generator could not make on time (it fell more than 100 ms behind). */
  skipped: number;
  drainMs: number;
  hist: SparseHistogram;
};

export type Report =
  | { ev: "connected"; ms: number; clients: number; failed: number; firstError: string }
  | { ev: "mark"; phase: "start" | "end" }
  | ({ ev: "result" } & RunResult)
  | { ev: "closed"; unexpectedCloses: string[] }
  | { ev: "error"; message: string };

/** send times of the last RING keystrokes of a client, by clock. */
const RING = 4096;
const ALPHABET = "the quick brown fox jumps over the lazy dog ";

type Sender = {
  client: LeanClient;
  receivers: number;
  clock: number;
  times: Float64Array;
  nextAt: number;
  windowFrom: number;
  windowTo: number;
};

const senders = new Map<number, Sender>();
const all: Sender[] = [];
let hist = new Histogram();
let delivered = 0;
const unexpectedCloses: string[] = [];
let closing = false;

function report(r: Report): void {
  process.send?.(r);
}

/**
 * The sync message of keystroke `clock` (≥ 1) of `client`: insert `ch` after the client's
 * previous character (none for the first) and before its "\n" (clock 0). Update format v1:
 * one client, one struct, the Item (info byte: left origin 0x80, right origin 0x40, content
 * type 4 = string), then an empty delete set.
 */
export function keystrokeUpdate(client: number, clock: number, ch: string): Uint8Array {
  return syncMessage((e) => {
    encoding.writeVarUint(e, syncProtocol.messageYjsUpdate);
    const u = encoding.createEncoder();
    encoding.writeVarUint(u, 1);
    encoding.writeVarUint(u, 1);
    encoding.writeVarUint(u, client);
    encoding.writeVarUint(u, clock);
    encoding.writeUint8(u, (clock > 1 ? 0x80 : 0) | 0x40 | 4);
    if (clock > 1) {
      encoding.writeVarUint(u, client);
      encoding.writeVarUint(u, clock - 1);
    }
    encoding.writeVarUint(u, client);
    encoding.writeVarUint(u, 0);
    encoding.writeVarString(u, ch);
    encoding.writeVarUint(u, 0);
    encoding.writeVarUint8Array(e, encoding.toUint8Array(u));
  });
}

/** Refuses to run if the hand-made encoding is not what Yjs sends for the same keystrokes. */
function checkEncoding(): void {
  const doc = new Y.Doc();
  const text = doc.getText("content");
  text.insert(0, "\n");
  const sent: Uint8Array[] = [];
  doc.on("update", (u: Uint8Array) => sent.push(syncMessage((e) => syncProtocol.writeUpdate(e, u))));
  for (let clock = 1; clock <= 3; clock++) {
    text.insert(text.length - 1, "é");
    const mine = keystrokeUpdate(doc.clientID, clock, "é");
    if (Buffer.compare(Buffer.from(mine), Buffer.from(sent[clock - 1] ?? [])) !== 0) throw new Error(`keystrokeUpdate differs from Yjs at clock ${clock}`);
  }
}
checkEncoding();

/** Calls `each(client, fromClock, toClock)` for every clock range an update carries. */
function clockRanges(update: Uint8Array, each: (client: number, from: number, to: number) => void): void {
  const d = decoding.createDecoder(update);
  if (decoding.readVarUint(d) === 1 && decoding.readVarUint(d) === 1) {
    const client = decoding.readVarUint(d);
    const clock = decoding.readVarUint(d);
    const info = decoding.readUint8(d);
    if ((info & 0x1f) === 4 && (info & 0xc0) !== 0 && (info & 0x20) === 0) {
      if (info & 0x80) (decoding.readVarUint(d), decoding.readVarUint(d));
      if (info & 0x40) (decoding.readVarUint(d), decoding.readVarUint(d));
      each(client, clock, clock + decoding.readVarString(d).length);
      return;
    }
  }
  const meta = Y.parseUpdateMeta(update);
  for (const [client, to] of meta.to) each(client, meta.from.get(client) ?? 0, to);
}

function onUpdate(update: Uint8Array, at: number, receiver: LeanClient): void {
  clockRanges(update, (client, from, to) => {
    const s = senders.get(client);
    // The reference server echoes an update to its sender too; that is not a delivery.
    if (!s || client === receiver.doc.clientID) return;
    const end = Math.min(to, s.windowTo);
    for (let c = Math.max(from, s.windowFrom); c < end; c++) {
      hist.add(at - (s.times[c % RING] ?? Number.NaN));
      delivered++;
    }
  });
}

async function connect(rooms: string[][], concurrency: number): Promise<void> {
  const t0 = performance.now();
  const urls = rooms.flatMap((r) => r.map((url) => ({ url, receivers: r.length - 1 })));
  let failed = 0;
  let firstError = "";
  for (let i = 0; i < urls.length; i += concurrency) {
    const batch = urls.slice(i, i + concurrency).map(async ({ url, receivers }) => {
      const client = new LeanClient(url, { onUpdate });
      try {
        await Promise.race([client.synced, Bun.sleep(30_000).then(() => Promise.reject(new Error("no sync within 30 s")))]);
      } catch (e) {
        failed++;
        firstError ||= String(e);
        return;
      }
      void client.closed.then(({ code, reason }) => {
        if (!closing) unexpectedCloses.push(`${code} ${reason}`);
      });
      client.text.insert(0, "\n");
      const s: Sender = { client, receivers, clock: 1, times: new Float64Array(RING), nextAt: 0, windowFrom: Infinity, windowTo: Infinity };
      senders.set(client.doc.clientID, s);
      all.push(s);
    });
    await Promise.all(batch);
  }
  report({ ev: "connected", ms: performance.now() - t0, clients: all.length, failed, firstError });
}

function keystroke(s: Sender): void {
  const message = keystrokeUpdate(s.client.doc.clientID, s.clock, ALPHABET[s.clock % ALPHABET.length] ?? "x");
  s.times[s.clock % RING] = performance.now();
  s.client.ws.send(message);
  s.clock++;
}

async function run(rate: number, warmupSec: number, seconds: number, drainSec: number): Promise<void> {
  const period = 1000 / rate;
  const start = performance.now();
  for (const s of all) {
    s.nextAt = start + Math.random() * period;
    s.windowFrom = Infinity;
    s.windowTo = Infinity;
  }
  hist = new Histogram();
  delivered = 0;
  let skipped = 0;
  let phase: "warmup" | "window" = "warmup";
  let windowStart = 0;
  let windowEnd = 0;
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (phase === "warmup" && now - start >= warmupSec * 1000) {
        phase = "window";
        windowStart = now;
        skipped = 0;
        for (const s of all) s.windowFrom = s.clock;
        report({ ev: "mark", phase: "start" });
      } else if (phase === "window" && now - windowStart >= seconds * 1000) {
        windowEnd = now;
        for (const s of all) s.windowTo = s.clock;
        report({ ev: "mark", phase: "end" });
        clearInterval(timer);
        done();
        return;
      }
      for (const s of all) {
        if (s.nextAt > now) continue;
        if (now - s.nextAt > 100) {
          skipped += Math.floor((now - s.nextAt) / period);
          s.nextAt = now;
        }
        for (let n = 0; s.nextAt <= now && n < 4; n++) {
          keystroke(s);
          s.nextAt += period;
        }
      }
    }, 1);
  });
  let sent = 0;
  let expected = 0;
  for (const s of all) {
    sent += s.windowTo - s.windowFrom;
    expected += (s.windowTo - s.windowFrom) * s.receivers;
  }
  const drainStart = performance.now();
  while (delivered < expected && performance.now() - drainStart < drainSec * 1000) await Bun.sleep(10);
  report({
    ev: "result",
    sent,
    expected,
    delivered,
    windowSec: (windowEnd - windowStart) / 1000,
    skipped,
    drainMs: performance.now() - drainStart,
    hist: hist.toSparse(),
  });
}

async function closeAll(): Promise<void> {
  closing = true;
  await Promise.all(all.map((s) => s.client.close()));
  report({ ev: "closed", unexpectedCloses });
  setTimeout(() => process.exit(0), 100);
}

// The benchmark went away (finished, or was interrupted): so does its load.
process.on("disconnect", () => process.exit(0));
process.on("message", (m: Command) => {
  const job = m.cmd === "connect" ? connect(m.rooms, m.concurrency) : m.cmd === "run" ? run(m.rate, m.warmupSec, m.seconds, m.drainSec) : closeAll();
  job.catch((e: unknown) => report({ ev: "error", message: String(e instanceof Error ? e.stack : e) }));
});
