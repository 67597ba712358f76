/**
 * Changing the project's files from the tree (writers only): new file, new folder, upload,
 * rename, move, delete — from the toolbar, F2/Delete in the tree, and drag and drop (drag an
 * item onto a folder to move it; drop files or folders from the computer to upload them).
 * Every change goes through the JSON file API; the server's answer (or error) is shown.
 */
import { ApiFailure, baseName, findNode, joinPath, parentOf, type Api } from "./api.ts";
import { confirm, prompt } from "./dialogs.ts";
import { announce, byId, maybeId } from "./dom.ts";
import type { FileTree } from "./tree.ts";

export type TreeChange = { kind: "created"; path: string } | { kind: "moved"; from: string; to: string } | { kind: "deleted"; path: string };

const DRAG_TYPE = "application/x-wove-path";

/** The same checks as the server's, so most mistakes are caught before a round trip. */
export function checkPath(path: string): string | null {
  if (!path) return "Enter a path.";
  if (path.startsWith("/")) return "Paths are relative to the project root: no leading /.";
  if (path.includes("\\")) return "Use / between folders.";
  const segments = path.replace(/\/$/, "").split("/");
  if (segments.some((s) => s === "")) return "The path has an empty part (//).";
  if (segments.some((s) => s === "." || s === "..")) return 'The path must not contain "." or ".." parts.';
  if (segments.some((s) => /^\.git[. ]*$/i.test(s))) return '".git" is reserved.';
  return null;
}

function failure(e: unknown): string {
  return e instanceof ApiFailure ? e.message : (e as Error).message || "Something went wrong.";
}

export class TreeActions {
  private readonly errorLine = byId("ide-tree-error");
  private readonly upload = maybeId<HTMLInputElement>("ide-upload");
  private dropTarget: HTMLElement | null = null;

  constructor(
    private readonly tree: FileTree,
    private readonly api: Api,
    private readonly refresh: () => Promise<void>,
    private readonly changed: (c: TreeChange) => void,
  ) {}

  wire(): void {
    const tools = byId("ide-tree-tools");
    tools.hidden = false;
    const click = (id: string, fn: () => void) => byId(id).addEventListener("click", fn);
    click("ide-new-file", () => void this.newFile());
    click("ide-new-folder", () => void this.newFolder());
    click("ide-upload-button", () => this.upload?.click());
    click("ide-rename", () => this.withSelection((p) => this.rename(p)));
    click("ide-move", () => this.withSelection((p) => this.moveTo(p)));
    click("ide-delete", () => this.withSelection((p) => this.remove(p)));
    this.upload?.addEventListener("change", () => {
      const files = Array.from(this.upload?.files ?? []).map((file) => ({ path: file.name, file }));
      if (this.upload) this.upload.value = "";
      void this.uploadAll(this.tree.contextDir(), files);
    });
    this.wireDragAndDrop();
  }

  private withSelection(fn: (path: string) => Promise<void>): void {
    if (this.tree.selected) void fn(this.tree.selected);
    else this.showError("Select a file or folder in the tree first.");
  }

  showError(msg: string | null): void {
    this.errorLine.textContent = msg ?? "";
    this.errorLine.hidden = !msg;
  }

  private exists(path: string): boolean {
    return findNode(this.tree.nodes, path) !== undefined;
  }

  async newFile(): Promise<void> {
    const dir = this.tree.contextDir();
    await prompt({
      title: "New file",
      label: "Path",
      hint: "Relative to the project root. Folders in the path are created as needed.",
      value: dir ? `${dir}/` : "",
      select: [dir ? dir.length + 1 : 0, dir ? dir.length + 1 : 0],
      ok: "Create",
      submit: async (path) => {
        const bad = checkPath(path) ?? (this.exists(path) ? "A file or folder with this path already exists." : null);
        if (bad) return bad;
        try {
          await this.api.write(path, "");
        } catch (e) {
          return failure(e);
        }
        await this.after({ kind: "created", path }, `Created ${path}`);
        return null;
      },
    });
  }

  async newFolder(): Promise<void> {
    const dir = this.tree.contextDir();
    await prompt({
      title: "New folder",
      label: "Folder path",
      hint: "Versions store files, not folders: an empty .gitkeep file is added to keep the new folder.",
      value: dir ? `${dir}/` : "",
      ok: "Create folder",
      submit: async (path) => {
        const clean = path.replace(/\/+$/, "");
        const bad = checkPath(clean) ?? (this.exists(clean) ? "A file or folder with this path already exists." : null);
        if (bad) return bad;
        try {
          await this.api.write(`${clean}/.gitkeep`, "");
        } catch (e) {
          return failure(e);
        }
        this.tree.expanded.add(clean);
        await this.after({ kind: "created", path: `${clean}/.gitkeep` }, `Created folder ${clean}`);
        return null;
      },
    });
  }

  async rename(path: string): Promise<void> {
    const name = baseName(path);
    const dot = name.lastIndexOf(".");
    await prompt({
      title: `Rename ${name}`,
      label: "New name",
      value: name,
      select: [0, dot > 0 ? dot : name.length],
      ok: "Rename",
      submit: (next) => (next.includes("/") ? "A name cannot contain /; use Move to put it in another folder." : this.move(path, joinPath(parentOf(path), next))),
    });
  }

  async moveTo(path: string): Promise<void> {
    await prompt({
      title: `Move ${baseName(path)}`,
      label: "Move to folder",
      hint: "A folder path; leave it empty for the project root. Missing folders are created.",
      value: parentOf(path),
      ok: "Move",
      submit: (dir) => this.move(path, joinPath(dir.replace(/\/+$/, ""), baseName(path))),
    });
  }

  /** Moves or renames; returns an error message or null. */
  async move(from: string, to: string): Promise<string | null> {
    if (to === from) return null;
    const bad = checkPath(to) ?? (to.startsWith(`${from}/`) ? "A folder cannot be moved into itself." : null) ?? (this.exists(to) ? `${to} already exists.` : null);
    if (bad) return bad;
    try {
      const r = await this.api.move(from, to);
      await this.after({ kind: "moved", from, to: r.path }, `Moved ${from} to ${r.path}`);
      return null;
    } catch (e) {
      return failure(e);
    }
  }

  async remove(path: string): Promise<void> {
    const isDir = findNode(this.tree.nodes, path)?.type === "dir";
    const text = isDir
      ? `The folder ${path} and everything in it will be deleted for everyone. Saved versions keep their copies.`
      : `${path} will be deleted for everyone. Saved versions keep their copies.`;
    if (!(await confirm(`Delete ${baseName(path)}?`, text, "Delete"))) return;
    try {
      await this.api.remove(path);
    } catch (e) {
      this.showError(failure(e));
      return;
    }
    await this.after({ kind: "deleted", path }, `Deleted ${path}`);
  }

  /** Uploads files into `dir` (paths relative to it, folders included), asking before replacing any. */
  async uploadAll(dir: string, files: { path: string; file: File }[]): Promise<void> {
    if (files.length === 0) return;
    const targets = files.map((f) => ({ ...f, path: joinPath(dir, f.path) }));
    const bad = targets.map((t) => checkPath(t.path)).find((m) => m !== null);
    if (bad) {
      this.showError(bad);
      return;
    }
    const replacing = targets.filter((t) => this.exists(t.path));
    if (replacing.length > 0) {
      const names = replacing.length === 1 ? (replacing[0]?.path ?? "") : `${replacing.length} files`;
      if (!(await confirm("Replace existing files?", `Uploading will replace ${names} for everyone.`, "Replace"))) return;
    }
    this.showError(null);
    let done = 0;
    for (const t of targets) {
      announce(`Uploading ${done + 1} of ${targets.length}: ${t.path}`);
      try {
        await this.api.write(t.path, t.file);
        done++;
      } catch (e) {
        this.showError(`${t.path}: ${failure(e)}`);
        break;
      }
    }
    if (dir) this.tree.expanded.add(dir);
    const first = targets[0]?.path ?? "";
    await this.after({ kind: "created", path: first }, `Uploaded ${done} of ${targets.length} ${targets.length === 1 ? "file" : "files"}`);
  }

  private async after(change: TreeChange, message: string): Promise<void> {
    this.showError(null);
    await this.refresh();
    if (change.kind !== "deleted") this.tree.reveal(change.kind === "moved" ? change.to : change.path);
    this.changed(change);
    announce(message);
  }

  // ---- Drag and drop ----

  private folderAt(target: EventTarget | null): { el: HTMLElement; dir: string } {
    const item = (target as HTMLElement | null)?.closest<HTMLElement>('[role="treeitem"]');
    if (!item) return { el: this.tree.host, dir: "" };
    const path = item.dataset.path ?? "";
    if (item.dataset.type === "dir") return { el: item, dir: path };
    const parent = parentOf(path);
    return { el: (parent && this.tree.itemFor(parent)) || this.tree.host, dir: parent };
  }

  private highlight(el: HTMLElement | null): void {
    if (this.dropTarget === el) return;
    this.dropTarget?.classList.remove("ide-drop-target");
    this.dropTarget = el;
    el?.classList.add("ide-drop-target");
  }

  private wireDragAndDrop(): void {
    const host = this.tree.host;
    host.addEventListener("dragstart", (e) => {
      const item = (e.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
      if (!item || !e.dataTransfer) return;
      e.dataTransfer.setData(DRAG_TYPE, item.dataset.path ?? "");
      e.dataTransfer.effectAllowed = "move";
    });
    host.addEventListener("dragover", (e) => {
      const types = e.dataTransfer?.types ?? [];
      if (!types.includes(DRAG_TYPE) && !types.includes("Files")) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = types.includes(DRAG_TYPE) ? "move" : "copy";
      this.highlight(this.folderAt(e.target).el);
    });
    host.addEventListener("dragleave", (e) => {
      if (!host.contains(e.relatedTarget as Node | null)) this.highlight(null);
    });
    host.addEventListener("dragend", () => this.highlight(null));
    host.addEventListener("drop", (e) => {
      e.preventDefault();
      this.highlight(null);
      const { dir } = this.folderAt(e.target);
      const from = e.dataTransfer?.getData(DRAG_TYPE);
      if (from) {
        if (parentOf(from) === dir) return;
        void this.move(from, joinPath(dir, baseName(from))).then((msg) => this.showError(msg));
        return;
      }
      if (e.dataTransfer) void droppedFiles(e.dataTransfer).then((files) => this.uploadAll(dir, files));
    });
  }
}

/** Files dropped from the computer, with folders walked (their relative paths kept). */
async function droppedFiles(dt: DataTransfer): Promise<{ path: string; file: File }[]> {
  const entries = Array.from(dt.items).map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => Boolean(e));
  if (entries.length === 0) return Array.from(dt.files).map((file) => ({ path: file.name, file }));
  const out: { path: string; file: File }[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ path, file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        // readEntries returns the folder in batches; an empty batch means done.
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, path);
      }
    }
  };
  for (const e of entries) await walk(e, "");
  return out;
}
