/**
 * The two local images user projects run in, built offline from what is on this host (no
 * registry is reachable in an air-gapped install):
 *
 * - `wove/runtime-bun:<version>-<hash>`: FROM scratch — the executable that runs Wove (bun itself
 *   from source, or the compiled wove binary, which acts as bun under BUN_BE_BUN=1) at
 *   /usr/local/bin/bun, the shared libraries `ldd` lists for it and for dash, dash as /bin/sh
 *   (`bun run` needs a shell), an /etc/passwd with nobody, and USER 65534.
 * - `wove/static:<version>-<hash>`: the runtime plus the static-site server (static-server.ts).
 *
 * The tag carries a content hash of the executable (and of the server program), so a new Wove
 * binary gets new images instead of silently reusing old ones. The build context is streamed as
 * an uncompressed tar straight from the host files: nothing is copied to a temp folder.
 */
import { closeSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { Readable } from "node:stream";
import { VERSION } from "../cli/version.ts";
import { DockerError, engineMessage, readProgress, type DockerClient } from "./docker.ts";
import { STATIC_SERVER_SOURCE } from "./static-server.ts";

export const RUNTIME_REPOSITORY = "wove/runtime-bun";
export const STATIC_REPOSITORY = "wove/static";
/** The shell `bun run` uses inside the image. */
const SHELL = "/bin/dash";

export class RuntimeImageError extends Error {}

const hashes = new Map<string, string>();

function hashKey(path: string): string {
  const st = statSync(path);
  return `${realpathSync(path)}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/**
 * The same hash without blocking the event loop (~0.3 s for a 140 MiB executable): a server calls
 * this first, so the synchronous tag functions then find it remembered.
 */
async function fileHashAsync(path: string): Promise<string> {
  const key = hashKey(path);
  const known = hashes.get(key);
  if (known) return known;
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream() as unknown as AsyncIterable<Uint8Array>) hasher.update(chunk);
  const hex = hasher.digest("hex");
  hashes.set(key, hex);
  return hex;
}

/** SHA-256 of a file, read in 1 MiB chunks; remembered while the file's size and mtime stay the same. */
function fileHash(path: string): string {
  const key = hashKey(path);
  const known = hashes.get(key);
  if (known) return known;
  const hasher = new Bun.CryptoHasher("sha256");
  const buf = new Uint8Array(1 << 20);
  const fd = openSync(path, "r");
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hasher.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  const hex = hasher.digest("hex");
  hashes.set(key, hex);
  return hex;
}

const short = (hex: string) => hex.slice(0, 12);

/** The runtime image's tag for this executable (default: the one running now). */
export function runtimeImageTag(executable: string = process.execPath): string {
  return `${RUNTIME_REPOSITORY}:${VERSION}-${short(fileHash(executable))}`;
}

/** The static image's tag: changes with the executable and with the server program. */
export function staticImageTag(executable: string = process.execPath): string {
  const combined = new Bun.CryptoHasher("sha256").update(fileHash(executable)).update(STATIC_SERVER_SOURCE).digest("hex");
  return `${STATIC_REPOSITORY}:${VERSION}-${short(combined)}`;
}

/** The absolute paths of the shared libraries (and the loader) a dynamic executable needs. */
export function sharedLibraries(binary: string): string[] {
  let result;
  try {
    result = Bun.spawnSync(["ldd", binary], { stdout: "pipe", stderr: "pipe" });
  } catch {
    throw new RuntimeImageError("ldd is needed to find the libraries for the runtime image but is not installed (Debian: apt-get install libc-bin)");
  }
  const out = `${result.stdout.toString()}${result.stderr.toString()}`;
  if (result.exitCode !== 0) {
    if (/not a dynamic executable|statically linked/.test(out)) return [];
    throw new RuntimeImageError(`ldd ${binary} failed: ${out.trim()}`);
  }
  const libs = new Set<string>();
  for (const line of out.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.add(m[1]);
    else if (/=>\s*not found/.test(line)) throw new RuntimeImageError(`${binary} needs ${line.trim()}`);
  }
  return [...libs].sort();
}

export type TarEntry = { name: string; mode: number } & ({ kind: "dir" } | { kind: "file"; source: string } | { kind: "text"; text: string });

const BLOCK = 512;

function tarHeader(name: string, mode: number, size: number, type: "0" | "5"): Uint8Array {
  if (Buffer.byteLength(name) > 100) throw new RuntimeImageError(`tar entry name too long: ${name}`);
  const h = Buffer.alloc(BLOCK);
  const field = (offset: number, length: number, value: string) => h.write(value, offset, length, "utf8");
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, "0") + "\0";
  field(0, 100, name);
  field(100, 8, octal(mode, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(size, 12));
  field(136, 12, octal(Math.floor(Date.UTC(2020, 0, 1) / 1000), 12)); // fixed: the same files give the same layer
  field(148, 8, "        ");
  field(156, 1, type);
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  field(265, 32, "root");
  field(297, 32, "root");
  let sum = 0;
  for (const byte of h) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** An uncompressed tar of the entries, file contents read from disk as the stream is consumed. */
export function tarStream(entries: TarEntry[]): Readable {
  async function* generate(): AsyncGenerator<Uint8Array> {
    for (const e of entries) {
      if (e.kind === "dir") {
        yield tarHeader(e.name.endsWith("/") ? e.name : `${e.name}/`, e.mode, 0, "5");
        continue;
      }
      const body = e.kind === "text" ? Buffer.from(e.text) : null;
      const size = body ? body.length : statSync(e.kind === "file" ? e.source : "").size;
      yield tarHeader(e.name, e.mode, size, "0");
      if (body) yield body;
      else if (e.kind === "file") {
        let sent = 0;
        for await (const chunk of Bun.file(e.source).stream() as unknown as AsyncIterable<Uint8Array>) {
          sent += chunk.length;
          yield chunk;
        }
        if (sent !== size) throw new RuntimeImageError(`${e.source} changed size while being packed`);
      }
      if (size % BLOCK) yield new Uint8Array(BLOCK - (size % BLOCK));
    }
    yield new Uint8Array(BLOCK * 2);
  }
  return Readable.from(generate(), { objectMode: false });
}

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n";
const GROUP = "root:x:0:\nnogroup:x:65534:\n";

/** Image settings applied at import (the Engine's `changes`; exec-form CMD, no shell involved). */
const RUNTIME_CHANGES = ["ENV BUN_BE_BUN=1", "ENV PATH=/usr/local/bin:/bin", "ENV HOME=/tmp", "USER 65534:65534", "WORKDIR /app"];
const STATIC_SERVER_PATH = "/wove/static-server.js";

/**
 * The runtime root filesystem: the executable as /usr/local/bin/bun, its libraries and dash's at
 * their host paths, dash as /bin/sh, passwd/group with nobody, empty /tmp and /app — plus, for the
 * static image, the server program.
 */
function rootfs(executable: string, withStaticServer: boolean): { entries: TarEntry[]; bytes: number; libs: string[] } {
  const libs = [...new Set([...sharedLibraries(executable), ...sharedLibraries(SHELL)])].sort();
  const dirs = new Set<string>(["usr", "usr/local", "usr/local/bin", "bin", "etc"]);
  for (const lib of libs) {
    const parts = lib.split("/").filter(Boolean).slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  if (withStaticServer) dirs.add("wove");
  const entries: TarEntry[] = [...dirs].sort().map((name) => ({ name, mode: 0o755, kind: "dir" as const }));
  entries.push({ name: "tmp", mode: 0o1777, kind: "dir" }, { name: "app", mode: 0o755, kind: "dir" });
  const file = (name: string, source: string) => entries.push({ name, mode: statSync(source).mode & 0o7777, kind: "file", source: realpathSync(source) });
  file("usr/local/bin/bun", executable);
  file("bin/sh", SHELL);
  for (const lib of libs) file(lib.slice(1), lib);
  entries.push({ name: "etc/passwd", mode: 0o644, kind: "text", text: PASSWD }, { name: "etc/group", mode: 0o644, kind: "text", text: GROUP });
  if (withStaticServer) entries.push({ name: STATIC_SERVER_PATH.slice(1), mode: 0o644, kind: "text", text: STATIC_SERVER_SOURCE });
  const bytes = entries.reduce((n, e) => n + (e.kind === "file" ? statSync(e.source).size : 0), 0);
  return { entries, bytes, libs };
}

/**
 * Makes an image from a root filesystem tar (`docker import`): one layer and no intermediate
 * containers, which on the vfs storage driver is several times faster than a Dockerfile build.
 * `changes` are Dockerfile instructions the Engine applies (CMD, ENTRYPOINT, ENV, EXPOSE, USER,
 * VOLUME, WORKDIR — not LABEL). Returns the image id.
 */
export async function importImage(client: DockerClient, rootfs: NodeJS.ReadableStream, tag: string, changes: string[], onLog: (line: string) => void): Promise<string> {
  const colon = tag.lastIndexOf(":");
  const [repo, version] = colon > tag.lastIndexOf("/") ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, "latest"];
  let stream: NodeJS.ReadableStream;
  try {
    stream = await client.docker.importImage(rootfs, { repo, tag: version, changes, message: `wove: ${tag}` });
  } catch (e) {
    throw new DockerError(`docker import of ${tag} could not start: ${engineMessage(e)}`);
  }
  let imageId = "";
  const failure = await readProgress(stream, onLog, (event) => {
    if (event.status?.startsWith("sha256:")) imageId = event.status;
    else if (event.status) onLog(event.status);
  });
  if (failure !== null) throw new DockerError(`docker import of ${tag} failed: ${failure}`);
  return imageId || (await client.docker.getImage(tag).inspect()).Id;
}

/** Fails early, and clearly, when the executable cannot act as bun (the runtime image would be useless). */
function checkActsAsBun(executable: string): string {
  const r = Bun.spawnSync([executable, "--version"], { env: { ...process.env, BUN_BE_BUN: "1" }, stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString().trim();
  if (r.exitCode !== 0 || !/^\d+\.\d+\.\d+/.test(out)) {
    throw new RuntimeImageError(`${executable} does not act as bun with BUN_BE_BUN=1 (--version printed "${out || r.stderr.toString().trim()}")`);
  }
  return out;
}

export type RuntimeImages = { runtime: string; static: string };

export type EnsureImagesOptions = {
  /** The executable to put in the image; default the one running now. */
  executable?: string;
  onLog: (line: string) => void;
  /** Rebuild even when the tags exist. */
  force?: boolean;
};

const inflight = new Map<string, Promise<RuntimeImages & { built: string[] }>>();

/**
 * Makes sure both images exist for this executable, building what is missing (or everything with
 * `force`). Concurrent callers share one build. Returns the tags and which of them were built now.
 */
export function ensureRuntimeImages(client: DockerClient, opts: EnsureImagesOptions): Promise<RuntimeImages & { built: string[] }> {
  const executable = opts.executable ?? process.execPath;
  const key = `${client.socketPath}\n${realpathSync(executable)}\n${opts.force ? "force" : ""}`;
  const pending = inflight.get(key);
  if (pending) return pending;
  const attempt = buildMissing(client, executable, opts).finally(() => inflight.delete(key));
  inflight.set(key, attempt);
  return attempt;
}

async function buildMissing(client: DockerClient, executable: string, opts: EnsureImagesOptions): Promise<RuntimeImages & { built: string[] }> {
  await fileHashAsync(executable);
  const tags = { runtime: runtimeImageTag(executable), static: staticImageTag(executable) };
  const built: string[] = [];
  const say = opts.onLog;
  const want = [
    { tag: tags.runtime, withStaticServer: false, changes: [...RUNTIME_CHANGES, 'CMD ["bun", "run", "start"]'] },
    { tag: tags.static, withStaticServer: true, changes: [...RUNTIME_CHANGES, "ENV STATIC_ROOT=/app", `CMD ["bun", "${STATIC_SERVER_PATH}"]`] },
  ];
  let bunVersion = "";
  for (const image of want) {
    const previous = await client.docker.getImage(image.tag).inspect().then((i) => i.Id, () => null);
    if (previous && !opts.force) continue;
    bunVersion ||= checkActsAsBun(executable);
    const started = performance.now();
    const fs = rootfs(executable, image.withStaticServer);
    say(`Building ${image.tag} from ${executable} (bun ${bunVersion}, ${(fs.bytes / 1024 / 1024).toFixed(0)} MiB with ${fs.libs.length} libraries)…`);
    const id = await importImage(client, tarStream(fs.entries), image.tag, image.changes, say);
    say(`Built ${image.tag} in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    built.push(image.tag);
    // A rebuild leaves the replaced image untagged; drop it unless a container still uses it (then the Engine refuses).
    if (previous && previous !== id) await client.docker.getImage(previous).remove().catch(() => {});
  }
  return { ...tags, built };
}
