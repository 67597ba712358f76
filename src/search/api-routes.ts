/**
 * `GET /api/v1/search`: one endpoint for every kind of search.
 *
 *   q       what to look for, with filters inside (query.ts): path:src/ -path:test lang:ts,
 *           and for projects tag:d3 tech:react owner:alice. 1–500 characters.
 *   type    code | files | projects | semantic | hybrid. Absent: a natural-language query
 *           (three or more words, no code punctuation) is hybrid, anything else code.
 *   regex   1: q is a regular expression (code search only).   case  1: case-sensitive.
 *   project limit the search to one project (by id; read access suffices, so an unlisted
 *           project is searchable by its link holders). Without it: every project the caller
 *           may see listed (access.ts).
 *   path    one more path filter, like path: in q.     limit  1–100 (default 20).
 *   cursor  the `next` of the previous page.
 *
 * → {"results":[…],"next":cursor|null}; code, files, semantic and hybrid results are
 * {projectId, path, line, snippet, snippetStart, ranges, score} ordered by file then line (code:
 * consecutive results of one file form its group), projects results {projectId, name, score,
 * description, owner} with `facets`. Permission `public`: what is found depends on the caller,
 * and anonymous callers see public projects only. Anonymous searches are rate-limited per
 * address, signed-in ones per account.
 */
import { t } from "elysia";
import type { App } from "../core/app.ts";
import { route, type Ctx } from "../server/guard.ts";
import { json } from "../server/http.ts";
import { ApiError, badRequest, tooManyRequests } from "../lib/errors.ts";
import { RateLimiter } from "../lib/ratelimit.ts";
import type { SearchType } from "./types.ts";
import { searchScope } from "./access.ts";
import { parseQuery } from "./query.ts";
import { searchCode } from "./code.ts";
import { findFiles } from "./finder.ts";
import { searchProjects } from "./projects.ts";
import { semanticSearchScoped } from "./semantic.ts";
import { hybridSearchScoped } from "./hybrid.ts";

export const QUERY_MAX = 500;
const LIMIT_DEFAULT = 20;
const LIMIT_MAX = 100;
const ANONYMOUS_PER_MINUTE = 60;
const USER_PER_MINUTE = 600;

const Flag = t.Union([t.Literal("0"), t.Literal("1")]);
const SearchQuery = t.Object({
  q: t.Optional(t.String()),
  type: t.Optional(t.Union([t.Literal("code"), t.Literal("files"), t.Literal("projects"), t.Literal("semantic"), t.Literal("hybrid")])),
  regex: t.Optional(Flag),
  case: t.Optional(Flag),
  project: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
  path: t.Optional(t.String({ minLength: 1, maxLength: 1024 })),
  limit: t.Optional(t.String({ pattern: "^[0-9]{1,3}$" })),
  cursor: t.Optional(t.String({ minLength: 1, maxLength: 512 })),
});

const limiters = new WeakMap<App, { anonymous: RateLimiter; user: RateLimiter }>();

function checkRate(ctx: Ctx<unknown, unknown>): void {
  let l = limiters.get(ctx.app);
  if (!l) {
    l = { anonymous: new RateLimiter({ max: ANONYMOUS_PER_MINUTE, windowMs: 60_000 }), user: new RateLimiter({ max: USER_PER_MINUTE, windowMs: 60_000 }) };
    limiters.set(ctx.app, l);
  }
  const wait = ctx.actor.kind === "user" ? l.user.hit(ctx.actor.user.id) : l.anonymous.hit(ctx.ip);
  if (wait) throw tooManyRequests(wait, ctx.actor.kind === "user" ? "Too many searches; slow down." : "Too many searches from this address; sign in or try again later.");
}

/** Three or more words and none of the punctuation code is made of: a question for semantic search. */
export function looksNatural(text: string): boolean {
  const words = text.trim().split(/\s+/).filter(Boolean);
  return words.length >= 3 && !/[(){}[\];=<>"`$\\|&*^%#~]|::|=>|\.\w|\w\.\w/.test(text);
}

export const searchApiRoutes = [
  route({
    method: "GET",
    path: "/api/v1/search",
    permission: "public",
    kind: "api",
    summary:
      "Search code (substring or regex, with path:/lang: filters), files by name (fuzzy), projects (ranked, with facets), or by meaning (semantic, hybrid) — within what the caller may read.",
    tags: ["search"],
    query: SearchQuery,
    responses: { 200: "Results and the next page's cursor", 400: "Empty or over-long query, bad parameter", 422: "Invalid or too slow regular expression", 429: "Rate limited" },
    handler: async (ctx) => {
      checkRate(ctx);
      const raw = ctx.query.q ?? "";
      if (raw.trim() === "") throw badRequest("Type something to search for.", { q: "Required." });
      if (raw.length > QUERY_MAX) throw badRequest(`The query is longer than ${QUERY_MAX} characters.`, { q: `At most ${QUERY_MAX} characters.` });
      const parsed = parseQuery(raw);
      if (ctx.query.path) parsed.paths.push(ctx.query.path);
      const regex = ctx.query.regex === "1";
      const caseSensitive = ctx.query.case === "1";
      const limit = Math.min(Math.max(Number(ctx.query.limit ?? LIMIT_DEFAULT), 1), LIMIT_MAX);
      const cursor = ctx.query.cursor;
      const explicit = ctx.query.type as SearchType | undefined;
      const type: SearchType = explicit ?? (!regex && looksNatural(parsed.text) ? "hybrid" : "code");
      if (regex && type !== "code") throw badRequest("regex=1 applies to code search only.", { regex: "Use type=code." });
      const needsText = type === "code" || type === "semantic" || type === "hybrid";
      if (needsText && parsed.text === "") throw badRequest("Add something to search for besides filters.", { q: "Only filters were given." });
      const scope = await searchScope(ctx.app, ctx.actor, ctx.query.project);
      const headers = { "Cache-Control": "no-store" };
      switch (type) {
        case "projects": {
          const r = await searchProjects(ctx.app, scope, parsed, { limit, ...(cursor ? { cursor } : {}) });
          return json(r, 200, headers);
        }
        case "files":
          return json(await findFiles(ctx.app, scope, parsed, { limit, ...(cursor ? { cursor } : {}) }), 200, headers);
        case "semantic":
        case "hybrid": {
          try {
            // The scope and the parsed query (with -path: exclusions) are shared, as the contract's
            // semanticSearch/hybridSearch would compute them from the actor and q.
            const results = type === "semantic" ? await semanticSearchScoped(ctx.app, scope, parsed, limit) : await hybridSearchScoped(ctx.app, scope, parsed, { limit, caseSensitive });
            return json({ results, next: null }, 200, headers);
          } catch (e) {
            // A guessed type must not fail where plain code search works (e.g. no vector support).
            if (explicit || !(e instanceof ApiError) || e.status !== 501) throw e;
          }
          break;
        }
        case "code":
          break;
      }
      return json(await searchCode(ctx.app, scope, parsed, { regex, caseSensitive, limit, ...(cursor ? { cursor } : {}) }), 200, headers);
    },
  }),
];
