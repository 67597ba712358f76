/**
 * Admin › Users: list and search accounts, create one, change roles, disable
 * and enable. A disabled account is logged out at once and its tokens stop
 * working; the last admin can be neither demoted nor disabled, and an admin
 * cannot disable themselves.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { InstanceRole, User } from "../db/schema.ts";
import { actorIdOf, route, userOf, type Ctx } from "../server/guard.ts";
import { redirect } from "../server/http.ts";
import { Field, Flash, Form, Select, type FieldErrors } from "../web/forms.tsx";
import { badRequest, notFound } from "../lib/errors.ts";
import { createUser, getUser, listUsers, setDisabled, setRole } from "../auth/users.ts";
import { deleteUserSessions, forgetUser } from "../auth/sessions.ts";
import { forgetTokensOf } from "../auth/tokens.ts";
import { field, FormBody, formFailure, page, PostButton } from "../auth/pages-shared.tsx";
import { RelTime } from "../projects/pages-ui.tsx";
import { AdminFrame, ROLE_CHOICES, RoleBadge, StatusBadge } from "./pages-ui.tsx";

type AnyCtx = Ctx<unknown, unknown>;

/** How many matching accounts the table shows; search narrows a longer list. */
export const USERS_SHOWN = 200;

const NOTES: Record<string, string> = {
  created: "Account created. Give them their email and password; they can change the password under Account.",
  role: "Role changed.",
  disabled: "Account disabled: it is logged out everywhere and its API tokens are refused.",
  enabled: "Account enabled. They can log in again.",
};

type NewUserValues = { email: string; name: string; username: string; role: string };
type UsersView = { q: string; note?: string; error?: string; create?: { values: NewUserValues; errors: FieldErrors }; status?: number };

export function matchesQuery(u: User, q: string): boolean {
  const needle = q.trim().toLowerCase();
  if (!needle) return true;
  return [u.username, u.name, u.email].some((s) => s.toLowerCase().includes(needle));
}

function RoleForm(p: { user: User; csrf: string }): Html {
  const to: InstanceRole = p.user.role === "admin" ? "member" : "admin";
  return (
    <form
      method="post"
      action={`/admin/users/${encodeURIComponent(p.user.id)}/role`}
      class="inline"
      data-confirm={to === "member" ? `Remove admin rights from @${p.user.username}?` : `Make @${p.user.username} an instance admin?`}
    >
      <input type="hidden" name="_csrf" value={p.csrf} />
      <input type="hidden" name="role" value={to} />
      <button type="submit" class="small" aria-label={`${to === "admin" ? "Make admin" : "Make member"}: @${p.user.username}`}>
        {to === "admin" ? "Make admin" : "Make member"}
      </button>
    </form>
  );
}

function UserRow(p: { user: User; me: User; csrf: string }): Html {
  const u = p.user;
  const self = u.id === p.me.id;
  const base = `/admin/users/${encodeURIComponent(u.id)}`;
  return (
    <tr>
      <td>
        <strong>{u.name}</strong> {self ? <span class="badge">you</span> : null}
        <br />
        <span class="muted small">@{u.username}</span>
      </td>
      <td>{u.email}</td>
      <td>
        <RoleBadge role={u.role} />
      </td>
      <td>
        <StatusBadge user={u} />
      </td>
      <td>
        <RelTime at={u.createdAt} />
      </td>
      <td class="actions">
        <RoleForm user={u} csrf={p.csrf} />
        {self ? null : u.disabledAt === null ? (
          <PostButton
            action={`${base}/disable`}
            csrf={p.csrf}
            label="Disable"
            class="danger small"
            ariaLabel={`Disable @${u.username}`}
            confirm={`Disable @${u.username}? They are logged out at once and their API tokens stop working.`}
          />
        ) : (
          <PostButton action={`${base}/enable`} csrf={p.csrf} label="Enable" class="small" ariaLabel={`Enable @${u.username}`} />
        )}
      </td>
    </tr>
  );
}

function CreateUserCard(p: { csrf: string; state?: UsersView["create"] }): Html {
  const v = p.state?.values ?? { email: "", name: "", username: "", role: "member" };
  const e = p.state?.errors ?? {};
  return (
    <section class="card stack" id="create" aria-labelledby="create-title">
      <h2 id="create-title">Create an account</h2>
      <p class="muted">
        Or send an <a href="/admin/invites">invite link</a> and let them choose their own password.
      </p>
      <Form action="/admin/users" csrf={p.csrf}>
        <Field label="Email" name="email" type="email" value={v.email} required autocomplete="off" error={e.email} />
        <Field label="Name" name="name" value={v.name} maxlength={100} autocomplete="off" hint="Left empty, it comes from the email." error={e.name} />
        <Field label="Username (optional)" name="username" value={v.username} maxlength={39} autocomplete="off" error={e.username} />
        <Select label="Role" name="role" options={ROLE_CHOICES} value={v.role} error={e.role} />
        <Field label="Password" name="password" type="password" required autocomplete="new-password" minlength={10} hint="At least 10 characters." error={e.password} />
        <div class="form-actions">
          <button type="submit" class="primary">
            Create account
          </button>
        </div>
      </Form>
    </section>
  );
}

async function usersPage(ctx: AnyCtx, v: UsersView): Promise<Response> {
  const me = userOf(ctx);
  const all = await listUsers(ctx.app.db.orm);
  const matching = all.filter((u) => matchesQuery(u, v.q));
  const shown = matching.slice(0, USERS_SHOWN);
  const csrf = ctx.csrf();
  return page(
    ctx,
    { title: "Users · Admin", active: "admin", status: v.status, wide: true },
    <AdminFrame
      title="Users"
      section="users"
      actions={
        <a class="btn primary" href="#create">
          Create account
        </a>
      }
    >
      {v.note ? <Flash kind="ok">{v.note}</Flash> : null}
      {v.error ? <Flash kind="error">{v.error}</Flash> : null}
      <form method="get" action="/admin/users" role="search" class="row">
        <label for="user-q" class="visually-hidden">
          Search users
        </label>
        <input id="user-q" type="search" name="q" value={v.q} class="filter" placeholder="Name, username or email" autocomplete="off" />
        <button type="submit">Search</button>
        {v.q ? <a href="/admin/users">Clear</a> : null}
      </form>
      <p class="muted small">
        {v.q ? `${matching.length} of ${all.length} accounts match.` : `${all.length} account${all.length === 1 ? "" : "s"}.`}
        {matching.length > shown.length ? ` Showing the first ${USERS_SHOWN}; search to narrow the list.` : ""}
      </p>
      {shown.length === 0 ? (
        <p class="empty">No account matches “{v.q}”.</p>
      ) : (
        <div class="table-wrap">
          <table class="list">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col" aria-label="Actions"></th>
              </tr>
            </thead>
            <tbody>
              {shown.map((u) => (
                <UserRow user={u} me={me} csrf={csrf} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateUserCard csrf={csrf} state={v.create} />
    </AdminFrame>,
  );
}

async function targetUser(ctx: AnyCtx): Promise<User> {
  const target = await getUser(ctx.app.db.orm, ctx.params.userId ?? "");
  if (!target) throw notFound("User");
  return target;
}

/** Drops every cached copy of the account so the change applies to its very next request. */
function forgetEverywhere(userId: string): void {
  forgetUser(userId);
  forgetTokensOf(userId);
}

async function createAccount(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const values: NewUserValues = {
    email: field(ctx.body, "email"),
    name: field(ctx.body, "name"),
    username: field(ctx.body, "username"),
    role: field(ctx.body, "role") || "member",
  };
  const password = field(ctx.body, "password");
  if (!password) return usersPage(ctx, { q: "", create: { values, errors: { password: "Set a first password (at least 10 characters)." } }, status: 422 });
  try {
    await createUser(
      ctx.app.db.orm,
      {
        email: values.email,
        name: values.name || undefined,
        username: values.username.trim() || undefined,
        role: values.role as InstanceRole,
        password,
      },
      actorIdOf(ctx),
    );
  } catch (e) {
    const f = formFailure(e);
    return usersPage(ctx, { q: "", create: { values, errors: Object.keys(f.errors).length ? f.errors : { email: f.message } }, status: f.status });
  }
  return redirect("/admin/users?done=created");
}

async function changeRole(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const target = await targetUser(ctx);
  const role = field(ctx.body, "role");
  if (role !== "admin" && role !== "member") throw badRequest("Role must be admin or member.");
  try {
    await setRole(ctx.app.db.orm, target, role, actorIdOf(ctx));
  } catch (e) {
    return usersPage(ctx, { q: "", error: formFailure(e).message, status: 409 });
  }
  forgetEverywhere(target.id);
  // An admin who gave up their own rights can no longer see this page.
  return redirect(target.id === userOf(ctx).id ? "/" : "/admin/users?done=role");
}

async function changeDisabled(ctx: Ctx<Record<string, string>>, disabled: boolean): Promise<Response> {
  const target = await targetUser(ctx);
  const orm = ctx.app.db.orm;
  if (disabled && target.id === userOf(ctx).id) {
    return usersPage(ctx, { q: "", error: "You cannot disable your own account. Ask another admin.", status: 409 });
  }
  try {
    await setDisabled(orm, target, disabled, actorIdOf(ctx));
  } catch (e) {
    return usersPage(ctx, { q: "", error: formFailure(e).message, status: 409 });
  }
  if (disabled) await deleteUserSessions(orm, target.id);
  forgetEverywhere(target.id);
  return redirect(`/admin/users?done=${disabled ? "disabled" : "enabled"}`);
}

export const adminUserRoutes = [
  route({
    method: "GET",
    path: "/admin/users",
    permission: "admin",
    kind: "page",
    summary: "All accounts; ?q= searches name, username and email.",
    handler: (ctx) => usersPage(ctx, { q: (ctx.query.q ?? "").slice(0, 200), note: NOTES[ctx.query.done ?? ""] }),
  }),
  route({
    method: "POST",
    path: "/admin/users",
    permission: "admin",
    kind: "page",
    summary: "Create an account with a first password.",
    bodyKind: "form",
    body: FormBody,
    handler: createAccount,
  }),
  route({
    method: "POST",
    path: "/admin/users/:userId/role",
    permission: "admin",
    kind: "page",
    summary: "Make an account admin or member (never demotes the last admin).",
    bodyKind: "form",
    body: FormBody,
    handler: changeRole,
  }),
  route({
    method: "POST",
    path: "/admin/users/:userId/disable",
    permission: "admin",
    kind: "page",
    summary: "Disable an account: logs it out and refuses its tokens.",
    bodyKind: "form",
    body: FormBody,
    handler: (ctx) => changeDisabled(ctx, true),
  }),
  route({
    method: "POST",
    path: "/admin/users/:userId/enable",
    permission: "admin",
    kind: "page",
    summary: "Enable a disabled account again.",
    bodyKind: "form",
    body: FormBody,
    handler: (ctx) => changeDisabled(ctx, false),
  }),
];
