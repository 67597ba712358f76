/**
 * What the search page (pages-search.tsx) asks for and what it gets back: reads the page's
 * query parameters — the same names and meanings as `GET /api/v1/search` (api-routes.ts) —
 * runs the search within the caller's scope (access.ts) and turns every failure into a message
 * for the field it belongs to (a bad regex beside the query, an unknown project beside the
 * project choice) or for the results area. No HTML here.
 */
import { inArray } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { projects, type Project } from "../db/schema.ts";
import { ApiError } from "../lib/errors.ts";
import { RateLimiter } from "../lib/ratelimit.ts";
import { getProject, listProjectsForUser, ownerHandles } from "../projects/projects.ts";
import { searchScope } from "./access.ts";
import { searchCode, type CodeSearchHit } from "./code.ts";
import { findFiles, type FileHit } from "./finder.ts";
import { searchProjects, type ProjectSearch } from "./projects.ts";
import { parseQuery } from "./query.ts";
import { semanticSearchScoped } from "./semantic.ts";
import type { CodeHit, ProjectHit } from "./types.ts";

/** The kinds of search the page offers (hybrid stays an API choice). */
export const PAGE_KINDS = ["code", "files", "projects", "semantic"] as const;
export type PageKind = (typeof PAGE_KINDS)[number];

/** The same bound as the API's: longer queries are refused beside the field. */
export const QUERY_MAX = 500;
const PATH_MAX = 1024;
const PAGE_SIZE: Record<PageKind, number> = { code: 20, files: 30, projects: 20, semantic: 20 };
/** Live search sends a request per pause in typing: generous, but bounded per address and account. */
const ANONYMOUS_PER_MINUTE = 120;
const USER_PER_MINUTE = 1200;
const PROJECT_CHOICES = 100;

export type PageParams = {
  /** As typed (shown back in the box). */
  q: string;
  type: PageKind;
  regex: boolean;
  caseSensitive: boolean;
  /** A project id, "" for every project in scope. */
  project: string;
  path: string;
  cursor: string;
};

export type SearchField = "q" | "path" | "project";
export type FieldErrors = Partial<Record<SearchField, string>>;

/** A code or semantic hit; `snippetStart` (the snippet's first line) is known for code hits. */
export type LineHit = CodeHit & { snippetStart?: number };

export type Found =
  | { kind: "code" | "semantic"; results: LineHit[]; next: string | null }
  | { kind: "files"; results: FileHit[]; next: string | null }
  | { kind: "projects"; results: ProjectHit[]; next: string | null; facets: ProjectSearch["facets"] };

export type Outcome =
  /** Nothing asked yet (no query): the page shows how to search. */
  | { kind: "idle" }
  | { kind: "found"; found: Found; names: Map<string, string> }
  /** `fields`: messages shown beside those fields; `message`: shown in the results area. */
  | { kind: "failed"; status: number; fields: FieldErrors; message: string | null };

/** Reads the page's parameters leniently: unknown values fall back to the defaults. */
export function readParams(query: Record<string, string | undefined>): PageParams {
  const type = PAGE_KINDS.find((k) => k === query.type) ?? "code";
  return {
    q: query.q ?? "",
    type,
    regex: type === "code" && query.regex === "1",
    caseSensitive: (type === "code" || type === "files") && query.case === "1",
    project: (query.project ?? "").trim(),
    path: (query.path ?? "").trim(),
    cursor: query.cursor ?? "",
  };
}

/** `/search?…` for these parameters (defaults left out), optionally changed. */
export function searchHref(p: PageParams, change: Partial<PageParams> = {}): string {
  const v = { ...p, ...change };
  const s = new URLSearchParams();
  if (v.q) s.set("q", v.q);
  if (v.type !== "code") s.set("type", v.type);
  if (v.regex) s.set("regex", "1");
  if (v.caseSensitive) s.set("case", "1");
  if (v.project) s.set("project", v.project);
  if (v.path) s.set("path", v.path);
  if (v.cursor) s.set("cursor", v.cursor);
  const qs = s.toString();
  return qs ? `/search?${qs}` : "/search";
}

const limiters = new WeakMap<App, { anonymous: RateLimiter; user: RateLimiter }>();

/** Seconds to wait when this caller searched too often, else 0. */
function rateWait(app: App, actor: Actor, ip: string): number {
  let l = limiters.get(app);
  if (!l) {
    l = { anonymous: new RateLimiter({ max: ANONYMOUS_PER_MINUTE, windowMs: 60_000 }), user: new RateLimiter({ max: USER_PER_MINUTE, windowMs: 60_000 }) };
    limiters.set(app, l);
  }
  return actor.kind === "user" ? l.user.hit(actor.user.id) : l.anonymous.hit(ip);
}

function checkInput(p: PageParams): FieldErrors {
  const errors: FieldErrors = {};
  if (p.q.length > QUERY_MAX) errors.q = `The query is ${p.q.length} characters long; at most ${QUERY_MAX} are searched.`;
  if (p.path.length > PATH_MAX) errors.path = `A path filter has at most ${PATH_MAX} characters.`;
  if (p.project.length > 64) errors.project = "That is not a project id.";
  return errors;
}

/** Which field an error from the search functions belongs to (their `details` name it). */
function fieldsOf(e: ApiError): FieldErrors {
  const out: FieldErrors = {};
  for (const [k, v] of Object.entries(e.details ?? {})) {
    // The message says what is wrong in a sentence; the detail is often shorter ("Required.").
    const text = e.message || v;
    if (k === "q" || k === "regex") out.q = text;
    else if (k === "path") out.path = text;
    else if (k === "project") out.project = text;
  }
  return out;
}

/** Labels ("owner / name") of the projects a page of results mentions. */
async function projectNames(app: App, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await app.db.orm.select().from(projects).where(inArray(projects.id, unique));
  return labels(app, rows);
}

async function labels(app: App, list: Project[]): Promise<Map<string, string>> {
  const handles = await ownerHandles(app.db.orm, list);
  return new Map(list.map((p) => [p.id, `${handles.get(p.id) ?? "?"} / ${p.name}`]));
}

async function find(app: App, actor: Actor, p: PageParams): Promise<Found | null> {
  const parsed = parseQuery(p.q);
  if (p.path) parsed.paths.push(p.path);
  const needsText = p.type !== "projects";
  if (parsed.text === "" && (needsText || (parsed.tags.length + parsed.techs.length + parsed.owners.length === 0))) return null;
  const scope = await searchScope(app, actor, p.project || undefined);
  const limit = PAGE_SIZE[p.type];
  const cursor = p.cursor ? { cursor: p.cursor } : {};
  switch (p.type) {
    case "code": {
      const r = await searchCode(app, scope, parsed, { regex: p.regex, caseSensitive: p.caseSensitive, limit, ...cursor });
      return { kind: "code", results: r.results satisfies CodeSearchHit[], next: r.next };
    }
    case "files": {
      const r = await findFiles(app, scope, parsed, { limit, ...cursor });
      return { kind: "files", results: r.results, next: r.next };
    }
    case "projects": {
      const r = await searchProjects(app, scope, parsed, { limit, ...cursor });
      return { kind: "projects", results: r.results, next: r.next, facets: r.facets };
    }
    case "semantic":
      return { kind: "semantic", results: await semanticSearchScoped(app, scope, parsed, limit), next: null };
  }
}

/** Runs the page's search for `actor`. Never throws an ApiError: failures become messages. */
export async function runPageSearch(app: App, actor: Actor, ip: string, p: PageParams): Promise<Outcome> {
  if (p.q.trim() === "") return { kind: "idle" };
  const fields = checkInput(p);
  if (Object.keys(fields).length > 0) return { kind: "failed", status: 422, fields, message: null };
  const wait = rateWait(app, actor, ip);
  if (wait > 0) {
    const message = actor.kind === "user" ? `Too many searches in a minute; try again in ${wait} s.` : `Too many searches from this address; sign in or try again in ${wait} s.`;
    return { kind: "failed", status: 429, fields: {}, message };
  }
  try {
    const found = await find(app, actor, p);
    if (!found) return { kind: "failed", status: 422, fields: { q: "Add something to search for besides filters." }, message: null };
    const ids = found.kind === "projects" ? [] : found.results.map((h) => h.projectId);
    return { kind: "found", found, names: await projectNames(app, ids) };
  } catch (e) {
    // Unexpected failures stay errors (logged, 500 page); the search's own refusals are messages.
    if (!(e instanceof ApiError) || (e.status >= 500 && ![501, 502, 503].includes(e.status))) throw e;
    if (e.status === 404 && p.project) return { kind: "failed", status: 404, fields: { project: "There is no project with this id that you can read." }, message: null };
    if (e.details?.cursor !== undefined) return { kind: "failed", status: 400, fields: {}, message: "This page of results has expired; start again from the first page." };
    const byField = fieldsOf(e);
    const status = e.status === 400 ? 422 : e.status;
    return Object.keys(byField).length > 0 ? { kind: "failed", status, fields: byField, message: null } : { kind: "failed", status, fields: {}, message: e.message };
  }
}

export type ProjectChoice = { id: string; label: string };

/**
 * The projects offered in the project filter: the signed-in user's own and their teams' (the
 * most recently changed first), plus the chosen one when it is readable but not among them.
 */
export async function projectChoices(app: App, actor: Actor, chosen: string): Promise<ProjectChoice[]> {
  const list = actor.kind === "user" ? await listProjectsForUser(app.db.orm, actor.user, { limit: PROJECT_CHOICES }) : [];
  if (chosen && !list.some((p) => p.id === chosen)) {
    const p = await getProject(app.db.orm, chosen);
    if (p) {
      try {
        await searchScope(app, actor, p.id);
        list.unshift(p);
      } catch {
        // Not readable: the field shows the error; the project is not offered.
      }
    }
  }
  const names = await labels(app, list);
  return list.map((p) => ({ id: p.id, label: names.get(p.id) ?? p.name })).sort((a, b) => (a.id === chosen ? -1 : b.id === chosen ? 1 : 0));
}
