import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createInvite } from "./links.ts";
import { findUserByEmail, setDisabled } from "./users.ts";
import { issueSetupToken, setupPending, spendSetupToken } from "./setup.ts";
import { AUTH_LIMITS } from "./login-limits.ts";
import { LOGIN_FAILED } from "./pages.tsx";
import { RESET_SENT } from "./pages-reset.tsx";
import { csrfIn, openHarness, PASSWORD, type Harness } from "./pages-testkit.ts";

let h: Harness;
beforeAll(async () => {
  h = await openHarness();
});
afterAll(() => h.close());

const escaped = (s: string) => s.replace(/'/g, "&#39;").replace(/"/g, "&quot;");

describe("login", () => {
  test("the form carries a CSRF token and sets the pre-session cookie", async () => {
    const b = h.browser();
    const r = await b.get("/login");
    expect(r.status).toBe(200);
    expect(r.text).toContain('name="password"');
    expect(csrfIn(r.text).length).toBeGreaterThan(20);
    expect(b.cookies.has("wove_csrf")).toBe(true);
  });

  test("success sets an HttpOnly SameSite=Lax session cookie and goes to ?next", async () => {
    const u = await h.user();
    const b = h.browser();
    const token = csrfIn((await b.get("/login?next=/projects/x")).text);
    expect((await b.get("/login?next=/projects/x")).text).toContain('value="/projects/x"');
    const r = await b.send("POST", "/login", { form: { _csrf: token, email: u.email.toUpperCase(), password: PASSWORD, next: "/projects/x" } });
    expect(r.status).toBe(303);
    expect(r.location).toBe("/projects/x");
    const cookie = r.res.headers.getSetCookie().find((c) => c.startsWith("wove_session="));
    expect(cookie).toBeDefined();
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain(`Max-Age=${h.app.config.sessionDays * 86400}`);
    expect(cookie).not.toContain("Secure"); // base URL is http here
    const me = await b.get("/api/v1/me");
    expect(me.status).toBe(200);
    expect(JSON.parse(me.text).id).toBe(u.id);
    // Logged in: the login page sends you on.
    const again = await b.get("/login");
    expect(again.status).toBe(303);
    expect(again.location).toBe("/");
  });

  test("an off-site ?next is ignored", async () => {
    const u = await h.user();
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const r = await h.browser().submit("/login", "/login", { email: u.email, password: PASSWORD, next });
      expect(r.status).toBe(303);
      expect(r.location).toBe("/");
    }
  });

  test("wrong password, unknown email and disabled account look the same", async () => {
    const u = await h.user();
    const off = await h.user();
    await setDisabled(h.app.db.orm, off, true, null);
    const attempts = [
      { email: u.email, password: "wrong password here" },
      { email: "nobody-here@example.com", password: PASSWORD },
      { email: off.email, password: PASSWORD },
    ];
    const seen = [];
    for (const a of attempts) {
      const r = await h.browser().login(a.email, a.password);
      seen.push({ status: r.status, hasMessage: r.text.includes(escaped(LOGIN_FAILED)), cookie: r.res.headers.getSetCookie().some((c) => c.startsWith("wove_session=")) });
    }
    expect(seen).toEqual(Array(3).fill({ status: 422, hasMessage: true, cookie: false }));
  });

  test("empty fields get errors beside them", async () => {
    const r = await h.browser().submit("/login", "/login", { email: "", password: "" });
    expect(r.status).toBe(422);
    expect(r.text).toContain("Enter your email address.");
    expect(r.text).toContain("Enter your password.");
  });

  test("posting without or with a wrong CSRF token is refused", async () => {
    const u = await h.user();
    const b = h.browser();
    await b.get("/login");
    expect((await b.send("POST", "/login", { form: { email: u.email, password: PASSWORD } })).status).toBe(403);
    expect((await b.send("POST", "/login", { form: { _csrf: "forged", email: u.email, password: PASSWORD } })).status).toBe(403);
  });

  test(`after ${AUTH_LIMITS.loginByEmail.max} failures the next attempt on that account is blocked, known or unknown`, async () => {
    const u = await h.user();
    const max = AUTH_LIMITS.loginByEmail.max;
    const results: Record<string, number[]> = {};
    for (const email of [u.email, "ghost@example.com"]) {
      results[email] = [];
      for (let i = 0; i < max; i++) {
        // A different address each time: the account limit, not the IP limit, is what stops this.
        results[email]!.push((await h.browser().login(email, `wrong password ${i}`)).status);
      }
    }
    const blockedKnown = await h.browser().login(u.email, PASSWORD); // even the right password waits
    const blockedUnknown = await h.browser().login("ghost@example.com", PASSWORD);
    expect(results[u.email]).toEqual(Array(max).fill(422));
    expect(results["ghost@example.com"]).toEqual(Array(max).fill(422));
    for (const r of [blockedKnown, blockedUnknown]) {
      expect(r.status).toBe(429);
      expect(Number(r.res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(r.text).toContain("Too many failed login attempts");
      expect(r.text).toContain('name="password"'); // the form is still there
      expect(r.res.headers.getSetCookie().some((c) => c.startsWith("wove_session="))).toBe(false);
    }
    // The same page apart from the email typed back into the form and each browser's CSRF token.
    const norm = (text: string, email: string) => text.replaceAll(email, "E").replace(/name="_csrf" value="[^"]+"/, "");
    expect(norm(blockedKnown.text, u.email)).toBe(norm(blockedUnknown.text, "ghost@example.com"));
  });

  test(`one address is blocked after ${AUTH_LIMITS.loginByIp.max} failures across accounts`, async () => {
    const b = h.browser();
    for (let i = 0; i < AUTH_LIMITS.loginByIp.max; i++) {
      expect((await b.login(`spray${i}@example.com`, "wrong password")).status).toBe(422);
    }
    const u = await h.user();
    expect((await b.login(u.email, PASSWORD)).status).toBe(429);
    expect((await h.browser().login(u.email, PASSWORD)).status).toBe(303); // another address is fine
  });

  test("a successful login resets the account's counter", async () => {
    const u = await h.user();
    const max = AUTH_LIMITS.loginByEmail.max;
    for (let i = 0; i < max - 1; i++) await h.browser().login(u.email, "wrong password");
    expect((await h.browser().login(u.email)).status).toBe(303);
    for (let i = 0; i < max - 1; i++) await h.browser().login(u.email, "wrong password");
    expect((await h.browser().login(u.email)).status).toBe(303);
  });
});

describe("logout", () => {
  test("needs the session's CSRF token, by form field or header", async () => {
    const u = await h.user();
    const b = h.browser();
    expect((await b.login(u.email)).status).toBe(303);
    const good = csrfIn((await b.get("/reset")).text);
    const other = h.browser();
    await other.login((await h.user()).email);
    const foreign = csrfIn((await other.get("/reset")).text); // a real token, but another session's

    expect((await b.send("POST", "/logout", { form: {} })).status).toBe(403);
    expect((await b.send("POST", "/logout", { form: { _csrf: "forged-token" } })).status).toBe(403);
    expect((await b.send("POST", "/logout", { form: { _csrf: foreign } })).status).toBe(403);
    expect((await b.send("POST", "/logout", { form: {}, headers: { "x-csrf-token": "forged-token" } })).status).toBe(403);
    expect((await b.send("POST", "/logout", { form: {}, headers: { "x-csrf-token": foreign } })).status).toBe(403);
    expect((await b.get("/api/v1/me")).status).toBe(200); // still logged in

    const session = b.cookies.get("wove_session");
    const r = await b.send("POST", "/logout", { form: { _csrf: good } });
    expect(r.status).toBe(303);
    expect(r.location).toStartWith("/login");
    expect(r.res.headers.getSetCookie().some((c) => c.startsWith("wove_session=;") && c.includes("Max-Age=0"))).toBe(true);
    expect((await b.get("/api/v1/me")).status).toBe(401);
    // The old cookie is dead on the server too, not just forgotten by the browser.
    const replay = await h.handle(new Request("http://wove.test/api/v1/me", { headers: { cookie: `wove_session=${session}` } }));
    expect(replay.status).toBe(401);
  });

  test("anonymous logout goes to the login page", async () => {
    const r = await h.browser().send("POST", "/logout", { form: {} });
    expect(r.status).toBe(303);
    expect(r.location).toStartWith("/login");
  });
});

describe("first-run setup", () => {
  test("works once, only with the right token, only while no admin exists", async () => {
    const s = await openHarness();
    try {
      spendSetupToken();
      expect((await s.browser().get("/setup?token=anything-at-all-long-enough")).status).toBe(404);
      const token = issueSetupToken();
      const b = s.browser();
      expect((await b.get("/login")).text).toContain("must finish setup");
      expect((await b.get("/setup")).status).toBe(404);
      expect((await b.get(`/setup?token=${token}x`)).status).toBe(404);
      const page = await b.get(`/setup?token=${token}`);
      expect(page.status).toBe(200);
      expect(page.res.headers.get("cache-control")).toBe("no-store");
      const csrf = csrfIn(page.text);
      const fields = { _csrf: csrf, token, name: "Ada Admin", email: "ada@example.com", username: "ada", password: PASSWORD };

      const mismatch = await b.send("POST", "/setup", { form: { ...fields, confirm: "something else entirely" } });
      expect(mismatch.status).toBe(422);
      expect(mismatch.text).toContain("The two passwords differ");
      const weak = await b.send("POST", "/setup", { form: { ...fields, password: "short", confirm: "short" } });
      expect(weak.status).toBe(422);
      expect(weak.text).toContain("at least 10 characters");
      expect((await b.send("POST", "/setup", { form: { ...fields, token: "wrong-token-wrong-token", confirm: PASSWORD } })).status).toBe(404);

      const done = await b.send("POST", "/setup", { form: { ...fields, confirm: PASSWORD } });
      expect(done.status).toBe(303);
      expect(done.location).toBe("/");
      const me = JSON.parse((await b.get("/api/v1/me")).text);
      expect(me).toMatchObject({ email: "ada@example.com", username: "ada", role: "admin" });
      expect(setupPending()).toBe(false);

      const later = s.browser();
      expect((await later.get(`/setup?token=${token}`)).status).toBe(404);
      const csrf2 = csrfIn((await later.get("/login")).text);
      expect((await later.send("POST", "/setup", { form: { ...fields, _csrf: csrf2, email: "eve@example.com", username: "eve", confirm: PASSWORD } })).status).toBe(404);
      expect((await later.get("/login")).text).not.toContain("must finish setup");
    } finally {
      spendSetupToken();
      s.close();
    }
  });
});

describe("sign-up", () => {
  test("is a 404 unless WOVE_ALLOW_SIGNUP is on", async () => {
    const b = h.browser();
    expect((await b.get("/signup")).status).toBe(404);
    const csrf = csrfIn((await b.get("/login")).text);
    expect((await b.send("POST", "/signup", { form: { _csrf: csrf, email: "x@example.com", password: PASSWORD, confirm: PASSWORD } })).status).toBe(404);
    expect((await b.get("/login")).text).not.toContain('href="/signup"');
  });

  test("creates a member, logs them in, and is rate limited per address", async () => {
    const s = await openHarness({ WOVE_ALLOW_SIGNUP: "true" });
    try {
      const b = s.browser();
      expect((await b.get("/login")).text).toContain('href="/signup"');
      const r = await b.submit("/signup", "/signup", { name: "Sam", email: "sam@example.com", username: "", password: PASSWORD, confirm: PASSWORD });
      expect(r.status).toBe(303);
      expect(JSON.parse((await b.get("/api/v1/me")).text)).toMatchObject({ email: "sam@example.com", role: "member", username: "sam" });

      const dup = await s.browser("10.9.9.9").submit("/signup", "/signup", { name: "Sam", email: "sam@example.com", password: PASSWORD, confirm: PASSWORD });
      expect(dup.status).toBe(409);
      expect(dup.text).toContain("already exists");
      expect(dup.text).toContain('class="field has-error"');

      const statuses: number[] = [];
      for (let i = 0; i <= AUTH_LIMITS.signupByIp.max; i++) {
        statuses.push((await s.browser("10.8.8.8").submit("/signup", "/signup", { name: "Bot", email: `bot${i}@example.com`, password: PASSWORD, confirm: PASSWORD })).status);
      }
      expect(statuses.slice(0, -1).every((st) => st === 303)).toBe(true);
      expect(statuses.at(-1)).toBe(429);
    } finally {
      s.close();
    }
  });
});

describe("invites", () => {
  test("an invite naming an email locks it, creates the account once, and logs in", async () => {
    const admin = await h.user("admin");
    const { token } = await createInvite(h.app.db.orm, admin, { email: "invited@example.com", role: "admin" });
    const b = h.browser();
    const page = await b.get(`/invite/${token}`);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/value="invited@example.com" readonly/);
    expect(page.text).toContain("as an admin");

    const mismatch = await b.send("POST", `/invite/${token}`, { form: { _csrf: csrfIn(page.text), name: "Ivy", email: "other@example.com", password: PASSWORD, confirm: "nope nope nope" } });
    expect(mismatch.status).toBe(422);
    const ok = await b.send("POST", `/invite/${token}`, { form: { _csrf: csrfIn(page.text), name: "Ivy", email: "other@example.com", password: PASSWORD, confirm: PASSWORD } });
    expect(ok.status).toBe(303);
    expect(JSON.parse((await b.get("/api/v1/me")).text)).toMatchObject({ email: "invited@example.com", role: "admin", name: "Ivy" });

    expect((await h.browser().get(`/invite/${token}`)).status).toBe(404);
    expect((await h.browser().get(`/invite/not-a-real-token-not-a-real-token`)).status).toBe(404);
  });

  test("an open invite takes any email and shows field errors", async () => {
    const admin = await h.user("admin");
    const { token } = await createInvite(h.app.db.orm, admin, { role: "member" });
    const b = h.browser();
    const bad = await b.submit(`/invite/${token}`, `/invite/${token}`, { name: "Oz", email: "not-an-email", password: PASSWORD, confirm: PASSWORD });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain("Enter a valid email address.");
    const ok = await b.submit(`/invite/${token}`, `/invite/${token}`, { name: "Oz", email: "oz@example.com", password: PASSWORD, confirm: PASSWORD });
    expect(ok.status).toBe(303);
    expect((await findUserByEmail(h.app.db.orm, "oz@example.com"))?.role).toBe("member");
  });
});

describe("password reset", () => {
  test("end to end: same answer for unknown emails, link by mail, works once, ends sessions", async () => {
    const u = await h.user();
    const loggedIn = h.browser();
    await loggedIn.login(u.email);

    const stranger = await h.browser().submit("/reset", "/reset", { email: "nobody@example.com" });
    const b = h.browser();
    const mail = h.nextMail();
    const known = await b.submit("/reset", "/reset", { email: u.email });
    for (const r of [stranger, known]) {
      expect(r.status).toBe(303);
      expect(r.location).toBe("/reset?sent=1");
    }
    expect((await b.get("/reset?sent=1")).text).toContain(escaped(RESET_SENT));
    const m = await mail;
    expect(m.to).toBe(u.email);
    expect(h.mails.filter((x) => x.to === "nobody@example.com")).toHaveLength(0);
    const link = /\/reset\/([A-Za-z0-9_-]+)/.exec(m.text)?.[1] ?? "";
    expect(m.text).toContain(`${h.app.config.baseUrl}/reset/${link}`);

    const form = await b.get(`/reset/${link}`);
    expect(form.status).toBe(200);
    const csrf = csrfIn(form.text);
    const newPassword = "a brand new passphrase";
    const mismatch = await b.send("POST", `/reset/${link}`, { form: { _csrf: csrf, password: newPassword, confirm: "typo" } });
    expect(mismatch.status).toBe(422);
    const done = await b.send("POST", `/reset/${link}`, { form: { _csrf: csrf, password: newPassword, confirm: newPassword } });
    expect(done.status).toBe(303);
    expect(done.location).toBe("/login?done=reset");
    expect((await b.get("/login?done=reset")).text).toContain("Your password was changed");

    expect((await loggedIn.get("/api/v1/me")).status).toBe(401);
    expect((await h.browser().login(u.email, PASSWORD)).status).toBe(422);
    expect((await h.browser().login(u.email, newPassword)).status).toBe(303);
    expect((await b.get(`/reset/${link}`)).status).toBe(404);
    expect((await b.send("POST", `/reset/${link}`, { form: { _csrf: csrf, password: "another passphrase", confirm: "another passphrase" } })).status).toBe(404);
  });

  test("a malformed email gets a field error; too many requests from one address get 429", async () => {
    const b = h.browser();
    const bad = await b.submit("/reset", "/reset", { email: "nope" });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain("Enter a valid email address.");
    for (let i = 0; i < AUTH_LIMITS.resetByIp.max; i++) {
      expect((await b.submit("/reset", "/reset", { email: `r${i}@example.com` })).status).toBe(303);
    }
    const blocked = await b.submit("/reset", "/reset", { email: "r@example.com" });
    expect(blocked.status).toBe(429);
    expect(blocked.text).toContain("Too many reset requests");
  });

  test("mails stop after the per-email limit while the answer stays the same", async () => {
    const u = await h.user();
    const before = h.mails.length;
    for (let i = 0; i < AUTH_LIMITS.resetByEmail.max + 2; i++) {
      const r = await h.browser().submit("/reset", "/reset", { email: u.email });
      expect(r.location).toBe("/reset?sent=1");
    }
    // Mails go out after the answer: wait for the allowed ones, then make sure no more follow.
    const sent = () => h.mails.slice(before).filter((m) => m.to === u.email).length;
    for (let i = 0; i < 100 && sent() < AUTH_LIMITS.resetByEmail.max; i++) await Bun.sleep(20);
    await Bun.sleep(100);
    expect(sent()).toBe(AUTH_LIMITS.resetByEmail.max);
  });
});
