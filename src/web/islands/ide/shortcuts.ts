/**
 * Binds the IDE's shortcuts (shortcut-list.ts, also shown in the `?` dialog) on the window in
 * the capture phase, so they work with the focus in Monaco too, and stop the browser's own
 * meaning (Ctrl+P print, Ctrl+S save page) where they replace it.
 */
import { isMac, isTyping } from "./dom.ts";
import { matches, SHORTCUTS, type ShortcutId } from "./shortcut-list.ts";

export type ShortcutHandlers = Partial<Record<ShortcutId, () => void>> & {
  /** Alt+1 … Alt+9: go to tab n (0-based). */
  goToTab?: (n: number) => void;
};

export function bindShortcuts(handlers: ShortcutHandlers, canWrite: boolean): void {
  window.addEventListener(
    "keydown",
    (e) => {
      if (e.defaultPrevented || e.isComposing) return;
      // Inside a modal dialog only the dialog's own keys apply.
      if (document.querySelector("dialog[open]")) return;
      if (e.altKey && !e.ctrlKey && !e.metaKey && /^Digit[1-9]$/.test(e.code) && handlers.goToTab) {
        e.preventDefault();
        handlers.goToTab(Number(e.code.slice(5)) - 1);
        return;
      }
      for (const s of SHORTCUTS) {
        if (s.writersOnly && !canWrite) continue;
        const fn = handlers[s.id];
        if (!fn || !s.combos.some((c) => matches(c, e, isMac))) continue;
        // "?" is a character: typing it into the editor or a field must still work.
        if (s.id === "help" && (isTyping(e.target) || (e.target as HTMLElement).closest?.(".monaco-editor"))) return;
        e.preventDefault();
        e.stopPropagation();
        fn();
        return;
      }
    },
    true,
  );
}
