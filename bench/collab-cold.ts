/**
 * Cold room load of a 1 MB document, for bench/collab.ts. For each run the server is restarted
 * (it answers /healthz, or the reference its HTTP "okay"), then:
 *
 *   1. a client opens room A: the first document this server process loads ("after restart");
 *   2. a client opens room B: a cold room in a process that has just loaded one ("warm process").
 *
 * Timed, per client: from `new WebSocket(url)` until the arrival of the message that completes
 * the document (the client applies each sync message; "complete" = its text has the expected
 * length, and is then checked equal). That covers the upgrade, authorisation, the server loading
 * the room (Wove: file, libSQL snapshot + tail; reference: y-leveldb) and the ~1 MB transfer; the
 * client's own Y.applyUpdate is reported apart. The reference answers sync before y-leveldb has
 * loaded and sends the content as an update later, which is why the timer waits for the content,
 * not for the first step 2.
 *
 * Two states of the stored document, each run opening rooms it has not opened before:
 *   - "created": Wove: a file created through the API and never opened (the room builds the
 *     Y.Doc from the file and stores it); reference: one client wrote the whole text as one update.
 *   - "after 1,000 keystrokes": the same rooms after a client typed 1,000 trace keystrokes into
 *     the middle (Wove: stored snapshot + updates since; reference: 1,001 updates in y-leveldb).
 */
import { LeanClient } from "./collab-client.ts";
import { waitForQuiet } from "./collab-driver.ts";
import type { Server } from "./collab-servers.ts";
import { applyOps, generateTrace } from "./collab-trace.ts";

export type ColdTiming = { fullMs: number; openMs: number; applyMs: number; equal: boolean };
export type ColdVariant = { variant: string; afterRestart: ColdTiming[]; warmProcess: ColdTiming[] };

/** About `bytes` of code-like text (trace output), the same for the same seed. */
export function bigText(seed: number, bytes: number): string {
  const base = generateTrace(seed, 20_000).final;
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const part = `// ---- part ${i} ----\n${base}\n`;
    parts.push(part);
    size += Buffer.byteLength(part);
  }
  let text = parts.join("");
  while (Buffer.byteLength(text) > bytes) text = text.slice(0, text.length - (Buffer.byteLength(text) - bytes));
  return text;
}

/** Resolves with the arrival time of the sync message after which the client's text has `length`. */
function untilLength(client: LeanClient, length: number, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: ${client.text.length} chars after 60 s, expected ${length}`)), 60_000);
    client.afterSyncMessage = (at) => {
      if (client.text.length === length) {
        clearTimeout(timer);
        resolve(at);
      }
    };
    void client.closed.then(({ code, reason }) => reject(new Error(`${what}: closed ${code} ${reason}`)));
  });
}

async function firstSync(server: Server, path: string, expected: string): Promise<ColdTiming> {
  const t0 = performance.now();
  const client = new LeanClient(server.url(path), { apply: true });
  try {
    const arrived = await untilLength(client, expected.length, `${server.label} ${path}`);
    const applied = performance.now();
    return { fullMs: arrived - t0, openMs: client.timing.open - t0, applyMs: applied - arrived, equal: client.text.toString() === expected };
  } finally {
    await client.close();
  }
}

/** Types `keystrokes` trace keystrokes into the middle of the room's document; returns the new text. */
async function typeInto(server: Server, path: string, text: string, keystrokes: number, seed: number): Promise<string> {
  const trace = generateTrace(seed, keystrokes);
  const off = Math.floor(text.length / 2);
  const client = new LeanClient(server.url(path), { apply: true });
  await untilLength(client, text.length, `${server.label} ${path}`);
  if (client.text.toString() !== text) throw new Error(`${server.label} ${path}: the stored document differs before typing`);
  applyOps(
    client.text,
    trace.ops.map((op) => ({ ...op, pos: op.pos + off })),
  );
  await client.flushed();
  await client.close();
  return text.slice(0, off) + trace.final + text.slice(off);
}

/**
 * `start` (re)starts the server on the same data; `settleMs` is how long to wait after the
 * last write before a restart (Wove writes the text back to the working tree ≤ 2 s after it).
 */
export async function coldLoad(
  start: () => Promise<Server>,
  runs: number,
  docBytes: number,
  settleMs: number,
  progress: (line: string) => void,
): Promise<ColdVariant[]> {
  const docs = Array.from({ length: runs }, (_, i) => ({
    a: { path: `cold/a-${i}.txt`, text: bigText(100 + i, docBytes) },
    b: { path: `cold/b-${i}.txt`, text: bigText(200 + i, docBytes) },
  }));
  // Before a restart: every room reads back complete (the reference's y-leveldb writes queue
  // behind its reads, so this also waits for them), then Wove's write-back to the working tree.
  // Skipped for Wove's first state, whose point is that the rooms were never opened.
  const settle = async (s: Server, verify = true) => {
    if (verify)
      for (const d of docs)
        for (const r of [d.a, d.b]) if (!(await firstSync(s, r.path, r.text)).equal) throw new Error(`${s.label} ${r.path}: stored text differs`);
    await Bun.sleep(settleMs);
    await s.stop();
  };
  let server = await start();
  try {
    for (const d of docs) {
      await server.createRoom(d.a.path, d.a.text);
      await server.createRoom(d.b.path, d.b.text);
    }
    await settle(server, !server.createsFiles);

    const variants: ColdVariant[] = [];
    for (const variant of ["created", "after 1,000 keystrokes"]) {
      if (variant !== "created") {
        server = await start();
        for (const [i, d] of docs.entries()) {
          d.a.text = await typeInto(server, d.a.path, d.a.text, 1000, 300 + i);
          d.b.text = await typeInto(server, d.b.path, d.b.text, 1000, 400 + i);
        }
        await settle(server);
      }
      const v: ColdVariant = { variant, afterRestart: [], warmProcess: [] };
      for (const d of docs) {
        server = await start();
        try {
          await waitForQuiet([server.pid], 30);
          v.afterRestart.push(await firstSync(server, d.a.path, d.a.text));
          v.warmProcess.push(await firstSync(server, d.b.path, d.b.text));
        } finally {
          await server.stop();
        }
        progress(`   ${variant}: after restart ${v.afterRestart.at(-1)?.fullMs.toFixed(1)} ms, warm process ${v.warmProcess.at(-1)?.fullMs.toFixed(1)} ms`);
      }
      variants.push(v);
    }
    return variants;
  } finally {
    await server.stop();
  }
}
