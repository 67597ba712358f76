/**
 * A small typed client for the Docker Engine API over dockerode: the handful of calls the deploy
 * pipeline makes, each with errors a person can act on. Every function takes the DockerClient
 * from `connectDocker`; streams (build output, build steps, app logs) arrive as whole lines.
 */
import Docker from "dockerode";
import type { ContainerInspectInfo } from "dockerode";
import { readdirSync } from "node:fs";
import { buildStepOptions, createOptions, Demuxer, LineSplitter, type BuildStepSpec, type LogStream } from "./container.ts";
import { LABEL, type Limits, type RunSpec } from "./types.ts";

export type { LogStream } from "./container.ts";

export type OnLogLine = (line: string, stream: LogStream) => void;

export type DockerClient = { readonly docker: Docker; readonly socketPath: string };

/** A Docker call failed in a way the caller should show as is (the message says what to do). */
export class DockerError extends Error {}

export function connectDocker(socketPath: string): DockerClient {
  return { docker: new Docker({ socketPath }), socketPath };
}

/** The HTTP status of a failed Engine call (dockerode puts it on the error), if any. */
export function dockerStatus(e: unknown): number | undefined {
  const code = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** The daemon's own words from a failed call ("No such image: x") rather than dockerode's prefix. */
export function engineMessage(e: unknown): string {
  const json = (e as { json?: unknown } | null)?.json;
  if (json && typeof json === "object" && typeof (json as { message?: unknown }).message === "string") return (json as { message: string }).message;
  return e instanceof Error ? e.message : String(e);
}

export type PingResult = { ok: true; version: string; apiVersion: string } | { ok: false; reason: string };

/** Whether the Engine answers, with a reason a person can act on when it does not. */
export async function ping(client: DockerClient, timeoutMs = 5000): Promise<PingResult> {
  const where = `Docker is not reachable at ${client.socketPath}`;
  try {
    // @types/dockerode omits version()'s options, but dockerode passes abortSignal through.
    const version = client.docker.version as unknown as (o: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>;
    const v = await version.call(client.docker, { abortSignal: AbortSignal.timeout(timeoutMs) });
    return { ok: true, version: v.Version, apiVersion: v.ApiVersion };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    if (code === "ENOENT") return { ok: false, reason: `${where}: the socket does not exist (start dockerd, or set WOVE_DOCKER_SOCKET to its socket)` };
    if (code === "ECONNREFUSED") return { ok: false, reason: `${where}: connection refused (dockerd is not running)` };
    if (code === "EACCES" || code === "EPERM") return { ok: false, reason: `${where}: permission denied (run Wove as a user in the docker group)` };
    if (name === "AbortError" || name === "TimeoutError" || code === "ABORT_ERR") return { ok: false, reason: `${where}: no answer within ${timeoutMs / 1000} s` };
    return { ok: false, reason: `${where}: ${engineMessage(e)}` };
  }
}

export async function imageExists(client: DockerClient, tag: string): Promise<boolean> {
  try {
    await client.docker.getImage(tag).inspect();
    return true;
  } catch (e) {
    if (dockerStatus(e) === 404) return false;
    throw e;
  }
}

export type BuildImageOptions = {
  /** RUN steps' network: "none" (the default) or a network that reaches only the package mirror. */
  network?: string;
  dockerfile?: string;
  /** Memory and CPU for the RUN steps (the build API has no pids limit). */
  limits?: Limits;
  signal?: AbortSignal;
};

/**
 * Builds an image from a folder (its .dockerignore honoured) or a ready tar stream, streaming the
 * build's output lines to `onLog`. Throws a DockerError with the daemon's message when a step
 * fails. Returns the image id.
 */
export async function buildImage(
  client: DockerClient,
  context: string | NodeJS.ReadableStream,
  tag: string,
  labels: Record<string, string>,
  onLog: (line: string) => void,
  opts: BuildImageOptions = {},
): Promise<string> {
  const file = typeof context === "string" ? { context, src: readdirSync(context) } : context;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await client.docker.buildImage(file, {
      t: tag,
      labels: { [LABEL.managed]: "1", ...labels },
      rm: true,
      forcerm: true,
      networkmode: opts.network ?? "none",
      ...(opts.dockerfile ? { dockerfile: opts.dockerfile } : {}),
      ...(opts.limits ? { memory: opts.limits.memoryBytes, memswap: opts.limits.memoryBytes, cpuperiod: 100_000, cpuquota: Math.round(opts.limits.cpus * 100_000) } : {}),
      ...(opts.signal ? { abortSignal: opts.signal } : {}),
    });
  } catch (e) {
    throw new DockerError(`docker build of ${tag} could not start: ${engineMessage(e)}`);
  }
  let imageId = "";
  const text = new LineSplitter((line) => onLog(line));
  const failure = await readProgress(stream, onLog, (event) => {
    if (event.stream !== undefined) text.push(event.stream);
    else if (event.aux?.ID) imageId = event.aux.ID;
    else if (event.status && (!event.progressDetail || Object.keys(event.progressDetail).length === 0)) onLog(event.id ? `${event.id}: ${event.status}` : event.status);
  });
  text.end();
  if (failure !== null) throw new DockerError(`docker build of ${tag} failed: ${failure}`);
  return imageId || (await client.docker.getImage(tag).inspect()).Id;
}

export type ProgressEvent = { stream?: string; status?: string; progressDetail?: object; id?: string; error?: string; errorDetail?: { message?: string }; aux?: { ID?: string } };

/** Reads the Engine's JSON-lines progress stream (build, import); resolves with the failure message if a step failed. */
export async function readProgress(stream: NodeJS.ReadableStream, onText: (line: string) => void, onEvent: (e: ProgressEvent) => void): Promise<string | null> {
  let failure: string | null = null;
  const json = new LineSplitter((line) => {
    if (!line.trim()) return;
    let event: ProgressEvent;
    try {
      event = JSON.parse(line) as ProgressEvent;
    } catch {
      return onText(line);
    }
    if (event.error !== undefined || event.errorDetail) failure = event.errorDetail?.message || event.error || "unknown error";
    else onEvent(event);
  });
  for await (const chunk of stream as AsyncIterable<Uint8Array>) json.push(chunk);
  json.end();
  return failure;
}

/** Removes an image by tag or id; an image that is already gone is fine. */
export async function removeImage(client: DockerClient, tag: string): Promise<void> {
  try {
    await client.docker.getImage(tag).remove({ force: true });
  } catch (e) {
    if (dockerStatus(e) !== 404) throw e;
  }
}

const networkLocks = new WeakMap<Docker, Map<string, Promise<string>>>();

/**
 * Makes sure a user-defined bridge network exists; returns its id. Concurrent callers on one
 * client share one attempt; separate clients or processes racing can both create one (the
 * Engine's name check is not atomic), so after creating, every racer keeps the oldest network of
 * that name and removes its own extra.
 */
export function ensureNetwork(client: DockerClient, name: string, labels: Record<string, string>): Promise<string> {
  let locks = networkLocks.get(client.docker);
  if (!locks) networkLocks.set(client.docker, (locks = new Map()));
  const pending = locks.get(name);
  if (pending) return pending;
  const attempt = ensureNetworkOnce(client, name, labels).finally(() => locks.delete(name));
  locks.set(name, attempt);
  return attempt;
}

async function ensureNetworkOnce(client: DockerClient, name: string, labels: Record<string, string>): Promise<string> {
  const existing = await networksNamed(client, name);
  if (existing[0]) return existing[0].Id;
  let created: string;
  try {
    const net = await client.docker.createNetwork({
      Name: name,
      Driver: "bridge",
      CheckDuplicate: true,
      Labels: { [LABEL.managed]: "1", ...labels },
    });
    created = net.id;
  } catch (e) {
    if (dockerStatus(e) !== 409) throw new DockerError(`could not create the Docker network ${name}: ${engineMessage(e)}`);
    const now = await networksNamed(client, name);
    if (!now[0]) throw new DockerError(`could not create the Docker network ${name}: ${engineMessage(e)}`);
    return now[0].Id;
  }
  const all = await networksNamed(client, name);
  const winner = all[0];
  if (winner && winner.Id !== created) {
    await client.docker.getNetwork(created).remove().catch(() => {});
    return winner.Id;
  }
  return created;
}

/** Networks with exactly this name (the Engine's name filter matches substrings), oldest first. */
async function networksNamed(client: DockerClient, name: string): Promise<{ Id: string; Created: string }[]> {
  const list = await client.docker.listNetworks({ filters: { name: [name] } });
  return list
    .filter((n) => n.Name === name)
    .map((n) => ({ Id: n.Id, Created: n.Created ?? "" }))
    .sort((a, b) => (a.Created === b.Created ? a.Id.localeCompare(b.Id) : Date.parse(a.Created) - Date.parse(b.Created)));
}

/** Removes a network by name or id; gone already is fine (a network still in use is an error). */
export async function removeNetwork(client: DockerClient, name: string): Promise<void> {
  try {
    await client.docker.getNetwork(name).remove();
  } catch (e) {
    if (dockerStatus(e) !== 404) throw new DockerError(`could not remove the Docker network ${name}: ${engineMessage(e)}`);
  }
}

/** Last lines a container printed, for error messages about containers that died at once. */
async function tailLogs(client: DockerClient, id: string, lines: number): Promise<string[]> {
  const out: string[] = [];
  try {
    const raw = (await client.docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, tail: lines })) as unknown as Uint8Array;
    const split = new LineSplitter((line) => out.push(line));
    new Demuxer((_s, data) => split.push(data)).push(raw);
    split.end();
  } catch {
    // The logs are only decoration for an error that is already being reported.
  }
  return out;
}

function imageMissing(image: string): DockerError {
  return new DockerError(`the image ${image} does not exist on this Docker host (run "wove images build", or docker load it)`);
}

/**
 * Creates and starts an app container with Wove's isolation rules (see container.ts) and returns
 * its id and the 127.0.0.1 port Docker published its app port on. A container that fails to start
 * or exits at once is removed and reported with its last output.
 */
export async function runContainer(client: DockerClient, spec: RunSpec, allowedRoot: string): Promise<{ id: string; hostPort: number }> {
  const options = createOptions(spec, allowedRoot);
  let container: Docker.Container;
  try {
    container = await client.docker.createContainer(options);
  } catch (e) {
    if (dockerStatus(e) === 404) throw imageMissing(spec.image);
    throw new DockerError(`could not create container ${spec.name}: ${engineMessage(e)}`);
  }
  try {
    await container.start();
    const info = await container.inspect();
    const hostPort = publishedPort(info, spec.port);
    if (hostPort === null) {
      const tail = await tailLogs(client, container.id, 20);
      throw new DockerError(
        `container ${spec.name} exited at once with code ${info.State.ExitCode}${tail.length ? `; its last output:\n${tail.join("\n")}` : " and printed nothing"}`,
      );
    }
    return { id: container.id, hostPort };
  } catch (e) {
    await container.remove({ force: true }).catch(() => {});
    if (e instanceof DockerError) throw e;
    throw new DockerError(`could not start container ${spec.name}: ${engineMessage(e)}`);
  }
}

function publishedPort(info: ContainerInspectInfo, port: number): number | null {
  const bindings = info.NetworkSettings?.Ports?.[`${port}/tcp`] ?? [];
  const hit = bindings.find((b) => b.HostIp === "127.0.0.1") ?? bindings[0];
  const n = hit ? Number(hit.HostPort) : NaN;
  return Number.isInteger(n) && n > 0 ? n : null;
}

export class BuildStepTimeout extends DockerError {}

export type RunToCompletionOptions = BuildStepSpec & {
  /** `<dataDir>/deployments`: the working copy must be inside it. */
  allowedRoot: string;
  timeoutMs: number;
  onLog: OnLogLine;
  signal?: AbortSignal;
};

/**
 * Runs one build step (install, build) in a throwaway container with the working copy mounted
 * read-write at /app, streaming stdout and stderr lines live. Returns the exit code; a step that
 * runs past `timeoutMs` (or is aborted) is killed and throws. The container is always removed.
 */
export async function runToCompletion(client: DockerClient, opts: RunToCompletionOptions): Promise<number> {
  const options = buildStepOptions(opts, opts.allowedRoot);
  if (opts.signal?.aborted) throw new DockerError(`${opts.cmd.join(" ")} was cancelled`);
  let container: Docker.Container;
  try {
    container = await client.docker.createContainer(options);
  } catch (e) {
    if (dockerStatus(e) === 404) throw imageMissing(opts.image);
    throw new DockerError(`could not create the build container: ${engineMessage(e)}`);
  }
  let stopped: "timeout" | "aborted" | null = null;
  const kill = (why: "timeout" | "aborted") => {
    if (stopped) return;
    stopped = why;
    container.kill().catch(() => {});
  };
  const timer = setTimeout(() => kill("timeout"), opts.timeoutMs);
  const onAbort = () => kill("aborted");
  opts.signal?.addEventListener("abort", onAbort);
  try {
    await container.start().catch((e: unknown) => {
      throw new DockerError(`could not start ${opts.cmd.join(" ")}: ${engineMessage(e)}`);
    });
    const logsDone = pumpLogs(client, container.id, opts.onLog, {}).catch((e: unknown) => opts.onLog(`[wove] the step's output stopped: ${engineMessage(e)}`, "stderr"));
    const exit = (await container.wait()) as { StatusCode: number };
    // Logs end when the container does; don't let a stuck stream hold the step forever.
    await Promise.race([logsDone, Bun.sleep(5000)]);
    if (stopped === "timeout") throw new BuildStepTimeout(`${opts.cmd.join(" ")} timed out after ${Math.round(opts.timeoutMs / 1000)} s and was stopped`);
    if (stopped === "aborted") throw new DockerError(`${opts.cmd.join(" ")} was cancelled`);
    const state = await container.inspect().then((i) => i.State, () => null);
    if (state?.OOMKilled) opts.onLog(`[wove] ${opts.cmd.join(" ")} ran out of memory (limit ${Math.round(opts.limits.memoryBytes / 1024 / 1024)} MiB) and was killed`, "stderr");
    return exit.StatusCode;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    await container.remove({ force: true }).catch(() => {});
  }
}

/** Streams a container's log as lines until it ends (the container stops) or `signal` aborts. */
async function pumpLogs(client: DockerClient, id: string, onLine: OnLogLine, opts: { tail?: number; since?: number; signal?: AbortSignal }): Promise<void> {
  const out = new LineSplitter((line) => onLine(line, "stdout"));
  const err = new LineSplitter((line) => onLine(line, "stderr"));
  const demux = new Demuxer((s, data) => (s === "stderr" ? err : out).push(data));
  try {
    const stream = (await client.docker.getContainer(id).logs({
      follow: true,
      stdout: true,
      stderr: true,
      ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
      ...(opts.since !== undefined ? { since: opts.since } : {}),
      ...(opts.signal ? { abortSignal: opts.signal } : {}),
    })) as unknown as AsyncIterable<Uint8Array>;
    for await (const chunk of stream) demux.push(chunk);
  } catch (e) {
    if (!opts.signal?.aborted) throw e;
  } finally {
    out.end();
    err.end();
  }
}

/**
 * Follows an app container's output until the container stops or `signal` aborts, starting at
 * `since` (unix seconds; 0 = from its start) or else with its last `tail` lines (default 200).
 * Resolves then; rejects if the container does not exist.
 */
export function followLogs(client: DockerClient, id: string, onLine: OnLogLine, signal: AbortSignal, opts: { tail?: number; since?: number } = {}): Promise<void> {
  return pumpLogs(client, id, onLine, opts.since !== undefined ? { since: opts.since, signal } : { tail: opts.tail ?? 200, signal });
}

/** Asks the app to stop (SIGTERM), killing it after `graceSeconds`; stopped or gone already is fine. */
export async function stopContainer(client: DockerClient, id: string, graceSeconds: number): Promise<void> {
  try {
    await client.docker.getContainer(id).stop({ t: Math.max(0, Math.round(graceSeconds)) });
  } catch (e) {
    const status = dockerStatus(e);
    if (status !== 304 && status !== 404) throw new DockerError(`could not stop container ${id.slice(0, 12)}: ${engineMessage(e)}`);
  }
}

/** Removes a container (running or not); one that is gone already, or already being removed, is fine. */
export async function removeContainer(client: DockerClient, id: string): Promise<void> {
  try {
    await client.docker.getContainer(id).remove({ force: true, v: true });
  } catch (e) {
    const status = dockerStatus(e);
    if (status !== 404 && !(status === 409 && /already in progress/i.test(engineMessage(e)))) {
      throw new DockerError(`could not remove container ${id.slice(0, 12)}: ${engineMessage(e)}`);
    }
  }
}

export type ContainerState = {
  id: string;
  name: string;
  image: string;
  running: boolean;
  /** Docker's state word: created, running, paused, restarting, removing, exited, dead. */
  status: string;
  exitCode: number;
  oomKilled: boolean;
  /** Docker's last error for this container (e.g. why it could not start), "" if none. */
  error: string;
  startedAt: string | null;
  finishedAt: string | null;
  restartCount: number;
  labels: Record<string, string>;
  /** The 127.0.0.1 port its first published port is on while it runs. */
  hostPort: number | null;
};

const ZERO_TIME = /^0001-01-01/;

/** A container's state, or null when there is no such container. */
export async function inspectContainer(client: DockerClient, id: string): Promise<ContainerState | null> {
  let info: ContainerInspectInfo;
  try {
    info = await client.docker.getContainer(id).inspect();
  } catch (e) {
    if (dockerStatus(e) === 404) return null;
    throw e;
  }
  const firstPort = Object.keys(info.NetworkSettings?.Ports ?? {})[0];
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    image: info.Config.Image,
    running: info.State.Running,
    status: info.State.Status,
    exitCode: info.State.ExitCode,
    oomKilled: info.State.OOMKilled,
    error: info.State.Error ?? "",
    startedAt: info.State.StartedAt && !ZERO_TIME.test(info.State.StartedAt) ? info.State.StartedAt : null,
    finishedAt: info.State.FinishedAt && !ZERO_TIME.test(info.State.FinishedAt) ? info.State.FinishedAt : null,
    restartCount: info.RestartCount,
    labels: info.Config.Labels ?? {},
    hostPort: firstPort ? publishedPort(info, Number.parseInt(firstPort, 10)) : null,
  };
}

export type ManagedContainer = {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  running: boolean;
  /** created, running, exited, … */
  state: string;
  /** Docker's human summary ("Up 3 minutes", "Exited (1) 2 seconds ago"). */
  status: string;
  hostPort: number | null;
};

/**
 * Every container Wove made (by its managed label), running or not; `having` narrows it to
 * containers with all these label values too (e.g. one Wove instance's, when several share a host).
 */
export async function listManaged(client: DockerClient, having: Record<string, string> = {}): Promise<ManagedContainer[]> {
  const label = [LABEL.managed, ...Object.entries(having).map(([k, v]) => `${k}=${v}`)];
  const list = await client.docker.listContainers({ all: true, filters: { label } });
  return list.map((c) => {
    const port = c.Ports.find((p) => p.IP === "127.0.0.1" && p.PublicPort) ?? c.Ports.find((p) => p.PublicPort);
    return {
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      image: c.Image,
      labels: c.Labels ?? {},
      running: c.State === "running",
      state: c.State,
      status: c.Status,
      hostPort: port?.PublicPort ?? null,
    };
  });
}

