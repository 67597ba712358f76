import { describe, expect, test } from "bun:test";
import { countTokens, fitLines, MESSAGE_OVERHEAD, messageTokens, promptTokens } from "./tokens.ts";

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
