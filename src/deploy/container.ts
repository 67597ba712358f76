/**
 * What a user container is allowed to be. Every app and build container Wove starts is created
 * from these options, so the isolation rules (OWASP Docker cheat sheet, DESIGN.md) live in one
 * place: no swap, CPU/pids/nofile limits, a read-only root with a small noexec /tmp, no new
 * privileges, no capabilities, the `nobody` user, and no host path but the one folder the
 * deployment owns — never the Docker socket or Wove's data.
 */
import type { ContainerCreateOptions, HostConfig } from "dockerode";
import { realpathSync } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";
import { LABEL, type Argv, type Limits, type RunSpec } from "./types.ts";

/** The unprivileged user every container runs as (Debian's `nobody:nogroup`). */
export const CONTAINER_USER = "65534:65534";

/** Open files per container (soft = hard, so an app cannot raise it). */
export const NOFILE_LIMIT = 4096;

/** Apps get a small scratch /tmp; builds need room for the package manager's cache. */
export const APP_TMPFS = "rw,noexec,nosuid,size=64m";
export const BUILD_TMPFS = "rw,noexec,nosuid,size=512m";

/** Docker's own log files per container are capped so a chatty app cannot fill the disk. */
const LOG_CONFIG = { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } };

/** Variables Wove sets that project env vars may not replace (the port mapping depends on them). */
const FORCED_ENV = ["PORT", "HOST"] as const;

export class ContainerSpecError extends Error {}

export type LogStream = "stdout" | "stderr";

/**
 * Checks that `dir` is an existing folder strictly inside `allowedRoot` (symlinks resolved), so a
 * spec can never mount Wove's data dir, the Docker socket or anything else on the host. Returns
 * the resolved path, which is what gets mounted.
 */
export function checkMountDir(dir: string, allowedRoot: string): string {
  if (!isAbsolute(dir) || !isAbsolute(allowedRoot)) {
    throw new ContainerSpecError(`mount paths must be absolute (got "${dir}" under "${allowedRoot}")`);
  }
  let real: string;
  let root: string;
  try {
    root = realpathSync(allowedRoot);
  } catch {
    throw new ContainerSpecError(`the deployments folder ${allowedRoot} does not exist`);
  }
  try {
    real = realpathSync(dir);
  } catch {
    throw new ContainerSpecError(`the folder to mount, ${dir}, does not exist`);
  }
  if (real === root || !real.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new ContainerSpecError(`refusing to mount ${dir}: only folders inside ${resolve(allowedRoot)} may be given to a container`);
  }
  return real;
}

/** Docker's `KEY=value` list: Wove's own variables, then the project's (which cannot replace PORT or HOST). */
export function containerEnv(port: number, env: Record<string, string>): string[] {
  const merged: Record<string, string> = { NODE_ENV: "production" };
  for (const [key, value] of Object.entries(env)) {
    if (key === "" || key.includes("=") || key.includes("\0") || value.includes("\0")) {
      throw new ContainerSpecError(`invalid environment variable name or value: "${key.replace(/\0/g, "\\0")}"`);
    }
    if ((FORCED_ENV as readonly string[]).includes(key)) continue;
    merged[key] = value;
  }
  merged.PORT = String(port);
  merged.HOST = "0.0.0.0";
  return Object.entries(merged).map(([k, v]) => `${k}=${v}`);
}

function checkLimits(limits: Limits): void {
  const ok = Number.isFinite(limits.cpus) && limits.cpus > 0 && Number.isInteger(limits.memoryBytes) && limits.memoryBytes >= 6 * 1024 * 1024 && Number.isInteger(limits.pids) && limits.pids > 0;
  if (!ok) throw new ContainerSpecError(`invalid limits: ${JSON.stringify(limits)}`);
}

/** The HostConfig fields shared by app and build containers. */
function isolation(limits: Limits, tmpfs: string): HostConfig {
  checkLimits(limits);
  return {
    Memory: limits.memoryBytes,
    MemorySwap: limits.memoryBytes, // equal to Memory: no swap at all
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: limits.pids,
    Ulimits: [{ Name: "nofile", Soft: NOFILE_LIMIT, Hard: NOFILE_LIMIT }],
    ReadonlyRootfs: true,
    Tmpfs: { "/tmp": tmpfs },
    SecurityOpt: ["no-new-privileges"],
    CapDrop: ["ALL"],
    Privileged: false,
    IpcMode: "private",
    // docker-init as PID 1: it forwards SIGTERM (a bare PID 1 ignores it, so every stop would wait
    // out the grace period and SIGKILL) and reaps zombies the app leaves.
    Init: true,
    LogConfig: LOG_CONFIG,
  };
}

function mergedLabels(labels: Record<string, string>, role: string): Record<string, string> {
  return { [LABEL.managed]: "1", [LABEL.role]: role, ...labels };
}

/**
 * The create options for an app container: published on 127.0.0.1 at a port Docker picks,
 * attached to the project's network, no restart policy (Wove restarts with its own backoff),
 * and the app folder mounted read-only at /app. `allowedRoot` is `<dataDir>/deployments`.
 */
export function createOptions(spec: RunSpec, allowedRoot: string): ContainerCreateOptions {
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) throw new ContainerSpecError(`invalid port ${spec.port}`);
  if (!spec.network || spec.network === "host" || spec.network.startsWith("container:")) {
    throw new ContainerSpecError(`an app container needs its project's own network, not "${spec.network}"`);
  }
  const portKey = `${spec.port}/tcp`;
  const hostConfig: HostConfig = {
    ...isolation(spec.limits, APP_TMPFS),
    PortBindings: { [portKey]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
    RestartPolicy: { Name: "no" },
    NetworkMode: spec.network,
  };
  if (spec.appDir !== null) {
    const source = checkMountDir(spec.appDir, allowedRoot);
    hostConfig.Mounts = [{ Type: "bind", Source: source, Target: "/app", ReadOnly: true }];
  }
  const options: ContainerCreateOptions = {
    name: spec.name,
    Image: spec.image,
    User: CONTAINER_USER,
    Env: containerEnv(spec.port, spec.env),
    Labels: mergedLabels(spec.labels, "app"),
    ExposedPorts: { [portKey]: {} },
    HostConfig: hostConfig,
  };
  if (spec.cmd !== null) options.Cmd = spec.cmd;
  if (spec.appDir !== null) options.WorkingDir = "/app";
  return options;
}

/** A one-off build step: install or build, in the project's working copy. */
export type BuildStepSpec = {
  image: string;
  cmd: Argv;
  /** Host folder mounted read-write at /app (inside `allowedRoot`); must be writable by 65534. */
  appDir: string;
  env: Record<string, string>;
  /** "none" for no network at all, or a network name (e.g. one that reaches only the package mirror). */
  network: string;
  limits: Limits;
  labels: Record<string, string>;
  name?: string;
};

/** The create options for a build container: the same isolation, the working copy writable, no ports. */
export function buildStepOptions(step: BuildStepSpec, allowedRoot: string): ContainerCreateOptions {
  if (!step.network || step.network === "host" || step.network.startsWith("container:")) {
    throw new ContainerSpecError(`a build container needs "none" or a dedicated network, not "${step.network}"`);
  }
  if (step.cmd.length === 0) throw new ContainerSpecError("a build step needs a command");
  const source = checkMountDir(step.appDir, allowedRoot);
  // No NODE_ENV=production here: installs must include devDependencies for the build script.
  const env: Record<string, string> = { HOME: "/tmp", CI: "true", ...step.env };
  const options: ContainerCreateOptions = {
    Image: step.image,
    Cmd: step.cmd,
    User: CONTAINER_USER,
    WorkingDir: "/app",
    Env: Object.entries(env).map(([k, v]) => {
      if (k === "" || k.includes("=") || k.includes("\0") || v.includes("\0")) throw new ContainerSpecError(`invalid environment variable "${k}"`);
      return `${k}=${v}`;
    }),
    Labels: mergedLabels(step.labels, "build"),
    HostConfig: {
      ...isolation(step.limits, BUILD_TMPFS),
      Mounts: [{ Type: "bind", Source: source, Target: "/app", ReadOnly: false }],
      RestartPolicy: { Name: "no" },
      NetworkMode: step.network,
    },
  };
  if (step.name) options.name = step.name;
  return options;
}

/**
 * Splits a byte or text stream into lines: UTF-8 decoded across chunk boundaries, a trailing \r
 * dropped, only the text after the last \r kept (what a terminal would show of a progress bar),
 * and very long lines cut so one runaway line cannot hold the whole log.
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder();
  private buf = "";

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLine = 16_384,
  ) {}

  push(chunk: Uint8Array | string): void {
    this.buf += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      this.line(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
    }
    while (this.buf.length > this.maxLine) {
      this.line(this.buf.slice(0, this.maxLine));
      this.buf = this.buf.slice(this.maxLine);
    }
  }

  end(): void {
    this.buf += this.decoder.decode();
    if (this.buf) this.line(this.buf);
    this.buf = "";
  }

  private line(text: string): void {
    const trimmed = text.endsWith("\r") ? text.slice(0, -1) : text;
    const cr = trimmed.lastIndexOf("\r");
    this.emit(cr >= 0 ? trimmed.slice(cr + 1) : trimmed);
  }
}

/**
 * Docker's multiplexed stdout/stderr stream (containers without a TTY): frames of an 8-byte
 * header (stream type, 3 zero bytes, big-endian length) and a payload. A stream that does not
 * look multiplexed is passed through as stdout.
 */
export class Demuxer {
  private pending = new Uint8Array(0);
  private raw = false;

  constructor(private readonly onFrame: (stream: LogStream, data: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    if (this.raw) return this.onFrame("stdout", chunk);
    const joined = new Uint8Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    let at = 0;
    while (joined.length - at >= 8) {
      const type = joined[at] ?? 0;
      if (type > 2 || joined[at + 1] !== 0 || joined[at + 2] !== 0 || joined[at + 3] !== 0) {
        this.raw = true;
        this.pending = new Uint8Array(0);
        return this.onFrame("stdout", joined.subarray(at));
      }
      const size = new DataView(joined.buffer, joined.byteOffset + at + 4, 4).getUint32(0);
      if (joined.length - at - 8 < size) break;
      this.onFrame(type === 2 ? "stderr" : "stdout", joined.subarray(at + 8, at + 8 + size));
      at += 8 + size;
    }
    this.pending = joined.slice(at);
  }
}
