/**
 * One Deployer per App. `startDeploy` (from `wove serve`) reconciles at boot when something is
 * live or was in progress, so apps come back after a restart; otherwise Docker and Caddy are
 * first reached when someone presses Deploy.
 */
import type { App } from "../core/app.ts";
import { deploymentsWithStatus, IN_PROGRESS } from "./deployments.ts";
import { connectorFor } from "./connect.ts";
import { onDomainsChange } from "./domains.ts";
import { Deployer } from "./service.ts";

const deployers = new WeakMap<App, Deployer>();

export function deployerFor(app: App): Deployer {
  let d = deployers.get(app);
  if (!d) {
    const deployer = new Deployer(app, connectorFor(app));
    onDomainsChange(app, (projectId) => deployer.refreshRoute(projectId));
    deployers.set(app, deployer);
    d = deployer;
  }
  return d;
}

/**
 * At boot: when deployments are live (or were cut short), reach Docker and Caddy now — which
 * reconciles (see Deployer.connect). Returns whether deploying works; a failure is logged and
 * retried when someone next deploys.
 */
export async function startDeploy(app: App): Promise<boolean> {
  const deployer = deployerFor(app);
  const active = await deploymentsWithStatus(app.db.orm, ["live", ...IN_PROGRESS]);
  if (active.length === 0) return false;
  try {
    await deployer.connect();
    return true;
  } catch (e) {
    app.log.warn("deployed apps stay offline until Docker and Caddy are reachable", { error: (e as Error).message });
    return false;
  }
}

export async function closeDeploy(app: App): Promise<void> {
  await deployers.get(app)?.close();
  deployers.delete(app);
}
