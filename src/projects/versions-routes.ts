/** JSON API for a project's versions (its git history). Thin: the logic is in versions.ts. */
import { t } from "elysia";
import { actorIdOf, route, userOf, type Ctx } from "../server/guard.ts";
import { json } from "../server/http.ts";
import { badRequest } from "../lib/errors.ts";
import { isProbablyText, validatePath } from "./files.ts";
import {
  archiveVersion,
  diffVersion,
  editorOf,
  getVersion,
  listVersions,
  readFileAt,
  restoreVersion,
  saveVersion,
  treeAt,
  MESSAGE_MAX,
  type DiffBase,
} from "./versions.ts";

/** The wildcard part of a URL, percent-decoded and validated like the files API's paths. */
function wildcardPath(ctx: Ctx<unknown, unknown>): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(ctx.params["*"] ?? "");
  } catch {
    throw badRequest("The file path is not valid percent-encoding.", { path: "Invalid percent-encoding." });
  }
  return validatePath(decoded);
}

function diffBase(against: string | undefined): DiffBase {
  if (against === undefined || against === "parent") return { kind: "parent" };
  if (against === "worktree") return { kind: "worktree" };
  return { kind: "version", rev: against };
}

/** Content that came from users is never rendered on Wove's origin (same rules as the files API). */
function userContent(bytes: Uint8Array, name: string): Response {
  const text = isProbablyText(bytes);
  return new Response(bytes as Uint8Array<ArrayBuffer>, {
    headers: {
      "Content-Type": text ? "text/plain; charset=utf-8" : "application/octet-stream",
      "Content-Length": String(bytes.byteLength),
      "Content-Security-Policy": "sandbox; default-src 'none'",
      ...(text ? {} : { "Content-Disposition": `attachment; filename="${encodeURIComponent(name)}"` }),
    },
  });
}

const Sha = t.String({ pattern: "^[0-9a-fA-F]{4,64}$" });

export const versionApiRoutes = [
  route({
    method: "POST",
    path: "/api/v1/projects/:id/versions",
    permission: "project:write",
    kind: "api",
    summary: "Save the project's current files as a new version (a git commit by you). 409 no_changes when nothing changed since the last version.",
    tags: ["versions"],
    body: t.Object({ message: t.Optional(t.String({ maxLength: MESSAGE_MAX })) }, { additionalProperties: false }),
    responses: { 201: "The new version: {id, shortId, parents, message, author, at, filesChanged, files}", 409: "Nothing changed" },
    handler: async (ctx) => {
      const v = await saveVersion(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, { message: ctx.body.message, author: editorOf(userOf(ctx)) });
      return json(v, 201);
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/versions",
    permission: "project:read",
    kind: "api",
    summary: "The project's versions, newest first. Paginated: follow the `Link: rel=\"next\"` header (or pass `cursor` from `X-Next-Cursor`).",
    tags: ["versions"],
    query: t.Object({
      limit: t.Optional(t.String({ pattern: "^[0-9]{1,3}$" })),
      cursor: t.Optional(t.String({ pattern: "^[0-9a-f]{40,64}\\.[0-9]{1,9}$" })),
    }),
    handler: async (ctx) => {
      const limit = ctx.query.limit ? Number(ctx.query.limit) : undefined;
      const page = await listVersions(ctx.app.config.dataDir, ctx.project.id, { limit, cursor: ctx.query.cursor });
      const headers: Record<string, string> = {};
      if (page.nextCursor) {
        const next = new URL(ctx.url);
        next.searchParams.set("cursor", page.nextCursor);
        headers.Link = `<${next.pathname}${next.search}>; rel="next"`;
        headers["X-Next-Cursor"] = page.nextCursor;
      }
      return json(page.versions, 200, headers);
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/versions/:sha",
    permission: "project:read",
    kind: "api",
    summary: "One version, by full or abbreviated commit sha.",
    tags: ["versions"],
    handler: async (ctx) => json(await getVersion(ctx.app.config.dataDir, ctx.project.id, ctx.params.sha ?? "")),
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/versions/:sha/diff",
    permission: "project:read",
    kind: "api",
    summary:
      "A version's changes as a unified diff (text): against its parent by default, `?against=<sha>` for another version, `?against=worktree` for the current files. Cut at 20 MB (`X-Diff-Truncated: true`).",
    tags: ["versions"],
    query: t.Object({ against: t.Optional(t.Union([Sha, t.Literal("parent"), t.Literal("worktree")])) }),
    handler: async (ctx) => {
      const d = await diffVersion(ctx.app.config.dataDir, ctx.project, ctx.params.sha ?? "", diffBase(ctx.query.against));
      return new Response(d.text, {
        headers: {
          "Content-Type": "text/plain; charset=utf-8",
          "Content-Security-Policy": "sandbox; default-src 'none'",
          ...(d.truncated ? { "X-Diff-Truncated": "true" } : {}),
        },
      });
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/versions/:sha/tree",
    permission: "project:read",
    kind: "api",
    summary: "A version's files as a tree: [{name, path, type, size?, children?}] (like GET …/files).",
    tags: ["versions"],
    handler: async (ctx) => json(await treeAt(ctx.app.config.dataDir, ctx.project, ctx.params.sha ?? "")),
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/versions/:sha/files/*",
    permission: "project:read",
    kind: "api",
    summary: "A file's raw bytes as they were in a version.",
    tags: ["versions"],
    handler: async (ctx) => {
      const path = wildcardPath(ctx);
      const bytes = await readFileAt(ctx.app.config.dataDir, ctx.project, ctx.params.sha ?? "", path);
      return userContent(bytes, path.split("/").pop() ?? "file");
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/projects/:id/versions/:sha/restore",
    permission: "project:write",
    kind: "api",
    summary:
      "Restore a version: a new version with exactly that version's files (history is never rewritten); unsaved edits are autosaved first. 409 no_changes when the files already match.",
    tags: ["versions"],
    responses: { 201: "The new version", 404: "No such version in this project's history", 409: "Already at that version" },
    handler: async (ctx) => {
      const v = await restoreVersion(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, ctx.params.sha ?? "", editorOf(userOf(ctx)));
      ctx.log.info("version restored", { projectId: ctx.project.id, version: v.id, actorId: actorIdOf(ctx) });
      return json(v, 201);
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/archive.zip",
    permission: "project:read",
    kind: "api",
    summary: "The project's files as a zip: the current files (unsaved edits included), or a version's with `?version=<sha>`.",
    tags: ["versions"],
    query: t.Object({ version: t.Optional(Sha) }),
    handler: async (ctx) => {
      const a = await archiveVersion(ctx.app.config.dataDir, ctx.project, ctx.query.version);
      return new Response(a.stream, {
        headers: {
          "Content-Type": "application/zip",
          "Content-Disposition": `attachment; filename="${encodeURIComponent(a.filename)}"`,
          "Cache-Control": "private, no-store",
        },
      });
    },
  }),
];
