/**
 * Templates: what a new project can start from.
 *
 * - Built-in templates ship inside the binary (templates/<id>/, embedded by
 *   templates/generate.ts). A project made from one gets the template's files as its first
 *   version ("Create from template <name>") and remembers the template's id.
 * - Any project its owner marks as a template (`is_template`) can be started from by anyone
 *   who can read it. That is a fork: the new project gets the template's full history and
 *   its lineage (`forked_from_id`), and the template's fork count goes up.
 */
import { and, asc, desc, eq } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { projects, teamMembers, type Project, type User } from "../db/schema.ts";
import { invalid, type ApiError } from "../lib/errors.ts";
import { checkName } from "../lib/validate.ts";
import { projectLevel } from "./access.ts";
import { writeFile } from "./files.ts";
import { accessFor, actorFor, forkProject } from "./fork.ts";
import { withRepoLock, type RepoPaths } from "./git.ts";
import { createProject, ownerHandles, PROJECT_NAME_MAX, type NewProject } from "./projects.ts";
import { EMBEDDED_TEMPLATES } from "./templates/embedded.ts";
import type { EmbeddedTemplate } from "./templates/generate.ts";
import { commitWorkingTree, editorOf } from "./versions.ts";

export type BuiltInTemplate = EmbeddedTemplate;

export type TemplateJson = {
  /** A built-in template's id (e.g. "static-site") or the template project's id. */
  id: string;
  name: string;
  description: string;
  tags: string[];
  builtIn: boolean;
  /** A template project's owner handle (username or team slug). */
  owner?: string;
  /** A template project's slug. */
  slug?: string;
};

/** How many template projects the listing shows at most (most starred first). */
const PROJECT_TEMPLATES_MAX = 200;

/** The built-in templates, in display order. */
export function builtInTemplates(): readonly BuiltInTemplate[] {
  return EMBEDDED_TEMPLATES;
}

export function builtInTemplate(id: string): BuiltInTemplate | undefined {
  return EMBEDDED_TEMPLATES.find((t) => t.id === id);
}

export function builtInJson(t: BuiltInTemplate): TemplateJson {
  return { id: t.id, name: t.name, description: t.description, tags: [...t.tags], builtIn: true };
}

/**
 * Project templates `user` can see listed: public ones, and those they own or reach through a
 * team. (Unlisted or private templates of others are left out, as unlisted projects are from
 * every listing; a readable one can still be used by its id.)
 */
export async function listProjectTemplates(orm: Orm, user: User): Promise<Project[]> {
  const rows = await orm
    .select({ project: projects, role: teamMembers.role })
    .from(projects)
    .leftJoin(teamMembers, and(eq(teamMembers.teamId, projects.ownerTeamId), eq(teamMembers.userId, user.id)))
    .where(eq(projects.isTemplate, true))
    .orderBy(desc(projects.starCount), asc(projects.name), asc(projects.id));
  const actor = actorFor(user);
  return rows
    .filter(({ project, role }) => {
      if (projectLevel(project, actor, role ?? null) === "none") return false;
      return project.visibility === "public" || project.ownerUserId === user.id || role !== null;
    })
    .slice(0, PROJECT_TEMPLATES_MAX)
    .map((r) => r.project);
}

/** Built-ins first, then the project templates `user` can see listed. */
export async function listTemplates(orm: Orm, user: User): Promise<TemplateJson[]> {
  const list = await listProjectTemplates(orm, user);
  const handles = await ownerHandles(orm, list);
  return [
    ...builtInTemplates().map(builtInJson),
    ...list.map((p): TemplateJson => ({ id: p.id, name: p.name, description: p.description, tags: [], builtIn: false, owner: handles.get(p.id) ?? "", slug: p.slug })),
  ];
}

/** A project marked as template that `user` can read, or undefined (unknown, unreadable and unmarked look the same). */
export async function readableTemplate(orm: Orm, user: User, id: string): Promise<Project | undefined> {
  if (!/^[a-z0-9]{1,64}$/.test(id)) return undefined;
  const { project, level } = await accessFor(orm, user, id);
  return project && level !== "none" && project.isTemplate ? project : undefined;
}

/** Writes a built-in template's files into a new project's working tree and saves them as its first version, by `user`. */
export async function seedBuiltIn(dataDir: string, projectId: string, paths: RepoPaths, template: BuiltInTemplate, user: User): Promise<void> {
  const encoder = new TextEncoder();
  await withRepoLock(projectId, async () => {
    for (const [path, text] of Object.entries(template.files)) {
      await writeFile(dataDir, projectId, path, encoder.encode(text), Number.MAX_SAFE_INTEGER);
    }
    const entry = await commitWorkingTree(paths, `Create from template ${template.name}`, editorOf(user));
    if (!entry) throw new Error(`template ${template.id} has no files`);
  });
}

function unknownTemplate(input: NewProject): ApiError {
  const details: Record<string, string> = {
    template: "No such template. Pick a built-in template or a project marked as a template that you can open.",
  };
  const nameError = checkName(input.name ?? "", "Project name", PROJECT_NAME_MAX);
  if (nameError) details.name = nameError;
  return invalid(details.template as string, details);
}

/**
 * Creates a project from a template: a built-in id, or the id of a readable project marked as
 * template (a fork of it). Unknown template → 422 with `details.template`. Visibility defaults
 * to private, as for any new project; from a template project it cannot be more visible than
 * the template.
 */
export async function createFromTemplate(orm: Orm, dataDir: string, user: User, input: NewProject & { template: string }): Promise<Project> {
  const { template: templateId, ...fields } = input;
  const id = templateId.trim();
  const builtIn = builtInTemplate(id);
  if (builtIn) {
    return createProject(orm, dataDir, user, fields, {
      template: builtIn.id,
      seed: (paths, projectId) => seedBuiltIn(dataDir, projectId, paths, builtIn, user),
      event: { kind: "project.created", data: { template: builtIn.id } },
    });
  }
  const source = await readableTemplate(orm, user, id);
  if (!source) throw unknownTemplate(fields);
  const description = fields.description?.trim() ? fields.description : undefined;
  return forkProject(orm, dataDir, source, user, { name: fields.name, team: fields.team, visibility: fields.visibility ?? "private", description }, "template");
}
