/**
 * `wove.toml`: a project's own deploy settings, read by detect.ts. It is a small, strict subset
 * of TOML — no npm parser, and nothing a project could write that Wove would silently ignore:
 *
 *   # comments anywhere, after a value too
 *   [deploy]
 *   kind = "bun"                      # static | bun | dockerfile
 *   install = ["bun", "install"]      # a list runs as is; a "string" runs through sh -c
 *   build = "bun run build"           # [] or "" turns a step off
 *   start = ["bun", "server.ts"]
 *   output = "dist"                   # static sites: the folder that holds index.html
 *   port = 3000                       # the port the app listens on (it gets PORT too)
 *   health_path = "/health"
 *   health_timeout = "30s"            # 1s to 10m (ms, s or m)
 *
 * Values are "basic strings" (with \" \\ \n \t \r \b \f \uXXXX \UXXXXXXXX escapes), 'literal
 * strings', integers (1_000 allowed) and arrays of strings, which may span lines. Any other
 * table, an unknown key, a repeated key or a value of the wrong type is an error naming its
 * line: "wove.toml line 3: port must be a number from 1 to 65535".
 */
import type { Argv, DeployKind } from "./types.ts";

export const WOVE_TOML = "wove.toml";
/** A settings file this big is a mistake, not settings. */
export const WOVE_TOML_MAX_BYTES = 64 * 1024;

export const DEPLOY_KINDS: readonly DeployKind[] = ["static", "bun", "dockerfile"];

/** What a wove.toml says, normalised. A missing key is undefined; a step turned off is null. */
export type WoveSettings = {
  kind?: DeployKind;
  install?: Argv | null;
  build?: Argv | null;
  start?: Argv | null;
  /** A clean relative path ("." for the root), never leaving the project. */
  output?: string;
  port?: number;
  healthPath?: string;
  healthTimeoutMs?: number;
};

export const SETTING_KEYS = ["kind", "install", "build", "start", "output", "port", "health_path", "health_timeout"] as const;
type SettingKey = (typeof SETTING_KEYS)[number];

const MIN_HEALTH_TIMEOUT_MS = 1000;
const MAX_HEALTH_TIMEOUT_MS = 10 * 60_000;

export class WoveTomlError extends Error {
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${WOVE_TOML} line ${line}: ${detail}`);
  }
}

type Value = { type: "string"; value: string } | { type: "integer"; value: number } | { type: "array"; value: string[] };

/** A cursor over the text that knows its line number. */
class Reader {
  pos = 0;
  line = 1;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? "";
  }
  next(): string {
    const c = this.text[this.pos++] ?? "";
    if (c === "\n") this.line++;
    return c;
  }
  fail(detail: string, line = this.line): never {
    throw new WoveTomlError(line, detail);
  }
  /** Spaces and tabs only. */
  skipBlanks(): void {
    while (this.peek() === " " || this.peek() === "\t") this.pos++;
  }
  skipComment(): void {
    if (this.peek() !== "#") return;
    while (!this.done && this.peek() !== "\n") {
      const c = this.next();
      if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(c)) this.fail("comments must not contain control characters");
    }
  }
  /** After a header or a value: blanks, an optional comment, then a line break or the end. */
  endOfLine(what: string): void {
    this.skipBlanks();
    this.skipComment();
    if (this.done) return;
    if (this.peek() !== "\n") this.fail(`unexpected text after ${what}; put one setting on each line`);
    this.next();
  }
  /** Blank lines, comment lines and line breaks (inside arrays too). */
  skipSpaceAndComments(): void {
    for (;;) {
      this.skipBlanks();
      this.skipComment();
      if (this.peek() !== "\n") return;
      this.next();
    }
  }
}

function readBasicString(r: Reader): string {
  const start = r.line;
  r.next(); // "
  if (r.peek() === '"' && r.peek(1) === '"') r.fail('multi-line strings ("""…""") are not supported in wove.toml; use a list for long commands');
  let out = "";
  for (;;) {
    if (r.done || r.peek() === "\n") r.fail("this string has no closing quote", start);
    const c = r.next();
    if (c === '"') return out;
    if (c === "\\") {
      const e = r.next();
      const simple: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", t: "\t", r: "\r", b: "\b", f: "\f" };
      if (e in simple) out += simple[e];
      else if (e === "u" || e === "U") {
        const len = e === "u" ? 4 : 8;
        const hex = r.text.slice(r.pos, r.pos + len);
        const code = /^[0-9a-fA-F]+$/.test(hex) && hex.length === len ? Number.parseInt(hex, 16) : NaN;
        if (!(code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) r.fail(`\\${e} must be followed by ${len} hex digits naming a Unicode character`);
        out += String.fromCodePoint(code);
        r.pos += len;
      } else r.fail(`unknown escape \\${e} in a string (use \\\\ for a backslash)`);
    } else if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(c)) r.fail("strings must not contain control characters; write \\t or \\n instead");
    else out += c;
  }
}

function readLiteralString(r: Reader): string {
  const start = r.line;
  r.next(); // '
  if (r.peek() === "'" && r.peek(1) === "'") r.fail("multi-line strings ('''…''') are not supported in wove.toml; use a list for long commands");
  const end = r.text.indexOf("'", r.pos);
  const newline = r.text.indexOf("\n", r.pos);
  if (end < 0 || (newline >= 0 && newline < end)) r.fail("this string has no closing quote", start);
  const out = r.text.slice(r.pos, end);
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(out)) r.fail("strings must not contain control characters");
  r.pos = end + 1;
  return out;
}

function readString(r: Reader): string | undefined {
  if (r.peek() === '"') return readBasicString(r);
  if (r.peek() === "'") return readLiteralString(r);
  return undefined;
}

function readArray(r: Reader, key: string): string[] {
  const start = r.line;
  r.next(); // [
  const items: string[] = [];
  for (;;) {
    r.skipSpaceAndComments();
    if (r.done) r.fail(`the list for ${key} has no closing ]`, start);
    if (r.peek() === "]") {
      r.next();
      return items;
    }
    const item = readString(r);
    if (item === undefined) r.fail(`the list for ${key} may hold only "quoted strings"`);
    items.push(item);
    r.skipSpaceAndComments();
    if (r.peek() === ",") r.next();
    else if (r.peek() !== "]") r.fail(`put a comma between the items of ${key}`);
  }
}

function readValue(r: Reader, key: string): Value {
  const c = r.peek();
  if (c === '"' || c === "'") return { type: "string", value: readString(r) ?? "" };
  if (c === "[") return { type: "array", value: readArray(r, key) };
  const word = /^[^\s#,\]]+/.exec(r.text.slice(r.pos))?.[0] ?? "";
  if (/^[+-]?(0|[1-9](_?[0-9])*)$/.test(word)) {
    r.pos += word.length;
    return { type: "integer", value: Number(word.replaceAll("_", "")) };
  }
  if (word === "true" || word === "false") r.fail(`${key} cannot be true or false`);
  if (word === "") r.fail(`${key} has no value`);
  r.fail(`the value of ${key} must be a number, a "quoted string" or a ["list", "of strings"]`);
}

function argvOf(key: string, v: Value, line: number): Argv | null {
  if (v.type === "array") return v.value.length === 0 ? null : v.value;
  if (v.type === "string") return v.value.trim() === "" ? null : ["sh", "-c", v.value];
  throw new WoveTomlError(line, `${key} must be a command: a "string" (run with sh -c) or a ["list", "of", "arguments"]`);
}

/** A relative folder inside the project, normalised ("./dist/" → "dist"), or an error message. */
export function cleanRelativePath(raw: string): string | { error: string } {
  if (raw.trim() === "") return { error: "must name a folder" };
  if (raw.startsWith("/") || /^[A-Za-z]:/.test(raw) || raw.includes("\\")) return { error: "must be a folder inside the project, like dist" };
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..")) return { error: "must stay inside the project (no ..)" };
  if (parts.some((p) => /[\u0000-\u001f\u007f]/.test(p))) return { error: "must not contain control characters" };
  return parts.length === 0 ? "." : parts.join("/");
}

function apply(out: WoveSettings, key: SettingKey, v: Value, line: number): void {
  const fail = (detail: string): never => {
    throw new WoveTomlError(line, detail);
  };
  const str = (): string => (v.type === "string" ? v.value : fail(`${key} must be a "quoted string"`));
  switch (key) {
    case "kind": {
      const kind = str();
      if (!(DEPLOY_KINDS as readonly string[]).includes(kind)) fail(`kind must be "static", "bun" or "dockerfile", not "${kind}"`);
      out.kind = kind as DeployKind;
      return;
    }
    case "install":
    case "build":
    case "start":
      out[key] = argvOf(key, v, line);
      return;
    case "output": {
      const path = cleanRelativePath(str());
      if (typeof path !== "string") fail(`output ${path.error}`);
      out.output = path as string;
      return;
    }
    case "port":
      if (v.type !== "integer" || v.value < 1 || v.value > 65535) fail("port must be a number from 1 to 65535");
      out.port = v.value as number;
      return;
    case "health_path": {
      const path = str();
      if (!path.startsWith("/") || path.length > 200 || /[\s\u0000-\u001f\u007f]/.test(path)) {
        fail('health_path must be a path starting with /, like "/health", without spaces (at most 200 characters)');
      }
      out.healthPath = path;
      return;
    }
    case "health_timeout": {
      const m = /^(\d{1,7})(ms|s|m)$/.exec(v.type === "string" ? v.value.trim() : "");
      const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as "ms" | "s" | "m"] : NaN;
      if (!(ms >= MIN_HEALTH_TIMEOUT_MS && ms <= MAX_HEALTH_TIMEOUT_MS)) fail('health_timeout must be a duration from 1s to 10m, like "30s" or "2m"');
      out.healthTimeoutMs = ms;
      return;
    }
  }
}

/** Parses a wove.toml's text; throws WoveTomlError naming the line of the first problem. */
export function parseWoveToml(source: string): WoveSettings {
  const r: Reader = new Reader(source.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n"));
  const out: WoveSettings = {};
  const seen = new Map<string, number>();
  let table: string | null = null;
  let deployLine = 0;
  for (;;) {
    r.skipSpaceAndComments();
    if (r.done) return out;
    const line = r.line;
    if (r.peek() === "[") {
      const header = /^\[\s*([^\]\n]*?)\s*\]/.exec(r.text.slice(r.pos));
      if (!header) r.fail("a table header must look like [deploy]");
      const name = header[1] ?? "";
      if (name !== "deploy") r.fail(`unknown table [${name}]; wove.toml has only a [deploy] table`);
      if (deployLine) r.fail(`[deploy] appears twice (first on line ${deployLine})`);
      table = name;
      deployLine = line;
      r.pos += header[0].length;
      r.endOfLine("[deploy]");
      continue;
    }
    const key = /^[A-Za-z0-9_-]+/.exec(r.text.slice(r.pos))?.[0];
    if (!key) r.fail(`expected a setting like port = 3000 or a [deploy] header`);
    r.pos += key.length;
    r.skipBlanks();
    if (r.peek() === ".") r.fail(`dotted keys like ${key}.… are not supported in wove.toml`);
    if (r.peek() !== "=") r.fail(`expected = after ${key}`);
    r.next();
    r.skipBlanks();
    if (table === null) r.fail(`settings go under a [deploy] header; add [deploy] above ${key}`);
    if (!(SETTING_KEYS as readonly string[]).includes(key)) {
      r.fail(`unknown setting "${key}"; wove.toml knows ${SETTING_KEYS.join(", ")}`);
    }
    const first = seen.get(key);
    if (first !== undefined) r.fail(`${key} is set twice (first on line ${first})`);
    seen.set(key, line);
    const value = readValue(r, key);
    apply(out, key as SettingKey, value, line);
    r.endOfLine(`the value of ${key}`);
  }
}

/** How a command is written in the build log: a list as words, `sh -c` as its script. */
export function describeArgv(argv: Argv): string {
  if (argv.length === 3 && argv[0] === "sh" && argv[1] === "-c") return argv[2] ?? "";
  return argv.map((a) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}
