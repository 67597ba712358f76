/**
 * One open file as a collaborative document: a Y.Doc kept in IndexedDB (so edits survive
 * being offline and a reload), synced with the server over the y-websocket protocol, bound
 * to a Monaco model with y-monaco, with an undo manager that only undoes this person's edits.
 *
 * Per-user undo: y-monaco 0.1.6 brings no undo manager and applies remote changes with
 * `model.applyEdits`, which Monaco's own undo stack does not know about — its undo would
 * revert at stale offsets, or revert someone else's typing. So the model's undo/redo (every
 * path to them: keys, menus, the command palette) go to a Y.UndoManager whose tracked
 * origins are only this binding: remote updates (origin: the provider), IndexedDB loads
 * (origin: the persistence) and restores are never on the stack.
 */
import * as Y from "yjs";
import { MonacoBinding } from "y-monaco";
import { WebsocketProvider } from "y-websocket";
import { IndexeddbPersistence } from "y-indexeddb";
import { removeAwarenessStates } from "y-protocols/awareness";
import { editor, type IDisposable } from "monaco-editor";
import { encodePath } from "./api.ts";
import type { PresenceUser, RemoteCursorStyles } from "./cursors.ts";
import { languageFor, modelUri } from "./monaco-setup.ts";

/** Close codes after which reconnecting cannot help (see the collab contract). */
export const CLOSE_MESSAGES: Record<number, string> = {
  4301: "This file was moved or renamed.",
  4400: "The server refused a message from this editor. Reload the page to continue.",
  4401: "You are signed out. Sign in again to keep editing; your edits are kept in this browser.",
  4403: "You no longer have access to this project.",
  4404: "This file no longer exists.",
  4410: "This file was deleted. What you see is the last text; copy anything you still need.",
  4413: "This file is too large to edit together.",
  4415: "This is not a text file, so it cannot be edited here.",
};
const TERMINAL = new Set(Object.keys(CLOSE_MESSAGES).map(Number));

export type SessionState =
  | { kind: "loading" }
  | { kind: "connecting"; pending: number }
  | { kind: "synced" }
  | { kind: "offline"; pending: number }
  | { kind: "closed"; code: number; message: string; reason: string };

export type SessionOptions = {
  projectId: string;
  path: string;
  docId: string;
  user: PresenceUser;
  readOnly: boolean;
  editor: editor.IStandaloneCodeEditor;
  cursors: RemoteCursorStyles;
  /** Called whenever state, editability or pending edits change. */
  onChange(session: DocSession): void;
};

export function collabServerUrl(): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/collab`;
}

/**
 * The subset of the editor y-monaco calls, with its cursor listeners collected: y-monaco never
 * disposes them, and each would keep the whole document alive after its tab is closed.
 */
function trackedEditor(ed: editor.IStandaloneCodeEditor, disposables: IDisposable[]): editor.IStandaloneCodeEditor {
  const view: Pick<editor.IStandaloneCodeEditor, "getModel" | "getSelection" | "setSelection" | "deltaDecorations" | "onDidChangeCursorSelection"> = {
    getModel: () => ed.getModel(),
    getSelection: () => ed.getSelection(),
    setSelection: ed.setSelection.bind(ed),
    deltaDecorations: (old, next) => ed.deltaDecorations(old, next),
    onDidChangeCursorSelection: (listener) => {
      const d = ed.onDidChangeCursorSelection(listener);
      disposables.push(d);
      return d;
    },
  };
  // y-monaco only ever calls the five methods above on the editors it is given.
  return view as editor.IStandaloneCodeEditor;
}

export class DocSession {
  readonly doc = new Y.Doc();
  readonly text: Y.Text;
  readonly model: editor.ITextModel;
  readonly provider: WebsocketProvider;
  readonly undoManager: Y.UndoManager;
  private readonly binding: MonacoBinding;
  private readonly store: IndexeddbPersistence | null;
  private readonly disposables: IDisposable[] = [];
  private readonly view: editor.IStandaloneCodeEditor;
  /** Loaded from the server, or from an IndexedDB copy that was synced before: safe to type into. */
  private loaded = false;
  /** Local edits not yet sent because the connection was down. */
  private pending = 0;
  private closed: { code: number; message: string; reason: string } | null = null;
  private destroyed = false;

  constructor(readonly opts: SessionOptions) {
    this.text = this.doc.getText("content");
    this.store = openStore(`wove:${opts.projectId}:${opts.docId}`, this.doc);
    this.provider = new WebsocketProvider(collabServerUrl(), `${opts.projectId}/${encodePath(opts.path)}`, this.doc, {
      connect: navigator.onLine,
      shouldReconnect: (event) => !TERMINAL.has(event.code),
      maxBackoffTime: 5000,
    });
    // The server overwrites `user` for everyone else; set it so our own state reads the same.
    this.provider.awareness.setLocalStateField("user", opts.user);

    const uri = modelUri(opts.path);
    editor.getModel(uri)?.dispose();
    this.model = editor.createModel("", languageFor(opts.path), uri);
    this.view = trackedEditor(opts.editor, this.disposables);
    this.binding = new MonacoBinding(this.text, this.model, new Set([this.view]), this.provider.awareness);
    this.undoManager = new Y.UndoManager(this.text, { trackedOrigins: new Set([this.binding]) });
    this.model.undo = () => this.undoRedo("undo");
    this.model.redo = () => this.undoRedo("redo");
    this.model.canUndo = () => this.undoManager.canUndo();
    this.model.canRedo = () => this.undoManager.canRedo();
    opts.cursors.track(this.provider.awareness);

    this.doc.on("update", (_update: Uint8Array, origin: unknown) => {
      if ((origin === this.binding || origin === this.undoManager) && !this.provider.synced) {
        this.pending++;
        this.changed();
      }
    });
    this.provider.on("status", () => this.changed());
    this.provider.on("sync", (synced: boolean) => {
      if (synced) {
        this.pending = 0;
        this.markLoaded();
        // Remember that this browser's copy has seen the server: next time it may be edited offline at once.
        this.store?.set("synced", 1).catch(() => {});
      }
      this.changed();
    });
    this.provider.on("connection-close", (event: CloseEvent | null) => {
      if (event && TERMINAL.has(event.code)) {
        this.closed = { code: event.code, message: CLOSE_MESSAGES[event.code] ?? `Closed (${event.code}).`, reason: event.reason };
      }
      this.changed();
    });
    this.store?.whenSynced
      .then(async (store) => {
        if (!this.destroyed && (await store.get("synced"))) this.markLoaded();
      })
      .catch(() => {});
  }

  /** Tells the tab; a destroyed session (its tab closed or moved on) has nothing more to say. */
  private changed(): void {
    if (!this.destroyed) this.opts.onChange(this);
  }

  private markLoaded(): void {
    if (this.loaded) return;
    this.loaded = true;
    // The text arrived after the (empty) model was shown, pushing the cursor to its end: start at the top.
    if (this.opts.editor.getModel() === this.model && !this.undoManager.canUndo()) this.opts.editor.setPosition({ lineNumber: 1, column: 1 });
    this.changed();
  }

  /** Undo/redo this person's own edits, then put the cursor where the text changed. */
  private undoRedo(which: "undo" | "redo"): void {
    let at: number | null = null;
    const watch = (e: Y.YTextEvent) => {
      let index = 0;
      for (const op of e.delta) {
        if (op.retain !== undefined) index += op.retain;
        else {
          at = index + (typeof op.insert === "string" ? op.insert.length : 0);
          break;
        }
      }
    };
    // Registered after y-monaco's observer, so the model already shows the change when this runs.
    this.text.observe(watch);
    if (which === "undo") this.undoManager.undo();
    else this.undoManager.redo();
    this.text.unobserve(watch);
    const target: number | null = at;
    if (target !== null && this.opts.editor.getModel() === this.model) {
      const pos = this.model.getPositionAt(target);
      this.opts.editor.setPosition(pos);
      this.opts.editor.revealPositionInCenterIfOutsideViewport(pos);
    }
  }

  get path(): string {
    return this.opts.path;
  }

  /** The text is here (from the server, or a copy that was synced before): line numbers mean something. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** May this person type into the document right now? */
  get editable(): boolean {
    return !this.opts.readOnly && this.loaded && this.closed === null && !this.destroyed;
  }

  get closeCode(): number | null {
    return this.closed?.code ?? null;
  }

  state(): SessionState {
    if (this.closed) return { kind: "closed", ...this.closed };
    if (this.provider.wsconnected && this.provider.synced) return { kind: "synced" };
    if (!navigator.onLine || !this.provider.shouldConnect) return { kind: "offline", pending: this.pending };
    if (!this.loaded && !this.provider.wsconnected) return { kind: "loading" };
    return { kind: "connecting", pending: this.pending };
  }

  /** The browser went offline: stop trying (each attempt would fail) until it is back. */
  pause(): void {
    if (!this.closed) this.provider.disconnect();
  }

  resume(): void {
    if (!this.closed && !this.destroyed) this.provider.connect();
  }

  /** Shown in the editor now: redraw remote cursors (y-monaco forgets them when the editor shows another model). */
  activated(): void {
    const stale = this.model
      .getAllDecorations()
      .filter((d) => d.options.className?.startsWith("yRemoteSelection"))
      .map((d) => d.id);
    if (stale.length > 0) this.model.deltaDecorations(stale, []);
    this.binding._decorations.delete(this.view);
    this.binding._rerenderDecorations();
  }

  /** Another tab is shown: our cursor is no longer where this person is looking. */
  deactivated(): void {
    this.provider.awareness.setLocalStateField("selection", null);
  }

  /** Closes the tab's connection and model. `forget`: also drop the offline copy (the file is gone). */
  destroy(forget = false): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.opts.cursors.untrack(this.provider.awareness);
    // Tell the others now that this cursor is gone, rather than when the server notices the socket closing.
    removeAwarenessStates(this.provider.awareness, [this.doc.clientID], "tab closed");
    for (const d of this.disposables) d.dispose();
    this.binding.destroy();
    this.undoManager.destroy();
    this.provider.destroy();
    if (forget) this.store?.clearData().catch(() => {});
    else this.store?.destroy().catch(() => {});
    this.doc.destroy();
    this.model.dispose();
  }
}

/** The IndexedDB copy of a document; null where the browser offers no IndexedDB (editing still works online). */
function openStore(name: string, doc: Y.Doc): IndexeddbPersistence | null {
  if (typeof indexedDB === "undefined") return null;
  try {
    return new IndexeddbPersistence(name, doc);
  } catch {
    return null;
  }
}
