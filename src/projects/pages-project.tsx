/**
 * Handlers for a project's code pages: the project page (tree, README, activity, "Add a file",
 * star button), one file or folder (`/blob/<path>`), creating a file and deleting one, starring.
 */
import { LoginRedirect, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { raw, type Html } from "../web/jsx/jsx-runtime.ts";
import { highlightLines, languageLabel } from "../web/highlight.ts";
import { ApiError, notFound } from "../lib/errors.ts";
import { actorId } from "../auth/actor.ts";
import { loadActivity } from "../events/activity.ts";
import { atLeast } from "./access.ts";
import { ownerHandle } from "./projects.ts";
import { isStarred, star, unstar } from "./stars.ts";
import { deleteProjectFile, detectLanguage, isProbablyText, listTree, readFile, validatePath, writeProjectFile, type TreeNode } from "./files.ts";
import { renderMarkdown } from "./pages-markdown.ts";
import { forkedFromFor } from "./pages-fork.tsx";
import { ActivityFeed, blobUrl, editUrl, Empty, formatBytes, projectUrl } from "./pages-ui.tsx";
import { CodeView, DirListing, FileBar, findNode, NewFileForm, PathCrumbs, ProjectHeader, RawLink, TreePane, type NewFileState } from "./pages-view.tsx";
import { ideUrl } from "./pages-ide-view.tsx";

export type FormCtx = Ctx<Record<string, string>>;

/** The CSRF token for signed-in pages; anonymous readers of public projects get no cookie. */
function csrfIfUser(ctx: Ctx | FormCtx): string | undefined {
  return ctx.actor.kind === "user" ? ctx.csrf() : undefined;
}

/** Files larger than this are not shown inline (download them instead). */
export const VIEW_MAX_BYTES = 1024 * 1024;
const README = /^readme(?:\.(?:md|markdown|txt|rst))?$/i;

/** Resolves a README's relative link ("docs/a.md", "./x", "../y") to a blob URL inside the project. */
function resolver(projectId: string): (rel: string) => string | undefined {
  return (rel) => {
    const m = /^([^?#]*)((?:\?[^#]*)?)(#.*)?$/.exec(rel);
    const parts: string[] = [];
    for (const seg of (m?.[1] ?? "").split("/")) {
      if (seg === "" || seg === ".") continue;
      if (seg === "..") {
        if (parts.pop() === undefined) return undefined; // outside the project
      } else {
        try {
          parts.push(decodeURIComponent(seg));
        } catch {
          return undefined;
        }
      }
    }
    const base = parts.length ? blobUrl(projectId, parts.join("/")) : projectUrl(projectId);
    return base + (m?.[3] ?? "");
  };
}

async function readme(ctx: Ctx, tree: TreeNode[]): Promise<{ name: string; body: Html } | undefined> {
  const files = tree.filter((n) => n.type === "file" && README.test(n.name));
  const pick = files.find((n) => /\.(?:md|markdown)$/i.test(n.name)) ?? files[0];
  if (!pick) return undefined;
  if ((pick.size ?? 0) > VIEW_MAX_BYTES) return { name: pick.name, body: <p class="muted">The README is too large to show here.</p> };
  const { bytes } = await readFile(ctx.app.config.dataDir, ctx.project.id, pick.path);
  if (!isProbablyText(bytes)) return undefined;
  const text = new TextDecoder().decode(bytes);
  const body = /\.(?:md|markdown)$/i.test(pick.name) ? (
    <div class="markdown">{raw(renderMarkdown(text, { resolve: resolver(ctx.project.id) }))}</div>
  ) : (
    <pre class="plain">{text}</pre>
  );
  return { name: pick.name, body };
}

/** The project page; also re-rendered (422) when the "Add a file" form has errors. */
export async function showProject(ctx: Ctx | FormCtx, form?: NewFileState, status = 200): Promise<Response> {
  const { project } = ctx;
  const orm = ctx.app.db.orm;
  const [tree, owner, activity, forkedFrom] = await Promise.all([
    listTree(ctx.app.config.dataDir, project.id),
    ownerHandle(orm, project),
    loadActivity(orm, { projectIds: [project.id] }, 10, { projects: new Map([[project.id, project.name]]) }),
    forkedFromFor(ctx, project),
  ]);
  const canWrite = atLeast(ctx.access, "write");
  const found = await readme(ctx as Ctx, tree);
  const starred = ctx.actor.kind === "user" ? await isStarred(orm, project.id, ctx.actor.user.id) : false;
  return html(
    doc(
      <Layout title={project.name} actor={ctx.actor} csrf={csrfIfUser(ctx)} wide>
        <ProjectHeader project={project} owner={owner} canAdmin={ctx.access === "admin"} tab="code" canFork={ctx.actor.kind === "user"} forkedFrom={forkedFrom} />
        <div class="stack">
          <div class="row end project-actions">
            <StarButton projectId={project.id} starred={starred} count={project.starCount} csrf={csrfIfUser(ctx)} />
          </div>
          <div class="split left">
            <TreePane projectId={project.id} nodes={tree} canWrite={canWrite} />
            <div class="stack">
              {found ? (
                <section class="card flush" aria-labelledby="readme-heading">
                  <div class="card-head">
                    <h2 id="readme-heading">{found.name}</h2>
                  </div>
                  <div class="pad">{found.body}</div>
                </section>
              ) : tree.length === 0 ? (
                <Empty title="This project is empty">
                  {canWrite ? "Add a first file below — a README.md is a good start: it is shown on this page." : "Nobody has added files yet."}
                </Empty>
              ) : (
                <Empty title="No README">{canWrite ? "Add a README.md to describe this project; it is shown here." : "This project has no README."}</Empty>
              )}
              {canWrite ? <NewFileForm projectId={project.id} csrf={ctx.csrf()} state={form} open={form !== undefined || tree.length === 0} /> : null}
              <section class="card" aria-labelledby="activity-heading">
                <div class="card-head">
                  <h2 id="activity-heading">Recent activity</h2>
                </div>
                <ActivityFeed activity={activity} me={actorId(ctx.actor)} emptyText="No activity yet." inProject={project.id} />
              </section>
            </div>
          </div>
        </div>
      </Layout>,
    ),
    status,
  );
}

/** The path after `/blob/`, percent-decoded and validated; 404 when it is not a valid path. */
export function blobPath(ctx: Ctx | FormCtx): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(ctx.params["*"] ?? "");
  } catch {
    throw notFound("File");
  }
  try {
    return validatePath(decoded);
  } catch (e) {
    if (e instanceof ApiError) throw notFound("File");
    throw e;
  }
}

export async function showBlob(ctx: Ctx): Promise<Response> {
  const { project } = ctx;
  const path = blobPath(ctx);
  const dataDir = ctx.app.config.dataDir;
  const [tree, owner, forkedFrom] = await Promise.all([listTree(dataDir, project.id), ownerHandle(ctx.app.db.orm, project), forkedFromFor(ctx, project)]);
  const node = findNode(tree, path);
  if (!node) throw notFound("File");
  const canWrite = atLeast(ctx.access, "write");
  const name = path.split("/").at(-1) ?? path;
  let panel: Html;
  if (node.type === "dir") {
    panel = (
      <section class="card flush" aria-label="Folder">
        <FileBar facts={`${node.children?.length ?? 0} ${node.children?.length === 1 ? "entry" : "entries"}`} />
        <DirListing projectId={project.id} nodes={node.children ?? []} />
      </section>
    );
  } else {
    const size = node.size ?? 0;
    const actions = (
      <>
        <button type="button" class="small" data-copy={path}>
          Copy path
        </button>
        <RawLink projectId={project.id} path={path} label={size > VIEW_MAX_BYTES ? "Download" : "Raw"} />
        <a class="btn small" href={ideUrl(project.id, path)}>
          Open in IDE
        </a>
        {canWrite && size <= VIEW_MAX_BYTES ? (
          <a class="btn small" href={editUrl(project.id, path)}>
            Edit
          </a>
        ) : null}
        {canWrite ? (
          <form method="post" action={`${projectUrl(project.id)}/blob-delete`} class="inline" data-confirm={`Delete ${path}? This cannot be undone.`}>
            <input type="hidden" name="_csrf" value={ctx.csrf()} />
            <input type="hidden" name="path" value={path} />
            <button type="submit" class="danger small">
              Delete
            </button>
          </form>
        ) : null}
      </>
    );
    if (size > VIEW_MAX_BYTES) {
      panel = (
        <section class="card flush" aria-label="File">
          <FileBar facts={formatBytes(size)} actions={actions} />
          <p class="binary-note">
            This file is too large to show here ({formatBytes(size)}). <RawLink projectId={project.id} path={path} label="Download it" />
          </p>
        </section>
      );
    } else {
      const { bytes } = await readFile(dataDir, project.id, path);
      if (!isProbablyText(bytes)) {
        panel = (
          <section class="card flush" aria-label="File">
            <FileBar facts={formatBytes(bytes.byteLength)} actions={actions} />
            <p class="binary-note">
              Binary file, {bytes.byteLength} {bytes.byteLength === 1 ? "byte" : "bytes"}. <RawLink projectId={project.id} path={path} label="Download" />
            </p>
          </section>
        );
      } else {
        const lang = detectLanguage(path);
        const lines = highlightLines(new TextDecoder().decode(bytes), lang);
        panel = (
          <section class="card flush" aria-label="File">
            <FileBar facts={`${lines.length} ${lines.length === 1 ? "line" : "lines"} · ${formatBytes(bytes.byteLength)} · ${languageLabel(lang)}`} actions={actions} />
            <CodeView lines={lines} />
          </section>
        );
      }
    }
  }
  return html(
    doc(
      <Layout title={`${path} · ${project.name}`} actor={ctx.actor} csrf={csrfIfUser(ctx)} wide>
        <ProjectHeader project={project} owner={owner} canAdmin={ctx.access === "admin"} tab="code" canFork={ctx.actor.kind === "user"} forkedFrom={forkedFrom} />
        <div class="split left">
          <TreePane projectId={project.id} nodes={tree} current={path} canWrite={canWrite} className="after-on-mobile" />
          <div class="stack">
            <div class="row between">
              <PathCrumbs project={project} path={path} />
              <h2 class="visually-hidden">{name}</h2>
            </div>
            {panel}
          </div>
        </div>
      </Layout>,
    ),
  );
}

/** Form fields an ApiError's details name, else a message for `fallback`. */
export function fieldErrors(e: ApiError, fields: string[], fallback: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const msg = e.details?.[f];
    if (msg) out[f] = msg;
  }
  if (Object.keys(out).length === 0) out[fallback] = e.message;
  return out;
}

export async function createFile(ctx: FormCtx): Promise<Response> {
  const path = (ctx.body.path ?? "").trim();
  // Browsers send textarea line breaks as CRLF; files keep the platform-neutral LF.
  const content = (ctx.body.content ?? "").replace(/\r\n?/g, "\n");
  const again = (errors: Record<string, string>, status: number) => showProject(ctx, { path, content, errors }, status);
  let clean: string;
  try {
    clean = validatePath(path);
  } catch (e) {
    if (e instanceof ApiError) return again({ path: e.details?.path ?? e.message }, 422);
    throw e;
  }
  try {
    await readFile(ctx.app.config.dataDir, ctx.project.id, clean);
    return again({ path: "A file with this path already exists; choose another path." }, 409);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) {
      if (e instanceof ApiError) return again(fieldErrors(e, ["path"], "path"), e.status);
      throw e;
    }
  }
  try {
    const bytes = new TextEncoder().encode(content);
    await writeProjectFile(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, clean, bytes, ctx.app.config.maxFileBytes, actorId(ctx.actor));
  } catch (e) {
    if (e instanceof ApiError && e.status === 413) return again({ content: e.message }, 413);
    if (e instanceof ApiError && e.status < 500) return again(fieldErrors(e, ["path"], "path"), e.status === 400 ? 422 : e.status);
    throw e;
  }
  return redirect(blobUrl(ctx.project.id, clean));
}

export async function deleteFile(ctx: FormCtx): Promise<Response> {
  let path: string;
  try {
    path = validatePath(ctx.body.path ?? "");
  } catch (e) {
    if (e instanceof ApiError) throw notFound("File");
    throw e;
  }
  await deleteProjectFile(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, path, actorId(ctx.actor));
  const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  // Back to the folder the file was in, if it still exists, else the project page.
  const tree = parent ? await listTree(ctx.app.config.dataDir, ctx.project.id) : [];
  return redirect(parent && findNode(tree, parent) ? blobUrl(ctx.project.id, parent) : projectUrl(ctx.project.id));
}

/**
 * Star / unstar: a real form (works without JS) that htmx swaps in place. The button keeps
 * its label and id, so a screen reader hears the pressed state change and focus stays on it.
 */
export function StarButton(p: { projectId: string; starred: boolean; count: number; csrf?: string }): Html {
  const countText = `${p.count} ${p.count === 1 ? "star" : "stars"}`;
  if (p.csrf === undefined) {
    return (
      <a class="btn small" href={`/login?next=${encodeURIComponent(projectUrl(p.projectId))}`} title="Log in to star this project">
        <span aria-hidden="true">☆</span> Star <span class="muted">· {countText}</span>
      </a>
    );
  }
  const action = `${projectUrl(p.projectId)}/${p.starred ? "unstar" : "star"}`;
  return (
    <form method="post" action={action} class="inline" hx-post={action} hx-target="this" hx-swap="outerHTML">
      <input type="hidden" name="_csrf" value={p.csrf} />
      <button type="submit" class="small" id="star-button" aria-pressed={p.starred ? "true" : "false"} title={p.starred ? "Remove your star" : "Star this project"}>
        <span aria-hidden="true">{p.starred ? "★" : "☆"}</span> Star <span class="muted">· {countText}</span>
      </button>
    </form>
  );
}

/** POST /projects/:id/star and /unstar: the button itself for htmx, else back to the project page. */
export async function setStar(ctx: FormCtx, on: boolean): Promise<Response> {
  if (ctx.actor.kind !== "user") throw new LoginRedirect(projectUrl(ctx.project.id));
  const state = await (on ? star : unstar)(ctx.app.db.orm, ctx.project, ctx.actor.user);
  if (ctx.isHtmx) return html(StarButton({ projectId: ctx.project.id, starred: state.starred, count: state.starCount, csrf: ctx.csrf() }).value);
  return redirect(projectUrl(ctx.project.id));
}
