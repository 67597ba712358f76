/**
 * Building blocks shared by the grammars of src/web/highlight.ts: common rules
 * (whitespace, strings, comments, numbers, operators) and an identifier classifier.
 */
import type { Cls, LexCtx, Rule } from "./highlight.ts";

export const words = (s: string) => new Set(s.split(/\s+/).filter(Boolean));
export const WS: Rule = { re: /\s+/ };

// Common rules -------------------------------------------------------------------------------

export const dq: Rule = { re: /"(?:\\.|[^"\\\n])*"?/, cls: "str" };
export const sq: Rule = { re: /'(?:\\.|[^'\\\n])*'?/, cls: "str" };
export const lineComment: Rule = { re: /\/\/.*/, cls: "com" };
export const blockComment: Rule = { re: /\/\*[\s\S]*?(?:\*\/|$)/, cls: "com" };
export const hashComment: Rule = { re: /#.*/, cls: "com" };
export const cNumber: Rule = {
  re: /(?:0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)[a-zA-Z\d]*/,
  cls: "num",
};
export const operators: Rule = { re: /[+\-*/%=&|^~<>!?:]+/, cls: "op" };
export const punctuation: Rule = { re: /[()[\];,.@#\\]/, cls: "punc" };
export const braceOpen: Rule = { re: /\{/, cls: "punc", push: "root" };
export const braceClose: Rule = { re: /\}/, cls: "punc", pop: true };

/** Classifies an identifier: keyword, literal, type, function (name followed by "("), or plain. */
export function identifier(o: { kw: Set<string>; lit?: Set<string>; types?: Set<string>; fnAfter?: Set<string>; tyAfter?: Set<string> }) {
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

