/**
 * What the deploy service needs from the container engine and from the router, as two small
 * interfaces. The service is written against these; `docker.ts` and `caddy.ts` provide them.
 */
import type { AppRoute, Argv, Limits, RunSpec } from "./types.ts";

export type StepOptions = {
  image: string;
  cmd: Argv;
  /** Host folder mounted read-write at /app, the step's working directory. */
  appDir: string;
  env: Record<string, string>;
  /** "none" for no network; a network name when the build may reach the package mirror. */
  network: string;
  limits: Limits;
  labels: Record<string, string>;
  timeoutMs: number;
  onLog: (line: string) => void;
  signal?: AbortSignal;
};

export type ContainerState = { running: boolean; exitCode: number | null; hostPort: number | null };

export type ManagedContainer = { id: string; labels: Record<string, string>; running: boolean };

export interface Engine {
  /** Builds the runtime images when missing; returns their tags. */
  ensureImages(onLog: (line: string) => void): Promise<{ runtime: string; static: string }>;
  ensureNetwork(name: string, labels: Record<string, string>): Promise<void>;
  /** Runs one build step to completion; resolves with its exit code. */
  runStep(o: StepOptions): Promise<number>;
  /** `docker build` of a folder with its own Dockerfile. */
  buildImage(o: { dir: string; tag: string; labels: Record<string, string>; network: string; limits: Limits; onLog: (line: string) => void; signal?: AbortSignal }): Promise<void>;
  removeImage(tag: string): Promise<void>;
  run(spec: RunSpec): Promise<{ id: string; hostPort: number }>;
  inspect(id: string): Promise<ContainerState | null>;
  stop(id: string, graceSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
  listManaged(): Promise<ManagedContainer[]>;
  /** Streams a container's output since a unix time in seconds (0 = from its start) until it exits or the signal aborts. */
  followLogs(id: string, onLine: (line: string) => void, signal: AbortSignal, since?: number): Promise<void>;
}

export interface Router {
  /** Points a project's hosts at an upstream (one atomic change: the zero-downtime switch). */
  set(route: AppRoute): Promise<void>;
  remove(projectId: string): Promise<void>;
  /** Makes Wove's routes exactly these (at start, from the database). */
  replaceAll(routes: AppRoute[]): Promise<void>;
}
