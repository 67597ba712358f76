/**
 * The deployments API. Thin: the work is in service.ts. A deployment's routes find its
 * project through the guard's `projectOf`, so the same project permissions apply: reading a
 * deployment needs read access to its project, changing one needs write access.
 */
import type { App } from "../core/app.ts";
import { ApiError } from "../lib/errors.ts";
import { actorIdOf, route, type Ctx } from "../server/guard.ts";
import { json, noContent } from "../server/http.ts";
import { deploymentJson, getDeployment, IN_PROGRESS, listDeployments, liveDeployment, type Deployment } from "./deployments.ts";
import { hostsOf } from "./pipeline.ts";
import { deployerFor } from "./start.ts";
import type { LogLine } from "./logs.ts";

const deploymentProject = {
  noun: "Deployment",
  find: async (app: App, id: string) => (await getDeployment(app.db.orm, id))?.projectId ?? null,
};

async function theDeployment(ctx: Ctx<unknown, unknown>): Promise<Deployment> {
  const d = await getDeployment(ctx.app.db.orm, ctx.params.id ?? "");
  if (!d) throw new ApiError(404, "not_found", "Deployment not found.");
  return d;
}

async function asJson(app: App, d: Deployment) {
  return deploymentJson(d, d.status === "live" ? ((await hostsOf(app, d.projectId))?.url ?? null) : null);
}

/** Seconds between keep-alive comments on a quiet stream (proxies and Bun's idle timeout cut silent ones). */
const KEEPALIVE_MS = 5000;

/**
 * A deployment's log as a stream: Server-Sent Events when asked for (`Accept: text/event-stream`;
 * events `line`, `status`, `end`), else plain text, one line per log line. It carries the
 * lines so far, then new ones while the deployment is building, starting or live.
 */
function logStream(app: App, d: Deployment, sse: boolean, follow: boolean): Response {
  const deployer = deployerFor(app);
  const enc = new TextEncoder();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      const send = (s: string) => {
        if (open) controller.enqueue(enc.encode(s));
      };
      const finish = async () => {
        if (!open) return;
        if (sse) {
          const now = await getDeployment(app.db.orm, d.id);
          if (now) send(`event: status\ndata: ${JSON.stringify(await asJson(app, now))}\n\n`);
          send("event: end\ndata: {}\n\n");
        }
        open = false;
        stop();
        controller.close();
      };
      // Where things stand now: a stream opened after a change must not wait for the next one.
      if (sse) void asJson(app, d).then((j) => send(`event: status\ndata: ${JSON.stringify(j)}\n\n`));
      const line = (l: LogLine) => send(sse ? `event: line\nid: ${l.n}\ndata: ${JSON.stringify(l)}\n\n` : `${l.text}\n`);
      const keepalive = setInterval(() => send(sse ? ": keep-alive\n\n" : ""), KEEPALIVE_MS);
      // Status changes matter to the panel (building → starting → live) even when no line is written.
      let lastStatus = d.status;
      const poll = sse
        ? setInterval(() => {
            void getDeployment(app.db.orm, d.id).then(async (now) => {
              if (now && now.status !== lastStatus && open) {
                lastStatus = now.status;
                send(`event: status\ndata: ${JSON.stringify(await asJson(app, now))}\n\n`);
              }
            });
          }, 500)
        : null;
      const unwatch = deployer.logs.watch(d.id, { line, end: () => void finish() }, follow && (d.status === "live" || IN_PROGRESS.includes(d.status)));
      stop = () => {
        clearInterval(keepalive);
        if (poll) clearInterval(poll);
        unwatch();
      };
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": sse ? "text/event-stream; charset=utf-8" : "text/plain; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}

export const deployApiRoutes = [
  route({
    method: "POST",
    path: "/api/v1/projects/:id/deployments",
    permission: "project:write",
    kind: "api",
    summary:
      "Deploy the project's working tree: 202 `{id, number, status}`; the build runs in the background (follow it at " +
      "`/api/v1/deployments/:id/logs`). 503 with the reason when Docker or Caddy cannot be reached.",
    tags: ["deploy"],
    responses: { 202: "Queued", 503: "Deployment is not available on this server" },
    handler: async (ctx) => {
      const d = await deployerFor(ctx.app).deploy(ctx.project, actorIdOf(ctx));
      return json({ id: d.id, number: d.number, status: d.status }, 202);
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/projects/:id/deployments",
    permission: "project:read",
    kind: "api",
    summary: "The project's deployments, newest first, with the app's URL and which one is live: `{deployments, live, url}`.",
    tags: ["deploy"],
    handler: async (ctx) => {
      const rows = await listDeployments(ctx.app.db.orm, ctx.project.id);
      const where = await hostsOf(ctx.app, ctx.project.id);
      const live = await liveDeployment(ctx.app.db.orm, ctx.project.id);
      return json({ deployments: rows.map((d) => deploymentJson(d, where?.url ?? null)), live: live?.id ?? null, url: where?.url ?? null });
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/deployments/:id",
    permission: "project:read",
    projectOf: deploymentProject,
    kind: "api",
    summary: "One deployment: `{id, number, status: queued|building|starting|live|failed|stopped|superseded, url, kind, error, createdAt, …}`.",
    tags: ["deploy"],
    handler: async (ctx) => json(await asJson(ctx.app, await theDeployment(ctx))),
  }),
  route({
    method: "GET",
    path: "/api/v1/deployments/:id/logs",
    permission: "project:read",
    projectOf: deploymentProject,
    kind: "api",
    summary:
      "The deployment's log, streamed: the lines so far, then new ones while it builds, starts or is live (the app's output). " +
      "`Accept: text/event-stream` gives Server-Sent Events (`line` `{n, at, text}`, `status`, `end`); otherwise plain text. `?follow=0` stops after the lines so far.",
    tags: ["deploy"],
    handler: async (ctx) => {
      const d = await theDeployment(ctx);
      const sse = (ctx.request.headers.get("accept") ?? "").includes("text/event-stream");
      return logStream(ctx.app, d, sse, ctx.query.follow !== "0");
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/deployments/:id/rollback",
    permission: "project:write",
    projectOf: deploymentProject,
    kind: "api",
    summary: "Make this earlier successful deployment live again: a new deployment re-using its build (202 `{id, number, status}`), health-checked before the switch.",
    tags: ["deploy"],
    responses: { 202: "Queued", 409: "That deployment never went live, is live already, or its build was deleted", 503: "Deployment is not available on this server" },
    handler: async (ctx) => {
      const target = await theDeployment(ctx);
      const d = await deployerFor(ctx.app).rollback(target, ctx.project, actorIdOf(ctx));
      return json({ id: d.id, number: d.number, status: d.status }, 202);
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/deployments/:id/stop",
    permission: "project:write",
    projectOf: deploymentProject,
    kind: "api",
    summary: "Stop a deployment: a queued or building one is cancelled; the live one is taken offline (its route removed, its container stopped).",
    tags: ["deploy"],
    responses: { 200: "Stopped (the deployment)", 409: "It has already ended" },
    handler: async (ctx) => {
      const d = await theDeployment(ctx);
      await deployerFor(ctx.app).stop(d, actorIdOf(ctx));
      return json(await asJson(ctx.app, (await getDeployment(ctx.app.db.orm, d.id)) ?? d));
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/deployments/:id/restart",
    permission: "project:write",
    projectOf: deploymentProject,
    kind: "api",
    summary: "Restart the live deployment in a fresh container; traffic moves once it passes its health check.",
    tags: ["deploy"],
    responses: { 200: "Restarted (the deployment)", 409: "Not live, or the new container failed its health check (the old one keeps serving)" },
    handler: async (ctx) => {
      const d = await theDeployment(ctx);
      await deployerFor(ctx.app).restart(d, actorIdOf(ctx));
      return json(await asJson(ctx.app, (await getDeployment(ctx.app.db.orm, d.id)) ?? d));
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/deployments/:id",
    permission: "project:write",
    projectOf: deploymentProject,
    kind: "api",
    summary: "Delete an ended deployment with its log and build output (409 while it is live, in progress, or its build serves a live rollback).",
    tags: ["deploy"],
    responses: { 204: "Deleted", 409: "In use" },
    handler: async (ctx) => {
      await deployerFor(ctx.app).remove(await theDeployment(ctx));
      return noContent();
    },
  }),
];
