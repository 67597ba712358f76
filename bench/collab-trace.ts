/**
 * A deterministic, character-by-character editing trace for the collaboration benchmark
 * (issue 4): what one person does in an editor over a long session, generated from a seed.
 *
 *   bun bench/collab-trace.ts [--seed 4] [--keystrokes 50000] [--out trace.json]
 *
 * The simulated editor has a document and a cursor. It writes code-like text a token at a
 * time (indentation follows the current line, typos are corrected with backspace), jumps the
 * cursor (anywhere, to a line's start or end, a few lines up or down), deletes backwards and
 * forwards, selects a word, a line or a block and deletes it or types over it, and pastes
 * text copied from elsewhere in the document or brought in from outside.
 *
 * Every keystroke that changes the document is one op `{ pos, del, ins }`: delete `del`
 * UTF-16 units at `pos`, then insert `ins` there (what one Y.Text transaction does). Cursor
 * moves change nothing, so they are counted but are not ops. `final` is the document the ops
 * produce, computed on a plain string, so a replay through a server can be checked against it.
 * A few non-ASCII characters (one UTF-16 unit each) make sure multi-byte UTF-8 is exercised.
 * Run standalone, it prints the trace's statistics and checks that replaying it into a local
 * Y.Doc gives `final`.
 */
import { parseArgs } from "node:util";
import * as Y from "yjs";

export type TraceOp = { pos: number; del: number; ins: string };
export type TraceKind = "type" | "typo-fix" | "newline" | "backspace" | "delete-forward" | "select-delete" | "select-type" | "paste";
export type Trace = {
  seed: number;
  ops: TraceOp[];
  final: string;
  /** Keystrokes (ops) by what the simulated person was doing. */
  kinds: Record<TraceKind, number>;
  cursorMoves: number;
};

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  "const",
  "let",
  "function",
  "return",
  "if",
  "else",
  "for",
  "while",
  "await",
  "async",
  "import",
  "export",
  "from",
  "value",
  "result",
  "items",
  "index",
  "count",
  "user",
  "project",
  "file",
  "path",
  "options",
  "error",
  "message",
  "doc",
  "update",
  "state",
  "length",
  "map",
  "filter",
  "reduce",
  "push",
  "then",
  "catch",
  "true",
  "false",
  "null",
  "room",
  "client",
  "server",
  "socket",
  "encode",
  "decode",
  "buffer",
  "offset",
  "cursor",
  "selection",
  "née",
  "größe",
];
const PUNCT = ["(", ")", "{", "}", ";", ",", ".", " = ", " === ", " + ", " - ", "[", "]", ": ", " => ", '"', "'", "—"];
const SNIPPETS = [
  "// The server answers before the store confirms; see the contract.\n",
  "if (!ok) throw new Error(`unexpected state: ${state}`);\n",
  "for (const item of items) {\n  total += item.size;\n}\n",
  "export function clamp(n: number, lo: number, hi: number): number {\n  return Math.min(hi, Math.max(lo, n));\n}\n",
  "“Quoted” text with an ellipsis… and a café.\n",
];

/** Generates `keystrokes` document-changing keystrokes from `seed`. */
export function generateTrace(seed: number, keystrokes: number): Trace {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  let doc = "";
  let cursor = 0;
  let cursorMoves = 0;
  const ops: TraceOp[] = [];
  const kinds: Record<TraceKind, number> = {
    type: 0,
    "typo-fix": 0,
    newline: 0,
    backspace: 0,
    "delete-forward": 0,
    "select-delete": 0,
    "select-type": 0,
    paste: 0,
  };

  const apply = (kind: TraceKind, pos: number, del: number, ins: string) => {
    doc = doc.slice(0, pos) + ins + doc.slice(pos + del);
    cursor = pos + ins.length;
    ops.push({ pos, del, ins });
    kinds[kind]++;
  };
  const lineStart = (at: number) => doc.lastIndexOf("\n", at - 1) + 1;
  const lineEnd = (at: number) => {
    const i = doc.indexOf("\n", at);
    return i < 0 ? doc.length : i;
  };
  const indentOf = (at: number) => /^[ ]*/.exec(doc.slice(lineStart(at), lineEnd(at)))?.[0] ?? "";
  const typeChars = (text: string) => {
    for (const ch of text) {
      if (ops.length >= keystrokes) return;
      if (ch !== "\n" && rnd() < 0.03) {
        // A typo, noticed at once: wrong key, backspace, right key.
        apply("typo-fix", cursor, 0, String.fromCharCode(97 + int(0, 25)));
        if (ops.length < keystrokes) apply("typo-fix", cursor - 1, 1, "");
        if (ops.length >= keystrokes) return;
      }
      if (ch === "\n") apply("newline", cursor, 0, `\n${indentOf(cursor)}`);
      else apply("type", cursor, 0, ch);
    }
  };
  const word = () => {
    const w = pick(WORDS);
    return rnd() < 0.2 ? w[0]?.toUpperCase() + w.slice(1) : w;
  };

  while (ops.length < keystrokes) {
    const r = rnd();
    if (r < 0.55 || doc.length < 200) {
      // A run of typing: a few tokens, sometimes ending the line.
      let run = "";
      for (let n = int(2, 9); n > 0; n--) run += rnd() < 0.7 ? (run && !run.endsWith(" ") ? " " : "") + word() : pick(PUNCT);
      if (rnd() < 0.35) run += "\n";
      typeChars(run);
    } else if (r < 0.67) {
      // A cursor jump: anywhere, line start or end, or a few lines up or down at the same column.
      const how = rnd();
      if (how < 0.3) cursor = int(0, doc.length);
      else if (how < 0.5) cursor = lineStart(cursor);
      else if (how < 0.7) cursor = lineEnd(cursor);
      else {
        const col = cursor - lineStart(cursor);
        let at = cursor;
        for (let n = int(1, 6), up = rnd() < 0.5; n > 0; n--) at = up ? Math.max(0, lineStart(at) - 1) : Math.min(doc.length, lineEnd(at) + 1);
        cursor = Math.min(lineStart(at) + col, lineEnd(at));
      }
      cursorMoves++;
    } else if (r < 0.77) {
      for (let n = int(1, 8); n > 0 && cursor > 0 && ops.length < keystrokes; n--) apply("backspace", cursor - 1, 1, "");
    } else if (r < 0.81) {
      for (let n = int(1, 4); n > 0 && cursor < doc.length && ops.length < keystrokes; n--) apply("delete-forward", cursor, 1, "");
    } else if (r < 0.9) {
      // Select a word, the line, or a block of lines; delete it or type over it.
      const how = rnd();
      let from = cursor;
      let to = cursor;
      if (how < 0.5) {
        while (from > 0 && /\w/.test(doc[from - 1] ?? "")) from--;
        while (to < doc.length && /\w/.test(doc[to] ?? "")) to++;
      } else if (how < 0.8) {
        from = lineStart(cursor);
        to = Math.min(doc.length, lineEnd(cursor) + 1);
      } else {
        from = lineStart(cursor);
        to = Math.min(doc.length, from + int(40, 400));
      }
      cursorMoves++;
      if (to === from) continue;
      if (rnd() < 0.6) apply("select-delete", from, to - from, "");
      else {
        const w = word();
        apply("select-type", from, to - from, w[0] ?? "x");
        typeChars(w.slice(1));
      }
    } else {
      // Paste: text copied from elsewhere in the document, or brought in from outside.
      let text: string;
      if (rnd() < 0.6 && doc.length > 400) {
        const from = int(0, doc.length - 20);
        text = doc.slice(from, from + int(10, 400));
      } else text = pick(SNIPPETS);
      apply("paste", cursor, 0, text);
    }
  }
  return { seed, ops, final: doc, kinds, cursorMoves };
}

/** Applies trace ops to a Y.Text, one transaction per keystroke, as an editor binding does. */
export function applyOps(text: Y.Text, ops: readonly TraceOp[], origin: unknown = null): void {
  const doc = text.doc;
  if (!doc) throw new Error("the Y.Text is not in a document");
  for (const op of ops) {
    doc.transact(() => {
      if (op.del) text.delete(op.pos, op.del);
      if (op.ins) text.insert(op.pos, op.ins);
    }, origin);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { seed: { type: "string", default: "4" }, keystrokes: { type: "string", default: "50000" }, out: { type: "string" } },
  });
  const t0 = performance.now();
  const trace = generateTrace(Number(values.seed), Number(values.keystrokes));
  const genMs = performance.now() - t0;
  const doc = new Y.Doc();
  const t1 = performance.now();
  applyOps(doc.getText("content"), trace.ops);
  const applyMs = performance.now() - t1;
  const same = doc.getText("content").toString() === trace.final;
  const update = Y.encodeStateAsUpdate(doc);
  console.log(
    `seed ${trace.seed}: ${trace.ops.length} keystrokes, ${trace.cursorMoves} cursor moves/selections, final ${trace.final.length} chars (${Buffer.byteLength(trace.final)} bytes UTF-8), ${trace.final.split("\n").length} lines`,
  );
  console.log(
    `by kind: ${Object.entries(trace.kinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
  );
  console.log(
    `generated in ${genMs.toFixed(0)} ms; applied to a local Y.Doc in ${applyMs.toFixed(0)} ms (state ${update.byteLength} bytes); equal to the plain-string result: ${same}`,
  );
  if (values.out) await Bun.write(values.out, JSON.stringify({ seed: trace.seed, ops: trace.ops, final: trace.final }));
  if (!same) process.exit(1);
}
