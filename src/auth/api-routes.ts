/** JSON API for the caller's account, their API tokens, and (admins) user management. */
import { t } from "elysia";
import { actorIdOf, route, userOf } from "../server/guard.ts";
import { json, noContent } from "../server/http.ts";
import { notFound } from "../lib/errors.ts";
import { createToken, forgetTokensOf, listTokens, parseExpiry, parseScopes, publicToken, revokeToken } from "./tokens.ts";
import { createUser, getUser, listUsers, publicUser, setDisabled, setRole } from "./users.ts";
import { deleteUserSessions, forgetUser } from "./sessions.ts";

const Role = t.Union([t.Literal("admin"), t.Literal("member")]);
const Scope = t.Union([t.Literal("read"), t.Literal("write"), t.Literal("admin")]);

export const accountApiRoutes = [
  route({
    method: "GET",
    path: "/api/v1/me",
    permission: "user",
    kind: "api",
    summary: "The calling account: {id, email, name, username, role}.",
    tags: ["account"],
    handler: (ctx) => {
      const u = userOf(ctx);
      return json({ id: u.id, email: u.email, name: u.name, username: u.username, role: u.role });
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/me/tokens",
    permission: "user",
    kind: "api",
    summary: "Your active API tokens (never the secret itself).",
    tags: ["account"],
    handler: async (ctx) => json((await listTokens(ctx.app.db.orm, userOf(ctx).id)).map(publicToken)),
  }),
  route({
    method: "POST",
    path: "/api/v1/me/tokens",
    permission: "user",
    kind: "api",
    summary: "Create an API token; the response is the only time the token is shown.",
    tags: ["account"],
    body: t.Object(
      {
        name: t.String({ minLength: 1, maxLength: 80 }),
        scopes: t.Optional(t.Array(Scope, { minItems: 1, maxItems: 3 })),
        expires: t.Optional(t.String({ maxLength: 40, description: "30d, 12h, never or an ISO date (default 90d)" })),
      },
      { additionalProperties: false },
    ),
    responses: { 201: "{token, ...token}" },
    handler: async (ctx) => {
      const user = userOf(ctx);
      const scopes = parseScopes(ctx.body.scopes ?? ["read", "write"]);
      const { token, row } = await createToken(ctx.app.db.orm, user, { name: ctx.body.name, scopes, expiresAt: parseExpiry(ctx.body.expires ?? "90d") }, user.id);
      return json({ token, ...publicToken(row) }, 201);
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/me/tokens/:tokenId",
    permission: "user",
    kind: "api",
    summary: "Revoke one of your tokens.",
    tags: ["account"],
    responses: { 204: "Revoked" },
    handler: async (ctx) => {
      const user = userOf(ctx);
      await revokeToken(ctx.app.db.orm, user.id, ctx.params.tokenId ?? "", user.id);
      return noContent();
    },
  }),
];

export const userAdminApiRoutes = [
  route({
    method: "GET",
    path: "/api/v1/users",
    permission: "admin",
    kind: "api",
    summary: "All accounts (admins only).",
    tags: ["admin"],
    handler: async (ctx) => json((await listUsers(ctx.app.db.orm)).map(publicUser)),
  }),
  route({
    method: "POST",
    path: "/api/v1/users",
    permission: "admin",
    kind: "api",
    summary: "Create an account (admins only).",
    tags: ["admin"],
    body: t.Object(
      {
        email: t.String({ minLength: 3, maxLength: 254 }),
        password: t.String({ minLength: 1, maxLength: 512 }),
        role: Role,
        name: t.Optional(t.String({ maxLength: 100 })),
        username: t.Optional(t.String({ maxLength: 39 })),
      },
      { additionalProperties: false },
    ),
    responses: { 201: "The account" },
    handler: async (ctx) => json(publicUser(await createUser(ctx.app.db.orm, ctx.body, actorIdOf(ctx))), 201),
  }),
  route({
    method: "PATCH",
    path: "/api/v1/users/:userId",
    permission: "admin",
    kind: "api",
    summary: "Change an account's role or disable/enable it (admins only).",
    tags: ["admin"],
    body: t.Object({ role: t.Optional(Role), disabled: t.Optional(t.Boolean()) }, { additionalProperties: false }),
    handler: async (ctx) => {
      const orm = ctx.app.db.orm;
      const target = await getUser(orm, ctx.params.userId ?? "");
      if (!target) throw notFound("User");
      if (ctx.body.role) await setRole(orm, target, ctx.body.role, actorIdOf(ctx));
      if (ctx.body.disabled !== undefined) {
        const fresh = (await getUser(orm, target.id)) ?? target;
        await setDisabled(orm, fresh, ctx.body.disabled, actorIdOf(ctx));
        if (ctx.body.disabled) await deleteUserSessions(orm, target.id);
      }
      forgetUser(target.id);
      forgetTokensOf(target.id);
      const after = await getUser(orm, target.id);
      if (!after) throw notFound("User");
      return json(publicUser(after));
    },
  }),
];
