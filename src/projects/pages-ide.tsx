/**
 * The collaborative IDE page: `/projects/:id/ide` and `/projects/:id/ide/<path>` (a file to
 * open, or a folder to show). The server renders a working shell — tree of links, fallback
 * links to the file view and the plain-form editor, the shortcut list — and the Monaco/Yjs
 * island (public/islands/ide/, built by scripts/build-islands.ts from src/web/islands/ide/)
 * turns it into the editor. Readers get the same page with a read-only editor and no
 * tree-changing controls; the island reads who may do what from the data attributes.
 */
import { route, type Ctx } from "../server/guard.ts";
import { html } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { notFound } from "../lib/errors.ts";
import { colorFor } from "../collab/peer.ts";
import { atLeast } from "./access.ts";
import { ownerHandle } from "./projects.ts";
import { listTree } from "./files.ts";
import { listVersions, type VersionJson } from "./versions.ts";
import { blobPath } from "./pages-project.tsx";
import { findNode } from "./pages-view.tsx";
import { IdeShell, ISLAND_CSS, ISLAND_JS, type IdeUser } from "./pages-ide-view.tsx";

/** The newest version, or null when none was saved yet (or the history cannot be read right now). */
async function latestVersion(ctx: Ctx): Promise<VersionJson | null> {
  try {
    return (await listVersions(ctx.app.config.dataDir, ctx.project.id, { limit: 1 })).versions[0] ?? null;
  } catch (e) {
    // The editor stays usable without the status bar's version; the failure is logged, not shown.
    ctx.log.warn("ide: could not read the latest version", { projectId: ctx.project.id, error: (e as Error).message });
    return null;
  }
}

/** Who is editing, as the collab server will show them to everyone else (src/collab/peer.ts). */
function ideUser(ctx: Ctx): IdeUser {
  if (ctx.actor.kind !== "user") return { id: null, name: "Guest", color: colorFor(null, ctx.ip) };
  const u = ctx.actor.user;
  return { id: u.id, name: u.name || u.username, color: colorFor(u.id, u.id) };
}

/** Lines beyond this are not a line of any file the editor opens: ignored, like a malformed value. */
const MAX_LINE = 10_000_000;

/** The `line` query parameter (search results link to it): a whole number from 1, else none. */
function lineParam(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^[1-9][0-9]{0,7}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n <= MAX_LINE ? n : undefined;
}

async function showIde(ctx: Ctx, withPath: boolean): Promise<Response> {
  const { project } = ctx;
  const path = withPath ? blobPath(ctx) : "";
  const [tree, owner, version] = await Promise.all([listTree(ctx.app.config.dataDir, project.id), ownerHandle(ctx.app.db.orm, project), latestVersion(ctx)]);
  const node = path ? findNode(tree, path) : undefined;
  if (path && !node) throw notFound("File");
  const access = atLeast(ctx.access, "write") ? (ctx.access === "admin" ? "admin" : "write") : "read";
  const csrf = ctx.actor.kind === "user" ? ctx.csrf() : undefined;
  const title = node?.type === "file" ? `${path} · ${project.name}` : `IDE · ${project.name}`;
  return html(
    doc(
      <Layout title={title} actor={ctx.actor} csrf={csrf} wide>
        <link rel="stylesheet" href={ISLAND_CSS} />
        <IdeShell
          project={project}
          owner={owner}
          tree={tree}
          path={path}
          pathIsFile={node?.type === "file"}
          user={ideUser(ctx)}
          access={access}
          csrf={csrf}
          version={version}
          line={node?.type === "file" ? lineParam(ctx.query.line) : undefined}
        />
        <script type="module" src={ISLAND_JS}></script>
      </Layout>,
    ),
  );
}

export const ideRoutes = [
  route({
    method: "GET",
    path: "/projects/:id/ide",
    permission: "project:read",
    kind: "page",
    summary: "The collaborative IDE: file tree, tabs, Monaco editor with live cursors and presence (read-only for readers).",
    tags: ["pages"],
    handler: (ctx) => showIde(ctx, false),
  }),
  route({
    method: "GET",
    path: "/projects/:id/ide/*",
    permission: "project:read",
    kind: "page",
    summary: "The collaborative IDE with a file opened (or a folder shown); 404 when the path does not exist.",
    tags: ["pages"],
    handler: (ctx) => showIde(ctx, true),
  }),
];
