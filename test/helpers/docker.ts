/**
 * A Docker Engine for the tests: the one already answering on the socket, or — as root, with
 * Debian's docker.io installed — a `dockerd --storage-driver=vfs` started here and left running
 * for later test files (it logs to a temp file, printed when it fails to come up). Without one,
 * Docker tests skip with a note saying what is missing — except under CI, where that fails.
 *
 * Everything a test creates carries `testLabels()`; `cleanupTestResources` removes it all.
 */
import { existsSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDocker, ping, removeContainer, removeImage, type DockerClient, type PingResult } from "../../src/deploy/docker.ts";
import { LABEL } from "../../src/deploy/types.ts";

export const DOCKER_SOCKET = (process.env.WOVE_DOCKER_SOCKET ?? "/var/run/docker.sock").replace(/^unix:\/\//, "");

/** The label every test resource carries, valued with this process's run id. */
export const TEST_LABEL = "org.wove.test";
export const TEST_RUN = `t${process.pid.toString(36)}${Date.now().toString(36)}`;

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const dockerdPath = Bun.which("dockerd");

/** True when the Docker tests must be skipped (no socket, no way to start dockerd, not in CI). */
export const skipDocker = !existsSync(DOCKER_SOCKET) && !(isRoot && dockerdPath) && !process.env.CI;
if (skipDocker) {
  console.warn(
    `\n[docker] SKIPPED: nothing listens at ${DOCKER_SOCKET} and ${isRoot ? "dockerd is not installed" : "the tests do not run as root to start dockerd"}.` +
      ` Install Docker (Debian: apt-get install docker.io) and start it (dockerd --storage-driver=vfs), or set WOVE_DOCKER_SOCKET.\n`,
  );
}

let ready: Promise<DockerClient | null> | null = null;

/** The Engine to test against, started if need be; null (tests skip) when there is none outside CI. */
export function ensureDocker(): Promise<DockerClient | null> {
  ready ??= connectOrStart();
  return ready;
}

async function connectOrStart(): Promise<DockerClient | null> {
  const client = connectDocker(DOCKER_SOCKET);
  const first = await ping(client);
  if (first.ok) return client;
  if (!isRoot || !dockerdPath) {
    const missing = `${first.reason}; and ${isRoot ? "dockerd is not installed (apt-get install docker.io)" : "the tests are not root, so they cannot start dockerd"}`;
    if (process.env.CI) throw new Error(`Docker is required for these tests (CI is set): ${missing}`);
    console.warn(`[docker] SKIPPED: ${missing}`);
    return null;
  }
  const logFile = join(mkdtempSync(join(tmpdir(), "wove-dockerd-")), "dockerd.log");
  const fd = openSync(logFile, "a");
  const args = [dockerdPath, "--storage-driver=vfs", ...(DOCKER_SOCKET === "/var/run/docker.sock" ? [] : [`--host=unix://${DOCKER_SOCKET}`])];
  const proc = Bun.spawn(args, { stdin: "ignore", stdout: fd, stderr: fd });
  proc.unref(); // left running for the test files after this one
  console.warn(`[docker] started ${args.join(" ")} (pid ${proc.pid}, log ${logFile})`);
  const deadline = Date.now() + 30_000;
  let last: PingResult = first;
  while (Date.now() < deadline) {
    await Bun.sleep(250);
    last = await ping(client, 2000);
    if (last.ok) return client;
    if (proc.exitCode !== null && !existsSync(DOCKER_SOCKET)) break;
  }
  const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-4000) : "";
  throw new Error(`dockerd did not answer within 30 s (${last.ok ? "it answered too late" : last.reason}); its log (${logFile}):\n${log}`);
}

/** Labels for anything a test creates, so cleanup finds it even after a crash. */
export function testLabels(extra: Record<string, string> = {}): Record<string, string> {
  return { [LABEL.managed]: "1", [TEST_LABEL]: TEST_RUN, ...extra };
}

/** Removes this run's containers, networks and images (found by TEST_LABEL), plus any images named in `images`. */
export async function cleanupTestResources(client: DockerClient, images: string[] = []): Promise<void> {
  const filters = { label: [`${TEST_LABEL}=${TEST_RUN}`] };
  for (const c of await client.docker.listContainers({ all: true, filters })) await removeContainer(client, c.Id);
  for (const n of await client.docker.listNetworks({ filters })) await client.docker.getNetwork(n.Id).remove().catch(() => {});
  for (const i of await client.docker.listImages({ filters })) await removeImage(client, i.Id);
  for (const tag of images) await removeImage(client, tag);
}
