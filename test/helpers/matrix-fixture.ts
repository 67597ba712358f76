/**
 * The authorization matrix's world, built in-process with service functions:
 * a team-owned PRIVATE project with README.md, team members of every role, an
 * instance admin and an unrelated user — each with a session (for pages) and
 * API tokens. `request` turns (route, actor) into a real Request with the right
 * credentials, CSRF token, parameters and a plausible body.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDeployment, finishDeployment } from "../../src/deploy/deployments.ts";
import { proposeAction } from "../../src/ai/actions.ts";
import { loadConfig } from "../../src/config.ts";
import { openApp, type App } from "../../src/core/app.ts";
import type { Project, Team, User } from "../../src/db/schema.ts";
import { createUser } from "../../src/auth/users.ts";
import { createSession, SESSION_COOKIE } from "../../src/auth/sessions.ts";
import { createToken } from "../../src/auth/tokens.ts";
import { createInvite, createPasswordReset } from "../../src/auth/links.ts";
import type { Scope } from "../../src/auth/actor.ts";
import { createTeam, setMember } from "../../src/teams/teams.ts";
import { createProject } from "../../src/projects/projects.ts";
import { writeProjectFile } from "../../src/projects/files.ts";
import { editorOf, saveVersion } from "../../src/projects/versions.ts";
import { setEnv } from "../../src/projects/env.ts";
import { csrfFor, type RouteDef } from "../../src/server/guard.ts";
import { createServer } from "../../src/server/server.ts";
import { setLogSink } from "../../src/lib/log.ts";
import { addProvider } from "../../src/ai/providers.ts";
import { createPrompt, usePrompt } from "../../src/ai/prompts.ts";
import { appendMessages, createConversation } from "../../src/ai/conversations.ts";

export const ACTORS = ["anonymous", "viewer", "member", "maintainer", "owner", "admin", "other"] as const;
export type ActorName = (typeof ACTORS)[number];
export type SignedIn = Exclude<ActorName, "anonymous">;

export type Credentials = {
  user: User;
  /** read,write (+admin for the instance admin). */
  token: string;
  readToken: string;
  /** A second token of this user: the target of "revoke my token" routes. */
  spareTokenId: string;
  cookie: string;
  csrf: string;
};

export type World = {
  n: number;
  deploymentId: string;
  /** A proposed code action on README.md (routes with `:aid`, and `:id` of code-action routes). */
  actionId: string;
  actors: Record<SignedIn, Credentials>;
  /** A team member (role member) that routes about "another user" act on. */
  target: User;
  team: Team;
  project: Project;
  /** A saved version of the project (its README.md). */
  versionId: string;
  /** An environment variable of the project (routes with `:name`). */
  envName: string;
  inviteToken: string;
  /** The open invite's id (admin routes that revoke it). */
  inviteId: string;
  resetToken: string;
  /** An AI model provider (admin routes with `:pid`); its URL answers nothing, so a check is a quick ok: false. */
  providerId: string;
  /** Each signed-in actor's own prompt, shared with everyone, and one use of it by its owner (routes with `:prompt`, `:version`, `:useId`). */
  prompts: Record<SignedIn, { id: string; useId: number }>;
  /** Each signed-in actor's own assistant conversation (routes with `:cid`): about the project for its readers, about no project for "other". */
  conversations: Record<SignedIn, string>;
};

export type Harness = {
  app: App;
  handle(req: Request): Promise<Response>;
  /** Log lines written by the server since the last `takeLogs`. */
  takeLogs(): string[];
  newWorld(): Promise<World>;
  close(): void;
};

export const BASE = "http://wove.test";
const ANON_CSRF_KEY = "matrix-anonymous-pre-session";

export async function openHarness(routes?: RouteDef[]): Promise<Harness> {
  let logs: string[] = [];
  setLogSink((text) => logs.push(text));
  const dir = mkdtempSync(join(tmpdir(), "wove-matrix-"));
  // Deploying is off: an allowed Deploy press answers 503 at once instead of starting Caddy.
  const app = await openApp(loadConfig({ data: dir }, { WOVE_IMPORT_GIT_ALLOW: "git.example.com", WOVE_CADDY: "off" }));
  // Only this test's throwaway database: no fsync per row keeps hundreds of fixtures fast.
  await app.db.client.execute("PRAGMA synchronous=OFF");
  const server = createServer(app, routes ? { routes } : {});
  let n = 0;

  async function credentials(name: string, role: "admin" | "member"): Promise<Credentials> {
    const orm = app.db.orm;
    const user = await createUser(orm, { email: `${name}-${n}@matrix.example.com`, username: `${name}-${n}`, name, role }, null);
    const scopes: Scope[] = role === "admin" ? ["read", "write", "admin"] : ["read", "write"];
    const token = (await createToken(orm, user, { name: "matrix", scopes, expiresAt: null }, null)).token;
    const readToken = (await createToken(orm, user, { name: "matrix-read", scopes: ["read"], expiresAt: null }, null)).token;
    const spare = await createToken(orm, user, { name: "matrix-spare", scopes: ["read"], expiresAt: null }, null);
    const session = await createSession(orm, user.id, 1, {});
    return { user, token, readToken, spareTokenId: spare.row.id, cookie: `${SESSION_COOKIE}=${session.token}`, csrf: csrfFor(app, session.id) };
  }

  return {
    app,
    handle: (req) => server.handle(req),
    takeLogs() {
      const out = logs;
      logs = [];
      return out;
    },
    async newWorld() {
      n++;
      const orm = app.db.orm;
      const actors = {} as Record<SignedIn, Credentials>;
      for (const a of ACTORS) if (a !== "anonymous") actors[a] = await credentials(a, a === "admin" ? "admin" : "member");
      const target = await createUser(orm, { email: `target-${n}@matrix.example.com`, username: `target-${n}`, role: "member" }, null);
      const team = await createTeam(orm, actors.owner.user, { name: `Matrix Team ${n}`, slug: `matrix-team-${n}` });
      for (const [who, role] of [
        [actors.viewer.user, "viewer"],
        [actors.member.user, "member"],
        [actors.maintainer.user, "maintainer"],
        [target, "member"],
      ] as const) {
        await setMember(orm, team.id, who.id, role, actors.owner.user.id, "owner");
      }
      const project = await createProject(orm, app.config.dataDir, actors.owner.user, { name: `Matrix Project ${n}`, visibility: "private", team: team.id });
      await writeProjectFile(orm, app.config.dataDir, project, "README.md", new TextEncoder().encode("# Matrix\n"), app.config.maxFileBytes, actors.owner.user.id);
      const versionId = (await saveVersion(orm, app.config.dataDir, project, { message: "Matrix", author: editorOf(actors.owner.user) })).id;
      const envName = "MATRIX_VAR";
      await setEnv(orm, app.secret, project, envName, { value: "matrix value", secret: true }, actors.owner.user.id);
      const invite = await createInvite(orm, actors.admin.user, { role: "member" });
      const reset = await createPasswordReset(orm, target.email);
      if (!reset) throw new Error("could not create a password reset link for the fixture");
      // An ended deployment: deployment routes find the project through it.
      const deployment = await createDeployment(orm, project, actors.owner.user.id);
      await finishDeployment(orm, deployment.id, "failed", "matrix");
      const action = await proposeAction(app, {
        projectId: project.id,
        conversationId: null,
        userId: actors.owner.user.id,
        summary: "Matrix edit",
        edits: [{ path: "README.md", after: "# Matrix\n\nEdited by a code action.\n" }],
      });
      const prompts = {} as Record<SignedIn, { id: string; useId: number }>;
      for (const a of ACTORS) {
        if (a === "anonymous") continue;
        const prompt = await createPrompt(orm, actors[a].user, { name: `Matrix prompt ${n}`, body: "Matrix prompt text", visibility: "instance" });
        prompts[a] = { id: prompt.id, useId: (await usePrompt(orm, actors[a].user, prompt.id, { values: {} })).useId };
      }
      const conversations = {} as Record<SignedIn, string>;
      for (const a of ACTORS) {
        if (a === "anonymous") continue;
        const c = await createConversation(orm, { userId: actors[a].user.id, projectId: a === "other" ? null : project.id, title: `Matrix chat ${n}` });
        await appendMessages(orm, c.id, [
          { role: "user", content: "What is in README.md?" },
          { role: "assistant", content: "A heading.", meta: { model: "matrix" } },
        ]);
        conversations[a] = c.id;
      }
      return {
        n,
        actors,
        prompts,
        conversations,
        target,
        team,
        project,
        versionId,
        envName,
        inviteToken: invite.token,
        inviteId: invite.link.id,
        resetToken: reset.token,
        deploymentId: deployment.id,
        actionId: action.id,
        providerId: (await addProvider(app, { id: `matrix-${n}`, kind: "ollama", url: "http://127.0.0.1:9" }, null)).id,
      };
    },
    close() {
      app.close();
      rmSync(dir, { recursive: true, force: true });
      setLogSink((text) => process.stdout.write(text));
    },
  };
}

/** Fills a route path's parameters from the world; throws for a parameter the matrix does not know. */
export function fillPath(def: RouteDef, world: World, actor: ActorName): string {
  const who = actor === "anonymous" ? world.actors.other : world.actors[actor];
  const special = SPECIAL[`${def.method} ${def.path}`];
  return def.path.replace(/:([A-Za-z]+)|\*$/g, (whole, name: string | undefined) => {
    if (whole === "*") return special?.wildcard ?? "README.md";
    switch (name) {
      case "id":
        if (def.projectOf?.noun === "Deployment") return world.deploymentId;
        if (def.projectOf?.noun === "Code action") return world.actionId;
        if (def.permission.startsWith("project:")) return world.project.id;
        if (def.permission.startsWith("team:")) return world.team.id;
        throw new Error(`${def.method} ${def.path}: ":id" on a route whose permission (${def.permission}) names neither a project nor a team`);
      case "did":
        return world.deploymentId;
      case "pid":
        return world.providerId;
      case "aid":
        return world.actionId;
      case "prompt":
        return world.prompts[actor === "anonymous" ? "other" : actor].id;
      case "version":
        return "1";
      case "useId":
        return String(world.prompts[actor === "anonymous" ? "other" : actor].useId);
      case "cid":
        return world.conversations[actor === "anonymous" ? "other" : actor];
      case "userId":
        return world.target.id;
      case "tokenId":
        return who.spareTokenId;
      case "inviteId":
        return world.inviteId;
      case "owner":
        return world.team.slug;
      case "username":
        return world.target.username;
      case "slug":
        return world.team.slug;
      case "repo":
        return `${world.project.slug}.git`;
      case "sha":
        return world.versionId;
      case "name":
        return world.envName;
      case "token":
        if (def.path.startsWith("/invite/")) return world.inviteToken;
        if (def.path.startsWith("/reset/")) return world.resetToken;
        break;
    }
    throw new Error(`${def.method} ${def.path}: the authorization matrix does not know how to fill ":${name}" — add it to fillPath in test/helpers/matrix-fixture.ts`);
  });
}

type Special = { wildcard?: string; json?: (w: World) => unknown; form?: (w: World) => Record<string, string>; query?: string };

/**
 * Bodies that get an allowed actor past validation to the handler, so a
 * handler-level refusal would show up as a wrong status. Routes not listed get
 * an empty form or a body generated from their schema (a 400/422 still proves
 * the guard let the request through).
 */
const SPECIAL: Record<string, Special> = {
  "POST /api/v1/projects": { json: () => ({ name: "Matrix Made" }) },
  "PATCH /api/v1/projects/:id": { json: () => ({ description: "patched by the matrix" }) },
  "PUT /api/v1/projects/:id/files/*": { wildcard: "notes/matrix.txt" },
  "POST /api/v1/projects/:id/files/*": { wildcard: "README.md:move", json: () => ({ to: "MOVED.md" }) },
  "GET /git/:owner/:repo/info/refs": { query: "?service=git-upload-pack" },
  "GET /api/v1/search": { query: "?q=Matrix" },
  "POST /api/v1/teams": { json: (w) => ({ name: `Made ${w.n}-${Math.random().toString(36).slice(2, 8)}` }) },
  "PUT /api/v1/teams/:id/members/:userId": { json: () => ({ role: "viewer" }) },
  "POST /api/v1/me/tokens": { json: () => ({ name: "matrix-made" }) },
  "POST /api/v1/users": { json: (w) => ({ email: `made-${w.n}-${Math.random().toString(36).slice(2, 8)}@example.com`, password: "correct horse battery", role: "member" }) },
  "PATCH /api/v1/users/:userId": { json: () => ({ role: "member" }) },
  "POST /new": { form: (w) => ({ name: `Form Made ${w.n}`, visibility: "private" }) },
  "POST /projects/:id/files": { form: () => ({ path: "notes/form.txt", content: "hello" }) },
  "POST /projects/:id/blob-delete": { form: () => ({ path: "README.md" }) },
  "POST /projects/:id/settings": { form: (w) => ({ name: w.project.name, description: "changed", visibility: "private" }) },
  "POST /projects/:id/delete": { form: (w) => ({ confirm: w.project.name }) },
  "POST /projects/:id/settings/env": { form: () => ({ env_name: "MATRIX_FORM_VAR", env_value: "from the matrix" }) },
  "POST /teams": { form: (w) => ({ name: `Form Team ${w.n}-${Math.random().toString(36).slice(2, 8)}` }) },
  "POST /teams/:id/members": { form: (w) => ({ who: w.actors.other.user.username, role: "member" }) },
  "POST /teams/:id/members/:userId/role": { form: () => ({ role: "viewer" }) },
  "POST /admin/users/:userId/role": { form: () => ({ role: "member" }) },
  "POST /account/tokens": { form: () => ({ token_name: "form-made", scope_read: "on" }) },
  "POST /account/profile": { form: () => ({ name: "Renamed" }) },
};

/** A minimal value that satisfies a JSON schema well enough (TypeBox schemas are JSON Schema). */
function sampleOf(schema: Record<string, unknown> | undefined): unknown {
  if (!schema) return {};
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.anyOf)) return sampleOf(schema.anyOf[0] as Record<string, unknown>);
  switch (schema.type) {
    case "object": {
      const out: Record<string, unknown> = {};
      const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const k of (schema.required as string[] | undefined) ?? []) out[k] = sampleOf(props[k]);
      return out;
    }
    case "string":
      return "x".repeat(Math.max(1, Number(schema.minLength ?? 1)));
    case "boolean":
      return false;
    case "integer":
    case "number":
      return Number(schema.minimum ?? 0);
    case "array":
      return [sampleOf(schema.items as Record<string, unknown>)];
    default:
      return {};
  }
}

export type Credential = "bearer" | "session";

/** Builds the request of `actor` for `def`. Cookie-authenticated writes carry a valid CSRF token. */
export function request(app: App, def: RouteDef, world: World, actor: ActorName, credential: Credential, opts: { readOnlyToken?: boolean } = {}): Request {
  const special = SPECIAL[`${def.method} ${def.path}`];
  const url = BASE + fillPath(def, world, actor) + (special?.query ?? "");
  const headers: Record<string, string> = { origin: BASE };
  if (actor !== "anonymous") {
    const c = world.actors[actor];
    if (credential === "bearer") headers.authorization = `Bearer ${opts.readOnlyToken ? c.readToken : c.token}`;
    else {
      headers.cookie = c.cookie;
      headers["x-csrf-token"] = c.csrf;
    }
  } else {
    headers.cookie = `wove_csrf=${ANON_CSRF_KEY}`;
    headers["x-csrf-token"] = csrfFor(app, ANON_CSRF_KEY);
  }
  if (def.method === "GET") return new Request(url, { headers });
  const kind = def.bodyKind ?? (def.body ? "json" : "none");
  let body: string | undefined;
  if (kind === "json") {
    headers["content-type"] = "application/json";
    body = JSON.stringify(special?.json ? special.json(world) : sampleOf(def.body as unknown as Record<string, unknown>));
  } else if (kind === "form") {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(special?.form ? special.form(world) : {}).toString();
  } else if (kind === "raw") {
    headers["content-type"] = "application/octet-stream";
    body = "written by the authorization matrix\n";
  }
  return new Request(url, { method: def.method, headers, body });
}
