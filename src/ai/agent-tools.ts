/**
 * The tools agents may call, all confined to one project: read a file (as collaborators see it
 * now), list files, search (the hybrid code + meaning search with the project filter), and
 * propose an edit (a code action the person reviews). The project comes from the run, never
 * from the model's arguments; paths go through validatePath. Nothing here executes code.
 * A tool never throws at the model: a refusal is its answer, so the model can correct itself.
 */
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import type { Project } from "../db/schema.ts";
import { ApiError } from "../lib/errors.ts";
import { listTree, validatePath, type TreeNode } from "../projects/files.ts";
import { hybridSearch } from "../search/hybrid.ts";
import { searchCode } from "../search/code.ts";
import { parseQuery } from "../search/query.ts";
import type { CodeHit } from "../search/types.ts";
import { currentText, proposeAction, type CodeAction } from "./actions.ts";
import type { ToolCall, ToolSpec } from "./types.ts";

/** A file read is cut after this many characters (the model is told, and may ask for a line range). */
export const READ_MAX_CHARS = 24_000;
export const LIST_MAX_ENTRIES = 400;
export const SEARCH_MAX_HITS = 10;

export type ToolEnv = { app: App; actor: Actor; project: Project; conversationId: string | null; signal: AbortSignal };

/** What a tool answered: the text the model gets, a one-line note for the agent log, and an action when one was proposed. */
export type ToolResult = { text: string; log: string; action?: CodeAction };

export const READ_FILE: ToolSpec = {
  name: "read_file",
  description: "Read a text file of the project. Optionally only lines start_line..end_line (1-based, inclusive).",
  parameters: {
    type: "object",
    properties: {
      path: { type: "string", description: "Path relative to the project root, e.g. src/index.ts" },
      start_line: { type: "integer", minimum: 1 },
      end_line: { type: "integer", minimum: 1 },
    },
    required: ["path"],
  },
};

export const LIST_FILES: ToolSpec = {
  name: "list_files",
  description: "List the project's files (paths with sizes), optionally only under one folder.",
  parameters: { type: "object", properties: { folder: { type: "string", description: "A folder path; omit for the whole project" } } },
};

export const SEARCH: ToolSpec = {
  name: "search",
  description: "Search the project's code by words, identifiers or meaning. Returns file paths, line numbers and snippets.",
  parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
};

export const PROPOSE_EDIT: ToolSpec = {
  name: "propose_edit",
  description:
    "Propose changes to one or more files for the user to review and apply. Give the COMPLETE new content of each file (not a diff); a path that does not exist yet creates the file.",
  parameters: {
    type: "object",
    properties: {
      summary: { type: "string", description: "One line: what the change does" },
      edits: {
        type: "array",
        items: { type: "object", properties: { path: { type: "string" }, content: { type: "string" } }, required: ["path", "content"] },
      },
    },
    required: ["summary", "edits"],
  },
};

export const READ_TOOLS: ToolSpec[] = [READ_FILE, LIST_FILES, SEARCH];

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined);

function reason(e: unknown): string {
  return e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
}

async function readTool(env: ToolEnv, args: Record<string, unknown>): Promise<ToolResult> {
  const raw = str(args.path);
  if (!raw) return { text: "read_file needs a `path`.", log: "read_file without a path" };
  const path = validatePath(raw.replace(/^\.?\//, ""));
  const text = await currentText(env.app, env.project.id, path);
  if (text === null) return { text: `There is no file "${path}" in the project. Use list_files to see what exists.`, log: `read_file ${path}: no such file` };
  const lines = text.split("\n");
  const start = int(args.start_line) ?? 1;
  const end = Math.min(int(args.end_line) ?? lines.length, lines.length);
  let body = lines.slice(start - 1, end).join("\n");
  const ranged = start > 1 || end < lines.length;
  let cut = "";
  if (body.length > READ_MAX_CHARS) {
    body = body.slice(0, READ_MAX_CHARS);
    const shown = body.split("\n").length;
    cut = `\n[… cut after line ${start + shown - 1} of ${lines.length}; read further with start_line]`;
  }
  const head = ranged ? `${path} (lines ${start}-${end} of ${lines.length})` : `${path} (${lines.length} lines)`;
  return { text: `${head}\n${body}${cut}`, log: `read_file ${path}${ranged ? `:${start}-${end}` : ""}` };
}

function flatten(nodes: TreeNode[], out: TreeNode[]): void {
  for (const n of nodes) {
    if (n.type === "file") out.push(n);
    else flatten(n.children ?? [], out);
  }
}

async function listTool(env: ToolEnv, args: Record<string, unknown>): Promise<ToolResult> {
  const rawFolder = str(args.folder)?.replace(/^\.\/|^\.$|^\//, "").replace(/\/$/, "");
  const folder = rawFolder ? validatePath(rawFolder) : "";
  const files: TreeNode[] = [];
  flatten(await listTree(env.app.config.dataDir, env.project.id), files);
  const under = folder ? files.filter((f) => f.path.startsWith(`${folder}/`)) : files;
  const shown = under.slice(0, LIST_MAX_ENTRIES).map((f) => `${f.path} (${f.size ?? 0} bytes)`);
  const more = under.length > shown.length ? `\n[… ${under.length - shown.length} more; list a folder to see them]` : "";
  const where = folder ? ` under ${folder}/` : "";
  if (under.length === 0) return { text: `No files${where}.`, log: `list_files${where}: none` };
  return { text: `${under.length} files${where}:\n${shown.join("\n")}${more}`, log: `list_files${where}: ${under.length} files` };
}

async function searchTool(env: ToolEnv, args: Record<string, unknown>): Promise<ToolResult> {
  const query = str(args.query)?.trim();
  if (!query) return { text: "search needs a `query`.", log: "search without a query" };
  let hits: CodeHit[];
  try {
    hits = await hybridSearch(env.app, env.actor, query, { limit: SEARCH_MAX_HITS, projectId: env.project.id });
  } catch {
    // Meaning search is unavailable (a remote database, no index yet): keyword search alone.
    hits = (await searchCode(env.app, { kind: "project", projectId: env.project.id }, parseQuery(query), { regex: false, caseSensitive: false, limit: SEARCH_MAX_HITS })).results;
  }
  // Belt and braces: whatever the scope, only this project's files reach the model.
  hits = hits.filter((h) => h.projectId === env.project.id);
  if (hits.length === 0) return { text: `No matches for "${query}".`, log: `search "${query}": no matches` };
  const text = hits.map((h) => `${h.path}:${h.line}\n${h.snippet}`).join("\n\n");
  return { text, log: `search "${query}": ${hits.length} matches` };
}

async function proposeTool(env: ToolEnv, args: Record<string, unknown>): Promise<ToolResult> {
  const summary = str(args.summary) ?? "";
  const list = Array.isArray(args.edits) ? args.edits : [];
  const edits: { path: string; after: string }[] = [];
  for (const e of list) {
    const o = (e && typeof e === "object" ? e : {}) as Record<string, unknown>;
    const path = str(o.path);
    const after = str(o.content) ?? str(o.after);
    if (!path || after === undefined) return { text: "Each edit needs a `path` and the file's complete new `content`.", log: "propose_edit: malformed edits" };
    edits.push({ path: path.replace(/^\.?\//, ""), after });
  }
  const userId = env.actor.kind === "user" ? env.actor.user.id : null;
  const action = await proposeAction(env.app, { projectId: env.project.id, conversationId: env.conversationId, userId, summary, edits });
  const files = action.edits.map((e) => e.path);
  return {
    text: `Proposed edit ${action.id} to ${files.join(", ")}. The user now reviews the diff and decides whether to apply it; do not propose the same change again.`,
    log: `proposed an edit to ${files.join(", ")}`,
    action,
  };
}

const TOOLS: Record<string, (env: ToolEnv, args: Record<string, unknown>) => Promise<ToolResult>> = {
  read_file: readTool,
  list_files: listTool,
  search: searchTool,
  propose_edit: proposeTool,
};

/** Runs one tool call among `allowed`; failures become the answer. */
export async function runTool(env: ToolEnv, call: ToolCall, allowed: ToolSpec[]): Promise<ToolResult> {
  const tool = allowed.some((t) => t.name === call.name) ? TOOLS[call.name] : undefined;
  if (!tool) return { text: `There is no tool "${call.name}". Available: ${allowed.map((t) => t.name).join(", ")}.`, log: `asked for an unknown tool "${call.name}"` };
  try {
    return await tool(env, call.arguments ?? {});
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { text: `${call.name} failed: ${reason(e)}`, log: `${call.name} failed: ${reason(e)}` };
  }
}
