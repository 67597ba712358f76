/**
 * Admin › Invites: one-time links that let someone create their own account.
 * The link is shown once after creating it (only its hash is stored) and, when
 * the invite names an email, mailed there too.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { InstanceRole, User } from "../db/schema.ts";
import { route, userOf, type Ctx } from "../server/guard.ts";
import { redirect } from "../server/http.ts";
import { Field, Flash, Form, Select, type FieldErrors } from "../web/forms.tsx";
import { createInvite, listOpenInvites, revokeInvite, type Link } from "../auth/links.ts";
import { sendMail } from "../auth/mail.ts";
import { listUsers } from "../auth/users.ts";
import { field, FormBody, formFailure, NO_STORE, page, PostButton, stashForNextPage, takeFromLastPost } from "../auth/pages-shared.tsx";
import { RelTime } from "../projects/pages-ui.tsx";
import { AdminFrame, ROLE_CHOICES, RoleBadge } from "./pages-ui.tsx";

type AnyCtx = Ctx<unknown, unknown>;

export type CreatedInvite = { url: string; email: string; mailed: "yes" | "no" | "failed" };
type InvitesView = { created?: CreatedInvite; values?: { email: string; role: string }; errors?: FieldErrors; status?: number };

export function inviteUrl(baseUrl: string, token: string): string {
  return `${baseUrl}/invite/${token}`;
}

function InviteOnce(p: { created: CreatedInvite }): Html {
  const c = p.created;
  return (
    <div class="stack tight" id="new-invite-box">
      <Flash kind="info">
        <strong>Copy the invite link now.</strong> It is shown only this once and works once, for 7 days.{" "}
        {c.mailed === "yes" ? `It was also sent to ${c.email}.` : c.mailed === "failed" ? `Mailing it to ${c.email} failed; hand it over yourself.` : "Hand it to the person you invite."}
      </Flash>
      <div class="token-once">
        <input id="new-invite" type="text" class="mono" readonly value={c.url} aria-label="The new invite link" spellcheck="false" autocomplete="off" />
        <button type="button" class="primary" data-copy-target="#new-invite">
          Copy
        </button>
      </div>
    </div>
  );
}

function InviteTable(p: { invites: Link[]; names: Map<string, string>; csrf: string }): Html {
  if (p.invites.length === 0) return <p class="empty">No open invites. Links that were used or expired are not listed.</p>;
  return (
    <div class="table-wrap">
      <table class="list">
        <thead>
          <tr>
            <th scope="col">For</th>
            <th scope="col">Role</th>
            <th scope="col">Created by</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col" aria-label="Actions"></th>
          </tr>
        </thead>
        <tbody>
          {p.invites.map((i) => (
            <tr>
              <td>{i.email ?? <span class="muted">anyone with the link</span>}</td>
              <td>
                <RoleBadge role={i.role ?? "member"} />
              </td>
              <td>{i.createdBy ? `@${p.names.get(i.createdBy) ?? "unknown"}` : "—"}</td>
              <td>
                <RelTime at={i.createdAt} />
              </td>
              <td>
                <RelTime at={i.expiresAt} />
              </td>
              <td>
                <PostButton
                  action={`/admin/invites/${i.id}/revoke`}
                  csrf={p.csrf}
                  label="Revoke"
                  class="danger"
                  confirm="Revoke this invite? Its link will stop working."
                  ariaLabel={`Revoke the invite for ${i.email ?? "anyone with the link"}`}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

async function invitesPage(ctx: AnyCtx, v: InvitesView): Promise<Response> {
  const orm = ctx.app.db.orm;
  const [invites, users] = await Promise.all([listOpenInvites(orm), listUsers(orm)]);
  const names = new Map(users.map((u: User) => [u.id, u.username]));
  const values = v.values ?? { email: "", role: "member" };
  const errors = v.errors ?? {};
  return page(
    ctx,
    { title: "Invites · Admin", active: "admin", status: v.status, headers: v.created ? NO_STORE : undefined },
    <AdminFrame title="Invites" section="invites">
      {v.created ? <InviteOnce created={v.created} /> : null}
      <section class="card stack" aria-labelledby="invite-title">
        <h2 id="invite-title">Invite someone</h2>
        <Form action="/admin/invites" csrf={ctx.csrf()}>
          <Field
            label="Email (optional)"
            name="email"
            type="email"
            value={values.email}
            autocomplete="off"
            hint="With an email, only that address can use the link, and it is mailed there. Without one, anyone holding the link can."
            error={errors.email}
          />
          <Select label="Role" name="role" options={ROLE_CHOICES} value={values.role} error={errors.role} />
          <div class="form-actions">
            <button type="submit" class="primary">
              Create invite link
            </button>
          </div>
        </Form>
      </section>
      <section class="stack" aria-labelledby="open-title">
        <h2 id="open-title">Open invites</h2>
        <InviteTable invites={invites} names={names} csrf={ctx.csrf()} />
      </section>
    </AdminFrame>,
  );
}

async function mailInvite(ctx: AnyCtx, by: User, email: string, url: string, role: InstanceRole): Promise<CreatedInvite["mailed"]> {
  try {
    await sendMail({
      to: email,
      subject: "You are invited to Wove",
      text: [
        `${by.name} invited you to the Wove instance at ${ctx.app.config.baseUrl}${role === "admin" ? " as an admin" : ""}.`,
        "",
        `Open this link within 7 days to create your account: ${url}`,
        "",
        "The link works once. If you did not expect this, ignore this mail.",
      ].join("\n"),
    });
    return "yes";
  } catch (e) {
    ctx.log.error("mailing an invite failed", { error: String(e) });
    return "failed";
  }
}

async function newInvite(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const me = userOf(ctx);
  const values = { email: field(ctx.body, "email").trim(), role: field(ctx.body, "role") || "member" };
  if (values.role !== "admin" && values.role !== "member") {
    return invitesPage(ctx, { values, errors: { role: "Choose member or admin." }, status: 422 });
  }
  const role: InstanceRole = values.role;
  let token: string;
  let email: string | null;
  try {
    const made = await createInvite(ctx.app.db.orm, me, { email: values.email || undefined, role });
    token = made.token;
    email = made.link.email;
  } catch (e) {
    const f = formFailure(e);
    return invitesPage(ctx, { values, errors: Object.keys(f.errors).length ? f.errors : { email: f.message }, status: f.status });
  }
  const url = inviteUrl(ctx.app.config.baseUrl, token);
  const created: CreatedInvite = { url, email: email ?? "", mailed: email ? await mailInvite(ctx, me, email, url, role) : "no" };
  if (!stashForNextPage(ctx, "invite", created)) return invitesPage(ctx, { created });
  return redirect("/admin/invites");
}

export const adminInviteRoutes = [
  route({
    method: "GET",
    path: "/admin/invites",
    permission: "admin",
    kind: "page",
    summary: "Open invite links and a form to create one.",
    handler: (ctx) => {
      const s = takeFromLastPost(ctx, "invite");
      const created = s?.url ? { url: s.url, email: s.email ?? "", mailed: (s.mailed ?? "no") as CreatedInvite["mailed"] } : undefined;
      return invitesPage(ctx, { created });
    },
  }),
  route({
    method: "POST",
    path: "/admin/invites",
    permission: "admin",
    kind: "page",
    summary: "Create an invite link (shown once; mailed when an email is given).",
    bodyKind: "form",
    body: FormBody,
    handler: newInvite,
  }),
  route({
    method: "POST",
    path: "/admin/invites/:inviteId/revoke",
    permission: "admin",
    kind: "page",
    summary: "Revoke an open invite link.",
    bodyKind: "form",
    body: FormBody,
    handler: async (ctx) => {
      await revokeInvite(ctx.app.db.orm, ctx.params.inviteId ?? "", userOf(ctx).id);
      return redirect("/admin/invites");
    },
  }),
];
