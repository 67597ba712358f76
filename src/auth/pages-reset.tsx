/**
 * Password reset by magic link. Asking always gets the same answer, whether
 * or not the email has an account, and the mail is sent after the answer so
 * the response time does not tell either.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { App } from "../core/app.ts";
import type { Logger } from "../lib/log.ts";
import { route, type Ctx } from "../server/guard.ts";
import { redirect } from "../server/http.ts";
import { Field, Flash, Form, type FieldErrors } from "../web/forms.tsx";
import { checkEmail } from "../lib/validate.ts";
import { completePasswordReset, createPasswordReset, findOpenLink } from "./links.ts";
import { sendMail } from "./mail.ts";
import { authLimits, emailKey, loginSucceeded, waitText } from "./login-limits.ts";
import { AuthCard, confirmError, field, FormBody, formFailure, NewPasswordFields, NO_STORE, page } from "./pages-shared.tsx";

type AnyCtx = Ctx<unknown, unknown>;

export const RESET_SENT = "If an account exists for that email, a reset link was sent to it. The link works once, within an hour.";

/** Creates the link and mails it; runs after the response so timing reveals nothing. */
export async function mailResetLink(app: App, email: string, log: Logger): Promise<void> {
  const reset = await createPasswordReset(app.db.orm, email);
  if (!reset) return;
  const link = `${app.config.baseUrl}/reset/${reset.token}`;
  await sendMail({
    to: reset.user.email,
    subject: "Reset your Wove password",
    text: [
      `Hello ${reset.user.name},`,
      "",
      "Someone (hopefully you) asked to reset the password of your Wove account.",
      `Open this link within an hour to choose a new password: ${link}`,
      "",
      "If you did not ask for this, ignore this mail; your password stays as it is.",
    ].join("\n"),
  });
  log.info("password reset link sent", { userId: reset.user.id });
}

type AskView = { email?: string; errors?: FieldErrors; error?: string; sent?: boolean; status?: number; retryAfter?: number };

function askPage(ctx: AnyCtx, v: AskView): Response {
  const headers: Record<string, string> = v.retryAfter ? { "Retry-After": String(v.retryAfter) } : {};
  return page(
    ctx,
    { title: "Reset password", status: v.status, headers },
    <AuthCard title="Reset your password" intro="Enter your account's email. We send a link that lets you choose a new password.">
      {v.sent ? <Flash kind="ok">{RESET_SENT}</Flash> : null}
      {v.error ? <Flash kind="error">{v.error}</Flash> : null}
      <Form action="/reset" csrf={ctx.csrf()}>
        <Field label="Email" name="email" type="email" value={v.email} autocomplete="email" required autofocus error={v.errors?.email} />
        <div class="form-actions">
          <button type="submit" class="primary">
            Send reset link
          </button>
          <a href="/login">Back to log in</a>
        </div>
      </Form>
      <p class="hint">No mail server configured? Then the link is written to the server log, and an admin can hand it to you.</p>
    </AuthCard>,
  );
}

async function ask(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const email = field(ctx.body, "email").trim();
  const bad = checkEmail(email.toLowerCase());
  if (bad) return askPage(ctx, { email, errors: { email: bad }, status: 422 });
  const limits = authLimits(ctx.app);
  const wait = limits.resetByIp.blocked(ctx.ip);
  if (wait) {
    return askPage(ctx, { email, error: `Too many reset requests from your network. Wait ${waitText(wait)} and try again.`, status: 429, retryAfter: wait });
  }
  limits.resetByIp.hit(ctx.ip);
  // Past the per-email limit the answer stays the same; only the mail is not sent again.
  if (!limits.resetByEmail.hit(emailKey(email))) {
    void mailResetLink(ctx.app, email, ctx.log).catch((e: unknown) => ctx.log.error("sending the reset link failed", { error: String(e) }));
  }
  return redirect("/reset?sent=1");
}

// ---- Choosing the new password ----

function GoneCard(): Html {
  return (
    <AuthCard title="This link no longer works">
      <p>The reset link is invalid, was already used, or is more than an hour old.</p>
      <p>
        <a class="btn primary" href="/reset">
          Ask for a new link
        </a>
      </p>
    </AuthCard>
  );
}

function gonePage(ctx: AnyCtx): Response {
  return page(ctx, { title: "Reset link expired", status: 404, headers: NO_STORE }, <GoneCard />);
}

function choosePage(ctx: AnyCtx, v: { token: string; email: string | null; errors?: FieldErrors; status?: number }): Response {
  return page(
    ctx,
    { title: "Choose a new password", status: v.status, headers: NO_STORE },
    <AuthCard title="Choose a new password" intro={v.email ? `For the account ${v.email}. Your other sessions are logged out afterwards.` : undefined}>
      <Form action={`/reset/${encodeURIComponent(v.token)}`} csrf={ctx.csrf()}>
        <NewPasswordFields errors={v.errors ?? {}} label="New password" />
        <div class="form-actions">
          <button type="submit" class="primary">
            Set new password
          </button>
        </div>
      </Form>
    </AuthCard>,
  );
}

async function choose(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const token = ctx.params.token ?? "";
  const link = await findOpenLink(ctx.app.db.orm, "reset", token);
  if (!link) return gonePage(ctx);
  const password = field(ctx.body, "password");
  const mismatch = confirmError(password, field(ctx.body, "confirm"));
  if (mismatch) return choosePage(ctx, { token, email: link.email, errors: { confirm: mismatch }, status: 422 });
  try {
    const user = await completePasswordReset(ctx.app.db.orm, token, password);
    // Whoever proved they own the mailbox may log in again at once.
    loginSucceeded(ctx.app, user.email);
  } catch (e) {
    const f = formFailure(e);
    if (f.errors.token) return gonePage(ctx);
    return choosePage(ctx, { token, email: link.email, errors: f.errors, status: f.status });
  }
  return redirect("/login?done=reset");
}

export const resetPageRoutes = [
  route({
    method: "GET",
    path: "/reset",
    permission: "public",
    kind: "page",
    summary: "Ask for a password reset link.",
    handler: (ctx) => askPage(ctx, { sent: ctx.query.sent === "1" }),
  }),
  route({
    method: "POST",
    path: "/reset",
    permission: "public",
    kind: "page",
    summary: "Mail a reset link if the account exists (same answer either way; rate limited).",
    bodyKind: "form",
    body: FormBody,
    handler: ask,
  }),
  route({
    method: "GET",
    path: "/reset/:token",
    permission: "public",
    kind: "page",
    summary: "New-password form for an open reset link.",
    handler: async (ctx) => {
      const token = ctx.params.token ?? "";
      const link = await findOpenLink(ctx.app.db.orm, "reset", token);
      return link ? choosePage(ctx, { token, email: link.email }) : gonePage(ctx);
    },
  }),
  route({
    method: "POST",
    path: "/reset/:token",
    permission: "public",
    kind: "page",
    summary: "Set the new password, end all sessions, go to log in.",
    bodyKind: "form",
    body: FormBody,
    handler: choose,
  }),
];
