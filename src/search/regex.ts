/**
 * Regular-expression search, the safe part: validating a pattern and extracting what the
 * trigram index can use.
 *
 * - Syntax: JavaScript's (with the `u` flag when the pattern allows it, else without). A
 *   pattern that does not compile is a 422 with the engine's reason.
 * - Backreferences (`\1`, `\k<name>`) are refused (422), as ripgrep does: they make matching
 *   exponential in general and code search rarely needs them.
 * - Everything else runs in a worker thread with a deadline (regex-worker.ts): a pattern that
 *   backtracks catastrophically is stopped and answered with a 422, never a hung server.
 * - Prefilter: the literals every match must contain, as an AND/OR of strings (after Russ Cox's
 *   "Regular Expression Matching with a Trigram Index"), turned into an FTS5 query of trigram
 *   phrases. `foo(Bar|Baz)\d+` needs "fooba" followed by r or z: ("foobar" OR "foobaz"), so only
 *   segments holding one of them are read. A pattern with no literal of three characters scans
 *   every segment in scope, in rowid order, within the time budget (the cursor continues there).
 */
import { ApiError } from "../lib/errors.ts";

export type CompiledRegex = { source: string; flags: string; prefilter: string | null };

/** A query over literals: every match of the pattern contains … */
type Q = { op: "all" } | { op: "lit"; s: string } | { op: "and" | "or"; args: Q[] };
type Info = { exact: Set<string> | null; q: Q };

const ALL: Q = { op: "all" };
const EXACT_MAX = 16;
const EXACT_LEN_MAX = 64;

function regexError(message: string): ApiError {
  return new ApiError(422, "invalid_regex", message, { q: message });
}

function and(a: Q, b: Q): Q {
  if (a.op === "all") return b;
  if (b.op === "all") return a;
  return { op: "and", args: [...(a.op === "and" ? a.args : [a]), ...(b.op === "and" ? b.args : [b])] };
}

function or(a: Q, b: Q): Q {
  if (a.op === "all" || b.op === "all") return ALL;
  return { op: "or", args: [...(a.op === "or" ? a.args : [a]), ...(b.op === "or" ? b.args : [b])] };
}

function toQ(i: Info): Q {
  if (!i.exact) return i.q;
  let q: Q | null = null;
  for (const s of i.exact) {
    const one: Q = [...s].length >= 3 ? { op: "lit", s } : ALL;
    q = q === null ? one : or(q, one);
  }
  return q ?? ALL;
}

const exactInfo = (set: Set<string>): Info => ({ exact: set, q: ALL });
const anyInfo: Info = { exact: null, q: ALL };
const EMPTY = (): Info => exactInfo(new Set([""]));

function concat(a: Info, b: Info): Info {
  if (a.exact && b.exact && a.exact.size * b.exact.size <= EXACT_MAX) {
    const out = new Set<string>();
    for (const x of a.exact) for (const y of b.exact) out.add(x + y);
    if ([...out].every((s) => s.length <= EXACT_LEN_MAX)) return { exact: out, q: and(a.q, b.q) };
  }
  return { exact: null, q: and(toQ(a), toQ(b)) };
}

function alternate(a: Info, b: Info): Info {
  if (a.exact && b.exact && a.exact.size + b.exact.size <= EXACT_MAX) return exactInfo(new Set([...a.exact, ...b.exact]));
  return { exact: null, q: or(toQ(a), toQ(b)) };
}

/** A small recursive-descent reader of JavaScript regex syntax, only as deep as the prefilter needs. */
class Reader {
  i = 0;
  constructor(readonly s: string) {}
  peek(): string {
    return this.s.charAt(this.i);
  }
  done(): boolean {
    return this.i >= this.s.length;
  }

  alternation(): Info {
    let left = this.sequence();
    while (this.peek() === "|") {
      this.i++;
      left = alternate(left, this.sequence());
    }
    return left;
  }

  /**
   * A run of atoms: exact pieces accumulate into one set of strings (so `ev.l\(x\)` still yields
   * "l(x)" after the dot); a piece that is not exact closes the run, and what it requires joins
   * the requirements (AND).
   */
  sequence(): Info {
    let run: Info | null = EMPTY();
    let q: Q = ALL;
    let exact = true;
    while (!this.done() && this.peek() !== "|" && this.peek() !== ")") {
      const atom = this.quantified();
      if (atom.exact) {
        const joined: Info = run ? concat(run, atom) : atom;
        if (joined.exact) run = joined;
        else {
          q = and(q, toQ(run as Info));
          run = atom;
          exact = false;
        }
      } else {
        if (run) q = and(q, toQ(run));
        q = and(q, atom.q);
        run = null;
        exact = false;
      }
    }
    if (exact && run) return run;
    return { exact: null, q: run ? and(q, toQ(run)) : q };
  }

  quantified(): Info {
    const atom = this.atom();
    const c = this.peek();
    let min = 1;
    let max = 1;
    if (c === "*" || c === "+" || c === "?") {
      this.i++;
      min = c === "+" ? 1 : 0;
      max = c === "?" ? 1 : Infinity;
    } else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i));
      if (m) {
        this.i += m[0].length;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] ? Number(m[3]) : Infinity;
      }
    } else return atom;
    if (this.peek() === "?") this.i++; // lazy
    if (min === 0 && max === 1 && atom.exact && atom.exact.size < EXACT_MAX) return exactInfo(new Set([...atom.exact, ""]));
    if (min === 0) return anyInfo; // zero or more: any string, requiring nothing
    // At least one occurrence: whatever one occurrence needs, the whole needs.
    return { exact: null, q: toQ(atom) };
  }

  atom(): Info {
    const c = this.peek();
    this.i++;
    switch (c) {
      case "(": {
        let lookaround = false;
        if (this.s.startsWith("?:", this.i)) this.i += 2;
        else if (/^\?<?[=!]/.test(this.s.slice(this.i))) {
          lookaround = true;
          this.i += this.s.charAt(this.i + 1) === "<" ? 3 : 2;
        } else if (this.s.startsWith("?<", this.i)) this.i = this.s.indexOf(">", this.i) + 1;
        const inner = this.alternation();
        if (this.peek() !== ")") throw new Error("unbalanced");
        this.i++;
        return lookaround ? EMPTY() : inner;
      }
      case "[":
        return this.charClass();
      case ".":
        return anyInfo;
      case "^":
      case "$":
        return EMPTY();
      case "\\":
        return this.escape();
      default:
        return exactInfo(new Set([c]));
    }
  }

  escape(): Info {
    const c = this.peek();
    this.i++;
    if (c === "b" || c === "B") return EMPTY();
    if ("dDwWsS".includes(c)) return anyInfo;
    if (c === "p" || c === "P") {
      if (this.peek() === "{") this.i = this.s.indexOf("}", this.i) + 1;
      return anyInfo;
    }
    const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", f: "\f", v: "\v", "0": "\0" };
    if (c in simple) return exactInfo(new Set([simple[c] as string]));
    const hex = c === "x" ? /^[0-9a-f]{2}/i.exec(this.s.slice(this.i)) : c === "u" ? /^(\{[0-9a-f]+\}|[0-9a-f]{4})/i.exec(this.s.slice(this.i)) : null;
    if (hex) {
      this.i += hex[0].length;
      return exactInfo(new Set([String.fromCodePoint(parseInt(hex[0].replace(/[{}]/g, ""), 16))]));
    }
    if (c === "c") {
      this.i++;
      return anyInfo;
    }
    return exactInfo(new Set([c]));
  }

  /** A class of a few plain characters ([Ee], [-_]) is an exact set; anything else matches "some character". */
  charClass(): Info {
    let negated = false;
    if (this.peek() === "^") {
      negated = true;
      this.i++;
    }
    const chars = new Set<string>();
    let plain = true;
    let first = true;
    while (!this.done() && (this.peek() !== "]" || first)) {
      first = false;
      let ch = this.peek();
      this.i++;
      if (ch === "\\") {
        const e = this.peek();
        this.i++;
        if (/[dDwWsSpPbBux0-9c]/.test(e)) plain = false;
        ch = e === "n" ? "\n" : e === "t" ? "\t" : e;
      } else if (ch === "-" && chars.size > 0 && this.peek() !== "]") plain = false;
      chars.add(ch);
    }
    this.i++; // ]
    if (negated || !plain || chars.size === 0 || chars.size > 8) return anyInfo;
    return exactInfo(chars);
  }
}

/**
 * A literal string as an FTS5 phrase: the trigram tokenizer turns it into its trigrams at
 * consecutive positions, so it matches exactly the texts containing the string (ignoring
 * case). Null when it is shorter than three characters (no trigram: the caller scans).
 */
export function literalPrefilter(s: string): string | null {
  if ([...s].length < 3) return null;
  return `"${s.replace(/"/g, '""')}"`;
}

function render(q: Q): string | null {
  switch (q.op) {
    case "all":
      return null;
    case "lit":
      return literalPrefilter(q.s);
    case "and": {
      const parts = q.args.map(render).filter((p): p is string => p !== null);
      return parts.length === 0 ? null : parts.map((p) => `(${p})`).join(" AND ");
    }
    case "or": {
      const parts = q.args.map(render);
      return parts.some((p) => p === null) ? null : parts.map((p) => `(${p})`).join(" OR ");
    }
  }
}

/** The FTS5 query every match of `source` satisfies, or null (no usable literal). Never throws. */
export function regexPrefilter(source: string): string | null {
  try {
    const r = new Reader(source);
    const info = r.alternation();
    if (!r.done()) return null;
    return render(toQ(info));
  } catch {
    return null;
  }
}

/** Outside character classes, `\1`…`\9` and `\k<…>` are backreferences. */
function hasBackreference(source: string): boolean {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i);
    if (c === "\\") {
      const n = source.charAt(i + 1);
      if (!inClass && (/[1-9]/.test(n) || (n === "k" && source.charAt(i + 2) === "<"))) return true;
      i++;
    } else if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
  }
  return false;
}

/** Validates a pattern; 422 with the reason when it cannot be used. */
export function compileRegex(source: string, caseSensitive: boolean): CompiledRegex {
  if (hasBackreference(source)) {
    throw regexError("Backreferences (\\1, \\k<name>) are not supported: they can make a search take exponential time.");
  }
  const base = `gm${caseSensitive ? "" : "i"}`;
  let flags = `${base}u`;
  try {
    new RegExp(source, flags);
  } catch (withUnicode) {
    flags = base;
    try {
      new RegExp(source, flags);
    } catch {
      throw regexError(`Invalid regular expression: ${(withUnicode as Error).message.replace(/^Invalid regular expression: /, "")}`);
    }
  }
  if (new RegExp(source, flags).test("")) {
    // A pattern that matches the empty string matches everywhere: fine for ^ or $ in a line, but
    // say so rather than returning every line of every file.
    throw regexError("This pattern matches an empty string, so it would match every line; make it require at least one character.");
  }
  return { source, flags, prefilter: regexPrefilter(source) };
}
