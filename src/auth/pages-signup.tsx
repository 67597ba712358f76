/**
 * New accounts from the outside: self sign-up (only when WOVE_ALLOW_SIGNUP is
 * on) and accepting an admin's invite link. Both log the new account in.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { User } from "../db/schema.ts";
import { route, type Ctx } from "../server/guard.ts";
import { redirect } from "../server/http.ts";
import { Field, Flash, Form, type FieldErrors } from "../web/forms.tsx";
import { ApiError, notFound } from "../lib/errors.ts";
import { createUser } from "./users.ts";
import { acceptInvite, findOpenLink, type Link } from "./links.ts";
import { authLimits, waitText } from "./login-limits.ts";
import { AuthCard, confirmError, field, FormBody, formFailure, NewPasswordFields, page, startSession, NO_STORE } from "./pages-shared.tsx";

type AnyCtx = Ctx<unknown, unknown>;
type Values = { name: string; email: string; username: string };

function readValues(body: Record<string, string>): Values {
  return { name: field(body, "name"), email: field(body, "email"), username: field(body, "username") };
}

/** Name, email (locked when the invite names one) and username: the same for sign-up and invites. */
function AccountFields(p: { values: Partial<Values>; errors: FieldErrors; lockedEmail?: string | null }): Html {
  return (
    <>
      <Field label="Your name" name="name" value={p.values.name} autocomplete="name" required autofocus maxlength={100} error={p.errors.name} />
      {p.lockedEmail ? (
        <div class="field">
          <label for="f-email">Email</label>
          <input id="f-email" type="email" name="email" value={p.lockedEmail} readonly aria-describedby="f-email-hint" />
          <p class="hint" id="f-email-hint">
            This invite is for this address.
          </p>
        </div>
      ) : (
        <Field label="Email" name="email" type="email" value={p.values.email} autocomplete="email" required error={p.errors.email} />
      )}
      <Field
        label="Username (optional)"
        name="username"
        value={p.values.username}
        autocomplete="username"
        maxlength={39}
        hint="Lowercase letters, digits and dashes; shown in your project URLs. Left empty, it comes from your email."
        error={p.errors.username}
      />
      <NewPasswordFields errors={p.errors} />
    </>
  );
}

/** A service error that belongs to no field of the form (e.g. the invite token) becomes the form's message. */
function looseMessage(f: { message: string; errors: FieldErrors }, fields: string[]): string | undefined {
  return Object.keys(f.errors).some((k) => fields.includes(k)) ? undefined : f.message;
}
const ACCOUNT_FIELDS = ["name", "email", "username", "password", "confirm"];

// ---- Sign-up ----

type SignupView = { values?: Partial<Values>; errors?: FieldErrors; error?: string; status?: number; retryAfter?: number };

function signupPage(ctx: AnyCtx, v: SignupView): Response {
  const headers: Record<string, string> = v.retryAfter ? { "Retry-After": String(v.retryAfter) } : {};
  return page(
    ctx,
    { title: "Sign up", status: v.status, headers },
    <AuthCard title="Create your Wove account">
      {v.error ? <Flash kind="error">{v.error}</Flash> : null}
      <Form action="/signup" csrf={ctx.csrf()}>
        <AccountFields values={v.values ?? {}} errors={v.errors ?? {}} />
        <div class="form-actions">
          <button type="submit" class="primary">
            Create account
          </button>
        </div>
      </Form>
      <p class="muted">
        Already have an account? <a href="/login">Log in</a>
      </p>
    </AuthCard>,
  );
}

function requireSignup(ctx: AnyCtx): void {
  if (!ctx.app.config.allowSignup) throw notFound("Page");
}

async function signup(ctx: Ctx<Record<string, string>>): Promise<Response> {
  requireSignup(ctx);
  const values = readValues(ctx.body);
  const password = field(ctx.body, "password");
  const limiter = authLimits(ctx.app).signupByIp;
  const wait = limiter.blocked(ctx.ip);
  if (wait) {
    const error = `Too many sign-ups from your network. Wait ${waitText(wait)} and try again.`;
    return signupPage(ctx, { values, error, status: 429, retryAfter: wait });
  }
  const mismatch = confirmError(password, field(ctx.body, "confirm"));
  if (mismatch) return signupPage(ctx, { values, errors: { confirm: mismatch }, status: 422 });
  // Counted once the request reaches the database: it limits account creation and email probing alike.
  limiter.hit(ctx.ip);
  let user: User;
  try {
    user = await createUser(
      ctx.app.db.orm,
      { name: values.name, email: values.email, username: values.username.trim() || undefined, password, role: "member" },
      null,
    );
  } catch (e) {
    const f = formFailure(e);
    return signupPage(ctx, { values, errors: f.errors, error: looseMessage(f, ACCOUNT_FIELDS), status: f.status });
  }
  await startSession(ctx, user);
  return redirect("/");
}

// ---- Invites ----

const INVITE_GONE = "This invite link is invalid, used or expired. Ask an admin for a new one.";

async function openInvite(ctx: AnyCtx): Promise<{ token: string; link: Link }> {
  const token = ctx.params.token ?? "";
  const link = await findOpenLink(ctx.app.db.orm, "invite", token);
  if (!link) throw new ApiError(404, "not_found", INVITE_GONE);
  return { token, link };
}

type InviteView = { token: string; link: Link; values?: Partial<Values>; errors?: FieldErrors; error?: string; status?: number };

function invitePage(ctx: AnyCtx, v: InviteView): Response {
  const signedInAs = ctx.actor.kind === "user" ? ctx.actor.user.username : undefined;
  return page(
    ctx,
    { title: "Accept invite", status: v.status, headers: NO_STORE },
    <AuthCard
      title="Join Wove"
      intro={v.link.role === "admin" ? "You are invited as an admin of this Wove instance." : "You are invited to this Wove instance. Create your account."}
    >
      {signedInAs ? (
        <Flash kind="info">
          You are logged in as @{signedInAs}. Accepting creates a separate account and logs you in to it.
        </Flash>
      ) : null}
      {v.error ? <Flash kind="error">{v.error}</Flash> : null}
      <Form action={`/invite/${encodeURIComponent(v.token)}`} csrf={ctx.csrf()}>
        <AccountFields values={v.values ?? {}} errors={v.errors ?? {}} lockedEmail={v.link.email} />
        <div class="form-actions">
          <button type="submit" class="primary">
            Create account
          </button>
        </div>
      </Form>
    </AuthCard>,
  );
}

async function accept(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const { token, link } = await openInvite(ctx);
  const values = readValues(ctx.body);
  if (link.email) values.email = link.email;
  const password = field(ctx.body, "password");
  const mismatch = confirmError(password, field(ctx.body, "confirm"));
  if (mismatch) return invitePage(ctx, { token, link, values, errors: { confirm: mismatch }, status: 422 });
  let user: User;
  try {
    user = await acceptInvite(ctx.app.db.orm, token, { email: values.email, name: values.name, username: values.username.trim() || undefined, password });
  } catch (e) {
    const f = formFailure(e);
    if (f.errors.token) throw new ApiError(404, "not_found", INVITE_GONE);
    return invitePage(ctx, { token, link, values, errors: f.errors, error: looseMessage(f, ACCOUNT_FIELDS), status: f.status });
  }
  await startSession(ctx, user);
  return redirect("/");
}

export const signupPageRoutes = [
  route({
    method: "GET",
    path: "/signup",
    permission: "public",
    kind: "page",
    summary: "Self sign-up form (404 unless WOVE_ALLOW_SIGNUP is on).",
    handler: (ctx) => {
      requireSignup(ctx);
      if (ctx.actor.kind === "user") return redirect("/");
      return signupPage(ctx, {});
    },
  }),
  route({
    method: "POST",
    path: "/signup",
    permission: "public",
    kind: "page",
    summary: "Create a member account and log in (rate limited per IP).",
    bodyKind: "form",
    body: FormBody,
    handler: signup,
  }),
  route({
    method: "GET",
    path: "/invite/:token",
    permission: "public",
    kind: "page",
    summary: "Accept-invite form for an open invite link.",
    handler: async (ctx) => invitePage(ctx, await openInvite(ctx)),
  }),
  route({
    method: "POST",
    path: "/invite/:token",
    permission: "public",
    kind: "page",
    summary: "Create the invited account and log in.",
    bodyKind: "form",
    body: FormBody,
    handler: accept,
  }),
];
