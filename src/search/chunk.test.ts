import { describe, expect, test } from "bun:test";
import { bracketDepths, chunkFile, MAX_CHARS, MAX_LINES, type Chunk } from "./chunk.ts";

const span = (c: Chunk) => [c.startLine, c.endLine];

/** Every line of the file is in at most one chunk, in order; the text matches the line range. */
function checkInvariants(text: string, chunks: Chunk[]): void {
  const lines = text.split("\n");
  let last = 0;
  for (const c of chunks) {
    expect(c.startLine).toBeGreaterThan(last);
    expect(c.endLine).toBeGreaterThanOrEqual(c.startLine);
    expect(c.text).toBe(lines.slice(c.startLine - 1, c.endLine).join("\n"));
    last = c.endLine;
  }
}

describe("code chunks", () => {
  const ts = [
    'import { a } from "a";',
    'import { b } from "b";',
    "",
    "/** Adds two numbers. */",
    "export function add(x: number, y: number): number {",
    "  const s = x + y;",
    "  if (s > 10) {",
    '    console.log("big");',
    "  }",
    "  return s;",
    "}",
    "",
    "export class Counter {",
    "  private n = 0;",
    "  inc(): void {",
    "    this.n++;",
    "  }",
    "  get value(): number {",
    "    return this.n;",
    "  }",
    "}",
  ].join("\n");

  test("one chunk per function and class, imports grouped, doc comments kept with their function", () => {
    const chunks = chunkFile(ts, "typescript");
    checkInvariants(ts, chunks);
    expect(chunks.map(span)).toEqual([
      [1, 2],
      [4, 11],
      [13, 21],
    ]);
    expect(chunks.map((c) => c.kind)).toEqual(["block", "function", "class"]);
    expect(chunks[1]?.title).toBe("export function add(x: number, y: number): number {");
  });

  test("brackets inside strings, template literals and comments do not count", () => {
    const lines = ["const a = '{';", 'const b = "}}";', "const c = `${x + `{`}`; // {", "/* { */", "f({", "  x: 1", "});", "g();"];
    expect(bracketDepths(lines)).toEqual([0, 0, 0, 0, 0, 2, 2, 0]);
  });

  test("a big class is split into its methods, each chunk within the size bounds", () => {
    const methods = Array.from({ length: 12 }, (_, i) => [`  method${i}(a: number): number {`, ...Array.from({ length: 10 }, (_, j) => `    a += ${j};`), "    return a;", "  }", ""].join("\n"));
    const text = ["export class Big {", ...methods, "}"].join("\n");
    const chunks = chunkFile(text, "typescript");
    checkInvariants(text, chunks);
    expect(chunks.length).toBeGreaterThanOrEqual(12);
    for (const c of chunks) expect(c.endLine - c.startLine + 1).toBeLessThanOrEqual(MAX_LINES);
    expect(chunks[0]?.startLine).toBe(1); // the class line goes with the first method
    expect(chunks[3]?.title).toBe("method3(a: number): number {");
    expect(chunks[3]?.context).toBe("export class Big {");
    expect(chunks[3]?.kind).toBe("function");
  });

  test("python is chunked by indentation, decorators stay with their function", () => {
    const py = [
      "import os",
      "",
      "@app.route('/')",
      "def index():",
      "    name = os.environ.get('NAME')",
      "",
      "    greeting = 'hi ' + name",
      "    print(greeting)",
      "    return greeting",
      "",
      "class Store:",
      "    def __init__(self):",
      "        self.items = []",
      "    def add(self, x):",
      "        self.items.append(x)",
      "        return x",
    ].join("\n");
    const chunks = chunkFile(py, "python");
    checkInvariants(py, chunks);
    expect(chunks.map(span)).toEqual([
      [1, 1],
      [3, 9],
      [11, 16],
    ]);
    expect(chunks[1]?.kind).toBe("function");
    expect(chunks[2]?.kind).toBe("class");
  });

  test("a closing `end` stays with its block (ruby, shell)", () => {
    const rb = ["def hello", "  puts 'a'", "  puts 'b'", "  puts 'c'", "  puts 'd'", "  puts 'e'", "end", "def bye", "  1", "end"].join("\n");
    const chunks = chunkFile(rb, "ruby");
    expect(chunks.map(span)).toEqual([[1, 7], [8, 10]]);
  });

  test("a long function without inner structure is cut by size; a giant line is one bounded chunk", () => {
    const body = Array.from({ length: 300 }, (_, i) => `  x${i} = ${i};`);
    const text = ["function long() {", ...body, "}"].join("\n");
    const chunks = chunkFile(text, "javascript");
    checkInvariants(text, chunks);
    expect(chunks[chunks.length - 1]?.endLine).toBe(302);
    for (const c of chunks) {
      expect(c.endLine - c.startLine + 1).toBeLessThanOrEqual(MAX_LINES);
      expect(c.text.length).toBeLessThanOrEqual(MAX_CHARS + 100);
    }
    const minified = "var a=" + "[1,2,3],".repeat(20_000) + "0;";
    const one = chunkFile(minified, "javascript");
    expect(one.map(span)).toEqual([[1, 1]]);
    expect(one[0]?.text.length).toBeLessThanOrEqual(MAX_CHARS * 2);
  });

  test("empty and blank files have no chunks; CRLF line ends are handled", () => {
    expect(chunkFile("", "typescript")).toEqual([]);
    expect(chunkFile("\n\n  \n", "python")).toEqual([]);
    const crlf = chunkFile("function a() {\r\n  return 1;\r\n}\r\n", "javascript");
    expect(crlf.map(span)).toEqual([[1, 3]]);
    expect(crlf[0]?.text).not.toContain("\r");
  });
});

describe("markdown chunks", () => {
  const md = [
    "# Guide",
    "",
    "Intro text.",
    "",
    "## Install",
    "",
    "Run the installer.",
    "",
    "```sh",
    "# not a heading",
    "make install",
    "```",
    "",
    "## Usage",
    "### Charts",
    "Draw bar charts with D3.",
  ].join("\n");

  test("one chunk per heading with the heading path as context; headings in code fences are text", () => {
    const chunks = chunkFile(md, "markdown");
    checkInvariants(md, chunks);
    expect(chunks.map(span)).toEqual([
      [1, 4],
      [5, 13],
      [14, 16],
    ]);
    expect(chunks.map((c) => c.title)).toEqual(["Guide", "Install", "Charts"]);
    expect(chunks[1]?.context).toBe("Guide");
    expect(chunks[2]?.context).toBe("Guide › Usage");
    expect(chunks.every((c) => c.kind === "section")).toBe(true);
  });

  test("a long section is split between paragraphs, keeping its title", () => {
    const paras = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} line one.\nParagraph ${i} line two.\n`);
    const text = ["# Long", "", ...paras].join("\n");
    const chunks = chunkFile(text, "markdown");
    checkInvariants(text, chunks);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((c) => c.title === "Long")).toBe(true);
    for (const c of chunks.slice(0, -1)) expect(text.split("\n")[c.endLine - 1]).toBe("");
  });
});
