/**
 * A code action's change to one file as a diff: hunks with three lines of context, built with
 * the collaborative editor's own line diff (collab/merge.ts), in the shape the project's diff
 * view renders (web/diff.ts `DiffFile`), and as git-style unified text for API clients.
 * Pure functions; no I/O.
 */
import { diffLines, splitLines, type Hunk } from "../collab/merge.ts";
import type { DiffFile, DiffLine } from "../web/diff.ts";
import type { ActionEdit } from "./actions.ts";

const CONTEXT = 3;

/** The texts a file's diff is shown between: what was applied while applied, else the proposal. */
export function diffSides(e: ActionEdit): { from: string | null; to: string } {
  return e.applied ? { from: e.applied.from, to: e.applied.to } : { from: e.before, to: e.after };
}

/** A line as the diff view shows it: without its terminator (a lone CR before it is dropped too). */
function bare(line: string): { text: string; noNewline: boolean } {
  if (!line.endsWith("\n")) return { text: line, noNewline: true };
  return { text: line.slice(0, -1).replace(/\r$/, ""), noNewline: false };
}

/** Groups change hunks (over the old lines) that are within 2×CONTEXT lines of each other. */
function groups(hunks: Hunk[]): Hunk[][] {
  const out: Hunk[][] = [];
  for (const h of hunks) {
    const last = out.at(-1);
    const prev = last?.at(-1);
    if (last && prev && h.start - prev.end <= 2 * CONTEXT) last.push(h);
    else out.push([h]);
  }
  return out;
}

/**
 * The diff of `before` (null: the file does not exist yet) to `after`, for `path`. Line
 * numbers are 1-based as in git; an empty side of a hunk starts at the line before it.
 */
export function fileDiff(path: string, before: string | null, after: string): DiffFile {
  const a = splitLines(before ?? "");
  const b = splitLines(after);
  const file: DiffFile = {
    oldPath: before === null ? null : path,
    newPath: path,
    status: before === null ? "added" : "modified",
    binary: false,
    oldMode: null,
    newMode: before === null ? "100644" : null,
    similarity: null,
    hunks: [],
    additions: 0,
    deletions: 0,
    tooLarge: false,
  };
  // How far the new side has drifted from the old one after the hunks so far.
  let delta = 0;
  for (const group of groups(diffLines(a, b))) {
    const oldFrom = Math.max(0, (group[0] as Hunk).start - CONTEXT);
    const oldTo = Math.min(a.length, (group.at(-1) as Hunk).end + CONTEXT);
    const lines: DiffLine[] = [];
    let oldNo = oldFrom + 1;
    let newNo = oldFrom + delta + 1;
    let at = oldFrom;
    const context = (upto: number) => {
      for (; at < upto; at++) lines.push({ kind: "context", ...bare(a[at] as string), oldNo: oldNo++, newNo: newNo++ });
    };
    for (const h of group) {
      context(h.start);
      for (let i = h.start; i < h.end; i++) {
        lines.push({ kind: "del", ...bare(a[i] as string), oldNo: oldNo++, newNo: null });
        file.deletions++;
      }
      for (const l of h.lines) {
        lines.push({ kind: "add", ...bare(l), oldNo: null, newNo: newNo++ });
        file.additions++;
      }
      at = h.end;
      delta += h.lines.length - (h.end - h.start);
    }
    context(oldTo);
    const oldLines = oldNo - (oldFrom + 1);
    const newLines = lines.length - lines.filter((l) => l.kind === "del").length;
    const newFrom = newNo - newLines;
    // git numbers an empty side by the line before it (0 at the top of the file).
    file.hunks.push({ oldStart: oldLines === 0 ? oldFrom : oldFrom + 1, oldLines, newStart: newLines === 0 ? newFrom - 1 : newFrom, newLines, section: "", lines });
  }
  return file;
}

function rangeOf(start: number, count: number): string {
  return count === 1 ? String(start) : `${start},${count}`;
}

/** The diff as git writes it (`diff --git`, `---`/`+++`, hunks, "\ No newline at end of file"). */
export function unifiedText(file: DiffFile): string {
  const path = file.newPath ?? file.oldPath ?? "";
  let out = `diff --git a/${path} b/${path}\n`;
  if (file.status === "added") out += "new file mode 100644\n";
  if (file.hunks.length === 0) return out;
  out += `--- ${file.oldPath === null ? "/dev/null" : `a/${path}`}\n+++ b/${path}\n`;
  for (const h of file.hunks) {
    out += `@@ -${rangeOf(h.oldStart, h.oldLines)} +${rangeOf(h.newStart, h.newLines)} @@\n`;
    for (const l of h.lines) {
      out += `${l.kind === "add" ? "+" : l.kind === "del" ? "-" : " "}${l.text}\n`;
      if (l.noNewline) out += "\\ No newline at end of file\n";
    }
  }
  return out;
}
