/**
 * The assistant panel's list of conversations (this project's: the person's own and the ones
 * collaborators shared), opened from the panel's history button, and the model picker filled
 * from GET /api/v1/ai/models.
 */
import type { ConversationJson } from "../../../ai/conversations.ts";
import { byId, h } from "./dom.ts";

function relative(iso: string): string {
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export class ConversationHistory {
  private readonly toggle = byId<HTMLButtonElement>("ide-assistant-history-toggle");
  private readonly box = byId("ide-assistant-history");
  private readonly list = byId("ide-assistant-history-list");

  constructor(
    private readonly projectId: string,
    private readonly current: () => string | null,
    private readonly choose: (conversationId: string) => void,
  ) {
    this.toggle.addEventListener("click", () => this.show(this.box.hidden));
  }

  get visible(): boolean {
    return !this.box.hidden;
  }

  show(on: boolean): void {
    this.box.hidden = !on;
    this.toggle.setAttribute("aria-expanded", String(on));
    if (on) void this.refresh();
  }

  async refresh(): Promise<void> {
    const res = await fetch(`/api/v1/ai/conversations?projectId=${encodeURIComponent(this.projectId)}&limit=50`, { credentials: "same-origin" }).catch(() => null);
    if (!res?.ok) {
      this.list.replaceChildren(h("li", { class: "muted small" }, "The conversations could not be loaded."));
      return;
    }
    const { conversations } = (await res.json()) as { conversations: ConversationJson[] };
    if (conversations.length === 0) {
      this.list.replaceChildren(h("li", { class: "muted small" }, "No conversations yet."));
      return;
    }
    const current = this.current();
    this.list.replaceChildren(
      ...conversations.map((c) => {
        const b = h(
          "button",
          { type: "button", class: "chat-history-item", "aria-current": c.id === current ? "true" : undefined },
          h("span", { class: "chat-history-title" }, c.title || "Untitled"),
          h("span", { class: "muted small" }, `${c.mine ? "You" : c.owner.name || c.owner.username} · ${relative(c.updatedAt)}${c.shared ? " · shared" : ""}`),
        );
        b.addEventListener("click", () => {
          this.show(false);
          this.choose(c.id);
        });
        return h("li", {}, b);
      }),
    );
  }
}

/** Offers the enabled providers' chat models when there is a choice to make (two or more); "Automatic" follows the admin's routing. */
export async function loadModelChoices(select: HTMLSelectElement): Promise<void> {
  const res = await fetch("/api/v1/ai/models", { credentials: "same-origin" }).catch(() => null);
  if (!res?.ok) return;
  const { models } = (await res.json()) as { models: { id: string; embedding?: boolean }[] };
  const chat = models.filter((m) => !m.embedding);
  if (chat.length < 2) return;
  for (const m of chat) select.append(h("option", { value: m.id }, m.id));
  select.hidden = false;
}
