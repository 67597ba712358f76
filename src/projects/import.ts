/**
 * Creating a project from something that exists elsewhere: an uploaded archive (zip, tar,
 * tar.gz) or a git repository at a URL the admin allowed (off unless WOVE_IMPORT_GIT_ALLOW
 * names hosts: instances are often air-gapped, and any fetch is a way into the network).
 *
 * Both go through createProject's seed, which runs before the project is recorded: when the
 * archive is refused or the fetch fails, no project exists and its folder is removed.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Orm } from "../db/client.ts";
import type { Project, User } from "../db/schema.ts";
import { ApiError, invalid } from "../lib/errors.ts";
import { checkOutboundUrl, type Resolver } from "../lib/outbound.ts";
import { filesDir, writeFile } from "./files.ts";
import { checkoutTree, GitError, headCommit, MAIN_REF, spawnGit, withRepoLock, type RepoPaths } from "./git.ts";
import { readArchive, type ArchiveFormat, type ArchiveLimits } from "./import-archive.ts";
import { createProject, PROJECT_NAME_MAX, type NewProject } from "./projects.ts";
import { commitWorkingTree, editorOf } from "./versions.ts";

/** Creates a project whose first version holds the archive's files (after all its checks pass). */
export async function importArchive(
  orm: Orm,
  dataDir: string,
  user: User,
  input: NewProject,
  bytes: Uint8Array,
  format: ArchiveFormat,
  limits: ArchiveLimits,
): Promise<Project> {
  const archive = readArchive(bytes, format, limits);
  return createProject(orm, dataDir, user, input, {
    event: { kind: "project.created", data: { imported: format, files: archive.files.length } },
    seed: (paths, projectId) =>
      withRepoLock(projectId, async () => {
        const root = filesDir(dataDir, projectId);
        // Paths were checked by readArchive and the folder is brand new, so plain mkdir is safe here.
        for (const dir of archive.dirs) await mkdir(join(root, dir), { recursive: true, mode: 0o755 });
        for (const f of archive.files) {
          await writeFile(dataDir, projectId, f.path, f.bytes, Number.MAX_SAFE_INTEGER);
          // git keeps the executable bit (scripts stay runnable); nothing else of the archive's modes.
          if (f.executable) await chmod(join(root, f.path), 0o755);
        }
        const entry = await commitWorkingTree(paths, `Import ${input.name.trim()}`, editorOf(user));
        if (!entry) throw invalid("The archive has no files to import.", { archive: "No files." });
      }),
  });
}

// ---------------------------------------------------------------------------------------------
// Git

export type GitImportOptions = {
  /** Host patterns the admin allowed (WOVE_IMPORT_GIT_ALLOW); empty = git import is off. */
  allow: readonly string[];
  /** Largest repository fetched (bytes on disk); the fetch is stopped past it. */
  maxBytes: number;
  /** Longest the fetch may take. */
  timeoutMs: number;
  resolve?: Resolver;
  /** Tests only: accept `file://` URLs of local repositories instead of https and skip the host checks. Never set by a route. */
  testAllowFileUrls?: boolean;
};

export const GIT_IMPORT_TIMEOUT_MS = 5 * 60_000;

export function importDisabled(): ApiError {
  return new ApiError(
    403,
    "import_disabled",
    "Importing from a git URL is turned off on this instance. An admin must allow the host in WOVE_IMPORT_GIT_ALLOW (for example github.com).",
  );
}

/** A project name from the URL's last path segment (`…/acme/widget.git` → `widget`). */
export function nameFromUrl(url: string): string {
  const last = url.replace(/[?#].*$/, "").replace(/\/+$/, "").split("/").at(-1) ?? "";
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = last;
  }
  return name.replace(/\.git$/i, "").slice(0, PROJECT_NAME_MAX).trim() || "Imported project";
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** Fetches the remote's default branch, with all its history, into `main`; stopped on timeout or size. */
async function fetchInto(paths: RepoPaths, url: string, config: string[], protocol: string, opts: GitImportOptions): Promise<void> {
  const args = [...config.flatMap((c) => ["-c", c]), "fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--", url, `+HEAD:${MAIN_REF}`];
  const proc = spawnGit(paths, args, { env: { GIT_ALLOW_PROTOCOL: protocol, GIT_TERMINAL_PROMPT: "0" } });
  let stopped: ApiError | null = null;
  const stop = (e: ApiError) => {
    stopped ??= e;
    proc.kill();
  };
  const timer = setTimeout(() => stop(new ApiError(504, "import_timeout", `The repository took longer than ${Math.round(opts.timeoutMs / 1000)} s to fetch.`)), opts.timeoutMs);
  const watch = setInterval(() => {
    void dirBytes(paths.gitDir).then((n) => {
      if (n > opts.maxBytes) stop(new ApiError(413, "too_large", `The repository is larger than ${opts.maxBytes} bytes, this instance's limit.`));
    });
  }, 500);
  try {
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited, new Response(proc.stdout).arrayBuffer()]);
    if (stopped) throw stopped;
    if (code !== 0) {
      const why = new GitError(args, code, stderr).stderr.trim().split("\n").at(-1)?.replace(/^fatal:\s*/, "") ?? "";
      throw new ApiError(422, "import_failed", `The repository could not be fetched${why ? `: ${why.slice(0, 300)}` : "."}`, { url: "Could not fetch." });
    }
  } finally {
    clearTimeout(timer);
    clearInterval(watch);
  }
  if ((await dirBytes(paths.gitDir)) > opts.maxBytes) throw new ApiError(413, "too_large", `The repository is larger than ${opts.maxBytes} bytes, this instance's limit.`);
}

/**
 * Creates a project whose history is the remote repository's default branch (all of it) and
 * whose files are its latest version. 403 `import_disabled` unless the admin allowed hosts;
 * 422 `url_refused` for URLs outbound.ts refuses.
 */
export async function importGit(
  orm: Orm,
  dataDir: string,
  user: User,
  input: Omit<NewProject, "name"> & { name?: string; url: string },
  opts: GitImportOptions,
): Promise<Project> {
  const raw = input.url.trim();
  let target: { url: string; config: string[]; protocol: string };
  if (opts.testAllowFileUrls && raw.startsWith("file://")) {
    target = { url: raw, config: [], protocol: "file" };
  } else {
    if (opts.allow.length === 0) throw importDisabled();
    const checked = await checkOutboundUrl(raw, { allow: opts.allow, schemes: ["https:"], resolve: opts.resolve });
    const pin = checked.addresses.map((a) => (a.includes(":") ? `[${a}]` : a)).join(",");
    target = {
      url: checked.url.href,
      // Connect to the addresses that were checked (no second DNS answer), and never follow a redirect elsewhere.
      config: [`http.curloptResolve=${checked.url.hostname}:${checked.port}:${pin}`, "http.followRedirects=false", "fetch.fsckObjects=true"],
      protocol: "https",
    };
  }
  const { url: _url, ...fields } = input;
  const name = fields.name?.trim() ? fields.name : nameFromUrl(raw);
  return createProject(orm, dataDir, user, { ...fields, name }, {
    event: { kind: "project.created", data: { imported: "git" } },
    seed: (paths, projectId) =>
      withRepoLock(projectId, async () => {
        await fetchInto(paths, target.url, target.config, target.protocol, opts);
        if (!(await headCommit(paths))) throw new ApiError(422, "import_failed", "The repository has no commits to import.", { url: "Empty repository." });
        await checkoutTree(paths, null, MAIN_REF);
        if (!existsSync(paths.workTree)) await mkdir(paths.workTree, { recursive: true });
      }),
  });
}
