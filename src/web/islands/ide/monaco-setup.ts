/**
 * Monaco's environment: its web workers (module workers built beside this bundle, from our own
 * origin — CSP `worker-src 'self'`), the site's light/dark theme, the language for a path, and
 * the editor itself.
 */
import { editor, languages, typescript, Uri } from "monaco-editor";

/** The folder this bundle was served from (/assets/islands/ide/): the workers sit beside it. */
const ASSET_BASE = new URL(".", import.meta.url);

const WORKER_FOR_LABEL: Record<string, string> = {
  json: "json.worker.js",
  css: "css.worker.js",
  scss: "css.worker.js",
  less: "css.worker.js",
  html: "html.worker.js",
  handlebars: "html.worker.js",
  razor: "html.worker.js",
  typescript: "ts.worker.js",
  javascript: "ts.worker.js",
};

export function installWorkers(): void {
  self.MonacoEnvironment = {
    getWorker(_workerId: string, label: string): Worker {
      const file = WORKER_FOR_LABEL[label] ?? "editor.worker.js";
      return new Worker(new URL(file, ASSET_BASE), { type: "module", name: label });
    },
  };
  // Semantic checks would flag every import of a file that is not open in a tab as missing:
  // keep the syntax errors, drop the noise.
  for (const defaults of [typescript.typescriptDefaults, typescript.javascriptDefaults]) {
    defaults.setDiagnosticsOptions({ noSemanticValidation: true, noSyntaxValidation: false });
    defaults.setCompilerOptions({ ...defaults.getCompilerOptions(), allowJs: true, allowNonTsExtensions: true, jsx: typescript.JsxEmit.Preserve, target: typescript.ScriptTarget.ESNext });
  }
}

// ---- Theme: follows the site (prefers-color-scheme) ----

const dark = window.matchMedia("(prefers-color-scheme: dark)");

function cssColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return /^#[0-9a-f]{6}$/i.test(v) ? v : fallback;
}

function defineThemes(): void {
  // The custom properties in app.css change with the colour scheme, so read them per scheme.
  const isDark = dark.matches;
  const colors = {
    "editor.background": cssColor("--bg", isDark ? "#0d1117" : "#ffffff"),
    "editorGutter.background": cssColor("--bg", isDark ? "#0d1117" : "#ffffff"),
    "editorLineNumber.foreground": cssColor("--fg-muted", isDark ? "#9198a1" : "#59636e"),
    focusBorder: cssColor("--focus", isDark ? "#a8a2ff" : "#4c3fd6"),
  };
  editor.defineTheme(isDark ? "wove-dark" : "wove-light", { base: isDark ? "vs-dark" : "vs", inherit: true, rules: [], colors });
}

export function themeName(): string {
  return dark.matches ? "wove-dark" : "wove-light";
}

export function followSiteTheme(): void {
  defineThemes();
  editor.setTheme(themeName());
  dark.addEventListener("change", () => {
    defineThemes();
    editor.setTheme(themeName());
  });
}

// ---- Languages by file name ----

let byExtension: Map<string, string> | undefined;
let byFilename: Map<string, string> | undefined;

function indexLanguages(): void {
  byExtension = new Map();
  byFilename = new Map();
  for (const lang of languages.getLanguages()) {
    for (const ext of lang.extensions ?? []) if (!byExtension.has(ext.toLowerCase())) byExtension.set(ext.toLowerCase(), lang.id);
    for (const name of lang.filenames ?? []) if (!byFilename.has(name.toLowerCase())) byFilename.set(name.toLowerCase(), lang.id);
  }
}

/** Monaco's language id for a path: by exact file name (Dockerfile), then by the longest extension (.d.ts before .ts). */
export function languageFor(path: string): string {
  if (!byExtension || !byFilename) indexLanguages();
  const name = (path.split("/").pop() ?? path).toLowerCase();
  const exact = byFilename?.get(name);
  if (exact) return exact;
  for (let i = name.indexOf("."); i >= 0; i = name.indexOf(".", i + 1)) {
    const id = byExtension?.get(name.slice(i));
    if (id) return id;
  }
  return "plaintext";
}

/** A human name for a language id ("TypeScript"). */
export function languageLabel(id: string): string {
  const lang = languages.getLanguages().find((l) => l.id === id);
  return lang?.aliases?.[0] ?? (id === "plaintext" ? "Plain text" : id);
}

/** The model URI for a project file: file:///<path>, so the TS worker resolves imports between open files. */
export function modelUri(path: string): Uri {
  return Uri.from({ scheme: "file", path: `/${path}` });
}

export function createEditor(host: HTMLElement): editor.IStandaloneCodeEditor {
  const narrow = window.matchMedia("(max-width: 700px)").matches;
  return editor.create(host, {
    model: null,
    automaticLayout: true,
    readOnly: true,
    theme: themeName(),
    fontSize: 14,
    fontFamily: getComputedStyle(document.documentElement).getPropertyValue("--mono").trim() || "monospace",
    minimap: { enabled: !narrow },
    wordWrap: narrow ? "on" : "off",
    // On a phone every column counts: a slim gutter.
    lineNumbersMinChars: narrow ? 2 : 4,
    folding: !narrow,
    lineDecorationsWidth: narrow ? 4 : 10,
    scrollBeyondLastLine: false,
    // Room above line 1 for the name label of a remote cursor there.
    padding: { top: 18 },
    renderWhitespace: "selection",
    fixedOverflowWidgets: true,
    "semanticHighlighting.enabled": false,
    accessibilitySupport: "auto",
    ariaLabel: "Editor",
  });
}
