/** JSON API for projects and their files. Routes are thin: validation by schema, logic in services. */
import { t } from "elysia";
import { actorIdOf, route, userOf, type Ctx } from "../server/guard.ts";
import { json, noContent } from "../server/http.ts";
import { badRequest, invalid } from "../lib/errors.ts";
import { checkTags, setTags } from "./tags.ts";
import { cachePerOwner } from "../lib/cache.ts";
import type { App } from "../core/app.ts";
import { createProject, deleteProject, listProjectsForUser, projectJsonFor, projectsJson, updateProject } from "./projects.ts";
import { createFromTemplate } from "./templates.ts";
import { deleteProjectFile, isProbablyText, listTree, moveProjectFile, readFile, validatePath, writeProjectFile } from "./files.ts";

const Visibility = t.Union([t.Literal("private"), t.Literal("unlisted"), t.Literal("public")]);
const MOVE_SUFFIX = ":move";
const projectListCache = cachePerOwner<App, string>((app) => app.config.readCacheMs);

/** The wildcard part of a files URL, percent-decoded and validated (400 on `..`, absolute paths, NUL…). */
export function filePath(ctx: Pick<Ctx<unknown, unknown>, "params">): string {
  const rawPath = ctx.params["*"] ?? "";
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw badRequest("The file path is not valid percent-encoding.", { path: "Invalid percent-encoding." });
  }
  return validatePath(decoded);
}

export const projectApiRoutes = [
  route({
    method: "POST",
    path: "/api/v1/projects",
    permission: "user",
    kind: "api",
    summary:
      "Create a project owned by you or by one of your teams — empty, or from a `template` (GET /api/v1/templates): a built-in template's files " +
      "as its first version, or a fork of a project marked as template. An unknown template is a 422 with details.template.",
    tags: ["projects"],
    body: t.Object(
      {
        name: t.String({ minLength: 1, maxLength: 100 }),
        description: t.Optional(t.String({ maxLength: 2000 })),
        visibility: t.Optional(Visibility),
        team: t.Optional(t.String({ minLength: 1, maxLength: 64, description: "Team id or slug" })),
        template: t.Optional(t.String({ minLength: 1, maxLength: 64, description: "A built-in template id or a template project's id" })),
      },
      { additionalProperties: false },
    ),
    responses: { 201: "The project" },
    handler: async (ctx) => {
      const { orm } = ctx.app.db;
      const { template, ...fields } = ctx.body;
      const user = userOf(ctx);
      const p = template ? await createFromTemplate(orm, ctx.app.config.dataDir, user, { ...fields, template }) : await createProject(orm, ctx.app.config.dataDir, user, fields);
      return json(await projectJsonFor(orm, p, ctx.app.config.baseUrl), 201);
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/projects",
    permission: "user",
    kind: "api",
    summary: "Projects you own or reach through your teams, most recently updated first.",
    tags: ["projects"],
    query: t.Object({
      limit: t.Optional(t.String({ pattern: "^[0-9]{1,3}$" })),
      offset: t.Optional(t.String({ pattern: "^[0-9]{1,6}$" })),
    }),
    handler: async (ctx) => {
      const user = userOf(ctx);
      const limit = ctx.query.limit ? Number(ctx.query.limit) : undefined;
      const offset = ctx.query.offset ? Number(ctx.query.offset) : undefined;
      const version = await ctx.app.db.dataVersion();
      const body = await projectListCache(ctx.app).get(`${user.id}:${user.updatedAt}:${limit}:${offset}`, version, async () =>
        JSON.stringify(await projectsJson(ctx.app.db.orm, await listProjectsForUser(ctx.app.db.orm, user, { limit, offset }), ctx.app.config.baseUrl)),
      );
      return new Response(body, { headers: { "Content-Type": "application/json; charset=utf-8" } });
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id",
    permission: "project:read",
    kind: "api",
    summary: "One project.",
    tags: ["projects"],
    handler: async (ctx) => json({ ...(await projectJsonFor(ctx.app.db.orm, ctx.project, ctx.app.config.baseUrl)), access: ctx.access }),
  }),
  route({
    method: "PATCH",
    path: "/api/v1/projects/:id",
    permission: "project:admin",
    kind: "api",
    summary:
      "Change a project's name, description or visibility, or mark it as a template others can start from (`isTemplate`). " +
      "A fork cannot become more visible than its source. `tags` replaces the project's tags (at most 10, each 1–30 of a-z, 0-9 and -).",
    tags: ["projects"],
    body: t.Object(
      {
        name: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
        description: t.Optional(t.String({ maxLength: 2000 })),
        visibility: t.Optional(Visibility),
        isTemplate: t.Optional(t.Boolean()),
        tags: t.Optional(t.Array(t.String({ maxLength: 64 }), { maxItems: 50 })),
      },
      { additionalProperties: false },
    ),
    handler: async (ctx) => {
      const { tags, ...patch } = ctx.body;
      // Validate the tags first so a bad tag changes nothing.
      if (tags !== undefined) {
        const checked = checkTags(tags);
        if ("error" in checked) throw invalid(checked.error, { tags: checked.error });
      }
      const p = await updateProject(ctx.app.db.orm, ctx.project, patch, actorIdOf(ctx));
      if (tags !== undefined) await setTags(ctx.app.db.orm, p, tags, actorIdOf(ctx));
      return json(await projectJsonFor(ctx.app.db.orm, p, ctx.app.config.baseUrl));
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/projects/:id",
    permission: "project:admin",
    kind: "api",
    summary: "Delete a project and its files.",
    tags: ["projects"],
    responses: { 204: "Deleted" },
    handler: async (ctx) => {
      await deleteProject(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, actorIdOf(ctx));
      return noContent();
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/files",
    permission: "project:read",
    kind: "api",
    summary: "The project's files as a tree: [{name, path, type, size?, children?}].",
    tags: ["files"],
    handler: async (ctx) => json(await listTree(ctx.app.config.dataDir, ctx.project.id)),
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/files/*",
    permission: "project:read",
    kind: "api",
    summary: "A file's raw bytes.",
    tags: ["files"],
    handler: async (ctx) => {
      const path = filePath(ctx);
      const f = await readFile(ctx.app.config.dataDir, ctx.project.id, path);
      // User content is never rendered as HTML on Wove's origin: text is text/plain, the rest a download.
      const text = isProbablyText(f.bytes);
      return new Response(f.bytes as Uint8Array<ArrayBuffer>, {
        headers: {
          "Content-Type": text ? "text/plain; charset=utf-8" : "application/octet-stream",
          "Content-Length": String(f.size),
          "Last-Modified": f.mtime.toUTCString(),
          "Content-Security-Policy": "sandbox; default-src 'none'",
          ...(text ? {} : { "Content-Disposition": `attachment; filename="${encodeURIComponent(path.split("/").pop() ?? "file")}"` }),
        },
      });
    },
  }),
  route({
    method: "PUT",
    path: "/api/v1/projects/:id/files/*",
    permission: "project:write",
    kind: "api",
    summary: "Create or replace a file with the raw request body (201 created, 200 replaced).",
    tags: ["files"],
    bodyKind: "raw",
    handler: async (ctx) => {
      const path = filePath(ctx);
      const r = await writeProjectFile(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, path, ctx.bytes, ctx.app.config.maxFileBytes, actorIdOf(ctx));
      return json({ path: r.path, size: r.size, created: r.created }, r.created ? 201 : 200);
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/projects/:id/files/*",
    permission: "project:write",
    kind: "api",
    summary: "Delete a file or a folder (recursively).",
    tags: ["files"],
    responses: { 204: "Deleted" },
    handler: async (ctx) => {
      await deleteProjectFile(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, filePath(ctx), actorIdOf(ctx));
      return noContent();
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/projects/:id/files/*",
    permission: "project:write",
    kind: "api",
    summary: "`POST …/files/<path>:move` with {to}: rename or move a file or folder.",
    tags: ["files"],
    body: t.Object({ to: t.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
    handler: async (ctx) => {
      const raw = ctx.params["*"] ?? "";
      if (!raw.endsWith(MOVE_SUFFIX) && !raw.endsWith("%3Amove") && !raw.endsWith("%3amove")) {
        throw badRequest("Unknown file action; use POST …/files/<path>:move with {\"to\": \"new/path\"}.");
      }
      const from = filePath({ ...ctx, params: { ...ctx.params, "*": raw.replace(/(:|%3[Aa])move$/, "") } });
      const to = validatePath(ctx.body.to);
      const r = await moveProjectFile(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, from, to, actorIdOf(ctx));
      return json({ from: r.from, path: r.to, type: r.type });
    },
  }),
];
