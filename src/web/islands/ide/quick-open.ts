/**
 * Quick open (Ctrl/Cmd-P): a fuzzy file finder in a modal dialog. The input is a combobox
 * over a listbox; ↑/↓ move the active option (aria-activedescendant), Enter opens it,
 * Escape closes; matched characters are highlighted.
 */
import { baseName, parentOf } from "./api.ts";
import { byId, h } from "./dom.ts";
import { rankPaths, type Ranked } from "./fuzzy.ts";

const LIMIT = 50;

/** The path with the matched characters in <mark>, the file name first and its folder after. */
function label(r: Ranked): HTMLElement[] {
  const hit = new Set(r.positions);
  const marked = (text: string, offset: number): (Node | string)[] => {
    const out: (Node | string)[] = [];
    let run = "";
    let inMark = false;
    const flush = () => {
      if (run) out.push(inMark ? h("mark", {}, run) : run);
      run = "";
    };
    for (let i = 0; i < text.length; i++) {
      const m = hit.has(offset + i);
      if (m !== inMark) {
        flush();
        inMark = m;
      }
      run += text.charAt(i);
    }
    flush();
    return out;
  };
  const dir = parentOf(r.path);
  const nameStart = dir ? dir.length + 1 : 0;
  return [h("span", { class: "ide-qo-name" }, ...marked(baseName(r.path), nameStart)), h("span", { class: "ide-qo-dir muted" }, ...(dir ? marked(dir, 0) : []))];
}

export class QuickOpen {
  private readonly dialog = byId<HTMLDialogElement>("ide-quick-open");
  private readonly input = byId<HTMLInputElement>("ide-quick-open-input");
  private readonly list = byId<HTMLUListElement>("ide-quick-open-list");
  private results: Ranked[] = [];
  private index = 0;

  constructor(
    private readonly paths: () => string[],
    private readonly recent: () => string[],
    private readonly open: (path: string) => void,
  ) {
    this.input.addEventListener("input", () => this.update());
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.list.addEventListener("click", (e) => {
      const li = (e.target as HTMLElement).closest<HTMLElement>("[role=option]");
      if (li) this.choose(Number(li.dataset.index));
    });
    // A click on the backdrop (outside the dialog's box) closes it, like Escape.
    this.dialog.addEventListener("click", (e) => {
      if (e.target === this.dialog) this.dialog.close();
    });
  }

  show(): void {
    if (this.dialog.open) return;
    this.input.value = "";
    this.update();
    this.dialog.showModal();
    this.input.focus();
  }

  private update(): void {
    const q = this.input.value;
    const all = this.paths();
    if (q.trim() === "") {
      // Empty query: open tabs first (most useful), then the project's files in order.
      const recent = this.recent().filter((p) => all.includes(p));
      const rest = all.filter((p) => !recent.includes(p));
      this.results = [...recent, ...rest].slice(0, LIMIT).map((path) => ({ path, score: 0, positions: [] }));
    } else {
      this.results = rankPaths(q, all, LIMIT);
    }
    this.index = 0;
    this.render();
  }

  private render(): void {
    const items = this.results.map((r, i) =>
      h("li", { role: "option", id: `ide-qo-${i}`, "data-index": i, "aria-selected": String(i === this.index), title: r.path }, ...label(r)),
    );
    if (items.length === 0) items.push(h("li", { class: "muted ide-qo-none", role: "presentation" }, this.paths().length === 0 ? "This project has no files yet." : "No file matches."));
    this.list.replaceChildren(...items);
    this.input.setAttribute("aria-activedescendant", this.results.length ? `ide-qo-${this.index}` : "");
    document.getElementById(`ide-qo-${this.index}`)?.scrollIntoView({ block: "nearest" });
  }

  private onKey(e: KeyboardEvent): void {
    const n = this.results.length;
    if (e.key === "ArrowDown" && n) this.index = (this.index + 1) % n;
    else if (e.key === "ArrowUp" && n) this.index = (this.index - 1 + n) % n;
    else if (e.key === "PageDown" && n) this.index = Math.min(n - 1, this.index + 10);
    else if (e.key === "PageUp" && n) this.index = Math.max(0, this.index - 10);
    else if (e.key === "Enter") {
      e.preventDefault();
      this.choose(this.index);
      return;
    } else return;
    e.preventDefault();
    this.render();
  }

  private choose(i: number): void {
    const r = this.results[i];
    if (!r) return;
    this.dialog.close();
    this.open(r.path);
  }
}
