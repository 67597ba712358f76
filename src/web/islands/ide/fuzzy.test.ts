import { describe, expect, test } from "bun:test";
import { fuzzyScore, rankPaths } from "./fuzzy.ts";
import { comboLabel, matches, SHORTCUTS } from "./shortcut-list.ts";

const rank = (q: string, paths: string[]) => rankPaths(q, paths).map((r) => r.path);

describe("fuzzy file finder scoring", () => {
  test("characters must appear in order; case does not matter", () => {
    expect(fuzzyScore("abc", "a/b/c.txt")).not.toBeNull();
    expect(fuzzyScore("ABC", "a/b/c.txt")).not.toBeNull();
    expect(fuzzyScore("cba", "a/b/c.txt")).toBeNull();
    expect(fuzzyScore("abcd", "abc")).toBeNull();
    expect(fuzzyScore("", "anything")).toEqual({ score: 0, positions: [] });
  });

  test("positions point at the matched characters, preferring a consecutive run", () => {
    const m = fuzzyScore("main", "src/main.ts");
    expect(m?.positions).toEqual([4, 5, 6, 7]);
    const spaced = fuzzyScore("ab", "a_x/ab.md");
    expect(spaced?.positions).toEqual([4, 5]);
  });

  test("a consecutive match beats a scattered one", () => {
    expect(rank("util", ["src/u/t/i/l.ts", "src/util.ts"])).toEqual(["src/util.ts", "src/u/t/i/l.ts"]);
  });

  test("word starts beat the middle of words", () => {
    // "fb" hits the starts of foo and bar in the first path, the middle of words in the second.
    expect(rank("fb", ["src/xfxb.ts", "src/foo-bar.ts"])[0]).toBe("src/foo-bar.ts");
    // camelCase steps count as word starts
    expect(rank("gu", ["src/gaugeu.ts", "src/getUser.ts"])[0]).toBe("src/getUser.ts");
  });

  test("the file name counts more than folder names; shorter paths win ties", () => {
    expect(rank("app", ["app/server/index.ts", "web/app.ts"])[0]).toBe("web/app.ts");
    expect(rank("read", ["docs/README.md", "README.md"])[0]).toBe("README.md");
  });

  test("spaces in the query are ignored and the list is capped", () => {
    expect(fuzzyScore("pa ge", "pages.tsx")).not.toBeNull();
    const many = Array.from({ length: 200 }, (_, i) => `f${i}.txt`);
    expect(rankPaths("f", many, 50)).toHaveLength(50);
  });
});

describe("shortcut list", () => {
  const ev = (key: string, o: Partial<KeyboardEvent> = {}) => ({ key, code: "", ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...o });
  const quickOpen = SHORTCUTS.find((s) => s.id === "quick-open")?.combos[0];

  test("Ctrl on Linux, Cmd on macOS", () => {
    if (!quickOpen) throw new Error("quick-open shortcut missing");
    expect(matches(quickOpen, ev("p", { ctrlKey: true }), false)).toBe(true);
    expect(matches(quickOpen, ev("p", { ctrlKey: true }), true)).toBe(false);
    expect(matches(quickOpen, ev("p", { metaKey: true }), true)).toBe(true);
    expect(matches(quickOpen, ev("p", { ctrlKey: true, shiftKey: true }), false)).toBe(false);
    expect(comboLabel(quickOpen)).toBe("Ctrl+P");
    expect(comboLabel(quickOpen, true)).toBe("⌘P");
  });

  test("Alt combinations match by physical key when the layout changes the character", () => {
    const close = SHORTCUTS.find((s) => s.id === "close-tab")?.combos[0];
    if (!close) throw new Error("close-tab shortcut missing");
    expect(matches(close, ev("∑", { altKey: true, code: "KeyW" }), true)).toBe(true);
    expect(matches(close, ev("w"), false)).toBe(false);
  });

  test("? matches with or without Shift", () => {
    const help = SHORTCUTS.find((s) => s.id === "help")?.combos[0];
    if (!help) throw new Error("help shortcut missing");
    expect(matches(help, ev("?", { shiftKey: true }), false)).toBe(true);
    expect(matches(help, ev("?"), false)).toBe(true);
  });
});
