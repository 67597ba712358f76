import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createToken } from "../auth/tokens.ts";
import { findUserByEmail, getUser } from "../auth/users.ts";
import { csrfIn, openHarness, PASSWORD, readonlyValue, type Browser, type Harness } from "../auth/pages-testkit.ts";
import { instanceCounts } from "./pages.tsx";
import { matchesQuery } from "./pages-users.tsx";

let h: Harness;
beforeAll(async () => {
  h = await openHarness();
});
afterAll(() => h.close());

async function signedIn(role: "admin" | "member") {
  const user = await h.user(role);
  const b = h.browser();
  expect((await b.login(user.email)).status).toBe(303);
  return { user, b };
}

async function post(b: Browser, action: string, form: Record<string, string>) {
  return b.send("POST", action, { form: { _csrf: csrfIn((await b.get("/account")).text), ...form } });
}

describe("admin pages", () => {
  test("members get 403 on every admin page and action; anonymous visitors are sent to log in", async () => {
    const { b } = await signedIn("member");
    const target = await h.user("member");
    for (const path of ["/admin", "/admin/users", "/admin/users?q=a", "/admin/invites"]) {
      expect((await b.get(path)).status).toBe(403);
      const anon = await h.browser().get(path);
      expect(anon.status).toBe(303);
      expect(anon.location).toStartWith("/login?next=");
    }
    for (const action of ["/admin/users", `/admin/users/${target.id}/role`, `/admin/users/${target.id}/disable`, `/admin/users/${target.id}/enable`, "/admin/invites"]) {
      expect((await post(b, action, { role: "admin", email: "x@example.com", password: PASSWORD })).status).toBe(403);
    }
    expect((await getUser(h.app.db.orm, target.id))?.role).toBe("member");
  });

  test("the overview shows counts and instance facts", async () => {
    const { b } = await signedIn("admin");
    const r = await b.get("/admin");
    expect(r.status).toBe(200);
    const c = await instanceCounts(h.app);
    expect(c.admins).toBeGreaterThanOrEqual(1);
    expect(r.text).toContain(`<a href="/admin/users">${c.users}</a>`);
    expect(r.text).toContain(h.app.config.dataDir);
    expect(r.text).toContain("embedded libSQL file");
    expect(r.text).toContain("Self sign-up");
  });

  test("the user list searches by name, username and email", async () => {
    const { b } = await signedIn("admin");
    const target = await h.user("member");
    const hit = await b.get(`/admin/users?q=${encodeURIComponent(target.username.toUpperCase())}`);
    expect(hit.status).toBe(200);
    expect(hit.text).toContain(target.email);
    expect(hit.text).toContain("accounts match");
    const miss = await b.get("/admin/users?q=zzz-nobody");
    expect(miss.text).toContain("No account matches");
    expect(matchesQuery(target, target.email.slice(2, 8))).toBe(true);
  });

  test("creating an account shows errors beside the fields", async () => {
    const { b } = await signedIn("admin");
    const bad = await post(b, "/admin/users", { email: "not-an-email", name: "", username: "", role: "member", password: "short" });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain("Enter a valid email address.");
    expect(bad.text).toContain('value="not-an-email"');
    const ok = await post(b, "/admin/users", { email: "new.person@example.com", name: "New Person", username: "", role: "admin", password: PASSWORD });
    expect(ok.status).toBe(303);
    expect((await b.get(ok.location ?? "")).text).toContain("Account created.");
    expect((await findUserByEmail(h.app.db.orm, "new.person@example.com"))?.role).toBe("admin");
    const dup = await post(b, "/admin/users", { email: "new.person@example.com", role: "member", password: PASSWORD });
    expect(dup.status).toBe(409);
    expect(dup.text).toContain("already exists");
  });

  test("the last admin cannot be demoted, and admins cannot disable themselves", async () => {
    const solo = await openHarness();
    try {
      const admin = await solo.user("admin");
      const b = solo.browser();
      await b.login(admin.email);
      const demote = await post(b, `/admin/users/${admin.id}/role`, { role: "member" });
      expect(demote.status).toBe(409);
      expect(demote.text).toContain("This is the last admin; make another admin first.");
      const disable = await post(b, `/admin/users/${admin.id}/disable`, {});
      expect(disable.status).toBe(409);
      expect(disable.text).toContain("You cannot disable your own account.");
      expect((await getUser(solo.app.db.orm, admin.id))?.role).toBe("admin");
      expect((await b.get("/admin/users")).text).not.toContain(`/admin/users/${admin.id}/disable`);

      // With a second admin, stepping down works and leads out of the admin area.
      const other = await solo.user("member");
      expect((await post(b, `/admin/users/${other.id}/role`, { role: "admin" })).location).toBe("/admin/users?done=role");
      const down = await post(b, `/admin/users/${admin.id}/role`, { role: "member" });
      expect(down.status).toBe(303);
      expect(down.location).toBe("/");
      expect((await b.get("/admin")).status).toBe(403);
    } finally {
      solo.close();
    }
  });

  test("disabling logs the account out everywhere and refuses its tokens; enabling lets it back", async () => {
    const { b } = await signedIn("admin");
    const victim = await signedIn("member");
    const { token } = await createToken(h.app.db.orm, victim.user, { name: "ci", scopes: ["read"], expiresAt: null }, victim.user.id);
    const bearer = () => h.handle(new Request("http://wove.test/api/v1/me", { headers: { authorization: `Bearer ${token}` } }));
    expect((await bearer()).status).toBe(200);
    expect((await victim.b.get("/api/v1/me")).status).toBe(200);

    const r = await post(b, `/admin/users/${victim.user.id}/disable`, {});
    expect(r.status).toBe(303);
    expect((await b.get(r.location ?? "")).text).toContain("Account disabled");
    expect((await victim.b.get("/api/v1/me")).status).toBe(401);
    expect((await bearer()).status).toBe(401);
    expect((await h.browser().login(victim.user.email)).status).toBe(422);

    expect((await post(b, `/admin/users/${victim.user.id}/enable`, {})).status).toBe(303);
    expect((await h.browser().login(victim.user.email)).status).toBe(303);
    expect((await bearer()).status).toBe(200);
    expect((await post(b, `/admin/users/nosuchuser/disable`, {})).status).toBe(404);
  });

  test("an invite link is shown once, mailed when an email is given, and works", async () => {
    const { b } = await signedIn("admin");
    const bad = await post(b, "/admin/invites", { email: "nope", role: "member" });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain("Enter a valid email address.");

    const mail = h.nextMail();
    const made = await post(b, "/admin/invites", { email: "Guest@Example.com", role: "member" });
    expect(made.status).toBe(303);
    const page = await b.get("/admin/invites");
    expect(page.res.headers.get("cache-control")).toBe("no-store");
    const url = readonlyValue(page.text, "new-invite") ?? "";
    expect(url).toStartWith(`${h.app.config.baseUrl}/invite/`);
    expect(page.text).toContain("It was also sent to guest@example.com");
    expect(page.text).toContain("guest@example.com</td>");
    const m = await mail;
    expect(m.to).toBe("guest@example.com");
    expect(m.text).toContain(url);
    expect((await b.get("/admin/invites")).text).not.toContain(url);

    const path = new URL(url).pathname;
    const guest = h.browser();
    const accepted = await guest.submit(path, path, { name: "Guest", password: PASSWORD, confirm: PASSWORD });
    expect(accepted.status).toBe(303);
    expect((await findUserByEmail(h.app.db.orm, "guest@example.com"))?.role).toBe("member");

    const before = h.mails.length;
    await post(b, "/admin/invites", { email: "", role: "admin" });
    const open = await b.get("/admin/invites");
    expect(readonlyValue(open.text, "new-invite")).toBeDefined();
    expect(open.text).toContain("anyone with the link");
    expect(h.mails.length).toBe(before);
  });

  test("an open invite can be revoked, and its link stops working", async () => {
    const { b } = await signedIn("admin");
    await post(b, "/admin/invites", { email: "", role: "member" });
    const url = readonlyValue((await b.get("/admin/invites")).text, "new-invite") ?? "";
    const id = /\/admin\/invites\/([a-z0-9]+)\/revoke/.exec((await b.get("/admin/invites")).text)?.[1] ?? "";
    expect(id).not.toBe("");
    expect((await post(b, `/admin/invites/${id}/revoke`, {})).status).toBe(303);
    expect((await b.get("/admin/invites")).text).not.toContain(`/admin/invites/${id}/revoke`);
    expect((await post(b, `/admin/invites/${id}/revoke`, {})).status).toBe(404);
    const path = new URL(url).pathname;
    expect((await h.browser().get(path)).status).toBe(404);
  });
});
