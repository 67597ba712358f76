/** Response helpers shared by every route: JSON, HTML, errors, cookies, security headers. */
import { ApiError, errorBody } from "../lib/errors.ts";

/**
 * CSP fit for Monaco later: its workers come from our own origin (or blob:),
 * it injects styles at run time (hence 'unsafe-inline' for styles only), and
 * the Yjs socket is same-origin. No script is ever inline.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export function securityHeaders(h: Headers, https: boolean): void {
  // A route may set a stricter policy (raw user files get `sandbox`); never loosen it.
  if (!h.has("Content-Security-Policy")) h.set("Content-Security-Policy", CSP);
  h.set("X-Content-Type-Options", "nosniff");
  h.set("Referrer-Policy", "same-origin");
  h.set("X-Frame-Options", "DENY");
  h.set("Cross-Origin-Opener-Policy", "same-origin");
  h.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
  if (https) h.set("Strict-Transport-Security", "max-age=31536000");
}

export function json(data: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(data), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  });
}

export function html(body: string, status = 200, headers?: Record<string, string>): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/html; charset=utf-8", ...headers } });
}

export function redirect(location: string, status = 303): Response {
  return new Response(null, { status, headers: { Location: location } });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

export function apiErrorResponse(e: ApiError): Response {
  return json(errorBody(e), e.status, e.headers);
}

export type CookieOptions = { maxAge?: number; secure: boolean; httpOnly?: boolean; sameSite?: "Lax" | "Strict" };

export function setCookie(name: string, value: string, o: CookieOptions): string {
  let c = `${name}=${value}; Path=/; SameSite=${o.sameSite ?? "Lax"}`;
  if (o.httpOnly !== false) c += "; HttpOnly";
  if (o.secure) c += "; Secure";
  if (o.maxAge !== undefined) c += `; Max-Age=${o.maxAge}`;
  return c;
}

export function parseCookies(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

/** A safe local redirect target: only same-site absolute paths, never `//host` or `/\host`. */
export function safeNext(next: string | null | undefined, fallback = "/"): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\") || next.length > 2000) return fallback;
  return next;
}
