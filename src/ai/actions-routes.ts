/**
 * The code actions API. Thin: the work is in actions.ts. An action's routes find its project
 * through the guard's `projectOf`, so the project's permissions apply: reading the diff needs
 * read access, applying, discarding or undoing it needs write access.
 */
import type { App } from "../core/app.ts";
import { notFound } from "../lib/errors.ts";
import { route, type Ctx } from "../server/guard.ts";
import { json } from "../server/http.ts";
import { diffSides, fileDiff, unifiedText } from "./actions-diff.ts";
import { applyAction, discardAction, getAction, undoAction, type CodeAction } from "./actions.ts";

export const actionProject = {
  noun: "Code action",
  find: async (app: App, id: string) => (await getAction(app, id))?.projectId ?? null,
};

export type ActionFileJson = { path: string; created: boolean; additions: number; deletions: number; merged: boolean; diff: string };

export type ActionJson = Omit<CodeAction, "edits"> & { files: ActionFileJson[] };

export function actionJson(a: CodeAction): ActionJson {
  const { edits, ...rest } = a;
  return {
    ...rest,
    files: edits.map((e) => {
      const { from, to } = diffSides(e);
      const d = fileDiff(e.path, from, to);
      return { path: e.path, created: from === null, additions: d.additions, deletions: d.deletions, merged: e.applied?.merged ?? false, diff: unifiedText(d) };
    }),
  };
}

async function theAction(ctx: Ctx<unknown, unknown>): Promise<CodeAction> {
  const a = await getAction(ctx.app, ctx.params.id ?? "");
  if (!a) throw notFound("Code action");
  return a;
}

const CONFLICT = "The files changed since in a way that overlaps (details name each file and why), or the action is not in a state that allows it; nothing was changed";

export const aiActionApiRoutes = [
  route({
    method: "GET",
    path: "/api/v1/ai/actions/:id",
    permission: "project:read",
    kind: "api",
    summary: "A code action the assistant proposed: its summary, status and a unified diff per file",
    tags: ["ai"],
    projectOf: actionProject,
    handler: async (ctx) => json(actionJson(await theAction(ctx))),
  }),
  route({
    method: "POST",
    path: "/api/v1/ai/actions/:id/apply",
    permission: "project:write",
    kind: "api",
    summary: "Apply a code action: one collaborative-document transaction per file, seen live by everyone editing; merges cleanly with changes made since, else 409",
    tags: ["ai"],
    projectOf: actionProject,
    responses: { 409: CONFLICT },
    handler: async (ctx) => json(actionJson(await applyAction(ctx.app, ctx.actor, ctx.params.id ?? ""))),
  }),
  route({
    method: "POST",
    path: "/api/v1/ai/actions/:id/undo",
    permission: "project:write",
    kind: "api",
    summary: "Revert an applied code action (keeping later edits on other lines); the action is proposed again",
    tags: ["ai"],
    projectOf: actionProject,
    responses: { 409: CONFLICT },
    handler: async (ctx) => json(actionJson(await undoAction(ctx.app, ctx.actor, ctx.params.id ?? ""))),
  }),
  route({
    method: "POST",
    path: "/api/v1/ai/actions/:id/discard",
    permission: "project:write",
    kind: "api",
    summary: "Discard a proposed code action",
    tags: ["ai"],
    projectOf: actionProject,
    responses: { 409: "The action was already applied or discarded" },
    handler: async (ctx) => json(actionJson(await discardAction(ctx.app, ctx.actor, ctx.params.id ?? ""))),
  }),
];
