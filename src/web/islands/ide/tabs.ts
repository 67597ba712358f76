/**
 * Open files as tabs: each tab owns a DocSession once it has been shown (restored tabs connect
 * lazily), keeps its scroll/cursor view state, and shows what the server said about the file —
 * binary ("download it instead"), deleted, moved, no access — instead of a document.
 */
import type { editor } from "monaco-editor";
import { ApiFailure, baseName, type Api } from "./api.ts";
import { DocSession, type SessionOptions } from "./collab.ts";
import type { PresenceUser, RemoteCursorStyles } from "./cursors.ts";
import { byId, formatBytes, h, icon } from "./dom.ts";
import type { DocIds, TabMemory } from "./offline.ts";

export type TabState = "idle" | "opening" | "doc" | "binary" | "error";

export type Tab = {
  path: string;
  state: TabState;
  session: DocSession | null;
  message?: string;
  size?: number;
  view: editor.ICodeEditorViewState | null;
  el: HTMLElement;
  /** A line to reveal and select once the document has loaded (`?line=N` from a search result). */
  line?: number;
};

export type TabsOptions = {
  projectId: string;
  api: Api;
  editor: editor.IStandaloneCodeEditor;
  cursors: RemoteCursorStyles;
  user: PresenceUser;
  readOnly: boolean;
  docIds: DocIds;
  memory: TabMemory;
  /** The shown tab changed (or its session's state did). */
  changed(tab: Tab | null): void;
  /** The file's size from the tree, for files the server will not open as documents. */
  sizeOf(path: string): number | undefined;
  /** A file was moved by someone else (close code 4301): its new path, if it can be found. */
  relocate(tab: Tab): Promise<string | null>;
};

const READ_ONLY_MESSAGE = "You can read this project but not change it.";
const LOADING_MESSAGE = "The file is still loading; you can type once it is here.";

export class Tabs {
  readonly tabs: Tab[] = [];
  active: Tab | null = null;
  /** Sessions closed with 4301 whose new path is being looked up (once per session). */
  private readonly relocating = new WeakSet<DocSession>();
  private readonly bar = byId("ide-tabs");
  private readonly banner: HTMLElement;
  private readonly panel: HTMLElement;
  private readonly monacoHost: HTMLElement;

  constructor(
    private readonly o: TabsOptions,
    monacoHost: HTMLElement,
  ) {
    this.monacoHost = monacoHost;
    const area = byId("ide-editor");
    this.banner = h("div", { class: "ide-banner", role: "alert", hidden: true });
    this.panel = h("div", { class: "ide-panel", hidden: true });
    area.prepend(this.banner);
    area.append(this.panel);
    this.bar.addEventListener("keydown", (e) => this.onKey(e));
  }

  find(path: string): Tab | undefined {
    return this.tabs.find((t) => t.path === path);
  }

  /** Opens (or shows) a file's tab. `lazy`: only add the tab (restoring a previous visit). `line`: go to that line once loaded. */
  open(path: string, opts: { lazy?: boolean; focus?: boolean; line?: number } = {}): Tab {
    let tab = this.find(path);
    if (!tab) {
      tab = { path, state: "idle", session: null, view: null, el: h("div") };
      tab.el = this.tabElement(tab);
      this.tabs.push(tab);
      this.bar.append(tab.el);
    }
    if (opts.line) tab.line = opts.line;
    if (!opts.lazy) this.activate(tab, opts.focus ?? true);
    this.remember();
    return tab;
  }

  private tabElement(tab: Tab): HTMLElement {
    const close = h("button", { type: "button", class: "ide-tab-close", tabindex: -1, title: "Close (Alt+W)", "aria-label": `Close ${tab.path}` }, icon("close"));
    const el = h("div", { role: "tab", class: "ide-tab", "aria-selected": "false", "aria-controls": "ide-editor", tabindex: -1, title: tab.path }, h("span", { class: "ide-tab-dot", "aria-hidden": "true" }), h("span", { class: "ide-tab-name" }, baseName(tab.path)), close);
    el.addEventListener("click", (e) => {
      if ((e.target as HTMLElement).closest(".ide-tab-close")) this.close(tab);
      else this.activate(tab, true);
    });
    el.addEventListener("auxclick", (e) => {
      if (e.button === 1) this.close(tab);
    });
    return el;
  }

  activate(tab: Tab, focusEditor: boolean): void {
    if (this.active && this.active !== tab) {
      this.active.view = this.o.editor.saveViewState();
      this.active.session?.deactivated();
    }
    this.active = tab;
    for (const t of this.tabs) {
      const on = t === tab;
      t.el.setAttribute("aria-selected", String(on));
      t.el.tabIndex = on ? 0 : -1;
    }
    tab.el.scrollIntoView({ block: "nearest", inline: "nearest" });
    if (tab.state === "idle") void this.connect(tab);
    this.show(tab, focusEditor);
    this.remember();
  }

  /** Puts the tab's document (or its message) in the editor area. */
  private show(tab: Tab, focusEditor = false): void {
    if (this.active !== tab) return;
    const ed = this.o.editor;
    const session = tab.state === "doc" ? tab.session : null;
    this.monacoHost.hidden = !session;
    this.panel.hidden = Boolean(session);
    if (session) {
      if (ed.getModel() !== session.model) {
        ed.setModel(session.model);
        if (tab.view) ed.restoreViewState(tab.view);
        session.activated();
      }
      const st = session.state();
      const reason = this.o.readOnly ? READ_ONLY_MESSAGE : st.kind === "closed" ? st.message : LOADING_MESSAGE;
      ed.updateOptions({ readOnly: !session.editable, readOnlyMessage: { value: reason }, ariaLabel: `${tab.path}${session.editable ? "" : " (read-only)"}` });
      if (tab.line && session.isLoaded) this.goToLine(tab, tab.line);
      this.banner.hidden = st.kind !== "closed";
      this.banner.replaceChildren(st.kind === "closed" ? st.message : "");
      if (st.kind === "closed" && st.code === 4401) {
        this.banner.append(" ", h("a", { href: `/login?next=${encodeURIComponent(location.pathname)}` }, "Sign in"));
      }
      if (focusEditor) ed.focus();
    } else {
      this.banner.hidden = true;
      ed.setModel(null);
      this.panel.replaceChildren(...this.panelContent(tab));
    }
    this.o.changed(tab);
  }

  /** Selects a whole line (clamped to the document) and scrolls it to the middle of the editor. */
  private goToLine(tab: Tab, line: number): void {
    tab.line = undefined;
    const model = this.o.editor.getModel();
    if (!model) return;
    const n = Math.min(Math.max(1, line), model.getLineCount());
    this.o.editor.setSelection({ startLineNumber: n, startColumn: 1, endLineNumber: n, endColumn: model.getLineMaxColumn(n) });
    this.o.editor.revealLineInCenter(n);
  }

  private panelContent(tab: Tab): Node[] {
    if (tab.state === "binary") {
      const bytes = tab.size ?? this.o.sizeOf(tab.path);
      const size = bytes !== undefined ? `, ${formatBytes(bytes)}` : "";
      return [h("p", {}, icon("file-binary"), ` ${tab.path} is a binary file${size}; it cannot be edited here. `, h("a", { href: this.o.api.rawUrl(tab.path), download: baseName(tab.path) }, "Download it"), ".")];
    }
    if (tab.state === "error") return [h("p", { class: "field-error" }, tab.message ?? "This file cannot be opened.")];
    return [h("p", { class: "muted" }, `Opening ${tab.path}…`)];
  }

  /** Finds the file's document id (from the server, else this browser's memory) and connects. */
  private async connect(tab: Tab): Promise<void> {
    tab.state = "opening";
    this.show(tab);
    let docId: string | undefined;
    try {
      const info = await this.o.api.docInfo(tab.path);
      docId = info.docId;
      tab.size = info.size;
      this.o.docIds.set(tab.path, docId);
    } catch (e) {
      const status = e instanceof ApiFailure ? e.status : 0;
      if (status === 415) {
        tab.state = "binary";
      } else if (status === 0 && this.o.docIds.get(tab.path)) {
        docId = this.o.docIds.get(tab.path);
      } else {
        tab.state = "error";
        tab.message =
          status === 404 ? `${tab.path} does not exist (any more).` : status === 0 ? `You are offline and ${tab.path} was never opened in this browser, so there is no copy of it here.` : (e as Error).message;
      }
    }
    if (!this.tabs.includes(tab)) return; // closed while loading
    if (docId) {
      const opts: SessionOptions = {
        projectId: this.o.projectId,
        path: tab.path,
        docId,
        user: this.o.user,
        readOnly: this.o.readOnly,
        editor: this.o.editor,
        cursors: this.o.cursors,
        onChange: () => this.sessionChanged(tab),
      };
      tab.session = new DocSession(opts);
      tab.state = "doc";
    }
    this.show(tab, this.active === tab);
  }

  private sessionChanged(tab: Tab): void {
    const s = tab.session;
    if (!s) return;
    const st = s.state();
    tab.el.dataset.state = st.kind;
    if (st.kind === "closed") tab.el.dataset.close = `${st.code} ${st.reason}`;
    else delete tab.el.dataset.close;
    tab.el.classList.toggle("ide-tab-pending", (st.kind === "offline" || st.kind === "connecting") && st.pending > 0);
    if (st.kind === "closed" && st.code === 4415) {
      s.destroy(true);
      tab.session = null;
      tab.state = "binary";
    } else if (st.kind === "closed" && (st.code === 4301 || st.code === 4404) && !this.relocating.has(s)) {
      // 4404 too: a socket that was (re)connecting while someone moved the file misses the 4301
      // and finds nothing at the old path; the document may still be found at its new one.
      this.relocating.add(s);
      void this.followMove(tab, s);
    }
    this.show(tab);
  }

  private async followMove(tab: Tab, session: DocSession): Promise<void> {
    // The server names the new path in the close reason when it fits ("moved:<path>"); else look it up.
    const st = session.state();
    const named = st.kind === "closed" && st.reason.startsWith("moved:") ? st.reason.slice("moved:".length) : "";
    const to = named !== "" ? named : await this.o.relocate(tab);
    // This person's own rename or move has already reopened the tab: nothing to follow.
    if (tab.session !== session || !this.tabs.includes(tab)) return;
    if (to) this.moved(tab.path, to);
  }

  /** Files moved (by this person or someone else): reopen their tabs at the new paths, same document. */
  moved(from: string, to: string): void {
    for (const tab of this.tabs) {
      if (tab.path !== from && !tab.path.startsWith(`${from}/`)) continue;
      const next = to + tab.path.slice(from.length);
      const docId = this.o.docIds.get(tab.path);
      if (docId) {
        this.o.docIds.forget(tab.path);
        this.o.docIds.set(next, docId);
      }
      tab.session?.destroy();
      tab.session = null;
      tab.state = "idle";
      tab.path = next;
      tab.el.title = next;
      const name = tab.el.querySelector(".ide-tab-name");
      if (name) name.textContent = baseName(next);
      tab.el.querySelector(".ide-tab-close")?.setAttribute("aria-label", `Close ${next}`);
      if (tab === this.active) void this.connect(tab);
    }
    this.remember();
  }

  /** Files deleted by this person: close their tabs and drop the offline copies. */
  deleted(path: string): void {
    for (const tab of [...this.tabs]) {
      if (tab.path === path || tab.path.startsWith(`${path}/`)) {
        this.o.docIds.forget(tab.path);
        this.close(tab, true);
      }
    }
  }

  close(tab: Tab, forget = false): void {
    const i = this.tabs.indexOf(tab);
    if (i < 0) return;
    // A file the server says is gone keeps no offline copy once its tab is closed.
    const gone = forget || tab.session?.closeCode === 4410;
    tab.session?.destroy(gone);
    this.tabs.splice(i, 1);
    tab.el.remove();
    if (this.active === tab) {
      this.active = null;
      const next = this.tabs[Math.min(i, this.tabs.length - 1)];
      if (next) this.activate(next, false);
      else {
        this.o.editor.setModel(null);
        this.monacoHost.hidden = true;
        this.banner.hidden = true;
        this.panel.hidden = false;
        this.panel.replaceChildren(h("p", { class: "muted" }, "No file open. Choose one in the tree, or press Ctrl+P to find one."));
        this.o.changed(null);
      }
    }
    this.remember();
  }

  step(delta: number): void {
    if (this.tabs.length === 0) return;
    const i = this.active ? this.tabs.indexOf(this.active) : -1;
    const next = this.tabs[(i + delta + this.tabs.length) % this.tabs.length];
    if (next) this.activate(next, true);
  }

  goTo(n: number): void {
    const tab = this.tabs[n];
    if (tab) this.activate(tab, true);
  }

  /** Every session, for going offline/online together. */
  sessions(): DocSession[] {
    return this.tabs.flatMap((t) => (t.session ? [t.session] : []));
  }

  private remember(): void {
    this.o.memory.save({ paths: this.tabs.map((t) => t.path), active: this.active?.path ?? null });
  }

  private onKey(e: KeyboardEvent): void {
    const i = this.active ? this.tabs.indexOf(this.active) : -1;
    let target: Tab | undefined;
    if (e.key === "ArrowRight") target = this.tabs[(i + 1) % this.tabs.length];
    else if (e.key === "ArrowLeft") target = this.tabs[(i - 1 + this.tabs.length) % this.tabs.length];
    else if (e.key === "Home") target = this.tabs[0];
    else if (e.key === "End") target = this.tabs[this.tabs.length - 1];
    else if (e.key === "Delete" && this.active) {
      this.close(this.active);
      this.active?.el.focus();
      e.preventDefault();
      return;
    } else return;
    e.preventDefault();
    if (target) {
      this.activate(target, false);
      target.el.focus();
    }
  }
}
