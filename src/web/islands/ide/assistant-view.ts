/**
 * How the assistant panel shows a conversation: questions as plain text, answers as Markdown
 * rendered by the same safe renderer the server uses for READMEs (every character escaped
 * first; only headings, lists, emphasis, code, links to http(s)/mailto and fenced code blocks
 * highlighted by src/web/highlight.ts become markup), re-rendered at most once a frame while
 * tokens stream in. Each answer lists the files its prompt included, the agents' log, the
 * proposed code actions (their diff preview loads in place) and the model and tokens used.
 */
import type { ChatEvent } from "../../../ai/types.ts";
import type { IncludedFile, MessageMeta } from "../../../ai/conversations.ts";
import { renderMarkdown } from "../../../projects/pages-markdown.ts";
import { h, icon } from "./dom.ts";
import { waitText, type Failure } from "./assistant-stream.ts";

export type ActionRef = Extract<ChatEvent, { type: "action" }>["action"];
export type Usage = Extract<ChatEvent, { type: "done" }>["usage"];

export type AnswerHooks = {
  openFile(path: string): void;
  /** Loads the action's diff preview (server-rendered, htmx) into `into`. */
  showAction(action: ActionRef, into: HTMLElement): void;
};

const REASON: Record<IncludedFile["reason"], string> = { current: "open file", selection: "selection", tab: "open tab", search: "found by search" };

export function questionView(text: string, about?: string): HTMLElement {
  return h("article", { class: "chat-msg chat-user", "aria-label": "Question" }, h("p", { class: "chat-text" }, text), about ? h("p", { class: "muted small" }, "About ", h("span", { class: "mono" }, about)) : null);
}

/** Adds a Copy button to each code block (clipboard access needs a secure context; without it there is none). */
function addCopyButtons(root: HTMLElement): void {
  if (!navigator.clipboard) return;
  for (const pre of Array.from(root.querySelectorAll("pre"))) {
    const button = h("button", { type: "button", class: "chat-copy small", title: "Copy the code" }, "Copy");
    button.addEventListener("click", () => {
      const code = pre.querySelector("code")?.textContent ?? pre.textContent ?? "";
      void navigator.clipboard.writeText(code).then(
        () => {
          button.textContent = "Copied";
          setTimeout(() => (button.textContent = "Copy"), 1500);
        },
        () => (button.textContent = "Copy failed"),
      );
    });
    pre.classList.add("chat-code");
    pre.prepend(button);
  }
}

export function usageText(u: Pick<Usage, "modelUsed" | "providerId" | "tokensUsed" | "latencyMs">): string {
  const parts: string[] = [];
  if (u.modelUsed) parts.push(u.providerId ? `${u.providerId}:${u.modelUsed}` : u.modelUsed);
  if (u.tokensUsed > 0) parts.push(`${u.tokensUsed.toLocaleString("en")} tokens`);
  if (u.latencyMs > 0) parts.push(`${(u.latencyMs / 1000).toFixed(1)} s`);
  return parts.join(" · ");
}

/** One answer: built from stored meta, or live from the stream's events. */
export class AnswerView {
  readonly el: HTMLElement;
  private readonly files: HTMLElement;
  private readonly notes: HTMLElement;
  private readonly logs: HTMLDetailsElement;
  private readonly logList: HTMLElement;
  private readonly body: HTMLElement;
  private readonly actions: HTMLElement;
  private readonly problem: HTMLElement;
  private readonly facts: HTMLElement;
  private readonly thinking: HTMLElement;
  private text = "";
  private frame = 0;
  private countdown: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly hooks: AnswerHooks) {
    this.files = h("div", { class: "chat-files-slot" });
    this.notes = h("div", { class: "chat-notes" });
    this.logList = h("ol", { class: "plain chat-log-lines" });
    this.logs = h("details", { class: "chat-logs", hidden: true }, h("summary", {}, "Agents' log"), this.logList);
    this.thinking = h("p", { class: "chat-thinking muted small", hidden: true }, h("span", { class: "chat-dots", "aria-hidden": "true" }), " Thinking…");
    this.body = h("div", { class: "markdown chat-markdown" });
    this.actions = h("div", { class: "chat-actions stack" });
    this.problem = h("div", { class: "chat-problem", hidden: true });
    this.facts = h("p", { class: "chat-facts muted small" });
    this.el = h("article", { class: "chat-msg chat-assistant", "aria-label": "Answer" }, this.files, this.notes, this.logs, this.thinking, this.body, this.actions, this.problem, this.facts);
  }

  get answer(): string {
    return this.text;
  }

  setThinking(on: boolean): void {
    this.thinking.hidden = !on;
    this.el.setAttribute("aria-busy", String(on));
  }

  setContext(files: IncludedFile[], tokens?: number): void {
    if (files.length === 0) {
      this.files.replaceChildren();
      return;
    }
    const list = h("ul", { class: "plain" });
    for (const f of files) {
      const open = h("button", { type: "button", class: "link mono", title: `Open ${f.path}` }, f.path);
      open.addEventListener("click", () => this.hooks.openFile(f.path));
      list.append(h("li", { "data-reason": f.reason }, open, h("span", { class: "muted" }, ` · ${REASON[f.reason] ?? f.reason} · ${f.tokens.toLocaleString("en")} tokens`)));
    }
    const summary = `Context: ${files.length} ${files.length === 1 ? "item" : "items"}${tokens !== undefined ? ` · ${tokens.toLocaleString("en")} tokens` : ""}`;
    this.files.replaceChildren(h("details", { class: "chat-files" }, h("summary", {}, summary), list));
  }

  append(text: string): void {
    this.text += text;
    this.setThinking(false);
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.render());
  }

  /** Shows the whole text now (an answer loaded from history, or the end of a stream). */
  render(text?: string): void {
    if (text !== undefined) this.text = text;
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.body.innerHTML = renderMarkdown(this.text, {}, 2); // escaped by the renderer; only its own markup
    addCopyButtons(this.body);
    this.el.dispatchEvent(new CustomEvent("chat:rendered", { bubbles: true }));
  }

  note(text: string): void {
    this.notes.append(h("p", { class: "chat-note muted small" }, icon("info"), " ", text));
  }

  log(agent: string, text: string): void {
    this.logs.hidden = false;
    this.logList.append(h("li", {}, h("strong", {}, agent), " ", text));
  }

  openLogs(open: boolean): void {
    this.logs.open = open;
  }

  action(a: ActionRef): void {
    const preview = h("div", { class: "chat-action-preview" });
    const review = h("button", { type: "button", class: "small" }, "Review the change");
    review.addEventListener("click", () => {
      review.hidden = true;
      this.hooks.showAction(a, preview);
    });
    this.actions.append(
      h(
        "section",
        { class: "chat-action card", "aria-label": `Proposed edit: ${a.summary || "edit"}` },
        h("p", {}, icon("git-pull-request"), " ", h("strong", {}, a.summary || "Proposed edit")),
        h("p", { class: "muted small mono" }, a.files.join(", ")),
        review,
        preview,
      ),
    );
  }

  finish(u: Pick<Usage, "modelUsed" | "providerId" | "tokensUsed" | "latencyMs"> | null, flags: { stopped?: boolean; agents?: boolean } = {}): void {
    this.setThinking(false);
    this.render();
    const parts = u ? [usageText(u)] : [];
    if (flags.agents) parts.push("agents");
    this.facts.replaceChildren(parts.filter(Boolean).join(" · "));
    if (flags.stopped) this.facts.append(" ", h("span", { class: "badge" }, "stopped"));
  }

  fail(f: Failure): void {
    this.setThinking(false);
    if (this.text) this.render();
    const detail = h("span", {}, f.detail);
    const box = h("div", { class: "flash error", role: "alert" }, h("strong", {}, f.title), f.detail || f.retryAfter ? h("br") : null, detail);
    if (f.retryAfter !== undefined) {
      const wait = h("span", { class: "chat-wait" });
      let left = f.retryAfter;
      const tick = () => {
        wait.textContent = left > 0 ? `Time left: ${waitText(left)}` : "You can ask again now.";
        left--;
        if (left < 0) clearInterval(this.countdown);
      };
      tick();
      this.countdown = setInterval(tick, 1000);
      box.append(h("br"), wait);
    }
    this.problem.replaceChildren(box);
    this.problem.hidden = false;
  }

  /** An answer as stored: its text and what its meta says. */
  static fromStored(content: string, meta: MessageMeta, hooks: AnswerHooks): AnswerView {
    const v = new AnswerView(hooks);
    if (meta.files) v.setContext(meta.files, meta.contextTokens);
    for (const f of meta.fallbacks ?? []) v.note(`Switched from ${f.from} to ${f.to}: ${f.reason}`);
    for (const l of meta.logs ?? []) v.log(l.agent, l.text);
    v.render(content);
    for (const a of meta.actions ?? []) v.action(a);
    const usage = meta.usage && meta.model ? { modelUsed: meta.model, providerId: meta.providerId ?? "", tokensUsed: meta.usage.tokensIn + meta.usage.tokensOut, latencyMs: meta.usage.latencyMs } : null;
    v.finish(usage, { stopped: meta.stopped, agents: meta.mode === "agent" });
    if (meta.error) v.fail({ title: "The answer failed", detail: meta.error.message });
    return v;
  }

  dispose(): void {
    clearInterval(this.countdown);
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
  }
}
