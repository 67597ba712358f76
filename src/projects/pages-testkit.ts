/**
 * Test helpers for the page tests: an app on a temp data dir, a server over the page routes
 * (no listener: `handle(new Request(…))`), users with sessions, and form posts with CSRF.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { createSession, SESSION_COOKIE } from "../auth/sessions.ts";
import { csrfFor, type RouteDef } from "../server/guard.ts";
import { createServer } from "../server/server.ts";
import { setLogLevel } from "../lib/log.ts";

const LEVELS = ["debug", "info", "warn", "error"] as const;
const configuredLevel = LEVELS.find((l) => l === process.env.WOVE_LOG_LEVEL) ?? "info";

export type Person = { user: User; cookie: string; csrf: string };

export type PageKit = {
  app: App;
  /** Creates a user with a live session. */
  person(name: string, role?: "admin" | "member"): Promise<Person>;
  get(path: string, who?: Person): Promise<Response>;
  post(path: string, form: Record<string, string>, who?: Person): Promise<Response>;
  close(): void;
};

export async function pageKit(routes: RouteDef[]): Promise<PageKit> {
  const dir = mkdtempSync(join(tmpdir(), "wove-pages-"));
  const app = await openApp(loadConfig({ data: dir }, {}));
  const server = createServer(app, { routes });
  // One access-log line per request would bury the test output; warnings still show.
  setLogLevel(configuredLevel === "debug" || configuredLevel === "info" ? "warn" : configuredLevel);
  const base = "http://localhost";
  return {
    app,
    async person(name, role = "member") {
      const user = await createUser(app.db.orm, { email: `${name}@example.com`, username: name, name: name.charAt(0).toUpperCase() + name.slice(1), role }, null);
      const s = await createSession(app.db.orm, user.id, 1, {});
      return { user, cookie: `${SESSION_COOKIE}=${s.token}`, csrf: csrfFor(app, s.id) };
    },
    get(path, who) {
      return server.handle(new Request(base + path, { headers: who ? { cookie: who.cookie } : {} }));
    },
    post(path, form, who) {
      const body = new URLSearchParams({ ...(who ? { _csrf: who.csrf } : {}), ...form }).toString();
      const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", origin: base };
      if (who) headers.cookie = who.cookie;
      return server.handle(new Request(base + path, { method: "POST", headers, body }));
    },
    close() {
      setLogLevel(configuredLevel);
      app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
