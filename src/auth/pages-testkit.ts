/**
 * Test support for the account pages: an in-process server (Elysia's
 * `handle`, no socket) with the account routes, and a tiny browser that keeps
 * cookies and reads CSRF tokens from forms. Used by the *.test.ts files only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import type { RouteDef } from "../server/guard.ts";
import { createServer } from "../server/server.ts";
import { systemRoutes } from "../server/system-routes.ts";
import { accountApiRoutes } from "./api-routes.ts";
import { authPageRoutes } from "./pages.tsx";
import { signupPageRoutes } from "./pages-signup.tsx";
import { resetPageRoutes } from "./pages-reset.tsx";
import { accountPageRoutes } from "../account/pages.tsx";
import { adminPageRoutes } from "../admin/pages.tsx";
import { createUser } from "./users.ts";
import { setMailTransport, logTransport, type Mail, type MailTransport } from "./mail.ts";
import { setLogSink } from "../lib/log.ts";

export const ACCOUNT_ROUTES: RouteDef[] = [
  ...systemRoutes,
  ...accountApiRoutes,
  ...authPageRoutes,
  ...signupPageRoutes,
  ...resetPageRoutes,
  ...accountPageRoutes,
  ...adminPageRoutes,
];

export const PASSWORD = "correct horse battery staple";

export type Harness = {
  app: App;
  handle(req: Request): Promise<Response>;
  browser(ip?: string): Browser;
  user(role?: "admin" | "member", password?: string): Promise<User>;
  mails: Mail[];
  /** Resolves with the next mail sent (mails are sent after the response). */
  nextMail(): Promise<Mail>;
  close(): void;
};

let counter = 0;

/**
 * Mail and log sinks are process-wide, and a test may open a second harness
 * inside the first: every open harness sees every mail, and the defaults come
 * back only when the last one closes.
 */
type Capture = { mails: Mail[]; waiting: ((m: Mail) => void)[] };
const openCaptures = new Set<Capture>();
const captureTransport: MailTransport = {
  name: "test",
  async send(m) {
    for (const c of openCaptures) {
      c.mails.push(m);
      const w = c.waiting;
      c.waiting = [];
      for (const f of w) f(m);
    }
  },
};

export async function openHarness(env: Record<string, string> = {}): Promise<Harness> {
  setLogSink(() => {});
  const dir = mkdtempSync(join(tmpdir(), "wove-pages-"));
  const app = await openApp(loadConfig({ data: dir, port: "0" }, { WOVE_TRUST_PROXY: "true", ...env }));
  const server = createServer(app, { routes: ACCOUNT_ROUTES });
  const capture: Capture = { mails: [], waiting: [] };
  openCaptures.add(capture);
  setMailTransport(captureTransport);
  const h: Harness = {
    app,
    handle: (req) => server.handle(req),
    browser: (ip = `10.0.${Math.floor(++counter / 250)}.${counter % 250}`) => new Browser(h, ip),
    async user(role = "member", password = PASSWORD) {
      counter++;
      return createUser(app.db.orm, { email: `user${counter}@example.com`, username: `user-${counter}`, name: `User ${counter}`, role, password }, null);
    },
    mails: capture.mails,
    nextMail: () =>
      new Promise<Mail>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no mail was sent")), 3000);
        capture.waiting.push((m) => {
          clearTimeout(timer);
          resolve(m);
        });
      }),
    close() {
      openCaptures.delete(capture);
      if (openCaptures.size === 0) {
        setMailTransport(logTransport);
        setLogSink((text) => process.stdout.write(text));
      }
      app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export type Sent = { res: Response; status: number; text: string; location: string | null };

/** A cookie-keeping client that posts forms the way a browser does. */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly h: Harness,
    readonly ip: string,
  ) {}

  async send(method: string, path: string, opts: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Sent> {
    const headers = new Headers(opts.headers);
    headers.set("x-forwarded-for", this.ip);
    if (this.cookies.size > 0) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    let body: string | undefined;
    if (opts.form) {
      headers.set("content-type", "application/x-www-form-urlencoded");
      body = new URLSearchParams(opts.form).toString();
    }
    const res = await this.h.handle(new Request(`http://wove.test${path}`, { method, headers, body }));
    for (const c of res.headers.getSetCookie()) {
      const [pair = "", ...attrs] = c.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { res, status: res.status, text: await res.text(), location: res.headers.get("location") };
  }

  get(path: string): Promise<Sent> {
    return this.send("GET", path);
  }

  /** Loads `formPage` for its CSRF token, then posts `form` to `action` (as a browser would). */
  async submit(formPage: string, action: string, form: Record<string, string>): Promise<Sent> {
    const token = csrfIn((await this.get(formPage)).text);
    return this.send("POST", action, { form: { _csrf: token, ...form } });
  }

  async login(email: string, password = PASSWORD): Promise<Sent> {
    return this.submit("/login", "/login", { email, password });
  }
}

export function csrfIn(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error("no CSRF token in the page");
  return m[1];
}

/** The value of the read-only field with this id (a shown-once token or link). */
export function readonlyValue(html: string, id: string): string | undefined {
  const m = new RegExp(`id="${id}"[^>]*value="([^"]+)"`).exec(html);
  return m?.[1];
}
