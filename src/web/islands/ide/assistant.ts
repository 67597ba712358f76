/**
 * The IDE's Assistant panel (markup: AssistantPanel in src/ai/pages-chat.tsx). Opens beside
 * the editor from the bar's Assistant button (a drawer over the editor on narrow screens,
 * like the Deploy panel — the two take turns in the same column), asks POST /api/v1/ai/chat
 * with the open file, the selection and the open tabs, and shows the answer token by token;
 * Stop aborts the request (the server then aborts the model call). Conversations per project
 * are listed, reopened, renamed, shared and deleted through /api/v1/ai/conversations.
 *
 * Keys: Enter sends, Shift+Enter is a new line, Escape closes the panel.
 */
import type { editor } from "monaco-editor";
import type { ChatEvent } from "../../../ai/types.ts";
import type { ConversationJson, MessageJson } from "../../../ai/conversations.ts";
import { announce, byId, h, maybeId } from "./dom.ts";
import { failureOf, failureOfEvent, OFFLINE, readEvents } from "./assistant-stream.ts";
import { AnswerView, questionView, type AnswerHooks } from "./assistant-view.ts";
import { ConversationHistory, loadModelChoices } from "./assistant-history.ts";
import type { Tabs } from "./tabs.ts";

export type EditorContext = {
  filePath?: string;
  selection?: { startLine: number; startColumn: number; endLine: number; endColumn: number };
  openTabs: string[];
};

export type AssistantHost = {
  projectId: string;
  csrf: string | undefined;
  /** What the editor shows now: the active file, the selection in it, the other open tabs. */
  editorContext(): EditorContext;
  openFile(path: string): void;
};

type HtmxApi = { ajax(verb: string, url: string, o: { target: Element; swap: string }): Promise<void>; process(el: Element): void };

const OPEN_KEY = (projectId: string) => `wove:assistant:${projectId}`;
/** Follow new text while the reader is within this many pixels of the bottom. */
const FOLLOW_SLACK = 48;

export class AssistantPanel {
  private readonly root = byId("ide");
  private readonly panel = byId("ide-assistant");
  private readonly toggle = byId<HTMLAnchorElement>("ide-assistant-toggle");
  private readonly log = byId("ide-assistant-log");
  private readonly intro = byId("ide-assistant-intro");
  private readonly form = byId<HTMLFormElement>("ide-assistant-form");
  private readonly input = byId<HTMLTextAreaElement>("ide-assistant-input");
  private readonly send = byId<HTMLButtonElement>("ide-assistant-send");
  private readonly stop = byId<HTMLButtonElement>("ide-assistant-stop");
  private readonly alert = byId("ide-assistant-alert");
  private readonly agents = byId<HTMLInputElement>("ide-assistant-agents");
  private readonly model = byId<HTMLSelectElement>("ide-assistant-model");
  private readonly bar = byId("ide-assistant-bar");
  private readonly title = byId<HTMLInputElement>("ide-assistant-title");
  private readonly share = byId<HTMLInputElement>("ide-assistant-share");
  private readonly remove = byId<HTMLButtonElement>("ide-assistant-delete");
  private readonly ownerNote = byId("ide-assistant-owner");
  private conversation: ConversationJson | null = null;
  private answers: AnswerView[] = [];
  private running: AbortController | null = null;
  private follow = true;
  private modelsLoaded = false;
  private readonly hooks: AnswerHooks;
  private readonly history: ConversationHistory;

  constructor(private readonly host: AssistantHost) {
    this.hooks = { openFile: (p) => host.openFile(p), showAction: (a, into) => this.showAction(a.id, into) };
    this.history = new ConversationHistory(host.projectId, () => this.conversation?.id ?? null, (id) => void this.load(id));
    this.toggle.setAttribute("role", "button");
    this.toggle.setAttribute("aria-controls", "ide-assistant");
    this.toggle.setAttribute("aria-expanded", "false");
    this.toggle.addEventListener("click", (e) => {
      // Ctrl/⌘-click still opens the conversations page in a new tab.
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      if (this.isOpen) this.close(true);
      else this.open();
    });
    this.toggle.addEventListener("keydown", (e) => {
      if (e.key === " ") {
        e.preventDefault();
        this.toggle.click();
      }
    });
    byId("ide-assistant-close").addEventListener("click", () => this.close(true));
    this.panel.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      e.preventDefault();
      this.close(true);
    });
    this.input.disabled = false;
    this.send.disabled = false;
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.ask();
    });
    this.stop.addEventListener("click", () => this.running?.abort());
    this.log.addEventListener("scroll", () => (this.follow = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < FOLLOW_SLACK));
    this.log.addEventListener("chat:rendered", () => this.keepBottom());
    byId("ide-assistant-new").addEventListener("click", () => this.startNew());
    this.title.addEventListener("change", () => void this.patch({ title: this.title.value.trim() }));
    this.title.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.title.blur();
      }
    });
    this.share.addEventListener("change", () => void this.patch({ shared: this.share.checked }));
    this.remove.addEventListener("click", () => void this.deleteConversation());
    // The Deploy panel uses the same column: whichever opens last stays.
    new MutationObserver(() => {
      if (this.isOpen && this.root.classList.contains("ide-deploy-open")) this.close(false);
    }).observe(this.root, { attributes: true, attributeFilter: ["class"] });
    const saved = this.remembered();
    if (saved.open) this.open(false);
    if (saved.conversationId) void this.load(saved.conversationId, false);
    void this.insertPrompt();
  }

  /**
   * "Use in chat" from the prompt library: `?prompt=<id>&v=<version>[&use=<useId>][&var.<name>=…]`
   * renders the prompt with its variables and puts the text in the box, ready to edit and send.
   */
  private async insertPrompt(): Promise<void> {
    const q = new URLSearchParams(location.search);
    const id = q.get("prompt");
    if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return;
    const variables: Record<string, string> = {};
    for (const [k, v] of q) if (k.startsWith("var.")) variables[k.slice(4)] = v;
    const version = Number(q.get("v"));
    const useId = Number(q.get("use"));
    const body = { variables, ...(Number.isInteger(version) && version > 0 ? { version } : {}), ...(Number.isInteger(useId) && useId > 0 ? { useId } : {}) };
    try {
      const res = await fetch(`/api/v1/prompts/${encodeURIComponent(id)}/render`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", ...(this.host.csrf ? { "x-csrf-token": this.host.csrf } : {}) },
        body: JSON.stringify(body),
      });
      const data = (await res.json()) as { text?: string; error?: { message?: string } };
      if (!res.ok || typeof data.text !== "string") {
        this.open(false);
        this.say(`The prompt could not be used: ${data.error?.message ?? `HTTP ${res.status}`}`);
        return;
      }
      this.open(false);
      this.input.value = data.text;
      this.input.focus();
      announce("The prompt is in the message box: edit it, then send.");
    } catch {
      this.say(`${OFFLINE.title}. ${OFFLINE.detail}`);
    }
  }

  get isOpen(): boolean {
    return !this.panel.hidden;
  }

  private remembered(): { open: boolean; conversationId: string | null } {
    try {
      const v = JSON.parse(localStorage.getItem(OPEN_KEY(this.host.projectId)) ?? "{}") as { open?: boolean; conversationId?: string | null };
      return { open: v.open === true, conversationId: typeof v.conversationId === "string" ? v.conversationId : null };
    } catch {
      return { open: false, conversationId: null };
    }
  }

  private remember(): void {
    try {
      localStorage.setItem(OPEN_KEY(this.host.projectId), JSON.stringify({ open: this.isOpen, conversationId: this.conversation?.id ?? null }));
    } catch {
      // Storage full or off: the panel just starts closed next time.
    }
  }

  open(focus = true): void {
    if (this.root.classList.contains("ide-deploy-open")) maybeId("ide-deploy-close")?.click();
    this.panel.hidden = false;
    this.root.classList.add("ide-assistant-open");
    this.toggle.setAttribute("aria-expanded", "true");
    this.remember();
    if (!this.modelsLoaded) {
      this.modelsLoaded = true;
      void loadModelChoices(this.model);
    }
    if (focus) this.input.focus();
  }

  close(returnFocus: boolean): void {
    this.panel.hidden = true;
    this.root.classList.remove("ide-assistant-open");
    this.toggle.setAttribute("aria-expanded", "false");
    this.remember();
    if (returnFocus) this.toggle.focus();
  }

  private headers(json = false): Record<string, string> {
    return { ...(json ? { "Content-Type": "application/json" } : {}), ...(this.host.csrf ? { "X-CSRF-Token": this.host.csrf } : {}) };
  }

  private say(text: string | null): void {
    this.alert.textContent = text ?? "";
    this.alert.hidden = text === null;
  }

  private keepBottom(): void {
    if (this.follow) this.log.scrollTop = this.log.scrollHeight;
  }

  private setRunning(on: boolean): void {
    this.stop.hidden = !on;
    this.send.disabled = on;
    this.log.setAttribute("aria-busy", String(on));
  }

  private clearLog(): void {
    for (const a of this.answers) a.dispose();
    this.answers = [];
    this.log.replaceChildren(this.intro);
    this.intro.hidden = false;
  }

  private showConversation(c: ConversationJson | null): void {
    this.conversation = c;
    this.bar.hidden = c === null;
    this.remember();
    if (!c) return;
    this.title.value = c.title;
    this.title.readOnly = !c.mine;
    this.share.checked = c.shared;
    this.share.disabled = !c.mine || c.projectId === null;
    this.remove.hidden = !c.mine;
    this.ownerNote.hidden = c.mine;
    this.ownerNote.textContent = c.mine ? "" : `Shared by ${c.owner.name || c.owner.username}. You can read it; start a new conversation to ask.`;
    this.input.disabled = !c.mine;
    this.send.disabled = !c.mine || this.running !== null;
  }

  startNew(): void {
    this.running?.abort();
    this.clearLog();
    this.showConversation(null);
    this.input.disabled = false;
    this.send.disabled = false;
    this.say(null);
    this.history.show(false);
    this.input.focus();
  }

  private async ask(): Promise<void> {
    const question = this.input.value.trim();
    if (question === "" || this.running) return;
    if (this.conversation && !this.conversation.mine) return;
    this.say(null);
    this.intro.hidden = true;
    const ctx = this.host.editorContext();
    this.log.append(questionView(question, ctx.filePath ? (ctx.selection ? `${ctx.filePath}, lines ${ctx.selection.startLine}–${ctx.selection.endLine}` : ctx.filePath) : undefined));
    const answer = new AnswerView(this.hooks);
    this.answers.push(answer);
    this.log.append(answer.el);
    answer.setThinking(true);
    this.follow = true;
    this.keepBottom();
    this.input.value = "";
    const ctl = new AbortController();
    this.running = ctl;
    this.setRunning(true);
    const mode = this.agents.checked ? "agent" : "chat";
    const body = {
      messages: [{ role: "user", content: question }],
      projectId: this.host.projectId,
      ...(ctx.filePath ? { filePath: ctx.filePath } : {}),
      ...(ctx.selection ? { selection: ctx.selection } : {}),
      openTabs: ctx.openTabs.slice(0, 50),
      ...(this.conversation ? { conversationId: this.conversation.id } : {}),
      ...(this.model.value ? { model: this.model.value } : {}),
      mode,
    };
    let finished = false;
    try {
      const res = await fetch("/api/v1/ai/chat", { method: "POST", headers: { ...this.headers(true), Accept: "application/x-ndjson" }, body: JSON.stringify(body), signal: ctl.signal, credentials: "same-origin" });
      if (!res.ok || !res.body) {
        const json: unknown = await res.json().catch(() => undefined);
        answer.fail(failureOf(res.status, json, res.headers.get("retry-after")));
        // Nothing was stored: the question is back in the box to ask again.
        this.input.value = question;
        return;
      }
      const cid = res.headers.get("x-conversation-id");
      if (cid && this.conversation?.id !== cid) void this.adopt(cid);
      await readEvents(res.body, (e) => {
        if (this.handle(answer, e, mode === "agent")) finished = true;
      });
      if (!finished) answer.finish(null, { stopped: ctl.signal.aborted, agents: mode === "agent" });
    } catch (e) {
      if (ctl.signal.aborted) answer.finish(null, { stopped: true, agents: mode === "agent" });
      else answer.fail(e instanceof SyntaxError ? { title: "The answer could not be read", detail: e.message } : OFFLINE);
    } finally {
      this.running = null;
      this.setRunning(false);
      this.keepBottom();
      if (this.conversation && !this.conversation.mine) this.send.disabled = true;
      announce(ctl.signal.aborted ? "Stopped." : "The assistant answered.");
      if (this.history.visible) void this.history.refresh();
    }
  }

  /** One event of the stream; true once the answer is complete (done or error). */
  private handle(answer: AnswerView, e: ChatEvent, agents: boolean): boolean {
    switch (e.type) {
      case "context":
        answer.setContext(e.files, e.tokens);
        return false;
      case "token":
        answer.append(e.text);
        return false;
      case "fallback":
        answer.note(`${e.from} did not answer (${e.reason}); asking ${e.to}.`);
        return false;
      case "log":
        answer.log(e.agent, e.text);
        answer.openLogs(true);
        return false;
      case "action":
        answer.action(e.action);
        return false;
      case "error":
        answer.fail(failureOfEvent(e));
        return true;
      case "done":
        answer.openLogs(false);
        answer.finish(e.usage, { agents });
        return true;
    }
  }

  /** The conversation a new question started: shown in the bar (title, share). */
  private async adopt(cid: string): Promise<void> {
    const res = await fetch(`/api/v1/ai/conversations/${encodeURIComponent(cid)}`, { credentials: "same-origin" }).catch(() => null);
    if (!res?.ok) return;
    const data = (await res.json()) as { conversation: ConversationJson };
    this.showConversation(data.conversation);
  }

  async load(cid: string, focus = true): Promise<void> {
    const res = await fetch(`/api/v1/ai/conversations/${encodeURIComponent(cid)}`, { credentials: "same-origin" }).catch(() => null);
    if (!res?.ok) {
      // Deleted meanwhile, or no longer shared: start afresh (quietly when restoring the last visit).
      if (focus) this.say("That conversation is no longer available.");
      this.showConversation(null);
      return;
    }
    const data = (await res.json()) as { conversation: ConversationJson; messages: MessageJson[] };
    this.running?.abort();
    this.clearLog();
    this.intro.hidden = data.messages.length > 0;
    for (const m of data.messages) {
      if (m.role === "user") this.log.append(questionView(m.content, m.meta.filePath));
      else if (m.role === "assistant") {
        const v = AnswerView.fromStored(m.content, m.meta, this.hooks);
        this.answers.push(v);
        this.log.append(v.el);
      }
    }
    this.showConversation(data.conversation);
    this.follow = true;
    this.keepBottom();
    if (focus) this.input.focus();
  }

  private async patch(change: { title?: string; shared?: boolean }): Promise<void> {
    const c = this.conversation;
    if (!c?.mine || change.title === "") {
      if (c) this.title.value = c.title;
      return;
    }
    const res = await fetch(`/api/v1/ai/conversations/${encodeURIComponent(c.id)}`, { method: "PATCH", headers: this.headers(true), body: JSON.stringify(change), credentials: "same-origin" }).catch(() => null);
    if (!res?.ok) {
      this.say("That change could not be saved. Try again.");
      this.showConversation(c);
      return;
    }
    const data = (await res.json()) as { conversation: ConversationJson };
    this.showConversation(data.conversation);
    if (change.shared !== undefined) announce(data.conversation.shared ? "Shared with everyone who can read this project." : "Only you can see this conversation now.");
    if (this.history.visible) void this.history.refresh();
  }

  private async deleteConversation(): Promise<void> {
    const c = this.conversation;
    if (!c?.mine || !window.confirm(`Delete the conversation “${c.title}”? This cannot be undone.`)) return;
    const res = await fetch(`/api/v1/ai/conversations/${encodeURIComponent(c.id)}`, { method: "DELETE", headers: this.headers(), credentials: "same-origin" }).catch(() => null);
    if (!res?.ok) {
      this.say("The conversation could not be deleted. Try again.");
      return;
    }
    this.startNew();
    announce("Conversation deleted.");
  }

  /** A proposed edit's diff preview (src/ai/pages-actions.tsx), loaded with htmx so its Apply/Discard forms work in place. */
  private showAction(actionId: string, into: HTMLElement): void {
    const url = `/projects/${encodeURIComponent(this.host.projectId)}/ai/actions/${encodeURIComponent(actionId)}`;
    const htmx = (window as unknown as { htmx?: HtmxApi }).htmx;
    into.replaceChildren(h("p", { class: "muted small" }, "Loading the change…"));
    const fallback = () => into.replaceChildren(h("a", { href: url, target: "_blank", rel: "noopener" }, "Open the proposed change"));
    if (!htmx) return fallback();
    htmx.ajax("GET", url, { target: into, swap: "innerHTML" }).catch(fallback);
  }
}

/** The editor's state as the chat API takes it: the active file (when it is a text document), its selection, the open tabs. */
export function editorContextOf(tabs: Tabs, ed: editor.IStandaloneCodeEditor): EditorContext {
  const active = tabs.active;
  const openTabs = tabs.tabs.map((t) => t.path).filter((p) => p !== active?.path);
  if (!active || active.state !== "doc") return { openTabs };
  const sel = ed.getSelection();
  const selection =
    sel && !sel.isEmpty() ? { startLine: sel.startLineNumber, startColumn: sel.startColumn, endLine: sel.endLineNumber, endColumn: sel.endColumn } : undefined;
  return { filePath: active.path, ...(selection ? { selection } : {}), openTabs };
}

/** Starts the panel when the page has it (signed-in viewers only). */
export function startAssistant(host: AssistantHost): AssistantPanel | null {
  return maybeId("ide-assistant") ? new AssistantPanel(host) : null;
}
