/**
 * The Engine client against the real dockerd: ping, image builds (and a failing one), networks
 * under a race, build steps with live output, exit codes, timeouts and no network.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupTestResources, ensureDocker, skipDocker, TEST_RUN, testLabels } from "../../test/helpers/docker.ts";
import {
  buildImage,
  BuildStepTimeout,
  connectDocker,
  DockerError,
  ensureNetwork,
  imageExists,
  listManaged,
  ping,
  removeImage,
  removeNetwork,
  runToCompletion,
  type DockerClient,
  type LogStream,
} from "./docker.ts";
import { ensureRuntimeImages } from "./images.ts";

test("ping explains an unreachable socket", async () => {
  const r = await ping(connectDocker("/nonexistent/docker.sock"));
  expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^Docker is not reachable at \/nonexistent\/docker\.sock: the socket does not exist/) });
});

describe.skipIf(skipDocker)("the Engine client", () => {
  let client: DockerClient;
  let runtime: string;
  let base: string;
  let root: string;
  let work: string;
  const limits = { cpus: 1, memoryBytes: 256 * 1024 * 1024, pids: 128 };
  const builtTags: string[] = [];

  beforeAll(async () => {
    const c = await ensureDocker();
    if (!c) throw new Error("Docker is not available");
    client = c;
    runtime = (await ensureRuntimeImages(client, { onLog: () => {} })).runtime;
    base = mkdtempSync(join(tmpdir(), "wove-docker-"));
    root = join(base, "deployments");
    work = join(root, "d1", "app");
    mkdirSync(work, { recursive: true });
    chmodSync(work, 0o777);
  }, 120_000);

  afterAll(async () => {
    if (client) await cleanupTestResources(client, builtTags);
    rmSync(base, { recursive: true, force: true });
  });

  test("ping answers with the Engine's version", async () => {
    expect(await ping(client)).toMatchObject({ ok: true, version: expect.any(String), apiVersion: expect.stringMatching(/^1\.\d+$/) });
  });

  test("buildImage streams the build and tags the image; a failing step throws the daemon's message", async () => {
    const ctx = join(base, "ctx");
    mkdirSync(ctx);
    writeFileSync(join(ctx, "Dockerfile"), `FROM ${runtime}\nCOPY hello.txt /hello.txt\n`);
    writeFileSync(join(ctx, "hello.txt"), "hi");
    writeFileSync(join(ctx, "ignored.txt"), "no");
    writeFileSync(join(ctx, ".dockerignore"), "ignored.txt\n");
    const tag = `wove-test/build-ok:${TEST_RUN}`;
    builtTags.push(tag);
    const lines: string[] = [];
    const started = performance.now();
    const id = await buildImage(client, ctx, tag, testLabels(), (l) => lines.push(l));
    console.log(`[figures] docker build FROM the runtime image + one COPY: ${(performance.now() - started).toFixed(0)} ms`);
    expect(id).toMatch(/^sha256:/);
    expect(lines.some((l) => l.startsWith("Step 2/"))).toBe(true);
    expect(await imageExists(client, tag)).toBe(true);
    expect((await client.docker.getImage(tag).inspect()).Config.Labels).toMatchObject(testLabels());

    writeFileSync(join(ctx, "Dockerfile"), `FROM ${runtime}\nRUN echo about to fail && exit 3\n`);
    const badTag = `wove-test/build-bad:${TEST_RUN}`;
    builtTags.push(badTag);
    const badLines: string[] = [];
    const err = await buildImage(client, ctx, badTag, testLabels(), (l) => badLines.push(l), { limits }).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(DockerError);
    expect(err?.message).toMatch(/docker build of wove-test\/build-bad:\S+ failed: The command '.*' returned a non-zero code: 3/);
    expect(badLines).toContain("about to fail");
    expect(await imageExists(client, badTag)).toBe(false);

    await removeImage(client, tag);
    expect(await imageExists(client, tag)).toBe(false);
    await removeImage(client, tag); // gone already: fine
  }, 120_000);

  test("ensureNetwork is idempotent and converges on one network when clients race", async () => {
    const name = `wove-test-race-${TEST_RUN}`;
    const others = [connectDocker(client.socketPath), connectDocker(client.socketPath), connectDocker(client.socketPath)];
    const ids = await Promise.all([client, client, ...others].map((c) => ensureNetwork(c, name, testLabels())));
    const all = (await client.docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
    expect(all).toHaveLength(1);
    expect(new Set(ids)).toEqual(new Set([all[0]?.Id ?? "missing"]));
    const net = await client.docker.getNetwork(name).inspect();
    expect(net.Driver).toBe("bridge");
    expect(net.Labels).toMatchObject(testLabels());
    expect(await ensureNetwork(client, name, testLabels())).toBe(all[0]?.Id ?? "");
    await removeNetwork(client, name);
    await removeNetwork(client, name); // gone already: fine
  }, 60_000);

  test("runToCompletion streams stdout and stderr live, returns the exit code and writes only to /app", async () => {
    const lines: [string, LogStream][] = [];
    const code = await runToCompletion(client, {
      image: runtime,
      cmd: ["sh", "-c", "echo out one; echo err one >&2; echo built > /app/out.txt; touch /etc/x 2>/dev/null || echo root is read-only; exit 3"],
      appDir: work,
      allowedRoot: root,
      env: { GREETING: "hi" },
      network: "none",
      limits,
      labels: testLabels(),
      timeoutMs: 30_000,
      onLog: (line, stream) => lines.push([line, stream]),
    });
    expect(code).toBe(3);
    expect(lines).toEqual(expect.arrayContaining([["out one", "stdout"], ["err one", "stderr"], ["root is read-only", "stdout"]]));
    expect(readFileSync(join(work, "out.txt"), "utf8")).toBe("built\n");
    // The step's container is gone.
    expect((await listManaged(client, { "org.wove.test": TEST_RUN })).filter((c) => c.labels["org.wove.role"] === "build")).toEqual([]);
  }, 60_000);

  test("runToCompletion: bun runs in the step, with no network at all", async () => {
    writeFileSync(join(work, "net.js"), "console.log(JSON.stringify(Object.keys(require('os').networkInterfaces())), process.getuid(), process.env.HOME)");
    const lines: string[] = [];
    const started = performance.now();
    const code = await runToCompletion(client, { image: runtime, cmd: ["bun", "net.js"], appDir: work, allowedRoot: root, env: {}, network: "none", limits, labels: testLabels(), timeoutMs: 30_000, onLog: (l) => lines.push(l) });
    console.log(`[figures] build step (bun script) end to end: ${(performance.now() - started).toFixed(0)} ms`);
    expect(code).toBe(0);
    expect(lines).toEqual(['["lo"] 65534 /tmp']);
  }, 60_000);

  test("runToCompletion kills a step that runs past its timeout and says so", async () => {
    const lines: string[] = [];
    const started = performance.now();
    const err = await runToCompletion(client, { image: runtime, cmd: ["bun", "-e", "console.log('working'); setTimeout(() => {}, 30000)"], appDir: work, allowedRoot: root, env: {}, network: "none", limits, labels: testLabels(), timeoutMs: 1500, onLog: (l) => lines.push(l) }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(BuildStepTimeout);
    expect(err?.message).toMatch(/^bun -e .* timed out after 2 s and was stopped$/);
    expect(lines).toContain("working");
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 60_000);

  test("runToCompletion refuses a working copy outside the deployments folder and a missing image", async () => {
    const opts = { image: runtime, cmd: ["true"], appDir: base, allowedRoot: root, env: {}, network: "none", limits, labels: testLabels(), timeoutMs: 5000, onLog: () => {} };
    expect(runToCompletion(client, opts)).rejects.toThrow(/only folders inside/);
    expect(runToCompletion(client, { ...opts, appDir: work, image: "wove-test/missing:nope" })).rejects.toThrow(/does not exist on this Docker host/);
  });
});
