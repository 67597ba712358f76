/**
 * Splits a file into the pieces semantic search embeds, along the code's own structure, so a
 * hit points at one function or one section rather than at an arbitrary window of lines.
 *
 * - Markdown: one chunk per heading (its section), long sections split between paragraphs; the
 *   chain of headings above a section goes with it as context ("Guide › Install").
 * - Brace languages (JS/TS, C-family, Go, Rust, Java, CSS, JSON…): top-level units are the
 *   lines from a statement's start to where its brackets close again — a function, a class, an
 *   object literal, a multi-line call — with the comments and decorators just above it. A
 *   strings-and-comments-aware scan counts the brackets.
 * - Everything else (Python, YAML, Ruby, shell, HTML…): units by indentation — a line at the
 *   base indentation plus the deeper lines under it (and a closing `end`/`fi`/`</tag>`).
 *
 * Units of MIN_LINES or more stand alone (one function = one chunk), and so do functions and
 * classes of three lines or more; smaller ones (imports, constants, one-liners) are grouped up
 * to TARGET_LINES. A unit over MAX_LINES/MAX_CHARS is
 * split by its inner structure (a class into its methods), its header line kept as context, and
 * as a last resort at blank lines. Line numbers are 1-based and inclusive.
 */

export type ChunkKind = "function" | "class" | "block" | "section" | "text";

export type Chunk = {
  startLine: number;
  endLine: number;
  kind: ChunkKind;
  /** The first meaningful line (a signature, a heading), for display. */
  title: string;
  /** Enclosing headers (a class's first line, a heading path), for the embedder only. */
  context: string;
  text: string;
};

export const MIN_LINES = 6;
export const TARGET_LINES = 40;
export const MAX_LINES = 80;
export const MAX_CHARS = 3000;
/** A file past this many chunks is cut (the code index still has all of it). */
export const MAX_CHUNKS_PER_FILE = 2000;

const BRACE_LANGS = new Set([
  "typescript", "javascript", "java", "c", "cpp", "csharp", "go", "rust", "php", "swift", "kotlin", "scala", "dart",
  "css", "scss", "less", "json", "solidity", "objective-c", "graphql", "protobuf", "hcl", "fsharp", "groovy", "perl",
]);
const MARKDOWN_LANGS = new Set(["markdown", "mdx"]);

type Unit = { start: number; end: number };

/** The chunks of `text` (a file's content) in `lang` (a language id from detectLanguage). */
export function chunkFile(text: string, lang: string): Chunk[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.every((l) => l.trim() === "")) return [];
  const out = MARKDOWN_LANGS.has(lang) ? chunkMarkdown(lines) : chunkCode(lines, BRACE_LANGS.has(lang));
  return out.slice(0, MAX_CHUNKS_PER_FILE);
}

// ---- Code ----

function chunkCode(lines: string[], braces: boolean): Chunk[] {
  const depth = braces ? bracketDepths(lines) : indentDepths(lines);
  const out: Chunk[] = [];
  splitRange(lines, depth, 0, lines.length - 1, "", out);
  return out;
}

/** Chunks lines [from, to] (0-based, inclusive) whose base depth is the smallest depth among them. */
function splitRange(lines: string[], depth: number[], from: number, to: number, context: string, out: Chunk[]): void {
  const units = topUnits(lines, depth, from, to);
  let group: Unit | undefined;
  const flush = () => {
    if (group) out.push(makeChunk(lines, group, context, "block"));
    group = undefined;
  };
  for (const u of units) {
    const size = u.end - u.start + 1;
    // A function or class stands alone from three lines on; other units from MIN_LINES.
    if (size >= MIN_LINES || (size >= 3 && kindOf(lines, u) !== "block")) {
      flush();
      if (size > MAX_LINES || charsIn(lines, u) > MAX_CHARS) splitBig(lines, depth, u, context, out);
      else out.push(makeChunk(lines, u, context, kindOf(lines, u)));
      continue;
    }
    if (group && (u.end - group.start + 1 > TARGET_LINES || charsIn(lines, { start: group.start, end: u.end }) > MAX_CHARS)) flush();
    group = group ? { start: group.start, end: u.end } : { ...u };
  }
  flush();
}

/** A unit too big for one chunk: split by its inner structure, else by size at blank lines. */
function splitBig(lines: string[], depth: number[], u: Unit, context: string, out: Chunk[]): void {
  const header = firstMeaningful(lines, u);
  const innerFrom = header + 1;
  const before = out.length;
  if (innerFrom <= u.end) {
    const inner = topUnits(lines, depth, innerFrom, u.end);
    // Structure helps only when the inside is more than one unit.
    if (inner.length > 1) {
      const ctx = joinContext(context, lines[header]?.trim() ?? "");
      splitRange(lines, depth, innerFrom, u.end, ctx, out);
      // The header line (and comments above it) belong to the first inner chunk.
      const first = out[before];
      if (first) out[before] = makeChunk(lines, { start: u.start, end: first.endLine - 1 }, context, kindOf(lines, u));
      return;
    }
  }
  splitBySize(lines, u, context, out);
}

/** Windows of at most MAX_LINES / MAX_CHARS, cut at a blank line when one is near the end. */
function splitBySize(lines: string[], u: Unit, context: string, out: Chunk[]): void {
  let start = u.start;
  while (start <= u.end) {
    let end = start;
    let chars = 0;
    while (end <= u.end && end - start < MAX_LINES && (chars === 0 || chars + (lines[end]?.length ?? 0) <= MAX_CHARS)) {
      chars += (lines[end]?.length ?? 0) + 1;
      end++;
    }
    end--; // last line taken
    if (end < u.end) {
      for (let b = end; b > start + (end - start) / 2; b--) {
        if ((lines[b] ?? "").trim() === "") {
          end = b;
          break;
        }
      }
    }
    out.push(makeChunk(lines, { start, end }, context, start === u.start ? kindOf(lines, u) : "block"));
    start = end + 1;
  }
}

/**
 * The top-level units of lines [from, to]: each starts where the depth is at the range's base
 * and runs until the depth is back at the base. Comment and decorator lines join the unit
 * below them; closing lines at the base depth (`}`, `end`, `</div>`) join the unit above.
 */
function topUnits(lines: string[], depth: number[], from: number, to: number): Unit[] {
  let base = Infinity;
  for (let i = from; i <= to; i++) if ((lines[i] ?? "").trim() !== "") base = Math.min(base, depth[i] ?? 0);
  const units: Unit[] = [];
  // `lead`: comment/decorator lines waiting for the unit below them; `cur.fromLead`: the
  // current unit so far is only such lines (a multi-line decorator) and joins the next one.
  let lead: Unit | undefined;
  let cur: (Unit & { fromLead: boolean }) | undefined;
  const flushLead = () => {
    if (lead) units.push(lead);
    lead = undefined;
  };
  for (let i = from; i <= to; i++) {
    const line = lines[i] ?? "";
    if (line.trim() === "") {
      if (!cur) flushLead(); // a blank line parts a comment from what follows
      continue;
    }
    const atBase = (depth[i] ?? 0) <= base;
    if (!atBase || (cur && (isCloser(line) || CONTINUATION_RE.test(line)))) {
      if (cur) cur.end = i;
      else {
        cur = { start: lead?.start ?? i, end: i, fromLead: lead !== undefined };
        lead = undefined;
      }
      continue;
    }
    if (isLead(line) && !cur?.fromLead) {
      if (cur) units.push(cur);
      cur = undefined;
      lead = lead ? { start: lead.start, end: i } : { start: i, end: i };
      continue;
    }
    if (cur?.fromLead) {
      cur = { start: cur.start, end: i, fromLead: isLead(line) };
      continue;
    }
    if (cur) units.push(cur);
    cur = { start: lead?.start ?? i, end: i, fromLead: false };
    lead = undefined;
  }
  if (cur) units.push(cur);
  flushLead();
  return units.map((u) => ({ start: u.start, end: u.end }));
}

const LEAD_RE = /^\s*(\/\/|\/\*|\*|#(?!include|define|if|endif|else|pragma|!)|@|#\[|--|;|<!--|""")/;
/** A line that continues the statement above (`.then(…)`, `&& b`, `? x : y`). */
const CONTINUATION_RE = /^\s*(\.[\w$]|\?\.|&&|\|\||\?\s|:\s)/;
const CLOSER_RE = /^\s*([}\])]+[;,)]*\s*$|end\b|fi\b|done\b|esac\b|<\/[\w:-]+>|\)\s*;?\s*$)/;

function isLead(line: string): boolean {
  return LEAD_RE.test(line);
}

function isCloser(line: string): boolean {
  return CLOSER_RE.test(line);
}

/** Depth before each line by bracket counting, skipping strings and comments. */
export function bracketDepths(lines: string[]): number[] {
  const out: number[] = [];
  let depth = 0;
  let inBlock = false; // inside /* */
  const template: number[] = []; // depth at each open `${` inside a template literal
  let inTemplate = false;
  for (const line of lines) {
    out.push(depth);
    let quote: string | undefined;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (inBlock) {
        if (c === "*" && line[i + 1] === "/") {
          inBlock = false;
          i++;
        }
        continue;
      }
      if (inTemplate) {
        if (c === "\\") i++;
        else if (c === "`") inTemplate = false;
        else if (c === "$" && line[i + 1] === "{") {
          template.push(depth);
          depth++;
          inTemplate = false;
          i++;
        }
        continue;
      }
      if (quote) {
        if (c === "\\") i++;
        else if (c === quote) quote = undefined;
        continue;
      }
      if (c === "/" && line[i + 1] === "/") break;
      if (c === "/" && line[i + 1] === "*") {
        inBlock = true;
        i++;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === "`") inTemplate = true;
      else if (c === "{" || c === "(" || c === "[") depth++;
      else if (c === "}" || c === ")" || c === "]") {
        depth = Math.max(0, depth - 1);
        if (c === "}" && template.length > 0 && template[template.length - 1] === depth) {
          template.pop();
          inTemplate = true;
        }
      }
    }
  }
  return out;
}

/** Indentation width of each line; a blank line takes the next non-blank line's. */
export function indentDepths(lines: string[]): number[] {
  const out = new Array<number>(lines.length);
  let next = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? "";
    if (line.trim() === "") out[i] = next;
    else {
      const m = /^[ \t]*/.exec(line)?.[0] ?? "";
      next = m.replace(/\t/g, "    ").length;
      out[i] = next;
    }
  }
  return out;
}

// ---- Markdown ----

function chunkMarkdown(lines: string[]): Chunk[] {
  const sections: { start: number; end: number; path: string[] }[] = [];
  const trail: { level: number; text: string }[] = [];
  let fence: string | undefined;
  let start = 0;
  let path: string[] = [];
  const close = (end: number) => {
    if (end >= start) sections.push({ start, end, path });
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      const mark = f[1] as string;
      if (!fence) fence = mark.charAt(0);
      else if (mark.charAt(0) === fence) fence = undefined;
      continue;
    }
    if (fence) continue;
    const h = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    close(i - 1);
    const level = (h[1] as string).length;
    while (trail.length > 0 && (trail[trail.length - 1]?.level ?? 0) >= level) trail.pop();
    trail.push({ level, text: h[2] ?? "" });
    path = trail.map((t) => t.text);
    start = i;
  }
  close(lines.length - 1);
  const out: Chunk[] = [];
  let pending: { start: number; path: string[] } | undefined; // a heading with no text of its own
  for (const s of sections) {
    const from = pending?.start ?? s.start;
    const body = lines.slice(s.start, s.end + 1).filter((l) => l.trim() !== "" && !/^\s{0,3}#{1,6}\s/.test(l));
    if (body.length === 0 && s !== sections[sections.length - 1]) {
      pending ??= { start: s.start, path: s.path };
      continue;
    }
    pending = undefined;
    const unit = { start: from, end: s.end };
    const context = s.path.slice(0, -1).join(" › ");
    const title = s.path[s.path.length - 1] ?? lines.slice(unit.start, unit.end + 1).find((l) => l.trim() !== "")?.trim() ?? "";
    if (unit.end - unit.start + 1 > MAX_LINES || charsIn(lines, unit) > MAX_CHARS) splitParagraphs(lines, unit, context, title, out);
    else out.push(makeChunk(lines, unit, context, "section", title));
  }
  return out.filter((c) => c.text.trim() !== "");
}

/** A long section: groups of whole paragraphs (never cutting a fenced block when avoidable). */
function splitParagraphs(lines: string[], u: Unit, context: string, title: string, out: Chunk[]): void {
  const first = out.length;
  splitBySize(lines, u, context, out);
  for (let i = first; i < out.length; i++) {
    const c = out[i] as Chunk;
    out[i] = { ...c, kind: "section", title: title.length > 120 ? `${title.slice(0, 120)}…` : title };
  }
}

// ---- Helpers ----

function charsIn(lines: string[], u: Unit): number {
  let n = 0;
  for (let i = u.start; i <= u.end; i++) n += (lines[i]?.length ?? 0) + 1;
  return n;
}

function firstMeaningful(lines: string[], u: Unit): number {
  for (let i = u.start; i <= u.end; i++) {
    const l = lines[i] ?? "";
    if (l.trim() !== "" && !isLead(l)) return i;
  }
  return u.start;
}

function joinContext(outer: string, inner: string): string {
  const i = inner.length > 160 ? `${inner.slice(0, 160)}…` : inner;
  return outer ? `${outer} › ${i}` : i;
}

const CLASS_RE = /^\s*(export\s+)?(default\s+)?(public\s+|private\s+|protected\s+|internal\s+|abstract\s+|final\s+|sealed\s+|static\s+|pub(\([^)]*\))?\s+)*(class|struct|interface|trait|impl|enum|record|object|module|namespace|protocol|extension|type\s+\w+\s+struct|type\s+\w+\s+interface)\b/;
const FUNCTION_RE = /^\s*(export\s+)?(default\s+)?(async\s+)?(function\b|def\s|fn\s|func\s|fun\s|sub\s|proc\s|(public|private|protected|internal|static|override|virtual|async|pub(\([^)]*\))?|unsafe|const|extern)\s.*\(|(const|let|var)\s+[\w$]+\s*=\s*(async\s*)?(\([^)]*\)|[\w$]+)\s*=>|[\w$]+\s*\([^)]*\)\s*(:\s*[^{]+)?\{\s*$|[\w$.]+\s*=\s*function\b|[\w$]+\s*:\s*(async\s*)?function\b)/;

function kindOf(lines: string[], u: Unit): ChunkKind {
  const head = lines[firstMeaningful(lines, u)] ?? "";
  if (CLASS_RE.test(head)) return "class";
  if (FUNCTION_RE.test(head)) return "function";
  return "block";
}

function makeChunk(lines: string[], u: Unit, context: string, kind: ChunkKind, title?: string): Chunk {
  const text = lines.slice(u.start, u.end + 1).join("\n");
  const titleLine = title ?? lines[firstMeaningful(lines, u)]?.trim() ?? "";
  return {
    startLine: u.start + 1,
    endLine: u.end + 1,
    kind,
    title: titleLine.length > 120 ? `${titleLine.slice(0, 120)}…` : titleLine,
    context,
    text: text.length > MAX_CHARS * 2 ? text.slice(0, MAX_CHARS * 2) : text,
  };
}
