/**
 * Running git for a project: the one place Wove spawns it.
 *
 * Each project is a bare repository `<project>/repo.git` whose working tree is the project's
 * files folder and whose index is a private file `<project>/index` (outside the working tree,
 * so nothing but the user's files ever lives in `files/`). git always runs:
 * - from an argument array, never through a shell, with paths after `--`;
 * - with a clean environment: no system or user config (a Wove-written global config in a
 *   private temp HOME, which is also where `safe.directory` has to be set for git to honour
 *   it), no hooks, no terminal prompts, English messages;
 * - serialised per project for anything that moves a ref or touches the working tree
 *   (`withRepoLock`), so concurrent saves and pushes never lose a version.
 * Nothing here knows about the database or HTTP; versions.ts and git-http.ts build on it.
 */
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiError } from "../lib/errors.ts";

export type RepoPaths = {
  /** `<dataDir>/projects/<id>` */
  projectDir: string;
  /** The bare repository, `<projectDir>/repo.git`. */
  gitDir: string;
  /** The working tree: the project's files folder. */
  workTree: string;
  /** Wove's private index, `<projectDir>/index`. */
  indexFile: string;
};

export const MAIN_REF = "refs/heads/main";
export const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
export const ZERO_SHA = "0000000000000000000000000000000000000000";
/** Who commits on the user's behalf (the author is always the user). */
export const COMMITTER = { name: "Wove", email: "wove@localhost" };

/** A full object id (SHA-1, or SHA-256 for repositories that use it). */
export const FULL_SHA_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function repoPaths(projectDir: string, workTree: string): RepoPaths {
  return { projectDir, gitDir: join(projectDir, "repo.git"), workTree, indexFile: join(projectDir, "index") };
}

// ---------------------------------------------------------------------------------------------
// Environment

/** The global config every git run reads instead of the user's (~/.gitconfig) or the system's. */
const GLOBAL_CONFIG = `[safe]
\tdirectory = *
[core]
\thooksPath = /dev/null
\tsymlinks = false
\tautocrlf = false
\tquotePath = false
\tfsync = committed,index
\tfsyncMethod = batch
[init]
\tdefaultBranch = main
[protocol]
\tallow = never
[protocol "file"]
\tallow = always
[gc]
\tautoDetach = false
[advice]
\tdetachedHead = false
`;

const HOME_PREFIX = "wove-git-home-";
let home: string | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes homes left by Wove processes that died without cleaning up (killed, or test runners). */
function sweepStaleHomes(): void {
  const uid = process.getuid?.();
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${HOME_PREFIX}(\\d+)-`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const dir = join(tmpdir(), name);
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (st?.isDirectory() && (uid === undefined || st.uid === uid)) rmSync(dir, { recursive: true, force: true });
  }
}

/** A private, empty HOME holding only Wove's global git config; removed when the process exits. */
function gitHome(): string {
  if (home && existsSync(join(home, "gitconfig"))) return home;
  sweepStaleHomes();
  home = mkdtempSync(join(tmpdir(), `${HOME_PREFIX}${process.pid}-`));
  writeFileSync(join(home, "gitconfig"), GLOBAL_CONFIG, { mode: 0o600 });
  const dir = home;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The environment for every git process: nothing inherited but PATH. */
export function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const h = gitHome();
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: h,
    XDG_CONFIG_HOME: h,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: join(h, "gitconfig"),
    GIT_TERMINAL_PROMPT: "0",
    // Read-only commands (status) must never take the index lock: killing one would leave it stale.
    GIT_OPTIONAL_LOCKS: "0",
    GIT_ASKPASS: "/bin/false",
    LC_ALL: "C",
    LANG: "C",
    ...extra,
  };
}

/** Options that make git address the project's repository, working tree and index. */
function repoArgs(paths: RepoPaths): string[] {
  return [`--git-dir=${paths.gitDir}`, `--work-tree=${paths.workTree}`];
}

function repoEnv(paths: RepoPaths, extra?: Record<string, string>): Record<string, string> {
  return gitEnv({ GIT_INDEX_FILE: paths.indexFile, ...extra });
}

// ---------------------------------------------------------------------------------------------
// Running

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`git ${args[0] ?? ""} exited with ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
  }
}

function gitMissing(): ApiError {
  return new ApiError(503, "git_missing", "git is not installed on this server; project history needs it (Debian: apt-get install git).");
}

export type GitRun = { code: number; stdout: Uint8Array; stderr: string; truncated: boolean };

export type GitOptions = {
  input?: string | Uint8Array;
  env?: Record<string, string>;
  /** Exit codes that are answers, not failures (e.g. 1 for `diff --quiet`). */
  okCodes?: number[];
  /** Stop reading (and kill git) after this many bytes of stdout; `truncated` says so. Read-only commands only. */
  maxBytes?: number;
  /** Run outside the repository (no --git-dir/--work-tree), e.g. `init`. */
  outside?: boolean;
};

async function readCapped(stream: ReadableStream<Uint8Array>, max: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      chunks.push(value.subarray(0, max - size));
      size = max;
      truncated = true;
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { bytes: Buffer.concat(chunks, size), truncated };
}

/** Spawns git (no shell) for streaming use; the caller reads stdout and awaits `exited`. */
export function spawnGit(
  paths: RepoPaths,
  args: string[],
  opts: { env?: Record<string, string>; stdin?: "ignore" | "pipe" | Blob; outside?: boolean } = {},
) {
  try {
    return Bun.spawn({
      cmd: ["git", ...(opts.outside ? [] : repoArgs(paths)), ...args],
      cwd: existsSync(paths.workTree) ? paths.workTree : paths.projectDir,
      env: repoEnv(paths, opts.env),
      stdin: opts.stdin ?? "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw gitMissing();
    throw e;
  }
}

/** Runs git in the project's repository and collects its output; throws GitError on failure. */
export async function runGit(paths: RepoPaths, args: string[], opts: GitOptions = {}): Promise<GitRun> {
  const input = typeof opts.input === "string" ? new TextEncoder().encode(opts.input) : opts.input;
  const proc = spawnGit(paths, args, { env: opts.env, outside: opts.outside, stdin: input ? new Blob([input as Uint8Array<ArrayBuffer>]) : "ignore" });
  const [out, stderr] = await Promise.all([
    readCapped(proc.stdout, opts.maxBytes ?? 512 * 1024 * 1024),
    new Response(proc.stderr).text(),
  ]);
  if (out.truncated) proc.kill();
  const code = await proc.exited;
  if (!out.truncated && code !== 0 && !(opts.okCodes ?? []).includes(code)) throw new GitError(args, code, stderr);
  return { code, stdout: out.bytes, stderr, truncated: out.truncated };
}

const decoder = new TextDecoder();

/** runGit's stdout as text, without the trailing newline. */
export async function gitText(paths: RepoPaths, args: string[], opts: GitOptions = {}): Promise<string> {
  return decoder.decode((await runGit(paths, args, opts)).stdout).replace(/\n$/, "");
}

// ---------------------------------------------------------------------------------------------
// The repository

/** The repository's own config: history on `main` only moves forward, and only `main` is pushable. */
const REPO_CONFIG = `[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = true
\tlogAllRefUpdates = true
[receive]
\tdenyNonFastForwards = true
\tdenyDeletes = true
\tfsckObjects = true
\thideRefs = refs/
\thideRefs = !${MAIN_REF}
[uploadpack]
\tallowFilter = true
`;

/**
 * Creates the bare repository when it is missing (new projects, and projects made before
 * versions existed). It is built in a temp folder and renamed into place, so a crash never
 * leaves a half-made repository. Returns true when it was created now.
 */
export async function initRepo(paths: RepoPaths): Promise<boolean> {
  if (existsSync(join(paths.gitDir, "HEAD"))) return false;
  await mkdir(paths.workTree, { recursive: true, mode: 0o755 });
  const tmp = join(paths.projectDir, `repo-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await runGit(paths, ["init", "--quiet", "--bare", "--initial-branch=main", "--", tmp], { outside: true });
    await writeFile(join(tmp, "config"), REPO_CONFIG);
    await rm(join(tmp, "hooks"), { recursive: true, force: true });
    await writeFile(join(tmp, "description"), "A Wove project\n");
    try {
      await rename(tmp, paths.gitDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Another process made it first: theirs is as good as ours.
      if ((code === "ENOTEMPTY" || code === "EEXIST") && existsSync(join(paths.gitDir, "HEAD"))) return false;
      throw e;
    }
    return true;
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}

/** The commit `main` points at, or null while the repository has no version yet. */
export async function headCommit(paths: RepoPaths): Promise<string | null> {
  const r = await runGit(paths, ["rev-parse", "--verify", "--quiet", `${MAIN_REF}^{commit}`], { okCodes: [1, 128] });
  const sha = decoder.decode(r.stdout).trim();
  return r.code === 0 && FULL_SHA_RE.test(sha) ? sha : null;
}

const STALE_LOCK_MS = 60_000;

/**
 * Stages the whole working tree into the private index (respecting .gitignore) and returns its
 * tree id. Callers hold the repo lock, so an index.lock older than a minute was left by a
 * process that died mid-write: it is removed and the add retried once.
 */
export async function stageAll(paths: RepoPaths): Promise<string> {
  try {
    await runGit(paths, ["add", "--all", "--", "."]);
  } catch (e) {
    const lock = `${paths.indexFile}.lock`;
    if (!(e instanceof GitError) || !existsSync(lock) || Date.now() - statSync(lock).mtimeMs < STALE_LOCK_MS) throw e;
    await rm(lock, { force: true });
    await runGit(paths, ["add", "--all", "--", "."]);
  }
  return gitText(paths, ["write-tree"]);
}

/** True when the working tree differs from the last version (or has files while there is none). */
export async function isDirty(paths: RepoPaths): Promise<boolean> {
  if (!existsSync(join(paths.gitDir, "HEAD")) || !existsSync(paths.workTree)) return false;
  const r = await runGit(paths, ["status", "--porcelain", "-z", "--untracked-files=normal", "--no-renames"]);
  return r.stdout.byteLength > 0;
}

/**
 * Makes the working tree (and the index) match `tree`, starting from `from` (what the
 * working tree matched before): files the two trees share and the user did not change stay.
 */
export async function checkoutTree(paths: RepoPaths, from: string | null, tree: string): Promise<void> {
  if (from) await runGit(paths, ["read-tree", "-m", "-u", from, tree]);
  else await runGit(paths, ["read-tree", "--reset", "-u", tree]);
}

// ---------------------------------------------------------------------------------------------
// Serialising work on one repository

const tails = new Map<string, Promise<void>>();

/**
 * Runs `fn` when every earlier `withRepoLock(key)` call has finished (an async mutex per
 * project, FIFO). Within one process only; git's own lock files cover other processes.
 */
export async function withRepoLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release: () => void = () => {};
  const mine = new Promise<void>((r) => (release = r));
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}

// ---------------------------------------------------------------------------------------------
// Housekeeping

/** New commits between two rounds of maintenance. */
const MAINTAIN_EVERY = 25;
const sinceMaintenance = new Map<string, number>();
const maintaining = new Set<string>();

/**
 * Counts new commits; every MAINTAIN_EVERY of them, runs maintenance in the background.
 * Saves write loose objects and nothing else ever packs them, and deep history pages walk
 * thousands of commits — a commit-graph makes that walk ~10× cheaper.
 */
export function noteNewCommits(paths: RepoPaths, count = 1): void {
  const n = (sinceMaintenance.get(paths.gitDir) ?? 0) + count;
  if (n < MAINTAIN_EVERY) {
    sinceMaintenance.set(paths.gitDir, n);
    return;
  }
  sinceMaintenance.delete(paths.gitDir);
  // Best effort: a failed round (say, the project was just deleted) costs only speed, and the next one retries.
  void maintainRepo(paths).catch(() => {});
}

/** `git gc --auto` (packs loose objects when there are many) and a fresh commit-graph. Safe beside saves and pushes. */
export async function maintainRepo(paths: RepoPaths): Promise<void> {
  if (maintaining.has(paths.gitDir) || !existsSync(join(paths.gitDir, "HEAD"))) return;
  maintaining.add(paths.gitDir);
  try {
    await runGit(paths, ["gc", "--auto", "--quiet"]);
    await runGit(paths, ["commit-graph", "write", "--reachable", "--no-progress"]);
  } finally {
    maintaining.delete(paths.gitDir);
  }
}

/** The installed git's version line, or undefined when git cannot be run. */
export function gitVersion(): string | undefined {
  try {
    const r = Bun.spawnSync({ cmd: ["git", "--version"], env: gitEnv(), stdout: "pipe", stderr: "ignore" });
    return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming

/**
 * A git process's stdout as a stream that errors (instead of ending quietly) when git fails,
 * so a client never mistakes a cut-off zip or diff for a whole one.
 */
export function gitStream(paths: RepoPaths, args: string[]): ReadableStream<Uint8Array> {
  const proc = spawnGit(paths, args);
  const reader = proc.stdout.getReader();
  const stderr = new Response(proc.stderr).text();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (!done) {
        controller.enqueue(value);
        return;
      }
      const code = await proc.exited;
      if (code === 0) controller.close();
      else controller.error(new GitError(args, code, await stderr));
    },
    cancel() {
      proc.kill();
    },
  });
}
