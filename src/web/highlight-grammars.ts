/**
 * Grammars for src/web/highlight.ts: JS/TS, JSON, HTML/XML, CSS/SCSS/Less, Python, Markdown,
 * shell (and Dockerfile), Go, Rust, C-family, YAML, TOML/INI and SQL. Each is a set of states
 * of ordered rules; the first rule that matches at the current position wins.
 */
import type { Cls, Grammar, LexCtx, Rule } from "./highlight.ts";

const words = (s: string) => new Set(s.split(/\s+/).filter(Boolean));
const WS: Rule = { re: /\s+/ };

// Shared pieces -------------------------------------------------------------------------------

const dq: Rule = { re: /"(?:\\.|[^"\\\n])*"?/, cls: "str" };
const sq: Rule = { re: /'(?:\\.|[^'\\\n])*'?/, cls: "str" };
const lineComment: Rule = { re: /\/\/.*/, cls: "com" };
const blockComment: Rule = { re: /\/\*[\s\S]*?(?:\*\/|$)/, cls: "com" };
const hashComment: Rule = { re: /#.*/, cls: "com" };
const cNumber: Rule = {
  re: /(?:0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)[a-zA-Z\d]*/,
  cls: "num",
};
const operators: Rule = { re: /[+\-*/%=&|^~<>!?:]+/, cls: "op" };
const punctuation: Rule = { re: /[()[\];,.@#\\]/, cls: "punc" };
const braceOpen: Rule = { re: /\{/, cls: "punc", push: "root" };
const braceClose: Rule = { re: /\}/, cls: "punc", pop: true };

/** Classifies an identifier: keyword, literal, type, function (name followed by "("), or plain. */
function identifier(o: { kw: Set<string>; lit?: Set<string>; types?: Set<string>; fnAfter?: Set<string>; tyAfter?: Set<string> }) {
  return (w: string, ctx: LexCtx, end: number): Cls | null => {
    const call = ctx.nextChar(end) === "(";
    if (ctx.prev === "." || ctx.prev === "?.") return call ? "fn" : "prop";
    if (o.kw.has(w)) return "kw";
    if (o.lit?.has(w)) return "lit";
    if (o.types?.has(w)) return "ty";
    if (o.fnAfter?.has(ctx.prev)) return "fn";
    if (o.tyAfter?.has(ctx.prev)) return "ty";
    if (call) return "fn";
    if (/^[A-Z][A-Za-z0-9_]*[a-z]/.test(w)) return "ty";
    return null;
  };
}

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

// Python ----------------------------------------------------------------------------------------

const PY_KW = words(`and as assert async await break class continue def del elif else except finally for from global if import
  in is lambda nonlocal not or pass raise return try while with yield match case type`);
const PY_LIT = words("True False None self cls");
const PY_BUILTINS = words("int str float bool list dict set tuple bytes object type");
const python: Grammar = {
  states: {
    root: [
      WS,
      hashComment,
      { re: /[rRbBuUfF]{0,2}("""|''')[\s\S]*?(?:\1|$)/, cls: "str" },
      { re: /[rRbBuUfF]{0,2}"(?:\\.|[^"\\\n])*"?/, cls: "str" },
      { re: /[rRbBuUfF]{0,2}'(?:\\.|[^'\\\n])*'?/, cls: "str" },
      { re: /@[A-Za-z_][\w.]*/, cls: "meta", when: (ctx, pos) => ctx.atLineStart(pos) },
      cNumber,
      { re: /[A-Za-z_]\w*/, cls: identifier({ kw: PY_KW, lit: PY_LIT, types: PY_BUILTINS, fnAfter: words("def"), tyAfter: words("class") }) },
      operators,
      { re: /[()[\]{};,.]/, cls: "punc" },
    ],
  },
};

// Shell and Dockerfile ------------------------------------------------------------------------

const SH_KW = words(`if then else elif fi for while until do done case esac in function select return exit break continue
  export local readonly declare unset shift source alias set trap eval exec time`);
const DOCKER_KW = words(`FROM RUN CMD LABEL EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER WORKDIR ARG ONBUILD STOPSIGNAL
  HEALTHCHECK SHELL MAINTAINER AS`);
const COMMAND_AFTER = new Set(["", ";", "|", "||", "&&", "&", "(", "$(", "`", "then", "do", "else", "elif", "if", "while", "until", "!", "{"]);
const ASSIGN_AFTER = words("export local readonly declare ENV ARG");
const shVar: Rule = { re: /\$\{[^}\n]*\}?|\$[A-Za-z_]\w*|\$[@*#?$!0-9-]/, cls: "var" };
const shell: Grammar = {
  states: {
    root: [
      WS,
      { re: /#.*/, cls: "com" },
      { re: /(<<-?)(\s*)(['"]?)([A-Za-z_]\w*)(\3)([^\n]*\n)/, groups: ["op", null, "str", "str", "str", null], embed: (m) => ({ lang: null, cls: "str", end: new RegExp(`^[ \\t]*${m[4]}[ \\t]*$`, "m"), endCls: "str" }) },
      { re: /'[^']*'?/, cls: "str" },
      { re: /"/, cls: "str", push: "dq" },
      { re: /\$\(\(?/, cls: "punc", push: "root" },
      shVar,
      { re: /`[^`]*`?/, cls: "var" },
      { re: /([A-Za-z_]\w*)(\+?=)/, groups: ["var", "op"], when: (ctx) => COMMAND_AFTER.has(ctx.prev) || ASSIGN_AFTER.has(ctx.prev) || ctx.prevCls === "var" || ctx.prevCls === "str" },
      {
        re: /[\w./,:@%+=~-][^\s$"'`;|&<>(){}\\]*/,
        cls: (w, ctx, end) => {
          const start = end - w.length;
          if (DOCKER_KW.has(w) && ctx.atLineStart(start)) return "kw";
          if (SH_KW.has(w) && (COMMAND_AFTER.has(ctx.prev) || ctx.atLineStart(start) || w === "in")) return "kw";
          if (/^-{1,2}[A-Za-z]/.test(w)) return "attr";
          if (/^\d+$/.test(w)) return "num";
          if (COMMAND_AFTER.has(ctx.prev) || ctx.atLineStart(start)) return "fn";
          return null;
        },
      },
      { re: /\(/, cls: "punc", push: "root" },
      { re: /\)/, cls: "punc", pop: true },
      { re: /&&|\|\||[|&;<>]+|[{}!]/, cls: "op" },
      { re: /\\./, cls: "esc" },
    ],
    dq: [
      { re: /\\./, cls: "esc" },
      { re: /\$\(\(?/, cls: "punc", push: "root" },
      shVar,
      { re: /"/, cls: "str", pop: true },
      { re: /[^"\\$]+|\$/, cls: "str" },
    ],
  },
};

// C family: Go, Rust, C/C++/Java/C#/Kotlin/Swift -------------------------------------------------

function clike(o: { kw: string; lit: string; types: string; extra?: Rule[]; strings?: Rule[] }): Grammar {
  const id = identifier({ kw: words(o.kw), lit: words(o.lit), types: words(o.types), fnAfter: words("fn func def fun"), tyAfter: words("struct enum class trait impl interface type new") });
  return {
    states: {
      root: [
        WS,
        lineComment,
        blockComment,
        ...(o.extra ?? []),
        ...(o.strings ?? [dq, sq]),
        cNumber,
        { re: /[A-Za-z_]\w*/, cls: id },
        braceOpen,
        braceClose,
        operators,
        punctuation,
      ],
    },
  };
}

const go = clike({
  kw: `break case chan const continue default defer else fallthrough for func go goto if import interface map package range
    return select struct switch type var`,
  lit: "true false nil iota",
  types: "bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64 rune string uint uint8 uint16 uint32 uint64 uintptr any",
  strings: [dq, { re: /'(?:\\.|[^'\\\n])*'?/, cls: "str" }, { re: /`[^`]*`?/, cls: "str" }],
});

const rust = clike({
  kw: `as async await break const continue crate dyn else enum extern fn for if impl in let loop match mod move mut pub ref
    return static struct super trait type unsafe use where while yield`,
  lit: "true false self Self None Some Ok Err",
  types: "i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64 bool char str String Vec Option Result Box",
  extra: [
    { re: /#!?\[[^\]\n]*\]?/, cls: "meta" },
    { re: /[A-Za-z_]\w*!(?=\s*[([{])/, cls: "meta" },
    { re: /b?r(#*)"[\s\S]*?(?:"\1|$)/, cls: "str" },
    { re: /b?"(?:\\.|[^"\\])*"?/, cls: "str" },
    { re: /b?'(?:\\(?:x[\da-fA-F]{2}|u\{[\da-fA-F]{1,6}\}|.)|[^\\'\n])'/, cls: "str" },
    { re: /'[A-Za-z_]\w*/, cls: "var" },
  ],
  strings: [],
});

const cfamily = clike({
  kw: `auto break case catch class const constexpr continue default delete do else enum explicit export extern final for
    friend goto if import inline namespace new noexcept operator override private protected public register return sizeof
    static struct switch template this throw try typedef typename union using virtual volatile while abstract extends
    implements instanceof interface package super synchronized throws transient assert var val fun when object companion
    data sealed internal open lateinit by is in out let func guard defer where async await yield lock readonly sealed
    async get set init`,
  lit: "true false null nullptr NULL nil this self",
  types: "void int long short char float double bool boolean byte signed unsigned size_t string String Int Long Double Float Boolean",
  extra: [
    { re: /#\s*(?:include|define|undef|if|ifdef|ifndef|elif|else|endif|pragma|error|warning|import)\b[^\n]*/, cls: "meta" },
    { re: /@[A-Za-z_]\w*/, cls: "meta" },
  ],
});

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

// SQL -----------------------------------------------------------------------------------------

const SQL_KW = words(`select from where and or not insert into values update set delete create table index view trigger drop
  alter add column primary key foreign references unique check default constraint on join inner left right full outer cross
  natural using group by order having limit offset union all distinct as case when then else end in is like glob between
  exists begin commit rollback transaction savepoint release with recursive returning if replace conflict do nothing abort
  asc desc collate nocase autoincrement without rowid explain analyze vacuum pragma attach detach cascade restrict
  temporary temp virtual materialized grant revoke schema database truncate fetch first next rows only over partition
  window filter lateral escape intersect except`);
const SQL_TYPES = words(`int integer bigint smallint tinyint real double float numeric decimal text varchar char blob boolean
  date time timestamp timestamptz datetime json jsonb uuid serial bigserial bytea`);
/** After these keywords a name followed by "(" is a table, not a function call. */
const SQL_NAME_AFTER = words("table into index view exists from join update trigger references on");
const sql: Grammar = {
  states: {
    root: [
      WS,
      { re: /--.*/, cls: "com" },
      blockComment,
      { re: /[xX]?'(?:''|[^'])*'?/, cls: "str" },
      { re: /"(?:""|[^"])*"?|`[^`]*`?|\[[^\]\n]*\]/, cls: "prop" },
      { re: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/, cls: "num" },
      { re: /[@:$][A-Za-z_]\w*|\$\d+|\?\d*/, cls: "var" },
      {
        re: /[A-Za-z_]\w*/,
        cls: (w, ctx, end) => {
          const l = w.toLowerCase();
          if (ctx.prev === ".") return "prop";
          if (l === "null" || l === "true" || l === "false") return "lit";
          if (SQL_KW.has(l)) return "kw";
          if (SQL_TYPES.has(l)) return "ty";
          if (ctx.nextChar(end) === "(" && !SQL_NAME_AFTER.has(ctx.prev.toLowerCase())) return "fn";
          return null;
        },
      },
      { re: /[+\-*/%=<>!|&~^]+/, cls: "op" },
      { re: /[(),;.]/, cls: "punc" },
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
