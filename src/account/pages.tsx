/**
 * Account settings (`/account`): display name, password, API tokens and the
 * browser sessions of the signed-in user. Every change is a form post that
 * redirects back here (post/redirect/get); a new token crosses the redirect
 * in memory (stashForNextPage) so it is shown once and never survives a reload.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { User } from "../db/schema.ts";
import { route, userOf, type Ctx } from "../server/guard.ts";
import { redirect } from "../server/http.ts";
import { Field, Flash, Form, type FieldErrors } from "../web/forms.tsx";
import { parseExpiry, createToken, listTokens, revokeToken } from "../auth/tokens.ts";
import { getUser, setPassword, setProfile } from "../auth/users.ts";
import { deleteUserSessions, forgetUser } from "../auth/sessions.ts";
import { authLimits, emailKey, loginFailed, waitText } from "../auth/login-limits.ts";
import { confirmError, field, FormBody, formFailure, NO_STORE, page, stashForNextPage, takeFromLastPost } from "../auth/pages-shared.tsx";
import { listActiveSessions, readTokenForm, SessionsCard, tokenFormErrors, TokensCard, type NewToken, type TokensState } from "./pages-tokens.tsx";

type AnyCtx = Ctx<unknown, unknown>;

/** Fixed success notes, chosen by `?done=` after a redirect (never text from the URL itself). */
const NOTES: Record<string, string> = {
  profile: "Profile saved.",
  password: "Password changed. Your other sessions were logged out.",
  revoked: "Token revoked. Anything that used it is refused from now on.",
  sessions: "Your other sessions were logged out.",
};

function sessionIdOf(ctx: AnyCtx): string | undefined {
  return ctx.actor.kind === "user" && ctx.actor.via === "session" ? ctx.actor.sessionId : undefined;
}

type AccountView = {
  note?: string;
  profile?: { name: string; errors: FieldErrors };
  password?: { errors: FieldErrors; error?: string };
  tokens?: TokensState;
  status?: number;
};

function ProfileCard(p: { user: User; csrf: string; state?: AccountView["profile"] }): Html {
  return (
    <section class="card stack" id="profile" aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <Form action="/account/profile" csrf={p.csrf}>
        <Field label="Display name" name="name" value={p.state?.name ?? p.user.name} autocomplete="name" maxlength={100} required error={p.state?.errors.name} />
        <p class="hint">Your username and email are shown above; an admin can change them.</p>
        <div class="form-actions">
          <button type="submit" class="primary">
            Save profile
          </button>
        </div>
      </Form>
    </section>
  );
}

function PasswordCard(p: { user: User; csrf: string; state?: AccountView["password"] }): Html {
  const errors = p.state?.errors ?? {};
  return (
    <section class="card stack" id="password" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      {p.state?.error ? <Flash kind="error">{p.state.error}</Flash> : null}
      <Form action="/account/password#password" csrf={p.csrf}>
        {p.user.passwordHash !== null ? (
          <Field label="Current password" name="current" type="password" autocomplete="current-password" required error={errors.current} />
        ) : (
          <p class="hint">Your account has no password yet; set one to log in with your email.</p>
        )}
        <Field
          label="New password"
          name="password"
          type="password"
          autocomplete="new-password"
          minlength={10}
          required
          hint="At least 10 characters. Your other sessions are logged out."
          error={errors.password}
        />
        <Field label="Confirm new password" name="confirm" type="password" autocomplete="new-password" required error={errors.confirm} />
        <div class="form-actions">
          <button type="submit" class="primary">
            Change password
          </button>
        </div>
      </Form>
    </section>
  );
}

async function accountPage(ctx: AnyCtx, v: AccountView): Promise<Response> {
  const orm = ctx.app.db.orm;
  const user = (await getUser(orm, userOf(ctx).id)) ?? userOf(ctx);
  const [tokens, sessionRows] = await Promise.all([listTokens(orm, user.id), listActiveSessions(orm, user.id)]);
  const csrf = ctx.csrf();
  const tokenState = v.tokens ?? {};
  return page(
    ctx,
    { title: "Account", active: "account", status: v.status, headers: tokenState.created ? NO_STORE : undefined, wide: true },
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>
            {user.name} {user.role === "admin" ? <span class="badge admin">admin</span> : null}
          </h1>
          <p class="muted">
            @{user.username} · {user.email}
          </p>
        </div>
      </div>
      {v.note ? <Flash kind="ok">{v.note}</Flash> : null}
      <div class="split left">
        <div class="stack">
          <ProfileCard user={user} csrf={csrf} state={v.profile} />
          <PasswordCard user={user} csrf={csrf} state={v.password} />
        </div>
        <div class="stack">
          <TokensCard user={user} tokens={tokens} csrf={csrf} state={tokenState} />
          {sessionRows.length > 0 ? <SessionsCard rows={sessionRows} currentId={sessionIdOf(ctx)} csrf={csrf} /> : null}
        </div>
      </div>
    </div>,
  );
}

async function saveProfile(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const user = userOf(ctx);
  const name = field(ctx.body, "name");
  try {
    await setProfile(ctx.app.db.orm, user, name, user.id);
  } catch (e) {
    const f = formFailure(e);
    return accountPage(ctx, { profile: { name, errors: { name: f.errors.name ?? f.message } }, status: f.status });
  }
  forgetUser(user.id);
  return redirect("/account?done=profile");
}

async function changePassword(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const orm = ctx.app.db.orm;
  // Fresh from the database: the session cache may hold the hash from before a change.
  const user = (await getUser(orm, userOf(ctx).id)) ?? userOf(ctx);
  const password = field(ctx.body, "password");
  const fail = (errors: FieldErrors, status = 422, error?: string) => accountPage(ctx, { password: { errors, error }, status });

  // A stolen session must not become a way to guess the password: wrong guesses count as failed logins.
  const wait = authLimits(ctx.app).loginByEmail.blocked(emailKey(user.email));
  if (wait) return fail({}, 429, `Too many wrong passwords. Wait ${waitText(wait)} and try again.`);
  if (user.passwordHash !== null) {
    const ok = await Bun.password.verify(field(ctx.body, "current"), user.passwordHash).catch(() => false);
    if (!ok) {
      loginFailed(ctx.app, ctx.ip, user.email);
      return fail({ current: "Your current password is wrong." });
    }
  }
  const mismatch = confirmError(password, field(ctx.body, "confirm"));
  if (mismatch) return fail({ confirm: mismatch });
  try {
    await setPassword(orm, user, password, user.id);
  } catch (e) {
    const f = formFailure(e);
    return fail({ password: f.errors.password ?? f.message }, f.status);
  }
  await deleteUserSessions(orm, user.id, sessionIdOf(ctx));
  forgetUser(user.id);
  return redirect("/account?done=password");
}

async function newToken(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const user = userOf(ctx);
  const form = readTokenForm(ctx.body);
  const errors = tokenFormErrors(form);
  if (Object.keys(errors).length > 0) return accountPage(ctx, { tokens: { form, errors }, status: 422 });
  let created: NewToken;
  try {
    const { token, row } = await createToken(ctx.app.db.orm, user, { name: form.name, scopes: form.scopes, expiresAt: parseExpiry(form.expires) }, user.id);
    created = { token, name: row.name };
  } catch (e) {
    const f = formFailure(e);
    const errors = { ...f.errors, token_name: f.errors.name };
    return accountPage(ctx, { tokens: { form, errors: Object.keys(f.errors).length ? errors : { token_name: f.message } }, status: f.status });
  }
  if (!stashForNextPage(ctx, "token", created)) return accountPage(ctx, { tokens: { created } });
  return redirect("/account#tokens");
}

export const accountPageRoutes = [
  route({
    method: "GET",
    path: "/account",
    permission: "user",
    kind: "page",
    summary: "Account settings: profile, password, API tokens, sessions.",
    handler: (ctx) => {
      const stashed = takeFromLastPost(ctx, "token");
      const created = stashed?.token ? { token: stashed.token, name: stashed.name ?? "" } : undefined;
      return accountPage(ctx, { note: NOTES[ctx.query.done ?? ""], tokens: created ? { created } : undefined });
    },
  }),
  route({
    method: "POST",
    path: "/account/profile",
    permission: "user",
    kind: "page",
    summary: "Change your display name.",
    bodyKind: "form",
    body: FormBody,
    handler: saveProfile,
  }),
  route({
    method: "POST",
    path: "/account/password",
    permission: "user",
    kind: "page",
    summary: "Change your password (needs the current one); logs out your other sessions.",
    bodyKind: "form",
    body: FormBody,
    handler: changePassword,
  }),
  route({
    method: "POST",
    path: "/account/tokens",
    permission: "user",
    kind: "page",
    summary: "Create an API token; it is shown once on the next page.",
    bodyKind: "form",
    body: FormBody,
    handler: newToken,
  }),
  route({
    method: "POST",
    path: "/account/tokens/:tokenId/revoke",
    permission: "user",
    kind: "page",
    summary: "Revoke one of your API tokens.",
    bodyKind: "form",
    body: FormBody,
    handler: async (ctx) => {
      const user = userOf(ctx);
      await revokeToken(ctx.app.db.orm, user.id, ctx.params.tokenId ?? "", user.id);
      return redirect("/account?done=revoked#tokens");
    },
  }),
  route({
    method: "POST",
    path: "/account/sessions/revoke-others",
    permission: "user",
    kind: "page",
    summary: "Log out every other browser session of yours.",
    bodyKind: "form",
    body: FormBody,
    handler: async (ctx) => {
      await deleteUserSessions(ctx.app.db.orm, userOf(ctx).id, sessionIdOf(ctx));
      return redirect("/account?done=sessions#sessions");
    },
  }),
];
