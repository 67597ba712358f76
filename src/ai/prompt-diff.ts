/**
 * The difference between two versions of a prompt: a line diff of the text (Myers, from
 * collab/merge.ts) grouped into unified hunks with context, the same shape the project diff
 * pages render (web/diff.ts), a git-style unified text for the API, and which variables were
 * added, removed or re-described. Pure functions, no I/O.
 */
import { diffLines, splitLines } from "../collab/merge.ts";
import type { DiffFile, DiffHunk, DiffLine } from "../web/diff.ts";
import type { PromptVariable } from "./prompt-template.ts";

export const DIFF_CONTEXT = 3;

export type VariableChanges = { added: string[]; removed: string[]; changed: string[] };

export type PromptDiff = {
  hunks: DiffHunk[];
  additions: number;
  deletions: number;
  /** git's unified format (`--- a/prompt` … `@@ -1,3 +1,4 @@` …). */
  unified: string;
  variables: VariableChanges;
};

function line(kind: DiffLine["kind"], raw: string, oldNo: number | null, newNo: number | null): DiffLine {
  const noNewline = !raw.endsWith("\n");
  return { kind, text: (noNewline ? raw : raw.slice(0, -1)).replace(/\r$/, ""), oldNo, newNo, noNewline };
}

/** Every line of both texts in diff order: unchanged lines once, removed then added lines for each change. */
function allLines(a: string[], b: string[]): DiffLine[] {
  const out: DiffLine[] = [];
  let ai = 0;
  let bi = 0;
  for (const h of diffLines(a, b)) {
    while (ai < h.start) out.push(line("context", a[ai] as string, ++ai, ++bi));
    while (ai < h.end) out.push(line("del", a[ai] as string, ++ai, null));
    for (const added of h.lines) out.push(line("add", added, null, ++bi));
  }
  while (ai < a.length) out.push(line("context", a[ai] as string, ++ai, ++bi));
  return out;
}

/** Groups changed lines with `context` unchanged lines around them into hunks; far-apart changes get their own hunk. */
export function hunksOf(lines: DiffLine[], context = DIFF_CONTEXT): DiffHunk[] {
  const hunks: DiffHunk[] = [];
  const changed = lines.map((l, i) => (l.kind === "context" ? -1 : i)).filter((i) => i >= 0);
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, (changed[k] as number) - context);
    let end = Math.min(lines.length, (changed[k] as number) + context + 1);
    k++;
    while (k < changed.length && (changed[k] as number) - context <= end) {
      end = Math.min(lines.length, (changed[k] as number) + context + 1);
      k++;
    }
    const slice = lines.slice(start, end);
    const oldLines = slice.filter((l) => l.kind !== "add").length;
    const newLines = slice.filter((l) => l.kind !== "del").length;
    // Where a side has no lines in the hunk, git numbers it by the line before (0 at the top).
    const firstOld = slice.find((l) => l.oldNo !== null)?.oldNo ?? null;
    const firstNew = slice.find((l) => l.newNo !== null)?.newNo ?? null;
    const before = lines.slice(0, start);
    const oldBefore = before.filter((l) => l.kind !== "add").length;
    const newBefore = before.filter((l) => l.kind !== "del").length;
    hunks.push({
      oldStart: oldLines > 0 ? (firstOld ?? oldBefore + 1) : oldBefore,
      oldLines,
      newStart: newLines > 0 ? (firstNew ?? newBefore + 1) : newBefore,
      newLines,
      section: "",
      lines: slice,
    });
  }
  return hunks;
}

function unifiedText(hunks: DiffHunk[], fromLabel: string, toLabel: string): string {
  if (hunks.length === 0) return "";
  let out = `--- ${fromLabel}\n+++ ${toLabel}\n`;
  for (const h of hunks) {
    out += `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@\n`;
    for (const l of h.lines) {
      out += `${l.kind === "add" ? "+" : l.kind === "del" ? "-" : " "}${l.text}\n`;
      if (l.noNewline) out += "\\ No newline at end of file\n";
    }
  }
  return out;
}

export function variableChanges(from: PromptVariable[], to: PromptVariable[]): VariableChanges {
  const before = new Map(from.map((v) => [v.name, v]));
  const after = new Map(to.map((v) => [v.name, v]));
  return {
    added: to.filter((v) => !before.has(v.name)).map((v) => v.name),
    removed: from.filter((v) => !after.has(v.name)).map((v) => v.name),
    changed: to
      .filter((v) => {
        const old = before.get(v.name);
        return old !== undefined && (old.description !== v.description || old.default !== v.default);
      })
      .map((v) => v.name),
  };
}

export function diffPromptTexts(
  from: { body: string; variables: PromptVariable[]; label: string },
  to: { body: string; variables: PromptVariable[]; label: string },
): PromptDiff {
  const lines = allLines(splitLines(from.body), splitLines(to.body));
  const hunks = hunksOf(lines);
  return {
    hunks,
    additions: lines.filter((l) => l.kind === "add").length,
    deletions: lines.filter((l) => l.kind === "del").length,
    unified: unifiedText(hunks, from.label, to.label),
    variables: variableChanges(from.variables, to.variables),
  };
}

/** The diff as a one-file DiffFile, for the project diff table (projects/pages-diff-view.tsx). */
export function asDiffFile(d: PromptDiff, name: string): DiffFile {
  return {
    oldPath: name,
    newPath: name,
    status: "modified",
    binary: false,
    oldMode: null,
    newMode: null,
    similarity: null,
    hunks: d.hunks,
    additions: d.additions,
    deletions: d.deletions,
    tooLarge: false,
  };
}
