/** The page shell: head, header with navigation, main, footer. Every page renders inside it. */
import type { Child, Html } from "./jsx/jsx-runtime.ts";
import type { Actor } from "../auth/actor.ts";

export const HTMX = "/assets/vendor/htmx-2.0.11.min.js";

export type LayoutProps = {
  title: string;
  actor: Actor;
  /** CSRF token for the logout form and htmx posts (hx-headers on body). */
  csrf?: string;
  active?: "dashboard" | "teams" | "admin" | "account" | "explore" | "search" | "prompts";
  children?: Child;
  wide?: boolean;
};

export function Layout(p: LayoutProps): Html {
  const user = p.actor.kind === "user" ? p.actor.user : undefined;
  const hx = p.csrf ? JSON.stringify({ "X-CSRF-Token": p.csrf }) : undefined;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{p.title} · Wove</title>
        <link rel="stylesheet" href="/assets/app.css" />
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
        <script src={HTMX} defer></script>
        <script src="/assets/app.js" defer></script>
      </head>
      <body hx-headers={hx}>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/">
            Wove
          </a>
          {user ? (
            <nav aria-label="Main">
              <a href="/" aria-current={p.active === "dashboard" ? "page" : undefined}>Dashboard</a>
              <a href="/teams" aria-current={p.active === "teams" ? "page" : undefined}>Teams</a>
              <a href="/explore" aria-current={p.active === "explore" ? "page" : undefined}>Explore</a>
              <a href="/search" aria-current={p.active === "search" ? "page" : undefined}>Search</a>
              <a href="/prompts" aria-current={p.active === "prompts" ? "page" : undefined}>Prompts</a>
              {user.role === "admin" ? (
                <a href="/admin" aria-current={p.active === "admin" ? "page" : undefined}>Admin</a>
              ) : null}
              <a href="/account" aria-current={p.active === "account" ? "page" : undefined}>{user.username}</a>
              <form method="post" action="/logout" class="inline">
                <input type="hidden" name="_csrf" value={p.csrf} />
                <button type="submit" class="link">Log out</button>
              </form>
            </nav>
          ) : (
            <nav aria-label="Main">
              <a href="/explore" aria-current={p.active === "explore" ? "page" : undefined}>Explore</a>
              <a href="/search" aria-current={p.active === "search" ? "page" : undefined}>Search</a>
              <a href="/login">Log in</a>
            </nav>
          )}
        </header>
        <main id="main" class={p.wide ? "wide" : undefined} tabindex="-1">
          {p.children}
        </main>
      </body>
    </html>
  );
}

export function doc(page: Html): string {
  return "<!doctype html>" + page.value;
}
