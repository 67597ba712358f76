import { describe, expect, test } from "bun:test";
import { displayPath, highlightFile, parseDiff, splitRows, unquoteC } from "./diff.ts";

/** Real `git diff` output (git 2.39, --src-prefix=a/ --dst-prefix=b/, renames on). */
const SAMPLE = [
  "diff --git a/bin.dat b/bin.dat",
  "old mode 100644",
  "new mode 100755",
  "index bdc955b..8835708",
  "Binary files a/bin.dat and b/bin.dat differ",
  "diff --git a/empty b/empty",
  "new file mode 100644",
  "index 0000000..e69de29",
  "diff --git a/r.txt b/s.txt",
  "similarity index 82%",
  "rename from r.txt",
  "rename to s.txt",
  "index b566061..2019eda 100644",
  "--- a/r.txt",
  "+++ b/s.txt",
  "@@ -4,3 +4,4 @@ three",
  " four",
  " five",
  " six",
  "+seven",
  'diff --git "a/t\\tab.txt" "b/t\\tab.txt"',
  "index cce8b84..0f5ceed 100644",
  '--- "a/t\\tab.txt"',
  '+++ "b/t\\tab.txt"',
  "@@ -1 +1 @@",
  "-tab",
  "\\ No newline at end of file",
  "+tab2",
  "\\ No newline at end of file",
  "diff --git a/x y.txt b/x y.txt",
  "index 422c2b7..817f660 100644",
  "--- a/x y.txt\t",
  "+++ b/x y.txt\t",
  "@@ -1,2 +1,2 @@",
  " a",
  "-b",
  "+c",
  "\\ No newline at end of file",
  "",
].join("\n");

describe("parseDiff", () => {
  const { files } = parseDiff(SAMPLE);

  test("finds every file with its paths and status", () => {
    expect(files.map((f) => [f.status, f.oldPath, f.newPath])).toEqual([
      ["modified", "bin.dat", "bin.dat"],
      ["added", null, "empty"],
      ["renamed", "r.txt", "s.txt"],
      ["modified", "t\tab.txt", "t\tab.txt"],
      ["modified", "x y.txt", "x y.txt"],
    ]);
  });

  test("binary files and mode changes are named, with no hunks", () => {
    const bin = files[0];
    expect(bin).toMatchObject({ binary: true, oldMode: "100644", newMode: "100755", hunks: [] });
    expect(files[1]).toMatchObject({ binary: false, newMode: "100644", hunks: [], additions: 0 });
  });

  test("renames keep the similarity and number lines from the hunk header", () => {
    const r = files[2];
    expect(r?.similarity).toBe(82);
    expect(r?.hunks).toHaveLength(1);
    const h = r?.hunks[0];
    expect(h).toMatchObject({ oldStart: 4, oldLines: 3, newStart: 4, newLines: 4, section: "three" });
    expect(h?.lines.map((l) => [l.kind, l.oldNo, l.newNo, l.text])).toEqual([
      ["context", 4, 4, "four"],
      ["context", 5, 5, "five"],
      ["context", 6, 6, "six"],
      ["add", null, 7, "seven"],
    ]);
    expect([r?.additions, r?.deletions]).toEqual([1, 0]);
  });

  test("'\\ No newline at end of file' marks the line before it, on either side", () => {
    const lines = files[3]?.hunks[0]?.lines ?? [];
    expect(lines.map((l) => [l.kind, l.text, l.noNewline])).toEqual([
      ["del", "tab", true],
      ["add", "tab2", true],
    ]);
    const last = files[4]?.hunks[0]?.lines ?? [];
    expect(last.map((l) => l.noNewline)).toEqual([false, false, true]);
  });

  test("hunk counts decide what is content: a removed '-- x' line is not a header", () => {
    const text = ["diff --git a/m.md b/m.md", "--- a/m.md", "+++ b/m.md", "@@ -1,2 +1 @@", "--- a/fake", "-diff --git a/x b/x", "+kept", ""].join("\n");
    const f = parseDiff(text).files;
    expect(f).toHaveLength(1);
    expect(f[0]?.hunks[0]?.lines.map((l) => [l.kind, l.text])).toEqual([
      ["del", "-- a/fake"],
      ["del", "diff --git a/x b/x"],
      ["add", "kept"],
    ]);
  });

  test("several hunks, deletions, CRLF lines and an empty context line", () => {
    const text = [
      "diff --git a/old.txt b/old.txt",
      "deleted file mode 100644",
      "index 1111111..0000000",
      "--- a/old.txt",
      "+++ /dev/null",
      "@@ -1,2 +0,0 @@",
      "-x\r",
      "-y\r",
      "diff --git a/k.ts b/k.ts",
      "--- a/k.ts",
      "+++ b/k.ts",
      "@@ -1,3 +1,3 @@ function a() {",
      " one",
      "",
      "-three",
      "+THREE",
      "@@ -20 +20,2 @@",
      " twenty",
      "+twenty-one",
    ].join("\n");
    const [del, k] = parseDiff(text).files;
    expect(del).toMatchObject({ status: "deleted", oldPath: "old.txt", newPath: null, deletions: 2 });
    expect(del?.hunks[0]?.lines.map((l) => l.text)).toEqual(["x", "y"]);
    expect(k?.hunks).toHaveLength(2);
    expect(k?.hunks[0]?.lines.map((l) => [l.kind, l.text, l.oldNo, l.newNo])).toEqual([
      ["context", "one", 1, 1],
      ["context", "", 2, 2],
      ["del", "three", 3, null],
      ["add", "THREE", null, 3],
    ]);
    expect(k?.hunks[1]?.lines.map((l) => [l.oldNo, l.newNo])).toEqual([
      [20, 20],
      [null, 21],
    ]);
  });

  test("files over the budget keep their counts but not their lines; later small files still show", () => {
    const big = ["diff --git a/big b/big", "--- a/big", "+++ b/big", "@@ -0,0 +1,50 @@", ...Array.from({ length: 50 }, (_, i) => `+line ${i}`)];
    const small = ["diff --git a/s b/s", "--- a/s", "+++ b/s", "@@ -1 +1 @@", "-a", "+b"];
    const d = parseDiff([...big, ...small].join("\n"), { maxLines: 10 });
    expect(d.cut).toBe(true);
    expect(d.files[0]).toMatchObject({ tooLarge: true, hunks: [], additions: 50 });
    expect(d.files[1]).toMatchObject({ tooLarge: false, additions: 1, deletions: 1 });
    expect(d.shownLines).toBe(2);
    expect(parseDiff(big.join("\n"), { maxChars: 20 }).files[0]?.tooLarge).toBe(true);
  });

  test("a diff cut mid-hunk ends the last file early without throwing", () => {
    const text = ["diff --git a/a b/a", "--- a/a", "+++ b/a", "@@ -1,5 +1,5 @@", " one", "-tw"].join("\n");
    const f = parseDiff(text).files[0];
    expect(f?.hunks[0]?.lines).toHaveLength(2);
    expect(parseDiff("").files).toEqual([]);
    expect(parseDiff("garbage\nmore garbage\n").files).toEqual([]);
  });

  test("names: quoted with octal UTF-8 bytes, and paths with ' b/' in them", () => {
    expect(unquoteC('"caf\\303\\251 \\"x\\".txt"')).toEqual({ text: 'café "x".txt', end: 23 });
    expect(unquoteC("plain")).toBeNull();
    const text = ["diff --git a/x b/y b/x b/y", "old mode 100644", "new mode 100755", ""].join("\n");
    expect(parseDiff(text).files[0]).toMatchObject({ oldPath: "x b/y", newPath: "x b/y" });
    const pure = ["diff --git a/from.txt b/to dir/to.txt", "similarity index 100%", "rename from from.txt", "rename to to dir/to.txt"].join("\n");
    const f = parseDiff(pure).files[0];
    expect(f).toMatchObject({ status: "renamed", oldPath: "from.txt", newPath: "to dir/to.txt", similarity: 100 });
    expect(displayPath(f ?? { oldPath: null, newPath: null })).toBe("to dir/to.txt");
    expect(displayPath({ oldPath: "gone", newPath: null })).toBe("gone");
  });
});

describe("splitRows", () => {
  test("pairs a run of removals with the additions after it; the rest faces a blank", () => {
    const text = ["diff --git a/f b/f", "--- a/f", "+++ b/f", "@@ -1,4 +1,3 @@", " keep", "-a", "-b", "-c", "+A", "+B", ""].join("\n");
    const lines = parseDiff(text).files[0]?.hunks[0]?.lines ?? [];
    const rows = splitRows(lines).map((r) => [r.left?.text ?? null, r.right?.text ?? null]);
    expect(rows).toEqual([
      ["keep", "keep"],
      ["a", "A"],
      ["b", "B"],
      ["c", null],
    ]);
  });

  test("additions without removals sit on the right", () => {
    const text = ["diff --git a/f b/f", "--- a/f", "+++ b/f", "@@ -1 +1,3 @@", "+x", " k", "+y", ""].join("\n");
    const rows = splitRows(parseDiff(text).files[0]?.hunks[0]?.lines ?? []).map((r) => [r.left?.text ?? null, r.right?.text ?? null]);
    expect(rows).toEqual([
      [null, "x"],
      ["k", "k"],
      [null, "y"],
    ]);
  });
});

describe("highlightFile", () => {
  test("colours each side as code and escapes markup", () => {
    const text = [
      "diff --git a/a.ts b/a.ts",
      "--- a/a.ts",
      "+++ b/a.ts",
      "@@ -1,3 +1,3 @@",
      " /* a comment",
      "-   still <b>comment</b> */ const x = 1;",
      "+   still comment */ const y = '<script>';",
      " export {};",
      "",
    ].join("\n");
    const f = parseDiff(text).files[0];
    if (!f) throw new Error("no file");
    highlightFile(f, "typescript");
    const [ctx, del, add, tail] = f.hunks[0]?.lines ?? [];
    expect(ctx?.html).toContain('class="hl-com"');
    expect(del?.html).toContain("&lt;b&gt;");
    expect(del?.html).toMatch(/^<span class="hl-com">/); // the comment opened on the line above
    expect(add?.html).toContain("&lt;script&gt;");
    expect(add?.html).not.toContain("<script>");
    expect(tail?.html).toContain('class="hl-kw"');
  });

  test("a line with a lone CR falls back to plain escaping", () => {
    const text = ["diff --git a/a.txt b/a.txt", "--- a/a.txt", "+++ b/a.txt", "@@ -1 +1 @@", "-a\rb <i>", "+c", ""].join("\n");
    const f = parseDiff(text).files[0];
    if (!f) throw new Error("no file");
    highlightFile(f, "plaintext");
    expect(f.hunks[0]?.lines.map((l) => l.html)).toEqual(["a\rb &lt;i&gt;", "c"]);
  });
});
