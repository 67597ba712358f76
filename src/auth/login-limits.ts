/**
 * Rate limits for the account pages: logging in, signing up, asking for a
 * password reset. One set per App (tests open many Apps in one process).
 *
 * Login counts failed attempts only, per client IP and per email typed: a
 * school behind one NAT address logs thirty students in at once, and that must
 * not lock the class out; a guesser, though, fails a lot. Keys are the text the
 * visitor typed, so a blocked unknown email looks exactly like a blocked real one.
 */
import type { App } from "../core/app.ts";
import { RateLimiter } from "../lib/ratelimit.ts";

const MINUTE = 60_000;

export type AuthLimits = {
  /** Failed logins per client IP. */
  loginByIp: RateLimiter;
  /** Failed logins (and wrong current passwords) per account email. */
  loginByEmail: RateLimiter;
  /** Sign-up attempts that reach account creation, per client IP. */
  signupByIp: RateLimiter;
  /** Reset requests per client IP. */
  resetByIp: RateLimiter;
  /** Reset mails per email address (silently dropped beyond this, so the answer never changes). */
  resetByEmail: RateLimiter;
};

export const AUTH_LIMITS = {
  loginByIp: { max: 30, windowMs: 5 * MINUTE },
  loginByEmail: { max: 10, windowMs: 15 * MINUTE },
  signupByIp: { max: 5, windowMs: 60 * MINUTE },
  resetByIp: { max: 10, windowMs: 60 * MINUTE },
  resetByEmail: { max: 3, windowMs: 60 * MINUTE },
} as const;

const byApp = new WeakMap<App, AuthLimits>();

export function authLimits(app: App): AuthLimits {
  let limits = byApp.get(app);
  if (!limits) {
    limits = {
      loginByIp: new RateLimiter(AUTH_LIMITS.loginByIp),
      loginByEmail: new RateLimiter(AUTH_LIMITS.loginByEmail),
      signupByIp: new RateLimiter(AUTH_LIMITS.signupByIp),
      resetByIp: new RateLimiter(AUTH_LIMITS.resetByIp),
      resetByEmail: new RateLimiter(AUTH_LIMITS.resetByEmail),
    };
    byApp.set(app, limits);
  }
  return limits;
}

/** The per-account key: the email as typed, normalised the way accounts store it. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase().slice(0, 254);
}

/** Seconds until a login may be tried again for this IP or email (0 when allowed). Counts nothing. */
export function loginWait(app: App, ip: string, email: string): number {
  const l = authLimits(app);
  return Math.max(l.loginByIp.blocked(ip), l.loginByEmail.blocked(emailKey(email)));
}

export function loginFailed(app: App, ip: string, email: string): void {
  const l = authLimits(app);
  l.loginByIp.hit(ip);
  l.loginByEmail.hit(emailKey(email));
}

/** A successful login (or a completed password reset) clears the account's counter, not the IP's. */
export function loginSucceeded(app: App, email: string): void {
  authLimits(app).loginByEmail.reset(emailKey(email));
}

/** "5 minutes", "1 minute", "30 seconds": how long a blocked visitor waits. */
export function waitText(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const m = Math.ceil(seconds / 60);
  return `${m} minute${m === 1 ? "" : "s"}`;
}
