/**
 * A lean y-websocket client for the collaboration benchmark: one Y.Doc and one WebSocket, the
 * sync protocol from `y-protocols/sync`, no awareness, no reconnects, no BroadcastChannel.
 * Many of them fit in one process, so the load generator is not the bottleneck.
 *
 * With `apply: false` the client never integrates what it receives: its doc holds only its
 * own typing (valid Yjs: its inserts reference only its own items), and received updates are
 * handed to `onUpdate` untouched for the latency bookkeeping. With `apply: true` it is a full
 * replica, like a browser tab.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";

const MESSAGE_SYNC = 0;
const MESSAGE_AUTH = 2;

export type Frame =
  | { type: "step1"; stateVector: Uint8Array }
  | { type: "step2" | "update"; update: Uint8Array }
  | { type: "auth"; reason: string }
  | { type: "other"; code: number };

export function syncMessage(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MESSAGE_SYNC);
  write(e);
  return encoding.toUint8Array(e);
}

export function readFrame(data: Uint8Array): Frame {
  const d = decoding.createDecoder(data);
  const type = decoding.readVarUint(d);
  if (type === MESSAGE_SYNC) {
    const sub = decoding.readVarUint(d);
    const payload = decoding.readVarUint8Array(d);
    if (sub === syncProtocol.messageYjsSyncStep1) return { type: "step1", stateVector: payload };
    return { type: sub === syncProtocol.messageYjsSyncStep2 ? "step2" : "update", update: payload };
  }
  if (type === MESSAGE_AUTH) {
    decoding.readVarUint(d);
    return { type: "auth", reason: decoding.readVarString(d) };
  }
  return { type: "other", code: type };
}

export type Timing = { created: number; open: number; step2: number; step2Bytes: number };

export type LeanOptions = {
  apply?: boolean;
  /** Every received update (not the initial step 2), with the time it arrived. */
  onUpdate?: (update: Uint8Array, at: number, receiver: LeanClient) => void;
};

export class LeanClient {
  readonly doc = new Y.Doc();
  readonly text = this.doc.getText("content");
  readonly ws: WebSocket;
  /** Resolves when the server's sync step 2 arrived (the client has the whole document). */
  readonly synced: Promise<Timing>;
  /** Resolves with the close code once the socket closed, for whatever reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly timing: Timing = { created: performance.now(), open: Number.NaN, step2: Number.NaN, step2Bytes: 0 };
  authDenied: string | undefined;
  /** Called with each sync message's arrival time after it was handled (the cold-load timer). */
  afterSyncMessage: ((at: number) => void) | undefined;
  private readonly flushes: (() => void)[] = [];

  constructor(url: string, opts: LeanOptions = {}) {
    const apply = opts.apply ?? false;
    const onUpdate = opts.onUpdate;
    let resolveSynced: (t: Timing) => void = () => {};
    let rejectSynced: (e: Error) => void = () => {};
    let resolveClosed: (c: { code: number; reason: string }) => void = () => {};
    this.synced = new Promise((res, rej) => {
      resolveSynced = res;
      rejectSynced = rej;
    });
    this.synced.catch(() => {});
    this.closed = new Promise((res) => (resolveClosed = res));
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.addEventListener("open", () => {
      this.timing.open = performance.now();
      this.ws.send(syncMessage((e) => syncProtocol.writeSyncStep1(e, this.doc)));
    });
    this.ws.addEventListener("close", (ev) => {
      rejectSynced(new Error(`closed before sync: ${ev.code} ${ev.reason}`));
      resolveClosed({ code: ev.code, reason: ev.reason });
    });
    this.ws.addEventListener("message", (ev: MessageEvent) => {
      const at = performance.now();
      if (!(ev.data instanceof ArrayBuffer)) return;
      const frame = readFrame(new Uint8Array(ev.data));
      switch (frame.type) {
        case "step1":
          this.ws.send(syncMessage((e) => syncProtocol.writeSyncStep2(e, this.doc, frame.stateVector)));
          break;
        case "step2":
          if (apply) Y.applyUpdate(this.doc, frame.update, this);
          if (Number.isNaN(this.timing.step2)) {
            this.timing.step2 = at;
            this.timing.step2Bytes = frame.update.byteLength;
            resolveSynced(this.timing);
          } else this.flushes.shift()?.();
          this.afterSyncMessage?.(at);
          break;
        case "update":
          if (apply) Y.applyUpdate(this.doc, frame.update, this);
          onUpdate?.(frame.update, at, this);
          this.afterSyncMessage?.(at);
          break;
        case "auth":
          this.authDenied = frame.reason;
          break;
        case "other":
          break;
      }
    });
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin !== this && this.ws.readyState === WebSocket.OPEN) this.ws.send(syncMessage((e) => syncProtocol.writeUpdate(e, update)));
    });
  }

  /**
   * Resolves once the server has handled everything this client sent so far: the server
   * answers a sync step 1 with a step 2, and it handles one socket's messages in order.
   */
  async flushed(): Promise<void> {
    await this.synced;
    const done = new Promise<void>((res) => this.flushes.push(res));
    this.ws.send(syncMessage((e) => syncProtocol.writeSyncStep1(e, this.doc)));
    await done;
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close(1000, "done");
    await this.closed;
  }
}

/** Latency histogram: 10 µs buckets up to 5 s, exact enough for p50/p99/p99.9 of a few ms. */
export class Histogram {
  static readonly BUCKET_MS = 0.01;
  static readonly BUCKETS = 500_000;
  counts = new Uint32Array(Histogram.BUCKETS);
  over = 0;
  n = 0;
  max = 0;

  add(ms: number): void {
    const b = Math.max(0, Math.floor(ms / Histogram.BUCKET_MS));
    if (b < Histogram.BUCKETS) this.counts[b] = (this.counts[b] ?? 0) + 1;
    else this.over++;
    this.n++;
    if (ms > this.max) this.max = ms;
  }

  /** [bucket, count] pairs of the non-empty buckets, plus the overflow and max: small for IPC. */
  toSparse(): SparseHistogram {
    const buckets: [number, number][] = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]) buckets.push([i, this.counts[i] ?? 0]);
    return { buckets, over: this.over, max: this.max };
  }

  merge(s: SparseHistogram): void {
    for (const [b, c] of s.buckets) {
      this.counts[b] = (this.counts[b] ?? 0) + c;
      this.n += c;
    }
    this.over += s.over;
    this.n += s.over;
    this.max = Math.max(this.max, s.max);
  }

  /** The p-th percentile in ms (upper edge of its bucket); the max when it falls beyond 5 s. */
  percentile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const rank = Math.ceil((p / 100) * this.n);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return (i + 1) * Histogram.BUCKET_MS;
    }
    return this.max;
  }
}

export type SparseHistogram = { buckets: [number, number][]; over: number; max: number };
