/**
 * Grammars for programming languages beyond the web stack: Python, shell (and Dockerfile),
 * the C family (Go, Rust, C/C++/Java/C#/Kotlin/Swift) and SQL.
 */
import type { Grammar, Rule } from "./highlight.ts";
import { words, WS, dq, sq, lineComment, blockComment, hashComment, cNumber, operators, punctuation, braceOpen, braceClose, identifier } from "./highlight-rules.ts";

// Python ----------------------------------------------------------------------------------------

const PY_KW = words(`and as assert async await break class continue def del elif else except finally for from global if import
  in is lambda nonlocal not or pass raise return try while with yield match case type`);
const PY_LIT = words("True False None self cls");
const PY_BUILTINS = words("int str float bool list dict set tuple bytes object type");
export const python: Grammar = {
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
export const shell: Grammar = {
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

export const go = clike({
  kw: `break case chan const continue default defer else fallthrough for func go goto if import interface map package range
    return select struct switch type var`,
  lit: "true false nil iota",
  types: "bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64 rune string uint uint8 uint16 uint32 uint64 uintptr any",
  strings: [dq, { re: /'(?:\\.|[^'\\\n])*'?/, cls: "str" }, { re: /`[^`]*`?/, cls: "str" }],
});

export const rust = clike({
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

export const cfamily = clike({
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
export const sql: Grammar = {
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

