/**
 * Logging in and out, and the first-run setup page that creates the first admin.
 * Sign-up and invites live in pages-signup.tsx, password resets in pages-reset.tsx.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { User } from "../db/schema.ts";
import { route, type Ctx } from "../server/guard.ts";
import { redirect, safeNext } from "../server/http.ts";
import { Field, Flash, Form, type FieldErrors } from "../web/forms.tsx";
import { notFound } from "../lib/errors.ts";
import { recordEvent } from "../events/events.ts";
import { countAdmins, createUser, verifyLogin } from "./users.ts";
import { deleteSession } from "./sessions.ts";
import { checkSetupToken, setupPending, spendSetupToken } from "./setup.ts";
import { loginFailed, loginSucceeded, loginWait, waitText } from "./login-limits.ts";
import { AuthCard, clearSessionCookie, confirmError, field, FormBody, formFailure, NewPasswordFields, page, startSession, NO_STORE } from "./pages-shared.tsx";

type AnyCtx = Ctx<unknown, unknown>;

/** One message for a wrong password, an unknown email and a disabled account: none of them is revealed. */
export const LOGIN_FAILED = "Email or password is wrong.";

/** Fixed notes other pages may ask the login page to show (never free text from the URL). */
const LOGIN_NOTES: Record<string, string> = {
  reset: "Your password was changed and your other sessions were logged out. Log in with the new password.",
  logout: "You are logged out.",
};

type LoginView = { email?: string; next: string; errors?: FieldErrors; error?: string; note?: string; status?: number; retryAfter?: number };

async function loginPage(ctx: AnyCtx, v: LoginView): Promise<Response> {
  const awaitingSetup = setupPending() && (await countAdmins(ctx.app.db.orm)) === 0;
  const errors = v.errors ?? {};
  const body: Html = (
    <AuthCard title="Log in to Wove">
      {awaitingSetup ? (
        <Flash kind="info">
          This instance has no admin yet. The person who started it must finish setup with the one-time link that <code>wove serve</code> printed.
        </Flash>
      ) : null}
      {v.note ? <Flash kind="ok">{v.note}</Flash> : null}
      {v.error ? <Flash kind="error">{v.error}</Flash> : null}
      <Form action="/login" csrf={ctx.csrf()}>
        <input type="hidden" name="next" value={v.next} />
        <Field label="Email" name="email" type="email" value={v.email} autocomplete="username" required autofocus={!v.email} error={errors.email} />
        <Field label="Password" name="password" type="password" autocomplete="current-password" required autofocus={!!v.email} error={errors.password} />
        <div class="form-actions">
          <button type="submit" class="primary">
            Log in
          </button>
          <a href="/reset">Forgot your password?</a>
        </div>
      </Form>
      {ctx.app.config.allowSignup ? (
        <p class="muted">
          No account yet? <a href="/signup">Sign up</a>
        </p>
      ) : null}
    </AuthCard>
  );
  const headers: Record<string, string> = v.retryAfter ? { "Retry-After": String(v.retryAfter) } : {};
  return page(ctx, { title: "Log in", status: v.status, headers }, body);
}

async function login(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const email = field(ctx.body, "email").trim();
  const password = field(ctx.body, "password");
  const next = safeNext(field(ctx.body, "next"));
  const errors: FieldErrors = {};
  if (!email) errors.email = "Enter your email address.";
  if (!password) errors.password = "Enter your password.";
  if (errors.email || errors.password) return loginPage(ctx, { email, next, errors, status: 422 });

  // Checked before the password hash is computed: a blocked guesser costs no CPU.
  const wait = loginWait(ctx.app, ctx.ip, email);
  if (wait) {
    const error = `Too many failed login attempts. Wait ${waitText(wait)} and try again, or reset your password.`;
    return loginPage(ctx, { email, next, error, status: 429, retryAfter: wait });
  }
  const user = await verifyLogin(ctx.app.db.orm, email, password);
  if (!user) {
    loginFailed(ctx.app, ctx.ip, email);
    ctx.log.warn("login failed", { ip: ctx.ip });
    return loginPage(ctx, { email, next, error: LOGIN_FAILED, status: 422 });
  }
  loginSucceeded(ctx.app, email);
  await startSession(ctx, user);
  await recordEvent(ctx.app.db.orm, { actorId: user.id, kind: "user.logged_in", subjectType: "user", subjectId: user.id, data: { ip: ctx.ip } });
  return redirect(next);
}

// ---- First-run setup ----

/**
 * True while one setup request is creating the admin: the token check and the
 * insert are separated by awaits, and two racing posts must not both make an admin.
 */
let setupBusy = false;

async function setupOpen(ctx: AnyCtx, token: string): Promise<boolean> {
  return setupPending() && checkSetupToken(token) && (await countAdmins(ctx.app.db.orm)) === 0;
}

type SetupView = { token: string; values?: Record<string, string>; errors?: FieldErrors; error?: string; status?: number };

function setupPage(ctx: AnyCtx, v: SetupView): Response {
  const values = v.values ?? {};
  const errors = v.errors ?? {};
  return page(
    ctx,
    { title: "Set up Wove", status: v.status, headers: NO_STORE },
    <AuthCard title="Set up Wove" intro="Create the first admin account. This link works once; afterwards admins invite everyone else.">
      {v.error ? <Flash kind="error">{v.error}</Flash> : null}
      <Form action="/setup" csrf={ctx.csrf()}>
        <input type="hidden" name="token" value={v.token} />
        <Field label="Your name" name="name" value={values.name} autocomplete="name" required autofocus maxlength={100} error={errors.name} />
        <Field label="Email" name="email" type="email" value={values.email} autocomplete="email" required error={errors.email} />
        <Field
          label="Username (optional)"
          name="username"
          value={values.username}
          autocomplete="username"
          maxlength={39}
          hint="Lowercase letters, digits and dashes; shown in project URLs. Left empty, it comes from your email."
          error={errors.username}
        />
        <NewPasswordFields errors={errors} />
        <div class="form-actions">
          <button type="submit" class="primary">
            Create admin account
          </button>
        </div>
      </Form>
    </AuthCard>,
  );
}

async function completeSetup(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const token = field(ctx.body, "token");
  if (!(await setupOpen(ctx, token))) throw notFound("Page");
  const values = { name: field(ctx.body, "name"), email: field(ctx.body, "email"), username: field(ctx.body, "username") };
  const password = field(ctx.body, "password");
  const mismatch = confirmError(password, field(ctx.body, "confirm"));
  if (mismatch) return setupPage(ctx, { token, values, errors: { confirm: mismatch }, status: 422 });
  if (setupBusy) return setupPage(ctx, { token, values, error: "Setup is being completed by another request. Reload in a moment.", status: 409 });
  setupBusy = true;
  let admin: User;
  try {
    if (!(await setupOpen(ctx, token))) throw notFound("Page");
    admin = await createUser(
      ctx.app.db.orm,
      { name: values.name, email: values.email, username: values.username.trim() || undefined, password, role: "admin" },
      null,
    );
    spendSetupToken();
  } catch (e) {
    const f = formFailure(e);
    return setupPage(ctx, { token, values, errors: f.errors, error: Object.keys(f.errors).length ? undefined : f.message, status: f.status });
  } finally {
    setupBusy = false;
  }
  ctx.log.info("first admin created through the setup link", { userId: admin.id });
  await startSession(ctx, admin);
  return redirect("/");
}

export const authPageRoutes = [
  route({
    method: "GET",
    path: "/login",
    permission: "public",
    kind: "page",
    summary: "Login form; ?next= is where to go afterwards (a local path).",
    handler: (ctx) => {
      const next = safeNext(ctx.query.next);
      if (ctx.actor.kind === "user") return redirect(next);
      return loginPage(ctx, { next, note: LOGIN_NOTES[ctx.query.done ?? ""] });
    },
  }),
  route({
    method: "POST",
    path: "/login",
    permission: "public",
    kind: "page",
    summary: "Log in with email and password (rate limited per IP and per account).",
    bodyKind: "form",
    body: FormBody,
    handler: login,
  }),
  route({
    method: "POST",
    path: "/logout",
    permission: "user",
    kind: "page",
    summary: "End this browser session.",
    bodyKind: "form",
    body: FormBody,
    handler: async (ctx) => {
      if (ctx.actor.kind === "user" && ctx.actor.via === "session") await deleteSession(ctx.app.db.orm, ctx.actor.sessionId);
      clearSessionCookie(ctx);
      return redirect("/login?done=logout");
    },
  }),
  route({
    method: "GET",
    path: "/setup",
    permission: "public",
    kind: "page",
    summary: "First-run setup with the one-time link printed by `wove serve` (404 once an admin exists).",
    handler: async (ctx) => {
      const token = ctx.query.token ?? "";
      if (!(await setupOpen(ctx, token))) throw notFound("Page");
      return setupPage(ctx, { token });
    },
  }),
  route({
    method: "POST",
    path: "/setup",
    permission: "public",
    kind: "page",
    summary: "Create the first admin and log in as them.",
    bodyKind: "form",
    body: FormBody,
    handler: completeSetup,
  }),
];
