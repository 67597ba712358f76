/**
 * Server-side syntax highlighting for the read-only file view.
 *
 * A small state-machine lexer (in the spirit of Monaco's Monarch): each grammar
 * is a set of named states, each state an ordered list of sticky-regex rules; a
 * rule emits a token class and may push or pop a state, or hand a region over to
 * another grammar (script in HTML, fenced code in Markdown). The lexer always
 * advances, so any input terminates; unknown characters become plain text.
 *
 * Output is escaped HTML: every token's text goes through escapeHtml and the
 * only markup added is `<span class="hl-…">` with a class from a fixed list, so
 * a file's content can never inject markup.
 */
import { escapeHtml } from "./jsx/jsx-runtime.ts";
import { GRAMMARS, LANGUAGE_ALIASES } from "./highlight-grammars.ts";

/** Token classes (CSS: `.hl-<cls>`). */
export type Cls =
  | "kw" | "str" | "num" | "com" | "fn" | "ty" | "lit" | "prop" | "attr" | "tag" | "var" | "meta"
  | "re" | "punc" | "op" | "head" | "em" | "strong" | "code" | "link" | "key" | "esc";

export type Token = { cls: Cls | null; text: string };

/** What a classifier may look at: the previous significant token and the source. */
export type LexCtx = {
  code: string;
  /** Text of the last token that was not whitespace or a comment ("" at the start). */
  prev: string;
  prevCls: Cls | null;
  /** True when only spaces/tabs lie between the start of the line and `pos`. */
  atLineStart(pos: number): boolean;
  /** The first character after `end` that is not a space or tab. */
  nextChar(end: number): string;
};

export type Embed = {
  /** Grammar for the region, or null to emit it as one token of `cls`. */
  lang: string | null;
  cls?: Cls | null;
  /** Where the region ends (searched from the end of the opening match). Missing → end of file. */
  end: RegExp;
  /** Class for the text the `end` pattern matched (it is consumed too). */
  endCls?: Cls | null;
  /** Leave the end match in place for the enclosing state to lex instead of consuming it. */
  keepEnd?: boolean;
};

export type Rule = {
  re: RegExp;
  /** A class, or a function of the matched text; with `groups`, one class per capture group. */
  cls?: Cls | null | ((text: string, ctx: LexCtx, end: number, m: RegExpExecArray) => Cls | null);
  groups?: (Cls | null)[];
  when?: (ctx: LexCtx, pos: number) => boolean;
  push?: string;
  pop?: boolean;
  embed?: (m: RegExpExecArray) => Embed;
};

export type Grammar = { start?: string; states: Record<string, Rule[]> };

const MAX_STACK = 64;
/** Beyond this many characters a file is shown without colours (still escaped, still numbered). */
export const HIGHLIGHT_MAX_CHARS = 512 * 1024;

/** Compiles every rule's regex as sticky once (so `lastIndex` anchors the match). */
const compiled = new WeakSet<Grammar>();
function prepare(g: Grammar): Grammar {
  if (compiled.has(g)) return g;
  for (const rules of Object.values(g.states)) {
    for (const r of rules) if (!r.re.sticky) r.re = new RegExp(r.re.source, r.re.flags.replace("g", "") + "y");
  }
  compiled.add(g);
  return g;
}

function isSpace(text: string): boolean {
  return /^\s*$/.test(text);
}

/** Splits code into tokens with the grammar for `lang` (a grammar name or alias); plain text when unknown. */
export function tokenize(code: string, lang: string): Token[] {
  const out: Token[] = [];
  lex(code, grammarFor(lang), out);
  return out;
}

function grammarFor(lang: string): Grammar | undefined {
  const name = LANGUAGE_ALIASES[lang] ?? lang;
  const g = GRAMMARS[name];
  return g ? prepare(g) : undefined;
}

function lex(code: string, grammar: Grammar | undefined, out: Token[], depth = 0): void {
  if (!grammar || depth > 4) {
    if (code) push(out, null, code);
    return;
  }
  const stack = [grammar.start ?? "root"];
  const ctx: LexCtx = {
    code,
    prev: "",
    prevCls: null,
    atLineStart(pos) {
      for (let i = pos - 1; i >= 0; i--) {
        const c = code[i];
        if (c === "\n") return true;
        if (c !== " " && c !== "\t") return false;
      }
      return true;
    },
    nextChar(end) {
      let i = end;
      while (code[i] === " " || code[i] === "\t") i++;
      return code[i] ?? "";
    },
  };
  const emit = (cls: Cls | null, text: string) => {
    if (!text) return;
    push(out, cls, text);
    if (cls !== "com" && !isSpace(text)) {
      ctx.prev = text.trim();
      ctx.prevCls = cls;
    }
  };
  let pos = 0;
  while (pos < code.length) {
    const rules = grammar.states[stack[stack.length - 1] ?? "root"] ?? [];
    let advanced = false;
    for (const rule of rules) {
      if (rule.when && !rule.when(ctx, pos)) continue;
      rule.re.lastIndex = pos;
      const m = rule.re.exec(code);
      if (!m || m[0].length === 0) continue;
      const end = pos + m[0].length;
      if (rule.groups) {
        for (let i = 0; i < rule.groups.length; i++) emit(rule.groups[i] ?? null, m[i + 1] ?? "");
      } else {
        const cls = typeof rule.cls === "function" ? rule.cls(m[0], ctx, end, m) : (rule.cls ?? null);
        emit(cls, m[0]);
      }
      pos = end;
      if (rule.pop && stack.length > 1) stack.pop();
      if (rule.push && stack.length < MAX_STACK) stack.push(rule.push);
      if (rule.embed) pos = embed(code, pos, rule.embed(m), out, emit, depth);
      advanced = true;
      break;
    }
    if (!advanced) {
      emit(null, code[pos] ?? "");
      pos++;
    }
  }
}

function embed(code: string, pos: number, e: Embed, out: Token[], emit: (c: Cls | null, t: string) => void, depth: number): number {
  const finder = new RegExp(e.end.source, e.end.flags.replace(/[gy]/g, "") + "g");
  finder.lastIndex = pos;
  const m = finder.exec(code);
  const stop = m ? m.index : code.length;
  const body = code.slice(pos, stop);
  if (e.lang === null) emit(e.cls ?? null, body);
  else lex(body, grammarFor(e.lang), out, depth + 1);
  if (!m || e.keepEnd) return stop;
  emit(e.endCls ?? null, m[0]);
  return stop + m[0].length;
}

function push(out: Token[], cls: Cls | null, text: string): void {
  const last = out[out.length - 1];
  if (last && last.cls === cls) last.text += text;
  else out.push({ cls, text });
}

/**
 * Highlights `code` and returns one escaped HTML string per line (no trailing
 * empty line for a final newline). Tokens that span lines (block comments,
 * multi-line strings) are split so every line is self-contained markup.
 */
export function highlightLines(code: string, lang: string): string[] {
  const text = code.replace(/\r\n?/g, "\n");
  const tokens = text.length <= HIGHLIGHT_MAX_CHARS ? tokenize(text, lang) : [{ cls: null, text }];
  const lines: string[] = [];
  let line = "";
  for (const t of tokens) {
    const parts = t.text.split("\n");
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) {
        lines.push(line);
        line = "";
      }
      const part = parts[i] ?? "";
      if (!part) continue;
      line += t.cls ? `<span class="hl-${t.cls}">${escapeHtml(part)}</span>` : escapeHtml(part);
    }
  }
  if (line !== "" || !text.endsWith("\n")) lines.push(line);
  return lines;
}

/** The whole file as one escaped HTML string (lines joined by "\n"). */
export function highlight(code: string, lang: string): string {
  return highlightLines(code, lang).join("\n");
}

/** True when a grammar exists for this language id or alias. */
export function canHighlight(lang: string): boolean {
  return grammarFor(lang) !== undefined;
}

const LABELS: Record<string, string> = {
  typescript: "TypeScript", javascript: "JavaScript", json: "JSON", html: "HTML", xml: "XML", css: "CSS", scss: "SCSS",
  less: "Less", markdown: "Markdown", mdx: "MDX", python: "Python", go: "Go", rust: "Rust", shell: "Shell",
  yaml: "YAML", ini: "TOML / INI", sql: "SQL", dockerfile: "Dockerfile", c: "C", cpp: "C++", java: "Java",
  csharp: "C#", kotlin: "Kotlin", swift: "Swift", plaintext: "Plain text",
};

/** A human name for a language id from detectLanguage ("typescript" → "TypeScript"). */
export function languageLabel(lang: string): string {
  return LABELS[lang] ?? lang.charAt(0).toUpperCase() + lang.slice(1);
}
