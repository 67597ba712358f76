/** `wove images build`: a clear exit 1 without Docker, the two tags with it. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { runtimeImageTag, staticImageTag } from "../deploy/images.ts";
import { DOCKER_SOCKET, ensureDocker, skipDocker } from "../../test/helpers/docker.ts";
import { parseFlags } from "./args.ts";
import { IMAGES_COMMANDS, imagesBuild } from "./images.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "wove-images-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(socket: string, force = false) {
  const out: string[] = [];
  const err: string[] = [];
  const config = loadConfig({ data: dir }, { WOVE_DOCKER_SOCKET: socket });
  return imagesBuild(config, { force, print: (l) => out.push(l), printError: (l) => err.push(l) }).then((code) => ({ code, out, err }));
}

test("the command's flags", () => {
  const spec = IMAGES_COMMANDS["images build"];
  if (!spec) throw new Error("missing spec");
  expect(parseFlags(["--data", dir, "--force"], spec)).toEqual({ data: dir, force: true });
  expect(() => parseFlags(["--force=yes"], spec)).toThrow("--force takes no value");
});

test("exits 1 with the reason when Docker is unreachable", async () => {
  const r = await run("/nonexistent/docker.sock");
  expect(r.code).toBe(1);
  expect(r.out).toEqual([]);
  expect(r.err).toEqual(["wove: Docker is not reachable at /nonexistent/docker.sock: the socket does not exist (start dockerd, or set WOVE_DOCKER_SOCKET to its socket)"]);
});

describe.skipIf(skipDocker)("with Docker", () => {
  test("prints progress and the two tags", async () => {
    if (!(await ensureDocker())) throw new Error("Docker is not available");
    await run(DOCKER_SOCKET); // builds them if this is the first test to need them
    const r = await run(DOCKER_SOCKET);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^Docker \S+ \(API 1\.\d+\) at /);
    expect(r.out.slice(-3)).toEqual(["Both images are already built (use --force to rebuild).", `runtime: ${runtimeImageTag()}`, `static:  ${staticImageTag()}`]);
  }, 120_000);
});
