/**
 * Who is in the project and which file each person has open: the project presence room
 * (`/collab/<projectId>`, awareness only). Every IDE tab sets `{ user, file }`; the list
 * groups tabs by person (one person may have several tabs open).
 */
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { CLOSE_MESSAGES, collabServerUrl } from "./collab.ts";
import { userOf, type PresenceUser } from "./cursors.ts";
import { h } from "./dom.ts";

export type Person = { key: string; user: PresenceUser; files: string[]; me: boolean };

export class ProjectPresence {
  private readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  private listeners: ((people: Person[]) => void)[] = [];
  /** Why the server refused the room for good (signed out, no access), if it did. */
  refused: string | null = null;

  constructor(
    projectId: string,
    private readonly me: PresenceUser,
  ) {
    this.provider = new WebsocketProvider(collabServerUrl(), projectId, this.doc, {
      connect: navigator.onLine,
      // One room per tab is enough: other tabs of this browser join on their own.
      disableBc: true,
      shouldReconnect: (event) => !(event.code >= 4400 && event.code < 4500 && event.code !== 4429),
      maxBackoffTime: 5000,
    });
    this.provider.awareness.setLocalState({ user: me, file: null });
    this.provider.awareness.on("change", () => this.emit());
    this.provider.on("status", () => this.emit());
    this.provider.on("connection-close", (event: CloseEvent | null) => {
      if (event && !this.provider.shouldReconnect(event, this.provider)) {
        this.refused = event.code === 4404 ? "This project no longer exists." : (CLOSE_MESSAGES[event.code] ?? `The server closed the presence connection (${event.code}).`);
        this.emit();
      }
    });
  }

  /** The file this tab is looking at (null: none). */
  setFile(path: string | null): void {
    this.provider.awareness.setLocalStateField("file", path);
  }

  get connected(): boolean {
    return this.provider.wsconnected;
  }

  pause(): void {
    this.provider.disconnect();
  }

  resume(): void {
    this.provider.connect();
  }

  onChange(fn: (people: Person[]) => void): void {
    this.listeners.push(fn);
    fn(this.people());
  }

  private emit(): void {
    const people = this.people();
    for (const fn of this.listeners) fn(people);
  }

  /** Everyone present, you first, then by name; each with the files their tabs show. */
  people(): Person[] {
    const byKey = new Map<string, Person>();
    const mine = this.provider.awareness.clientID;
    this.provider.awareness.getStates().forEach((state, clientId) => {
      const isMe = clientId === mine;
      const user = isMe ? this.me : userOf(state);
      if (!user) return;
      // Guests have no id: each guest tab is its own person.
      const key = user.id ? `u:${user.id}` : `c:${clientId}`;
      const person = byKey.get(key) ?? { key, user, files: [], me: false };
      person.me ||= isMe || (this.me.id !== null && user.id === this.me.id);
      const file = state.file;
      if (typeof file === "string" && file && !person.files.includes(file)) person.files.push(file);
      byKey.set(key, person);
    });
    return [...byKey.values()].sort((a, b) => Number(b.me) - Number(a.me) || a.user.name.localeCompare(b.user.name));
  }
}

/** Renders the "Here now" list; a file name is a button that opens that file. */
export function renderPeople(list: HTMLElement, people: Person[], presence: ProjectPresence, open: (path: string) => void): void {
  const items: HTMLElement[] = [];
  if (presence.refused) items.push(h("li", { class: "field-error" }, presence.refused));
  else if (!presence.connected) items.push(h("li", { class: "muted small" }, navigator.onLine ? "Connecting to see who is here…" : "Offline: who is here shows when you are back online."));
  for (const p of people) {
    const files = p.files.map((f) => {
      const b = h("button", { type: "button", class: "link mono ide-person-file", title: `Open ${f}` }, f);
      b.addEventListener("click", () => open(f));
      return h("li", {}, b);
    });
    items.push(
      h(
        "li",
        { class: "ide-person" },
        h("span", { class: "ide-person-dot", style: `background:${p.user.color}`, "aria-hidden": "true" }),
        h("span", { class: "ide-person-name" }, p.user.name, p.me ? h("span", { class: "muted" }, " (you)") : null),
        files.length > 0 ? h("ul", { class: "plain ide-person-files", "aria-label": `Files ${p.user.name} has open` }, ...files) : h("span", { class: "muted small" }, " no file open"),
      ),
    );
  }
  list.replaceChildren(...items);
}
