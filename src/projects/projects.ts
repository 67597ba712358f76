/**
 * Projects: owned by a user or a team, addressed as `<owner handle>/<slug>`.
 * The slug comes from the name once (unique per owner) and never changes on rename.
 * Access rules live in ./access.ts; files on disk in ./files.ts. Projects that start from
 * something (a built-in template, a fork) are made here too: templates.ts and fork.ts give
 * `createProject` a `ProjectOrigin` that fills the repository first.
 */
import { and, desc, eq, inArray, like, or, sql } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, projects, teamMembers, teams, type Project, type Team, type User, type Visibility } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { newId } from "../lib/crypto.ts";
import { conflict, forbidden, invalid, notFound } from "../lib/errors.ts";
import { checkName, slugify } from "../lib/validate.ts";
import { ensureProjectDirs, removeProjectDir } from "./files.ts";
import type { RepoPaths } from "./git.ts";
import { ensureRepo } from "./versions.ts";
import { tagsOf } from "./tags.ts";
import { refreshTech, techOf } from "./techstack.ts";

export const VISIBILITIES: readonly Visibility[] = ["private", "unlisted", "public"];
export const PROJECT_NAME_MAX = 100;
export const PROJECT_DESCRIPTION_MAX = 2000;
const SLUG_BASE_MAX = 60;

export type NewProject = {
  name: string;
  description?: string;
  visibility?: Visibility;
  /** Team id or slug; the project is the user's own when absent. */
  team?: string;
};

/** How a project that does not start empty starts (templates.ts, fork.ts). */
export type ProjectOrigin = {
  /**
   * Fills the new project's repository and working tree. It runs before the project is
   * recorded, so nobody sees a half-filled project; if anything fails, everything is removed.
   */
  seed?: (paths: RepoPaths, projectId: string) => Promise<void>;
  /** The project this one is a fork of: lineage is kept and its fork count goes up in the same batch. */
  forkedFrom?: Project;
  /** The built-in template it was made from (the `template` column). */
  template?: string;
  /** The event recorded for it (default `project.created`) and extra data for that event. */
  event?: { kind: string; data?: Record<string, unknown> };
};

export type ProjectPatch = { name?: string; description?: string; visibility?: Visibility; isTemplate?: boolean };
export type Page = { limit?: number; offset?: number };

/** Where a fork came from. */
export type ForkRef = { id: string; owner: string; slug: string };

export type ProjectJson = {
  id: string;
  slug: string;
  name: string;
  description: string;
  visibility: Visibility;
  owner: string;
  ownerType: "user" | "team";
  createdAt: string;
  updatedAt: string;
  /** The project this is a fork of (or was made from, for a project template); null when none or deleted. */
  forkedFrom: ForkRef | null;
  /** The built-in template it was made from, e.g. "static-site". */
  template: string | null;
  /** Marked by its owner as a template others can start from. */
  isTemplate: boolean;
  stars: number;
  forks: number;
  /** Set by the project's admins (tags.ts); projectsJson and projectJsonFor always fill it. */
  tags?: string[];
  /** Detected from its top-level files (techstack.ts); projectsJson and projectJsonFor always fill it. */
  tech?: string[];
  /** `git clone` URL; present when projectJson is given the instance's base URL. */
  cloneUrl?: string;
};

const PRIVACY: Record<Visibility, number> = { public: 0, unlisted: 1, private: 2 };

/** True when `v` hides a project at least as well as `floor` (private > unlisted > public). */
export function atLeastAsPrivate(v: Visibility, floor: Visibility): boolean {
  return PRIVACY[v] >= PRIVACY[floor];
}

function forkVisibilityError(source: Visibility): string {
  return `This is a fork of ${source === "private" ? "a private" : "an unlisted"} project, so it must stay ${source === "private" ? "private" : "private or unlisted"}.`;
}

/** Where git clones a project from: `<baseUrl>/git/<owner>/<slug>.git`. */
export function cloneUrl(baseUrl: string, ownerHandle: string, slug: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/git/${encodeURIComponent(ownerHandle)}/${encodeURIComponent(slug)}.git`;
}

function page(p: Page = {}): { limit: number; offset: number } {
  const limit = Math.min(Math.max(Math.trunc(p.limit ?? 50) || 50, 1), 200);
  const offset = Math.max(Math.trunc(p.offset ?? 0) || 0, 0);
  return { limit, offset };
}

function isUniqueViolation(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? e) + String((e as { cause?: Error })?.cause?.message ?? "");
  return /UNIQUE constraint failed/i.test(msg);
}

function isForeignKeyViolation(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? e) + String((e as { cause?: Error })?.cause?.message ?? "");
  return /FOREIGN KEY constraint failed/i.test(msg);
}

function checkFields(input: ProjectPatch, errors: Record<string, string>): void {
  if (input.name !== undefined) {
    const ne = checkName(input.name ?? "", "Project name", PROJECT_NAME_MAX);
    if (ne) errors.name = ne;
  }
  if (input.description !== undefined) {
    if (typeof input.description !== "string") errors.description = "Description must be text.";
    else if (input.description.trim().length > PROJECT_DESCRIPTION_MAX) {
      errors.description = `Description must be at most ${PROJECT_DESCRIPTION_MAX} characters.`;
    }
  }
  if (input.visibility !== undefined && !VISIBILITIES.includes(input.visibility)) {
    errors.visibility = "Visibility must be private, unlisted or public.";
  }
}

async function resolveTeam(orm: Orm, ref: string): Promise<Team | undefined> {
  return (
    (await orm.select().from(teams).where(eq(teams.id, ref)).get()) ??
    (await orm.select().from(teams).where(eq(teams.slug, ref.toLowerCase())).get())
  );
}

/** The first free slug among base, base-2, base-3… for this owner. */
async function freeSlug(orm: Orm, owner: { userId: string | null; teamId: string | null }, base: string): Promise<string> {
  const ownerCond = owner.teamId ? eq(projects.ownerTeamId, owner.teamId) : eq(projects.ownerUserId, owner.userId ?? "");
  const rows = await orm
    .select({ slug: projects.slug })
    .from(projects)
    .where(and(ownerCond, or(eq(projects.slug, base), like(projects.slug, `${base}-%`))));
  const used = new Set(rows.map((r) => r.slug.toLowerCase()));
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}

/**
 * Creates a project owned by `user`, or by a team when `input.team` is given (the user must
 * be the team's owner, maintainer or member, or an instance admin). Creates its files folder
 * and its git repository — empty, or filled by `origin.seed` (a template's files, a fork's
 * history). A fork's visibility defaults to its source's and may only be more private.
 */
export async function createProject(orm: Orm, dataDir: string, user: User, input: NewProject, origin: ProjectOrigin = {}): Promise<Project> {
  const source = origin.forkedFrom;
  const visibility = input.visibility ?? source?.visibility ?? "private";
  const errors: Record<string, string> = {};
  checkFields({ name: input.name ?? "", description: input.description, visibility }, errors);
  if (!errors.visibility && source && !atLeastAsPrivate(visibility, source.visibility)) errors.visibility = forkVisibilityError(source.visibility);
  if (Object.keys(errors).length > 0) throw invalid(Object.values(errors)[0] ?? "Invalid project.", errors);
  const name = input.name.trim();
  const description = (input.description ?? "").trim();

  let teamId: string | null = null;
  if (input.team !== undefined && input.team !== "") {
    const team = await resolveTeam(orm, input.team);
    if (!team) throw notFound("Team");
    if (user.role !== "admin") {
      const m = await orm
        .select({ role: teamMembers.role })
        .from(teamMembers)
        .where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, user.id)))
        .get();
      if (!m || m.role === "viewer") throw forbidden("Only team owners, maintainers and members can create projects in this team.");
    }
    teamId = team.id;
  }
  const owner = { userId: teamId ? null : user.id, teamId };
  const base = slugify(name, SLUG_BASE_MAX) || "project";

  const id = newId();
  await ensureProjectDirs(dataDir, id);
  try {
    const paths = await ensureRepo(dataDir, id);
    if (origin.seed) await origin.seed(paths, id);
    for (let attempt = 0; ; attempt++) {
      const now = Date.now();
      const project: Project = {
        id,
        ownerUserId: owner.userId,
        ownerTeamId: owner.teamId,
        slug: await freeSlug(orm, owner, base),
        name,
        description,
        visibility,
        createdBy: user.id,
        createdAt: now,
        updatedAt: now,
        forkedFromId: source?.id ?? null,
        template: origin.template ?? null,
        isTemplate: false,
        starCount: 0,
        forkCount: 0,
      };
      const created = orm.insert(events).values(
        eventValues({
          actorId: user.id,
          kind: origin.event?.kind ?? "project.created",
          subjectType: "project",
          subjectId: id,
          projectId: id,
          teamId,
          data: { slug: project.slug, name, visibility, ...origin.event?.data },
        }),
      );
      const countFork = source ? [orm.update(projects).set({ forkCount: sql`${projects.forkCount} + 1` }).where(eq(projects.id, source.id))] : [];
      try {
        await orm.batch([orm.insert(projects).values(project), ...countFork, created]);
        // A template's or a fork's files are already there; a failed scan only leaves tech empty until the next change.
        await refreshTech(orm, dataDir, id).catch(() => {});
        return project;
      } catch (e) {
        // Another project took the slug in the meantime: pick again.
        if (isUniqueViolation(e) && attempt < 5) continue;
        if (isUniqueViolation(e)) throw conflict("Could not find a free project slug; try another name.");
        // The source was deleted while its history was being copied.
        if (source && isForeignKeyViolation(e)) throw notFound("Project");
        throw e;
      }
    }
  } catch (e) {
    await removeProjectDir(dataDir, id).catch(() => {});
    throw e;
  }
}

export async function getProject(orm: Orm, id: string): Promise<Project | undefined> {
  return orm.select().from(projects).where(eq(projects.id, id)).get();
}

/** `ownerHandle` is a username or a team slug (one namespace); both lookups are case-insensitive. */
export async function findProjectByOwnerSlug(orm: Orm, ownerHandle: string, slug: string): Promise<Project | undefined> {
  const handle = ownerHandle.toLowerCase();
  return orm
    .select()
    .from(projects)
    .where(
      and(
        or(
          eq(projects.ownerUserId, sql`(SELECT id FROM users WHERE username = ${handle})`),
          eq(projects.ownerTeamId, sql`(SELECT id FROM teams WHERE slug = ${handle})`),
        ),
        sql`${projects.slug} = ${slug.toLowerCase()} COLLATE NOCASE`,
      ),
    )
    .get();
}

/** Projects the user owns or reaches through a team (any role), most recently updated first. */
export async function listProjectsForUser(orm: Orm, user: User, p: Page = {}): Promise<Project[]> {
  const { limit, offset } = page(p);
  return orm
    .select()
    .from(projects)
    .where(
      or(
        eq(projects.ownerUserId, user.id),
        inArray(projects.ownerTeamId, orm.select({ id: teamMembers.teamId }).from(teamMembers).where(eq(teamMembers.userId, user.id))),
      ),
    )
    .orderBy(desc(projects.updatedAt), desc(projects.id))
    .limit(limit)
    .offset(offset);
}

/** Public projects (not unlisted), most recently updated first. */
export async function listPublicProjects(orm: Orm, p: Page = {}): Promise<Project[]> {
  const { limit, offset } = page(p);
  return orm
    .select()
    .from(projects)
    .where(eq(projects.visibility, "public"))
    .orderBy(desc(projects.updatedAt), desc(projects.id))
    .limit(limit)
    .offset(offset);
}

/**
 * Changes name, description, visibility or the template mark; the slug stays. A fork may not
 * become more visible than its source (a private project's fork stays private).
 * Returns the updated project.
 */
export async function updateProject(orm: Orm, project: Project, patch: ProjectPatch, actorId: string | null): Promise<Project> {
  const errors: Record<string, string> = {};
  checkFields(patch, errors);
  if (patch.isTemplate !== undefined && typeof patch.isTemplate !== "boolean") errors.isTemplate = "isTemplate must be true or false.";
  if (!errors.visibility && patch.visibility !== undefined && project.forkedFromId && !atLeastAsPrivate(patch.visibility, project.visibility)) {
    const source = await getProject(orm, project.forkedFromId);
    if (source && !atLeastAsPrivate(patch.visibility, source.visibility)) errors.visibility = forkVisibilityError(source.visibility);
  }
  if (Object.keys(errors).length > 0) throw invalid(Object.values(errors)[0] ?? "Invalid project.", errors);
  const next: Partial<Pick<Project, "name" | "description" | "visibility">> = {};
  if (patch.name !== undefined && patch.name.trim() !== project.name) next.name = patch.name.trim();
  if (patch.description !== undefined && patch.description.trim() !== project.description) next.description = patch.description.trim();
  if (patch.visibility !== undefined && patch.visibility !== project.visibility) next.visibility = patch.visibility;
  const isTemplate = patch.isTemplate !== undefined && patch.isTemplate !== project.isTemplate ? patch.isTemplate : undefined;
  if (Object.keys(next).length === 0 && isTemplate === undefined) return project;
  const updatedAt = Date.now();
  const event = (kind: string, data: Record<string, unknown>) =>
    orm.insert(events).values(eventValues({ actorId, kind, subjectType: "project", subjectId: project.id, projectId: project.id, teamId: project.ownerTeamId, data }));
  const data: Record<string, unknown> = { ...next };
  if (next.visibility) data.visibilityFrom = project.visibility;
  const [res] = await orm.batch([
    orm
      .update(projects)
      .set({ ...next, ...(isTemplate !== undefined ? { isTemplate } : {}), updatedAt })
      .where(eq(projects.id, project.id)),
    ...(Object.keys(next).length > 0 ? [event("project.updated", data)] : []),
    // Its own event, so the activity feed can say "marked … as a template".
    ...(isTemplate !== undefined ? [event(isTemplate ? "project.template_marked" : "project.template_unmarked", { name: next.name ?? project.name })] : []),
  ]);
  if (res.rowsAffected === 0) throw notFound("Project");
  return { ...project, ...next, ...(isTemplate !== undefined ? { isTemplate } : {}), updatedAt };
}

/** Deletes the project row and everything on disk under `<dataDir>/projects/<id>`. Its events stay. */
export async function deleteProject(orm: Orm, dataDir: string, project: Project, actorId: string | null): Promise<void> {
  const [res] = await orm.batch([
    orm.delete(projects).where(eq(projects.id, project.id)),
    orm.insert(events).values(
      eventValues({
        actorId,
        kind: "project.deleted",
        subjectType: "project",
        subjectId: project.id,
        projectId: project.id,
        teamId: project.ownerTeamId,
        data: { slug: project.slug, name: project.name },
      }),
    ),
  ]);
  if (res.rowsAffected === 0) throw notFound("Project");
  await removeProjectDir(dataDir, project.id);
}

/**
 * The API shape of a project. `forkedFrom` is the source's reference, which projectsJson and
 * projectJsonFor resolve; without it a fork shows `forkedFrom: null`.
 */
export function projectJson(
  project: Project,
  ownerHandle: string,
  baseUrl?: string,
  forkedFrom: ForkRef | null = null,
  labels?: { tags: string[]; tech: string[] },
): ProjectJson {
  return {
    id: project.id,
    slug: project.slug,
    name: project.name,
    description: project.description,
    visibility: project.visibility,
    owner: ownerHandle,
    ownerType: project.ownerTeamId ? "team" : "user",
    createdAt: new Date(project.createdAt).toISOString(),
    updatedAt: new Date(project.updatedAt).toISOString(),
    forkedFrom: project.forkedFromId !== null && forkedFrom?.id === project.forkedFromId ? forkedFrom : null,
    template: project.template,
    isTemplate: project.isTemplate,
    stars: project.starCount,
    forks: project.forkCount,
    ...(labels ? { tags: labels.tags, tech: labels.tech } : {}),
    ...(baseUrl !== undefined ? { cloneUrl: cloneUrl(baseUrl, ownerHandle, project.slug) } : {}),
  };
}

/** Owner handles (username or team slug) for many projects in one query: project id → handle. */
export async function ownerHandles(orm: Orm, list: Pick<Project, "ownerUserId" | "ownerTeamId" | "id">[]): Promise<Map<string, string>> {
  const userIds = [...new Set(list.map((p) => p.ownerUserId).filter((x): x is string => x !== null))];
  const teamIds = [...new Set(list.map((p) => p.ownerTeamId).filter((x): x is string => x !== null))];
  const byOwner = new Map<string, string>();
  if (userIds.length > 0 || teamIds.length > 0) {
    const rows = await orm.all<{ kind: string; id: string; handle: string }>(sql`
      SELECT 'u' AS kind, id, username AS handle FROM users WHERE id IN (${userIds.length ? sql.join(userIds.map((i) => sql`${i}`), sql`, `) : sql`NULL`})
      UNION ALL
      SELECT 't' AS kind, id, slug AS handle FROM teams WHERE id IN (${teamIds.length ? sql.join(teamIds.map((i) => sql`${i}`), sql`, `) : sql`NULL`})`);
    for (const r of rows) byOwner.set(`${r.kind}:${r.id}`, r.handle);
  }
  const out = new Map<string, string>();
  for (const p of list) {
    const h = p.ownerTeamId ? byOwner.get(`t:${p.ownerTeamId}`) : byOwner.get(`u:${p.ownerUserId}`);
    if (h !== undefined) out.set(p.id, h);
  }
  return out;
}

export async function ownerHandle(orm: Orm, project: Project): Promise<string> {
  return (await ownerHandles(orm, [project])).get(project.id) ?? "";
}

/** The sources of forks, with their owners: source id → reference. Two queries for any number of projects. */
export async function forkSources(orm: Orm, list: Pick<Project, "forkedFromId">[]): Promise<Map<string, ForkRef>> {
  const ids = [...new Set(list.map((p) => p.forkedFromId).filter((x): x is string => x !== null))];
  const out = new Map<string, ForkRef>();
  if (ids.length === 0) return out;
  const sources = await orm.select().from(projects).where(inArray(projects.id, ids));
  const handles = await ownerHandles(orm, sources);
  for (const s of sources) out.set(s.id, { id: s.id, owner: handles.get(s.id) ?? "", slug: s.slug });
  return out;
}

/** projectJson for a list, resolving owners and fork sources in batches. */
export async function projectsJson(orm: Orm, list: Project[], baseUrl?: string): Promise<ProjectJson[]> {
  const ids = list.map((p) => p.id);
  const [handles, sources, tags, tech] = await Promise.all([ownerHandles(orm, list), forkSources(orm, list), tagsOf(orm, ids), techOf(orm, ids)]);
  return list.map((p) =>
    projectJson(p, handles.get(p.id) ?? "", baseUrl, p.forkedFromId ? (sources.get(p.forkedFromId) ?? null) : null, {
      tags: tags.get(p.id) ?? [],
      tech: tech.get(p.id) ?? [],
    }),
  );
}

/** projectJson for one project, its owner and fork source resolved. */
export async function projectJsonFor(orm: Orm, project: Project, baseUrl?: string): Promise<ProjectJson> {
  return (await projectsJson(orm, [project], baseUrl))[0] as ProjectJson;
}
