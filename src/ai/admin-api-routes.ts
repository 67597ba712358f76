/**
 * Admin JSON API for model providers (instance admins; tokens need the admin scope). A
 * provider's API key goes in and never comes out: responses say `hasApiKey`.
 *
 *   POST   /api/v1/admin/providers             {id, kind, url, apiKey?, name?, options?} → 201 (409 id taken, 422 details)
 *   GET    /api/v1/admin/providers             → the providers in fallback order, with their last check
 *   GET    /api/v1/admin/providers/:pid
 *   PATCH  /api/v1/admin/providers/:pid        {url?, name?, apiKey? (null removes), enabled?, options?, position?}
 *   DELETE /api/v1/admin/providers/:pid        → 204
 *   POST   /api/v1/admin/providers/:pid/check  → {ok: true, models} | {ok: false, reason}
 */
import { t } from "elysia";
import { actorIdOf, route } from "../server/guard.ts";
import { json, noContent } from "../server/http.ts";
import { notFound } from "../lib/errors.ts";
import { addProvider, checkProvider, getProvider, lastChecks, listProviders, providerJson, removeProvider, updateProvider } from "./providers.ts";

const Options = t.Record(t.String(), t.Unknown(), { description: "Plugin-specific settings, checked against the plugin's options schema." });

const AddBody = t.Object(
  {
    id: t.String({ minLength: 1, maxLength: 40, description: "A slug: 2–40 lowercase letters, digits or dashes." }),
    kind: t.String({ minLength: 1, maxLength: 100, description: "A plugin kind: ollama, openai-compatible, anthropic, or a third-party plugin's." }),
    url: t.String({ minLength: 1, maxLength: 500, description: "The server's base URL (http or https)." }),
    apiKey: t.Optional(t.String({ maxLength: 1000 })),
    name: t.Optional(t.String({ maxLength: 100 })),
    options: t.Optional(Options),
  },
  { additionalProperties: false },
);

const PatchBody = t.Object(
  {
    url: t.Optional(t.String({ maxLength: 500 })),
    name: t.Optional(t.String({ maxLength: 100 })),
    apiKey: t.Optional(t.Union([t.String({ maxLength: 1000 }), t.Null()], { description: "A new key, or null to remove the stored one." })),
    enabled: t.Optional(t.Boolean()),
    options: t.Optional(Options),
    position: t.Optional(t.Integer({ minimum: 1, description: "The 1-based place in the fallback order." })),
  },
  { additionalProperties: false },
);

const one = async (app: Parameters<typeof getProvider>[0], id: string) => {
  const row = await getProvider(app, id);
  if (!row) throw notFound("Provider");
  return providerJson(row, (await lastChecks(app)).get(id));
};

export const aiAdminApiRoutes = [
  route({
    method: "POST",
    path: "/api/v1/admin/providers",
    permission: "admin",
    kind: "api",
    summary: "Add a model provider; it goes last in the fallback order. The API key is stored sealed and never returned.",
    tags: ["ai", "admin"],
    body: AddBody,
    responses: { 201: "The provider (hasApiKey, never the key)", 409: "The id is taken", 422: "Invalid input, with details per field" },
    handler: async (ctx) => json(providerJson(await addProvider(ctx.app, ctx.body, actorIdOf(ctx))), 201),
  }),
  route({
    method: "GET",
    path: "/api/v1/admin/providers",
    permission: "admin",
    kind: "api",
    summary: "The model providers in fallback order, each with its last connection check.",
    tags: ["ai", "admin"],
    handler: async (ctx) => {
      const [rows, checks] = await Promise.all([listProviders(ctx.app), lastChecks(ctx.app)]);
      return json(rows.map((r) => providerJson(r, checks.get(r.id))));
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/admin/providers/:pid",
    permission: "admin",
    kind: "api",
    summary: "One model provider.",
    tags: ["ai", "admin"],
    responses: { 404: "No such provider" },
    handler: async (ctx) => json(await one(ctx.app, ctx.params.pid ?? "")),
  }),
  route({
    method: "PATCH",
    path: "/api/v1/admin/providers/:pid",
    permission: "admin",
    kind: "api",
    summary: "Change a provider: URL, name, API key (null removes it), enabled, options, or its place in the fallback order.",
    tags: ["ai", "admin"],
    body: PatchBody,
    responses: { 404: "No such provider", 422: "Invalid input, with details per field" },
    handler: async (ctx) => {
      const id = ctx.params.pid ?? "";
      await updateProvider(ctx.app, id, ctx.body, actorIdOf(ctx));
      return json(await one(ctx.app, id));
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/admin/providers/:pid",
    permission: "admin",
    kind: "api",
    summary: "Remove a provider with its prices and its places in the routing policies.",
    tags: ["ai", "admin"],
    responses: { 204: "Removed", 404: "No such provider" },
    handler: async (ctx) => {
      await removeProvider(ctx.app, ctx.params.pid ?? "", actorIdOf(ctx));
      return noContent();
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/admin/providers/:pid/check",
    permission: "admin",
    kind: "api",
    summary: "Check a provider's connection: `{ok: true, models}` or `{ok: false, reason}` (the result is kept for the admin page).",
    tags: ["ai", "admin"],
    responses: { 200: "The result (an unreachable server is ok: false, not an error)", 404: "No such provider" },
    handler: async (ctx) => json(await checkProvider(ctx.app, ctx.params.pid ?? "")),
  }),
];
