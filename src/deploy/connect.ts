/**
 * Reaching the two outside parts a deployment needs: the Docker Engine (dockerode over its
 * socket) and Caddy (Wove's own managed process, or a running one's admin API). The result is
 * the service's `Engine` and `Router`; a failure is one sentence saying what to do.
 */
import { join } from "node:path";
import type { App } from "../core/app.ts";
import { ApiError } from "../lib/errors.ts";
import * as docker from "./docker.ts";
import { ensureRuntimeImages } from "./images.ts";
import type { CaddyClient } from "./caddy.ts";
import { WOVE_SERVER } from "./caddy-config.ts";
import { openCaddy } from "./caddy-process.ts";
import { deploymentsWithStatus } from "./deployments.ts";
import { hostsOf, routeFor } from "./pipeline.ts";
import type { AppRoute } from "./types.ts";
import type { Engine, Router } from "./engine.ts";
import type { Connection, Connector } from "./service.ts";

function unavailable(message: string): ApiError {
  return new ApiError(503, "deploy_unavailable", message);
}

/** The Engine over one Docker client; build folders must lie under `<data>/deployments`. */
export function dockerEngine(client: docker.DockerClient, dataDir: string): Engine {
  const allowedRoot = join(dataDir, "deployments");
  let images: Promise<{ runtime: string; static: string }> | null = null;
  return {
    ensureImages(onLog) {
      // One check-or-build at a time, shared by deployments that ask together. Not kept once done:
      // an admin may remove the images (docker rmi), and the next deploy must build them again.
      if (!images) {
        const building: Promise<{ runtime: string; static: string }> = ensureRuntimeImages(client, { executable: process.execPath, onLog }).then((r) => ({ runtime: r.runtime, static: r.static }));
        images = building;
        void building.then(
          () => (images = null),
          () => (images = null),
        );
      }
      return images;
    },
    ensureNetwork: async (name, labels) => {
      await docker.ensureNetwork(client, name, labels);
    },
    runStep: (o) =>
      docker.runToCompletion(client, {
        image: o.image,
        cmd: o.cmd,
        appDir: o.appDir,
        env: o.env,
        network: o.network,
        limits: o.limits,
        labels: o.labels,
        allowedRoot,
        timeoutMs: o.timeoutMs,
        onLog: (line) => o.onLog(line),
        signal: o.signal,
      }),
    buildImage: async (o) => {
      await docker.buildImage(client, o.dir, o.tag, o.labels, (line) => o.onLog(line), { network: o.network, limits: o.limits, signal: o.signal });
    },
    removeImage: (tag) => docker.removeImage(client, tag),
    run: (spec) => docker.runContainer(client, spec, allowedRoot),
    inspect: async (id) => {
      const s = await docker.inspectContainer(client, id);
      return s ? { running: s.running, exitCode: s.running ? null : s.exitCode, hostPort: s.hostPort } : null;
    },
    stop: (id, grace) => docker.stopContainer(client, id, grace),
    remove: (id) => docker.removeContainer(client, id),
    listManaged: async () => (await docker.listManaged(client)).map((c) => ({ id: c.id, labels: c.labels, running: c.running })),
    followLogs: (id, onLine, signal, since) => docker.followLogs(client, id, (line) => onLine(line), signal, since === undefined ? {} : { since }),
  };
}

export function caddyRouter(caddy: CaddyClient): Router {
  return {
    set: (route) => caddy.setRoute(route),
    remove: async (projectId) => {
      await caddy.removeRoute(projectId);
    },
    replaceAll: (routes) => caddy.applyRoutes(WOVE_SERVER, routes),
  };
}

/** Every live deployment's route, from the database (what Caddy must serve after it restarted from scratch). */
async function liveRoutes(app: App): Promise<AppRoute[]> {
  const routes: AppRoute[] = [];
  for (const d of await deploymentsWithStatus(app.db.orm, ["live"])) {
    const where = await hostsOf(app, d.projectId);
    if (where && d.hostPort) routes.push(routeFor(d.projectId, where.hosts, d.hostPort));
  }
  return routes;
}

export function connectorFor(app: App): Connector {
  const cfg = app.config.deploy;
  return async (): Promise<Connection> => {
    if (cfg.caddy === "off") throw unavailable("Deployment is switched off on this server (WOVE_CADDY=off): apps would have no route. Set WOVE_CADDY=managed or external.");
    const client = docker.connectDocker(cfg.dockerSocket);
    const pinged = await docker.ping(client);
    if (!pinged.ok) throw unavailable(pinged.reason);
    let caddy: Awaited<ReturnType<typeof openCaddy>>;
    try {
      caddy = await openCaddy(cfg, {
        dataDir: app.config.dataDir,
        // A Caddy that came back without its saved routes gets them from the database.
        onRestart: async () => caddy?.client.applyRoutes(WOVE_SERVER, await liveRoutes(app)),
      });
    } catch (e) {
      throw unavailable(cfg.caddy === "external" ? `Caddy's admin API at ${cfg.caddyAdmin ?? "http://127.0.0.1:2019"} is not usable: ${(e as Error).message}` : `Wove could not start Caddy: ${(e as Error).message}`);
    }
    if (!caddy) throw unavailable("Deployment is switched off on this server (WOVE_CADDY=off).");
    const opened = caddy;
    return { engine: dockerEngine(client, app.config.dataDir), router: caddyRouter(opened.client), close: () => opened.stop() };
  };
}
