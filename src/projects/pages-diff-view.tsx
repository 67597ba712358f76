/**
 * Rendering a parsed diff: a file's hunks as a unified table (old and new line numbers, one
 * column of code) or a side-by-side one. Rows are built as one string — a 5,000-line diff
 * would otherwise be tens of thousands of JSX calls; every piece of text in it is escaped
 * (line markup comes from highlightFile, which escapes) and numbers are integers.
 */
import { escapeHtml, raw, type Html } from "../web/jsx/jsx-runtime.ts";
import { splitRows, type DiffFile, type DiffHunk, type DiffLine, type DiffStatus } from "../web/diff.ts";

export const STATUS_LABEL: Record<DiffStatus, string> = { added: "Added", deleted: "Deleted", modified: "Modified", renamed: "Renamed", copied: "Copied" };

const ROW_CLASS: Record<DiffLine["kind"], string> = { add: "diff-add", del: "diff-del", context: "diff-ctx" };
/**
 * The +/− sign and the "no newline" mark are drawn by CSS (with alternative text for screen
 * readers: "added", "removed"), so copying lines from the page copies only the code.
 */
const NO_NEWLINE = '<span class="diff-nonl" title="No newline at end of file"></span>';

function lineNo(n: number | null, kind: string): string {
  return n === null ? `<td class="diff-ln ${kind}"></td>` : `<td class="diff-ln ${kind}" data-n="${n}"></td>`;
}

function code(line: DiffLine): string {
  const body = line.html ?? escapeHtml(line.text);
  return `<span class="diff-sign"></span>${body}${line.noNewline ? NO_NEWLINE : ""}`;
}

function hunkHead(h: DiffHunk): string {
  const range = `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`;
  return `${range}${h.section ? ` <span class="diff-section">${escapeHtml(h.section)}</span>` : ""}`;
}

function unifiedRows(file: DiffFile): string {
  let rows = "";
  for (const h of file.hunks) {
    rows += `<tr class="diff-hunk"><td class="diff-ln" colspan="2"></td><td class="diff-code">${hunkHead(h)}</td></tr>`;
    for (const l of h.lines) {
      const cls = ROW_CLASS[l.kind];
      rows += `<tr class="${cls}">${lineNo(l.oldNo, cls)}${lineNo(l.newNo, cls)}<td class="diff-code ${cls}">${code(l)}</td></tr>`;
    }
  }
  return rows;
}

function splitCell(line: DiffLine | null, side: "old" | "new"): string {
  if (!line) return `<td class="diff-ln diff-empty"></td><td class="diff-code diff-empty"></td>`;
  const cls = ROW_CLASS[line.kind];
  return `${lineNo(side === "old" ? line.oldNo : line.newNo, cls)}<td class="diff-code ${cls}">${code(line)}</td>`;
}

function splitTableRows(file: DiffFile): string {
  let rows = "";
  for (const h of file.hunks) {
    rows += `<tr class="diff-hunk"><td class="diff-ln"></td><td class="diff-code" colspan="3">${hunkHead(h)}</td></tr>`;
    for (const r of splitRows(h.lines)) rows += `<tr>${splitCell(r.left, "old")}${splitCell(r.right, "new")}</tr>`;
  }
  return rows;
}

export function DiffTable(p: { file: DiffFile; view: "unified" | "split"; label: string }): Html {
  const split = p.view === "split";
  return (
    <div class={split ? "diff-wrap diff-wrap-split" : "diff-wrap"} tabindex="0" role="region" aria-label={`Changes to ${p.label}`}>
      <table class={split ? "diff-table diff-split" : "diff-table diff-unified"}>
        {split ? (
          <colgroup>
            <col class="diff-col-ln" />
            <col />
            <col class="diff-col-ln" />
            <col />
          </colgroup>
        ) : null}
        <tbody>{raw(split ? splitTableRows(p.file) : unifiedRows(p.file))}</tbody>
      </table>
    </div>
  );
}

/** "+12 −3" with a screen-reader phrase. */
export function FileStat(p: { file: DiffFile }): Html {
  const f = p.file;
  if (f.binary) return <span class="diff-stat muted small">binary</span>;
  return (
    <span class="diff-stat small" title={`${f.additions} added, ${f.deletions} removed lines`}>
      <span class="diff-plus">+{f.additions}</span> <span class="diff-minus">−{f.deletions}</span>
    </span>
  );
}
