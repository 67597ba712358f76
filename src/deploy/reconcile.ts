/**
 * At start, make the world match the database: deployments a previous run left half-done are
 * marked failed; every live deployment's container is adopted (found by its labels) or started
 * again; Caddy gets exactly the routes of the live deployments in one change; containers Wove
 * made that belong to nothing live are removed.
 */
import type { App } from "../core/app.ts";
import { deploymentsWithStatus, finishDeployment, IN_PROGRESS, updateDeployment } from "./deployments.ts";
import type { Engine, Router } from "./engine.ts";
import { hostsOf, instanceId, routeFor } from "./pipeline.ts";
import type { Deployer } from "./service.ts";
import { LABEL, type AppRoute } from "./types.ts";

export type ReconcileReport = { interrupted: number; adopted: number; restarted: number; failed: number; removed: number; routes: number };

export async function reconcile(app: App, deployer: Deployer, engine: Engine, router: Router): Promise<ReconcileReport> {
  const orm = app.db.orm;
  const report: ReconcileReport = { interrupted: 0, adopted: 0, restarted: 0, failed: 0, removed: 0, routes: 0 };
  for (const d of await deploymentsWithStatus(orm, IN_PROGRESS)) {
    if (deployer.isInProgress(d.id)) continue;
    await finishDeployment(orm, d.id, "failed", "Wove stopped while this deployment was in progress; deploy again.");
    deployer.logs.write(d.id, "Deployment failed: Wove stopped while this deployment was in progress; deploy again.");
    deployer.logs.close(d.id);
    report.interrupted++;
  }
  // Only this instance's containers: another Wove on the same Docker host keeps its own.
  const mine = instanceId(app);
  const managed = (await engine.listManaged()).filter((c) => c.labels[LABEL.instance] === mine);
  const keep = new Set<string>();
  const routes: AppRoute[] = [];
  const ctx = { app, engine, router, logs: deployer.logs };
  for (const d of await deploymentsWithStatus(orm, ["live"])) {
    const where = await hostsOf(app, d.projectId);
    if (!where) continue;
    const state = d.containerId ? await engine.inspect(d.containerId) : null;
    if (state?.running && state.hostPort) {
      if (state.hostPort !== d.hostPort) await updateDeployment(orm, d.id, { hostPort: state.hostPort });
      keep.add(d.containerId as string);
      deployer.adopt(d.id, d.containerId as string);
      routes.push(routeFor(d.projectId, where.hosts, state.hostPort));
      report.adopted++;
      continue;
    }
    try {
      await deployer.replaceContainer(ctx, d.id, "Wove started and this live app's container was not running; starting it again.");
      const fresh = (await deploymentsWithStatus(orm, ["live"])).find((x) => x.id === d.id);
      if (fresh?.containerId && fresh.hostPort) {
        keep.add(fresh.containerId);
        routes.push(routeFor(d.projectId, where.hosts, fresh.hostPort));
      }
      report.restarted++;
    } catch (e) {
      // Left routed to its old port: Caddy answers 502 until the monitor's next restart works.
      deployer.logs.write(d.id, `Could not start it again: ${(e as Error).message} Retrying with backoff.`);
      if (d.hostPort) routes.push(routeFor(d.projectId, where.hosts, d.hostPort));
      report.failed++;
    }
  }
  await router.replaceAll(routes);
  report.routes = routes.length;
  for (const c of managed) {
    if (keep.has(c.id) || c.labels[LABEL.role] === undefined) continue;
    const owner = c.labels[LABEL.deployment];
    if (owner && deployer.isInProgress(owner)) continue;
    await engine.remove(c.id).catch(() => {});
    report.removed++;
  }
  return report;
}
