/**
 * Versions: a project's history. A version is a commit on `main` of the project's repository;
 * saving one commits the whole working tree (the files folder). History is never rewritten:
 * restoring an old version makes a new commit with that version's files.
 *
 * Anything that moves `main` or touches the working tree runs under the project's repo lock
 * (git.ts), file writes included (files.ts), so versions and edits are strictly ordered.
 * Unsaved edits are never thrown away: before a restore or a push replaces the working tree,
 * they are saved as an "Autosave" version attributed to whoever last edited a file.
 */
import { and, desc, eq, like } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, projects, users, type Project, type User } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { ApiError, badRequest, notFound } from "../lib/errors.ts";
import {
  checkoutTree,
  COMMITTER,
  EMPTY_TREE,
  FULL_SHA_RE,
  gitStream,
  gitText,
  headCommit,
  initRepo,
  MAIN_REF,
  noteNewCommits,
  repoPaths,
  runGit,
  stageAll,
  withRepoLock,
  ZERO_SHA,
  type RepoPaths,
} from "./git.ts";
import { LOG_FORMAT_ARGS, parseLog, parseLsTree, treeFromEntries, type ChangedFile, type LogEntry } from "./git-log.ts";
import { filesDir, flushPendingEdits, notifyFilesChanged, projectDir, validatePath, type TreeNode } from "./files.ts";

export const MESSAGE_MAX = 5000;
export const AUTOSAVE_MESSAGE = "Autosave";
const PAGE_MAX = 100;
const DIFF_MAX_BYTES = 20 * 1024 * 1024;
const BLOB_MAX_BYTES = 256 * 1024 * 1024;

/** Who a version is by. `id` is null when the author is not (or no longer) a Wove user. */
export type Editor = { id: string | null; name: string; email: string };

export type VersionJson = {
  id: string;
  shortId: string;
  parents: string[];
  message: string;
  author: { name: string; email: string };
  at: string;
  filesChanged: number;
  /** Up to 100 changed files (all of them when filesChanged ≤ 100). */
  files: ChangedFile[];
};

export function editorOf(user: Pick<User, "id" | "name" | "username" | "email">): Editor {
  return { id: user.id, name: user.name.trim() || user.username, email: user.email };
}

export function versionJson(e: LogEntry): VersionJson {
  return {
    id: e.sha,
    shortId: e.sha.slice(0, 12),
    parents: e.parents,
    message: e.message,
    author: { name: e.authorName, email: e.authorEmail },
    at: new Date(e.at).toISOString(),
    filesChanged: e.filesChanged,
    files: e.files,
  };
}

export function noChanges(message = "Nothing changed since the last version."): ApiError {
  return new ApiError(409, "no_changes", message);
}

/** The project's repository paths (nothing is created). */
export function projectRepo(dataDir: string, projectId: string): RepoPaths {
  return repoPaths(projectDir(dataDir, projectId), filesDir(dataDir, projectId));
}

/** The project's repository, created on first use (projects made before versions existed get one lazily). */
export async function ensureRepo(dataDir: string, projectId: string): Promise<RepoPaths> {
  const paths = projectRepo(dataDir, projectId);
  await initRepo(paths);
  return paths;
}

/** A commit message as stored: CRLF → LF, no control characters but tab and newline, trimmed, capped. */
export function cleanMessage(raw: string | undefined, fallback: string): string {
  const text = (raw ?? "")
    .replace(/\r\n?/g, "\n")
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  if (text.length > MESSAGE_MAX) throw badRequest(`The message must be at most ${MESSAGE_MAX} characters.`, { message: "Too long." });
  return text || fallback;
}

// ---------------------------------------------------------------------------------------------
// Committing (callers hold the repo lock)

async function treeOf(paths: RepoPaths, commit: string | null): Promise<string> {
  return commit ? gitText(paths, ["rev-parse", "--verify", `${commit}^{tree}`]) : EMPTY_TREE;
}

/** git's ident rules: no `<`, `>` or newlines; never empty. */
function identPart(s: string, fallback: string): string {
  const clean = s.replace(/[<>\n\r\u0000]/g, "").trim();
  return clean || fallback;
}

/** Commits `tree` on top of `parent` as a new version and moves `main` to it (only if `main` is still `parent`). */
async function commitTree(paths: RepoPaths, tree: string, parent: string | null, message: string, author: Editor): Promise<string> {
  const seconds = Math.floor(Date.now() / 1000);
  const env = {
    GIT_AUTHOR_NAME: identPart(author.name, "Wove user"),
    GIT_AUTHOR_EMAIL: identPart(author.email, "unknown@localhost"),
    GIT_AUTHOR_DATE: `@${seconds} +0000`,
    GIT_COMMITTER_NAME: COMMITTER.name,
    GIT_COMMITTER_EMAIL: COMMITTER.email,
    GIT_COMMITTER_DATE: `@${seconds} +0000`,
  };
  const sha = await gitText(paths, ["commit-tree", tree, ...(parent ? ["-p", parent] : []), "-F", "-"], { input: `${message}\n`, env });
  await runGit(paths, ["update-ref", "-m", `wove: ${message.split("\n")[0]?.slice(0, 80)}`, MAIN_REF, sha, parent ?? ZERO_SHA], { env });
  noteNewCommits(paths);
  return sha;
}

/** The log entry (with changed files) for one commit. */
export async function logEntry(paths: RepoPaths, sha: string): Promise<LogEntry> {
  const out = await runGit(paths, ["log", ...LOG_FORMAT_ARGS, "-n", "1", sha, "--"]);
  const entry = parseLog(out.stdout)[0];
  if (!entry) throw notFound("Version");
  return entry;
}

/**
 * Stages the working tree and commits it when it differs from `main`. Returns the new version,
 * or null when nothing changed. The caller holds the repo lock.
 */
export async function commitWorkingTree(paths: RepoPaths, message: string, author: Editor): Promise<LogEntry | null> {
  const tree = await stageAll(paths);
  const head = await headCommit(paths);
  if (tree === (await treeOf(paths, head))) return null;
  const sha = await commitTree(paths, tree, head, message, author);
  return logEntry(paths, sha);
}

/** Who last edited a file of the project (for attributing autosaves), from the event log. */
export async function lastEditor(orm: Orm, project: Pick<Project, "id" | "createdBy">): Promise<Editor | null> {
  const row = await orm
    .select({ user: users })
    .from(events)
    .innerJoin(users, eq(users.id, events.actorId))
    .where(and(eq(events.projectId, project.id), like(events.kind, "file.%")))
    .orderBy(desc(events.id))
    .limit(1)
    .get();
  if (row) return editorOf(row.user);
  if (!project.createdBy) return null;
  const creator = await orm.select().from(users).where(eq(users.id, project.createdBy)).get();
  return creator ? editorOf(creator) : null;
}

async function recordVersion(orm: Orm, project: Project, actorId: string | null, kind: string, entry: LogEntry, data: Record<string, unknown> = {}) {
  await orm.insert(events).values(
    eventValues({
      actorId,
      kind,
      subjectType: "project",
      subjectId: project.id,
      projectId: project.id,
      teamId: project.ownerTeamId,
      data: { sha: entry.sha, message: entry.message.split("\n")[0]?.slice(0, 200), filesChanged: entry.filesChanged, ...data },
    }),
  );
}

/**
 * Saves unsaved edits as an autosave, attributed to `editor` when known, else to the last
 * editor in the event log, else to `fallback`. The caller holds the repo lock.
 * Returns the version, or null when there was nothing to save.
 */
export async function autosaveLocked(
  orm: Orm,
  paths: RepoPaths,
  project: Project,
  message: string,
  who: { editor?: Editor | null; fallback?: Editor | null } = {},
): Promise<LogEntry | null> {
  const author = who.editor ?? (await lastEditor(orm, project)) ?? who.fallback ?? { id: null, name: COMMITTER.name, email: COMMITTER.email };
  const entry = await commitWorkingTree(paths, message, author);
  if (entry) await recordVersion(orm, project, author.id, "project.version_saved", entry, { autosave: true });
  return entry;
}

// ---------------------------------------------------------------------------------------------
// The operations

export type SaveInput = { message?: string; author: Editor };

/** Saves the working tree as a new version. 409 `no_changes` when it equals the last version. */
export async function saveVersion(orm: Orm, dataDir: string, project: Project, input: SaveInput): Promise<VersionJson> {
  const message = cleanMessage(input.message, "Save version");
  await flushPendingEdits(dataDir, project.id);
  return withRepoLock(project.id, async () => {
    const paths = await ensureRepo(dataDir, project.id);
    const entry = await commitWorkingTree(paths, message, input.author);
    if (!entry) {
      if ((await headCommit(paths)) === null) throw noChanges("There is nothing to save yet: the project has no files.");
      throw noChanges();
    }
    await recordVersion(orm, project, input.author.id, "project.version_saved", entry);
    return versionJson(entry);
  });
}

/** Saves unsaved edits as "Autosave", by `editor` (or the last editor); null when there were none. */
export async function autosave(orm: Orm, dataDir: string, project: Project, editor: Editor | null, message = AUTOSAVE_MESSAGE): Promise<VersionJson | null> {
  await flushPendingEdits(dataDir, project.id);
  return withRepoLock(project.id, async () => {
    const entry = await autosaveLocked(orm, await ensureRepo(dataDir, project.id), project, message, { editor });
    return entry ? versionJson(entry) : null;
  });
}

const VERSION_RE = /^[0-9a-f]{4,64}$/;
/** Commits known to be on `main` (history only grows, so this never goes stale): "project:sha". */
const reachable = new Set<string>();
const REACHABLE_MAX = 10_000;

/**
 * A version id (a full or abbreviated commit sha) → the full sha of a commit in the project's
 * history. 400 when it is not hexadecimal, 404 when no such commit is on `main` — objects that
 * are not part of the history (say, from a rejected push) are never served.
 */
export async function resolveVersion(paths: RepoPaths, projectId: string, rev: string): Promise<string> {
  const id = rev.toLowerCase();
  if (!VERSION_RE.test(id)) throw badRequest("A version id is a commit sha: 4 to 64 hexadecimal characters.", { sha: "Not a commit sha." });
  if (FULL_SHA_RE.test(id) && reachable.has(`${projectId}:${id}`)) return id;
  const r = await runGit(paths, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${id}^{commit}`], { okCodes: [1, 128] });
  const sha = new TextDecoder().decode(r.stdout).trim();
  if (r.code !== 0 || !FULL_SHA_RE.test(sha)) throw notFound("Version");
  const onMain = await runGit(paths, ["merge-base", "--is-ancestor", sha, MAIN_REF], { okCodes: [1, 128] });
  if (onMain.code !== 0) throw notFound("Version");
  if (reachable.size >= REACHABLE_MAX) reachable.clear();
  reachable.add(`${projectId}:${sha}`);
  return sha;
}

export type VersionPage = { versions: VersionJson[]; nextCursor: string | null };

/**
 * History, newest first, `limit` (1–100, default 30) at a time. The cursor names the tip the
 * first page was read from and how many versions came before, so pages stay stable while new
 * versions are saved, and merges (from pushes) are listed like `git log` does.
 */
export async function listVersions(dataDir: string, projectId: string, opts: { limit?: number; cursor?: string } = {}): Promise<VersionPage> {
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 30) || 30, 1), PAGE_MAX);
  const paths = await ensureRepo(dataDir, projectId);
  let tip: string | null;
  let offset = 0;
  if (opts.cursor) {
    const m = /^([0-9a-f]{40}|[0-9a-f]{64})\.(\d{1,9})$/.exec(opts.cursor);
    if (!m) throw badRequest("The cursor is not one this API gave out.", { cursor: "Invalid cursor." });
    tip = await resolveVersion(paths, projectId, m[1] as string);
    offset = Number(m[2]);
  } else {
    tip = await headCommit(paths);
  }
  if (!tip) return { versions: [], nextCursor: null };
  const out = await runGit(paths, ["log", ...LOG_FORMAT_ARGS, `--skip=${offset}`, "-n", String(limit + 1), tip, "--"]);
  const entries = parseLog(out.stdout);
  const more = entries.length > limit;
  return { versions: entries.slice(0, limit).map(versionJson), nextCursor: more ? `${tip}.${offset + limit}` : null };
}

/** One version. */
export async function getVersion(dataDir: string, projectId: string, rev: string): Promise<VersionJson> {
  const paths = await ensureRepo(dataDir, projectId);
  return versionJson(await logEntry(paths, await resolveVersion(paths, projectId, rev)));
}

/** What to compare a version with: its first parent, another version, or the current files. */
export type DiffBase = { kind: "parent" } | { kind: "version"; rev: string } | { kind: "worktree" };

/**
 * A unified diff (git's format, `a/` and `b/` prefixes) from the base to the version — or, for
 * the working tree, from the version to the current files (unsaved edits included).
 * Cut at 20 MB (`truncated`).
 */
export async function diffVersion(
  dataDir: string,
  project: Pick<Project, "id">,
  rev: string,
  base: DiffBase = { kind: "parent" },
): Promise<{ text: string; truncated: boolean }> {
  const paths = await ensureRepo(dataDir, project.id);
  const sha = await resolveVersion(paths, project.id, rev);
  let from: string;
  let to: string = sha;
  if (base.kind === "worktree") {
    from = sha;
    await flushPendingEdits(dataDir, project.id);
    to = await withRepoLock(project.id, () => stageAll(paths));
  } else if (base.kind === "version") {
    from = await resolveVersion(paths, project.id, base.rev);
  } else {
    const parents = (await gitText(paths, ["rev-list", "--parents", "-n", "1", sha])).split(" ").slice(1);
    from = parents[0] ?? EMPTY_TREE;
  }
  const r = await runGit(paths, ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", from, to, "--"], {
    maxBytes: DIFF_MAX_BYTES,
  });
  return { text: new TextDecoder().decode(r.stdout), truncated: r.truncated };
}

/** A file's bytes as they were in a version. 404 when the version has no file there. */
export async function readFileAt(dataDir: string, project: Pick<Project, "id">, rev: string, path: string): Promise<Uint8Array> {
  const p = validatePath(path);
  const paths = await ensureRepo(dataDir, project.id);
  const sha = await resolveVersion(paths, project.id, rev);
  const r = await runGit(paths, ["cat-file", "--batch"], { input: `${sha}:${p}\n`, maxBytes: BLOB_MAX_BYTES + 200 });
  const nl = r.stdout.indexOf(10);
  const header = new TextDecoder().decode(r.stdout.subarray(0, nl < 0 ? r.stdout.length : nl));
  const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
  if (!m || m[1] !== "blob") throw notFound("File");
  if (r.truncated) throw new ApiError(413, "too_large", "That file is too large to read through the API; download the version as a zip.");
  const size = Number(m[2]);
  return r.stdout.subarray(nl + 1, nl + 1 + size);
}

/** A version's files as a tree, shaped like the files API's tree (folders first, then by name). */
export async function treeAt(dataDir: string, project: Pick<Project, "id">, rev: string): Promise<TreeNode[]> {
  const paths = await ensureRepo(dataDir, project.id);
  const sha = await resolveVersion(paths, project.id, rev);
  return treeFromEntries(parseLsTree((await runGit(paths, ["ls-tree", "-r", "-t", "-z", "--long", sha])).stdout));
}

/**
 * Restores a version: a new version whose files are exactly that version's, and the working
 * tree updated to match. Unsaved edits are saved first (as an autosave). 409 `no_changes`
 * when the project already has those files.
 */
export async function restoreVersion(orm: Orm, dataDir: string, project: Project, rev: string, author: Editor): Promise<VersionJson> {
  await flushPendingEdits(dataDir, project.id); // the autosave before the restore keeps the last keystrokes
  return withRepoLock(project.id, async () => {
    const paths = await ensureRepo(dataDir, project.id);
    const sha = await resolveVersion(paths, project.id, rev);
    const target = await treeOf(paths, sha);
    await autosaveLocked(orm, paths, project, `Autosave before restoring ${sha.slice(0, 12)}`, { fallback: author });
    const head = await headCommit(paths);
    const headTree = await treeOf(paths, head);
    if (target === headTree) throw noChanges("The project already has exactly the files of that version.");
    const summary = (await gitText(paths, ["log", "-n", "1", "--format=%s", sha])).slice(0, 120);
    const message = `Restore version ${sha.slice(0, 12)}${summary ? `: ${summary}` : ""}`;
    const created = await commitTree(paths, target, head, message, author);
    await checkoutTree(paths, headTree, target);
    const entry = await logEntry(paths, created);
    await orm.update(projects).set({ updatedAt: Date.now() }).where(eq(projects.id, project.id));
    await recordVersion(orm, project, author.id, "project.version_restored", entry, { restoredFrom: sha });
    notifyFilesChanged({ dataDir, projectId: project.id, actorId: author.id, source: "restore" });
    return versionJson(entry);
  });
}

/**
 * A zip of a version's files (or, without `rev`, of the current files, unsaved edits included),
 * streamed from `git archive`. Everything sits in a folder named like the file.
 */
export async function archiveVersion(
  dataDir: string,
  project: Pick<Project, "id" | "slug">,
  rev: string | undefined,
): Promise<{ filename: string; stream: ReadableStream<Uint8Array> }> {
  const paths = await ensureRepo(dataDir, project.id);
  let treeish: string;
  let name: string;
  if (rev) {
    treeish = await resolveVersion(paths, project.id, rev);
    name = `${project.slug}-${treeish.slice(0, 12)}`;
  } else {
    await flushPendingEdits(dataDir, project.id);
    treeish = await withRepoLock(project.id, () => stageAll(paths));
    name = project.slug;
  }
  return { filename: `${name}.zip`, stream: gitStream(paths, ["archive", "--format=zip", `--prefix=${name}/`, treeish]) };
}
