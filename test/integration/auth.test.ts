/**
 * Browser-style sign-in against the real server, with a small cookie jar:
 * session cookie flags, CSRF on the login form, login throttling that blocks
 * the Nth attempt without revealing whether the email exists, and a logout
 * that ends the session on the server.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { test } from "../helpers/quiet.ts";
import { TestServer, type TestUser } from "../helpers/server.ts";

/** A minimal browser: keeps cookies, reads the CSRF field from forms, never follows redirects. */
class Client {
  private cookies = new Map<string, string>();
  setCookies: string[] = [];
  constructor(private readonly srv: TestServer) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  private remember(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      this.setCookies.push(c);
      const [pair] = c.split(";");
      const eq = (pair ?? "").indexOf("=");
      const name = (pair ?? "").slice(0, eq).trim();
      const value = (pair ?? "").slice(eq + 1).trim();
      if (/max-age=0\b/i.test(c) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string): Promise<{ res: Response; html: string }> {
    const res = await this.srv.fetch(path, { headers: { cookie: this.cookieHeader() } });
    this.remember(res);
    return { res, html: await res.text() };
  }

  async post(path: string, form: Record<string, string>): Promise<{ res: Response; html: string }> {
    const res = await this.srv.fetch(path, {
      method: "POST",
      headers: { cookie: this.cookieHeader(), "content-type": "application/x-www-form-urlencoded", origin: this.srv.url },
      body: new URLSearchParams(form).toString(),
    });
    this.remember(res);
    return { res, html: await res.text() };
  }

  /** Loads a page and returns the CSRF token of its first form. */
  async csrfFrom(path: string): Promise<string> {
    const { html } = await this.get(path);
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!token) throw new Error(`no CSRF field on ${path}`);
    return token;
  }

  async logIn(email: string, password: string): Promise<{ res: Response; html: string }> {
    const _csrf = await this.csrfFrom("/login");
    return this.post("/login", { _csrf, email, password, next: "/" });
  }
}

let srv: TestServer;
let user: TestUser;

beforeAll(async () => {
  srv = await TestServer.start();
  user = await srv.createUser({ email: "kim@example.com" });
}, 120_000);
afterAll(async () => {
  await srv?.stop();
}, 120_000);

describe("sessions", () => {
  test("logging in sets an HttpOnly, SameSite=Lax session cookie and opens the dashboard", async () => {
    const c = new Client(srv);
    const { res } = await c.logIn(user.email, user.password);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
    const session = c.setCookies.find((s) => s.startsWith("wove_session="));
    expect(session).toBeDefined();
    expect(session).toMatch(/;\s*HttpOnly/i);
    expect(session).toMatch(/;\s*SameSite=Lax/i);
    expect(session).toMatch(/;\s*Path=\//i);
    expect(session).not.toMatch(/;\s*Secure/i); // the base URL is http here
    const dash = await c.get("/");
    expect(dash.res.status).toBe(200);
    expect(dash.html).toContain('action="/logout"');
  });

  test("the login form refuses a post without the CSRF token", async () => {
    const c = new Client(srv);
    await c.get("/login");
    const { res } = await c.post("/login", { email: user.email, password: user.password });
    expect(res.status).toBe(403);
    expect(c.cookie("wove_session")).toBeUndefined();
  });

  test("logout ends the session on the server: the old cookie no longer works", async () => {
    const c = new Client(srv);
    await c.logIn(user.email, user.password);
    const stolen = `wove_session=${c.cookie("wove_session")}`;
    const _csrf = await c.csrfFrom("/account");
    const out = await c.post("/logout", { _csrf });
    expect(out.res.status).toBe(303);
    const replay = await srv.fetch("/account", { headers: { cookie: stolen } });
    expect(replay.status).toBe(303);
    expect(replay.headers.get("location")).toStartWith("/login");
    const api = await srv.fetch("/api/v1/me", { headers: { cookie: stolen } });
    expect(api.status).toBe(401);
  });

  test("a session cookie works for the JSON API; cookie-authenticated API writes need the CSRF header", async () => {
    const c = new Client(srv);
    await c.logIn(user.email, user.password);
    const me = await srv.fetch("/api/v1/me", { headers: { cookie: c.cookieHeader() } });
    expect(me.status).toBe(200);
    const noCsrf = await srv.fetch("/api/v1/projects", {
      method: "POST",
      headers: { cookie: c.cookieHeader(), "content-type": "application/json" },
      body: JSON.stringify({ name: "Cross site" }),
    });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: { code: string } }).error.code).toBe("csrf_failed");
  });
});

describe("login throttling", () => {
  test("after 10 failures the 11th attempt on an account is blocked, even with the right password", async () => {
    const target = await srv.createUser({ email: "target@example.com" });
    const c = new Client(srv);
    for (let i = 0; i < 10; i++) {
      const { res, html } = await c.logIn(target.email, `wrong password ${i}`);
      expect({ attempt: i + 1, status: res.status }).toEqual({ attempt: i + 1, status: 422 });
      expect(html).not.toMatch(/no account|unknown email|not registered/i);
    }
    const blocked = await c.logIn(target.email, target.password);
    expect(blocked.res.status).toBe(429);
    expect(Number(blocked.res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(blocked.html).toMatch(/too many/i);
    expect(c.cookie("wove_session")).toBeUndefined();
    // Other accounts are not locked out by it.
    const other = await new Client(srv).logIn(user.email, user.password);
    expect(other.res.status).toBe(303);
  });

  test("an unknown email is throttled exactly like a real one (no account enumeration)", async () => {
    const known = await srv.createUser({ email: "known@example.com" });
    const answers: { status: number; text: string }[][] = [[], []];
    for (const [i, email] of [known.email, "nobody-here@example.com"].entries()) {
      const c = new Client(srv);
      for (let n = 0; n < 11; n++) {
        const { res, html } = await c.logIn(email, "definitely wrong");
        const main = /<main[\s\S]*<\/main>/.exec(html)?.[0] ?? "";
        answers[i]?.push({ status: res.status, text: main.replaceAll(email, "EMAIL").replace(/name="_csrf" value="[^"]+"/g, "") });
      }
    }
    expect(answers[0]?.map((a) => a.status)).toEqual([...Array(10).fill(422), 429]);
    expect(answers[1]).toEqual(answers[0] ?? []);
  });
});
