/**
 * Routes for a project's environment variables: the JSON API and the settings-page forms.
 * Project admins only, reads included: the variables hold secrets, and writers should not
 * be able to read them. Thin: the logic is in env.ts, the page in pages-settings.tsx.
 */
import { t } from "elysia";
import { actorIdOf, route } from "../server/guard.ts";
import { json, noContent } from "../server/http.ts";
import { deleteEnv, keyRing, listEnv, setEnv } from "./env.ts";
import { FormFields } from "./pages-ui.tsx";
import { removeEnvVar, saveEnvVar } from "./pages-settings.tsx";

export const envApiRoutes = [
  route({
    method: "GET",
    path: "/api/v1/projects/:id/env",
    permission: "project:admin",
    kind: "api",
    summary: 'The project\'s environment variables by name: `[{name, value, secret, updatedAt}]`. Secret values are masked as "••••••".',
    tags: ["env"],
    handler: async (ctx) => json(await listEnv(ctx.app.db.orm, keyRing(ctx.app.secret, ctx.app.config.dataDir), ctx.project.id)),
  }),
  route({
    method: "PUT",
    path: "/api/v1/projects/:id/env/:name",
    permission: "project:admin",
    kind: "api",
    summary:
      "Set a variable (name: capital letters, digits, underscores; value: at most 32 KiB; at most 200 per project). " +
      "201 when created, 200 when replaced. `secret` masks the value in listings; when omitted, a replaced variable keeps its setting.",
    tags: ["env"],
    body: t.Object({ value: t.String(), secret: t.Optional(t.Boolean()) }),
    responses: { 200: "Replaced", 201: "Created", 422: "Invalid name or value, or the project has 200 variables" },
    handler: async (ctx) => {
      const { created, variable } = await setEnv(
        ctx.app.db.orm,
        ctx.app.secret,
        ctx.project,
        ctx.params.name ?? "",
        { value: ctx.body.value, secret: ctx.body.secret },
        actorIdOf(ctx),
      );
      return json(variable, created ? 201 : 200);
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/projects/:id/env/:name",
    permission: "project:admin",
    kind: "api",
    summary: "Delete a variable. 404 when the project has none by that name.",
    tags: ["env"],
    responses: { 204: "Deleted" },
    handler: async (ctx) => {
      await deleteEnv(ctx.app.db.orm, ctx.project, ctx.params.name ?? "", actorIdOf(ctx));
      return noContent();
    },
  }),
];

export const envPageRoutes = [
  route({
    method: "POST",
    path: "/projects/:id/settings/env",
    permission: "project:admin",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Add or replace an environment variable from the settings page (name, value, secret).",
    tags: ["pages"],
    handler: (ctx) => saveEnvVar(ctx),
  }),
  route({
    method: "POST",
    path: "/projects/:id/settings/env/:name/delete",
    permission: "project:admin",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Delete an environment variable from the settings page.",
    tags: ["pages"],
    handler: (ctx) => removeEnvVar(ctx),
  }),
];
