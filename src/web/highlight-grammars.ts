/**
 * The grammars of src/web/highlight.ts and the names they answer to. This file holds the web
 * and data languages (JS/TS, JSON, HTML/XML, CSS/SCSS/Less, Markdown, YAML, TOML/INI);
 * ./highlight-grammars-code.ts the programming languages. Each grammar is a set of states of
 * ordered rules; the first rule that matches at the current position wins.
 */
import type { Grammar, LexCtx, Rule } from "./highlight.ts";
import { words, WS, dq, sq, lineComment, blockComment, cNumber, braceOpen, braceClose, identifier } from "./highlight-rules.ts";
import { cfamily, go, python, rust, shell, sql } from "./highlight-grammars-code.ts";

// JavaScript / TypeScript -----------------------------------------------------------------------

const JS_KW = words(`break case catch class const continue debugger default delete do else enum export extends finally for
  from function if import in instanceof let new of return static switch throw try typeof var void while with yield async await
  as implements interface package private protected public readonly type declare namespace module abstract keyof infer is
  satisfies get set override accessor`);
const JS_LIT = words("true false null undefined NaN Infinity this super");
const JS_TYPES = words("string number boolean any unknown never object symbol bigint");
// A "/" starts a regex literal unless it follows something that ends an expression.
const REGEX_AFTER_WORD = words("return typeof instanceof in of new delete void throw case do else yield await");
function regexAllowed(ctx: LexCtx): boolean {
  if (ctx.prev === "") return true;
  if (ctx.prevCls === "kw") return REGEX_AFTER_WORD.has(ctx.prev);
  if (ctx.prevCls === "op") return true;
  return ctx.prevCls === "punc" && !/[)\]}]$/.test(ctx.prev);
}

const javascript: Grammar = {
  states: {
    root: [
      WS,
      lineComment,
      blockComment,
      { re: /`/, cls: "str", push: "template" },
      dq,
      sq,
      { re: /\/(?![*/])(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n[])+\/[dgimsuyv]*/, cls: "re", when: regexAllowed },
      cNumber,
      { re: /@[A-Za-z_$][\w$]*/, cls: "meta" },
      { re: /#?[A-Za-z_$][\w$]*/, cls: identifier({ kw: JS_KW, lit: JS_LIT, types: JS_TYPES, fnAfter: words("function"), tyAfter: words("class extends implements interface type new enum") }) },
      braceOpen,
      braceClose,
      { re: /=>|\?\.|\.\.\.|[+\-*/%=&|^~<>!?:]+/, cls: "op" },
      { re: /[()[\];,.]/, cls: "punc" },
    ],
    template: [
      { re: /\\[\s\S]/, cls: "esc" },
      { re: /\$\{/, cls: "punc", push: "root" },
      { re: /`/, cls: "str", pop: true },
      { re: /[^`\\$]+|\$/, cls: "str" },
    ],
  },
};

// JSON ----------------------------------------------------------------------------------------

const json: Grammar = {
  states: {
    root: [
      WS,
      lineComment,
      blockComment,
      { re: /"(?:\\.|[^"\\\n])*"?(?=\s*:)/, cls: "key" },
      dq,
      { re: /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/, cls: "num" },
      { re: /\b(?:true|false|null)\b/, cls: "lit" },
      { re: /[{}[\],:]/, cls: "punc" },
    ],
  },
};

// HTML / XML ----------------------------------------------------------------------------------

const tagInside = (onClose: Rule): Rule[] => [
  WS,
  onClose,
  { re: /[^\s"'>/=]+/, cls: (_w, ctx) => (ctx.prev === "=" ? "str" : "attr") },
  { re: /=/, cls: "punc" },
  { re: /"[^"]*"?|'[^']*'?/, cls: "str" },
  { re: /\//, cls: "punc" },
];
const closeTag: Rule = { re: /\/?>/, cls: "punc", pop: true };

const html: Grammar = {
  states: {
    root: [
      { re: /<!--[\s\S]*?(?:-->|$)/, cls: "com" },
      { re: /<!\[CDATA\[[\s\S]*?(?:\]\]>|$)/, cls: "str" },
      { re: /<![A-Za-z][^>]*>?/, cls: "meta" },
      { re: /<\?[\s\S]*?(?:\?>|$)/, cls: "meta" },
      { re: /(<)(script)(?=[\s>/])/i, groups: ["punc", "tag"], push: "scriptTag" },
      { re: /(<)(style)(?=[\s>/])/i, groups: ["punc", "tag"], push: "styleTag" },
      { re: /(<\/?)([A-Za-z][\w:.-]*)/, groups: ["punc", "tag"], push: "tag" },
      { re: /&(?:#\d+|#x[\da-fA-F]+|\w+);/, cls: "esc" },
      { re: /[^<&]+/ },
    ],
    tag: tagInside(closeTag),
    scriptTag: tagInside({ re: />/, cls: "punc", pop: true, embed: () => ({ lang: "javascript", end: /<\/script/i, keepEnd: true }) }),
    styleTag: tagInside({ re: />/, cls: "punc", pop: true, embed: () => ({ lang: "css", end: /<\/style/i, keepEnd: true }) }),
  },
};

// CSS / SCSS / Less ---------------------------------------------------------------------------

const cssValue: Rule[] = [
  { re: /!important\b/i, cls: "kw" },
  { re: /(url)(\()([^)"']*)(\))/i, groups: ["fn", "punc", "str", "punc"] },
  { re: /#[\da-fA-F]{3,8}\b/, cls: "num" },
  { re: /-?(?:\d+\.?\d*|\.\d+)(?:%|[A-Za-z]+)?/, cls: "num" },
  dq,
  sq,
  { re: /[\w-]+(?=\()/, cls: "fn" },
  { re: /\$[\w-]+/, cls: "var" },
];
const css: Grammar = {
  states: {
    root: [
      WS,
      blockComment,
      { re: /\/\/.*/, cls: "com", when: (ctx) => !/\burl\($/.test(ctx.prev) },
      { re: /@[\w-]+/, cls: "kw" },
      dq,
      sq,
      { re: /[.#][\w-]+/, cls: "ty" },
      { re: /::?[\w-]+/, cls: "attr" },
      { re: /\[[^\]\n]*\]?/, cls: "attr" },
      { re: /\{/, cls: "punc", push: "block" },
      { re: /\}/, cls: "punc", pop: true },
      { re: /-?(?:\d+\.?\d*|\.\d+)(?:%|[A-Za-z]+)?/, cls: "num" },
      { re: /\$[\w-]+/, cls: "var" },
      // A property inside a media query: "(max-width: 600px)"; pseudo-classes have no space after ":".
      { re: /(-?[A-Za-z][\w-]*)(\s*)(:)(?=\s)/, groups: ["prop", null, "punc"] },
      { re: /[\w-]+/, cls: "tag" },
      { re: /[,>+~*();:&]/, cls: "punc" },
    ],
    block: [
      WS,
      blockComment,
      { re: /\/\/.*/, cls: "com" },
      { re: /(--[\w-]+|-?[A-Za-z][\w-]*)(\s*)(:)(?![^;{}]*\{)/, groups: ["prop", null, "punc"] },
      { re: /(\$[\w-]+)(\s*)(:)/, groups: ["var", null, "punc"] },
      { re: /@[\w-]+/, cls: "kw" },
      ...cssValue,
      { re: /&|[.#][\w-]+/, cls: "ty" },
      { re: /::?[\w-]+/, cls: "attr" },
      { re: /\{/, cls: "punc", push: "block" },
      { re: /\}/, cls: "punc", pop: true },
      { re: /[\w-]+/ },
      { re: /[;:,()/*+>~]/, cls: "punc" },
    ],
  },
};

// Markdown ------------------------------------------------------------------------------------

const markdown: Grammar = {
  states: {
    root: [
      {
        re: /^[ \t]*(`{3,}|~{3,})[ \t]*([^\n`]*)\n?/m,
        cls: "meta",
        embed: (m) => {
          const fence = m[1] ?? "```";
          return { lang: (m[2] ?? "").trim().split(/\s+/)[0]?.toLowerCase() ?? "", end: new RegExp(`^[ \\t]*${fence[0]}{${fence.length},}[ \\t]*$`, "m"), endCls: "meta" };
        },
      },
      { re: /^#{1,6}(?:[ \t].*)?$/m, cls: "head" },
      { re: /^(?:={2,}|-{2,})[ \t]*$/m, cls: "head" },
      { re: /^[ \t]*>+/m, cls: "com" },
      { re: /^[ \t]*(?:[-*+]|\d+[.)])(?=[ \t])/m, cls: "kw" },
      { re: /\n|[ \t]+/ },
      { re: /\\./, cls: "esc" },
      { re: /`[^`\n]+`/, cls: "code" },
      { re: /\*\*(?!\s)[^*\n]+\*\*|__(?!\s)[^_\n]+__/, cls: "strong" },
      { re: /\*(?![\s*])[^*\n]+\*|\b_(?![\s_])[^_\n]+_\b/, cls: "em" },
      { re: /!?\[[^\]\n]*\]\([^)\n]*\)|!?\[[^\]\n]*\]\[[^\]\n]*\]|<https?:\/\/[^>\s]+>/, cls: "link" },
      { re: /<\/?[A-Za-z][^>\n]*>/, cls: "tag" },
      { re: /[^\s`*_[!<\\]+/ },
    ],
  },
};

// YAML ----------------------------------------------------------------------------------------

const yaml: Grammar = {
  states: {
    root: [
      WS,
      { re: /#.*/, cls: "com" },
      { re: /^(?:---|\.\.\.)(?=\s|$)/m, cls: "meta" },
      { re: /("(?:\\.|[^"\\\n])*"|'[^'\n]*'|[^\s#'"\-?:,[\]{}][^#\n:]*?|-[^\s#:][^#\n:]*?)(\s*)(:)(?=\s|$)/, groups: ["key", null, "punc"] },
      { re: /[-?](?=\s)/, cls: "punc" },
      dq,
      { re: /'(?:''|[^'])*'?/, cls: "str" },
      { re: /[&*][\w-]+/, cls: "var" },
      { re: /!!?[\w/-]*/, cls: "meta" },
      { re: /[|>][-+]?\d*(?=[ \t]*(?:#.*)?$)/m, cls: "punc" },
      {
        re: /[^\s,[\]{}#][^\s,[\]{}]*/,
        cls: (w) => (/^(?:true|false|yes|no|on|off|null|~)$/i.test(w) ? "lit" : /^[-+]?(?:\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|0x[\da-fA-F]+|\.inf|\.nan)$/i.test(w) ? "num" : null),
      },
      { re: /[[\]{},]/, cls: "punc" },
    ],
  },
};

// TOML / INI ------------------------------------------------------------------------------------

const toml: Grammar = {
  states: {
    root: [
      WS,
      { re: /#.*/, cls: "com" },
      { re: /;.*/, cls: "com", when: (ctx, pos) => ctx.atLineStart(pos) },
      { re: /\[\[?[^\]\n]*\]?\]?/, cls: "ty", when: (ctx, pos) => ctx.atLineStart(pos) },
      { re: /([A-Za-z0-9_.\-"' ]*?[A-Za-z0-9_\-"'])(\s*)(=)/, groups: ["key", null, "op"], when: (ctx, pos) => ctx.atLineStart(pos) || ctx.prev === "{" || ctx.prev === "," },
      { re: /"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)/, cls: "str" },
      dq,
      { re: /'[^'\n]*'?/, cls: "str" },
      { re: /\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?/, cls: "num" },
      { re: /[+-]?(?:0x[\da-fA-F_]+|0o[0-7_]+|0b[01_]+|inf|nan|\d[\d_]*(?:\.[\d_]+)?(?:[eE][+-]?\d+)?)\b/, cls: "num" },
      { re: /\b(?:true|false)\b/, cls: "lit" },
      { re: /[[\]{},.=]/, cls: "punc" },
      { re: /[^\s#;=[\]{},"']+/ },
    ],
  },
};

export const GRAMMARS: Record<string, Grammar> = {
  javascript,
  json,
  html,
  css,
  python,
  shell,
  go,
  rust,
  c: cfamily,
  markdown,
  yaml,
  toml,
  sql,
};

/** Language ids (detectLanguage's and fence names) → grammar names. */
export const LANGUAGE_ALIASES: Record<string, string> = {
  typescript: "javascript", ts: "javascript", tsx: "javascript", js: "javascript", jsx: "javascript", mjs: "javascript",
  cjs: "javascript", mts: "javascript", cts: "javascript",
  jsonc: "json", json5: "json",
  xml: "html", svg: "html", htm: "html", vue: "html", svelte: "html", xhtml: "html",
  scss: "css", sass: "css", less: "css",
  py: "python", python3: "python",
  sh: "shell", bash: "shell", zsh: "shell", console: "shell", dockerfile: "shell", docker: "shell",
  rs: "rust", golang: "go",
  cpp: "c", "c++": "c", h: "c", hpp: "c", java: "c", csharp: "c", cs: "c", kotlin: "c", kt: "c", swift: "c",
  dart: "c", scala: "c", "objective-c": "c",
  md: "markdown", mdx: "markdown",
  yml: "yaml",
  ini: "toml", cfg: "toml", conf: "toml", properties: "toml",
  sqlite: "sql", postgres: "sql", postgresql: "sql", mysql: "sql",
};
