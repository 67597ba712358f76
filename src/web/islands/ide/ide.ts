/**
 * The IDE island's entry point (bundled to /assets/islands/ide/ide.js by
 * scripts/build-islands.ts). Reads what the server put on #ide (project, file, who you are,
 * your access, the CSRF token), replaces the server-rendered fallbacks with the live tree,
 * tabs and Monaco editor, and wires presence, offline handling and shortcuts together.
 */
import "./ide-shell.css";
import "./ide-overlays.css";
import { Api, ApiFailure, baseName, encodePath, filePaths, findNode, type TreeNode } from "./api.ts";
import { editorContextOf, startAssistant } from "./assistant.ts";
import { RemoteCursorStyles, safeColor, type PresenceUser } from "./cursors.ts";
import { announce, byId, h, maybeId } from "./dom.ts";
import { SidePane } from "./drawer.ts";
import { createEditor, followSiteTheme, installWorkers } from "./monaco-setup.ts";
import { DocIds, TabMemory, watchConnectivity } from "./offline.ts";
import { ProjectPresence, renderPeople } from "./presence.ts";
import { QuickOpen } from "./quick-open.ts";
import { bindShortcuts } from "./shortcuts.ts";
import { StatusBar } from "./status.ts";
import { Tabs, type Tab } from "./tabs.ts";
import { TreeActions, type TreeChange } from "./tree-actions.ts";
import { FileTree } from "./tree.ts";

const TREE_REFRESH_MS = 30_000;

function start(root: HTMLElement): void {
  const d = root.dataset;
  const projectId = d.projectId ?? "";
  const projectName = d.projectName ?? "";
  const canWrite = d.access === "write" || d.access === "admin";
  const user: PresenceUser = { id: d.userId || null, name: d.userName || "Guest", color: safeColor(d.userColor) };
  const ideBase = `/projects/${encodeURIComponent(projectId)}/ide`;

  root.classList.add("ide-live");
  installWorkers();
  followSiteTheme();
  const api = new Api(projectId, d.csrf);
  const area = byId("ide-editor");
  const monacoHost = h("div", { class: "ide-monaco", hidden: true });
  area.replaceChildren(monacoHost);
  const ed = createEditor(monacoHost);
  const cursors = new RemoteCursorStyles();
  const side = new SidePane();
  const status = new StatusBar(ed, api, !canWrite);
  const docIds = new DocIds(projectId);
  const memory = new TabMemory(projectId, user.id ?? "");
  const presence = new ProjectPresence(projectId, user);
  const title = byId("ide-title");
  const fallback = byId<HTMLAnchorElement>("ide-fallback");
  const fallbackLabel = byId("ide-fallback-label");

  // ---- Tree ----
  let knownPaths = new Set<string>();
  const tree = new FileTree(byId("ide-tree"), { open: (p, focusEditor) => openFile(p, { focus: focusEditor }), key: (action, p) => void treeKey(action, p) }, canWrite);
  const showTree = (nodes: TreeNode[]) => {
    tree.setNodes(nodes);
    knownPaths = new Set(filePaths(nodes));
  };
  let refreshing: Promise<void> | null = null;
  /** Reloads the tree; calls made while a reload is running share it. */
  const refreshTree = (): Promise<void> => {
    refreshing ??= api
      .tree()
      .then((nodes: TreeNode[]) => {
        showTree(nodes);
        actions?.showError(null);
      })
      .catch((e: unknown) => {
        // Offline: keep the tree we have; anything else is worth saying.
        if (!(e instanceof ApiFailure && e.status === 0)) actions?.showError(`The file list could not be loaded: ${(e as Error).message}`);
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  };

  const actions = canWrite ? new TreeActions(tree, api, refreshTree, (c) => treeChanged(c)) : null;
  actions?.wire();

  async function treeKey(action: "rename" | "delete", path: string): Promise<void> {
    if (!actions) return;
    if (action === "rename") await actions.rename(path);
    else await actions.remove(path);
  }

  function treeChanged(c: TreeChange): void {
    if (c.kind === "moved") tabs.moved(c.from, c.to);
    else if (c.kind === "deleted") tabs.deleted(c.path);
    else if (findNode(tree.nodes, c.path)?.type === "file" && baseName(c.path) !== ".gitkeep") openFile(c.path);
  }

  // ---- Tabs ----
  /** The new path of a file someone else moved: the new files in the tree whose document id is ours. */
  async function relocate(tab: Tab): Promise<string | null> {
    const before = knownPaths;
    const docId = docIds.get(tab.path);
    if (!docId) return null;
    // A fresh listing (not a reload already running, which may predate the move).
    let nodes: TreeNode[];
    try {
      nodes = await api.tree();
    } catch {
      return null;
    }
    showTree(nodes);
    const paths = filePaths(nodes);
    const candidates = [...new Set([...paths.filter((p) => !before.has(p)), ...paths.filter((p) => baseName(p) === baseName(tab.path))])].slice(0, 200);
    for (let i = 0; i < candidates.length; i += 6) {
      const batch = candidates.slice(i, i + 6);
      const infos = await Promise.all(batch.map((p) => api.docInfo(p).catch(() => null)));
      const hit = infos.find((info) => info?.docId === docId);
      if (hit) return hit.path;
    }
    return null;
  }

  const tabs = new Tabs(
    {
      projectId,
      api,
      editor: ed,
      cursors,
      user,
      readOnly: !canWrite,
      docIds,
      memory,
      changed: (tab) => tabChanged(tab),
      relocate,
      sizeOf: (p) => findNode(tree.nodes, p)?.size,
    },
    monacoHost,
  );

  function tabChanged(tab: Tab | null): void {
    if (tab !== null && tab !== tabs.active) return;
    status.showTab(tab);
    const path = tab?.path ?? null;
    if (tree.current !== path) tree.setCurrent(path);
    presence.setFile(path);
    title.textContent = path ?? "";
    document.title = `${path ? `${path} · ` : ""}${projectName} · Wove`;
    const encoded = path ? encodePath(path) : "";
    fallback.href = path ? `/projects/${encodeURIComponent(projectId)}/${canWrite ? "edit" : "blob"}/${encoded}` : `/projects/${encodeURIComponent(projectId)}`;
    fallbackLabel.textContent = path ? (canWrite ? "Plain editor" : "View file") : "Project page";
    // On narrow screens only the icon shows: the link still says where it goes.
    fallback.title = path ? (canWrite ? `Edit ${path} in the plain form` : `View ${path}`) : "The project page";
    fallback.setAttribute("aria-label", fallbackLabel.textContent);
    const url = path ? `${ideBase}/${encoded}` : ideBase;
    if (location.pathname !== url) history.replaceState({ path }, "", url);
  }

  function openFile(path: string, opts: { push?: boolean; focus?: boolean } = {}): void {
    // A new history entry per opened file, so Back returns to the previous one.
    const url = `${ideBase}/${encodePath(path)}`;
    if (opts.push !== false && location.pathname !== url) history.pushState({ path }, "", url);
    const focus = opts.focus ?? true;
    tabs.open(path, { focus });
    // On a narrow screen the drawer covers the editor: get it out of the way once a file is chosen.
    if (side.narrow) side.closeDrawer(!focus);
  }

  window.addEventListener("popstate", () => {
    const rest = location.pathname.startsWith(`${ideBase}/`) ? location.pathname.slice(ideBase.length + 1) : "";
    let path = "";
    try {
      path = rest.split("/").map(decodeURIComponent).join("/");
    } catch {
      return;
    }
    if (path && findNode(tree.nodes, path)?.type !== "dir") openFile(path, { push: false, focus: false });
  });

  // ---- Presence ----
  const peopleList = byId("ide-presence");
  presence.onChange((people) => {
    renderPeople(peopleList, people, presence, (p) => openFile(p));
    status.showPeople(people.length, presence.connected);
  });
  status.onPeopleClick(() => {
    side.reveal();
    byId("ide-people-heading").scrollIntoView({ block: "nearest" });
  });

  // ---- Offline ----
  watchConnectivity({
    offline() {
      for (const s of tabs.sessions()) s.pause();
      presence.pause();
      status.showTab(tabs.active);
      announce("You are offline. Keep typing: your edits are kept in this browser and sent when you are back.");
    },
    online() {
      for (const s of tabs.sessions()) s.resume();
      presence.resume();
      void refreshTree();
      announce("Back online: sending your edits.");
    },
  });

  // ---- Assistant (signed-in people only: the panel is on the page for them) ----
  startAssistant({ projectId, csrf: d.csrf, editorContext: () => editorContextOf(tabs, ed), openFile: (p) => openFile(p) });

  // ---- Dialogs and shortcuts ----
  const help = byId<HTMLDialogElement>("ide-help");
  byId("ide-help-button").addEventListener("click", () => help.showModal());
  const quickOpen = new QuickOpen(
    () => filePaths(tree.nodes),
    () => tabs.tabs.map((t) => t.path),
    (p) => openFile(p),
  );
  const quickButton = byId<HTMLButtonElement>("ide-quick-open-button");
  quickButton.hidden = false;
  quickButton.addEventListener("click", () => quickOpen.show());
  bindShortcuts(
    {
      "quick-open": () => quickOpen.show(),
      help: () => help.showModal(),
      save: () => status.flash("Every edit is saved as you type; there is nothing to save."),
      "close-tab": () => tabs.active && tabs.close(tabs.active),
      "next-tab": () => tabs.step(1),
      "previous-tab": () => tabs.step(-1),
      "toggle-files": () => side.toggle(),
      "focus-files": () => {
        side.reveal();
        tree.focus();
      },
      "new-file": () => void actions?.newFile(),
      goToTab: (n) => tabs.goTo(n),
    },
    canWrite,
  );

  // Files dropped outside the tree would make the browser leave the IDE to show them.
  const outsideTree = (e: DragEvent) => Boolean(e.dataTransfer?.types.includes("Files")) && !tree.host.contains(e.target as Node);
  root.addEventListener("dragover", (e) => {
    if (!outsideTree(e) || e.defaultPrevented) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = "none";
  });
  root.addEventListener("drop", (e) => {
    if (outsideTree(e)) e.preventDefault();
  });

  // ---- Start ----
  // The file in the URL opens at once (the server checked it is one); the tabs of the last
  // visit come back unconnected, and those whose file is gone are dropped once the tree is here.
  const initial = d.path ?? "";
  const saved = memory.load();
  for (const p of saved.paths) if (p !== initial) tabs.open(p, { lazy: true });
  // `?line=N` (a search result): the server checked it is a whole number; shown once the text is here.
  const line = Number(d.line ?? "");
  if (initial && d.pathKind === "file") tabs.open(initial, { focus: false, ...(Number.isInteger(line) && line > 0 ? { line } : {}) });
  void refreshTree().then(() => {
    for (const t of [...tabs.tabs]) if (t.state === "idle" && findNode(tree.nodes, t.path)?.type !== "file" && tree.nodes.length > 0) tabs.close(t);
    if (initial && d.pathKind === "dir") tree.reveal(initial);
    if (tabs.active) return;
    const last = saved.active ? tabs.find(saved.active) : undefined;
    if (last) tabs.activate(last, false);
    else tabChanged(null);
  });
  void status.refreshVersion();
  window.addEventListener("focus", () => void refreshTree());
  setInterval(() => {
    if (document.visibilityState === "visible" && navigator.onLine) void refreshTree();
  }, TREE_REFRESH_MS);
  // The page's own sign that the island runs (styles and tests key off it).
  root.dataset.ready = "true";
}

const root = maybeId("ide");
if (root) start(root);
