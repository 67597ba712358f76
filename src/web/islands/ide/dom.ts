/**
 * Small DOM helpers for the island. Text always goes in as text nodes (never innerHTML), so
 * file names and people's names cannot inject markup.
 */

type Attrs = Record<string, string | number | boolean | null | undefined>;
type ChildNode = Node | string | null | undefined | false;

/** Creates an element with attributes (`class`, `aria-*`, `data-*` …) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: ChildNode[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/** The element with this id, or an error naming it (the server renders every one the island needs). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`IDE: #${id} is missing from the page`);
  return el as T;
}

/** Like byId, for elements only some people get (writers' dialogs). */
export function maybeId<T extends HTMLElement = HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

/** A codicon (Monaco's icon font, loaded with the island's CSS). */
export function icon(name: string): HTMLSpanElement {
  return h("span", { class: `codicon codicon-${name}`, "aria-hidden": "true" });
}

/** True when a key press is going into a text field (shortcuts like "?" must not fire there). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
}

/** Announces a message to screen readers through a polite live region. */
export function announce(text: string): void {
  let live = document.getElementById("ide-live");
  if (!live) {
    live = h("div", { id: "ide-live", class: "visually-hidden", "aria-live": "polite" });
    document.body.append(live);
  }
  live.textContent = "";
  // A fresh text node after a tick makes repeated identical messages speak again.
  setTimeout(() => {
    if (live) live.textContent = text;
  }, 30);
}

export const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

/** "12.3 KB" */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
