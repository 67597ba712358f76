import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { countTokens, fitLines, MESSAGE_OVERHEAD, messageTokens, promptTokens } from "./tokens.ts";

/**
 * The estimate as first written: cl100k's piece expression, then each piece tested by its
 * shape. countTokens walks the text by hand instead (several times faster); it must agree.
 */
function byExpression(text: string): number {
  const PIECE = /'(?:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/giu;
  const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/u;
  const long = (n: number) => (n === 0 ? 0 : n <= 7 ? 1 : 1 + Math.ceil((n - 7) / 4));
  const letters = (word: string) => {
    if (/^[A-Za-z]+$/.test(word)) return long(word.length);
    let ascii = 0;
    let other = 0;
    for (const ch of word) {
      if (ch.charCodeAt(0) < 0x80) ascii++;
      else other += CJK.test(ch) ? 1 : 0.5;
    }
    return Math.max(1, Math.round(long(ascii) + other));
  };
  let n = 0;
  for (const [piece] of text.matchAll(PIECE)) {
    const word = /^([^\p{L}\p{N}]?)(\p{L}+)$/u.exec(piece);
    if (word) n += letters(word[2] ?? "") + (word[1] !== "" && !/[ ._([{@#$/]/.test(word[1] ?? "") ? 1 : 0);
    else if (/^\p{N}+$/u.test(piece) || /^\s+$/.test(piece)) n += 1;
    else {
      const core = piece.replace(/^ /, "").replace(/[\r\n]+$/, "");
      let ascii = 0;
      let other = 0;
      for (const ch of core) ch.charCodeAt(0) < 0x80 ? ascii++ : other++;
      n += Math.max(1, Math.ceil(ascii / 3) + other);
    }
  }
  return n;
}

describe("countTokens (a BPE-shaped estimate)", () => {
  // Reference counts from cl100k_base / o200k_base (gpt-tokenizer 3.4), measured once.
  const cases: [string, string, number, number][] = [
    ["a short English sentence", "The quick brown fox jumps over the lazy dog.", 10, 10],
    ["Python", "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n", 42, 42],
    ["TypeScript", 'export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}\n', 20, 19],
    ["German", "Die Würde des Menschen ist unantastbar. Sie zu achten und zu schützen ist Verpflichtung aller staatlichen Gewalt.", 32, 25],
    ["Chinese", "人人生而自由，在尊严和权利上一律平等。", 21, 15],
  ];
  for (const [name, text, cl100k, o200k] of cases) {
    test(`${name}: within 25 % of the real tokenizers`, () => {
      const n = countTokens(text);
      expect(n).toBeGreaterThanOrEqual(Math.floor(Math.min(cl100k, o200k) * 0.75));
      expect(n).toBeLessThanOrEqual(Math.ceil(Math.max(cl100k, o200k) * 1.25));
    });
  }

  test("nothing costs nothing; more text never costs less", () => {
    expect(countTokens("")).toBe(0);
    let previous = 0;
    for (let i = 1; i < 40; i++) {
      const n = countTokens("const value = compute(42);\n".repeat(i));
      expect(n).toBeGreaterThan(previous);
      previous = n;
    }
  });

  test("long identifiers and numbers are several tokens, not one", () => {
    expect(countTokens("internationalizationConfigurationProvider")).toBeGreaterThan(3);
    expect(countTokens("1234567890")).toBe(4);
  });

  test("counts exactly what the piece expression counts: Wove's sources, and odd text", () => {
    for (const name of readdirSync(import.meta.dir)) {
      const text = readFileSync(join(import.meta.dir, name), "utf8");
      expect(countTokens(text)).toBe(byExpression(text));
    }
    // Contractions (any case, ſ folding to s), line breaks of every kind, wide and astral characters, marks.
    const alphabet = ["a", "Z", "s", "S", "'", "ſ", "l", "L", "v", "e", "R", "d", "m", "t", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u2028", "\u3000", "\ufeff", "1", "23", "٣", "²", ".", "_", "(", "@", "$", "/", "-", "=", "é", "ß", "Ж", "人", "ア", "한", "😀", "𝐀", "\u0301", "\u001c", "\u0085", "`", "!"];
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let k = 0; k < 20_000; k++) {
      let text = "";
      for (let j = Math.floor(next() * 12); j >= 0; j--) text += alphabet[Math.floor(next() * alphabet.length)];
      if (countTokens(text) !== byExpression(text)) expect(`${JSON.stringify(text)}: ${countTokens(text)}`).toBe(`${JSON.stringify(text)}: ${byExpression(text)}`);
    }
  });

  test("with a limit, counting stops soon after it; under the limit the count is exact", () => {
    const big = "const value = compute(42);\n".repeat(100_000);
    const n = countTokens(big, 100);
    expect(n).toBeGreaterThan(100);
    expect(n).toBeLessThan(120);
    const small = "const value = compute(42);\n".repeat(3);
    expect(countTokens(small, 1000)).toBe(countTokens(small));
  });

  test("messages add their role markers", () => {
    expect(messageTokens({ content: "hello" })).toBe(countTokens("hello") + MESSAGE_OVERHEAD);
    expect(promptTokens([{ content: "a" }, { content: "b" }])).toBe(2 * (1 + MESSAGE_OVERHEAD));
  });
});

describe("fitLines", () => {
  const text = Array.from({ length: 50 }, (_, i) => `line number ${i + 1}`).join("\n");

  test("whole lines from the start (or the end) within the budget", () => {
    const head = fitLines(text, 40);
    expect(head.cut).toBe(true);
    expect(head.tokens).toBeLessThanOrEqual(40);
    expect(head.text.startsWith("line number 1\n")).toBe(true);
    expect(head.text.endsWith("\n")).toBe(false);
    const tail = fitLines(text, 40, true);
    expect(tail.text.endsWith("line number 50")).toBe(true);
  });

  test("text that fits comes back unchanged", () => {
    expect(fitLines(text, 10_000)).toEqual({ text, tokens: countTokens(text), cut: false });
  });

  test("one line longer than the budget is cut inside", () => {
    const r = fitLines("x".repeat(10_000), 10);
    expect(r.cut).toBe(true);
    expect(r.text.length).toBe(30);
  });
});
