/**
 * The context manager: what the model is shown besides the question. It builds the prompt from
 *
 * 1. the selection in the current file (the user is pointing at it),
 * 2. the current file — the live collaborative document when someone has it open (what the
 *    user sees, unsaved keystrokes included), else the working tree — cut to a window around
 *    the selection when it is too long,
 * 3. chunks found by hybrid search for the question (search/hybrid.ts, in the chat's project
 *    only, which the caller can read — the route checked; not for a question without a word
 *    of three characters, such as "ok?"),
 * 4. the other open tabs, each trimmed to its first lines,
 * 5. the conversation so far: a sliding window of the newest messages that fit, and a summary
 *    of the older ones (made through the router with task "summarise", kept on the
 *    conversation and extended as more messages slide out).
 *
 * Everything is measured with tokens.ts against the model's context window minus room for the
 * answer. The question itself always goes in; the files share what is left with the history,
 * which is guaranteed HISTORY_SHARE of it when it needs that much. The result lists every file
 * included and why (the chat streams it as a `context` event, so the user sees it).
 */
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import type { Project } from "../db/schema.ts";
import { collabFor } from "../collab/rooms.ts";
import { DocRoom } from "../collab/room.ts";
import { detectLanguage, isProbablyText, readFile, validatePath } from "../projects/files.ts";
import { hybridSearch } from "../search/hybrid.ts";
import { countTokens, fitLines, messageTokens, promptTokens } from "./tokens.ts";
import type { IncludedFile } from "./conversations.ts";
import { routeChat } from "./router.ts";
import type { ChatMessage } from "./types.ts";

/** A model whose window is not known is assumed to take this many tokens (Ollama's default `num_ctx` is 2048–4096). */
export const DEFAULT_CONTEXT_WINDOW = 4096;
/** Shares of what remains after the system prompt and the question. */
const SELECTION_SHARE = 0.25;
const CURRENT_SHARE = 0.35;
const SEARCH_SHARE = 0.15;
const TABS_SHARE = 0.1;
const HISTORY_SHARE = 0.3;
/** A summary may take this share of the history budget. */
const SUMMARY_SHARE = 0.3;
const MAX_TABS = 8;
const TAB_MAX_TOKENS = 400;
const SEARCH_HITS = 8;
const CHUNK_BEFORE = 8;
const CHUNK_AFTER = 24;
/** Files larger than this are not read for context at all. */
const MAX_FILE_BYTES = 2 * 1024 * 1024;

export type Selection = { startLine: number; startColumn?: number; endLine: number; endColumn?: number };

/** An earlier message; stored ones carry their id (summaries are kept up to an id). */
export type HistoryMessage = { id?: number; role: ChatMessage["role"]; content: string };

export type Summariser = (previous: string | null, slidOut: HistoryMessage[], signal: AbortSignal) => Promise<string>;

export type ContextRequest = {
  actor: Actor;
  project: Project | null;
  filePath?: string;
  selection?: Selection;
  openTabs?: string[];
  /** Earlier turns, oldest first. */
  history: HistoryMessage[];
  /** The new turn; its last message is the question. */
  turn: ChatMessage[];
  /** What the conversation's older messages said, up to a message id. */
  summary: { text: string; upto: number } | null;
  contextWindow: number;
  summarise: Summariser;
  signal: AbortSignal;
};

export type BuiltContext = {
  messages: ChatMessage[];
  files: IncludedFile[];
  /** Estimated tokens of the whole prompt. */
  tokens: number;
  /**
   * A new summary to keep on the conversation: it covers the messages in `covers` (and what
   * the previous summary covered); `upto` is the newest id among them, null while some of
   * them are not stored yet (the caller learns their ids when it stores them).
   */
  newSummary: { text: string; upto: number | null; covers: HistoryMessage[] } | null;
};

/** Room for the answer: a quarter of the window, at most 1024 tokens. */
export function answerReserve(contextWindow: number): number {
  return Math.min(1024, Math.floor(contextWindow / 4));
}

const SYSTEM = [
  "You are the coding assistant inside Wove, a collaborative browser IDE.",
  "Answer the user's question about their code clearly and concisely, in Markdown.",
  "Put code in fenced code blocks with the language after the opening fence (```ts).",
  "When project files are given below, rely on them and name the file you mean; if something is not in them, say so instead of guessing.",
].join(" ");

/** The live text of a project file: the open collaborative document, else the working tree; null when it cannot be read as text. */
export async function liveText(app: App, projectId: string, path: string): Promise<string | null> {
  const room = collabFor(app).room(`${projectId}/${path}`);
  if (room instanceof DocRoom && !room.closed) return room.text.toString();
  try {
    const { bytes } = await readFile(app.config.dataDir, projectId, path);
    if (bytes.byteLength > MAX_FILE_BYTES || !isProbablyText(bytes)) return null;
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // Missing, a folder, or not UTF-8: nothing to show the model.
    return null;
  }
}

function cleanPath(raw: string | undefined): string | null {
  if (!raw) return null;
  try {
    return validatePath(raw);
  } catch {
    return null;
  }
}

function fence(path: string, text: string): string {
  const lang = detectLanguage(path);
  const ticks = text.includes("```") ? "````" : "```";
  return `${ticks}${lang === "plaintext" ? "" : lang}\n${text}\n${ticks}`;
}

/** Lines [from, to] (1-based, inclusive) of `lines`, grown evenly around them while they fit `maxTokens`. */
export function windowAround(lines: string[], from: number, to: number, maxTokens: number): { start: number; end: number; text: string; tokens: number } {
  let start = Math.max(1, Math.min(from, lines.length));
  let end = Math.max(start, Math.min(to, lines.length));
  let tokens = 0;
  for (let i = start; i <= end; i++) tokens += countTokens(lines[i - 1] ?? "") + 1;
  if (tokens > maxTokens) {
    const fit = fitLines(lines.slice(start - 1, end).join("\n"), maxTokens);
    return { start, end: start + fit.text.split("\n").length - 1, text: fit.text, tokens: fit.tokens };
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const side of [-1, 1] as const) {
      const i = side < 0 ? start - 1 : end + 1;
      if (i < 1 || i > lines.length) continue;
      const cost = countTokens(lines[i - 1] ?? "") + 1;
      if (tokens + cost > maxTokens) continue;
      tokens += cost;
      if (side < 0) start = i;
      else end = i;
      grew = true;
    }
  }
  return { start, end, text: lines.slice(start - 1, end).join("\n"), tokens };
}

type Part = { heading: string; body: string; file: IncludedFile };

function part(path: string, reason: IncludedFile["reason"], heading: string, text: string): Part {
  const body = `${heading}\n${fence(path, text)}`;
  return { heading, body, file: { path, reason, tokens: countTokens(body) } };
}

async function selectionAndCurrent(app: App, req: ContextRequest, projectId: string, path: string, budget: { selection: number; current: number }): Promise<Part[]> {
  const text = await liveText(app, projectId, path);
  if (text === null) return [];
  const lines = text.split("\n");
  const parts: Part[] = [];
  const sel = req.selection;
  let selRange: [number, number] | null = null;
  if (sel && sel.startLine >= 1 && sel.startLine <= lines.length) {
    const startLine = sel.startLine;
    const endLine = Math.min(lines.length, Math.max(startLine, sel.endLine));
    const picked = lines.slice(startLine - 1, endLine);
    // Columns narrow the first and last line (Monaco's are 1-based; the end column is exclusive).
    if (picked.length > 0 && sel.endColumn !== undefined) picked[picked.length - 1] = (picked[picked.length - 1] ?? "").slice(0, Math.max(0, sel.endColumn - 1));
    if (picked.length > 0 && sel.startColumn !== undefined) picked[0] = (picked[0] ?? "").slice(Math.max(0, sel.startColumn - 1));
    const selected = picked.join("\n");
    if (selected.trim() !== "") {
      const fit = fitLines(selected, budget.selection);
      const where = startLine === endLine ? `line ${startLine}` : `lines ${startLine}–${endLine}`;
      parts.push(part(path, "selection", `The user selected ${where} of ${path}${fit.cut ? " (cut to fit)" : ""}:`, fit.text));
      selRange = [startLine, endLine];
    }
  }
  const spent = parts.reduce((n, p) => n + p.file.tokens, 0);
  const currentBudget = budget.current + Math.max(0, budget.selection - spent);
  // Counting stops once past the budget: a long file is not counted to its end only to be cut.
  if (countTokens(text, currentBudget - lines.length) + lines.length <= currentBudget) {
    parts.push(part(path, "current", `The file open in the editor, ${path} (${lines.length} lines):`, text));
  } else {
    const [from, to] = selRange ?? [1, 1];
    const w = windowAround(lines, from, to, currentBudget);
    if (w.text.trim() !== "") parts.push(part(path, "current", `The file open in the editor, ${path}: lines ${w.start}–${w.end} of ${lines.length}:`, w.text));
  }
  return parts;
}

/** A question worth searching for has a word or number of three characters or more (not "hi", "ok?", "👍"). */
const SEARCHABLE = /[\p{L}\p{N}_]{3}/u;

async function searchParts(app: App, req: ContextRequest, projectId: string, question: string, exclude: Set<string>, budget: number): Promise<Part[]> {
  if (budget < 40 || !SEARCHABLE.test(question)) return [];
  let hits;
  try {
    hits = await hybridSearch(app, req.actor, question.slice(0, 300), { limit: SEARCH_HITS, projectId });
  } catch (e) {
    // No index (a remote database), no embedder yet: answer without retrieved chunks.
    app.log.warn("ai context: search failed; answering without retrieved chunks", { projectId, error: (e as Error).message });
    return [];
  }
  // Chunks per file, merged where they overlap, in the order of each file's best hit.
  const byFile = new Map<string, [number, number][]>();
  for (const h of hits) {
    if (exclude.has(h.path)) continue;
    const ranges = byFile.get(h.path) ?? [];
    const r: [number, number] = [Math.max(1, h.line - CHUNK_BEFORE), h.line + CHUNK_AFTER];
    const overlap = ranges.find((x) => r[0] <= x[1] + 1 && x[0] <= r[1] + 1);
    if (overlap) {
      overlap[0] = Math.min(overlap[0], r[0]);
      overlap[1] = Math.max(overlap[1], r[1]);
    } else ranges.push(r);
    byFile.set(h.path, ranges);
  }
  const parts: Part[] = [];
  let left = budget;
  for (const [path, ranges] of byFile) {
    const text = await liveText(app, projectId, path);
    if (text === null) continue;
    const lines = text.split("\n");
    const pieces: string[] = [];
    for (const [a, b] of ranges.sort((x, y) => x[0] - y[0])) {
      const end = Math.min(lines.length, b);
      if (a > end) continue;
      pieces.push(`Lines ${a}–${end}:\n${fence(path, lines.slice(a - 1, end).join("\n"))}`);
    }
    if (pieces.length === 0) continue;
    const body = `From ${path} (found by searching the project for the question):\n${pieces.join("\n")}`;
    const tokens = countTokens(body, left);
    if (tokens > left) {
      if (left < 80) break;
      const fit = fitLines(body, left);
      parts.push({ heading: "", body: fit.text, file: { path, reason: "search", tokens: fit.tokens } });
      break;
    }
    parts.push({ heading: "", body, file: { path, reason: "search", tokens } });
    left -= tokens;
  }
  return parts;
}

async function tabParts(app: App, projectId: string, tabs: string[], exclude: Set<string>, budget: number): Promise<Part[]> {
  const parts: Part[] = [];
  let left = budget;
  for (const path of tabs) {
    if (exclude.has(path) || left < 40) continue;
    const text = await liveText(app, projectId, path);
    if (text === null || text.trim() === "") continue;
    const fit = fitLines(text, Math.min(TAB_MAX_TOKENS, left - 20));
    const lineCount = (t: string) => t.split("\n").length;
    const p = part(path, "tab", `Also open in a tab, ${path}${fit.cut ? ` (first ${lineCount(fit.text)} of ${lineCount(text)} lines)` : ""}:`, fit.text);
    parts.push(p);
    exclude.add(path);
    left -= p.file.tokens;
  }
  return parts;
}

/** The newest messages that fit `budget`, and the older ones that slid out. */
export function slideWindow(history: HistoryMessage[], budget: number): { kept: HistoryMessage[]; slidOut: HistoryMessage[] } {
  let used = 0;
  let i = history.length;
  while (i > 0) {
    const cost = messageTokens(history[i - 1] as HistoryMessage);
    if (used + cost > budget) break;
    used += cost;
    i--;
  }
  return { kept: history.slice(i), slidOut: history.slice(0, i) };
}

export async function buildContext(app: App, req: ContextRequest): Promise<BuiltContext> {
  const budget = Math.max(256, req.contextWindow - answerReserve(req.contextWindow));
  const project = req.project;
  const system = project ? `${SYSTEM}\nThe project is “${project.name}”.` : SYSTEM;
  // The question goes in whole unless it alone would not fit: then its newest part is kept.
  const turn = req.turn.map((m) => ({ ...m }));
  const question = turn[turn.length - 1];
  const fixed = countTokens(system) + promptTokens(turn) + 8;
  if (question && fixed > budget * 0.8) question.content = fitLines(question.content, Math.floor(budget * 0.6), true).text;
  const rest = Math.max(0, budget - countTokens(system) - promptTokens(turn) - 8);
  const historyNeed = promptTokens(req.history) + (req.summary ? countTokens(req.summary.text) : 0);
  const filesBudget = rest - Math.min(historyNeed, Math.floor(rest * HISTORY_SHARE));

  const parts: Part[] = [];
  const filePath = cleanPath(req.filePath);
  if (project) {
    const seen = new Set<string>();
    if (filePath) {
      parts.push(...(await selectionAndCurrent(app, req, project.id, filePath, { selection: Math.floor(rest * SELECTION_SHARE), current: Math.floor(rest * CURRENT_SHARE) })));
      seen.add(filePath);
    }
    const tabs = (req.openTabs ?? []).map(cleanPath).filter((p): p is string => p !== null).slice(0, MAX_TABS);
    const used = () => parts.reduce((n, p) => n + p.file.tokens, 0);
    const searchBudget = Math.min(Math.floor(rest * SEARCH_SHARE), filesBudget - used());
    parts.push(...(await searchParts(app, req, project.id, question?.content ?? "", new Set([...seen, ...tabs]), searchBudget)));
    const tabsBudget = Math.min(Math.floor(rest * TABS_SHARE), filesBudget - used());
    parts.push(...(await tabParts(app, project.id, tabs, seen, tabsBudget)));
  }
  const filesTokens = parts.reduce((n, p) => n + p.file.tokens, 0);

  // History: the newest messages that fit; a summary stands for the rest.
  const historyBudget = Math.max(0, rest - filesTokens);
  let window = slideWindow(req.history, historyBudget);
  let summaryText: string | null = null;
  let newSummary: BuiltContext["newSummary"] = null;
  if (window.slidOut.length > 0) {
    const summaryBudget = Math.floor(historyBudget * SUMMARY_SHARE);
    window = slideWindow(req.history, historyBudget - summaryBudget);
    const covered = req.summary?.upto ?? 0;
    const uncovered = window.slidOut.filter((m) => m.id === undefined || m.id > covered);
    if (uncovered.length === 0 && req.summary) summaryText = req.summary.text;
    else {
      try {
        summaryText = await req.summarise(req.summary?.text ?? null, uncovered, req.signal);
        const ids = uncovered.map((m) => m.id);
        newSummary = { text: summaryText, upto: ids.every((id) => id !== undefined) ? Math.max(...(ids as number[])) : null, covers: uncovered };
      } catch (e) {
        if (req.signal.aborted) throw e;
        // Without a summary the older messages are simply left out; the answer can still come.
        app.log.warn("ai context: summarising older messages failed; leaving them out", { error: (e as Error).message });
        summaryText = req.summary?.text ?? null;
      }
    }
    if (summaryText !== null) summaryText = fitLines(summaryText, summaryBudget).text;
  }

  const messages: ChatMessage[] = [{ role: "system", content: system }];
  if (parts.length > 0) messages.push({ role: "system", content: `Project files for this question:\n\n${parts.map((p) => p.body).join("\n\n")}` });
  if (summaryText) messages.push({ role: "system", content: `Summary of the earlier part of this conversation:\n${summaryText}` });
  for (const m of window.kept) messages.push({ role: m.role, content: m.content });
  messages.push(...turn);
  return { messages, files: parts.map((p) => p.file), tokens: promptTokens(messages), newSummary };
}

/** Renders slid-out messages for the summariser. */
export function transcript(messages: HistoryMessage[]): string {
  return messages.map((m) => `${m.role === "assistant" ? "Assistant" : m.role === "user" ? "User" : m.role}: ${m.content}`).join("\n\n");
}

const SUMMARY_WORDS = 200;

/**
 * Summarises through the router (task "summarise": the admin's policy for it, else the enabled
 * providers in order), accounted to the same user, project and conversation as the chat. The
 * previous summary is folded in, so it grows by what slid out since and never re-reads the
 * whole conversation. The transcript is cut to the newest part that fits `contextWindow`.
 */
export function routerSummariser(app: App, o: { actor: Actor; projectId: string | null; conversationId: string | null; contextWindow: number }): Summariser {
  return async (previous, slidOut, signal) => {
    const instruction = `Summarise this conversation between a programmer and a coding assistant in at most ${SUMMARY_WORDS} words. Keep the facts needed to continue it: the goal, file names, decisions, code identifiers, open questions. Write the summary only.`;
    const room = Math.max(256, o.contextWindow - answerReserve(o.contextWindow) - countTokens(instruction) - 64);
    const body = fitLines(`${previous ? `Summary so far:\n${previous}\n\nWhat was said after that:\n` : ""}${transcript(slidOut)}`, room, true).text;
    let text = "";
    const stream = routeChat(
      app,
      { messages: [{ role: "system", content: instruction }, { role: "user", content: body }], maxTokens: SUMMARY_WORDS * 2, temperature: 0.2 },
      { task: "summarise", actor: o.actor, projectId: o.projectId, conversationId: o.conversationId, signal },
    );
    for await (const chunk of stream) if (chunk.type === "token") text += chunk.text;
    return text.trim();
  };
}
