/**
 * The file tree: an ARIA tree (roving tabindex, arrow keys, Home/End, Enter) over the
 * project's files from the JSON API. Only expanded folders render their children, so large
 * projects stay quick. Changing the tree (create, rename, move, delete, upload, drag and
 * drop) lives in tree-actions.ts; this module draws and navigates.
 */
import { findNode, parentOf, type TreeNode } from "./api.ts";
import { h, icon } from "./dom.ts";

export type TreeEvents = {
  /** A file was chosen: by click (the focus stays in the tree) or Enter (`focusEditor`). */
  open(path: string, focusEditor: boolean): void;
  /** F2 / Delete on an item (writers only; the actions module decides). */
  key?(action: "rename" | "delete", path: string): void;
};

export class FileTree {
  nodes: TreeNode[] = [];
  readonly expanded = new Set<string>();
  selected: string | null = null;
  /** The file shown in the editor (aria-current). */
  current: string | null = null;
  readonly root: HTMLUListElement;
  private loaded = false;

  constructor(
    readonly host: HTMLElement,
    private readonly events: TreeEvents,
    /** Writers may drag items to move them (tree-actions.ts handles the drop). */
    private readonly draggable: boolean,
  ) {
    this.root = h("ul", { class: "plain ide-tree", role: "tree", "aria-label": "Files", "aria-multiselectable": "false" });
    this.root.addEventListener("keydown", (e) => this.onKey(e));
    this.root.addEventListener("click", (e) => this.onClick(e));
  }

  setNodes(nodes: TreeNode[]): void {
    const first = !this.loaded;
    this.loaded = true;
    this.nodes = nodes;
    // Forget folders that no longer exist so they do not reopen if someone recreates them.
    for (const p of [...this.expanded]) if (findNode(nodes, p)?.type !== "dir") this.expanded.delete(p);
    if (this.selected && !findNode(nodes, this.selected)) this.selected = null;
    // The first listing for a file opened before it arrived: show where that file is.
    if (first && this.current && findNode(nodes, this.current)) {
      for (let p = parentOf(this.current); p; p = parentOf(p)) this.expanded.add(p);
      this.selected ??= this.current;
    }
    this.render();
  }

  /** Expands the folders above `path` and selects it. */
  reveal(path: string, focus = false): void {
    for (let p = parentOf(path); p; p = parentOf(p)) this.expanded.add(p);
    this.selected = path;
    this.render();
    if (focus) this.itemFor(path)?.focus();
  }

  setCurrent(path: string | null): void {
    this.current = path;
    if (path && findNode(this.nodes, path)) this.reveal(path);
    else this.render();
  }

  /** The folder new files go into: the selected folder, or the selected file's folder. */
  contextDir(): string {
    if (!this.selected) return "";
    return findNode(this.nodes, this.selected)?.type === "dir" ? this.selected : parentOf(this.selected);
  }

  focus(): void {
    const item = (this.selected && this.itemFor(this.selected)) || this.root.querySelector<HTMLElement>('[role="treeitem"]');
    item?.focus();
  }

  itemFor(path: string): HTMLElement | null {
    for (const el of Array.from(this.root.querySelectorAll<HTMLElement>('[role="treeitem"]'))) if (el.dataset.path === path) return el;
    return null;
  }

  render(): void {
    // Until the first listing arrives, the server-rendered tree (plain links) stays.
    if (!this.loaded) return;
    const hadFocus = this.root.contains(document.activeElement);
    const items = this.list(this.nodes, 1);
    this.root.replaceChildren(...items);
    if (this.nodes.length === 0) this.root.append(h("li", { class: "muted small ide-tree-empty", role: "none" }, "No files yet."));
    // Roving tabindex: exactly one item is reachable with Tab.
    const all = this.visibleItems();
    const tabbable = (this.selected && all.find((el) => el.dataset.path === this.selected)) || all[0];
    if (tabbable) tabbable.tabIndex = 0;
    if (!this.root.isConnected) this.host.replaceChildren(this.root);
    if (hadFocus) tabbable?.focus();
  }

  private list(nodes: TreeNode[], level: number): HTMLLIElement[] {
    return nodes.map((n) => {
      const isDir = n.type === "dir";
      const open = isDir && this.expanded.has(n.path);
      const li = h(
        "li",
        {
          role: "treeitem",
          "aria-level": level,
          "aria-expanded": isDir ? String(open) : undefined,
          "aria-selected": String(this.selected === n.path),
          "aria-current": this.current === n.path ? "page" : undefined,
          "data-path": n.path,
          "data-type": n.type,
          tabindex: -1,
        },
        h(
          "div",
          { class: "ide-tree-row", style: `--level:${level}`, draggable: this.draggable ? "true" : undefined, title: n.path },
          icon(isDir ? (open ? "folder-opened" : "folder") : "file"),
          h("span", { class: "ide-tree-name" }, n.name),
        ),
      );
      if (open) {
        const group = h("ul", { class: "plain", role: "group" });
        group.append(...this.list(n.children ?? [], level + 1));
        li.append(group);
      }
      return li;
    });
  }

  /** Items the keyboard can reach (inside expanded folders), in screen order. */
  private visibleItems(): HTMLElement[] {
    return Array.from(this.root.querySelectorAll<HTMLElement>('[role="treeitem"]'));
  }

  private toggle(path: string, open?: boolean): void {
    const want = open ?? !this.expanded.has(path);
    if (want) this.expanded.add(path);
    else this.expanded.delete(path);
    this.selected = path;
    this.render();
  }

  private activate(item: HTMLElement, byKeyboard: boolean): void {
    const path = item.dataset.path ?? "";
    if (item.dataset.type === "dir") this.toggle(path);
    else {
      this.selected = path;
      this.render();
      this.events.open(path, byKeyboard);
    }
  }

  private onClick(e: MouseEvent): void {
    const row = (e.target as HTMLElement).closest(".ide-tree-row");
    const item = row?.parentElement;
    if (!item || item.getAttribute("role") !== "treeitem") return;
    this.activate(item, false);
    // Keep the keyboard where the click was, so F2, Delete and the arrows work next.
    this.itemFor(item.dataset.path ?? "")?.focus();
  }

  private onKey(e: KeyboardEvent): void {
    const item = (e.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
    if (!item || e.altKey || e.ctrlKey || e.metaKey) return;
    const path = item.dataset.path ?? "";
    const isDir = item.dataset.type === "dir";
    const items = this.visibleItems();
    const i = items.indexOf(item);
    const move = (to: HTMLElement | undefined) => {
      if (!to) return;
      this.selected = to.dataset.path ?? null;
      for (const el of items) {
        el.tabIndex = el === to ? 0 : -1;
        el.setAttribute("aria-selected", String(el === to));
      }
      to.focus();
    };
    switch (e.key) {
      case "ArrowDown":
        move(items[i + 1]);
        break;
      case "ArrowUp":
        move(items[i - 1]);
        break;
      case "Home":
        move(items[0]);
        break;
      case "End":
        move(items[items.length - 1]);
        break;
      case "ArrowRight":
        if (isDir && !this.expanded.has(path)) this.toggle(path, true);
        else if (isDir) move(items[i + 1]?.dataset.path?.startsWith(`${path}/`) ? items[i + 1] : undefined);
        break;
      case "ArrowLeft":
        if (isDir && this.expanded.has(path)) this.toggle(path, false);
        else if (parentOf(path)) move(items.find((el) => el.dataset.path === parentOf(path)));
        break;
      case "Enter":
        this.activate(item, true);
        break;
      case " ":
        this.activate(item, false);
        break;
      case "F2":
        this.events.key?.("rename", path);
        break;
      case "Delete":
        this.events.key?.("delete", path);
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}
