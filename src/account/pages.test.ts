import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { getUser } from "../auth/users.ts";
import { resolveToken } from "../auth/tokens.ts";
import { csrfIn, openHarness, PASSWORD, readonlyValue, type Browser, type Harness } from "../auth/pages-testkit.ts";
import { describeAgent } from "./pages-tokens.tsx";

let h: Harness;
beforeAll(async () => {
  h = await openHarness();
});
afterAll(() => h.close());

async function signedIn(role: "admin" | "member" = "member") {
  const user = await h.user(role);
  const b = h.browser();
  expect((await b.login(user.email)).status).toBe(303);
  return { user, b };
}

async function post(b: Browser, action: string, form: Record<string, string>) {
  return b.send("POST", action, { form: { _csrf: csrfIn((await b.get("/account")).text), ...form } });
}

describe("account page", () => {
  test("anonymous visitors are sent to log in and come back", async () => {
    const r = await h.browser().get("/account");
    expect(r.status).toBe(303);
    expect(r.location).toBe("/login?next=%2Faccount");
  });

  test("shows the profile, password, tokens and sessions sections", async () => {
    const { user, b } = await signedIn();
    const r = await b.get("/account");
    expect(r.status).toBe(200);
    for (const id of ['id="profile"', 'id="password"', 'id="tokens"', 'id="sessions"', "this browser", user.email, `@${user.username}`]) {
      expect(r.text).toContain(id);
    }
    expect(r.text).toContain('aria-current="page"'); // the header marks "account" as current
    expect(r.text).not.toContain('name="scope_admin"'); // members cannot choose the admin scope
  });

  test("changing the display name", async () => {
    const { user, b } = await signedIn();
    const bad = await post(b, "/account/profile", { name: "   " });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain("Name is required.");
    const ok = await post(b, "/account/profile", { name: "Grace Hopper" });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe("/account?done=profile");
    expect((await b.get(ok.location ?? "")).text).toContain("Profile saved.");
    expect((await getUser(h.app.db.orm, user.id))?.name).toBe("Grace Hopper");
  });

  test("changing the password needs the current one and logs out the other sessions", async () => {
    const { user, b } = await signedIn();
    const other = h.browser();
    await other.login(user.email);
    const wrong = await post(b, "/account/password", { current: "not my password", password: "new passphrase 123", confirm: "new passphrase 123" });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain("Your current password is wrong.");
    const mismatch = await post(b, "/account/password", { current: PASSWORD, password: "new passphrase 123", confirm: "new passphrase 124" });
    expect(mismatch.status).toBe(422);
    const weak = await post(b, "/account/password", { current: PASSWORD, password: "short", confirm: "short" });
    expect(weak.status).toBe(422);
    expect(weak.text).toContain("at least 10 characters");

    const ok = await post(b, "/account/password", { current: PASSWORD, password: "new passphrase 123", confirm: "new passphrase 123" });
    expect(ok.status).toBe(303);
    expect((await b.get("/api/v1/me")).status).toBe(200); // this session stays
    expect((await other.get("/api/v1/me")).status).toBe(401); // the other one is gone
    expect((await h.browser().login(user.email, "new passphrase 123")).status).toBe(303);
  });

  test("wrong current passwords count towards the account's login limit", async () => {
    const { b } = await signedIn();
    let last = 0;
    for (let i = 0; i < 11; i++) last = (await post(b, "/account/password", { current: `guess ${i}`, password: "x".repeat(12), confirm: "x".repeat(12) })).status;
    expect(last).toBe(429);
  });

  test("a new token is shown once, works as a Bearer token, and can be revoked", async () => {
    const { user, b } = await signedIn();
    const invalid = await post(b, "/account/tokens", { token_name: "", expires: "forever" });
    expect(invalid.status).toBe(422);
    for (const msg of ["Give the token a name", "Choose at least one scope.", "Choose one of the listed expiry times."]) expect(invalid.text).toContain(msg);

    const made = await post(b, "/account/tokens", { token_name: "laptop CLI", scope_read: "on", expires: "30d" });
    expect(made.status).toBe(303);
    const shown = await b.get("/account");
    expect(shown.res.headers.get("cache-control")).toBe("no-store");
    const token = readonlyValue(shown.text, "new-token") ?? "";
    expect(token).toStartWith("wove_");
    expect(shown.text).toContain("shown only this once");
    expect((await b.get("/account")).text).not.toContain(token); // gone on reload

    const api = await h.handle(new Request("http://wove.test/api/v1/me", { headers: { authorization: `Bearer ${token}` } }));
    expect(api.status).toBe(200);
    expect((await api.json()).id).toBe(user.id);
    const found = await resolveToken(h.app.db.orm, token);
    expect(found?.token.scopes).toBe("read");
    expect((found?.token.expiresAt ?? 0) - Date.now()).toBeGreaterThan(29 * 86400_000);
    // A read-only token may not write.
    const write = await h.handle(
      new Request("http://wove.test/api/v1/me/tokens", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{\"name\":\"x\"}" }),
    );
    expect(write.status).toBe(403);

    const tokenId = found?.token.id ?? "";
    const stranger = await signedIn();
    expect((await post(stranger.b, `/account/tokens/${tokenId}/revoke`, {})).status).toBe(404);
    const revoked = await post(b, `/account/tokens/${tokenId}/revoke`, {});
    expect(revoked.status).toBe(303);
    expect((await b.get(revoked.location ?? "")).text).toContain("Token revoked.");
    const after = await h.handle(new Request("http://wove.test/api/v1/me", { headers: { authorization: `Bearer ${token}` } }));
    expect(after.status).toBe(401);
  });

  test("only admins may create admin-scoped tokens", async () => {
    const member = await signedIn();
    const r = await post(member.b, "/account/tokens", { token_name: "sneaky", scope_admin: "on", expires: "7d" });
    expect(r.status).toBe(422);
    expect(r.text).toContain("Only admins can use the admin scope.");
    const admin = await signedIn("admin");
    expect((await admin.b.get("/account")).text).toContain('name="scope_admin"');
    expect((await post(admin.b, "/account/tokens", { token_name: "ops", scope_admin: "on", scope_read: "on", expires: "never" })).status).toBe(303);
    expect(readonlyValue((await admin.b.get("/account")).text, "new-token")).toStartWith("wove_");
  });

  test("logging out the other sessions keeps this one", async () => {
    const { user, b } = await signedIn();
    const other = h.browser();
    await other.login(user.email);
    expect((await b.get("/account")).text).toContain("Log out the other session");
    const r = await post(b, "/account/sessions/revoke-others", {});
    expect(r.status).toBe(303);
    expect((await other.get("/api/v1/me")).status).toBe(401);
    expect((await b.get("/api/v1/me")).status).toBe(200);
    expect((await b.get("/account")).text).toContain("No other sessions.");
  });

  test("posts without the session's CSRF token are refused", async () => {
    const { b } = await signedIn();
    expect((await b.send("POST", "/account/tokens", { form: { token_name: "x", scope_read: "on", expires: "7d" } })).status).toBe(403);
    expect((await b.send("POST", "/account/profile", { form: { _csrf: "forged", name: "x" } })).status).toBe(403);
  });
});

test("user agents are described briefly", () => {
  expect(describeAgent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")).toBe("Firefox on Linux");
  expect(describeAgent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1")).toBe("Safari on iOS");
  expect(describeAgent(null)).toBe("Unknown client");
});
