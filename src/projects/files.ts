/**
 * Project files on disk: `<dataDir>/projects/<projectId>/files/<path>`.
 * The files directory is (later) a git working tree, so nothing but the user's files lives
 * in it: temp files for atomic writes go to `<dataDir>/projects/<projectId>/tmp/`, on the
 * same filesystem, so the final rename is atomic.
 *
 * Writes are durable: temp file → fsync → rename over → fsync the directory. A write that
 * returned has reached the disk; a write that failed (or a process killed mid-write) leaves
 * the old content. Symlinks are never followed: any path through a symlink is refused
 * (a symlink itself may only be deleted).
 */
import { constants, type Stats } from "node:fs";
import { link, lstat, mkdir, open, readdir, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { eq } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, projects, type Project } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { newId } from "../lib/crypto.ts";
import { ApiError, badRequest, conflict, notFound, tooLarge } from "../lib/errors.ts";
import { withRepoLock } from "./git.ts";

export const PATH_MAX_BYTES = 1024;
export const SEGMENT_MAX_BYTES = 255;
export const PATH_MAX_DEPTH = 32;

export type TreeNode = { name: string; path: string; type: "file" | "dir"; size?: number; children?: TreeNode[] };

/** Test hooks for failure injection; never set outside tests. */
export const _testHooks: { afterTempWrite?: (tmpPath: string) => void | Promise<void> } = {};

const PROJECT_ID_RE = /^[a-z0-9]{1,64}$/;

export function projectDir(dataDir: string, projectId: string): string {
  if (!PROJECT_ID_RE.test(projectId)) throw new Error(`bad project id ${JSON.stringify(projectId)}`);
  return join(dataDir, "projects", projectId);
}

export function filesDir(dataDir: string, projectId: string): string {
  return join(projectDir(dataDir, projectId), "files");
}

function tmpDir(dataDir: string, projectId: string): string {
  return join(projectDir(dataDir, projectId), "tmp");
}

// ---------------------------------------------------------------------------------------------
// Paths

function badPath(message: string): ApiError {
  return badRequest(message, { path: message });
}

/**
 * Checks a project-relative path (already percent-decoded by the caller) and returns it
 * normalised (a trailing "/" dropped). Throws 400 with a clear message otherwise.
 */
export function validatePath(raw: string): string {
  if (typeof raw !== "string" || raw.length === 0) throw badPath("Path is required.");
  if (raw.startsWith("/")) throw badPath("Path must be relative to the project root (no leading /).");
  if (raw.includes("\\")) throw badPath("Path must use / between folders; backslashes are not allowed.");
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw badPath("Path must not contain NUL or control characters.");
  if (!raw.isWellFormed()) throw badPath("Path is not valid Unicode.");
  const p = raw.endsWith("/") ? raw.slice(0, -1) : raw;
  if (Buffer.byteLength(p, "utf8") > PATH_MAX_BYTES) throw badPath(`Path must be at most ${PATH_MAX_BYTES} bytes.`);
  const segments = p.split("/");
  if (segments.length > PATH_MAX_DEPTH) throw badPath(`Path must be at most ${PATH_MAX_DEPTH} levels deep.`);
  for (const s of segments) {
    if (s === "") throw badPath("Path must not contain empty segments (//).");
    if (s === "." || s === "..") throw badPath(`Path must not contain "${s}" segments.`);
    if (/^\.git[. ]*$/i.test(s)) throw badPath('".git" is reserved and cannot be used in a path.');
    if (Buffer.byteLength(s, "utf8") > SEGMENT_MAX_BYTES) throw badPath(`Each path segment must be at most ${SEGMENT_MAX_BYTES} bytes.`);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Low-level helpers

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (e) {
    if (errno(e) === "ENOENT" || errno(e) === "ENOTDIR") return null;
    throw e;
  }
}

function symlinkRefused(rel: string): ApiError {
  return conflict(`"${rel}" is a symbolic link; Wove does not follow symlinks.`, { path: "Symbolic links are not followed." });
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** mkdir -p that fsyncs the parent of every directory it creates (so the new entries survive a crash). */
async function ensureDir(dir: string): Promise<void> {
  const st = await lstatOrNull(dir);
  if (st?.isDirectory()) return;
  if (st) throw new Error(`${dir} exists and is not a directory`);
  await ensureDir(dirname(dir));
  try {
    await mkdir(dir, { mode: 0o755 });
  } catch (e) {
    if (errno(e) !== "EEXIST") throw e;
    return;
  }
  await fsyncDir(dirname(dir));
}

/** Creates `<dataDir>/projects/<id>/files` (and the tmp dir next to it). */
export async function ensureProjectDirs(dataDir: string, projectId: string): Promise<void> {
  await ensureDir(filesDir(dataDir, projectId));
  await ensureDir(tmpDir(dataDir, projectId));
}

/** Removes everything stored on disk for a project. */
export async function removeProjectDir(dataDir: string, projectId: string): Promise<void> {
  await rm(projectDir(dataDir, projectId), { recursive: true, force: true });
}

/**
 * Walks the folders above `segments`' last element inside `root`, refusing symlinks and files
 * in the way. With `create`, missing folders are made; otherwise a missing one throws `missing()`.
 */
async function walkParents(root: string, segments: string[], create: boolean, missing: () => ApiError): Promise<string> {
  let dir = root;
  for (let i = 0; i < segments.length - 1; i++) {
    dir = join(dir, segments[i] as string);
    const rel = segments.slice(0, i + 1).join("/");
    const st = await lstatOrNull(dir);
    if (st === null) {
      if (!create) throw missing();
      try {
        await mkdir(dir, { mode: 0o755 });
        await fsyncDir(dirname(dir));
      } catch (e) {
        if (errno(e) !== "EEXIST") throw e;
        i--; // raced with another writer: look again
        dir = dirname(dir);
      }
      continue;
    }
    if (st.isSymbolicLink()) throw symlinkRefused(rel);
    if (!st.isDirectory()) {
      if (!create) throw missing();
      throw conflict(`"${rel}" is a file, so it cannot contain other files.`, { path: `"${rel}" is a file.` });
    }
  }
  return dir;
}

async function rootOf(dataDir: string, projectId: string, create: boolean): Promise<string> {
  const root = filesDir(dataDir, projectId);
  if (create) await ensureDir(root);
  return root;
}

// ---------------------------------------------------------------------------------------------
// Operations

const byDirsThenName = (a: TreeNode, b: TreeNode) =>
  a.type !== b.type ? (a.type === "dir" ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** The whole tree, folders first then by name. Symlinks, special files and `.git` are left out. */
export async function listTree(dataDir: string, projectId: string): Promise<TreeNode[]> {
  const root = filesDir(dataDir, projectId);
  async function walk(dir: string, prefix: string, depth: number): Promise<TreeNode[]> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (errno(e) === "ENOENT" || errno(e) === "ENOTDIR") return [];
      throw e;
    }
    const nodes = await Promise.all(
      entries.map(async (d): Promise<TreeNode | null> => {
        const name = d.name;
        if (/^\.git[. ]*$/i.test(name)) return null;
        const path = prefix ? `${prefix}/${name}` : name;
        if (d.isDirectory()) {
          const children = depth + 1 < PATH_MAX_DEPTH ? await walk(join(dir, name), path, depth + 1) : [];
          return { name, path, type: "dir", children };
        }
        if (!d.isFile()) return null; // symlinks, sockets, fifos
        const st = await lstatOrNull(join(dir, name));
        if (!st?.isFile()) return null;
        return { name, path, type: "file", size: st.size };
      }),
    );
    return nodes.filter((n): n is TreeNode => n !== null).sort(byDirsThenName);
  }
  return walk(root, "", 0);
}

const missing = () => notFound("File");

/** Finds an existing entry without following symlinks on the way; 404 when it (or a parent) is missing. */
async function locateExisting(root: string, path: string): Promise<{ dir: string; abs: string; st: Stats }> {
  const segments = path.split("/");
  const dir = await walkParents(root, segments, false, missing);
  const abs = join(dir, segments.at(-1) as string);
  const st = await lstatOrNull(abs);
  if (st === null) throw missing();
  return { dir, abs, st };
}

export async function readFile(dataDir: string, projectId: string, path: string): Promise<{ bytes: Uint8Array; size: number; mtime: Date }> {
  const p = validatePath(path);
  const { abs, st } = await locateExisting(await rootOf(dataDir, projectId, false), p);
  if (st.isSymbolicLink()) throw symlinkRefused(p);
  if (!st.isFile()) throw notFound("File");
  let fh;
  try {
    fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (errno(e) === "ELOOP") throw symlinkRefused(p);
    if (errno(e) === "ENOENT") throw missing();
    throw e;
  }
  try {
    const fst = await fh.stat();
    if (!fst.isFile()) throw missing();
    const bytes = new Uint8Array(await fh.readFile());
    return { bytes, size: bytes.byteLength, mtime: fst.mtime };
  } finally {
    await fh.close();
  }
}

/**
 * Writes a whole file atomically and durably, creating parent folders.
 * 413 over `maxBytes`; 409 where a folder (or a symlink) is, or when a parent is a file.
 */
export async function writeFile(
  dataDir: string,
  projectId: string,
  path: string,
  bytes: Uint8Array,
  maxBytes: number,
): Promise<{ created: boolean; size: number }> {
  const p = validatePath(path);
  if (bytes.byteLength > maxBytes) throw tooLarge(`The file is ${bytes.byteLength} bytes; the limit is ${maxBytes} bytes.`);
  const segments = p.split("/");
  const root = await rootOf(dataDir, projectId, true);
  const dir = await walkParents(root, segments, true, () => notFound("Folder"));
  const abs = join(dir, segments.at(-1) as string);
  const st = await lstatOrNull(abs);
  if (st?.isSymbolicLink()) throw symlinkRefused(p);
  if (st?.isDirectory()) throw conflict(`"${p}" is a folder; a file cannot replace it.`, { path: "A folder exists at this path." });
  if (st && !st.isFile()) throw conflict(`"${p}" is not a regular file.`, { path: "Not a regular file." });

  const tmp = tmpDir(dataDir, projectId);
  await ensureDir(tmp);
  const tmpPath = join(tmp, `${newId()}.part`);
  let renamed = false;
  try {
    const fh = await open(tmpPath, "wx", 0o644);
    try {
      await fh.writeFile(bytes);
      if (st) await fh.chmod(st.mode & 0o777); // keep an existing file's mode (e.g. executable)
      if (_testHooks.afterTempWrite) await _testHooks.afterTempWrite(tmpPath);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmpPath, abs);
    } catch (e) {
      if (errno(e) === "EISDIR" || errno(e) === "ENOTEMPTY" || errno(e) === "EEXIST") {
        throw conflict(`"${p}" is a folder; a file cannot replace it.`, { path: "A folder exists at this path." });
      }
      throw e;
    }
    renamed = true;
    await fsyncDir(dir);
  } finally {
    if (!renamed) await unlink(tmpPath).catch(() => {});
  }
  return { created: st === null, size: bytes.byteLength };
}

/** Deletes a file, or a folder with everything in it (atomically: it is moved aside first). 404 when missing. */
export async function deleteFile(dataDir: string, projectId: string, path: string): Promise<{ type: "file" | "dir" }> {
  const p = validatePath(path);
  const { dir, abs, st } = await locateExisting(await rootOf(dataDir, projectId, false), p);
  if (st.isDirectory()) {
    const tmp = tmpDir(dataDir, projectId);
    await ensureDir(tmp);
    const trash = join(tmp, `${newId()}.trash`);
    try {
      await rename(abs, trash);
    } catch (e) {
      if (errno(e) === "ENOENT") throw missing();
      throw e;
    }
    await fsyncDir(dir);
    await rm(trash, { recursive: true, force: true });
    return { type: "dir" };
  }
  // A file, or a symlink (unlinking a link never touches its target).
  try {
    await unlink(abs);
  } catch (e) {
    if (errno(e) === "ENOENT") throw missing();
    throw e;
  }
  await fsyncDir(dir);
  return { type: "file" };
}

/** Renames a file or folder. 404 when `from` is missing, 409 when `to` exists; creates `to`'s folders. */
export async function moveFile(dataDir: string, projectId: string, from: string, to: string): Promise<{ type: "file" | "dir" }> {
  const f = validatePath(from);
  const t = validatePath(to);
  if (t === f || t.startsWith(`${f}/`)) throw badRequest("A file or folder cannot be moved into itself.", { to: "Choose a path outside the source." });
  const root = await rootOf(dataDir, projectId, false);
  const { dir: fromDir, abs: fromAbs, st } = await locateExisting(root, f);
  if (st.isSymbolicLink()) throw symlinkRefused(f);
  if (!st.isFile() && !st.isDirectory()) throw conflict(`"${f}" is not a regular file.`);
  const type = st.isDirectory() ? "dir" : "file";

  const tSeg = t.split("/");
  const toDir = await walkParents(root, tSeg, true, missing);
  const toAbs = join(toDir, tSeg.at(-1) as string);
  const exists = () => conflict(`"${t}" already exists.`, { to: "Something already exists at this path." });
  if ((await lstatOrNull(toAbs)) !== null) throw exists();
  if (type === "file") {
    // link + unlink cannot replace a file that appeared meanwhile (rename would).
    try {
      await link(fromAbs, toAbs);
      await unlink(fromAbs);
    } catch (e) {
      if (errno(e) === "EEXIST") throw exists();
      if (errno(e) === "ENOENT") throw missing();
      if (errno(e) !== "EPERM" && errno(e) !== "ENOTSUP" && errno(e) !== "EXDEV" && errno(e) !== "EMLINK") throw e;
      await rename(fromAbs, toAbs);
    }
  } else {
    try {
      await rename(fromAbs, toAbs);
    } catch (e) {
      if (errno(e) === "EEXIST" || errno(e) === "ENOTEMPTY") throw exists();
      if (errno(e) === "ENOENT") throw missing();
      throw e;
    }
  }
  await fsyncDir(toDir);
  if (fromDir !== toDir) await fsyncDir(fromDir);
  return { type };
}

// ---------------------------------------------------------------------------------------------
// With events: the API and UI call these.

/** Records a change to a file: the project's updated time and an event. */
export async function touch(orm: Orm, project: Project, kind: string, subjectId: string, actorId: string | null, data: Record<string, unknown>) {
  await orm.batch([
    orm.update(projects).set({ updatedAt: Date.now() }).where(eq(projects.id, project.id)),
    orm.insert(events).values(eventValues({ actorId, kind, subjectType: "file", subjectId, projectId: project.id, data })),
  ]);
}

/**
 * A project's files changed: by an edit through the functions below, or wholesale by a restored
 * version or a push. `paths` names the files touched when known (absent: anything may have
 * changed); `moved` and `deleted` say what an edit did to them; `origin` lets a listener
 * recognise the changes it made itself (the collaborative editor writing its text back).
 */
export type FilesChanged = {
  dataDir: string;
  projectId: string;
  actorId: string | null;
  source: "edit" | "restore" | "push";
  paths?: string[];
  moved?: { from: string; to: string };
  deleted?: string;
  origin?: unknown;
};
const filesChangedListeners = new Set<(e: FilesChanged) => void>();

/** Calls `fn` (which must not throw) after every change to a project's files; autosave and anything derived from the files listen. Returns the unsubscribe. */
export function onFilesChanged(fn: (e: FilesChanged) => void): () => void {
  filesChangedListeners.add(fn);
  return () => filesChangedListeners.delete(fn);
}

export function notifyFilesChanged(e: FilesChanged): void {
  for (const fn of filesChangedListeners) fn(e);
}

type EditFlusher = (dataDir: string, projectId: string) => Promise<void>;
const editFlushers = new Set<EditFlusher>();

/**
 * Registers a holder of edits not yet in the working tree (the collaborative editor writes
 * its text back a moment after typing stops). Returns the unregister.
 */
export function registerEditFlusher(fn: EditFlusher): () => void {
  editFlushers.add(fn);
  return () => editFlushers.delete(fn);
}

/**
 * Brings pending editor text into the working tree now: called before a version is saved,
 * restored or exported, so "Save" right after typing includes the last keystrokes. Must not
 * be called while holding the project's repo lock (the write-back takes it).
 */
export async function flushPendingEdits(dataDir: string, projectId: string): Promise<void> {
  await Promise.all([...editFlushers].map((fn) => fn(dataDir, projectId)));
}

export async function writeProjectFile(
  orm: Orm,
  dataDir: string,
  project: Project,
  path: string,
  bytes: Uint8Array,
  maxBytes: number,
  actorId: string | null,
): Promise<{ path: string; created: boolean; size: number }> {
  const p = validatePath(path);
  // Under the repo lock: a version or a push sees a write wholly or not at all.
  const r = await withRepoLock(project.id, () => writeFile(dataDir, project.id, p, bytes, maxBytes));
  await touch(orm, project, r.created ? "file.created" : "file.written", p, actorId, { size: r.size });
  notifyFilesChanged({ dataDir, projectId: project.id, actorId, source: "edit", paths: [p] });
  return { path: p, ...r };
}

export async function deleteProjectFile(
  orm: Orm,
  dataDir: string,
  project: Project,
  path: string,
  actorId: string | null,
): Promise<{ path: string; type: "file" | "dir" }> {
  const p = validatePath(path);
  const r = await withRepoLock(project.id, () => deleteFile(dataDir, project.id, p));
  await touch(orm, project, "file.deleted", p, actorId, { type: r.type });
  notifyFilesChanged({ dataDir, projectId: project.id, actorId, source: "edit", paths: [p], deleted: p });
  return { path: p, ...r };
}

export async function moveProjectFile(
  orm: Orm,
  dataDir: string,
  project: Project,
  from: string,
  to: string,
  actorId: string | null,
): Promise<{ from: string; to: string; type: "file" | "dir" }> {
  const f = validatePath(from);
  const t = validatePath(to);
  const r = await withRepoLock(project.id, () => moveFile(dataDir, project.id, f, t));
  await touch(orm, project, "file.moved", t, actorId, { from: f, to: t, type: r.type });
  notifyFilesChanged({ dataDir, projectId: project.id, actorId, source: "edit", paths: [f, t], moved: { from: f, to: t } });
  return { from: f, to: t, ...r };
}

// ---------------------------------------------------------------------------------------------
// Content helpers

const BY_EXT: Record<string, string> = {
  ts: "typescript", tsx: "typescript", mts: "typescript", cts: "typescript",
  js: "javascript", jsx: "javascript", mjs: "javascript", cjs: "javascript",
  json: "json", jsonc: "json", json5: "json", webmanifest: "json", map: "json",
  html: "html", htm: "html", xhtml: "html",
  css: "css", scss: "scss", sass: "scss", less: "less",
  md: "markdown", markdown: "markdown", mdx: "mdx",
  py: "python", pyw: "python", pyi: "python",
  go: "go", rs: "rust", c: "c", h: "c", cc: "cpp", cpp: "cpp", cxx: "cpp", hpp: "cpp", hh: "cpp",
  java: "java", kt: "kotlin", kts: "kotlin", scala: "scala", swift: "swift", cs: "csharp", fs: "fsharp",
  rb: "ruby", php: "php", pl: "perl", pm: "perl", lua: "lua", r: "r", dart: "dart", ex: "elixir", exs: "elixir",
  clj: "clojure", jl: "julia", m: "objective-c", sol: "solidity", graphql: "graphql", gql: "graphql", proto: "protobuf",
  sh: "shell", bash: "shell", zsh: "shell", ksh: "shell", fish: "shell", ps1: "powershell", bat: "bat", cmd: "bat",
  yaml: "yaml", yml: "yaml", toml: "ini", ini: "ini", cfg: "ini", conf: "ini", env: "ini", properties: "ini",
  sql: "sql", xml: "xml", svg: "xml", xsd: "xml", xsl: "xml", plist: "xml",
  vue: "html", svelte: "html", hbs: "handlebars", handlebars: "handlebars", pug: "pug", twig: "twig", liquid: "liquid",
  dockerfile: "dockerfile", tf: "hcl", hcl: "hcl", txt: "plaintext", log: "plaintext",
};

const BY_NAME: Record<string, string> = {
  dockerfile: "dockerfile", containerfile: "dockerfile", makefile: "plaintext", gnumakefile: "plaintext",
  ".bashrc": "shell", ".zshrc": "shell", ".profile": "shell", ".env": "ini", ".editorconfig": "ini",
  ".gitignore": "plaintext", ".npmrc": "ini", "bun.lock": "json", "tsconfig.json": "json", ".babelrc": "json",
  ".prettierrc": "json", ".eslintrc": "json", gemfile: "ruby", rakefile: "ruby", "cmakelists.txt": "plaintext",
};

/**
 * A Monaco language id for syntax highlighting ("typescript", "javascript", "json", "html",
 * "css", "markdown", "python", "go", "rust", "shell", "yaml", "sql", …), "plaintext" when unknown.
 * TOML maps to "ini" (Monaco has no TOML grammar; its ini grammar highlights TOML well).
 */
export function detectLanguage(path: string): string {
  const name = (path.split("/").at(-1) ?? "").toLowerCase();
  const byName = BY_NAME[name];
  if (byName) return byName;
  if (name.startsWith("dockerfile.") || name.endsWith(".dockerfile")) return "dockerfile";
  if (name.startsWith(".env.")) return "ini";
  const dot = name.lastIndexOf(".");
  if (dot === -1) return "plaintext";
  return BY_EXT[name.slice(dot + 1)] ?? "plaintext";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Text when there is no NUL byte in the first 8 KB and the bytes are valid UTF-8. */
export function isProbablyText(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) return false;
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
