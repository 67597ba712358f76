/**
 * Which projects a search may look into, as a SQL condition on a `projects` row — to put INSIDE
 * the search query, next to the MATCH, so a LIMIT counts only rows the caller may see (never
 * filter after a LIMIT: a page would come back short, or a count would leak).
 *
 * Two scopes:
 * - "listed" (searching everything, project discovery): projects the caller may see LISTED —
 *   public ones for everyone, and for a signed-in user also their own and their teams' (any
 *   role); instance admins see all. Unlisted and private projects of others never appear,
 *   although an unlisted one is readable by its link (the same rule as explore, explore.ts).
 * - "project" (`project=ID`): one project the caller can READ (projects/access.ts, the guard's
 *   rule), so an unlisted project is searchable by whoever has its link. `searchScope` checks
 *   the access and answers 404 for a project the caller cannot read.
 *
 * For other search modules (semantic.ts): join `projects` under some alias and add
 * `scopeCondition(scope, "p")` (drizzle) or `scopeConditionText(scope, "p")` (plain SQL text and
 * its arguments, for the `libsql` connection). Always join `projects` itself (an inner join):
 * that is also what hides rows of a project deleted a moment ago.
 */
import { sql, type SQL } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { isAdmin, type Actor } from "../auth/actor.ts";
import { projectAccess } from "../projects/access.ts";
import { notFound } from "../lib/errors.ts";

export type SearchScope =
  | { kind: "all" } // instance admins
  | { kind: "public" } // anonymous callers
  | { kind: "member"; userId: string } // public, own, and the user's teams' projects
  | { kind: "project"; projectId: string };

/** The scope of a search by `actor`, optionally narrowed to one project (404 unless readable). */
export async function searchScope(app: App, actor: Actor, projectId?: string): Promise<SearchScope> {
  if (projectId !== undefined) {
    const { project, level } = await projectAccess(app.db.orm, actor, projectId);
    if (!project || level === "none") throw notFound("Project");
    return { kind: "project", projectId: project.id };
  }
  if (isAdmin(actor)) return { kind: "all" };
  if (actor.kind !== "user") return { kind: "public" };
  return { kind: "member", userId: actor.user.id };
}

const ALIAS_RE = /^[a-z_][a-z0-9_]*$/i;

/** The condition as plain SQL text with `?` placeholders, on the `projects` row aliased `alias`. */
export function scopeConditionText(scope: SearchScope, alias = "p"): { sql: string; args: string[] } {
  if (!ALIAS_RE.test(alias)) throw new Error(`bad SQL alias ${JSON.stringify(alias)}`);
  switch (scope.kind) {
    case "all":
      return { sql: "1", args: [] };
    case "public":
      return { sql: `${alias}.visibility = 'public'`, args: [] };
    case "project":
      return { sql: `${alias}.id = ?`, args: [scope.projectId] };
    case "member":
      return {
        sql: `(${alias}.visibility = 'public' OR ${alias}.owner_user_id = ? OR ${alias}.owner_team_id IN (SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ?))`,
        args: [scope.userId, scope.userId],
      };
  }
}

/** The same condition as a drizzle SQL fragment. */
export function scopeCondition(scope: SearchScope, alias = "p"): SQL {
  const { sql: text, args } = scopeConditionText(scope, alias);
  const parts = text.split("?");
  const chunks: SQL[] = [sql.raw(parts[0] ?? "")];
  args.forEach((a, i) => chunks.push(sql`${a}`, sql.raw(parts[i + 1] ?? "")));
  return sql.join(chunks, sql``);
}
