/**
 * The IDE's Assistant button and side panel (markup only): the IDE island
 * (src/web/islands/ide/assistant.ts) brings them to life; without JavaScript the button is a
 * link to the project's conversations page (pages-chat.tsx). No data access here.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { Project } from "../db/schema.ts";
import { projectUrl } from "../projects/pages-ui.tsx";
import { TITLE_MAX } from "./conversations.ts";

export const CHAT_CSS = "/assets/chat.css";
export const assistantUrl = (projectId: string) => `${projectUrl(projectId)}/assistant`;
export const conversationUrl = (projectId: string, cid: string) => `${assistantUrl(projectId)}/${encodeURIComponent(cid)}`;

/** The IDE bar's button: opens the panel (the island), or the conversations page without JavaScript. */
export function AssistantToggle(p: { projectId: string }): Html {
  return (
    <a class="btn small" id="ide-assistant-toggle" href={assistantUrl(p.projectId)} aria-label="Assistant" title="Ask the assistant about the code">
      <span class="codicon codicon-comment-discussion" aria-hidden="true"></span> <span class="ide-hide-narrow">Assistant</span>
    </a>
  );
}

export function AssistantPanel(p: { project: Project }): Html {
  const id = p.project.id;
  return (
    <aside
      class="ide-assistant"
      id="ide-assistant"
      aria-labelledby="ide-assistant-heading"
      data-page-url={assistantUrl(id)}
      data-visibility={p.project.visibility}
      hidden
    >
      <div class="ide-assistant-head">
        <h2 id="ide-assistant-heading">Assistant</h2>
        <button type="button" class="icon" id="ide-assistant-history-toggle" aria-expanded="false" aria-controls="ide-assistant-history" title="Conversations">
          <span class="codicon codicon-history" aria-hidden="true"></span>
          <span class="visually-hidden">Conversations</span>
        </button>
        <button type="button" class="icon" id="ide-assistant-new" title="New conversation">
          <span class="codicon codicon-add" aria-hidden="true"></span>
          <span class="visually-hidden">New conversation</span>
        </button>
        <button type="button" class="icon" id="ide-assistant-close" aria-label="Close the Assistant panel" title="Close (Escape)">
          <span class="codicon codicon-close" aria-hidden="true"></span>
        </button>
      </div>
      <nav class="ide-assistant-history" id="ide-assistant-history" aria-label="Conversations" hidden>
        <ul class="plain" id="ide-assistant-history-list"></ul>
        <a class="small" href={assistantUrl(id)}>
          All conversations of this project
        </a>
      </nav>
      <div class="ide-assistant-bar" id="ide-assistant-bar" hidden>
        <label class="visually-hidden" for="ide-assistant-title">
          Conversation title
        </label>
        <input type="text" id="ide-assistant-title" class="ide-assistant-title" maxlength={TITLE_MAX} autocomplete="off" />
        <label class="ide-assistant-share small" title="Anyone who can read this project can read the conversation; only you can add to it">
          <input type="checkbox" id="ide-assistant-share" /> Shared
        </label>
        <button type="button" class="icon" id="ide-assistant-delete" title="Delete this conversation">
          <span class="codicon codicon-trash" aria-hidden="true"></span>
          <span class="visually-hidden">Delete this conversation</span>
        </button>
        <p class="ide-assistant-owner muted small" id="ide-assistant-owner" hidden></p>
      </div>
      <div class="ide-assistant-log" id="ide-assistant-log" tabindex="0" aria-label="Conversation">
        <div class="ide-assistant-intro muted small" id="ide-assistant-intro">
          <p>Ask about the open file, your selection or the whole project.</p>
          <p>Each answer lists the files it was given. Turn on Agents to let them read the project and propose edits you can review.</p>
        </div>
      </div>
      <form class="ide-assistant-form" id="ide-assistant-form" novalidate>
        <p class="ide-assistant-alert" id="ide-assistant-alert" role="alert" hidden></p>
        <label for="ide-assistant-input" class="visually-hidden">
          Ask the assistant
        </label>
        <textarea id="ide-assistant-input" rows={3} placeholder="Ask about the code…" aria-describedby="ide-assistant-keys" disabled></textarea>
        <div class="ide-assistant-actions">
          <label class="small ide-assistant-agents" title="Specialised agents read and search the project and can propose edits">
            <input type="checkbox" id="ide-assistant-agents" /> Agents
          </label>
          <select id="ide-assistant-model" class="small" aria-label="Model" hidden>
            <option value="">Automatic model</option>
          </select>
          <span class="grow"></span>
          <button type="button" id="ide-assistant-stop" hidden>
            <span class="codicon codicon-debug-stop" aria-hidden="true"></span> Stop
          </button>
          <button type="submit" class="primary" id="ide-assistant-send" disabled>
            Send
          </button>
        </div>
        <p class="muted small ide-assistant-keys" id="ide-assistant-keys">
          Enter sends · Shift+Enter new line · Escape closes
        </p>
      </form>
    </aside>
  );
}
