/**
 * The IDE's keyboard shortcuts as data: the server renders the `?` help dialog from this list
 * and the island binds the same entries (shortcuts.ts), so the two cannot drift apart.
 * Pure data: imported by server and browser code alike.
 */

/** A key combination: `mod` is Ctrl on Windows/Linux and Cmd on macOS. */
export type Combo = { key: string; mod?: boolean; alt?: boolean; shift?: boolean };

export type ShortcutId =
  | "quick-open"
  | "help"
  | "save"
  | "close-tab"
  | "next-tab"
  | "previous-tab"
  | "toggle-files"
  | "focus-files"
  | "new-file";

export type Shortcut = {
  id: ShortcutId;
  combos: Combo[];
  description: string;
  /** Only offered to people who may change the project. */
  writersOnly?: boolean;
};

export const SHORTCUTS: Shortcut[] = [
  { id: "quick-open", combos: [{ key: "p", mod: true }], description: "Quick open: find a file by name" },
  { id: "help", combos: [{ key: "?" }], description: "Show this list of shortcuts (outside the editor)" },
  { id: "save", combos: [{ key: "s", mod: true }], description: "Nothing to do: every edit is saved as you type" },
  { id: "close-tab", combos: [{ key: "w", alt: true }], description: "Close the current tab" },
  { id: "next-tab", combos: [{ key: "]", alt: true }], description: "Next tab" },
  { id: "previous-tab", combos: [{ key: "[", alt: true }], description: "Previous tab" },
  { id: "toggle-files", combos: [{ key: "b", mod: true }], description: "Show or hide the file tree" },
  { id: "focus-files", combos: [{ key: "e", mod: true, shift: true }], description: "Move focus to the file tree" },
  { id: "new-file", combos: [{ key: "n", alt: true }], description: "New file", writersOnly: true },
];

/** Keys handled by the editor or the tree themselves, listed in the help dialog only. */
export const EDITOR_KEYS: { keys: string; description: string }[] = [
  { keys: "Ctrl/Cmd+Z", description: "Undo your own last edit (never someone else's)" },
  { keys: "Ctrl/Cmd+Shift+Z, Ctrl+Y", description: "Redo your own edit" },
  { keys: "Ctrl/Cmd+F", description: "Find in the file" },
  { keys: "F1", description: "Editor command palette" },
  { keys: "Ctrl+M", description: "Toggle whether Tab moves focus out of the editor" },
  { keys: "Alt+1 … Alt+9", description: "Go to tab 1 … 9" },
  { keys: "Arrow keys, Home, End", description: "Move in the file tree; Right/Left open and close folders" },
  { keys: "Enter", description: "Open the file (or folder) selected in the tree" },
  { keys: "F2", description: "Rename the file selected in the tree" },
  { keys: "Delete", description: "Delete the file selected in the tree" },
  { keys: "Escape", description: "Close a dialog or the file drawer" },
];

/** "Ctrl+Shift+E" style label; `mac` shows ⌘ and ⌥ instead. */
export function comboLabel(c: Combo, mac = false): string {
  const parts: string[] = [];
  if (c.mod) parts.push(mac ? "⌘" : "Ctrl");
  if (c.alt) parts.push(mac ? "⌥" : "Alt");
  if (c.shift) parts.push(mac ? "⇧" : "Shift");
  parts.push(c.key.length === 1 ? c.key.toUpperCase() : c.key);
  return parts.join(mac ? "" : "+");
}

/** Does a keydown match the combination? `mac` decides whether Cmd or Ctrl is the modifier. */
export function matches(c: Combo, e: Pick<KeyboardEvent, "key" | "code" | "ctrlKey" | "metaKey" | "altKey" | "shiftKey">, mac: boolean): boolean {
  const mod = mac ? e.metaKey : e.ctrlKey;
  if (Boolean(c.mod) !== mod) return false;
  if (Boolean(c.alt) !== e.altKey) return false;
  // "?" is typed with Shift on most layouts: do not require or refuse Shift for it.
  if (c.key !== "?" && Boolean(c.shift) !== e.shiftKey) return false;
  // With Alt held, macOS (and AltGr layouts) turn the key into another character; `code` is the physical key.
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (key === c.key) return true;
  if (c.alt || c.mod) return e.code === codeFor(c.key);
  return false;
}

function codeFor(key: string): string {
  if (/^[a-z]$/.test(key)) return `Key${key.toUpperCase()}`;
  if (/^[0-9]$/.test(key)) return `Digit${key}`;
  if (key === "[") return "BracketLeft";
  if (key === "]") return "BracketRight";
  return key;
}
