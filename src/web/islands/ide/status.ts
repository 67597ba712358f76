/**
 * The status bar: the shown file's connection state (told honestly: offline, connecting,
 * synced, or why it closed), cursor position, language, the project's last saved version,
 * and how many people are here.
 */
import type { editor } from "monaco-editor";
import type { Api } from "./api.ts";
import { byId, h, icon } from "./dom.ts";
import { languageLabel } from "./monaco-setup.ts";
import type { Tab } from "./tabs.ts";

type ConnView = { state: string; text: string };

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What the status bar says about a tab's connection. */
export function connectionView(tab: Tab | null, readOnly: boolean): ConnView {
  if (!tab) return { state: "idle", text: "No file open" };
  if (tab.state === "binary") return { state: "idle", text: "Binary file" };
  if (tab.state === "error") return { state: "error", text: "Cannot open this file" };
  if (!tab.session) return { state: "connecting", text: "Opening…" };
  const st = tab.session.state();
  const ro = readOnly ? " · read-only" : "";
  switch (st.kind) {
    case "synced":
      return { state: "synced", text: `Synced${ro}` };
    case "loading":
      return { state: "connecting", text: "Loading…" };
    case "connecting":
      return { state: "connecting", text: st.pending > 0 ? `Connecting… ${plural(st.pending, "edit", "edits")} waiting to be sent` : `Connecting…${ro}` };
    case "offline":
      return { state: "offline", text: st.pending > 0 ? `Offline · ${plural(st.pending, "edit", "edits")} kept in this browser` : `Offline${ro}` };
    case "closed":
      return { state: "error", text: `Disconnected: ${st.message}` };
  }
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 31536000],
  ["month", 2592000],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];
const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

export function relativeTime(at: number, now = Date.now()): string {
  const s = (at - now) / 1000;
  if (Math.abs(s) < 45) return "just now";
  for (const [unit, secs] of UNITS) if (Math.abs(s) >= secs || unit === "minute") return rtf.format(Math.round(s / secs), unit);
  return "";
}

export class StatusBar {
  private readonly conn = byId("ide-conn");
  private readonly connText = byId("ide-conn-text");
  private readonly cursor = byId("ide-cursor");
  private readonly lang = byId("ide-lang");
  private readonly version = byId<HTMLAnchorElement>("ide-version");
  private readonly people = byId<HTMLButtonElement>("ide-people-count");
  private readonly peopleText = byId("ide-people-count-text");
  private lastConn = "";
  private lastTab: Tab | null = null;
  private flashTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ed: editor.IStandaloneCodeEditor,
    private readonly api: Api,
    private readonly readOnly: boolean,
  ) {
    ed.onDidChangeCursorPosition((e) => {
      this.cursor.textContent = `Ln ${e.position.lineNumber}, Col ${e.position.column}`;
    });
    window.addEventListener("focus", () => void this.refreshVersion());
    // Someone may save a version from the history page or the API meanwhile.
    setInterval(() => {
      if (document.visibilityState === "visible") void this.refreshVersion();
    }, 120_000);
  }

  showTab(tab: Tab | null): void {
    this.lastTab = tab;
    const v = connectionView(tab, this.readOnly);
    this.conn.dataset.state = v.state;
    // Only rewrite on change: the element is a live region and would repeat itself.
    if (v.text !== this.lastConn) {
      this.connText.textContent = v.text;
      this.lastConn = v.text;
    }
    const model = tab?.session && tab.state === "doc" ? tab.session.model : null;
    this.lang.textContent = model ? languageLabel(model.getLanguageId()) : "";
    const pos = model ? this.ed.getPosition() : null;
    this.cursor.textContent = pos ? `Ln ${pos.lineNumber}, Col ${pos.column}` : "";
  }

  /** A short message in place of the connection state, for a few seconds. */
  flash(text: string): void {
    this.connText.textContent = text;
    this.lastConn = text;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => {
      this.lastConn = "";
      this.showTab(this.lastTab);
    }, 3000);
  }

  showPeople(count: number, connected: boolean): void {
    this.people.hidden = !connected;
    this.peopleText.textContent = `${count} here`;
    this.people.title = plural(count, "person is", "people are") + " in this project";
  }

  onPeopleClick(fn: () => void): void {
    this.people.addEventListener("click", fn);
  }

  async refreshVersion(): Promise<void> {
    try {
      const v = await this.api.latestVersion();
      const parts: Node[] = [icon("git-commit"), document.createTextNode(" ")];
      if (v) {
        const at = Date.parse(v.at);
        parts.push(
          h("span", { class: "ide-hide-narrow" }, "main · "),
          h("span", { class: "mono" }, v.shortId),
          document.createTextNode(" "),
          h("span", { class: "ide-hide-narrow" }, "saved "),
          h("time", { datetime: new Date(at).toISOString(), title: `${v.message} — ${v.author.name}` }, relativeTime(at)),
        );
      } else parts.push(document.createTextNode("No version saved yet"));
      this.version.replaceChildren(...parts);
    } catch {
      // Offline or the server is busy: keep showing what we knew.
    }
  }
}
