/**
 * What the code-search indexer tells other indexers (the semantic index, src/search/semantic.ts):
 * a text file's indexed content changed, or a file left the index. Listeners run after the
 * change is committed, in registration order, awaited one after the other; an error is logged
 * with the listener's name and does not stop the indexer. A listener must be quick (queue its
 * own work): the code indexer waits for it before the next batch. The optional second argument
 * names the listener in that log line (default: the function's name).
 *
 * - `onFileIndexed`: a text file was (re)indexed with new content — also after `wove admin
 *   reindex`. `text` is what code search indexed: the whole file, or for a file over
 *   WOVE_SEARCH_MAX_FILE its first part (cut at a line end). Binary files never arrive here.
 * - `onFileRemoved`: the file is gone from the index (deleted, became binary, or its project was
 *   reindexed without it). A project deletion removes rows by cascade without calling this:
 *   listeners' rows that reference search_files ON DELETE CASCADE go with it.
 * - A rename keeps the file's id (the search_files row changes path in place): no listener is
 *   called, since the content and every row keyed by the file id stay right.
 */
import type { App } from "../core/app.ts";

export type FileIndexed = { app: App; projectId: string; fileId: number; path: string; lang: string; text: string };
export type FileRemoved = { app: App; projectId: string; fileId: number; path: string };

type Named<T> = { name: string; fn: (e: T) => void | Promise<void> };

const indexed: Named<FileIndexed>[] = [];
const removed: Named<FileRemoved>[] = [];

function register<T>(list: Named<T>[], name: string, fn: (e: T) => void | Promise<void>): () => void {
  const entry = { name, fn };
  list.push(entry);
  return () => {
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
  };
}

/** Calls `fn` after a text file's indexed content changed. Returns the unregister. */
export function onFileIndexed(fn: (e: FileIndexed) => void | Promise<void>, name = fn.name || "anonymous"): () => void {
  return register(indexed, name, fn);
}

/** Calls `fn` after a file left the index. Returns the unregister. */
export function onFileRemoved(fn: (e: FileRemoved) => void | Promise<void>, name = fn.name || "anonymous"): () => void {
  return register(removed, name, fn);
}

async function run<T extends { app: App; projectId: string; path: string }>(list: Named<T>[], hook: string, e: T): Promise<void> {
  for (const { name, fn } of [...list]) {
    try {
      await fn(e);
    } catch (err) {
      e.app.log.error("search hook failed", { hook, listener: name, projectId: e.projectId, path: e.path, error: (err as Error).message });
    }
  }
}

export function fileIndexed(e: FileIndexed): Promise<void> {
  return indexed.length === 0 ? Promise.resolve() : run(indexed, "onFileIndexed", e);
}

export function fileRemoved(e: FileRemoved): Promise<void> {
  return removed.length === 0 ? Promise.resolve() : run(removed, "onFileRemoved", e);
}
