/**
 * A small, safe Markdown renderer for READMEs. It supports what READMEs use most —
 * headings, paragraphs, emphasis, code spans, fenced code (highlighted), lists, quotes,
 * rules, tables and links — and never passes HTML through: every character of the
 * source is escaped first, and the only markup is what this file adds. Link targets
 * must be http(s), mailto or relative (resolved inside the project); images become links.
 */
import { escapeHtml } from "../web/jsx/jsx-runtime.ts";
import { highlight } from "../web/highlight.ts";

export type MarkdownOptions = {
  /** Turns a relative link target ("docs/a.md") into a URL, or undefined to drop the link. Absent → relative links are dropped. */
  resolve?: (relative: string) => string | undefined;
};

/** Above this size a README is shown as preformatted text instead. */
export const MARKDOWN_MAX_CHARS = 256 * 1024;
const MAX_DEPTH = 8;

// ---- Inline ----

function safeHref(rawTarget: string, o: MarkdownOptions): string | undefined {
  const target = rawTarget.trim().replace(/[\u0000-\u0020\u007f]/g, "");
  if (target === "") return undefined;
  if (/^(?:https?:|mailto:)/i.test(target)) return target;
  if (target.startsWith("#")) return target;
  // Anything else with a scheme (javascript:, data:, vbscript:, file: …) is refused.
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) return undefined;
  return o.resolve ? o.resolve(target) : undefined;
}

function link(text: string, rawTarget: string, o: MarkdownOptions): string {
  const href = safeHref(rawTarget, o);
  if (href === undefined) return text;
  const external = /^(?:https?:)?\/\//i.test(href);
  return `<a href="${escapeHtml(href)}"${external ? ' rel="nofollow noopener noreferrer"' : ""}>${text}</a>`;
}

/** Renders one paragraph's worth of inline Markdown to HTML. */
export function renderInline(src: string, o: MarkdownOptions = {}): string {
  // Source NULs would collide with the placeholders; they have no business in text anyway.
  return inline(src.replace(/\u0000/g, "\uFFFD"), o, [], true);
}

/**
 * Finished pieces (code spans, links) are swapped for `\0<n>\0` placeholders in `held` so that
 * later steps (escaping, emphasis) cannot touch them, then put back at the end.
 */
function inline(src: string, o: MarkdownOptions, held: string[], links: boolean): string {
  const hold = (htmlText: string) => `\u0000${held.push(htmlText) - 1}\u0000`;
  let s = src;
  // Code spans first: nothing inside them is Markdown.
  s = s.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_m, _ticks: string, code: string) => hold(`<code>${escapeHtml(code.trim() || code)}</code>`));
  if (links) {
    // Autolinks <https://…>.
    s = s.replace(/<((?:https?:\/\/|mailto:)[^\s<>]+)>/gi, (_m, url: string) => hold(link(escapeHtml(url), url, o)));
    // Images become links to the image (no remote images are loaded).
    s = s.replace(/!\[([^\]\n]*)\]\(\s*<?((?:[^()\s<>]|\([^()\s<>]*\))*)>?(?:\s+"[^"]*")?\s*\)/g, (_m, alt: string, url: string) =>
      hold(link(escapeHtml(alt ? `🖼 ${alt}` : "🖼 image"), url, o)),
    );
    // Links [text](target "title"); the text may hold emphasis and code but no further links.
    s = s.replace(/\[([^\]\n]*)\]\(\s*<?((?:[^()\s<>]|\([^()\s<>]*\))*)>?(?:\s+"[^"]*")?\s*\)/g, (_m, text: string, url: string) =>
      hold(link(inline(text, o, held, false), url, o)),
    );
    // Bare URLs.
    s = s.replace(/\bhttps?:\/\/[^\s<>()"'`\u0000]*[^\s<>()"'`.,;:!?\u0000]/g, (url) => hold(link(escapeHtml(url), url, o)));
  }
  s = escapeHtml(s)
    .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, "<strong>$2</strong>")
    .replace(/(^|[^\w*])\*(?=[^\s*])([\s\S]*?[^\s*])\*(?!\*)/g, "$1<em>$2</em>")
    .replace(/(^|[^\w_])_(?=[^\s_])([\s\S]*?[^\s_])_(?![\w_])/g, "$1<em>$2</em>")
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, "<del>$1</del>")
    .replace(/ {2,}\n|\\\n/g, "<br>\n");
  // Placeholders may nest (a link holding a code span): restore until none is left.
  for (let guard = 0; guard < 4 && s.includes("\u0000"); guard++) s = s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => held[Number(i)] ?? "");
  return s;
}

// ---- Blocks ----

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const QUOTE = /^ {0,3}> ?/;
const BULLET = /^( {0,3})([-*+])[ \t]+/;
const ORDERED = /^( {0,3})(\d{1,9})[.)][ \t]+/;
const TABLE_SEP = /^ {0,3}\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$/;

function isBlank(l: string): boolean {
  return l.trim() === "";
}

function startsBlock(l: string): boolean {
  return FENCE.test(l) || HEADING.test(l) || RULE.test(l) || QUOTE.test(l) || BULLET.test(l) || ORDERED.test(l);
}

function cells(row: string): string[] {
  let r = row.trim();
  if (r.startsWith("|")) r = r.slice(1);
  if (r.endsWith("|") && !r.endsWith("\\|")) r = r.slice(0, -1);
  return r.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

function renderBlocks(lines: string[], o: MarkdownOptions, depth: number, headingShift: number): string {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? "";
    if (isBlank(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1] ?? "```";
      const lang = (fence[2] ?? "").toLowerCase();
      const body: string[] = [];
      i++;
      const close = new RegExp(`^ {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
      while (i < lines.length && !close.test(lines[i] ?? "")) body.push(lines[i++] ?? "");
      i++; // the closing fence (or the end)
      const code = body.join("\n");
      out.push(`<pre><code${lang ? ` data-lang="${escapeHtml(lang)}"` : ""}>${lang ? highlight(code, lang) : escapeHtml(code)}</code></pre>`);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(6, (heading[1] ?? "#").length + headingShift);
      out.push(`<h${level}>${renderInline(heading[2] ?? "", o)}</h${level}>`);
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push("<hr>");
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const inner: string[] = [];
      while (i < lines.length && !isBlank(lines[i] ?? "")) inner.push((lines[i++] ?? "").replace(QUOTE, ""));
      out.push(depth < MAX_DEPTH ? `<blockquote>${renderBlocks(inner, o, depth + 1, headingShift)}</blockquote>` : `<blockquote><p>${renderInline(inner.join("\n"), o)}</p></blockquote>`);
      continue;
    }
    const bullet = BULLET.exec(line);
    const ordered = bullet ? null : ORDERED.exec(line);
    if (bullet || ordered) {
      const re = bullet ? BULLET : ORDERED;
      const indent = ((bullet ?? ordered)?.[1] ?? "").length;
      const items: string[][] = [];
      while (i < lines.length) {
        const l = lines[i] ?? "";
        const m = re.exec(l);
        // A marker indented past this list's own is a nested list inside the current item.
        if (m && (m[1] ?? "").length <= indent + 1) {
          items.push([l.slice(m[0].length)]);
          i++;
          continue;
        }
        const current = items[items.length - 1];
        if (!current) break;
        if (isBlank(l)) {
          // A blank line continues the list only if the next line is indented or another item.
          const next = lines[i + 1] ?? "";
          if (re.test(next) || /^(?: {2,}|\t)/.test(next)) {
            current.push("");
            i++;
            continue;
          }
          break;
        }
        if (/^(?: {2,}|\t)/.test(l)) current.push(l.replace(/^(?: {2,4}|\t)/, ""));
        else if (!startsBlock(l)) current.push(l); // lazy continuation
        else break;
        i++;
      }
      const tag = bullet ? "ul" : "ol";
      const start = ordered && ordered[2] !== "1" ? ` start="${Number(ordered[2])}"` : "";
      const lis = items.map((item) => {
        const simple = item.length === 1 || (!item.some((l) => startsBlock(l)) && !item.includes(""));
        const inner = simple || depth >= MAX_DEPTH ? renderInline(item.join("\n"), o) : renderBlocks(item, o, depth + 1, headingShift);
        return `<li>${inner}</li>`;
      });
      out.push(`<${tag}${start}>${lis.join("")}</${tag}>`);
      continue;
    }
    // Table: a header row, a separator row, then rows.
    if (line.includes("|") && TABLE_SEP.test(lines[i + 1] ?? "") && (lines[i + 1] ?? "").includes("-")) {
      const head = cells(line);
      const aligns = cells(lines[i + 1] ?? "").map((c) => (c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : c.startsWith(":") ? "left" : ""));
      i += 2;
      const rows: string[][] = [];
      while (i < lines.length && !isBlank(lines[i] ?? "") && (lines[i] ?? "").includes("|")) rows.push(cells(lines[i++] ?? ""));
      const cell = (tag: string, text: string, col: number) => {
        const a = aligns[col];
        return `<${tag}${a ? ` style="text-align:${a}"` : ""}>${renderInline(text, o)}</${tag}>`;
      };
      out.push(
        `<div class="table-wrap"><table class="list"><thead><tr>${head.map((h, c) => cell("th", h, c)).join("")}</tr></thead><tbody>${rows
          .map((r) => `<tr>${head.map((_h, c) => cell("td", r[c] ?? "", c)).join("")}</tr>`)
          .join("")}</tbody></table></div>`,
      );
      continue;
    }
    // Paragraph: until a blank line or the start of another block.
    const para: string[] = [line];
    i++;
    while (i < lines.length && !isBlank(lines[i] ?? "") && !startsBlock(lines[i] ?? "")) para.push(lines[i++] ?? "");
    out.push(`<p>${renderInline(para.join("\n"), o)}</p>`);
  }
  return out.join("\n");
}

/**
 * Renders Markdown to safe HTML. Headings are shifted down by `headingShift` levels
 * (a README's "# Title" sits under the page's own h1).
 */
export function renderMarkdown(src: string, o: MarkdownOptions = {}, headingShift = 1): string {
  const text = src.replace(/\r\n?/g, "\n");
  if (text.length > MARKDOWN_MAX_CHARS) return `<pre class="plain">${escapeHtml(text)}</pre>`;
  return renderBlocks(text.split("\n"), o, 0, headingShift);
}
