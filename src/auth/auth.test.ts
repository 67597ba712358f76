import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import { ApiError } from "../lib/errors.ts";
import { createSession, deleteSession, deleteUserSessions, resolveSession } from "./sessions.ts";
import { createToken, parseExpiry, parseScopes, resolveToken, revokeToken } from "./tokens.ts";
import { createUser, setDisabled, setRole, verifyLogin } from "./users.ts";

let dir = "";
let app: App;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "wove-auth-"));
  app = await openApp(loadConfig({ data: dir }, {}));
});
afterEach(() => {
  app.close();
  rmSync(dir, { recursive: true, force: true });
});

const PW = "correct horse battery";

async function fails(p: Promise<unknown>, status: number, field?: string): Promise<ApiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ApiError);
  const api = e as ApiError;
  expect(api.status).toBe(status);
  if (field) expect(api.details?.[field]).toBeTruthy();
  return api;
}

describe("users", () => {
  test("usernames derive from the email and never collide", async () => {
    const a = await createUser(app.db.orm, { email: "Ada.Lovelace@Example.org", password: PW, role: "member" }, null);
    const b = await createUser(app.db.orm, { email: "ada.lovelace@other.org", password: PW, role: "member" }, null);
    const c = await createUser(app.db.orm, { email: "admin@x.org", password: PW, role: "member" }, null);
    expect(a.email).toBe("ada.lovelace@example.org");
    expect([a.username, b.username]).toEqual(["ada-lovelace", "ada-lovelace-2"]);
    expect(c.username).toBe("admin-user"); // "admin" is reserved for URLs
    expect(a.passwordHash).toStartWith("$argon2id$");
  });

  test("bad input is refused field by field", async () => {
    await fails(createUser(app.db.orm, { email: "nope", password: PW, role: "member" }, null), 422, "email");
    await fails(createUser(app.db.orm, { email: "a@b.co", password: "short", role: "member" }, null), 422, "password");
    await fails(createUser(app.db.orm, { email: "a@b.co", password: PW, role: "member", username: "-bad-" }, null), 422, "username");
    await createUser(app.db.orm, { email: "a@b.co", password: PW, role: "member", username: "taken" }, null);
    await fails(createUser(app.db.orm, { email: "A@B.co", password: PW, role: "member" }, null), 409, "email");
    await fails(createUser(app.db.orm, { email: "c@b.co", password: PW, role: "member", username: "taken" }, null), 409, "username");
  });

  test("login checks the password, refuses disabled accounts, and gives unknown emails the same answer", async () => {
    const u = await createUser(app.db.orm, { email: "a@b.co", password: PW, role: "admin" }, null);
    await createUser(app.db.orm, { email: "x@b.co", password: PW, role: "admin" }, null);
    expect((await verifyLogin(app.db.orm, "A@b.co", PW))?.id).toBe(u.id);
    expect(await verifyLogin(app.db.orm, "a@b.co", "wrong password!")).toBeNull();
    expect(await verifyLogin(app.db.orm, "nobody@b.co", PW)).toBeNull();
    await setDisabled(app.db.orm, u, true, null);
    expect(await verifyLogin(app.db.orm, "a@b.co", PW)).toBeNull();
  });

  test("the last admin cannot be demoted or disabled", async () => {
    const u = await createUser(app.db.orm, { email: "a@b.co", password: PW, role: "admin" }, null);
    await fails(setRole(app.db.orm, u, "member", null), 409);
    await fails(setDisabled(app.db.orm, u, true, null), 409);
    await createUser(app.db.orm, { email: "b@b.co", password: PW, role: "admin" }, null);
    await setRole(app.db.orm, u, "member", null);
    const kinds = (await app.db.client.execute("SELECT kind FROM events WHERE subject_id = ? ORDER BY id", [u.id])).rows.map((r) => r[0]);
    expect(kinds).toEqual(["user.created", "user.role_changed"]);
  });
});

describe("sessions", () => {
  test("a session resolves until deleted; only its hash is stored", async () => {
    const u = await createUser(app.db.orm, { email: "a@b.co", password: PW, role: "member" }, null);
    const s = await createSession(app.db.orm, u.id, 30, { ip: "127.0.0.1" });
    expect((await resolveSession(app.db.orm, s.token))?.user.id).toBe(u.id);
    const stored = await app.db.client.execute("SELECT id FROM sessions");
    expect(String(stored.rows[0]?.[0])).not.toBe(s.token);
    await deleteSession(app.db.orm, s.id);
    expect(await resolveSession(app.db.orm, s.token)).toBeNull();
    expect(await resolveSession(app.db.orm, "x".repeat(43))).toBeNull();
  });

  test("deleting a user's sessions can keep the current one", async () => {
    const u = await createUser(app.db.orm, { email: "a@b.co", password: PW, role: "member" }, null);
    const keep = await createSession(app.db.orm, u.id, 30, {});
    const drop = await createSession(app.db.orm, u.id, 30, {});
    await deleteUserSessions(app.db.orm, u.id, keep.id);
    expect(await resolveSession(app.db.orm, keep.token)).not.toBeNull();
    expect(await resolveSession(app.db.orm, drop.token)).toBeNull();
  });
});

describe("API tokens", () => {
  test("scopes and expiry parse strictly", () => {
    expect(parseScopes("read, write")).toEqual(["read", "write"]);
    expect(() => parseScopes("root")).toThrow('Unknown scope "root"');
    expect(() => parseScopes("")).toThrow("at least one scope");
    expect(parseExpiry("never")).toBeNull();
    expect(parseExpiry("30d", 0)).toBe(30 * 86_400_000);
    expect(() => parseExpiry("soon")).toThrow();
    expect(() => parseExpiry("2001-01-01")).toThrow("in the future");
  });

  test("a token works until revoked or expired; admin scope needs an admin", async () => {
    const u = await createUser(app.db.orm, { email: "a@b.co", password: PW, role: "member" }, null);
    await fails(createToken(app.db.orm, u, { name: "x", scopes: ["admin"], expiresAt: null }, null), 422, "scopes");
    const { token, row } = await createToken(app.db.orm, u, { name: "ci", scopes: ["read"], expiresAt: null }, null);
    expect(token).toStartWith("wove_");
    expect((await resolveToken(app.db.orm, token))?.user.id).toBe(u.id);
    expect(await resolveToken(app.db.orm, token + "x")).toBeNull();
    await revokeToken(app.db.orm, u.id, row.id, u.id);
    expect(await resolveToken(app.db.orm, token)).toBeNull();
    const short = await createToken(app.db.orm, u, { name: "short", scopes: ["read"], expiresAt: Date.now() + 50 }, null);
    await Bun.sleep(80);
    expect(await resolveToken(app.db.orm, short.token)).toBeNull();
  });
});
