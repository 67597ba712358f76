/**
 * Git over HTTP routes: `git clone http://<anything>:<token>@host/git/<owner>/<slug>.git`.
 *
 * Declared with permission "public" because who may do what depends on the git service, not
 * on the method: `gitAccess` decides it from the caller's API token (sent by git as the HTTP
 * Basic password; the guard resolves it — `basicAuth`) and the project's access rules.
 * Browser session cookies never authorise git, so these routes need no CSRF token.
 * - anonymous: clone public and unlisted projects; anything else → 401 with a Basic challenge
 *   (so git asks for credentials), whether or not the project exists;
 * - signed in with a token: no access → 404 (existence is not leaked); readers clone;
 *   writers (with a token that has the "write" scope) push.
 */
import { t } from "elysia";
import { ANONYMOUS } from "../auth/actor.ts";
import type { Project, User } from "../db/schema.ts";
import { ApiError, badRequest, forbidden, notFound } from "../lib/errors.ts";
import { route, type Ctx, type RouteDef } from "../server/guard.ts";
import { atLeast, projectAccess, projectLevel } from "./access.ts";
import { autosaveBeforePush, receivePack, serveRead, type GitService } from "./git-http.ts";
import { findProjectByOwnerSlug } from "./projects.ts";
import { editorOf } from "./versions.ts";

const REALM = 'Basic realm="Wove"';

function challenge(): ApiError {
  return new ApiError(
    401,
    "unauthorized",
    "Authentication required: use an API token as the password (any user name).",
    undefined,
    { "WWW-Authenticate": REALM },
  );
}

/** Who is asking for which project, and may they use `service` on it? */
export async function gitAccess(ctx: Ctx<unknown, unknown>, service: GitService): Promise<{ project: Project; user: User | null }> {
  const orm = ctx.app.db.orm;
  const slug = (ctx.params.repo ?? "").replace(/\.git$/i, "");
  const owner = ctx.params.owner ?? "";
  const need = service === "git-receive-pack" ? "write" : "read";
  const actor = ctx.actor.kind === "user" && ctx.actor.via === "token" ? ctx.actor : null;
  const project = slug && owner ? await findProjectByOwnerSlug(orm, owner, slug) : undefined;
  if (!actor) {
    if (project && need === "read" && atLeast(projectLevel(project, ANONYMOUS, null), "read")) return { project, user: null };
    throw challenge();
  }
  if (!project) throw notFound("Repository");
  const { level } = await projectAccess(orm, actor, project.id);
  if (level === "none") throw notFound("Repository");
  if (need === "write") {
    if (!actor.scopes.includes("write")) throw forbidden('This token lacks the "write" scope needed to push.');
    if (!atLeast(level, "write")) throw forbidden("You can clone this project but not push to it; ask its owner for write access.");
  }
  return { project, user: actor.user };
}

/** Git routes also accept the token as an HTTP Basic password, and need only "read" scope from the guard (pushes check "write" in gitAccess). */
function gitRoute(def: RouteDef): RouteDef {
  return { ...def, basicAuth: true, scope: "read", csrfExempt: true } as RouteDef;
}

const Repo = "Repository path: `/git/<owner>/<slug>.git`, owner = a username or team slug.";

export const gitHttpRoutes: RouteDef[] = [
  gitRoute(route({
    method: "GET",
    path: "/git/:owner/:repo/info/refs",
    permission: "public",
    kind: "api",
    summary: `Git smart HTTP: ref advertisement for \`git-upload-pack\` (clone, fetch) or \`git-receive-pack\` (push). ${Repo}`,
    tags: ["git"],
    query: t.Object({ service: t.Optional(t.String()) }),
    handler: async (ctx) => {
      const service = ctx.query.service;
      if (service !== "git-upload-pack" && service !== "git-receive-pack") {
        throw badRequest("Wove speaks git's smart HTTP protocol only: use git 1.6.6 or newer.");
      }
      const { project, user } = await gitAccess(ctx, service);
      const dataDir = ctx.app.config.dataDir;
      if (service === "git-receive-pack" && user) {
        // Unsaved browser edits become a version now, so git tells the pusher to pull first.
        await autosaveBeforePush({ orm: ctx.app.db.orm, dataDir, project, pusher: { ...editorOf(user), username: user.username } });
      }
      return serveRead(dataDir, project, {
        method: "GET",
        action: "info/refs",
        query: `service=${service}`,
        headers: ctx.request.headers,
        body: null,
        remoteAddr: ctx.ip,
        remoteUser: service === "git-receive-pack" ? user?.username : undefined,
      });
    },
  })),
  gitRoute(route({
    method: "POST",
    path: "/git/:owner/:repo/git-upload-pack",
    permission: "public",
    kind: "api",
    summary: `Git smart HTTP: fetch objects (clone, fetch, pull). ${Repo}`,
    tags: ["git"],
    handler: async (ctx) => {
      const { project } = await gitAccess(ctx, "git-upload-pack");
      return serveRead(ctx.app.config.dataDir, project, {
        method: "POST",
        action: "git-upload-pack",
        query: "",
        headers: ctx.request.headers,
        body: ctx.request.body,
        remoteAddr: ctx.ip,
      });
    },
  })),
  gitRoute(route({
    method: "POST",
    path: "/git/:owner/:repo/git-receive-pack",
    permission: "public",
    kind: "api",
    summary: `Git smart HTTP: push to main (fast-forward only; the project's files are updated). ${Repo}`,
    tags: ["git"],
    handler: async (ctx) => {
      const { project, user } = await gitAccess(ctx, "git-receive-pack");
      if (!user) throw challenge();
      return receivePack({
        orm: ctx.app.db.orm,
        dataDir: ctx.app.config.dataDir,
        project,
        pusher: { ...editorOf(user), username: user.username },
        request: ctx.request,
        remoteAddr: ctx.ip,
        maxBytes: ctx.app.config.maxPushBytes,
      });
    },
  })),
];
