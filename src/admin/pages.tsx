/**
 * The admin area (instance admins only): an overview of the instance here,
 * users in pages-users.tsx, invite links in pages-invites.tsx.
 */
import { sql } from "drizzle-orm";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { App } from "../core/app.ts";
import { oneTimeLinks, projects, teams, users } from "../db/schema.ts";
import { route } from "../server/guard.ts";
import { page } from "../auth/pages-shared.tsx";
import { VERSION } from "../cli/version.ts";
import { formatBytes } from "../projects/pages-ui.tsx";
import { AdminFrame } from "./pages-ui.tsx";
import { adminUserRoutes } from "./pages-users.tsx";
import { adminInviteRoutes } from "./pages-invites.tsx";
import { SearchIndexSection } from "./pages-search.tsx";
import { indexStatus } from "../search/status.ts";

export type InstanceCounts = { users: number; admins: number; disabled: number; teams: number; projects: number; openInvites: number };

/** One query for every figure on the overview. */
export async function instanceCounts(app: App): Promise<InstanceCounts> {
  const now = Date.now();
  const row = await app.db.orm
    .select({
      users: sql<number>`(SELECT count(*) FROM ${users})`,
      admins: sql<number>`(SELECT count(*) FROM ${users} WHERE ${users.role} = 'admin' AND ${users.disabledAt} IS NULL)`,
      disabled: sql<number>`(SELECT count(*) FROM ${users} WHERE ${users.disabledAt} IS NOT NULL)`,
      teams: sql<number>`(SELECT count(*) FROM ${teams})`,
      projects: sql<number>`(SELECT count(*) FROM ${projects})`,
      openInvites: sql<number>`(SELECT count(*) FROM ${oneTimeLinks} WHERE ${oneTimeLinks.kind} = 'invite' AND ${oneTimeLinks.usedAt} IS NULL AND ${oneTimeLinks.expiresAt} > ${now})`,
    })
    .from(sql`(SELECT 1)`)
    .get();
  const n = (v: unknown) => Number(v ?? 0);
  return {
    users: n(row?.users),
    admins: n(row?.admins),
    disabled: n(row?.disabled),
    teams: n(row?.teams),
    projects: n(row?.projects),
    openInvites: n(row?.openInvites),
  };
}

/** Where the data lives, without credentials: the file path, or the libSQL server's host. */
export function databaseDescription(app: App): string {
  if (app.db.file) return `embedded libSQL file (${app.db.file})`;
  try {
    const u = new URL(app.config.databaseUrl);
    return `libSQL server at ${u.host}`;
  } catch {
    return "libSQL server";
  }
}

function Stat(p: { label: string; value: number; href?: string; note?: string }): Html {
  return (
    <div class="card stack tight">
      <span class="muted small">{p.label}</span>
      <strong class="stat">{p.href ? <a href={p.href}>{p.value}</a> : p.value}</strong>
      {p.note ? <span class="muted small">{p.note}</span> : null}
    </div>
  );
}

function Info(p: { label: string; children?: Html | string }): Html {
  return (
    <tr>
      <th scope="row">{p.label}</th>
      <td>{p.children}</td>
    </tr>
  );
}

export const adminPageRoutes = [
  route({
    method: "GET",
    path: "/admin",
    permission: "admin",
    kind: "page",
    summary: "Admin overview: counts and instance facts.",
    handler: async (ctx) => {
      const [c, search] = await Promise.all([instanceCounts(ctx.app), indexStatus(ctx.app)]);
      const cfg = ctx.app.config;
      return page(
        ctx,
        { title: "Admin", active: "admin" },
        <AdminFrame title="Administration" section="overview">
          <div class="grid">
            <Stat label="Users" value={c.users} href="/admin/users" note={`${c.admins} admin${c.admins === 1 ? "" : "s"}, ${c.disabled} disabled`} />
            <Stat label="Teams" value={c.teams} />
            <Stat label="Projects" value={c.projects} />
            <Stat label="Open invites" value={c.openInvites} href="/admin/invites" />
          </div>
          <section class="card stack" aria-labelledby="instance-title">
            <h2 id="instance-title">This instance</h2>
            <div class="table-wrap">
              <table class="list">
                <tbody>
                  <Info label="Version">
                    <code>{VERSION}</code>
                  </Info>
                  <Info label="Address">
                    <code>{cfg.baseUrl}</code>
                  </Info>
                  <Info label="Data directory">
                    <code>{cfg.dataDir}</code>
                  </Info>
                  <Info label="Database">{databaseDescription(ctx.app)}</Info>
                  <Info label="Self sign-up">
                    {cfg.allowSignup ? "on — anyone who can reach this address can create an account" : "off — accounts come from admins and invites"}
                  </Info>
                  <Info label="Sessions last">{`${cfg.sessionDays} days`}</Info>
                  <Info label="Largest file">{formatBytes(cfg.maxFileBytes)}</Info>
                  <Info label="Behind a proxy">{cfg.trustProxy ? "yes (X-Forwarded-For is trusted)" : "no"}</Info>
                </tbody>
              </table>
            </div>
          </section>
          <SearchIndexSection status={search} csrf={ctx.csrf()} maxFileBytes={cfg.searchMaxFileBytes} />
        </AdminFrame>,
      );
    },
  }),
  ...adminUserRoutes,
  ...adminInviteRoutes,
];
