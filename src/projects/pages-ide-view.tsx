/**
 * The IDE page's server-rendered shell: the bar, the file tree (plain links, so the page is
 * usable before and without the island), the editor area with its fallback links, the status
 * bar and the dialogs the island drives. The island (src/web/islands/ide/) reads the data
 * attributes on #ide and takes over these elements; no data access here.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { Project } from "../db/schema.ts";
import type { AccessLevel } from "./access.ts";
import type { TreeNode } from "./files.ts";
import type { VersionJson } from "./versions.ts";
import { comboLabel, EDITOR_KEYS, SHORTCUTS } from "../web/islands/ide/shortcut-list.ts";
import { blobUrl, editUrl, encodePath, projectUrl, RelTime } from "./pages-ui.tsx";
import { FileTree } from "./pages-view.tsx";
import { DEPLOY_CSS, DEPLOY_JS, deployUrl } from "../deploy/pages-deploy-view.tsx";
import { AssistantPanel, AssistantToggle, CHAT_CSS } from "../ai/pages-chat-panel.tsx";

export const ISLAND_JS = "/assets/islands/ide/ide.js";
export const ISLAND_CSS = "/assets/islands/ide/ide.css";

export const ideUrl = (projectId: string, path = "") => `${projectUrl(projectId)}/ide${path ? `/${encodePath(path)}` : ""}`;

export type IdeUser = { id: string | null; name: string; color: string };

export type IdeShellProps = {
  project: Project;
  owner: string;
  tree: TreeNode[];
  /** The file (or folder) named in the URL, "" for none. */
  path: string;
  pathIsFile: boolean;
  user: IdeUser;
  access: Exclude<AccessLevel, "none">;
  csrf?: string;
  version: VersionJson | null;
  /** A line of the file to show and select once it has loaded (`?line=N`, from search results). */
  line?: number;
};

export function IdeShell(p: IdeShellProps): Html {
  const { project } = p;
  const canWrite = p.access === "write" || p.access === "admin";
  const file = p.pathIsFile ? p.path : "";
  // Where to go without the island: the plain-form editor (writers), the file view, or the project page.
  const fallback = !file
    ? { href: projectUrl(project.id), label: "Project page", title: "The project page" }
    : canWrite
      ? { href: editUrl(project.id, file), label: "Plain editor", title: `Edit ${file} in the plain form` }
      : { href: blobUrl(project.id, file), label: "View file", title: `View ${file}` };
  return (
    <div
      id="ide"
      class="ide"
      data-project-id={project.id}
      data-project-name={project.name}
      data-path={p.path}
      data-path-kind={p.path ? (p.pathIsFile ? "file" : "dir") : undefined}
      data-line={file && p.line ? p.line : undefined}
      data-user-id={p.user.id ?? ""}
      data-user-name={p.user.name}
      data-user-color={p.user.color}
      data-access={p.access}
      data-csrf={p.csrf}
      data-read-only={canWrite ? undefined : "true"}
    >
      <div class="ide-bar">
        <button type="button" class="small ide-drawer-toggle" id="ide-drawer-toggle" aria-controls="ide-side" aria-expanded="false" hidden>
          <span class="codicon codicon-files" aria-hidden="true"></span> Files
        </button>
        <p class="ide-crumb">
          <a href={projectUrl(project.id)} title="Back to the project page">
            <span class="muted">{p.owner} /</span> {project.slug}
          </a>
          <span class="ide-title mono" id="ide-title">
            {file}
          </span>
        </p>
        {canWrite ? null : (
          <span class="badge ide-readonly-badge" title="You can read this project but not change it">
            Read-only
          </span>
        )}
        <div class="ide-bar-actions">
          <button type="button" class="small" id="ide-quick-open-button" hidden title={`Find a file (${comboLabel({ key: "p", mod: true })})`}>
            <span class="codicon codicon-search" aria-hidden="true"></span> <span class="ide-hide-narrow">Go to file</span>
          </button>
          <a class="btn small" id="ide-fallback" href={fallback.href} aria-label={fallback.label} title={fallback.title}>
            <span class="codicon codicon-link-external" aria-hidden="true"></span>{" "}
            <span class="ide-hide-narrow" id="ide-fallback-label">
              {fallback.label}
            </span>
          </a>
          {p.user.id ? <AssistantToggle projectId={project.id} /> : null}
          <a class="btn small" id="ide-deploy-toggle" href={deployUrl(project.id)} aria-label="Deploy" title="Deploy this project and watch its log">
            <span class="codicon codicon-rocket" aria-hidden="true"></span> <span class="ide-hide-narrow">Deploy</span>
          </a>
          <button type="button" class="small" id="ide-help-button" aria-haspopup="dialog" aria-controls="ide-help" title="Keyboard shortcuts (?)">
            <span aria-hidden="true">?</span>
            <span class="visually-hidden">Keyboard shortcuts</span>
          </button>
        </div>
      </div>
      <div class="ide-body">
        <aside class="ide-side" id="ide-side" aria-label="Files and people">
          <section class="ide-files" aria-labelledby="ide-files-heading">
            <div class="ide-pane-head">
              <h2 id="ide-files-heading">Files</h2>
              {canWrite ? <TreeTools /> : null}
            </div>
            <div class="ide-tree-host" id="ide-tree">
              {p.tree.length > 0 ? (
                <FileTree projectId={project.id} nodes={p.tree} current={p.path || undefined} href={(path) => ideUrl(project.id, path)} />
              ) : (
                <p class="muted small pad">No files yet.</p>
              )}
            </div>
            <p class="ide-tree-error field-error" id="ide-tree-error" role="alert" hidden></p>
          </section>
          <section class="ide-people" aria-labelledby="ide-people-heading">
            <h2 id="ide-people-heading">Here now</h2>
            <ul class="plain ide-presence" id="ide-presence">
              <li class="muted small">Who is here shows once the editor has loaded.</li>
            </ul>
          </section>
        </aside>
        <div class="ide-backdrop" id="ide-backdrop" hidden></div>
        <section class="ide-main" aria-label="Editor">
          <div class="ide-tabs" id="ide-tabs" role="tablist" aria-label="Open files"></div>
          <div class="ide-editor" id="ide-editor">
            <EditorPlaceholder projectId={project.id} file={file} canWrite={canWrite} />
          </div>
          <StatusBar project={project} version={p.version} canWrite={canWrite} />
        </section>
        <DeployPanel projectId={project.id} />
        {p.user.id ? <AssistantPanel project={project} /> : null}
      </div>
      <HelpDialog canWrite={canWrite} />
      <QuickOpenDialog />
      {canWrite ? <PromptDialog /> : null}
      {canWrite ? <ConfirmDialog /> : null}
      {canWrite ? <input type="file" id="ide-upload" multiple hidden aria-hidden="true" tabindex="-1" /> : null}
      <link rel="stylesheet" href={DEPLOY_CSS} />
      {p.user.id ? <link rel="stylesheet" href={CHAT_CSS} /> : null}
      <script src={DEPLOY_JS} defer></script>
    </div>
  );
}

/**
 * The Deploy panel beside the editor: public/deploy.js opens it from the bar's Deploy link and
 * loads the Deploy page's view into it (the same server-rendered fragment); without JavaScript
 * that link simply opens the Deploy page.
 */
function DeployPanel(p: { projectId: string }): Html {
  return (
    <aside class="ide-deploy" id="ide-deploy" aria-labelledby="ide-deploy-heading" data-src={`${deployUrl(p.projectId)}?panel=1`} hidden>
      <div class="ide-deploy-head">
        <h2 id="ide-deploy-heading">Deploy</h2>
        <a class="small" href={deployUrl(p.projectId)} title="The project's Deploy page">
          Full page
        </a>
        <button type="button" class="icon" id="ide-deploy-close" aria-label="Close the Deploy panel" title="Close (Escape)">
          <span class="codicon codicon-close" aria-hidden="true"></span>
        </button>
      </div>
      <div class="ide-deploy-body" id="ide-deploy-body"></div>
    </aside>
  );
}

function TreeTools(): Html {
  const tool = (id: string, icon: string, label: string, extra?: string) => (
    <button type="button" class="icon" id={id} title={extra ? `${label} (${extra})` : label} aria-label={label}>
      <span class={`codicon codicon-${icon}`} aria-hidden="true"></span>
    </button>
  );
  return (
    <div class="ide-tree-tools" id="ide-tree-tools" role="toolbar" aria-label="File actions" hidden>
      {tool("ide-new-file", "new-file", "New file", "Alt+N")}
      {tool("ide-new-folder", "new-folder", "New folder")}
      {tool("ide-upload-button", "cloud-upload", "Upload files")}
      {tool("ide-rename", "edit", "Rename", "F2")}
      {tool("ide-move", "arrow-swap", "Move to folder…")}
      {tool("ide-delete", "trash", "Delete", "Delete")}
    </div>
  );
}

function EditorPlaceholder(p: { projectId: string; file: string; canWrite: boolean }): Html {
  return (
    <div class="ide-placeholder" id="ide-placeholder">
      {p.file ? (
        <p>
          Loading the editor for <span class="mono">{p.file}</span>…
        </p>
      ) : (
        <p>Open a file from the tree to edit it together with everyone here.</p>
      )}
      <p class="muted small">
        The editor needs JavaScript.{" "}
        {p.file ? (
          <>
            Without it, <a href={blobUrl(p.projectId, p.file)}>view the file</a>
            {p.canWrite ? (
              <>
                {" "}
                or <a href={editUrl(p.projectId, p.file)}>edit it in the plain form</a>
              </>
            ) : null}
            .
          </>
        ) : (
          <>
            Without it, use the <a href={projectUrl(p.projectId)}>project page</a>.
          </>
        )}
      </p>
    </div>
  );
}

function StatusBar(p: { project: Project; version: VersionJson | null; canWrite: boolean }): Html {
  const history = `${projectUrl(p.project.id)}/history`;
  return (
    <footer class="ide-status" id="ide-status" aria-label="Status">
      <span class="ide-conn" id="ide-conn" role="status" data-state="idle">
        <span class="ide-dot" aria-hidden="true"></span> <span id="ide-conn-text">No file open</span>
      </span>
      <span class="ide-cursor ide-hide-narrow" id="ide-cursor"></span>
      <span class="ide-lang ide-hide-narrow" id="ide-lang"></span>
      <span class="ide-grow"></span>
      <a class="ide-version" id="ide-version" href={history} title="The last saved version of this project (history)">
        <span class="codicon codicon-git-commit" aria-hidden="true"></span>{" "}
        {p.version ? (
          <>
            <span class="ide-hide-narrow">main · </span>
            <span class="mono">{p.version.shortId}</span> <span class="ide-hide-narrow">saved </span>
            <RelTime at={Date.parse(p.version.at)} />
          </>
        ) : (
          "No version saved yet"
        )}
      </a>
      <button type="button" class="link ide-people-count" id="ide-people-count" aria-controls="ide-side" hidden>
        <span class="codicon codicon-person" aria-hidden="true"></span> <span id="ide-people-count-text"></span>
      </button>
    </footer>
  );
}

function HelpDialog(p: { canWrite: boolean }): Html {
  return (
    <dialog class="ide-dialog" id="ide-help" aria-labelledby="ide-help-heading">
      <form method="dialog" class="ide-dialog-body">
        <h2 id="ide-help-heading">Keyboard shortcuts</h2>
        <p class="muted small">On a Mac, use ⌘ where it says Ctrl.</p>
        <div class="ide-keys-wrap" tabindex="0" role="region" aria-labelledby="ide-help-heading">
          <table class="ide-keys">
            <tbody>
              {SHORTCUTS.filter((s) => p.canWrite || !s.writersOnly).map((s) => (
                <tr>
                  <th scope="row">
                    {s.combos.map((c) => (
                      <kbd>{comboLabel(c)}</kbd>
                    ))}
                  </th>
                  <td>{s.description}</td>
                </tr>
              ))}
              {EDITOR_KEYS.map((k) => (
                <tr>
                  <th scope="row">
                    <kbd>{k.keys}</kbd>
                  </th>
                  <td>{k.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="form-actions">
          <button type="submit" class="primary">
            Close
          </button>
        </div>
      </form>
    </dialog>
  );
}

function QuickOpenDialog(): Html {
  return (
    <dialog class="ide-dialog ide-quick-open" id="ide-quick-open" aria-labelledby="ide-quick-open-label">
      <div class="ide-dialog-body">
        <label for="ide-quick-open-input" id="ide-quick-open-label">
          Go to file
        </label>
        <input
          type="text"
          id="ide-quick-open-input"
          class="mono"
          role="combobox"
          aria-expanded="true"
          aria-controls="ide-quick-open-list"
          aria-autocomplete="list"
          autocomplete="off"
          spellcheck="false"
          placeholder="Type part of a file name"
        />
        <ul class="plain ide-quick-open-list" id="ide-quick-open-list" role="listbox" aria-label="Matching files"></ul>
        <p class="muted small" id="ide-quick-open-hint">
          ↑ ↓ to choose, Enter to open, Escape to close.
        </p>
      </div>
    </dialog>
  );
}

/** One text question (new file, rename, move): the island fills the label and checks the answer. */
function PromptDialog(): Html {
  return (
    <dialog class="ide-dialog" id="ide-prompt" aria-labelledby="ide-prompt-title">
      <form method="dialog" class="ide-dialog-body" novalidate>
        <h2 id="ide-prompt-title">New file</h2>
        <div class="field" id="ide-prompt-field">
          <label for="ide-prompt-input" id="ide-prompt-label">
            Path
          </label>
          <input type="text" id="ide-prompt-input" class="mono" autocomplete="off" spellcheck="false" aria-describedby="ide-prompt-hint ide-prompt-error" />
          <p class="hint" id="ide-prompt-hint"></p>
          <p class="field-error" id="ide-prompt-error" role="alert" hidden></p>
        </div>
        <div class="form-actions">
          <button type="submit" class="primary" value="ok" id="ide-prompt-ok">
            Create
          </button>
          <button type="submit" value="cancel" formnovalidate>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

function ConfirmDialog(): Html {
  return (
    <dialog class="ide-dialog" id="ide-confirm" aria-labelledby="ide-confirm-title" aria-describedby="ide-confirm-text">
      <form method="dialog" class="ide-dialog-body">
        <h2 id="ide-confirm-title">Delete</h2>
        <p id="ide-confirm-text"></p>
        <div class="form-actions">
          <button type="submit" class="danger" value="ok" id="ide-confirm-ok">
            Delete
          </button>
          <button type="submit" value="cancel" autofocus>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
