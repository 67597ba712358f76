/**
 * The prompt library: prompt templates people write, share, improve and reuse.
 *
 * Every edit of the text is a new version; old versions are never rewritten (prompt_versions
 * rows are only ever inserted), so any two can be compared. Name, description and sharing are
 * the prompt's own and change in place. Sharing is private (the owner), team (members of a
 * team the owner belongs to) or instance (every signed-in account); prompts-search.ts holds
 * that rule, and every function here that takes a `PromptSummary` was handed one that
 * `getVisiblePrompt` let the caller see. Votes are one per user and may change; each use of a
 * version (rendering it) is recorded and may get a thumbs up or down from whoever used it.
 * Creating, editing, sharing, copying and deleting append events (subject type "prompt").
 */
import { and, asc, eq, sql, type SQL } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, promptUses, promptVersions, prompts, users, type User } from "../db/schema.ts";
import { conflict, forbidden, invalid, notFound } from "../lib/errors.ts";
import { checkName } from "../lib/validate.ts";
import { newId } from "../lib/crypto.ts";
import { findTeamBySlug, getTeam, teamRole } from "../teams/teams.ts";
import { checkBody, normalizeText, renderTemplate, resolveVariables, type PromptVariable } from "./prompt-template.ts";
import { getVisiblePrompt, PROMPT_VISIBILITIES, type PromptSummary, type PromptVisibility } from "./prompts-search.ts";

export const NAME_MAX = 100;
export const DESCRIPTION_MAX = 2000;
export const NOTE_MAX = 500;

export type PromptVersion = {
  version: number;
  body: string;
  variables: PromptVariable[];
  note: string;
  createdBy: { id: string; username: string; name: string } | null;
  createdAt: number;
};

export type VersionStats = { version: number; uses: number; up: number; down: number };

export type PromptInput = {
  name: string;
  description?: string;
  body: string;
  variables?: PromptVariable[];
  visibility?: PromptVisibility;
  /** A team id or slug; required for team visibility, ignored otherwise. */
  team?: string | null;
  note?: string;
};

export type PromptPatch = Partial<PromptInput> & {
  /** The version the edit started from: when another was saved since, the edit is refused (409). */
  baseVersion?: number;
};

type EventRow = typeof events.$inferInsert;

function promptEvent(actorId: string, kind: string, promptId: string, teamId: string | null, data: Record<string, unknown>): EventRow {
  return { at: Date.now(), actorId, kind, subjectType: "prompt", subjectId: promptId, projectId: null, teamId, data: JSON.stringify(data) };
}

/** The same event, inserted only when the statement just before it (in the same batch) changed a row. */
function eventIfChanged(orm: Orm, e: EventRow) {
  return orm.run(sql`INSERT INTO events (at, actor_id, kind, subject_type, subject_id, project_id, team_id, data)
    SELECT ${e.at}, ${e.actorId}, ${e.kind}, ${e.subjectType}, ${e.subjectId}, NULL, ${e.teamId}, ${e.data} WHERE changes() > 0`);
}

/** Variables as stored (JSON); anything malformed in the column is dropped rather than trusted. */
export function parseVariables(json: string): PromptVariable[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  const out: PromptVariable[] = [];
  for (const v of raw) {
    if (!v || typeof v !== "object") continue;
    const { name, description, default: dflt } = v as Record<string, unknown>;
    if (typeof name !== "string") continue;
    out.push({ name, description: typeof description === "string" ? description : "", ...(typeof dflt === "string" ? { default: dflt } : {}) });
  }
  return out;
}

function checkText(value: string, what: string, max: number): string | undefined {
  if (value.length > max) return `${what} must be at most ${max} characters.`;
  if (/\u0000/.test(value)) return `${what} must not contain NUL characters.`;
  return undefined;
}

/**
 * The team a prompt is shared with: it must exist and the owner must be in it (any role).
 * `current` — the team it is already shared with — stays accepted after the owner left it, so
 * editing the text does not force a change of sharing.
 */
async function sharingTeam(
  orm: Orm,
  owner: User,
  visibility: PromptVisibility,
  team: string | null | undefined,
  errors: Record<string, string>,
  current: string | null = null,
): Promise<string | null> {
  if (visibility !== "team") return null;
  if (!team) {
    errors.team = "Choose the team to share it with.";
    return null;
  }
  const found = (await getTeam(orm, team)) ?? (await findTeamBySlug(orm, team));
  if (found && found.id === current) return current;
  if (!found || (await teamRole(orm, found.id, owner.id)) === null) {
    errors.team = "You can share only with a team you are a member of.";
    return null;
  }
  return found.id;
}

function failIfErrors(errors: Record<string, string>, what: string): void {
  if (Object.keys(errors).length > 0) throw invalid(Object.values(errors)[0] ?? `Invalid ${what}.`, errors);
}

export async function createPrompt(orm: Orm, owner: User, input: PromptInput, origin?: { from: string; version: number }): Promise<PromptSummary> {
  const errors: Record<string, string> = {};
  const name = input.name.trim();
  const description = normalizeText(input.description ?? "").trim();
  const body = normalizeText(input.body);
  const note = (input.note ?? "").trim();
  const visibility = input.visibility ?? "private";
  const ne = checkName(name, "Name", NAME_MAX);
  if (ne) errors.name = ne;
  const de = checkText(description, "The description", DESCRIPTION_MAX);
  if (de) errors.description = de;
  const be = checkBody(body);
  if (be) errors.body = be;
  const noteError = checkText(note, "The note", NOTE_MAX);
  if (noteError) errors.note = noteError;
  if (!PROMPT_VISIBILITIES.includes(visibility)) errors.visibility = "Choose private, team or instance.";
  const { variables, errors: varErrors } = resolveVariables(body, input.variables);
  Object.assign(errors, varErrors);
  const teamId = await sharingTeam(orm, owner, visibility, input.team, errors);
  failIfErrors(errors, "prompt");

  const id = newId();
  const now = Date.now();
  await orm.batch([
    orm.insert(prompts).values({ id, ownerId: owner.id, teamId, visibility, name, description, currentVersion: 1, createdAt: now, updatedAt: now }),
    orm.insert(promptVersions).values({ promptId: id, version: 1, body, variables: JSON.stringify(variables), note, createdBy: owner.id, createdAt: now }),
    orm.insert(events).values(promptEvent(owner.id, "prompt.created", id, teamId, { name, visibility, ...(origin ? { copiedFrom: origin.from, version: origin.version } : {}) })),
  ]);
  return getVisiblePrompt(orm, owner.id, id);
}

export async function getVersion(orm: Orm, prompt: PromptSummary, version: number): Promise<PromptVersion> {
  const row = await orm
    .select({ v: promptVersions, u: { id: users.id, username: users.username, name: users.name } })
    .from(promptVersions)
    .leftJoin(users, eq(users.id, promptVersions.createdBy))
    .where(and(eq(promptVersions.promptId, prompt.id), eq(promptVersions.version, version)))
    .get();
  if (!row) throw notFound("Version");
  return { version: row.v.version, body: row.v.body, variables: parseVariables(row.v.variables), note: row.v.note, createdBy: row.u, createdAt: row.v.createdAt };
}

/** Every version, oldest first, without their text (a long history stays light). */
export async function listVersions(orm: Orm, prompt: PromptSummary): Promise<Omit<PromptVersion, "body" | "variables">[]> {
  const rows = await orm
    .select({ version: promptVersions.version, note: promptVersions.note, createdAt: promptVersions.createdAt, u: { id: users.id, username: users.username, name: users.name } })
    .from(promptVersions)
    .leftJoin(users, eq(users.id, promptVersions.createdBy))
    .where(eq(promptVersions.promptId, prompt.id))
    .orderBy(asc(promptVersions.version));
  return rows.map((r) => ({ version: r.version, note: r.note, createdAt: r.createdAt, createdBy: r.u }));
}

/**
 * Edits a prompt (owner only). A changed text or variables make a new version with `note`;
 * name, description and sharing change in place. Nothing changed: the prompt as it is.
 */
export async function editPrompt(orm: Orm, user: User, promptId: string, patch: PromptPatch): Promise<{ prompt: PromptSummary; newVersion: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const prompt = await getVisiblePrompt(orm, user.id, promptId);
    if (prompt.ownerId !== user.id) throw forbidden("Only the prompt's owner can edit it. Copy it to make your own.");
    const base = prompt.currentVersion;
    if (patch.baseVersion !== undefined && patch.baseVersion !== base) {
      throw conflict(`Version ${base} was saved after the version ${patch.baseVersion} you edited. Look at it, then make your change again.`, {
        body: `Version ${base} was saved since you started editing.`,
      });
    }
    const current = await getVersion(orm, prompt, base);
    const errors: Record<string, string> = {};
    const name = patch.name !== undefined ? patch.name.trim() : prompt.name;
    const description = patch.description !== undefined ? normalizeText(patch.description).trim() : prompt.description;
    const body = patch.body !== undefined ? normalizeText(patch.body) : current.body;
    const note = (patch.note ?? "").trim();
    const visibility = patch.visibility ?? prompt.visibility;
    const ne = checkName(name, "Name", NAME_MAX);
    if (ne) errors.name = ne;
    const de = checkText(description, "The description", DESCRIPTION_MAX);
    if (de) errors.description = de;
    const be = checkBody(body);
    if (be) errors.body = be;
    const noteError = checkText(note, "The note", NOTE_MAX);
    if (noteError) errors.note = noteError;
    if (!PROMPT_VISIBILITIES.includes(visibility)) errors.visibility = "Choose private, team or instance.";
    const { variables, errors: varErrors } = resolveVariables(body, patch.variables, current.variables);
    Object.assign(errors, varErrors);
    const sharedWith = prompt.visibility === "team" ? prompt.teamId : null;
    const teamId = await sharingTeam(orm, user, visibility, patch.team === undefined ? sharedWith : patch.team, errors, sharedWith);
    failIfErrors(errors, "prompt");

    const newVersion = body !== current.body || JSON.stringify(variables) !== JSON.stringify(current.variables);
    const renamed = name !== prompt.name || description !== prompt.description;
    const reshared = visibility !== prompt.visibility || teamId !== prompt.teamId;
    if (!newVersion && !renamed && !reshared) return { prompt, newVersion: false };

    const now = Date.now();
    const statements: SQL[] = [];
    if (newVersion) {
      statements.push(sql`INSERT INTO prompt_versions (prompt_id, version, body, variables, note, created_by, created_at)
        SELECT id, current_version + 1, ${body}, ${JSON.stringify(variables)}, ${note}, ${user.id}, ${now} FROM prompts WHERE id = ${prompt.id} AND current_version = ${base}`);
    }
    // Guarded by the version read above: a concurrent edit makes this change nothing, and the events after it are skipped.
    statements.push(sql`UPDATE prompts SET name = ${name}, description = ${description}, visibility = ${visibility}, team_id = ${teamId},
      current_version = current_version + ${newVersion ? 1 : 0}, updated_at = ${now} WHERE id = ${prompt.id} AND current_version = ${base}`);
    const followUps: EventRow[] = [];
    if (newVersion) followUps.push(promptEvent(user.id, "prompt.edited", prompt.id, teamId, { version: base + 1, note }));
    if (renamed) followUps.push(promptEvent(user.id, "prompt.updated", prompt.id, teamId, { name, description }));
    if (reshared) followUps.push(promptEvent(user.id, "prompt.shared", prompt.id, teamId, { from: prompt.visibility, to: visibility, teamId }));
    const [first, ...rest] = statements.map((s) => orm.run(s));
    if (!first) throw new Error("no statement to run");
    const results = await orm.batch([first, ...rest, ...followUps.map((e) => eventIfChanged(orm, e))]);
    const updated = results[statements.length - 1] as { rowsAffected: number };
    if (updated.rowsAffected === 1) return { prompt: await getVisiblePrompt(orm, user.id, prompt.id), newVersion };
    // Someone saved in between. Without a base version the caller asked for "apply to the latest": try again.
    if (patch.baseVersion !== undefined || attempt >= 2) {
      throw conflict("Someone else saved this prompt at the same moment. Reload it and make your change again.");
    }
  }
}

/** Deletes a prompt with all its versions, votes and uses: its owner, or an instance admin who can see it. */
export async function deletePrompt(orm: Orm, user: User, promptId: string): Promise<void> {
  const prompt = await getVisiblePrompt(orm, user.id, promptId);
  if (prompt.ownerId !== user.id && user.role !== "admin") throw forbidden("Only the prompt's owner (or an instance admin) can delete it.");
  await orm.batch([
    orm.delete(prompts).where(eq(prompts.id, prompt.id)),
    orm.insert(events).values(promptEvent(user.id, "prompt.deleted", prompt.id, prompt.teamId, { name: prompt.name, owner: prompt.ownerId })),
  ]);
}

/** A private copy of a version (the current one by default) of a prompt the user can see, owned by the user. */
export async function copyPrompt(orm: Orm, user: User, promptId: string, o: { name?: string; version?: number } = {}): Promise<PromptSummary> {
  const source = await getVisiblePrompt(orm, user.id, promptId);
  const v = await getVersion(orm, source, o.version ?? source.currentVersion);
  const name = o.name?.trim() || `${source.name} (copy)`.slice(0, NAME_MAX);
  const note = `Copied from “${source.name}” version ${v.version} by ${source.ownerUsername}.`.slice(0, NOTE_MAX);
  return createPrompt(orm, user, { name, description: source.description, body: v.body, variables: v.variables, visibility: "private", note }, { from: source.id, version: v.version });
}

/** The prompt's vote counts after the user's vote: 1 up, -1 down, 0 takes the vote back. */
export async function votePrompt(orm: Orm, user: User, promptId: string, value: -1 | 0 | 1): Promise<PromptSummary> {
  const prompt = await getVisiblePrompt(orm, user.id, promptId);
  if (value === 0) await orm.run(sql`DELETE FROM prompt_votes WHERE prompt_id = ${prompt.id} AND user_id = ${user.id}`);
  else {
    await orm.run(sql`INSERT INTO prompt_votes (prompt_id, user_id, value, at) VALUES (${prompt.id}, ${user.id}, ${value}, ${Date.now()})
      ON CONFLICT (prompt_id, user_id) DO UPDATE SET value = excluded.value, at = excluded.at`);
  }
  return getVisiblePrompt(orm, user.id, prompt.id);
}

export type PromptUse = { id: number; version: number; feedback: number | null; at: number };

/** One of the user's own uses of this prompt. */
export async function getUse(orm: Orm, user: User, prompt: PromptSummary, useId: number): Promise<PromptUse | undefined> {
  const row = await orm
    .select({ id: promptUses.id, version: promptUses.version, feedback: promptUses.feedback, at: promptUses.at })
    .from(promptUses)
    .where(and(eq(promptUses.id, useId), eq(promptUses.promptId, prompt.id), eq(promptUses.userId, user.id)))
    .get();
  return row ?? undefined;
}

/**
 * Renders a version (the current one by default) with `values` and records it as a use of
 * that version. Given `useId` — one of the user's own uses of the same version — it renders
 * again for that use without counting another (a page reloaded, a chat panel opened from a link).
 */
export async function usePrompt(
  orm: Orm,
  user: User,
  promptId: string,
  o: { values: Record<string, string>; version?: number; useId?: number },
): Promise<{ text: string; useId: number; version: number }> {
  const prompt = await getVisiblePrompt(orm, user.id, promptId);
  const v = await getVersion(orm, prompt, o.version ?? prompt.currentVersion);
  const text = renderTemplate(v.body, v.variables, o.values);
  if (o.useId !== undefined) {
    const use = await getUse(orm, user, prompt, o.useId);
    if (!use || use.version !== v.version) throw notFound("Use");
    return { text, useId: use.id, version: v.version };
  }
  const row = await orm.insert(promptUses).values({ promptId: prompt.id, version: v.version, userId: user.id, at: Date.now() }).returning({ id: promptUses.id }).get();
  return { text, useId: row.id, version: v.version };
}

/** Thumbs up (1) or down (-1) on what a use produced, or 0 to take it back; only by whoever used it. */
export async function setUseFeedback(orm: Orm, user: User, promptId: string, useId: number, value: -1 | 0 | 1): Promise<PromptUse> {
  const prompt = await getVisiblePrompt(orm, user.id, promptId);
  const res = await orm
    .update(promptUses)
    .set({ feedback: value === 0 ? null : value })
    .where(and(eq(promptUses.id, useId), eq(promptUses.promptId, prompt.id), eq(promptUses.userId, user.id)))
    .run();
  if (res.rowsAffected === 0) throw notFound("Use");
  const use = await getUse(orm, user, prompt, useId);
  if (!use) throw notFound("Use");
  return use;
}

/** Uses and thumbs per version, newest version first; versions never used are left out. */
export async function versionStats(orm: Orm, prompt: PromptSummary): Promise<VersionStats[]> {
  const rows = await orm.all<{ version: number; uses: number; up: number; down: number }>(sql`
    SELECT version, count(*) AS uses, coalesce(sum(feedback = 1), 0) AS up, coalesce(sum(feedback = -1), 0) AS down
    FROM prompt_uses WHERE prompt_id = ${prompt.id} GROUP BY version ORDER BY version DESC`);
  return rows.map((r) => ({ version: Number(r.version), uses: Number(r.uses), up: Number(r.up), down: Number(r.down) }));
}
