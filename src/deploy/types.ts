/**
 * The shapes the deploy pieces hand each other: what detection decides (a Plan), what a
 * container is asked to be (a RunSpec), and what routing needs to know (an AppRoute).
 */

export type DeployKind = "static" | "bun" | "dockerfile";

export type DeployStatus = "queued" | "building" | "starting" | "live" | "failed" | "stopped" | "superseded";

/** A command as argv (no shell is involved in starting it; `sh -c` is spelled out when wanted). */
export type Argv = string[];

export type HealthCheck = {
  /** Path requested with GET; any 2xx or 3xx answer counts as healthy. */
  path: string;
  /** How long the new deployment has to answer before it is marked failed. */
  timeoutMs: number;
};

/** What to do with a project, decided from its files and its `wove.toml`. */
export type Plan = {
  kind: DeployKind;
  /** Run in the build container, in /app, before `build` (e.g. ["bun", "install"]); null = nothing to install. */
  install: Argv | null;
  /** The build step (e.g. ["bun", "run", "build"]); null = none. */
  build: Argv | null;
  /** The app's command (bun kind). Static sites are served by the static-site server image; dockerfile uses its CMD unless set. */
  start: Argv | null;
  /** Static sites: the folder, relative to the project root after the build, that holds index.html. */
  staticDir: string | null;
  /** The port the app listens on inside its container (it is also given as PORT). */
  port: number;
  health: HealthCheck;
  /** Why each choice was made, for the build log ("start: package.json scripts.start"). */
  notes: string[];
};

export type Detection = { ok: true; plan: Plan } | { ok: false; reason: string };

/** Per-deployment resource limits (the admin's "plan" limits). */
export type Limits = { cpus: number; memoryBytes: number; pids: number };

/** Everything needed to create one app container with Wove's isolation rules. */
export type RunSpec = {
  /** Container name, unique per start: `wove-<deploymentId>-<time>`. */
  name: string;
  image: string;
  /** null = the image's own CMD (dockerfile projects). */
  cmd: Argv | null;
  env: Record<string, string>;
  /** The app's port inside the container; published on 127.0.0.1 at a port Docker picks. */
  port: number;
  /** Host folder mounted read-only at /app (build output); null for dockerfile images. */
  appDir: string | null;
  /** Docker network to attach (one per project: `wove-p-<projectId>`). */
  network: string;
  labels: Record<string, string>;
  limits: Limits;
};

/** What Caddy must route: every host of a project to the live deployment's loopback port. */
export type AppRoute = {
  projectId: string;
  /** `<slug>-<owner>.<appsDomain>` plus verified custom domains. */
  hosts: string[];
  /** `127.0.0.1:<host port>` */
  upstream: string;
};

/** Labels on every container and image Wove makes, so a restarted Wove can find its own. */
export const LABEL = {
  managed: "org.wove.managed",
  /** Which Wove made it: several instances may share one Docker host, and each reconciles only its own. */
  instance: "org.wove.instance",
  project: "org.wove.project",
  deployment: "org.wove.deployment",
  role: "org.wove.role", // "app" | "build"
} as const;
