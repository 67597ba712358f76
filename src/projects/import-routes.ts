/** API: create a project from an uploaded archive or from a git URL the admin allowed. */
import { t } from "elysia";
import type { Visibility } from "../db/schema.ts";
import { ApiError } from "../lib/errors.ts";
import { route, userOf, type Ctx } from "../server/guard.ts";
import { json, redirect } from "../server/http.ts";
import { importArchive, importDisabled, importGit, GIT_IMPORT_TIMEOUT_MS, type GitImportOptions } from "./import.ts";
import { showNewProject, type GitImportState } from "./pages-new.tsx";
import { FormFields, projectUrl } from "./pages-ui.tsx";
import { DEFAULT_ARCHIVE_LIMITS, sniffFormat, type ArchiveFormat } from "./import-archive.ts";
import { projectJsonFor } from "./projects.ts";

const ZIP_TYPES = ["application/zip", "application/x-zip-compressed", "application/x-zip"];
const TAR_TYPES = ["application/gzip", "application/x-gzip", "application/x-tar", "application/x-gtar", "application/x-compressed-tar", "application/tar+gzip"];

/** The archive's format from its Content-Type (application/octet-stream: from its first bytes). */
function formatOf(contentType: string | null, bytes: Uint8Array): ArchiveFormat {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (ZIP_TYPES.includes(type)) return "zip";
  if (TAR_TYPES.includes(type)) return "tar";
  if (type === "" || type === "application/octet-stream") {
    const sniffed = sniffFormat(bytes);
    if (sniffed) return sniffed;
  }
  throw new ApiError(415, "unsupported_media_type", "Send a zip (application/zip) or a tarball (application/gzip or application/x-tar) as the request body.");
}

function gitOptions(ctx: Ctx<unknown, unknown>): GitImportOptions {
  return { allow: ctx.app.config.importGitAllow, maxBytes: ctx.app.config.maxPushBytes, timeoutMs: GIT_IMPORT_TIMEOUT_MS };
}

/** The /new page's git import form: success → 303 to the project; errors beside the fields. */
async function importGitFromForm(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const values = { git_url: (ctx.body.git_url ?? "").trim(), git_name: ctx.body.git_name ?? "", git_owner: ctx.body.git_owner ?? "" };
  const again = (errors: GitImportState["errors"], status: number) => showNewProject(ctx, undefined, status, { values, errors });
  if (ctx.app.config.importGitAllow.length === 0) return again({ git_url: importDisabled().message }, 403);
  if (values.git_url === "") return again({ git_url: "Enter the repository's https URL." }, 422);
  try {
    const input = { url: values.git_url, name: values.git_name.trim() || undefined, team: values.git_owner || undefined };
    const project = await importGit(ctx.app.db.orm, ctx.app.config.dataDir, userOf(ctx), input, gitOptions(ctx));
    return redirect(projectUrl(project.id));
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    if (e.details?.name) return again({ git_name: e.details.name }, e.status);
    // Team not found or not allowed to create there: the owner field's problem.
    if (e.status === 403 || e.status === 404) return again({ git_owner: e.message }, e.status);
    return again({ git_url: e.message }, e.status);
  }
}

const Visibility = t.Union([t.Literal("private"), t.Literal("unlisted"), t.Literal("public")]);

export const importApiRoutes = [
  route({
    method: "POST",
    path: "/api/v1/projects/import",
    permission: "user",
    kind: "api",
    summary:
      "Create a project from an archive sent as the raw body: a zip (Content-Type application/zip) or a tarball (application/gzip, application/x-tar). " +
      "Query: name (required), visibility, team, description. One folder holding everything (GitHub's `repo-main/`) is dropped. " +
      "Its files become the project's first version. Unsafe or broken archives (paths leaving the project, links, zip bombs, " +
      "more than 10,000 entries, corrupt data) are a 422 naming the entry in details.entry; nothing is created.",
    tags: ["projects"],
    bodyKind: "raw",
    responses: { 201: "The project" },
    handler: async (ctx) => {
      const { orm } = ctx.app.db;
      const { config } = ctx.app;
      if (ctx.bytes.byteLength === 0) throw new ApiError(400, "bad_request", "The request body is empty; send the archive as the body.");
      const format = formatOf(ctx.request.headers.get("content-type"), ctx.bytes);
      const q = ctx.query;
      const project = await importArchive(
        orm,
        config.dataDir,
        userOf(ctx),
        { name: q.name ?? "", description: q.description, visibility: q.visibility as Visibility | undefined, team: q.team },
        ctx.bytes,
        format,
        { ...DEFAULT_ARCHIVE_LIMITS, maxTotalBytes: config.importMaxBytes, maxFileBytes: config.maxFileBytes },
      );
      return json(await projectJsonFor(orm, project, config.baseUrl), 201);
    },
  }),
];

/**
 * Separate from importApiRoutes because the authorization matrix runs with git import off, where
 * this route's answer (403 import_disabled) would read as a refused permission.
 */
export const importGitApiRoutes = [
  route({
    method: "POST",
    path: "/api/v1/projects/import-git",
    permission: "user",
    kind: "api",
    summary:
      "Create a project from a public git repository over https, with its default branch's whole history. Off unless an admin lists the host " +
      "in WOVE_IMPORT_GIT_ALLOW (403 import_disabled). URLs that reach loopback, link-local, metadata or (unless named) private addresses are a 422 url_refused.",
    tags: ["projects"],
    body: t.Object(
      {
        url: t.String({ minLength: 1, maxLength: 2000 }),
        name: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
        description: t.Optional(t.String({ maxLength: 2000 })),
        visibility: t.Optional(Visibility),
        team: t.Optional(t.String({ minLength: 1, maxLength: 64, description: "Team id or slug" })),
      },
      { additionalProperties: false },
    ),
    responses: { 201: "The project" },
    handler: async (ctx) => {
      const { orm } = ctx.app.db;
      const { config } = ctx.app;
      const project = await importGit(orm, config.dataDir, userOf(ctx), ctx.body, gitOptions(ctx));
      return json(await projectJsonFor(orm, project, config.baseUrl), 201);
    },
  }),
];

/** The /new page's "Import from a git URL" form (shown there only when git import is on). */
export const importGitPageRoutes = [
  route({
    method: "POST",
    path: "/new/import-git",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Import a git repository as a new project from the /new page; errors are shown beside the fields, success redirects to it.",
    tags: ["pages"],
    handler: (ctx) => importGitFromForm(ctx),
  }),
];
