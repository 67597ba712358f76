/**
 * Unified diffs (git's format) turned into something a page can render: files with their
 * status, paths and hunks, each line numbered on the old and new side; side-by-side rows;
 * and syntax-highlighted line markup.
 *
 * A diff can be huge (the versions API cuts at 20 MB), so parsing takes a budget of lines
 * and characters to keep: a file whose lines do not fit is kept without its hunks and marked
 * `tooLarge`, and its addition/deletion counts are still exact. Pure functions; no I/O.
 */
import { escapeHtml } from "./jsx/jsx-runtime.ts";
import { highlightLines } from "./highlight.ts";

export type DiffLineKind = "context" | "add" | "del";

export type DiffLine = {
  kind: DiffLineKind;
  /** The line without its +/-/space marker (and without a trailing CR). */
  text: string;
  /** Line number in the old file (context and removed lines). */
  oldNo: number | null;
  /** Line number in the new file (context and added lines). */
  newNo: number | null;
  /** git's "\ No newline at end of file" followed this line. */
  noNewline: boolean;
  /** Escaped, highlighted markup for the text (set by highlightFile); render escapes `text` when missing. */
  html?: string;
};

export type DiffHunk = {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** The function or heading git names after the second `@@` ("" when none). */
  section: string;
  lines: DiffLine[];
};

export type DiffStatus = "added" | "deleted" | "modified" | "renamed" | "copied";

export type DiffFile = {
  /** null for an added file. */
  oldPath: string | null;
  /** null for a deleted file. */
  newPath: string | null;
  status: DiffStatus;
  binary: boolean;
  oldMode: string | null;
  newMode: string | null;
  /** Rename/copy similarity in percent. */
  similarity: number | null;
  hunks: DiffHunk[];
  additions: number;
  deletions: number;
  /** Its lines did not fit the budget: `hunks` is empty, the counts are still right. */
  tooLarge: boolean;
};

export type ParsedDiff = {
  files: DiffFile[];
  /** Lines kept (over all files' hunks). */
  shownLines: number;
  /** Some file was kept without its lines. */
  cut: boolean;
};

export type DiffBudget = { maxLines?: number; maxChars?: number };

export const DIFF_MAX_LINES = 5000;
export const DIFF_MAX_CHARS = 1_500_000;

const C_ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, "\\": 92 };

/**
 * Reads a C-style quoted string as git writes names with unusual bytes (`"a/t\tab"`,
 * octal escapes for bytes). Returns the text and where it ended, or null when `s[at]` is no quote.
 */
export function unquoteC(s: string, at = 0): { text: string; end: number } | null {
  if (s[at] !== '"') return null;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  let i = at + 1;
  while (i < s.length && s[i] !== '"') {
    const c = s[i] as string;
    if (c !== "\\") {
      const cp = s.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      bytes.push(...enc.encode(ch));
      i += ch.length;
      continue;
    }
    const next = s[i + 1] ?? "";
    const oct = /^[0-7]{3}/.exec(s.slice(i + 1, i + 4));
    if (oct) {
      bytes.push(parseInt(oct[0], 8) & 0xff);
      i += 4;
    } else {
      bytes.push(C_ESCAPES[next] ?? next.charCodeAt(0));
      i += 2;
    }
  }
  return { text: new TextDecoder().decode(new Uint8Array(bytes)), end: Math.min(i + 1, s.length) };
}

/** A name from a `---`/`+++`/`rename from` line: quoted or not; an unquoted one with a space ends in a tab. */
function nameOf(raw: string): string {
  const q = unquoteC(raw);
  if (q) return q.text;
  return raw.endsWith("\t") ? raw.slice(0, -1) : raw;
}

function stripPrefix(name: string, prefix: "a/" | "b/"): string | null {
  if (name === "/dev/null") return null;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** The two names of a `diff --git a/X b/Y` line (used when no ---/+++ or rename lines follow). */
function gitHeaderNames(rest: string): [string, string] {
  const first = unquoteC(rest);
  if (first) {
    const after = rest.slice(first.end + 1);
    const second = unquoteC(after);
    return [first.text, second ? second.text : after];
  }
  const second = rest.endsWith('"') ? rest.lastIndexOf(' "') : -1;
  if (second > 0) return [rest.slice(0, second), unquoteC(rest, second + 1)?.text ?? ""];
  // Unquoted on both sides: without a rename both names are equal, so the split is in the middle.
  const half = (rest.length - 1) / 2;
  if (Number.isInteger(half) && rest[half] === " " && rest.slice(2, half) === rest.slice(half + 3)) {
    return [rest.slice(0, half), rest.slice(half + 1)];
  }
  const at = rest.indexOf(" b/");
  return at < 0 ? [rest, rest] : [rest.slice(0, at), rest.slice(at + 1)];
}

const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$/;

function newFile(gitLine: string): DiffFile {
  const [a, b] = gitHeaderNames(gitLine.slice("diff --git ".length));
  return {
    oldPath: stripPrefix(a, "a/"),
    newPath: stripPrefix(b, "b/"),
    status: "modified",
    binary: false,
    oldMode: null,
    newMode: null,
    similarity: null,
    hunks: [],
    additions: 0,
    deletions: 0,
    tooLarge: false,
  };
}

/**
 * Parses `git diff` output. Lines of a hunk are read by the hunk's counts, so a removed line
 * that looks like a header ("--- x") is still content. Text after a cut (a truncated diff)
 * simply ends the last file early.
 */
export function parseDiff(text: string, budget: DiffBudget = {}): ParsedDiff {
  let linesLeft = budget.maxLines ?? DIFF_MAX_LINES;
  let charsLeft = budget.maxChars ?? DIFF_MAX_CHARS;
  const files: DiffFile[] = [];
  let shownLines = 0;
  let cut = false;
  let file: DiffFile | null = null;
  let fileLines = 0;
  let fileChars = 0;
  let hunk: DiffHunk | null = null;
  let oldLeft = 0;
  let newLeft = 0;
  let oldNo = 0;
  let newNo = 0;

  const finish = () => {
    if (!file) return;
    if (fileLines > linesLeft || fileChars > charsLeft) {
      file.hunks = [];
      file.tooLarge = true;
      cut = true;
    } else {
      linesLeft -= fileLines;
      charsLeft -= fileChars;
      shownLines += fileLines;
    }
    files.push(file);
    file = null;
    hunk = null;
  };

  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (const raw of lines) {
    if (hunk && file && (oldLeft > 0 || newLeft > 0)) {
      const marker = raw.charAt(0);
      const body = raw.slice(1).replace(/\r$/, "");
      if (marker === "+") {
        hunk.lines.push({ kind: "add", text: body, oldNo: null, newNo: newNo++, noNewline: false });
        newLeft--;
        file.additions++;
      } else if (marker === "-") {
        hunk.lines.push({ kind: "del", text: body, oldNo: oldNo++, newNo: null, noNewline: false });
        oldLeft--;
        file.deletions++;
      } else if (marker === "\\") {
        const last = hunk.lines[hunk.lines.length - 1];
        if (last) last.noNewline = true;
        continue;
      } else {
        // " " — or an empty line from a tool that trimmed trailing spaces.
        hunk.lines.push({ kind: "context", text: body, oldNo: oldNo++, newNo: newNo++, noNewline: false });
        oldLeft--;
        newLeft--;
      }
      fileLines++;
      fileChars += body.length;
      continue;
    }
    if (raw.startsWith("diff --git ")) {
      finish();
      file = newFile(raw);
      fileLines = 0;
      fileChars = 0;
      continue;
    }
    if (!file) continue;
    if (raw.startsWith("\\")) {
      const last = hunk?.lines[hunk.lines.length - 1];
      if (last) last.noNewline = true;
      continue;
    }
    const h = HUNK_RE.exec(raw);
    if (h) {
      hunk = {
        oldStart: Number(h[1]),
        oldLines: h[2] === undefined ? 1 : Number(h[2]),
        newStart: Number(h[3]),
        newLines: h[4] === undefined ? 1 : Number(h[4]),
        section: h[5] ?? "",
        lines: [],
      };
      file.hunks.push(hunk);
      oldLeft = hunk.oldLines;
      newLeft = hunk.newLines;
      oldNo = hunk.oldStart;
      newNo = hunk.newStart;
      continue;
    }
    if (hunk) continue; // stray text after a hunk: nothing git writes
    if (raw.startsWith("--- ")) file.oldPath = stripPrefix(nameOf(raw.slice(4)), "a/");
    else if (raw.startsWith("+++ ")) file.newPath = stripPrefix(nameOf(raw.slice(4)), "b/");
    else if (raw.startsWith("new file mode ")) {
      file.status = "added";
      file.oldPath = null;
      file.newMode = raw.slice(14);
    } else if (raw.startsWith("deleted file mode ")) {
      file.status = "deleted";
      file.newPath = null;
      file.oldMode = raw.slice(18);
    } else if (raw.startsWith("old mode ")) file.oldMode = raw.slice(9);
    else if (raw.startsWith("new mode ")) file.newMode = raw.slice(9);
    else if (raw.startsWith("rename from ")) {
      file.status = "renamed";
      file.oldPath = nameOf(raw.slice(12));
    } else if (raw.startsWith("rename to ")) file.newPath = nameOf(raw.slice(10));
    else if (raw.startsWith("copy from ")) {
      file.status = "copied";
      file.oldPath = nameOf(raw.slice(10));
    } else if (raw.startsWith("copy to ")) file.newPath = nameOf(raw.slice(8));
    else if (/^(?:similarity|dissimilarity) index \d+%$/.test(raw)) file.similarity = Number(/\d+/.exec(raw)?.[0]);
    else if (raw.startsWith("Binary files ") || raw === "GIT binary patch") file.binary = true;
  }
  finish();
  return { files, shownLines, cut };
}

/** The path to show for a file: the new one, or the old one for a deletion. */
export function displayPath(f: Pick<DiffFile, "oldPath" | "newPath">): string {
  return f.newPath ?? f.oldPath ?? "";
}

export type SplitRow = { left: DiffLine | null; right: DiffLine | null };

/**
 * Side-by-side rows for a hunk: context on both sides; a run of removed lines and the run of
 * added lines right after it are paired line by line, the longer run's rest facing a blank.
 */
export function splitRows(lines: DiffLine[]): SplitRow[] {
  const rows: SplitRow[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as DiffLine;
    if (line.kind === "context") {
      rows.push({ left: line, right: line });
      i++;
      continue;
    }
    const dels: DiffLine[] = [];
    const adds: DiffLine[] = [];
    while (i < lines.length && lines[i]?.kind === "del") dels.push(lines[i++] as DiffLine);
    while (i < lines.length && lines[i]?.kind === "add") adds.push(lines[i++] as DiffLine);
    for (let k = 0; k < Math.max(dels.length, adds.length); k++) rows.push({ left: dels[k] ?? null, right: adds[k] ?? null });
  }
  return rows;
}

/** Highlights `lines` as one piece of code (so a construct spanning lines colours right); null when the line count does not survive. */
function highlightRun(lines: DiffLine[], lang: string): string[] | null {
  if (lines.length === 0) return [];
  const out = highlightLines(lines.map((l) => l.text).join("\n") + "\n", lang);
  return out.length === lines.length ? out : null;
}

/**
 * Sets `html` on every line of a file's hunks: each hunk's old side (context and removed
 * lines) and new side (context and added lines) are highlighted as code of `lang`. Where a
 * line holds a lone CR or the like and the lines do not map back one to one, the hunk's lines
 * are just escaped.
 */
export function highlightFile(file: DiffFile, lang: string): void {
  for (const hunk of file.hunks) {
    const oldSide = hunk.lines.filter((l) => l.kind !== "add");
    const newSide = hunk.lines.filter((l) => l.kind !== "del");
    const oldHtml = highlightRun(oldSide, lang);
    const newHtml = highlightRun(newSide, lang);
    if (!oldHtml || !newHtml) {
      for (const l of hunk.lines) l.html = escapeHtml(l.text);
      continue;
    }
    oldSide.forEach((l, i) => {
      if (l.kind === "del") l.html = oldHtml[i];
    });
    newSide.forEach((l, i) => {
      l.html = newHtml[i];
    });
  }
}
