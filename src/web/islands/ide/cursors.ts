/**
 * Remote cursors and selections in each person's colour, with their name on a label.
 * y-monaco draws them as decorations with the classes `yRemoteSelection-<clientID>` and
 * `yRemoteSelectionHead-<clientID>`; this module keeps one constructed stylesheet with a
 * rule per remote client, rebuilt when anyone's awareness changes. Names and colours come
 * from the server (it rewrites the `user` field of every awareness state), and are escaped
 * for CSS anyway.
 */
import type { Awareness } from "y-protocols/awareness";

export type PresenceUser = { id: string | null; name: string; color: string };

const MAX_LABEL = 40;

/** Reads the `user` field of an awareness state, if it has a usable one. */
export function userOf(state: Record<string, unknown> | undefined): PresenceUser | null {
  const u = state?.user;
  if (typeof u !== "object" || u === null) return null;
  const { id, name, color } = u as Record<string, unknown>;
  if (typeof name !== "string") return null;
  return { id: typeof id === "string" ? id : null, name, color: safeColor(color) };
}

/** A colour safe to put in CSS: #rgb, #rrggbb (or with alpha); anything else becomes grey. */
export function safeColor(c: unknown): string {
  return typeof c === "string" && /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(c) ? c : "#8b949e";
}

/** A quoted CSS string whose content cannot end the string or the rule. */
export function cssString(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, " ").slice(0, MAX_LABEL);
  return `"${clean.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

/** Black or white, whichever reads better on the colour. */
function labelText(color: string): string {
  let hex = color.slice(1);
  if (hex.length <= 4) hex = [...hex.slice(0, 3)].map((c) => c + c).join("");
  const [r, g, b] = [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
  const lum = 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
  return lum > 0.55 ? "#000" : "#fff";
}

export class RemoteCursorStyles {
  private readonly sheet = new CSSStyleSheet();
  private readonly tracked = new Set<Awareness>();
  private readonly rebuild = () => this.render();

  constructor() {
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, this.sheet];
  }

  track(awareness: Awareness): void {
    this.tracked.add(awareness);
    awareness.on("change", this.rebuild);
    this.render();
  }

  untrack(awareness: Awareness): void {
    this.tracked.delete(awareness);
    awareness.off("change", this.rebuild);
    this.render();
  }

  private render(): void {
    const rules: string[] = [];
    for (const awareness of this.tracked) {
      awareness.getStates().forEach((state, clientId) => {
        if (clientId === awareness.clientID || !Number.isSafeInteger(clientId)) return;
        const user = userOf(state);
        if (!user) return;
        const c = user.color;
        rules.push(
          `.yRemoteSelection-${clientId}{background-color:color-mix(in srgb, ${c} 28%, transparent)}`,
          `.yRemoteSelectionHead-${clientId}{border-color:${c}}`,
          `.yRemoteSelectionHead-${clientId}::after{content:${cssString(user.name)};background:${c};color:${labelText(c)}}`,
        );
      });
    }
    this.sheet.replaceSync(rules.join("\n"));
  }
}
