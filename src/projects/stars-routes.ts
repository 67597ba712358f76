/**
 * Routes for stars: the JSON API and the project page's star button. Starring needs read
 * access (anyone who can see a project may star it) and a signed-in user.
 */
import { route, userOf } from "../server/guard.ts";
import { noContent } from "../server/http.ts";
import { star, unstar } from "./stars.ts";
import { FormFields } from "./pages-ui.tsx";
import { setStar } from "./pages-project.tsx";

export const starApiRoutes = [
  route({
    method: "PUT",
    path: "/api/v1/projects/:id/star",
    permission: "project:read",
    signedIn: true,
    kind: "api",
    summary: "Star the project (idempotent). 204.",
    tags: ["stars"],
    responses: { 204: "Starred" },
    handler: async (ctx) => {
      await star(ctx.app.db.orm, ctx.project, userOf(ctx));
      return noContent();
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/projects/:id/star",
    permission: "project:read",
    signedIn: true,
    kind: "api",
    summary: "Remove your star from the project (idempotent). 204.",
    tags: ["stars"],
    responses: { 204: "Unstarred" },
    handler: async (ctx) => {
      await unstar(ctx.app.db.orm, ctx.project, userOf(ctx));
      return noContent();
    },
  }),
];

export const starPageRoutes = [
  route({
    method: "POST",
    path: "/projects/:id/star",
    permission: "project:read",
    signedIn: true,
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Star the project from its page (htmx swaps the button; without JS, back to the project page).",
    tags: ["pages"],
    handler: (ctx) => setStar(ctx, true),
  }),
  route({
    method: "POST",
    path: "/projects/:id/unstar",
    permission: "project:read",
    signedIn: true,
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Remove your star from the project page.",
    tags: ["pages"],
    handler: (ctx) => setStar(ctx, false),
  }),
];
