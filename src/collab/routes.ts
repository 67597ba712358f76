/**
 * Collaboration endpoints: the y-websocket sockets (one per file, one per
 * project for presence) and the document id a browser names its offline copy by.
 */
import { atLeast } from "../projects/access.ts";
import { filePath } from "../projects/api-routes.ts";
import { detectLanguage, isProbablyText, readFile } from "../projects/files.ts";
import { route, type Ctx } from "../server/guard.ts";
import { json } from "../server/http.ts";
import { ApiError } from "../lib/errors.ts";
import { colorFor, type Identity } from "./peer.ts";
import { collabSocket } from "./socket.ts";
import { ensureDocId } from "./store.ts";

function identityOf(ctx: Ctx<unknown, unknown>): Identity {
  if (ctx.actor.kind === "user") {
    const u = ctx.actor.user;
    return { id: u.id, name: u.name || u.username, color: colorFor(u.id, u.id) };
  }
  return { id: null, name: "Guest", color: colorFor(null, ctx.ip) };
}

function upgrade(ctx: Ctx<unknown, unknown>, path: string | null): Response {
  const canWrite = atLeast(ctx.access, "write") && (ctx.actor.kind !== "user" || ctx.actor.via !== "token" || ctx.actor.scopes.includes("write"));
  const handlers = collabSocket(ctx.app, { project: ctx.project, path, user: identityOf(ctx), canWrite });
  if (ctx.upgrade(handlers)) return new Response(null, { status: 204 });
  throw new ApiError(426, "upgrade_required", "This endpoint speaks WebSocket (the y-websocket protocol); open it with a WebSocket client.", undefined, {
    Upgrade: "websocket",
  });
}

const SOCKET_RESPONSES = { 101: "Switching to the y-websocket protocol; refusals arrive as close codes 4401/4403/4404", 426: "Not a WebSocket request" };

export const collabRoutes = [
  route({
    method: "GET",
    path: "/collab/:id",
    permission: "project:read",
    kind: "api",
    websocket: true,
    summary: "Project presence (WebSocket, y-websocket protocol, awareness only): who is here and which file each person has open",
    tags: ["collaboration"],
    responses: SOCKET_RESPONSES,
    handler: (ctx) => upgrade(ctx, null),
  }),
  route({
    method: "GET",
    path: "/collab/:id/*",
    permission: "project:read",
    kind: "api",
    websocket: true,
    summary: "Edit a text file together (WebSocket, y-websocket protocol): the Y.Doc's text is `content`; writers' updates are stored before they are broadcast",
    tags: ["collaboration"],
    responses: SOCKET_RESPONSES,
    handler: (ctx) => upgrade(ctx, filePath(ctx)),
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/docs/*",
    permission: "project:read",
    kind: "api",
    summary: "The collaborative document of a text file: its stable id (changes only when the file is deleted and re-created) and language",
    tags: ["collaboration"],
    handler: async (ctx) => {
      const path = filePath(ctx);
      const { bytes, size } = await readFile(ctx.app.config.dataDir, ctx.project.id, path);
      if (!isProbablyText(bytes)) throw new ApiError(415, "not_text", "This is a binary file; it cannot be edited as text.");
      const docId = await ensureDocId(ctx.app.db, ctx.project.id, path);
      return json({ path, docId, size, language: detectLanguage(path) });
    },
  }),
];
