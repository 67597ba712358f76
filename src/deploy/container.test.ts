/**
 * The isolation rules: the exact create options for app and build containers, the mount checks,
 * the stream parsers — and, against the real Engine, a started app container whose
 * `docker inspect` shows every flag.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupTestResources, ensureDocker, skipDocker, testLabels } from "../../test/helpers/docker.ts";
import { buildStepOptions, checkMountDir, containerEnv, ContainerSpecError, createOptions, Demuxer, LineSplitter } from "./container.ts";
import { ensureNetwork, followLogs, inspectContainer, listManaged, removeContainer, runContainer, stopContainer, type DockerClient } from "./docker.ts";
import { ensureRuntimeImages } from "./images.ts";
import { LABEL, type RunSpec } from "./types.ts";

let base: string;
let root: string;
let appDir: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "wove-container-"));
  root = join(base, "data", "deployments");
  appDir = join(root, "d1", "app");
  mkdirSync(appDir, { recursive: true });
  writeFileSync(join(appDir, "index.html"), "<h1>isolated</h1>");
  chmodSync(appDir, 0o755);
  writeFileSync(join(base, "data", "wove.db"), "");
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

const limits = { cpus: 1, memoryBytes: 512 * 1024 * 1024, pids: 256 };

function spec(over: Partial<RunSpec> = {}): RunSpec {
  return {
    name: "wove-d1",
    image: "wove/static:test",
    cmd: ["bun", "run", "start"],
    env: { DATABASE_URL: "postgres://x", NODE_ENV: "staging" },
    port: 3000,
    appDir,
    network: "wove-p-p1",
    labels: { [LABEL.project]: "p1", [LABEL.deployment]: "d1" },
    limits,
    ...over,
  };
}

describe("createOptions", () => {
  test("the whole options table", () => {
    expect(createOptions(spec(), root)).toEqual({
      name: "wove-d1",
      Image: "wove/static:test",
      Cmd: ["bun", "run", "start"],
      User: "65534:65534",
      WorkingDir: "/app",
      Env: ["NODE_ENV=staging", "DATABASE_URL=postgres://x", "PORT=3000", "HOST=0.0.0.0"],
      Labels: { [LABEL.managed]: "1", [LABEL.role]: "app", [LABEL.project]: "p1", [LABEL.deployment]: "d1" },
      ExposedPorts: { "3000/tcp": {} },
      HostConfig: {
        Memory: 536870912,
        MemorySwap: 536870912,
        NanoCpus: 1_000_000_000,
        PidsLimit: 256,
        Ulimits: [{ Name: "nofile", Soft: 4096, Hard: 4096 }],
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
        SecurityOpt: ["no-new-privileges"],
        CapDrop: ["ALL"],
        Privileged: false,
        IpcMode: "private",
        Init: true,
        LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
        PortBindings: { "3000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
        RestartPolicy: { Name: "no" },
        NetworkMode: "wove-p-p1",
        Mounts: [{ Type: "bind", Source: appDir, Target: "/app", ReadOnly: true }],
      },
    });
  });

  test("a dockerfile image: no mount, its own CMD and working directory", () => {
    const o = createOptions(spec({ appDir: null, cmd: null }), root);
    expect(o.HostConfig?.Mounts).toBeUndefined();
    expect(o.HostConfig?.Binds).toBeUndefined();
    expect("Cmd" in o).toBe(false);
    expect("WorkingDir" in o).toBe(false);
    expect(o.User).toBe("65534:65534");
  });

  test("fractional CPUs become NanoCpus", () => {
    expect(createOptions(spec({ limits: { ...limits, cpus: 0.5 } }), root).HostConfig?.NanoCpus).toBe(500_000_000);
  });

  test("project env vars cannot move the port or the bind address", () => {
    expect(containerEnv(8080, { PORT: "1", HOST: "127.0.0.1", A: "b=c" })).toEqual(["NODE_ENV=production", "A=b=c", "PORT=8080", "HOST=0.0.0.0"]);
    expect(() => containerEnv(1, { "A=B": "x" })).toThrow(ContainerSpecError);
    expect(() => containerEnv(1, { A: "x\0y" })).toThrow(ContainerSpecError);
  });

  test("refuses any mount outside the deployments folder", () => {
    const bad = [
      join(base, "data"), // Wove's data dir
      root, // the deployments folder itself
      join(root, "..", "deployments-other"),
      "/var/run", // where the Docker socket lives
      "/",
      "relative/app",
      join(root, "missing"),
    ];
    mkdirSync(join(base, "data", "deployments-other"), { recursive: true });
    for (const dir of bad) expect(() => createOptions(spec({ appDir: dir }), root)).toThrow(ContainerSpecError);
    // A symlink inside the root that points at the data dir is resolved and refused.
    symlinkSync(join(base, "data"), join(root, "escape"));
    expect(() => checkMountDir(join(root, "escape"), root)).toThrow(/only folders inside/);
    expect(checkMountDir(appDir, root)).toBe(appDir);
  });

  test("refuses host or shared-namespace networking and bad ports or limits", () => {
    for (const network of ["host", "container:abc", ""]) expect(() => createOptions(spec({ network }), root)).toThrow(ContainerSpecError);
    for (const port of [0, 70000, 1.5]) expect(() => createOptions(spec({ port }), root)).toThrow(ContainerSpecError);
    expect(() => createOptions(spec({ limits: { ...limits, pids: 0 } }), root)).toThrow(ContainerSpecError);
  });
});

describe("buildStepOptions", () => {
  test("same isolation, the working copy writable, no ports, a bigger /tmp", () => {
    const o = buildStepOptions({ image: "rt", cmd: ["bun", "install"], appDir, env: { CI: "1" }, network: "none", limits, labels: { [LABEL.deployment]: "d1" } }, root);
    expect(o).toEqual({
      Image: "rt",
      Cmd: ["bun", "install"],
      User: "65534:65534",
      WorkingDir: "/app",
      Env: ["HOME=/tmp", "CI=1"],
      Labels: { [LABEL.managed]: "1", [LABEL.role]: "build", [LABEL.deployment]: "d1" },
      HostConfig: {
        Memory: 536870912,
        MemorySwap: 536870912,
        NanoCpus: 1_000_000_000,
        PidsLimit: 256,
        Ulimits: [{ Name: "nofile", Soft: 4096, Hard: 4096 }],
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": "rw,noexec,nosuid,size=512m" },
        SecurityOpt: ["no-new-privileges"],
        CapDrop: ["ALL"],
        Privileged: false,
        IpcMode: "private",
        Init: true,
        LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
        Mounts: [{ Type: "bind", Source: appDir, Target: "/app", ReadOnly: false }],
        RestartPolicy: { Name: "no" },
        NetworkMode: "none",
      },
    });
    expect(() => buildStepOptions({ image: "rt", cmd: ["sh"], appDir: join(base, "data"), env: {}, network: "none", limits, labels: {} }, root)).toThrow(ContainerSpecError);
    expect(() => buildStepOptions({ image: "rt", cmd: ["sh"], appDir, env: {}, network: "host", limits, labels: {} }, root)).toThrow(ContainerSpecError);
  });
});

describe("stream parsing", () => {
  test("LineSplitter: lines across chunks, UTF-8 split mid-character, CR progress, long lines, the tail", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 8);
    const bytes = new TextEncoder().encode("héllo\nwor");
    s.push(bytes.subarray(0, 2));
    s.push(bytes.subarray(2));
    s.push("ld\r\n10%\r50%\r100%\n0123456789ab");
    s.end();
    expect(lines).toEqual(["héllo", "world", "100%", "01234567", "89ab"]);
  });

  test("Demuxer: frames split anywhere, stdout and stderr apart, a TTY stream passed through", () => {
    const frame = (type: number, text: string) => {
      const body = new TextEncoder().encode(text);
      const f = new Uint8Array(8 + body.length);
      f[0] = type;
      new DataView(f.buffer).setUint32(4, body.length);
      f.set(body, 8);
      return f;
    };
    const all = new Uint8Array([...frame(1, "out1\n"), ...frame(2, "err1\n"), ...frame(1, "out2\n")]);
    const got: string[] = [];
    const d = new Demuxer((s, data) => got.push(`${s}:${new TextDecoder().decode(data)}`));
    for (let i = 0; i < all.length; i += 3) d.push(all.subarray(i, i + 3));
    const text = (stream: string) => got.filter((g) => g.startsWith(`${stream}:`)).map((g) => g.slice(stream.length + 1)).join("");
    expect(text("stdout")).toBe("out1\nout2\n");
    expect(text("stderr")).toBe("err1\n");
    const raw: string[] = [];
    const t = new Demuxer((s, data) => raw.push(`${s}:${new TextDecoder().decode(data)}`));
    t.push(new TextEncoder().encode("plain tty output\n"));
    expect(raw).toEqual(["stdout:plain tty output\n"]);
  });
});

describe.skipIf(skipDocker)("an app container on the real Engine", () => {
  let client: DockerClient;
  let staticImage: string;
  const network = `wove-test-net-${process.pid}`;

  beforeAll(async () => {
    const c = await ensureDocker();
    if (!c) throw new Error("Docker is not available");
    client = c;
    staticImage = (await ensureRuntimeImages(client, { onLog: () => {} })).static;
    await ensureNetwork(client, network, testLabels());
  }, 120_000);

  afterAll(async () => {
    if (client) await cleanupTestResources(client);
  });

  test("docker inspect shows every isolation flag, and the site answers on its loopback port", async () => {
    const started = performance.now();
    const { id, hostPort } = await runContainer(client, spec({ name: `wove-test-${process.pid}`, image: staticImage, cmd: null, labels: testLabels({ [LABEL.deployment]: "d1" }) , network }), root);
    const startMs = performance.now() - started;
    const info = await client.docker.getContainer(id).inspect();
    const h = info.HostConfig;
    expect(h.Memory).toBe(536870912);
    expect(h.MemorySwap).toBe(536870912);
    expect(h.NanoCpus).toBe(1_000_000_000);
    expect(h.PidsLimit).toBe(256);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.Tmpfs).toEqual({ "/tmp": "rw,noexec,nosuid,size=64m" });
    expect(h.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(h.CapDrop).toEqual(["ALL"]);
    expect(h.CapAdd ?? null).toBeNull();
    expect(h.Privileged).toBe(false);
    expect(h.Init).toBe(true);
    expect(h.IpcMode).toBe("private");
    expect(h.Ulimits).toEqual([{ Name: "nofile", Soft: 4096, Hard: 4096 }]);
    expect(h.RestartPolicy?.Name).toBe("no");
    expect(h.NetworkMode).toBe(network);
    expect(h.Binds ?? []).toEqual([]);
    expect(h.PortBindings).toEqual({ "3000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] });
    expect(info.Config.User).toBe("65534:65534");
    expect(info.Mounts).toHaveLength(1);
    expect(info.Mounts[0]).toMatchObject({ Type: "bind", Source: appDir, Destination: "/app", RW: false });
    expect(info.Mounts.some((m) => m.Source.includes("docker.sock"))).toBe(false);
    expect(info.NetworkSettings.Ports["3000/tcp"]?.[0]?.HostIp).toBe("127.0.0.1");
    expect(info.Config.Env).toEqual(expect.arrayContaining(["PORT=3000", "HOST=0.0.0.0", "DATABASE_URL=postgres://x"]));

    let body = "";
    for (let i = 0; i < 50 && !body; i++) {
      body = await fetch(`http://127.0.0.1:${hostPort}/`).then((r) => r.text(), () => "");
      if (!body) await Bun.sleep(50);
    }
    const firstByteMs = performance.now() - started;
    expect(body).toBe("<h1>isolated</h1>");
    console.log(`[figures] app container: created+started in ${startMs.toFixed(0)} ms, first 200 after ${firstByteMs.toFixed(0)} ms`);

    const state = await inspectContainer(client, id);
    expect(state).toMatchObject({ running: true, hostPort, restartCount: 0, status: "running" });
    expect(state?.startedAt).toMatch(/^\d{4}-/);
    const managed = await listManaged(client);
    expect(managed.find((m) => m.id === id)).toMatchObject({ running: true, hostPort, labels: expect.objectContaining({ [LABEL.deployment]: "d1" }) });

    const lines: string[] = [];
    const abort = new AbortController();
    const following = followLogs(client, id, (l) => lines.push(l), abort.signal);
    await fetch(`http://127.0.0.1:${hostPort}/missing`);
    for (let i = 0; i < 40 && !lines.some((l) => l.includes("/missing 404")); i++) await Bun.sleep(50);
    expect(lines).toContain("GET /missing 404");
    expect(lines.some((l) => l.startsWith("wove static server: serving /app"))).toBe(true);
    abort.abort();
    await following;

    const stopping = performance.now();
    await stopContainer(client, id, 5);
    const stopMs = performance.now() - stopping;
    expect(await inspectContainer(client, id)).toMatchObject({ running: false, status: "exited", exitCode: 0 });
    expect(stopMs).toBeLessThan(4000); // SIGTERM reached the server: no waiting out the grace period
    console.log(`[figures] app container: stopped by SIGTERM in ${stopMs.toFixed(0)} ms`);
    await stopContainer(client, id, 2); // stopped already: fine
    await removeContainer(client, id);
    await removeContainer(client, id); // gone already: fine
    expect(await inspectContainer(client, id)).toBeNull();
  }, 60_000);

  test("the container cannot write its root, its app folder, or see the host", async () => {
    const rt = (await ensureRuntimeImages(client, { onLog: () => {} })).runtime;
    writeFileSync(join(appDir, "probe.js"), [
      "const fs = require('fs');",
      "const out = {};",
      "for (const p of ['/probe', '/app/probe', '/tmp/probe']) { try { fs.writeFileSync(p, 'x'); out[p] = 'written'; } catch (e) { out[p] = e.code; } }",
      "out.uid = process.getuid(); out.sock = fs.existsSync('/var/run/docker.sock');",
      "Bun.serve({ port: Number(process.env.PORT), fetch: () => Response.json(out) });",
    ].join("\n"));
    const { id, hostPort } = await runContainer(client, spec({ name: `wove-test-probe-${process.pid}`, image: rt, cmd: ["bun", "probe.js"], labels: testLabels(), network }), root);
    let report: Record<string, unknown> | null = null;
    for (let i = 0; i < 60 && !report; i++) {
      report = await fetch(`http://127.0.0.1:${hostPort}/`).then((r) => r.json() as Promise<Record<string, unknown>>, () => null);
      if (!report) await Bun.sleep(50);
    }
    expect(report).toEqual({ "/probe": "EROFS", "/app/probe": "EROFS", "/tmp/probe": "written", uid: 65534, sock: false });
    await removeContainer(client, id);
  }, 60_000);

  test("a container whose program is missing, or that exits at once, is reported with its output and removed", async () => {
    const rt = (await ensureRuntimeImages(client, { onLog: () => {} })).runtime;
    const cases = [
      { name: `wove-test-nocmd-${process.pid}`, cmd: ["no-such-program"], code: 127, text: "no-such-program" },
      { name: `wove-test-dies-${process.pid}`, cmd: ["sh", "-c", "echo cannot start >&2; exit 7"], code: 7, text: "cannot start" },
    ];
    for (const c of cases) {
      const result = await runContainer(client, spec({ name: c.name, image: rt, cmd: c.cmd, labels: testLabels(), network }), root).then(
        (r) => r,
        (e: Error) => e,
      );
      if (result instanceof Error) {
        expect(result.message).toStartWith(`container ${c.name} exited at once with code ${c.code}; its last output:`);
        expect(result.message).toContain(c.text);
        expect(await inspectContainer(client, c.name)).toBeNull();
      } else {
        // On a busy host the inspect can beat the exit; then the caller's health check sees it die.
        for (let i = 0; i < 100 && (await inspectContainer(client, result.id))?.running; i++) await Bun.sleep(50);
        expect(await inspectContainer(client, result.id)).toMatchObject({ running: false, exitCode: c.code });
        await removeContainer(client, result.id);
      }
    }
  }, 60_000);
});
