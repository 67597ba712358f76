/**
 * View components for the project pages: header with tabs, file tree, code view,
 * folder listing and the "Add a file" form. No data access here.
 */
import { raw, type Child, type Html } from "../web/jsx/jsx-runtime.ts";
import type { Project } from "../db/schema.ts";
import type { TreeNode } from "./files.ts";
import type { ForkRef } from "./projects.ts";
import { blobUrl, formatBytes, projectUrl, rawUrl, teamUrl, VisibilityBadge } from "./pages-ui.tsx";

/** The tree stops rendering after this many entries (huge projects stay usable). */
export const TREE_MAX_NODES = 3000;

export type ProjectHeaderProps = {
  project: Project;
  owner: string;
  canAdmin: boolean;
  /** Writers get a "Save version" button (it leads to the history page's form). */
  canWrite?: boolean;
  tab: "code" | "history" | "deploy" | "settings";
  /** Signed-in readers get the "Fork" button (with the fork count). */
  canFork?: boolean;
  /** The source of a fork as the viewer may know it (see forkedFromFor in pages-fork.tsx). */
  forkedFrom?: ForkedFrom;
};

/** A fork's source: its owner/slug when the viewer can read it, else just "private". */
export type ForkedFrom = ForkRef | "private";

function ForkedFromLine(p: { from: ForkedFrom }): Html {
  if (p.from === "private") return <p class="muted small forked-from">Forked from a private project</p>;
  return (
    <p class="muted small forked-from">
      Forked from{" "}
      <a href={projectUrl(p.from.id)} class="mono">
        {p.from.owner}/{p.from.slug}
      </a>
    </p>
  );
}

export function ProjectHeader(p: ProjectHeaderProps): Html {
  const { project } = p;
  return (
    <>
      <div class="page-head project-head">
        <div class="grow">
          <p class="slug muted">
            {project.ownerTeamId ? <a href={teamUrl(project.ownerTeamId)}>{p.owner}</a> : <span>{p.owner}</span>}
            <span aria-hidden="true"> / </span>
            <a href={projectUrl(project.id)}>{project.slug}</a>
          </p>
          <h1>
            <span>{project.name}</span>
            <VisibilityBadge visibility={project.visibility} />
          </h1>
          {p.forkedFrom ? <ForkedFromLine from={p.forkedFrom} /> : null}
          {project.description ? <p class="muted">{project.description}</p> : null}
        </div>
        <div class="actions">
          <a class={project.isTemplate ? "btn" : "btn primary"} href={`${projectUrl(project.id)}/ide`} title="Edit the files together in the browser IDE">
            Open in IDE
          </a>
          {project.isTemplate ? (
            <a class="btn primary" href={`/new?template=${encodeURIComponent(project.id)}`}>
              Use this template
            </a>
          ) : null}
          {p.canFork ? (
            <a class="btn" href={`${projectUrl(project.id)}/fork`} title="Make your own copy of this project, with its history">
              Fork <span class="muted">· {project.forkCount} {project.forkCount === 1 ? "fork" : "forks"}</span>
            </a>
          ) : null}
          {p.canWrite ? (
            <a class="btn" href={`${projectUrl(project.id)}/history?save=1#save-version`}>
              Save version
            </a>
          ) : null}
        </div>
      </div>
      <nav aria-label="Project">
        <ul class="tabs">
          <li>
            <a href={projectUrl(project.id)} aria-current={p.tab === "code" ? "page" : undefined}>
              Code
            </a>
          </li>
          <li>
            <a href={`${projectUrl(project.id)}/history`} aria-current={p.tab === "history" ? "page" : undefined}>
              History
            </a>
          </li>
          <li>
            <a href={`${projectUrl(project.id)}/deploy`} aria-current={p.tab === "deploy" ? "page" : undefined}>
              Deploy
            </a>
          </li>
          {p.canAdmin ? (
            <li>
              <a href={`${projectUrl(project.id)}/settings`} aria-current={p.tab === "settings" ? "page" : undefined}>
                Settings
              </a>
            </li>
          ) : null}
        </ul>
      </nav>
    </>
  );
}

/** Breadcrumbs for a path inside a project: project / dir / dir / file. `href` links a path elsewhere (a version's tree). */
export function PathCrumbs(p: { project: Project; path: string; root?: { label: string; href: string }; href?: (path: string) => string }): Html {
  const parts = p.path.split("/");
  const link = p.href ?? ((path: string) => blobUrl(p.project.id, path));
  return (
    <nav aria-label="Path">
      <ol class="breadcrumbs">
        <li>
          <a href={p.root?.href ?? projectUrl(p.project.id)}>{p.root?.label ?? p.project.slug}</a>
        </li>
        {parts.map((name, i) => {
          const last = i === parts.length - 1;
          return <li>{last ? <span aria-current="page">{name}</span> : <a href={link(parts.slice(0, i + 1).join("/"))}>{name}</a>}</li>;
        })}
      </ol>
    </nav>
  );
}

/** Nested <details> folders and file links: works without JS; app.js adds arrow keys. `href` links files elsewhere (a version's tree). */
export function FileTree(p: { projectId: string; nodes: TreeNode[]; current?: string; href?: (path: string) => string }): Html {
  const link = p.href ?? ((path: string) => blobUrl(p.projectId, path));
  let budget = TREE_MAX_NODES;
  let cut = 0;
  const list = (nodes: TreeNode[]): Html => (
    <ul>
      {nodes.map((n) => {
        if (budget <= 0) {
          cut++;
          return null;
        }
        budget--;
        if (n.type === "dir") {
          const open = p.current !== undefined && (p.current === n.path || p.current.startsWith(`${n.path}/`));
          return (
            <li>
              <details open={open}>
                <summary>{n.name}</summary>
                {list(n.children ?? [])}
              </details>
            </li>
          );
        }
        return (
          <li>
            <a href={link(n.path)} aria-current={p.current === n.path ? "page" : undefined}>
              {n.name}
            </a>
          </li>
        );
      })}
    </ul>
  );
  const tree = list(p.nodes);
  return (
    <div class="tree-scroll">
      <div class="tree" role="group" aria-label="Files">
        {tree}
      </div>
      {cut > 0 ? <p class="muted small">…and {cut} more entries not shown.</p> : null}
    </div>
  );
}

export function TreePane(p: { projectId: string; nodes: TreeNode[]; current?: string; canWrite: boolean; className?: string }): Html {
  return (
    <aside class={`card flush tree-pane${p.className ? ` ${p.className}` : ""}`} aria-labelledby="files-heading">
      <div class="card-head">
        <h2 id="files-heading">Files</h2>
        {p.canWrite ? (
          <a class="btn small" href={`${projectUrl(p.projectId)}#new-file`}>
            Add file
          </a>
        ) : null}
      </div>
      {p.nodes.length > 0 ? (
        <FileTree projectId={p.projectId} nodes={p.nodes} current={p.current} />
      ) : (
        <p class="muted small pad">
          No files yet.
        </p>
      )}
    </aside>
  );
}

export type NewFileState = { path?: string; content?: string; errors?: Record<string, string | undefined> };

export function NewFileForm(p: { projectId: string; csrf: string; state?: NewFileState; open: boolean }): Html {
  const errors = p.state?.errors ?? {};
  const pathDescribed = [errors.path ? "f-path-error" : "", "f-path-hint"].filter(Boolean).join(" ");
  return (
    <details class="card" id="new-file" open={p.open}>
      <summary>
        <strong>Add a file</strong>
      </summary>
      <form method="post" action={`${projectUrl(p.projectId)}/files`} novalidate class="mt">
        <input type="hidden" name="_csrf" value={p.csrf} />
        <div class={errors.path ? "field has-error" : "field"}>
          <label for="f-path">Path</label>
          <input
            id="f-path"
            name="path"
            type="text"
            value={p.state?.path}
            required
            autocomplete="off"
            spellcheck="false"
            class="mono"
            placeholder="src/index.ts"
            aria-invalid={errors.path ? "true" : undefined}
            aria-describedby={pathDescribed}
          />
          <p class="hint" id="f-path-hint">
            Relative to the project root. Folders are created as needed.
          </p>
          {errors.path ? (
            <p class="field-error" id="f-path-error" role="alert">
              {errors.path}
            </p>
          ) : null}
        </div>
        <div class={errors.content ? "field has-error" : "field"}>
          <label for="f-content">Content</label>
          <textarea
            id="f-content"
            name="content"
            rows={12}
            class="code-input"
            spellcheck="false"
            aria-invalid={errors.content ? "true" : undefined}
            aria-describedby={errors.content ? "f-content-error" : undefined}
          >
            {p.state?.content ?? ""}
          </textarea>
          {errors.content ? (
            <p class="field-error" id="f-content-error" role="alert">
              {errors.content}
            </p>
          ) : null}
        </div>
        <div class="form-actions">
          <button type="submit" class="primary">
            Create file
          </button>
        </div>
      </form>
    </details>
  );
}

/** The highlighted lines of a file in a table with linkable line numbers (#L12). */
export function CodeView(p: { lines: string[] }): Html {
  // Built as one string: a 5,000-line file would otherwise be 15,000 JSX calls. Each line is
  // already escaped markup from highlightLines; the numbers are integers.
  let rows = "";
  for (let i = 0; i < p.lines.length; i++) {
    const n = i + 1;
    rows += `<tr id="L${n}"><td class="ln" aria-hidden="true"><a href="#L${n}" data-line="${n}" tabindex="-1"></a></td><td class="lc">${p.lines[i]}</td></tr>`;
  }
  return (
    <div class="code-wrap" tabindex="0" role="region" aria-label="File content">
      <table class="code">
        <tbody>{raw(rows)}</tbody>
      </table>
    </div>
  );
}

export function FileBar(p: { facts: Child; actions?: Child }): Html {
  return (
    <div class="file-bar">
      <span class="facts">{p.facts}</span>
      {p.actions ? <span class="actions">{p.actions}</span> : null}
    </div>
  );
}

export function RawLink(p: { projectId: string; path: string; label?: string }): Html {
  return (
    <a class="btn small" href={rawUrl(p.projectId, p.path)}>
      {p.label ?? "Raw"}
    </a>
  );
}

/** A folder's entries (the same view as GitHub's tree pages). `href` links entries elsewhere (a version's tree). */
export function DirListing(p: { projectId: string; nodes: TreeNode[]; href?: (path: string) => string }): Html {
  const link = p.href ?? ((path: string) => blobUrl(p.projectId, path));
  if (p.nodes.length === 0) return <p class="binary-note">This folder is empty.</p>;
  return (
    <div class="code-wrap">
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col" class="num">
              Size
            </th>
          </tr>
        </thead>
        <tbody>
          {p.nodes.map((n) => (
            <tr>
              <td>
                <a href={link(n.path)}>{n.type === "dir" ? `${n.name}/` : n.name}</a>
              </td>
              <td class="muted num">
                {n.type === "file" && n.size !== undefined ? formatBytes(n.size) : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Finds a node by path in a tree from listTree. */
export function findNode(nodes: TreeNode[], path: string): TreeNode | undefined {
  let level: TreeNode[] | undefined = nodes;
  let found: TreeNode | undefined;
  for (const name of path.split("/")) {
    found = level?.find((n) => n.name === name);
    if (!found) return undefined;
    level = found.children;
  }
  return found;
}
