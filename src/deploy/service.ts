/**
 * The deploy service: takes Deploy / rollback / stop / restart / delete requests, runs each
 * project's deployments one at a time (at most two builds at once on the host), keeps live
 * apps' output flowing into their logs, and restarts a live app whose container died, with
 * backoff. `reconcile` (at start) lives in reconcile.ts.
 */
import { existsSync, rmSync } from "node:fs";
import type { App } from "../core/app.ts";
import type { Project } from "../db/schema.ts";
import { ApiError } from "../lib/errors.ts";
import { recordEvent } from "../events/events.ts";
import { createDeployment, liveDeployment, deploymentsWithStatus, finishDeployment, getDeployment, IN_PROGRESS, switchLive, updateDeployment, deleteDeploymentRow, type Deployment } from "./deployments.ts";
import type { Engine, Router } from "./engine.ts";

/** Docker and Caddy, once reached. */
export type Connection = { engine: Engine; router: Router; close(): Promise<void> };
/** Reaches Docker and Caddy (starting a managed Caddy); throws with a reason a person can act on. */
export type Connector = () => Promise<Connection>;
import { deploymentDir, DeployLogs } from "./logs.ts";
import { build, buildDir, DeployFailure, hostsOf, planOrThrow, routeFor, start, type DeployContext } from "./pipeline.ts";
import type { Plan } from "./types.ts";
import { reconcile } from "./reconcile.ts";

/** Restart waits after a live app's container dies: 1 s, 2 s, 4 s … at most a minute. */
const BACKOFF_MAX_MS = 60_000;
const MONITOR_MS = 3000;
const MAX_PARALLEL_BUILDS = 2;

class Slots {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/** The image an already-built deployment runs in: its own (Dockerfile projects) or today's runtime images. */
async function imageOf(ctx: DeployContext, d: Deployment, plan: Plan, say: (line: string) => void): Promise<string> {
  if (plan.kind === "dockerfile") return d.image ?? "";
  const images = await ctx.engine.ensureImages(say);
  return plan.kind === "static" ? images.static : images.runtime;
}

export class Deployer {
  readonly logs: DeployLogs;
  private chains = new Map<string, Promise<void>>();
  private inProgress = new Map<string, AbortController>();
  private followers = new Map<string, AbortController>();
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private backoff = new Map<string, { attempt: number; nextAt: number }>();
  private builds = new Slots(MAX_PARALLEL_BUILDS);
  private monitor: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private connecting: Promise<Connection> | null = null;
  private connection: Connection | null = null;

  constructor(
    readonly app: App,
    /** Docker and Caddy are reached on first need, not at boot: an instance nobody deploys from never starts Caddy. */
    private connector: Connector,
  ) {
    this.logs = new DeployLogs(app.config.dataDir);
  }

  private get engine(): Engine | null {
    return this.connection?.engine ?? null;
  }

  private get router(): Router | null {
    return this.connection?.router ?? null;
  }

  /** Docker and Caddy, reached now if not yet; a failure is answered 503 with its reason and retried next time. */
  async connect(): Promise<DeployContext> {
    if (this.closed) throw new ApiError(503, "deploy_unavailable", "Wove is shutting down.");
    if (!this.connecting) {
      this.connecting = this.connector().then(async (c) => {
        this.connection = c;
        // Once per connection: live apps adopted or restarted, routes rebuilt, leftovers removed.
        const report = await reconcile(this.app, this, c.engine, c.router);
        if (report.interrupted + report.adopted + report.restarted + report.failed + report.removed > 0) this.app.log.info("deployments reconciled", report);
        this.startMonitor();
        return c;
      });
      this.connecting.catch(() => {
        this.connecting = null;
        this.connection = null;
      });
    }
    try {
      const c = await this.connecting;
      return { app: this.app, engine: c.engine, router: c.router, logs: this.logs };
    } catch (e) {
      throw e instanceof ApiError ? e : new ApiError(503, "deploy_unavailable", (e as Error).message);
    }
  }

  /** Why deploying does not work right now, or null when it does. */
  async unavailable(): Promise<string | null> {
    try {
      await this.connect();
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** Runs `job` after the project's earlier jobs (deployments of one project never overlap). */
  private enqueue(projectId: string, job: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(projectId) ?? Promise.resolve()).then(job, job).catch((e) => this.app.log.error("deploy job failed", { projectId, error: String(e) }));
    this.chains.set(projectId, next);
    void next.then(() => {
      if (this.chains.get(projectId) === next) this.chains.delete(projectId);
    });
    return next;
  }

  /** Queues a new deployment of the project's working tree (202: the work happens in the background). */
  async deploy(project: Pick<Project, "id" | "ownerTeamId">, actorId: string | null): Promise<Deployment> {
    await this.connect();
    const d = await createDeployment(this.app.db.orm, project, actorId);
    this.logs.write(d.id, `Deployment #${d.number} queued.`);
    this.inProgress.set(d.id, new AbortController());
    void this.enqueue(project.id, () => this.process(d.id, actorId));
    return d;
  }

  /** Queues a deployment that runs an earlier successful deployment's build again. */
  async rollback(target: Deployment, project: Pick<Project, "id" | "ownerTeamId">, actorId: string | null): Promise<Deployment> {
    await this.connect();
    if (target.liveAt === null || !target.plan) throw new ApiError(409, "not_rollbackable", `Deployment #${target.number} never went live, so there is nothing to roll back to.`);
    if (target.status === "live") throw new ApiError(409, "already_live", `Deployment #${target.number} is already live.`);
    const owner = target.rollbackOf ?? target.id;
    if (!existsSync(buildDir(this.app.config.dataDir, target)) && target.kind !== "dockerfile") {
      throw new ApiError(409, "build_gone", `The build of deployment #${target.number} has been deleted; deploy again instead.`);
    }
    const d = await createDeployment(this.app.db.orm, project, actorId, owner);
    await updateDeployment(this.app.db.orm, d.id, { kind: target.kind, plan: target.plan, image: target.image });
    this.logs.write(d.id, `Deployment #${d.number} queued: a rollback to deployment #${target.number}'s build.`);
    this.inProgress.set(d.id, new AbortController());
    void this.enqueue(project.id, () => this.process(d.id, actorId));
    return (await getDeployment(this.app.db.orm, d.id)) as Deployment;
  }

  private async process(id: string, actorId: string | null): Promise<void> {
    const ac = this.inProgress.get(id) ?? new AbortController();
    const say = (t: string) => this.logs.write(id, t);
    const orm = this.app.db.orm;
    let d = (await getDeployment(orm, id)) as Deployment;
    if (ac.signal.aborted || d.status !== "queued") return this.settle(id);
    const release = await this.builds.take();
    try {
      const ctx = await this.connect();
      await updateDeployment(orm, id, { status: "building", startedAt: Date.now() });
      const started = performance.now();
      let plan: Plan;
      let image: string;
      if (d.rollbackOf) {
        plan = planOrThrow(d);
        image = await imageOf(ctx, d, plan, say);
        say(`Re-using the build of the deployment this rolls back to (${plan.kind}).`);
      } else {
        say("Building…");
        ({ plan, image } = await build(ctx, d, ac.signal));
        say(`Built in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
      }
      release();
      if (ac.signal.aborted) throw new DeployFailure("Stopped.");
      await updateDeployment(orm, id, { status: "starting" });
      d = (await getDeployment(orm, id)) as Deployment;
      const c = await start(ctx, d, plan, image, ac.signal);
      const where = await hostsOf(this.app, d.projectId);
      if (!where) throw new DeployFailure("The project was deleted.");
      await ctx.router.set(routeFor(d.projectId, where.hosts, c.hostPort));
      const before = await switchLive(orm, d.projectId, id, actorId);
      say(`Live at ${where.url} (${((performance.now() - started) / 1000).toFixed(1)} s after the build started).`);
      this.inProgress.delete(id);
      this.followLive(id, c.id, 0);
      if (before) this.retire(before, `superseded by #${d.number}`);
    } catch (e) {
      release();
      const stopped = ac.signal.aborted && !this.closed;
      const message = this.closed
        ? "Wove was stopped while this deployment was in progress; deploy again."
        : e instanceof DeployFailure || e instanceof ApiError
          ? e.message
          : `Unexpected error: ${(e as Error).message}`;
      if (!(e instanceof DeployFailure) && !this.closed) this.app.log.error("deployment failed", { deployment: id, error: String(e) });
      await finishDeployment(orm, id, stopped ? "stopped" : "failed", stopped ? null : message);
      say(stopped ? "Stopped before it went live." : `Deployment failed: ${message}`);
      const live = await deploymentsWithStatus(orm, ["live"]);
      const current = live.find((l) => l.projectId === d.projectId);
      say(current ? `Deployment #${current.number} is still live.` : "Nothing of this project is live.");
      const row = await getDeployment(orm, id);
      if (row?.containerId) await this.engine?.remove(row.containerId).catch(() => {});
      this.settle(id);
    }
  }

  /** Ends a deployment's in-progress bookkeeping and its log stream. */
  private settle(id: string): void {
    this.inProgress.delete(id);
    this.logs.close(id);
  }

  /** Copies a live app's output into its deployment log until the container goes away. */
  private followLive(id: string, containerId: string, since: number): void {
    if (!this.engine) return;
    this.followers.get(id)?.abort();
    const ac = new AbortController();
    this.followers.set(id, ac);
    void this.engine.followLogs(containerId, (l) => this.logs.write(id, `app | ${l}`), ac.signal, since).catch(() => {});
  }

  /** Stops an old deployment's container after the grace period (requests in flight finish first). */
  private retire(d: Deployment, why: string): void {
    const grace = this.app.config.deploy.graceMs;
    this.logs.write(d.id, `No longer live: ${why}. Its container stops in ${Math.round(grace / 1000)} s.`);
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.dispose(d, "Container stopped.");
    }, grace);
    this.timers.add(t);
  }

  private async dispose(d: Deployment, line: string): Promise<void> {
    this.followers.get(d.id)?.abort();
    this.followers.delete(d.id);
    this.backoff.delete(d.id);
    if (d.containerId && this.engine) {
      await this.engine.stop(d.containerId, 5).catch(() => {});
      await this.engine.remove(d.containerId).catch(() => {});
    }
    this.logs.write(d.id, line);
    this.logs.close(d.id);
  }

  /** Stops a deployment: an in-progress one is cancelled; a live one is taken offline. */
  async stop(d: Deployment, actorId: string | null): Promise<void> {
    const running = this.inProgress.get(d.id);
    if (running && IN_PROGRESS.includes(d.status)) {
      this.logs.write(d.id, "Stop requested.");
      running.abort();
      if (d.status === "queued") {
        await finishDeployment(this.app.db.orm, d.id, "stopped");
        this.logs.write(d.id, "Stopped before it started.");
        this.settle(d.id);
      }
      return;
    }
    if (d.status !== "live") throw new ApiError(409, "not_running", `Deployment #${d.number} is ${d.status}; there is nothing to stop.`);
    await this.connect(); // the route and the container must really go, not just the row
    await this.enqueue(d.projectId, async () => {
      const fresh = await getDeployment(this.app.db.orm, d.id);
      if (fresh?.status !== "live") return;
      await this.router?.remove(d.projectId);
      await finishDeployment(this.app.db.orm, d.id, "stopped");
      await recordEvent(this.app.db.orm, { actorId, kind: "deploy.stop", subjectType: "project", subjectId: d.projectId, projectId: d.projectId, data: { deploymentId: d.id } });
      await this.dispose(fresh, "Stopped: the app is offline.");
    });
  }

  /** Replaces a live deployment's container with a fresh one (health-checked, switched without downtime). */
  async restart(d: Deployment, actorId: string | null): Promise<void> {
    if (d.status !== "live") throw new ApiError(409, "not_live", `Deployment #${d.number} is ${d.status}; only the live deployment can be restarted.`);
    const ctx = await this.connect();
    let failure: string | null = null;
    await this.enqueue(d.projectId, async () => {
      try {
        await this.replaceContainer(ctx, d.id, "Restart requested.");
        await recordEvent(this.app.db.orm, { actorId, kind: "deploy.restart", subjectType: "project", subjectId: d.projectId, projectId: d.projectId, data: { deploymentId: d.id } });
      } catch (e) {
        failure = (e as Error).message;
      }
    });
    if (failure) throw new ApiError(409, "restart_failed", `The restart failed: ${failure} The running container was left as it was.`);
  }

  /** A new container for a live deployment; the old one (if any) is removed once traffic has moved. */
  async replaceContainer(ctx: DeployContext, id: string, why: string): Promise<void> {
    const d = (await getDeployment(this.app.db.orm, id)) as Deployment;
    const plan = planOrThrow(d);
    this.logs.write(id, why);
    const image = await imageOf(ctx, d, plan, (l) => this.logs.write(id, l));
    const old = d.containerId;
    const c = await start(ctx, d, plan, image, new AbortController().signal);
    const where = await hostsOf(this.app, d.projectId);
    if (where) await ctx.router.set(routeFor(d.projectId, where.hosts, c.hostPort));
    this.followLive(id, c.id, 0);
    if (old) await ctx.engine.remove(old).catch(() => {});
    this.logs.write(id, `Serving again from container ${c.id.slice(0, 12)}.`);
  }

  /** Deletes an ended deployment with its log and build. */
  async remove(d: Deployment): Promise<void> {
    if (d.status === "live" || IN_PROGRESS.includes(d.status)) throw new ApiError(409, "in_use", `Deployment #${d.number} is ${d.status}; stop it first.`);
    const live = (await deploymentsWithStatus(this.app.db.orm, ["live", ...IN_PROGRESS])).find((x) => x.rollbackOf === d.id);
    if (live) throw new ApiError(409, "in_use", `Deployment #${live.number} runs this deployment's build; stop or replace it first.`);
    this.followers.get(d.id)?.abort();
    if (d.kind === "dockerfile" && d.image && !d.rollbackOf) {
      const { engine } = await this.connect();
      await engine.removeImage(d.image).catch(() => {});
    }
    await deleteDeploymentRow(this.app.db.orm, d.id);
    rmSync(deploymentDir(this.app.config.dataDir, d.id), { recursive: true, force: true });
  }

  /** Re-routes a live app after its hosts changed (a custom domain verified or removed). */
  async refreshRoute(projectId: string): Promise<void> {
    if (!this.router) return; // not connected: the next connection's reconcile routes every host
    const live = await liveDeployment(this.app.db.orm, projectId);
    const where = await hostsOf(this.app, projectId);
    if (live?.hostPort && where) await this.router.set(routeFor(projectId, where.hosts, live.hostPort));
  }

  isInProgress(id: string): boolean {
    return this.inProgress.has(id);
  }

  /** Watches live deployments' containers; a dead one is restarted with backoff. */
  startMonitor(): void {
    if (this.monitor) return;
    this.monitor = setInterval(() => void this.checkLive().catch((e) => this.app.log.warn("deploy monitor", { error: String(e) })), MONITOR_MS);
    this.monitor.unref?.();
  }

  /** One pass of the monitor (also called by tests). */
  async checkLive(): Promise<void> {
    if (!this.engine || !this.router || this.closed) return;
    const ctx = await this.connect();
    for (const d of await deploymentsWithStatus(this.app.db.orm, ["live"])) {
      const state = d.containerId ? await this.engine.inspect(d.containerId) : null;
      if (state?.running) {
        this.backoff.delete(d.id);
        continue;
      }
      const b = this.backoff.get(d.id) ?? { attempt: 0, nextAt: 0 };
      if (Date.now() < b.nextAt) continue;
      b.attempt++;
      b.nextAt = Date.now() + Math.min(BACKOFF_MAX_MS, 1000 * 2 ** (b.attempt - 1));
      this.backoff.set(d.id, b);
      const why = state ? `The app stopped (exit code ${state.exitCode ?? "?"}); restarting (attempt ${b.attempt}).` : `The app's container is gone; starting a new one (attempt ${b.attempt}).`;
      this.app.log.warn("deployed app died", { deployment: d.id, project: d.projectId, attempt: b.attempt });
      await this.enqueue(d.projectId, async () => {
        try {
          await this.replaceContainer(ctx, d.id, why);
          await updateDeployment(this.app.db.orm, d.id, { restarts: d.restarts + 1 });
          await recordEvent(this.app.db.orm, { actorId: null, kind: "deploy.crash_restart", subjectType: "project", subjectId: d.projectId, projectId: d.projectId, data: { deploymentId: d.id, attempt: b.attempt } });
        } catch (e) {
          this.logs.write(d.id, `Restart failed: ${(e as Error).message} Next attempt in ${Math.round((b.nextAt - Date.now()) / 1000)} s.`);
        }
      });
    }
  }

  /** Wove is stopping: cancel builds (they are marked failed), keep live apps running. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.monitor) clearInterval(this.monitor);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ac of this.inProgress.values()) ac.abort();
    await Promise.race([Promise.allSettled([...this.chains.values()]), Bun.sleep(10_000)]);
    for (const ac of this.followers.values()) ac.abort();
    // A managed Caddy stops with Wove; the apps' containers keep running and are adopted next start.
    await this.connection?.close().catch(() => {});
  }

  /** For reconcile: the live app's logs are followed again, from now on. */
  adopt(id: string, containerId: string): void {
    this.followLive(id, containerId, Math.floor(Date.now() / 1000));
  }
}
