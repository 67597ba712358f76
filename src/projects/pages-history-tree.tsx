/**
 * A version's files, read-only: the tree as it was, a folder's entries, or one file
 * highlighted — with a way back to the version and a zip of it.
 */
import type { Ctx } from "../server/guard.ts";
import { html } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { highlightLines, languageLabel } from "../web/highlight.ts";
import { ApiError, notFound } from "../lib/errors.ts";
import { ownerHandle } from "./projects.ts";
import { detectLanguage, isProbablyText, validatePath } from "./files.ts";
import { readFileAt, treeAt } from "./versions.ts";
import { blobUrl, formatBytes, projectUrl, RelTime } from "./pages-ui.tsx";
import { CodeView, DirListing, FileBar, FileTree, findNode, PathCrumbs, ProjectHeader } from "./pages-view.tsx";
import { canWrite, csrfIfUser, pageVersion, shortSha, splitMessage, versionRawUrl, versionTreeUrl, versionUrl, versionZipUrl } from "./pages-history-ui.tsx";

/** Files larger than this are offered as a download instead of shown. */
const VIEW_MAX_BYTES = 1024 * 1024;

/** The path after `/tree/`, percent-decoded and validated; "" for the top folder; 404 when not a valid path. */
function treePath(ctx: Ctx): string {
  const rawPath = ctx.params["*"] ?? "";
  if (rawPath === "") return "";
  try {
    return validatePath(decodeURIComponent(rawPath));
  } catch (e) {
    if (e instanceof ApiError || e instanceof URIError) throw notFound("File");
    throw e;
  }
}

export async function showVersionTree(ctx: Ctx): Promise<Response> {
  const { project } = ctx;
  const dataDir = ctx.app.config.dataDir;
  const path = treePath(ctx);
  const version = await pageVersion(ctx, ctx.params.sha ?? "");
  const sha = version.id;
  const [tree, owner] = await Promise.all([treeAt(dataDir, project, sha), ownerHandle(ctx.app.db.orm, project)]);
  const node = path ? findNode(tree, path) : undefined;
  if (path && !node) throw notFound("File");
  const href = (p: string) => versionTreeUrl(project.id, sha, p);

  let panel: Html;
  if (!node || node.type === "dir") {
    const entries = node ? (node.children ?? []) : tree;
    panel = (
      <section class="card flush" aria-label="Folder">
        <FileBar facts={`${entries.length} ${entries.length === 1 ? "entry" : "entries"}`} />
        <DirListing projectId={project.id} nodes={entries} href={href} />
      </section>
    );
  } else {
    const size = node.size ?? 0;
    const rawLink = (label: string) => (
      <a class="btn small" href={versionRawUrl(project.id, sha, path)}>
        {label}
      </a>
    );
    if (size > VIEW_MAX_BYTES) {
      panel = (
        <section class="card flush" aria-label="File">
          <FileBar facts={formatBytes(size)} actions={rawLink("Download")} />
          <p class="binary-note">This file is too large to show here ({formatBytes(size)}).</p>
        </section>
      );
    } else {
      const bytes = await readFileAt(dataDir, project, sha, path);
      if (!isProbablyText(bytes)) {
        panel = (
          <section class="card flush" aria-label="File">
            <FileBar facts={formatBytes(bytes.byteLength)} actions={rawLink("Download")} />
            <p class="binary-note">Binary file, {formatBytes(bytes.byteLength)}.</p>
          </section>
        );
      } else {
        const lang = detectLanguage(path);
        const lines = highlightLines(new TextDecoder().decode(bytes), lang);
        panel = (
          <section class="card flush" aria-label="File">
            <FileBar facts={`${lines.length} ${lines.length === 1 ? "line" : "lines"} · ${formatBytes(bytes.byteLength)} · ${languageLabel(lang)}`} actions={rawLink("Raw")} />
            <CodeView lines={lines} />
          </section>
        );
      }
    }
  }

  const short = shortSha(sha);
  const { subject } = splitMessage(version.message);
  return html(
    doc(
      <Layout title={`${path || "Files"} at ${short} · ${project.name}`} actor={ctx.actor} csrf={csrfIfUser(ctx)} wide>
        <ProjectHeader project={project} owner={owner} canAdmin={ctx.access === "admin"} canWrite={canWrite(ctx)} tab="history" />
        <div class="history-banner" role="note">
          <p>
            Files as they were in version <a href={versionUrl(project.id, sha)} class="mono">{short}</a>
            <span class="history-banner-msg"> “{subject}”</span>, saved <RelTime at={Date.parse(version.at)} />. Read-only.
          </p>
          <span class="history-actions">
            <a class="btn small" href={versionZipUrl(project.id, sha)} download>
              Download zip of this version
            </a>
            <a class="btn small" href={node?.type === "file" ? blobUrl(project.id, path) : projectUrl(project.id)}>
              Current files
            </a>
          </span>
        </div>
        <div class="split left">
          <aside class="card flush tree-pane after-on-mobile" aria-labelledby="files-heading">
            <div class="card-head">
              <h2 id="files-heading">Files at {short}</h2>
            </div>
            {tree.length > 0 ? <FileTree projectId={project.id} nodes={tree} current={path || undefined} href={href} /> : <p class="muted small pad">This version has no files.</p>}
          </aside>
          <div class="stack">
            {path ? <PathCrumbs project={project} path={path} root={{ label: `${project.slug} @ ${short}`, href: href("") }} href={href} /> : null}
            {panel}
          </div>
        </div>
      </Layout>,
    ),
  );
}
