import { describe, expect, test } from "bun:test";
import { ApiError } from "../lib/errors.ts";
import { compileRegex, literalPrefilter, regexPrefilter } from "./regex.ts";
import { matchItems, RegexTimeout } from "./regex-worker.ts";

describe("regexPrefilter: the literals every match needs, as trigram queries", () => {
  const g = (s: string) => `"${s}"`;
  const cases: [string, string | null][] = [
    ["useState", g("useState")],
    ["eval\\(", g("eval(")],
    ["foo(Bar|Baz)\\d+", `(${g("fooBar")}) OR (${g("fooBaz")})`],
    ["fo[oO]bar", `(${g("foobar")}) OR (${g("foObar")})`],
    ["ev.l\\(x\\)", g("l(x)")],
    ["\\w+", null],
    ["a.*b", null],
    ["(abc)?def", `(${g("abcdef")}) OR (${g("def")})`],
    ["(?:hello|wo)rld", `(${g("hellorld")}) OR (${g("world")})`],
    ["(?=abc)xyz", g("xyz")],
    ["[^abc]+def", g("def")],
    ["x{2,}yz", null],
    ["(foo)+bar", `(${g("foo")}) AND (${g("bar")})`],
    ["import .* from \"react\"", `(${g("import ")}) AND (${g(' from ""react""')})`],
  ];
  for (const [re, want] of cases) test(re, () => expect(regexPrefilter(re)).toBe(want));
  test("a literal is one phrase; quotes are doubled; under three characters there is none", () => {
    expect(literalPrefilter("ab")).toBeNull();
    expect(literalPrefilter('say "hi"')).toBe('"say ""hi"""');
  });
  test("a pattern the reader cannot follow gives no prefilter rather than a wrong one", () => expect(regexPrefilter("abc)def(")).toBeNull());
});

describe("compileRegex", () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as ApiError;
    }
    throw new Error("expected an error");
  };
  test("invalid syntax is a 422 with the engine's reason", () => {
    const e = err(() => compileRegex("foo(", false));
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/Invalid regular expression/);
  });
  test("backreferences are refused", () => expect(err(() => compileRegex("(a)\\1", false)).status).toBe(422));
  test("a pattern matching the empty string is refused with a reason", () => expect(err(() => compileRegex("a*", false)).message).toMatch(/empty string/));
  test("flags: case-insensitive by default, u when the pattern allows it", () => {
    expect(compileRegex("foo", false).flags).toBe("gmiu");
    expect(compileRegex("foo", true).flags).toBe("gmu");
    expect(compileRegex("a\\-b", true).flags).toBe("gm"); // \- is only valid without u
  });
});

describe("matchItems: regexes run in a worker", () => {
  test("offsets per item", async () => {
    const r = await matchItems("b+", "gmu", [
      { key: 1, text: "abbc bb" },
      { key: 2, text: "none" },
    ]);
    expect(r.get(1)).toEqual([1, 3, 5, 7]);
    expect(r.has(2)).toBe(false);
  });
  test("catastrophic backtracking is stopped with a 422 and the server stays responsive", async () => {
    const started = performance.now();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const e = await matchItems("^(a+)+$", "gmu", [{ key: 1, text: `${"a".repeat(40)}b` }]).catch((x: unknown) => x);
    clearInterval(timer);
    expect(e).toBeInstanceOf(RegexTimeout);
    expect((e as RegexTimeout).status).toBe(422);
    expect(performance.now() - started).toBeLessThan(2500);
    expect(ticks).toBeGreaterThan(50); // the event loop kept running meanwhile
    // The pool recovers: the next search works.
    expect((await matchItems("x", "g", [{ key: 7, text: "axb" }])).get(7)).toEqual([1, 2]);
  });
});
