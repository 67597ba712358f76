/**
 * The offline runtime images: tags that follow the executable's content, the tar the root
 * filesystem is streamed as, and — against the real Engine — building, reusing and running them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VERSION } from "../cli/version.ts";
import { ensureDocker, skipDocker, testLabels } from "../../test/helpers/docker.ts";
import { removeImage, runToCompletion, type DockerClient } from "./docker.ts";
import { ensureRuntimeImages, runtimeImageTag, sharedLibraries, staticImageTag, tarStream } from "./images.ts";

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "wove-images-"));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("tags and the root filesystem", () => {
  test("tags carry the version and a content hash of the executable", () => {
    const rt = runtimeImageTag();
    const st = staticImageTag();
    expect(rt).toMatch(new RegExp(`^wove/runtime-bun:${VERSION.replace(/\./g, "\\.")}-[0-9a-f]{12}$`));
    expect(st).toMatch(new RegExp(`^wove/static:${VERSION.replace(/\./g, "\\.")}-[0-9a-f]{12}$`));
    expect(runtimeImageTag(process.execPath)).toBe(rt);
    // Same bytes, same tag; one byte different (a new Wove binary), new tag.
    const a = join(base, "a");
    writeFileSync(a, "binary one");
    const first = runtimeImageTag(a);
    writeFileSync(join(base, "b"), "binary one");
    expect(runtimeImageTag(join(base, "b"))).toBe(first);
    writeFileSync(a, "binary two");
    utimesSync(a, new Date(), new Date(Date.now() + 5000));
    expect(runtimeImageTag(a)).not.toBe(first);
  });

  test("sharedLibraries lists the loader and libc with absolute paths", () => {
    const libs = sharedLibraries(process.execPath);
    expect(libs.some((l) => /\/libc\.so\.6$/.test(l))).toBe(true);
    expect(libs.some((l) => /\/ld-linux[^/]*\.so\.\d$/.test(l))).toBe(true);
    expect(libs.every((l) => l.startsWith("/"))).toBe(true);
    expect(libs.some((l) => l.includes("vdso"))).toBe(false);
  });

  test("tarStream writes a tar that tar(1) reads back with modes and contents", async () => {
    const src = join(base, "exec.sh");
    writeFileSync(src, "#!/bin/sh\necho hi\n");
    chmodSync(src, 0o755);
    const tar = join(base, "out.tar");
    const chunks: Uint8Array[] = [];
    for await (const c of tarStream([
      { name: "tmp", mode: 0o1777, kind: "dir" },
      { name: "usr/local/bin", mode: 0o755, kind: "dir" },
      { name: "usr/local/bin/tool", mode: 0o755, kind: "file", source: src },
      { name: "etc/passwd", mode: 0o644, kind: "text", text: "nobody:x:65534:65534::/tmp:/bin/sh\n" },
    ])) chunks.push(c as Uint8Array);
    await Bun.write(tar, new Blob(chunks as BlobPart[]));
    const list = Bun.spawnSync(["tar", "-tvf", tar]).stdout.toString();
    expect(list).toMatch(/^drwxrwxrwt root\/root\s+0 .* tmp\/$/m);
    expect(list).toMatch(/^-rwxr-xr-x root\/root\s+18 .* usr\/local\/bin\/tool$/m);
    expect(list).toMatch(/^-rw-r--r-- root\/root\s+35 .* etc\/passwd$/m);
    const out = join(base, "x");
    mkdirSync(out);
    expect(Bun.spawnSync(["tar", "-xf", tar, "-C", out]).exitCode).toBe(0);
    expect(await Bun.file(join(out, "usr/local/bin/tool")).text()).toBe("#!/bin/sh\necho hi\n");
  });
});

describe.skipIf(skipDocker)("ensureRuntimeImages on the real Engine", () => {
  let client: DockerClient;
  /** A private copy of bun (one byte longer, so its own tags) keeps the forced rebuild off the shared images. */
  let privateBun: string;
  const privateTags: string[] = [];

  beforeAll(async () => {
    const c = await ensureDocker();
    if (!c) throw new Error("Docker is not available");
    client = c;
    privateBun = join(base, "bun");
    copyFileSync(process.execPath, privateBun);
    appendFileSync(privateBun, "wove-test");
    chmodSync(privateBun, 0o755);
    privateTags.push(runtimeImageTag(privateBun), staticImageTag(privateBun));
  });

  afterAll(async () => {
    for (const tag of privateTags) await removeImage(client, tag);
  });

  test("builds both images once, shares concurrent calls, and rebuilds on force", async () => {
    const lines: string[] = [];
    let started = performance.now();
    const first = await ensureRuntimeImages(client, { executable: privateBun, onLog: (l) => lines.push(l) });
    console.log(`[figures] runtime + static images built (docker import, ${privateBun}) in ${(performance.now() - started).toFixed(0)} ms: ${lines.filter((l) => l.startsWith("Built")).join(" ")}`);
    expect(first).toEqual({ runtime: runtimeImageTag(privateBun), static: staticImageTag(privateBun), built: [runtimeImageTag(privateBun), staticImageTag(privateBun)] });
    expect(lines.some((l) => l.startsWith(`Building ${first.runtime} from ${privateBun} (bun `))).toBe(true);
    const again = await Promise.all([ensureRuntimeImages(client, { executable: privateBun, onLog: () => {} }), ensureRuntimeImages(client, { executable: privateBun, onLog: () => {} })]);
    expect(again.map((r) => r.built)).toEqual([[], []]);

    const oldIds = [(await client.docker.getImage(first.runtime).inspect()).Id, (await client.docker.getImage(first.static).inspect()).Id];
    started = performance.now();
    const forced = await ensureRuntimeImages(client, { executable: privateBun, onLog: () => {}, force: true });
    console.log(`[figures] forced rebuild of both: ${(performance.now() - started).toFixed(0)} ms`);
    expect(forced.built).toEqual([first.runtime, first.static]);
    // The images the rebuild replaced are gone (nothing used them).
    for (const id of oldIds) expect(await client.docker.getImage(id).inspect().then(() => "still there", () => "removed")).toBe("removed");

    const rt = await client.docker.getImage(first.runtime).inspect();
    expect(rt.Config.User).toBe("65534:65534");
    expect(rt.Config.WorkingDir).toBe("/app");
    expect(rt.Config.Env).toEqual(expect.arrayContaining(["BUN_BE_BUN=1", "PATH=/usr/local/bin:/bin", "HOME=/tmp"]));
    expect(rt.Config.Cmd).toEqual(["bun", "run", "start"]);
    const st = await client.docker.getImage(first.static).inspect();
    expect(st.Config.Cmd).toEqual(["bun", "/wove/static-server.js"]);
    expect(st.Config.User).toBe("65534:65534");
  }, 120_000);

  test("the runtime image runs bun, and `bun run` finds its shell", async () => {
    const { runtime } = await ensureRuntimeImages(client, { onLog: () => {} });
    const root = join(base, "deployments");
    const work = join(root, "d", "app");
    mkdirSync(work, { recursive: true });
    chmodSync(work, 0o777);
    writeFileSync(join(work, "package.json"), JSON.stringify({ name: "t", scripts: { hello: "echo from-script $npm_lifecycle_event" } }));
    const lines: string[] = [];
    const limits = { cpus: 1, memoryBytes: 256 * 1024 * 1024, pids: 128 };
    const code = await runToCompletion(client, { image: runtime, cmd: ["bun", "run", "hello"], appDir: work, allowedRoot: root, env: {}, network: "none", limits, labels: testLabels(), timeoutMs: 30_000, onLog: (l) => lines.push(l) });
    expect(code).toBe(0);
    expect(lines).toContain("from-script hello");
  }, 60_000);

  test("an executable that cannot act as bun is refused before anything is built", async () => {
    const fake = join(base, "not-bun");
    copyFileSync("/bin/true", fake);
    await expect(ensureRuntimeImages(client, { executable: fake, onLog: () => {} })).rejects.toThrow(/does not act as bun with BUN_BE_BUN=1/);
    expect((await client.docker.listImages({ filters: { reference: [runtimeImageTag(fake)] } })).length).toBe(0);
  });
});
