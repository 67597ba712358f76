/**
 * Pieces shared by the history pages (list, one version with its diff, a version's files):
 * their URLs, resolving the version named in the URL, and the version's byline.
 */
import type { Ctx } from "../server/guard.ts";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { ApiError, notFound } from "../lib/errors.ts";
import { atLeast } from "./access.ts";
import { getVersion, type VersionJson } from "./versions.ts";
import { Avatar, encodePath, projectUrl, RelTime } from "./pages-ui.tsx";

export const historyUrl = (projectId: string) => `${projectUrl(projectId)}/history`;

/** A version's page; `against` ("worktree" or a sha) and `view` ("split") as the page takes them. */
export function versionUrl(projectId: string, sha: string, opts: { against?: string; view?: "split" | "unified" } = {}): string {
  const q = new URLSearchParams();
  if (opts.against) q.set("against", opts.against);
  if (opts.view === "split") q.set("view", "split");
  const qs = q.toString();
  return `${historyUrl(projectId)}/${encodeURIComponent(sha)}${qs ? `?${qs}` : ""}`;
}

/** A file or folder of a version (the root without `path`). */
export function versionTreeUrl(projectId: string, sha: string, path = ""): string {
  return `${historyUrl(projectId)}/${encodeURIComponent(sha)}/tree${path ? `/${encodePath(path)}` : ""}`;
}

/** A file's bytes at a version (the versions API; the guard accepts the session cookie for GET). */
export const versionRawUrl = (projectId: string, sha: string, path: string) =>
  `/api/v1/projects/${encodeURIComponent(projectId)}/versions/${encodeURIComponent(sha)}/files/${encodePath(path)}`;

export const versionZipUrl = (projectId: string, sha: string) => `/api/v1/projects/${encodeURIComponent(projectId)}/archive.zip?version=${encodeURIComponent(sha)}`;

export const shortSha = (sha: string) => sha.slice(0, 7);

/** The first line of a commit message, and the rest. */
export function splitMessage(message: string): { subject: string; body: string } {
  const nl = message.indexOf("\n");
  if (nl < 0) return { subject: message, body: "" };
  return { subject: message.slice(0, nl), body: message.slice(nl + 1).replace(/^\n+/, "") };
}

/** The CSRF token for signed-in pages; anonymous readers of public projects get no cookie. */
export function csrfIfUser(ctx: Pick<Ctx, "actor" | "csrf">): string | undefined {
  return ctx.actor.kind === "user" ? ctx.csrf() : undefined;
}

export function canWrite(ctx: Pick<Ctx, "access">): boolean {
  return atLeast(ctx.access, "write");
}

/**
 * The version a page's URL names. On pages a malformed id is just a page that does not
 * exist: 404, like an unknown one (the API answers 400 for the former).
 */
export async function pageVersion(ctx: Pick<Ctx, "app" | "project">, rev: string): Promise<VersionJson> {
  try {
    return await getVersion(ctx.app.config.dataDir, ctx.project.id, rev);
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) throw notFound("Version");
    throw e;
  }
}

/** "Ada saved 5 minutes ago · 3 files changed" with the author's avatar. */
export function Byline(p: { version: VersionJson; files?: boolean }): Html {
  const v = p.version;
  const n = v.filesChanged;
  return (
    <p class="history-byline">
      <Avatar name={v.author.name} />
      <span>
        <strong title={v.author.email}>{v.author.name}</strong> saved <RelTime at={Date.parse(v.at)} />
        {p.files === false ? null : <span class="meta-sep">{`${n} ${n === 1 ? "file" : "files"} changed`}</span>}
      </span>
    </p>
  );
}
