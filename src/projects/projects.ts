/**
 * Projects: owned by a user or a team, addressed as `<owner handle>/<slug>`.
 * The slug comes from the name once (unique per owner) and never changes on rename.
 * Access rules live in ./access.ts; files on disk in ./files.ts.
 */
import { and, desc, eq, inArray, like, or, sql } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, projects, teamMembers, teams, type Project, type Team, type User, type Visibility } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { newId } from "../lib/crypto.ts";
import { conflict, forbidden, invalid, notFound } from "../lib/errors.ts";
import { checkName, slugify } from "../lib/validate.ts";
import { ensureProjectDirs, removeProjectDir } from "./files.ts";
import { ensureRepo } from "./versions.ts";

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

export type ProjectPatch = { name?: string; description?: string; visibility?: Visibility };
export type Page = { limit?: number; offset?: number };

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
  /** `git clone` URL; present when projectJson is given the instance's base URL. */
  cloneUrl?: string;
};

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
 * and its (empty) git repository.
 */
export async function createProject(orm: Orm, dataDir: string, user: User, input: NewProject): Promise<Project> {
  const errors: Record<string, string> = {};
  checkFields({ name: input.name ?? "", description: input.description, visibility: input.visibility }, errors);
  if (Object.keys(errors).length > 0) throw invalid(Object.values(errors)[0] ?? "Invalid project.", errors);
  const name = input.name.trim();
  const description = (input.description ?? "").trim();
  const visibility = input.visibility ?? "private";

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
    await ensureRepo(dataDir, id);
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
        forkedFromId: null,
        template: null,
        isTemplate: false,
        starCount: 0,
        forkCount: 0,
      };
      try {
        await orm.batch([
          orm.insert(projects).values(project),
          orm.insert(events).values(
            eventValues({
              actorId: user.id,
              kind: "project.created",
              subjectType: "project",
              subjectId: id,
              projectId: id,
              teamId,
              data: { slug: project.slug, name, visibility },
            }),
          ),
        ]);
        return project;
      } catch (e) {
        // Another project took the slug in the meantime: pick again.
        if (isUniqueViolation(e) && attempt < 5) continue;
        if (isUniqueViolation(e)) throw conflict("Could not find a free project slug; try another name.");
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

/** Changes name, description or visibility; the slug stays. Returns the updated project. */
export async function updateProject(orm: Orm, project: Project, patch: ProjectPatch, actorId: string | null): Promise<Project> {
  const errors: Record<string, string> = {};
  checkFields(patch, errors);
  if (Object.keys(errors).length > 0) throw invalid(Object.values(errors)[0] ?? "Invalid project.", errors);
  const next: Partial<Pick<Project, "name" | "description" | "visibility">> = {};
  if (patch.name !== undefined && patch.name.trim() !== project.name) next.name = patch.name.trim();
  if (patch.description !== undefined && patch.description.trim() !== project.description) next.description = patch.description.trim();
  if (patch.visibility !== undefined && patch.visibility !== project.visibility) next.visibility = patch.visibility;
  if (Object.keys(next).length === 0) return project;
  const updatedAt = Date.now();
  const data: Record<string, unknown> = { ...next };
  if (next.visibility) data.visibilityFrom = project.visibility;
  const [res] = await orm.batch([
    orm.update(projects).set({ ...next, updatedAt }).where(eq(projects.id, project.id)),
    orm.insert(events).values(
      eventValues({ actorId, kind: "project.updated", subjectType: "project", subjectId: project.id, projectId: project.id, teamId: project.ownerTeamId, data }),
    ),
  ]);
  if (res.rowsAffected === 0) throw notFound("Project");
  return { ...project, ...next, updatedAt };
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

export function projectJson(project: Project, ownerHandle: string, baseUrl?: string): ProjectJson {
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

/** projectJson for a list, resolving owners in one query. */
export async function projectsJson(orm: Orm, list: Project[], baseUrl?: string): Promise<ProjectJson[]> {
  const handles = await ownerHandles(orm, list);
  return list.map((p) => projectJson(p, handles.get(p.id) ?? "", baseUrl));
}
