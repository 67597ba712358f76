/**
 * What lets the IDE keep working offline beyond the documents themselves (y-indexeddb keeps
 * those): the path → document id map, so a file opened before can be reopened without the
 * server, the open tabs across reloads, and the browser's own online/offline signal.
 *
 * The connectivity signal matters because a browser that goes offline does not close open
 * WebSockets at once (it may take minutes for TCP to notice, and test browsers' offline mode
 * never closes them): reacting to `offline` shows the truth immediately and stops futile
 * reconnect attempts until `online`.
 */

function readJson<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : fallback;
  } catch {
    return fallback;
  }
}

function writeJson(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the IDE works without these conveniences.
  }
}

/** Path → document id of files opened before in this browser. */
export class DocIds {
  private readonly key: string;
  private map: Record<string, string>;

  constructor(projectId: string) {
    this.key = `wove:doc-ids:${projectId}`;
    this.map = readJson<Record<string, string>>(this.key, {});
  }

  get(path: string): string | undefined {
    return Object.hasOwn(this.map, path) ? this.map[path] : undefined;
  }

  set(path: string, docId: string): void {
    if (this.map[path] === docId) return;
    this.map[path] = docId;
    writeJson(this.key, this.map);
  }

  forget(path: string): void {
    if (!Object.hasOwn(this.map, path)) return;
    delete this.map[path];
    writeJson(this.key, this.map);
  }
}

export type SavedTabs = { paths: string[]; active: string | null };

/** The tabs a person had open in a project, restored on their next visit. */
export class TabMemory {
  private readonly key: string;

  constructor(projectId: string, userId: string) {
    this.key = `wove:tabs:${projectId}:${userId || "guest"}`;
  }

  load(): SavedTabs {
    const v = readJson<SavedTabs>(this.key, { paths: [], active: null });
    return { paths: Array.isArray(v.paths) ? v.paths.filter((p) => typeof p === "string").slice(0, 30) : [], active: typeof v.active === "string" ? v.active : null };
  }

  save(tabs: SavedTabs): void {
    writeJson(this.key, tabs);
  }
}

/** Calls `offline` and `online` as the browser's connectivity changes. */
export function watchConnectivity(handlers: { offline(): void; online(): void }): void {
  window.addEventListener("offline", () => handlers.offline());
  window.addEventListener("online", () => handlers.online());
}
