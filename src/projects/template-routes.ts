/** JSON API for templates and forks. Thin: the logic is in templates.ts and fork.ts. */
import { t } from "elysia";
import { route, userOf } from "../server/guard.ts";
import { json } from "../server/http.ts";
import { forkProject } from "./fork.ts";
import { projectJsonFor } from "./projects.ts";
import { listTemplates } from "./templates.ts";

const Visibility = t.Union([t.Literal("private"), t.Literal("unlisted"), t.Literal("public")]);

export const templateApiRoutes = [
  route({
    method: "GET",
    path: "/api/v1/templates",
    permission: "user",
    kind: "api",
    summary:
      "What a new project can start from: the built-in templates, then projects marked as template that are public or yours or your teams' " +
      "— [{id, name, description, tags, builtIn, owner?, slug?}]. Pass an id as `template` to POST /api/v1/projects.",
    tags: ["projects", "templates"],
    handler: async (ctx) => json(await listTemplates(ctx.app.db.orm, userOf(ctx))),
  }),
];

export const forkApiRoutes = [
  route({
    method: "POST",
    path: "/api/v1/projects/:id/fork",
    permission: "project:read",
    kind: "api",
    summary:
      "Fork (remix) a project you can read: a new project of yours (or of `team`) with the full history of its last saved version " +
      "(edits not yet saved as a version stay behind; environment variables are not copied) and `forkedFrom` set. " +
      "Send `{}` for the defaults: the source's name (the slug gets -2, -3… when taken) and visibility (a fork may only be more private).",
    tags: ["projects"],
    body: t.Object(
      {
        name: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
        team: t.Optional(t.String({ minLength: 1, maxLength: 64, description: "Team id or slug" })),
        visibility: t.Optional(Visibility),
        description: t.Optional(t.String({ maxLength: 2000 })),
      },
      { additionalProperties: false },
    ),
    responses: { 201: "The new project" },
    handler: async (ctx) => {
      const fork = await forkProject(ctx.app.db.orm, ctx.app.config.dataDir, ctx.project, userOf(ctx), ctx.body);
      return json(await projectJsonFor(ctx.app.db.orm, fork, ctx.app.config.baseUrl), 201);
    },
  }),
];
