/**
 * `wove images build [--data DIR] [--force]`: makes the local images deployments run in — the
 * Bun/JS runtime and the static-site server — from this very executable and the host's libc, with
 * no registry (src/deploy/images.ts). Wove also builds them on the first deploy; running this
 * ahead of time (after installing or upgrading Wove) keeps that first deploy fast.
 */
import type { Config } from "../config.ts";
import { connectDocker, DockerError, ping } from "../deploy/docker.ts";
import { ensureRuntimeImages, RuntimeImageError } from "../deploy/images.ts";
import type { CommandSpec } from "./args.ts";

export const IMAGES_COMMANDS: Record<string, CommandSpec> = {
  "images build": {
    usage: "wove images build [--data DIR] [--force]",
    summary:
      "Build the local images deployments run in (wove/runtime-bun and wove/static) from this executable, with no registry. " +
      "Uses the Docker socket from WOVE_DOCKER_SOCKET (default /var/run/docker.sock). Images for projects with their own " +
      "Dockerfile come from the admin: docker load them on this host.",
    flags: {
      data: { type: "string", help: "Data directory (env WOVE_DATA_DIR; default ./data)", placeholder: "DIR" },
      force: { type: "boolean", help: "Rebuild the images even when they exist" },
    },
  },
};

export type ImagesBuildOptions = {
  force?: boolean;
  /** The executable to build from; default the one running now. */
  executable?: string;
  print?: (line: string) => void;
  printError?: (line: string) => void;
};

/** Runs the command; returns the exit code (1 when Docker is unreachable or a build fails). */
export async function imagesBuild(config: Config, opts: ImagesBuildOptions = {}): Promise<number> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const printError = opts.printError ?? ((line: string) => console.error(line));
  const client = connectDocker(config.deploy.dockerSocket);
  const reachable = await ping(client);
  if (!reachable.ok) {
    printError(`wove: ${reachable.reason}`);
    return 1;
  }
  print(`Docker ${reachable.version} (API ${reachable.apiVersion}) at ${config.deploy.dockerSocket}`);
  const started = performance.now();
  try {
    const images = await ensureRuntimeImages(client, { executable: opts.executable, force: opts.force === true, onLog: (line) => print(`  ${line}`) });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    print(images.built.length > 0 ? `Built ${images.built.length} image${images.built.length === 1 ? "" : "s"} in ${seconds} s.` : "Both images are already built (use --force to rebuild).");
    print(`runtime: ${images.runtime}`);
    print(`static:  ${images.static}`);
    return 0;
  } catch (e) {
    if (!(e instanceof DockerError || e instanceof RuntimeImageError)) throw e;
    printError(`wove: ${e.message}`);
    return 1;
  }
}
