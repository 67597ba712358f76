/**
 * Team pages: my teams + create a team, one team (members, roles, projects), and the
 * membership forms. The team service decides who may grant or remove `owner`; its refusals
 * are shown on the page as a message, never as a bare error page.
 */
import { route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Field, Flash, TextArea } from "../web/forms.tsx";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { ApiError } from "../lib/errors.ts";
import { actorId, isAdmin } from "../auth/actor.ts";
import { findUserByEmail, findUserByUsername } from "../auth/users.ts";
import type { TeamRole } from "../db/schema.ts";
import { listProjectsForUser, ownerHandles } from "../projects/projects.ts";
import { Avatar, Empty, FormFields, ProjectList, RelTime, TeamIdentity, teamUrl, userOf } from "../projects/pages-ui.tsx";
import { createTeam, isTeamRole, listMembers, listTeamsForUser, removeMember, setMember, TEAM_ROLES, teamRole, type ActingRole } from "./teams.ts";

type FormCtx = Ctx<Record<string, string>>;
type Errors = Record<string, string | undefined>;

const ROLE_LABEL: Record<TeamRole, string> = { owner: "Owner", maintainer: "Maintainer", member: "Member", viewer: "Viewer" };

// ---- /teams ----

async function showTeams(ctx: Ctx | FormCtx, state: { values?: Record<string, string>; errors?: Errors } = {}, status = 200): Promise<Response> {
  const user = userOf(ctx.actor);
  const teams = await listTeamsForUser(ctx.app.db.orm, user.id);
  const v = state.values ?? {};
  const e = state.errors ?? {};
  const csrf = ctx.csrf();
  return html(
    doc(
      <Layout title="Teams" actor={ctx.actor} csrf={csrf} active="teams" wide>
        <div class="page-head">
          <div>
            <h1>Teams</h1>
            <p class="muted">Teams own projects together. Everyone in a team can see its projects; members can change them.</p>
          </div>
        </div>
        <div class="split">
          <section aria-labelledby="my-teams" class="stack">
            <h2 id="my-teams">Your teams</h2>
            {teams.length > 0 ? (
              <div class="table-wrap">
                <table class="list">
                  <thead>
                    <tr>
                      <th scope="col">Team</th>
                      <th scope="col">Your role</th>
                      <th scope="col">Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {teams.map((t) => (
                      <tr>
                        <td>
                          <span class="row">
                            <Avatar name={t.name} team />
                            <span>
                              <a href={teamUrl(t.id)}>
                                <strong>{t.name}</strong>
                              </a>
                              <br />
                              <span class="muted small mono">{t.slug}</span>
                            </span>
                          </span>
                        </td>
                        <td>
                          <span class={`badge role-${t.role}`}>{t.role}</span>
                        </td>
                        <td class="muted">
                          <RelTime at={t.createdAt} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <Empty title="You are not in a team yet">Create a team to share projects, or ask a team owner to add you.</Empty>
            )}
          </section>
          <section class="card" aria-labelledby="create-team">
            <h2 id="create-team">Create a team</h2>
            <form method="post" action="/teams" novalidate>
              <input type="hidden" name="_csrf" value={csrf} />
              <Field label="Team name" name="name" value={v.name} error={e.name} required maxlength={100} />
              <Field
                label="Slug (optional)"
                name="slug"
                value={v.slug}
                error={e.slug}
                maxlength={39}
                hint="Used in addresses; made from the name when empty. Lowercase letters, digits and dashes."
              />
              <TextArea label="Description (optional)" name="description" value={v.description} error={e.description} maxlength={2000} />
              <button type="submit" class="primary">
                Create team
              </button>
            </form>
          </section>
        </div>
      </Layout>,
    ),
    status,
  );
}

async function createTeamPage(ctx: FormCtx): Promise<Response> {
  const values = { name: ctx.body.name ?? "", slug: ctx.body.slug ?? "", description: (ctx.body.description ?? "").replace(/\r\n?/g, "\n") };
  try {
    const team = await createTeam(ctx.app.db.orm, userOf(ctx.actor), { name: values.name, slug: values.slug || undefined, description: values.description });
    return redirect(teamUrl(team.id));
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    const errors: Errors = { ...e.details };
    if (!errors.name && !errors.slug && !errors.description) errors.name = e.message;
    return showTeams(ctx, { values, errors }, e.status);
  }
}

// ---- /teams/:id ----

type TeamState = { flash?: { kind: "error" | "ok"; text: string }; addValues?: { who: string; role: string }; addErrors?: Errors };

const OK_MESSAGES: Record<string, string> = {
  added: "Member added.",
  role: "Role changed.",
  removed: "Member removed.",
};

async function actingRole(ctx: Ctx | FormCtx): Promise<ActingRole | null> {
  if (isAdmin(ctx.actor)) return "admin";
  return teamRole(ctx.app.db.orm, ctx.team.id, userOf(ctx.actor).id);
}

async function showTeam(ctx: Ctx | FormCtx, state: TeamState = {}, status = 200): Promise<Response> {
  const { team } = ctx;
  const orm = ctx.app.db.orm;
  const user = userOf(ctx.actor);
  const [members, acting, mine] = await Promise.all([listMembers(orm, team.id), actingRole(ctx), listProjectsForUser(orm, user, { limit: 200 })]);
  // The team's projects that this user can reach through the team (instance admins see their own list).
  const projects = mine.filter((p) => p.ownerTeamId === team.id);
  const handles = await ownerHandles(orm, projects);
  const manage = acting === "admin" || acting === "owner" || acting === "maintainer";
  const grantOwner = acting === "admin" || acting === "owner";
  const canCreate = acting !== null && acting !== "viewer";
  const csrf = ctx.csrf();
  const flash = state.flash ?? (ctx.query.ok && OK_MESSAGES[ctx.query.ok] ? { kind: "ok" as const, text: OK_MESSAGES[ctx.query.ok] ?? "" } : undefined);
  const roles = TEAM_ROLES.filter((r) => grantOwner || r !== "owner");
  const add = state.addValues ?? { who: "", role: "member" };
  const ae = state.addErrors ?? {};
  return html(
    doc(
      <Layout title={team.name} actor={ctx.actor} csrf={csrf} active="teams" wide>
        <div class="page-head">
          <TeamIdentity team={team} />
          {canCreate ? (
            <div class="actions">
              <a class="btn primary" href={`/new?team=${encodeURIComponent(team.id)}`}>
                New project
              </a>
            </div>
          ) : null}
        </div>
        {flash ? <Flash kind={flash.kind}>{flash.text}</Flash> : null}
        <div class="split">
          <section class="stack" aria-labelledby="projects-heading">
            <h2 id="projects-heading">Projects</h2>
            {projects.length > 0 ? (
              <ProjectList projects={projects} handles={handles} />
            ) : (
              <Empty title="No projects yet">{canCreate ? "Create the team's first project with “New project”." : "The team has no projects you can see."}</Empty>
            )}
          </section>
          <aside class="stack" aria-label="Members">
            <section class="card" aria-labelledby="members-heading">
              <div class="card-head">
                <h2 id="members-heading">Members</h2>
                <span class="badge">{members.length}</span>
              </div>
              <ul class="entity-list">
                {members.map((m) => (
                  <li>
                    <Avatar name={m.user.name || m.user.username} />
                    <span class="grow">
                      <strong>{m.user.username}</strong>
                      <span class="muted small">{m.user.name}</span>
                    </span>
                    {manage && (grantOwner || m.role !== "owner") ? (
                      <MemberActions teamId={team.id} userId={m.user.id} username={m.user.username} role={m.role} roles={roles} csrf={csrf} />
                    ) : (
                      <span class={`badge role-${m.role}`}>{m.role}</span>
                    )}
                  </li>
                ))}
              </ul>
              {acting !== null && acting !== "admin" ? (
                <form method="post" action={`${teamUrl(team.id)}/leave`} class="mt" data-confirm={`Leave ${team.name}?`}>
                  <input type="hidden" name="_csrf" value={csrf} />
                  <button type="submit" class="small danger">
                    Leave team
                  </button>
                </form>
              ) : null}
            </section>
            {manage ? (
              <section class="card" aria-labelledby="add-heading">
                <h2 id="add-heading">Add a member</h2>
                <form method="post" action={`${teamUrl(team.id)}/members`} novalidate>
                  <input type="hidden" name="_csrf" value={csrf} />
                  <Field label="Username or email" name="who" value={add.who} error={ae.who} required autocomplete="off" />
                  <div class={ae.role ? "field has-error" : "field"}>
                    <label for="f-role">Role</label>
                    <select id="f-role" name="role" aria-describedby="f-role-hint">
                      {roles.map((r) => (
                        <option value={r} selected={r === add.role}>
                          {ROLE_LABEL[r]}
                        </option>
                      ))}
                    </select>
                    <p class="hint" id="f-role-hint">
                      Viewers read the team's projects; members also create and edit them; maintainers also manage members
                      {grantOwner ? "; owners can do everything, including managing other owners." : ". Only owners can grant the owner role."}
                    </p>
                    {ae.role ? (
                      <p class="field-error" role="alert">
                        {ae.role}
                      </p>
                    ) : null}
                  </div>
                  <button type="submit" class="primary">
                    Add member
                  </button>
                </form>
              </section>
            ) : null}
          </aside>
        </div>
      </Layout>,
    ),
    status,
  );
}

function MemberActions(p: { teamId: string; userId: string; username: string; role: TeamRole; roles: readonly TeamRole[]; csrf: string }): Html {
  const base = `${teamUrl(p.teamId)}/members/${encodeURIComponent(p.userId)}`;
  const id = `role-${p.userId}`;
  return (
    <span class="row member-actions">
      <form method="post" action={`${base}/role`} class="row">
        <input type="hidden" name="_csrf" value={p.csrf} />
        <label for={id} class="visually-hidden">
          Role of {p.username}
        </label>
        <select id={id} name="role" class="compact">
          {p.roles.map((r) => (
            <option value={r} selected={r === p.role}>
              {r}
            </option>
          ))}
        </select>
        <button type="submit" class="small">
          Save
        </button>
      </form>
      <form method="post" action={`${base}/remove`} class="inline" data-confirm={`Remove ${p.username} from the team?`}>
        <input type="hidden" name="_csrf" value={p.csrf} />
        <button type="submit" class="small danger" aria-label={`Remove ${p.username}`}>
          Remove
        </button>
      </form>
    </span>
  );
}

/** Runs a membership change; a refusal re-renders the team page with the reason. */
async function membership(ctx: FormCtx, change: (acting: ActingRole) => Promise<unknown>, ok: string): Promise<Response> {
  const acting = await actingRole(ctx);
  try {
    if (acting === null) throw new ApiError(403, "forbidden", "Only team owners and maintainers can manage members.");
    await change(acting);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    return showTeam(ctx, { flash: { kind: "error", text: e.message } }, e.status);
  }
  return redirect(`${teamUrl(ctx.team.id)}?ok=${ok}`);
}

async function addMember(ctx: FormCtx): Promise<Response> {
  const who = (ctx.body.who ?? "").trim();
  const role = ctx.body.role ?? "";
  const again = (addErrors: Errors, status: number) => showTeam(ctx, { addValues: { who, role }, addErrors }, status);
  if (!who) return again({ who: "Enter a username or an email address." }, 422);
  if (!isTeamRole(role)) return again({ role: "Choose a role." }, 422);
  const orm = ctx.app.db.orm;
  const target = who.includes("@") ? await findUserByEmail(orm, who) : await findUserByUsername(orm, who);
  if (!target) return again({ who: `Nobody is called “${who}” here. Check the spelling, or invite them from the admin console first.` }, 422);
  const acting = await actingRole(ctx);
  try {
    if (acting === null) throw new ApiError(403, "forbidden", "Only team owners and maintainers can manage members.");
    if ((await teamRole(orm, ctx.team.id, target.id)) !== null) return again({ who: `${target.username} is already in this team; change their role in the list.` }, 409);
    await setMember(orm, ctx.team.id, target.id, role, actorId(ctx.actor), acting);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    return again({ role: e.message }, e.status);
  }
  return redirect(`${teamUrl(ctx.team.id)}?ok=added`);
}

export const teamPageRoutes = [
  route({ method: "GET", path: "/teams", permission: "user", kind: "page", summary: "Your teams and a form to create one.", tags: ["pages"], handler: (ctx) => showTeams(ctx) }),
  route({
    method: "POST",
    path: "/teams",
    permission: "user",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Create a team (you become its owner).",
    tags: ["pages"],
    handler: (ctx) => createTeamPage(ctx),
  }),
  route({ method: "GET", path: "/teams/:id", permission: "team:read", kind: "page", summary: "A team: members, roles and projects.", tags: ["pages"], handler: (ctx) => showTeam(ctx) }),
  route({
    method: "POST",
    path: "/teams/:id/members",
    permission: "team:manage",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Add a member by username or email with a role.",
    tags: ["pages"],
    handler: (ctx) => addMember(ctx),
  }),
  route({
    method: "POST",
    path: "/teams/:id/members/:userId/role",
    permission: "team:manage",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Change a member's role.",
    tags: ["pages"],
    handler: (ctx) => {
      const role = ctx.body.role ?? "";
      return membership(
        ctx,
        (acting) => {
          if (!isTeamRole(role)) throw new ApiError(422, "invalid", "Choose a role: owner, maintainer, member or viewer.");
          return setMember(ctx.app.db.orm, ctx.team.id, ctx.params.userId ?? "", role, actorId(ctx.actor), acting);
        },
        "role",
      );
    },
  }),
  route({
    method: "POST",
    path: "/teams/:id/members/:userId/remove",
    permission: "team:manage",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Remove a member from the team.",
    tags: ["pages"],
    handler: (ctx) => membership(ctx, (acting) => removeMember(ctx.app.db.orm, ctx.team.id, ctx.params.userId ?? "", actorId(ctx.actor), acting), "removed"),
  }),
  route({
    method: "POST",
    path: "/teams/:id/leave",
    permission: "team:read",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Leave a team (a team keeps at least one owner).",
    tags: ["pages"],
    handler: async (ctx) => {
      const me = userOf(ctx.actor);
      try {
        await removeMember(ctx.app.db.orm, ctx.team.id, me.id, me.id, await actingRole(ctx));
      } catch (e) {
        if (!(e instanceof ApiError) || e.status >= 500) throw e;
        return showTeam(ctx, { flash: { kind: "error", text: e.message } }, e.status);
      }
      return redirect("/teams");
    },
  }),
];
