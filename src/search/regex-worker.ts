/**
 * Running user regular expressions off the main thread, with a deadline.
 *
 * JavaScript regexes backtrack: `(a+)+$` on a line of forty a's runs for ages. So matching runs
 * in a Bun Worker; each message carries at most ~256 KB of text and must answer within
 * STEP_DEADLINE_MS, or the worker is terminated and the search fails with a 422 that names the
 * likely cause. A single segment taking over SEGMENT_SLOW_MS fails the same way (JavaScriptCore
 * silently abandons a runaway backtrack after a second or two and reports no match, which would
 * otherwise hide results). The main thread stays free meanwhile. (Termination reaches a regex stuck in
 * backtracking within a second or two; until the worker's `close` event it still holds its
 * slot, so a burst of bad patterns cannot pile up threads.) Memory: workers run with `smol`
 * (a small heap), a message's text is bounded, and at most MATCHES_MAX matches are kept per
 * segment.
 *
 * The worker's code is a string (a Blob URL), so the compiled single-file binary needs no
 * extra entry point.
 */
import { ApiError } from "../lib/errors.ts";

export const STEP_DEADLINE_MS = 1000;
/** One segment (≤ 32 KB, or a big file's larger ones) taking longer than this means backtracking gone wrong. */
const SEGMENT_SLOW_MS = 250;
/** Text per message to a worker. */
export const STEP_CHARS = 256 * 1024;
const MATCHES_MAX = 2000;
const POOL_MAX = 3;
const IDLE_MAX = 2;
const WAIT_MAX_MS = 5000;

const WORKER_SOURCE = `
let cached = null;
onmessage = (ev) => {
  const { id, source, flags, items, max, slowMs } = ev.data;
  try {
    if (!cached || cached.source !== source || cached.flags !== flags) cached = { source, flags, re: new RegExp(source, flags) };
    const re = cached.re;
    const out = [];
    for (const it of items) {
      re.lastIndex = 0;
      const m = [];
      const started = Date.now();
      let r;
      while ((r = re.exec(it.text)) !== null) {
        const end = r.index + r[0].length;
        m.push(r.index, end);
        if (m.length >= max * 2) break;
        if (end === r.index) re.lastIndex = end + 1;
        if (Date.now() - started > slowMs) break;
      }
      // JavaScriptCore gives up on a runaway backtrack after a while and reports "no match":
      // a segment that took this long is a pattern problem, not an absence of matches.
      if (Date.now() - started > slowMs) {
        postMessage({ id, slow: true });
        return;
      }
      if (m.length > 0) out.push({ key: it.key, m });
    }
    postMessage({ id, out });
  } catch (e) {
    postMessage({ id, error: String((e && e.message) || e) });
  }
};`;

let workerUrl: string | undefined;
const idle: Worker[] = [];
/** Workers in use or still shutting down after a timeout. */
let alive = 0;
const waiting: (() => void)[] = [];
let nextId = 1;

function spawn(): Worker {
  workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  alive++;
  // ref: false — an idle worker must not keep the process alive (Bun's default, said out loud).
  const w = new Worker(workerUrl, { smol: true, ref: false });
  w.addEventListener("close", () => {
    alive--;
    const i = idle.indexOf(w);
    if (i >= 0) idle.splice(i, 1);
    waiting.shift()?.();
  });
  return w;
}

async function acquire(): Promise<Worker> {
  const deadline = Date.now() + WAIT_MAX_MS;
  for (;;) {
    const w = idle.pop();
    if (w) return w;
    if (alive < POOL_MAX) return spawn();
    const left = deadline - Date.now();
    if (left <= 0) throw new ApiError(503, "busy", "Too many regular-expression searches are running; try again in a moment.", undefined, { "Retry-After": "2" });
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      waiting.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function release(w: Worker): void {
  if (idle.length < IDLE_MAX) idle.push(w);
  else w.terminate();
  waiting.shift()?.();
}

export type RegexItem = { key: number; text: string };

export class RegexTimeout extends ApiError {
  constructor() {
    super(
      422,
      "regex_timeout",
      "The regular expression took too long on a small piece of text, so the search was stopped. " +
        "It probably backtracks catastrophically: avoid nested quantifiers such as (a+)+ or (.*x)* and overlapping alternatives such as (a|aa)+.",
      { q: "The pattern takes too long to run." },
    );
  }
}

/** Runs the regex over the items (together at most ~STEP_CHARS of text): key → flat [start, end, …] offsets. */
export async function matchItems(source: string, flags: string, items: RegexItem[]): Promise<Map<number, number[]>> {
  const w = await acquire();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      w.removeEventListener("message", onMessage);
      w.terminate();
      reject(new RegexTimeout());
    }, STEP_DEADLINE_MS);
    function onMessage(ev: MessageEvent<{ id: number; out?: { key: number; m: number[] }[]; error?: string; slow?: true }>) {
      if (ev.data.id !== id) return;
      clearTimeout(timer);
      w.removeEventListener("message", onMessage);
      release(w);
      if (ev.data.slow) {
        reject(new RegexTimeout());
        return;
      }
      if (ev.data.error !== undefined) {
        reject(new ApiError(422, "invalid_regex", `The regular expression failed: ${ev.data.error}`, { q: ev.data.error }));
        return;
      }
      resolve(new Map((ev.data.out ?? []).map((o) => [o.key, o.m])));
    }
    w.addEventListener("message", onMessage);
    w.postMessage({ id, source, flags, items, max: MATCHES_MAX, slowMs: SEGMENT_SLOW_MS });
  });
}
