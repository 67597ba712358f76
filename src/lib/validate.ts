/** Field validators shared by API schemas and forms. Each returns an error message or undefined. */

export const EMAIL_RE = /^[^\s@<>()",;:]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** Usernames and team slugs share one namespace (both are owners in URLs). */
export const HANDLE_RE = /^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$/;
export const SLUG_RE = /^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?$/;

const RESERVED = new Set([
  "admin", "api", "assets", "login", "logout", "signup", "setup", "settings", "teams", "projects", "new",
  "explore", "search", "git", "collab", "healthz", "readyz", "metrics", "docs", "static", "wove", "system",
  "invite", "reset", "account", "user", "users", "help", "about",
]);

export function checkEmail(email: string): string | undefined {
  if (email.length > 254 || !EMAIL_RE.test(email)) return "Enter a valid email address.";
  return undefined;
}

export function checkPassword(password: string): string | undefined {
  if (password.length < 10) return "Use at least 10 characters.";
  if (password.length > 512) return "Use at most 512 characters.";
  return undefined;
}

export function checkHandle(handle: string, what = "Username"): string | undefined {
  if (!HANDLE_RE.test(handle)) return `${what} must be 1–39 lowercase letters, digits or dashes, not starting or ending with a dash.`;
  if (RESERVED.has(handle)) return `${what} "${handle}" is reserved.`;
  return undefined;
}

export function checkName(name: string, what = "Name", max = 100): string | undefined {
  const n = name.trim();
  if (n.length === 0) return `${what} is required.`;
  if (n.length > max) return `${what} must be at most ${max} characters.`;
  if (/[\u0000-\u001f\u007f]/.test(n)) return `${what} must not contain control characters.`;
  return undefined;
}

/** Turns free text into a URL-safe slug ("My App!" → "my-app"). */
export function slugify(text: string, max = 60): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, max)
    .replace(/-+$/g, "");
}
