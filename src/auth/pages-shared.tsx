/**
 * Pieces shared by the account pages (auth, account settings, admin): the
 * page shell call, starting and ending browser sessions, and turning a
 * service's validation error into errors beside the form's fields.
 */
import { t } from "elysia";
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import type { User } from "../db/schema.ts";
import type { Ctx } from "../server/guard.ts";
import { html, setCookie } from "../server/http.ts";
import { doc, Layout, type LayoutProps } from "../web/layout.tsx";
import { Field, type FieldErrors } from "../web/forms.tsx";
import { ApiError } from "../lib/errors.ts";
import { createSession, deleteSession, SESSION_COOKIE } from "./sessions.ts";

/** Form posts arrive as name → value; the guard does not check them against this (handlers validate). */
export const FormBody = t.Record(t.String(), t.String());

type AnyCtx = Ctx<unknown, unknown>;

/** Renders a full page in the shared layout; the CSRF token goes to the header's logout form. */
export function page(
  ctx: AnyCtx,
  opts: { title: string; active?: LayoutProps["active"]; status?: number; headers?: Record<string, string>; wide?: boolean },
  body: Child,
): Response {
  return html(
    doc(
      <Layout title={opts.title} actor={ctx.actor} csrf={ctx.actor.kind === "user" ? ctx.csrf() : undefined} active={opts.active} wide={opts.wide}>
        {body}
      </Layout>,
    ),
    opts.status ?? 200,
    opts.headers,
  );
}

/** Pages that show secrets (a new token, an invite link) must not be kept by caches or the back button. */
export const NO_STORE = { "Cache-Control": "no-store" };

function isHttps(ctx: AnyCtx): boolean {
  return ctx.app.config.baseUrl.startsWith("https:");
}

/** Signs the browser in as `user`: a new session (ending the one it had) and its HttpOnly cookie. */
export async function startSession(ctx: AnyCtx, user: User): Promise<void> {
  if (ctx.actor.kind === "user" && ctx.actor.via === "session") await deleteSession(ctx.app.db.orm, ctx.actor.sessionId);
  const days = ctx.app.config.sessionDays;
  const s = await createSession(ctx.app.db.orm, user.id, days, {
    ip: ctx.ip,
    userAgent: ctx.request.headers.get("user-agent") ?? undefined,
  });
  ctx.headers.append("Set-Cookie", setCookie(SESSION_COOKIE, s.token, { secure: isHttps(ctx), maxAge: days * 86400 }));
}

export function clearSessionCookie(ctx: AnyCtx): void {
  ctx.headers.append("Set-Cookie", setCookie(SESSION_COOKIE, "", { secure: isHttps(ctx), maxAge: 0 }));
}

export type FormFailure = { status: number; message: string; errors: FieldErrors };

/**
 * A service's 409/422 as field errors for re-rendering the form; any other
 * error (403, 404, a bug) is rethrown to the error page.
 */
export function formFailure(e: unknown): FormFailure {
  if (e instanceof ApiError && (e.status === 422 || e.status === 409)) {
    return { status: e.status, message: e.message, errors: { ...(e.details ?? {}) } };
  }
  throw e;
}

/** Reads one text field of a form post (absent → ""). */
export function field(body: Record<string, string> | undefined, name: string): string {
  return body?.[name] ?? "";
}

/** New password + its confirmation, checked for a typo before the service checks strength. */
export function confirmError(password: string, confirm: string): string | undefined {
  return password !== confirm ? "The two passwords differ; type the same password twice." : undefined;
}

export function NewPasswordFields(p: { errors: FieldErrors; label?: string }): Html {
  return (
    <>
      <Field
        label={p.label ?? "Password"}
        name="password"
        type="password"
        autocomplete="new-password"
        required
        minlength={10}
        hint="At least 10 characters. A few random words make a strong one."
        error={p.errors.password}
      />
      <Field label="Confirm password" name="confirm" type="password" autocomplete="new-password" required error={p.errors.confirm} />
    </>
  );
}

/** The centred card used by login, setup, signup, invite and reset. */
export function AuthCard(p: { title: string; intro?: Child; children?: Child }): Html {
  return (
    <section class="card narrow stack" aria-labelledby="auth-title">
      <h1 id="auth-title">{p.title}</h1>
      {p.intro ? <p class="muted">{p.intro}</p> : null}
      {p.children}
    </section>
  );
}

/** A one-button form (revoke, disable, log out others); `confirm` asks first when app.js runs. */
export function PostButton(p: { action: string; csrf: string; label: string; confirm?: string; class?: string; ariaLabel?: string }): Html {
  return (
    <form method="post" action={p.action} class="inline" data-confirm={p.confirm}>
      <input type="hidden" name="_csrf" value={p.csrf} />
      <button type="submit" class={p.class} aria-label={p.ariaLabel}>
        {p.label}
      </button>
    </form>
  );
}

/**
 * Secrets a form post creates (a new token, an invite link) cross the redirect
 * in memory, keyed by the browser session, so the next GET shows them once and
 * a reload or the back button never does. Entries are dropped after a minute.
 */
const handOver = new Map<string, { value: Record<string, string>; at: number }>();
const HAND_OVER_MS = 60_000;

function handOverKey(ctx: AnyCtx, kind: string): string | undefined {
  return ctx.actor.kind === "user" && ctx.actor.via === "session" ? `${ctx.actor.sessionId}:${kind}` : undefined;
}

/** Keeps `value` for this session's next page; false when the caller has no session (render directly then). */
export function stashForNextPage(ctx: AnyCtx, kind: string, value: Record<string, string>): boolean {
  const key = handOverKey(ctx, kind);
  if (!key) return false;
  const now = Date.now();
  for (const [k, v] of handOver) if (now - v.at > HAND_OVER_MS) handOver.delete(k);
  handOver.set(key, { value, at: now });
  return true;
}

export function takeFromLastPost(ctx: AnyCtx, kind: string): Record<string, string> | undefined {
  const key = handOverKey(ctx, kind);
  if (!key) return undefined;
  const hit = handOver.get(key);
  handOver.delete(key);
  return hit && Date.now() - hit.at <= HAND_OVER_MS ? hit.value : undefined;
}
