/**
 * Forks ("remixes"): a new project that starts with the full history of another one's `main`,
 * remembers where it came from (`forked_from_id`) and counts on its source (`fork_count`).
 *
 * - Forking needs read access to the source, like cloning it would.
 * - The fork takes the source's last saved version: edits not yet saved as a version stay
 *   with the source. Environment variables and stars are not copied.
 * - A fork is never more visible than its source: a private project's fork stays private
 *   (projects.ts enforces it here and whenever the fork's visibility changes later).
 */
import type { Orm } from "../db/client.ts";
import type { Project, User, Visibility } from "../db/schema.ts";
import type { Actor } from "../auth/actor.ts";
import { notFound } from "../lib/errors.ts";
import { projectAccess, type AccessLevel } from "./access.ts";
import { checkoutTree, gitText, headCommit, MAIN_REF, noteNewCommits, runGit, type RepoPaths } from "./git.ts";
import { createProject } from "./projects.ts";
import { ensureRepo } from "./versions.ts";

export type ForkOptions = {
  /** Default: the source's name (the slug gets `-2`, `-3`… when the owner already has it). */
  name?: string;
  /** Team id or slug to own the fork; the user's own project when absent. */
  team?: string;
  /** Default: the source's visibility; only an equally or more private one is allowed. */
  visibility?: Visibility;
  /** Default: the source's description. */
  description?: string;
};

/** What the fork is for, recorded in its `project.forked` event: a plain fork, or a project started from a template project. */
export type ForkPurpose = "fork" | "template";

/** `user` acting for themselves, for the access rules in access.ts (the same answer as for their own requests). */
export function actorFor(user: User): Actor {
  return { kind: "user", user, via: "session", sessionId: "" };
}

/** The project and `user`'s access to it; `level` "none" when they may not even know it exists. */
export async function accessFor(orm: Orm, user: User, projectId: string): Promise<{ project: Project | undefined; level: AccessLevel }> {
  return projectAccess(orm, actorFor(user), projectId);
}

/**
 * Copies the whole history of the source's `main` into `target` (a new, empty repository) and
 * checks its last version out into the target's working tree. Objects are copied, never
 * shared, so the two repositories are independent from here on. Returns the fork's head, or
 * null when the source has no version yet (the fork then starts empty too).
 */
export async function copyHistory(dataDir: string, sourceId: string, target: RepoPaths): Promise<string | null> {
  const source = await ensureRepo(dataDir, sourceId);
  if ((await headCommit(source)) === null) return null;
  // A fetch by path runs upload-pack on the source: a consistent snapshot of `main` even while
  // the source is saving, and a real copy of the objects (no hard links, no alternates).
  // --update-head-ok: git sees the working tree Wove passes and would otherwise refuse to move HEAD's branch.
  await runGit(target, ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--update-head-ok", source.gitDir, `+${MAIN_REF}:${MAIN_REF}`]);
  const head = await headCommit(target);
  if (head === null) throw new Error(`fetching ${MAIN_REF} from project ${sourceId} left the fork without it`);
  await checkoutTree(target, null, await gitText(target, ["rev-parse", "--verify", `${head}^{tree}`]));
  // Long histories get their commit-graph written like any repository that grew by that much.
  noteNewCommits(target, Number(await gitText(target, ["rev-list", "--count", head])));
  return head;
}

/**
 * Forks `source` for `user`: a new project owned by them (or by `opts.team`, where they may
 * create projects) with the source's full history. 404 when the user cannot read the source.
 */
export async function forkProject(
  orm: Orm,
  dataDir: string,
  source: Project,
  user: User,
  opts: ForkOptions = {},
  purpose: ForkPurpose = "fork",
): Promise<Project> {
  // Re-read: the caller's copy may be stale, and the visibility floor must be the current one.
  const { project: current, level } = await accessFor(orm, user, source.id);
  if (!current || level === "none") throw notFound("Project");
  return createProject(
    orm,
    dataDir,
    user,
    {
      name: opts.name ?? current.name,
      description: opts.description ?? current.description,
      visibility: opts.visibility,
      team: opts.team,
    },
    {
      forkedFrom: current,
      seed: async (paths) => {
        await copyHistory(dataDir, current.id, paths);
      },
      event: { kind: "project.forked", data: { from: current.id, ...(purpose === "template" ? { fromTemplate: true } : {}) } },
    },
  );
}
