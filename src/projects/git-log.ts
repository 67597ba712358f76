/**
 * Reading git's output: `git log` records (with the files each commit changed) and
 * `git ls-tree` listings, turned into the shapes the versions API returns.
 * Pure functions over bytes; nothing here runs git.
 */
import type { TreeNode } from "./files.ts";

const decoder = new TextDecoder();

export type ChangeStatus = "added" | "modified" | "deleted" | "typechange" | "renamed" | "copied" | "unmerged" | "unknown";
export type ChangedFile = { path: string; status: ChangeStatus };
export type LogEntry = {
  sha: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  /** Author time, ms since the epoch. */
  at: number;
  message: string;
  filesChanged: number;
  /** The first `maxFiles` changed files, in git's order. */
  files: ChangedFile[];
};

const STATUS: Record<string, ChangeStatus> = { A: "added", M: "modified", D: "deleted", T: "typechange", R: "renamed", C: "copied", U: "unmerged" };

/** `git log` arguments whose output `parseLog` reads: metadata, then `--name-status` (first parent for merges). */
export const LOG_FORMAT_ARGS = ["-z", "--format=%x1e%H%x00%P%x00%an%x00%ae%x00%at%x00%B", "--name-status", "--no-renames", "--diff-merges=first-parent"];

/**
 * Parses `git log` output made with LOG_FORMAT_ARGS. Records start with 0x1E; fields are
 * NUL-terminated; then `status NUL path NUL` pairs. A path may contain any byte but NUL, and
 * it always follows a status token, so a 0x1E in a path cannot be mistaken for a new record.
 */
export function parseLog(out: Uint8Array, maxFiles = 100): LogEntry[] {
  const text = decoder.decode(out);
  const entries: LogEntry[] = [];
  let i = 0;
  const field = (): string => {
    const end = text.indexOf("\0", i);
    const stop = end === -1 ? text.length : end;
    const value = text.slice(i, stop);
    i = stop + 1;
    return value;
  };
  while (i < text.length) {
    if (text[i] !== "\x1e") {
      i++;
      continue;
    }
    i++;
    const sha = field();
    const parents = field().split(" ").filter(Boolean);
    const authorName = field();
    const authorEmail = field();
    const at = Number(field()) * 1000;
    const message = field().replace(/\n+$/, "");
    if (text[i] === "\n") i++;
    const entry: LogEntry = { sha, parents, authorName, authorEmail, at, message, filesChanged: 0, files: [] };
    while (i < text.length && text[i] !== "\x1e") {
      const status = field();
      const path = field();
      if (status === "" && path === "") continue;
      entry.filesChanged++;
      if (entry.files.length < maxFiles) entry.files.push({ path, status: STATUS[status.charAt(0)] ?? "unknown" });
    }
    entries.push(entry);
  }
  return entries;
}

export type TreeEntry = { path: string; type: "file" | "dir"; size?: number };

/** Parses `git ls-tree -r -t -z --long`: `<mode> <type> <oid> <size>\t<path>` records. Submodules are left out. */
export function parseLsTree(out: Uint8Array): TreeEntry[] {
  const list: TreeEntry[] = [];
  for (const rec of decoder.decode(out).split("\0")) {
    const tab = rec.indexOf("\t");
    if (tab < 0) continue;
    const [, type, , size] = rec.slice(0, tab).split(/ +/);
    const path = rec.slice(tab + 1);
    if (type === "tree") list.push({ path, type: "dir" });
    else if (type === "blob") list.push({ path, type: "file", size: Number(size) });
  }
  return list;
}

const byDirsThenName = (a: TreeNode, b: TreeNode) =>
  a.type !== b.type ? (a.type === "dir" ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Nests ls-tree entries into the files API's tree shape: folders first, then by name. */
export function treeFromEntries(entries: TreeEntry[]): TreeNode[] {
  const root: TreeNode[] = [];
  const dirs = new Map<string, TreeNode[]>([["", root]]);
  for (const e of entries) {
    const slash = e.path.lastIndexOf("/");
    const parent = dirs.get(slash < 0 ? "" : e.path.slice(0, slash));
    if (!parent) continue;
    const name = e.path.slice(slash + 1);
    if (e.type === "dir") {
      const children: TreeNode[] = [];
      dirs.set(e.path, children);
      parent.push({ name, path: e.path, type: "dir", children });
    } else {
      parent.push({ name, path: e.path, type: "file", size: e.size });
    }
  }
  for (const list of dirs.values()) list.sort(byDirsThenName);
  return root;
}
