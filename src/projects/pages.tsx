/**
 * Project pages: every HTML route for creating, viewing and managing a project, with its
 * permission, in one table. The handlers live in the pages-*.tsx files beside this one.
 */
import { route } from "../server/guard.ts";
import { FormFields } from "./pages-ui.tsx";
import { createNewProject, showNewProject } from "./pages-new.tsx";
import { createFile, deleteFile, showBlob, showProject } from "./pages-project.tsx";
import { removeProject, saveSettings, showSettings } from "./pages-settings.tsx";

export const projectPageRoutes = [
  route({
    method: "GET",
    path: "/new",
    permission: "user",
    kind: "page",
    summary: "Form to create a project (owned by you or one of your teams).",
    tags: ["pages"],
    handler: (ctx) => showNewProject(ctx),
  }),
  route({
    method: "POST",
    path: "/new",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Create a project; errors are shown beside the fields, success redirects to it.",
    tags: ["pages"],
    handler: (ctx) => createNewProject(ctx),
  }),
  route({
    method: "GET",
    path: "/projects/:id",
    permission: "project:read",
    kind: "page",
    summary: "Project page: file tree, README and recent activity.",
    tags: ["pages"],
    handler: (ctx) => showProject(ctx),
  }),
  route({
    method: "GET",
    path: "/projects/:id/blob/*",
    permission: "project:read",
    kind: "page",
    summary: "One file (highlighted, read-only) or folder of a project.",
    tags: ["pages"],
    handler: (ctx) => showBlob(ctx),
  }),
  route({
    method: "POST",
    path: "/projects/:id/files",
    permission: "project:write",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Create a file from the project page form (path + content).",
    tags: ["pages"],
    handler: (ctx) => createFile(ctx),
  }),
  route({
    method: "POST",
    path: "/projects/:id/blob-delete",
    permission: "project:write",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Delete a file or folder (path in the form).",
    tags: ["pages"],
    handler: (ctx) => deleteFile(ctx),
  }),
  route({
    method: "GET",
    path: "/projects/:id/settings",
    permission: "project:admin",
    kind: "page",
    summary: "Project settings: name, description, visibility, deletion.",
    tags: ["pages"],
    handler: (ctx) => showSettings(ctx),
  }),
  route({
    method: "POST",
    path: "/projects/:id/settings",
    permission: "project:admin",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Save a project's name, description and visibility.",
    tags: ["pages"],
    handler: (ctx) => saveSettings(ctx),
  }),
  route({
    method: "POST",
    path: "/projects/:id/delete",
    permission: "project:admin",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Delete a project after its name is typed to confirm.",
    tags: ["pages"],
    handler: (ctx) => removeProject(ctx),
  }),
];
