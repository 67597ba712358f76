/**
 * One deployment from press to live: snapshot the working tree, decide the plan, build in a
 * throw-away container with no network (or only the package mirror), start the app container
 * with Wove's isolation rules, wait for its health check, then switch the route — the previous
 * deployment keeps serving until that moment, and keeps serving if anything before it fails.
 */
import { chmodSync, cpSync, existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { App } from "../core/app.ts";
import { hmac } from "../lib/crypto.ts";
import { getProject, ownerHandle } from "../projects/projects.ts";
import { filesDir, flushPendingEdits } from "../projects/files.ts";
import { envForDeploy, keyRing } from "../projects/env.ts";
import { detectDeploy } from "./detect.ts";
import { readLimits } from "./limits.ts";
import { verifiedHosts } from "./domains.ts";
import { appHost, appUrl } from "./hosts.ts";
import { deploymentDir, type DeployLogs } from "./logs.ts";
import { planOf, updateDeployment, type Deployment } from "./deployments.ts";
import type { Engine, Router } from "./engine.ts";
import { LABEL, type AppRoute, type Limits, type Plan, type RunSpec } from "./types.ts";

export type DeployContext = { app: App; engine: Engine; router: Router; logs: DeployLogs };

/** A step that failed in a way the user can act on; its message ends up on the deployment. */
export class DeployFailure extends Error {}

const BUILD_TIMEOUT_MS = 15 * 60_000;
const HEALTH_INTERVAL_MS = 100;

export const networkName = (projectId: string) => `wove-p-${projectId}`;
/** Unique per start: a restarted deployment's new container runs beside the old one until traffic has moved. */
export const containerName = (deploymentId: string) => `wove-${deploymentId}-${Date.now().toString(36)}`;
export const appImageTag = (projectId: string, number: number) => `wove-app-${projectId}:${number}`;

/** The deployment whose build output a deployment runs: itself, or the one it rolled back to. */
export const buildOwner = (d: Deployment) => d.rollbackOf ?? d.id;
export const buildDir = (dataDir: string, d: Deployment) => join(deploymentDir(dataDir, buildOwner(d)), "app");

/** This Wove's mark on Docker objects: derived from the instance secret, so it survives restarts and differs between instances. */
export function instanceId(app: App): string {
  return hmac(app.secret, "deploy-instance").slice(0, 16);
}

export function labelsFor(app: App, d: Pick<Deployment, "id" | "projectId">, role: "app" | "build"): Record<string, string> {
  return { [LABEL.managed]: "1", [LABEL.instance]: instanceId(app), [LABEL.project]: d.projectId, [LABEL.deployment]: d.id, [LABEL.role]: role };
}

/** Hosts and URL of a project's app. */
export async function hostsOf(app: App, projectId: string): Promise<{ hosts: string[]; url: string } | null> {
  const project = await getProject(app.db.orm, projectId);
  if (!project) return null;
  const main = appHost(app.config.deploy, project.slug, await ownerHandle(app.db.orm, project));
  return { hosts: [main, ...(await verifiedHosts(app, projectId))], url: appUrl(app.config.deploy, main) };
}

/** Copies the working tree (not git's own folder) and opens it to the unprivileged build user. */
function snapshot(from: string, to: string): number {
  rmSync(to, { recursive: true, force: true });
  let files = 0;
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = relative(from, src);
      if (rel === ".git" || rel.startsWith(`.git${sep}`)) return false;
      if (statSync(src).isFile()) files++;
      return true;
    },
  });
  openToBuildUser(to);
  return files;
}

/** Build containers run as uid 65534; the folder is private to Wove's data dir, so opening its own modes is safe. */
function openToBuildUser(dir: string): void {
  chmodSync(dir, 0o777);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) openToBuildUser(p);
    else if (e.isFile()) chmodSync(p, 0o666 | (statSync(p).mode & 0o111));
  }
}

/** What a build step may reach: nothing, or the package mirror through the project's network. */
function buildNetwork(app: App, projectId: string): { network: string; env: Record<string, string> } {
  const mirror = app.config.deploy.mirror;
  if (!mirror) return { network: "none", env: {} };
  return { network: networkName(projectId), env: { npm_config_registry: mirror, BUN_CONFIG_REGISTRY: mirror } };
}

async function step(ctx: DeployContext, d: Deployment, name: string, argv: string[], image: string, limits: Limits, signal: AbortSignal): Promise<void> {
  const say = (t: string) => ctx.logs.write(d.id, t);
  const net = buildNetwork(ctx.app, d.projectId);
  say(`$ ${argv.join(" ")}`);
  const started = performance.now();
  const code = await ctx.engine.runStep({
    image,
    cmd: argv,
    appDir: buildDir(ctx.app.config.dataDir, d),
    env: net.env,
    network: net.network,
    limits,
    labels: labelsFor(ctx.app, d, "build"),
    timeoutMs: BUILD_TIMEOUT_MS,
    onLog: say,
    signal,
  });
  if (code !== 0) {
    const hint = name === "install" && net.network === "none" ? " Builds have no network here: commit node_modules, or ask the admin to set WOVE_DEPLOY_MIRROR." : "";
    throw new DeployFailure(`The ${name} step (${argv.join(" ")}) exited with code ${code}.${hint}`);
  }
  say(`(${name} took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

/** Builds the deployment's output; returns the plan and the image the app runs in. */
export async function build(ctx: DeployContext, d: Deployment, signal: AbortSignal): Promise<{ plan: Plan; image: string }> {
  const { app, engine, logs } = ctx;
  const say = (t: string) => logs.write(d.id, t);
  await flushPendingEdits(app.config.dataDir, d.projectId);
  const dir = buildDir(app.config.dataDir, d);
  const files = snapshot(filesDir(app.config.dataDir, d.projectId), dir);
  say(`Copied the project's ${files} file${files === 1 ? "" : "s"}.`);
  const detection = await detectDeploy(dir);
  if (!detection.ok) throw new DeployFailure(detection.reason);
  const plan = detection.plan;
  for (const n of plan.notes) say(`• ${n}`);
  await updateDeployment(app.db.orm, d.id, { kind: plan.kind, plan: JSON.stringify(plan) });
  const images = await engine.ensureImages(say);
  const limits = await readLimits(app);
  if (app.config.deploy.mirror) await engine.ensureNetwork(networkName(d.projectId), labelsFor(ctx.app, d, "build"));
  if (plan.kind === "dockerfile") {
    const tag = appImageTag(d.projectId, d.number);
    say(`Building the project's Dockerfile as ${tag}…`);
    await engine.buildImage({ dir, tag, labels: labelsFor(ctx.app, d, "build"), network: buildNetwork(app, d.projectId).network, limits, onLog: say, signal });
    return { plan, image: tag };
  }
  if (plan.install) {
    if (existsSync(join(dir, "node_modules")) && !app.config.deploy.mirror) say("node_modules is part of the project; using it as it is (no package mirror is configured).");
    else await step(ctx, d, "install", plan.install, images.runtime, limits, signal);
  }
  if (plan.build) await step(ctx, d, "build", plan.build, images.runtime, limits, signal);
  if (plan.kind === "static") {
    const site = join(dir, plan.staticDir ?? ".");
    if (!existsSync(join(site, "index.html"))) throw new DeployFailure(`There is no index.html in ${plan.staticDir ?? "the project's root"} after the build.`);
    return { plan, image: images.static };
  }
  return { plan, image: images.runtime };
}

/** The container a built deployment runs as. */
export async function runSpecFor(app: App, d: Deployment, plan: Plan, image: string): Promise<RunSpec> {
  const dir = buildDir(app.config.dataDir, d);
  const env = await envForDeploy(app.db.orm, keyRing(app.secret, app.config.dataDir), d.projectId);
  return {
    name: containerName(d.id),
    image,
    cmd: plan.kind === "static" ? null : plan.start,
    env,
    port: plan.port,
    appDir: plan.kind === "dockerfile" ? null : plan.kind === "static" ? join(dir, plan.staticDir ?? ".") : dir,
    network: networkName(d.projectId),
    labels: labelsFor(app, d, "app"),
    limits: await readLimits(app),
  };
}

/**
 * Waits until GET <path> on the container's loopback port answers 2xx or 3xx. Fails early when
 * the container exits, and at the plan's timeout.
 */
export async function waitHealthy(ctx: DeployContext, d: Deployment, containerId: string, hostPort: number, plan: Plan, signal: AbortSignal): Promise<number> {
  const started = performance.now();
  const url = `http://127.0.0.1:${hostPort}${plan.health.path}`;
  let last = "no answer yet";
  while (performance.now() - started < plan.health.timeoutMs) {
    if (signal.aborted) throw new DeployFailure("Stopped while starting.");
    try {
      const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(Math.min(2000, plan.health.timeoutMs)) });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 400) return performance.now() - started;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    const state = await ctx.engine.inspect(containerId);
    if (state && !state.running) throw new DeployFailure(`The app exited with code ${state.exitCode ?? "?"} before it answered its health check (GET ${plan.health.path}).`);
    await Bun.sleep(HEALTH_INTERVAL_MS);
  }
  throw new DeployFailure(`The app did not answer GET ${plan.health.path} with a 2xx or 3xx within ${Math.round(plan.health.timeoutMs / 1000)} s (last: ${last}).`);
}

/** Starts the deployment's container and waits for its health check; the caller switches. */
export async function start(ctx: DeployContext, d: Deployment, plan: Plan, image: string, signal: AbortSignal): Promise<{ id: string; hostPort: number }> {
  const say = (t: string) => ctx.logs.write(d.id, t);
  const spec = await runSpecFor(ctx.app, d, plan, image);
  await ctx.engine.ensureNetwork(spec.network, { [LABEL.managed]: "1", [LABEL.instance]: instanceId(ctx.app), [LABEL.project]: d.projectId });
  const c = await ctx.engine.run(spec);
  await updateDeployment(ctx.app.db.orm, d.id, { containerId: c.id, hostPort: c.hostPort, image });
  say(`Started container ${c.id.slice(0, 12)} (${spec.limits.cpus} CPU, ${Math.round(spec.limits.memoryBytes / 1024 ** 2)} MB, ${spec.limits.pids} processes); checking GET ${plan.health.path}…`);
  const follow = new AbortController();
  const stopFollowing = () => follow.abort();
  signal.addEventListener("abort", stopFollowing, { once: true });
  void ctx.engine.followLogs(c.id, (l) => say(`app | ${l}`), follow.signal).catch(() => {});
  try {
    const ms = await waitHealthy(ctx, d, c.id, c.hostPort, plan, signal);
    say(`Healthy after ${(ms / 1000).toFixed(2)} s.`);
    return c;
  } catch (e) {
    follow.abort();
    await ctx.engine.remove(c.id).catch(() => {});
    throw e;
  } finally {
    signal.removeEventListener("abort", stopFollowing);
    // Live app output is followed by the service from here on (one follower per container).
    follow.abort();
  }
}

export function routeFor(projectId: string, hosts: string[], hostPort: number): AppRoute {
  return { projectId, hosts, upstream: `127.0.0.1:${hostPort}` };
}

export function planOrThrow(d: Deployment): Plan {
  const plan = planOf(d);
  if (!plan) throw new DeployFailure(`Deployment #${d.number} has no recorded plan.`);
  return plan;
}
