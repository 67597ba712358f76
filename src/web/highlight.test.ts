import { describe, expect, test } from "bun:test";
import { canHighlight, highlight, highlightLines, HIGHLIGHT_MAX_CHARS, languageLabel, tokenize, type Cls } from "./highlight.ts";
import { detectLanguage } from "../projects/files.ts";

/** The text of every token of class `cls`, in order. */
function of(code: string, lang: string, cls: Cls): string[] {
  return tokenize(code, lang)
    .filter((t) => t.cls === cls)
    .map((t) => t.text);
}

/** Strips the spans and unescapes: what the reader sees. */
function visible(htmlText: string): string {
  return htmlText
    .replace(/<span class="hl-[a-z]+">|<\/span>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

const ONLY_OUR_MARKUP = /<(?!span class="hl-[a-z]+">|\/span>)/;

describe("escaping", () => {
  const hostile = [
    ["javascript", 'const s = "<script>alert(1)</script>"; // </span><img src=x onerror=alert(1)>\n<script>x</script>'],
    ["html", '<script>alert("<b>&amp;")</script><img src="x" onerror="alert(1)">'],
    ["markdown", "# <script>alert(1)</script>\n\n<b onclick=\"x\">hi</b> & `<i>`"],
    ["plaintext", "<script>alert('x')</script> & \" '"],
    ["python", "s = '<\"&>'  # <script>"],
    ["nosuchlanguage", "<svg onload=alert(1)>"],
  ] as const;

  for (const [lang, code] of hostile) {
    test(`${lang}: no markup from the file survives, and the text round-trips`, () => {
      const out = highlight(code, lang);
      expect(out).not.toMatch(ONLY_OUR_MARKUP);
      expect(out).not.toContain("<script");
      expect(out).not.toContain('"x"');
      expect(visible(out)).toBe(code);
    });
  }

  test("<script> in a .js file comes out escaped", () => {
    const out = highlight('document.body.innerHTML = "<script>alert(1)</script>";', detectLanguage("app.js"));
    expect(out).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(out).not.toContain("<script>");
  });

  test("quotes and ampersands in attributes-like text are escaped", () => {
    const out = highlight(`a="1" & b='2'`, "shell");
    expect(out).toContain("&quot;1&quot;");
    expect(out).toContain("&#39;2&#39;");
    expect(out.replace(/<span class="hl-[a-z]+">/g, "")).not.toContain('"');
    expect(highlight(`x & y`, "plaintext")).toBe("x &amp; y");
  });
});

describe("lines", () => {
  test("a block comment spanning lines is split into self-contained lines", () => {
    const lines = highlightLines("a\n/* one\ntwo */ b\n", "javascript");
    expect(lines).toEqual(["a", '<span class="hl-com">/* one</span>', '<span class="hl-com">two */</span> b']);
  });
  test("no extra empty line for a trailing newline; blank lines are kept", () => {
    expect(highlightLines("x\n\ny\n", "plaintext")).toEqual(["x", "", "y"]);
    expect(highlightLines("x", "plaintext")).toEqual(["x"]);
    expect(highlightLines("", "plaintext")).toEqual([""]);
  });
  test("CRLF line endings", () => {
    expect(highlightLines("a\r\nb\r\n", "plaintext")).toEqual(["a", "b"]);
  });
  test("huge files are escaped but not coloured", () => {
    const big = "<b>x</b>\n".repeat(HIGHLIGHT_MAX_CHARS / 8);
    const lines = highlightLines(big, "html");
    expect(lines[0]).toBe("&lt;b&gt;x&lt;/b&gt;");
    expect(lines.length).toBe(HIGHLIGHT_MAX_CHARS / 8);
  });
});

describe("JavaScript / TypeScript", () => {
  test("keywords, functions, types, strings, numbers, comments", () => {
    const code = "export async function load(id: string): Promise<number> { return 0x1f + 2.5e3; } // done";
    expect(of(code, "typescript", "kw")).toEqual(["export", "async", "function", "return"]);
    expect(of(code, "typescript", "fn")).toEqual(["load"]);
    expect(of(code, "typescript", "ty")).toEqual(["string", "Promise", "number"]);
    expect(of(code, "typescript", "num")).toEqual(["0x1f", "2.5e3"]);
    expect(of(code, "typescript", "com")).toEqual(["// done"]);
  });
  test("regex literal vs division", () => {
    expect(of("const r = /a\\/[/]b/gi; x = a / b / c;", "javascript", "re")).toEqual(["/a\\/[/]b/gi"]);
    expect(of("if (/^x/.test(s)) y = (a) / 2", "javascript", "re")).toEqual(["/^x/"]);
  });
  test("template literals with nested interpolation", () => {
    const toks = tokenize("`a ${b + `c${d}`} e`; f", "javascript");
    expect(toks.filter((t) => t.cls === "str").map((t) => t.text)).toEqual(["`a ", "`c", "`", " e`"]);
    expect(toks.at(-1)).toEqual({ cls: null, text: " f" });
  });
  test("unterminated string and comment stop at the end", () => {
    expect(of("/* open", "javascript", "com")).toEqual(["/* open"]);
    expect(of('"open\nnext', "javascript", "str")).toEqual(['"open']);
  });
  test("property access and method calls", () => {
    const code = "user.name.trim()";
    expect(of(code, "javascript", "prop")).toEqual(["name"]);
    expect(of(code, "javascript", "fn")).toEqual(["trim"]);
  });
});

describe("other languages", () => {
  test("JSON keys vs string values", () => {
    const code = '{"name": "wove", "n": -1.5, "ok": true, "x": null}';
    expect(of(code, "json", "key")).toEqual(['"name"', '"n"', '"ok"', '"x"']);
    expect(of(code, "json", "str")).toEqual(['"wove"']);
    expect(of(code, "json", "lit")).toEqual(["true", "null"]);
  });
  test("HTML with embedded script and style", () => {
    const code = '<div class="a">x</div><script>let a = 1 < 2;</script><style>p { color: red }</style>';
    expect(of(code, "html", "tag")).toEqual(["div", "div", "script", "script", "style", "p", "style"]);
    expect(of(code, "html", "attr")).toEqual(["class"]);
    expect(of(code, "html", "kw")).toEqual(["let"]);
    expect(of(code, "html", "prop")).toEqual(["color"]);
  });
  test("CSS selectors, properties, values", () => {
    const code = ".btn:hover { color: #fff; margin: 0 1.5rem !important }";
    expect(of(code, "css", "ty")).toEqual([".btn"]);
    expect(of(code, "css", "attr")).toEqual([":hover"]);
    expect(of(code, "css", "prop")).toEqual(["color", "margin"]);
    expect(of(code, "css", "num")).toEqual(["#fff", "0", "1.5rem"]);
    expect(of(code, "css", "kw")).toEqual(["!important"]);
  });
  test("Python: def, class, decorators, triple-quoted strings", () => {
    const code = '@app.route("/")\ndef index(req):\n    """Doc\n    more"""\n    return None  # c\nclass View(Base): pass';
    expect(of(code, "python", "meta")).toEqual(["@app.route"]);
    expect(of(code, "python", "fn")).toEqual(["index"]);
    expect(of(code, "python", "ty")).toEqual(["View", "Base"]);
    expect(of(code, "python", "str")).toContain('"""Doc\n    more"""');
    expect(of(code, "python", "lit")).toEqual(["None"]);
  });
  test("Markdown: headings, emphasis, links, fenced code in its own language", () => {
    const code = "# Title\n\nSome *em*, **bold**, `code` and [a link](https://x.dev).\n\n```ts\nconst a: number = 1;\n```\n- item\n";
    expect(of(code, "markdown", "head")).toEqual(["# Title"]);
    expect(of(code, "markdown", "em")).toEqual(["*em*"]);
    expect(of(code, "markdown", "strong")).toEqual(["**bold**"]);
    expect(of(code, "markdown", "link")).toEqual(["[a link](https://x.dev)"]);
    expect(of(code, "markdown", "kw")).toEqual(["const", "-"]);
    expect(of(code, "markdown", "meta")).toEqual(["```ts\n", "```"]);
  });
  test("shell: commands, options, variables, strings, heredocs", () => {
    const code = 'export NAME=x\nif [ -n "$HOME" ]; then ls -la | grep "$(whoami)"; fi\ncat <<EOF\n$not_a_var\nEOF\n';
    expect(of(code, "shell", "kw")).toEqual(["export", "if", "then", "fi"]);
    expect(of(code, "shell", "fn")).toEqual(["ls", "grep", "whoami", "cat"]);
    expect(of(code, "shell", "var")).toEqual(["NAME", "$HOME"]);
    expect(of(code, "shell", "attr")).toEqual(["-n", "-la"]);
    expect(of(code, "shell", "str").join("")).toContain("$not_a_var\n");
  });
  test("Dockerfile instructions", () => {
    expect(of("FROM oven/bun:1\nRUN bun install\n", "dockerfile", "kw")).toEqual(["FROM", "RUN"]);
  });
  test("Go and Rust", () => {
    expect(of("func main() { s := `raw\nx`; fmt.Println(nil) }", "go", "str")).toEqual(["`raw\nx`"]);
    expect(of("func main() {}", "go", "fn")).toEqual(["main"]);
    const rs = '#[derive(Debug)]\nfn f<\'a>(x: &\'a str) -> Option<u8> { println!("{}", \'c\'); r#"raw"# }';
    expect(of(rs, "rust", "meta")).toEqual(["#[derive(Debug)]", "println!"]);
    expect(of(rs, "rust", "var")).toEqual(["'a", "'a"]);
    expect(of(rs, "rust", "str")).toEqual(['"{}"', "'c'", 'r#"raw"#']);
  });
  test("YAML keys, scalars, comments", () => {
    const code = "name: ci\non:\n  push:\n    branches: [main]\nretries: 3\nenabled: true # yes\n";
    expect(of(code, "yaml", "key")).toEqual(["name", "on", "push", "branches", "retries", "enabled"]);
    expect(of(code, "yaml", "num")).toEqual(["3"]);
    expect(of(code, "yaml", "lit")).toEqual(["true"]);
    expect(of(code, "yaml", "com")).toEqual(["# yes"]);
  });
  test("TOML tables, keys, values", () => {
    const code = '[package]\nname = "wove"\nversion = 1\n[[bin]]\nreleased = 2024-01-02\n';
    expect(of(code, detectLanguage("Cargo.toml"), "ty")).toEqual(["[package]", "[[bin]]"]);
    expect(of(code, "ini", "key")).toEqual(["name", "version", "released"]);
    expect(of(code, "ini", "num")).toEqual(["1", "2024-01-02"]);
  });
  test("SQL is case-insensitive", () => {
    const code = "select count(*) FROM users u WHERE u.name = 'O''Brien' -- c\nCREATE TABLE t (id integer);";
    expect(of(code, "sql", "kw")).toEqual(["select", "FROM", "WHERE", "CREATE", "TABLE"]);
    expect(of(code, "sql", "fn")).toEqual(["count"]);
    expect(of(code, "sql", "str")).toEqual(["'O''Brien'"]);
    expect(of(code, "sql", "ty")).toEqual(["integer"]);
  });
});

describe("robustness", () => {
  test("every grammar terminates on odd input and keeps every character", () => {
    const junk = ["", "\u0000\uffff", "`${", "<<<", "/*", '"\\', "#[", "```", "a:\n  - b: [", "[[", "'''", "${{{{", "<script>", "))))(((("];
    for (const lang of ["javascript", "json", "html", "css", "python", "markdown", "shell", "go", "rust", "c", "yaml", "ini", "sql"]) {
      for (const j of junk) {
        const code = j.repeat(3);
        expect(tokenize(code, lang).map((t) => t.text).join("")).toBe(code);
      }
    }
  });
  test("deep nesting does not overflow", () => {
    const code = "{".repeat(10_000) + "`${".repeat(1000);
    expect(tokenize(code, "javascript").map((t) => t.text).join("")).toBe(code);
  });
  test("language helpers", () => {
    expect(canHighlight("typescript")).toBe(true);
    expect(canHighlight("plaintext")).toBe(false);
    expect(languageLabel("typescript")).toBe("TypeScript");
    expect(languageLabel("ruby")).toBe("Ruby");
  });
});
