/** Accounts: create, find, verify passwords, change role, disable. */
import { asc, eq, sql } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, teams, users, type InstanceRole, type User } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { newId } from "../lib/crypto.ts";
import { conflict, invalid } from "../lib/errors.ts";
import { checkEmail, checkHandle, checkName, checkPassword, slugify } from "../lib/validate.ts";

export type NewUser = {
  email: string;
  password?: string;
  role: InstanceRole;
  name?: string;
  username?: string;
};

export function publicUser(u: User) {
  return { id: u.id, email: u.email, name: u.name, username: u.username, role: u.role, disabled: u.disabledAt !== null };
}

export async function handleTaken(orm: Orm, handle: string): Promise<boolean> {
  const u = await orm.select({ id: users.id }).from(users).where(eq(users.username, handle)).get();
  if (u) return true;
  const t = await orm.select({ id: teams.id }).from(teams).where(eq(teams.slug, handle)).get();
  return t !== undefined;
}

/** Derives a free username from the email's local part: "Ada.Lovelace@x" → "ada-lovelace", then "-2", "-3"… */
async function deriveUsername(orm: Orm, email: string): Promise<string> {
  let base = slugify(email.split("@")[0] ?? "", 32) || "user";
  if (checkHandle(base)) base = `${base}-user`.slice(0, 32).replace(/^-+/, "") || "user";
  if (checkHandle(base)) base = "user";
  for (let i = 1; i < 1000; i++) {
    const candidate = i === 1 ? base : `${base}-${i}`;
    if (!checkHandle(candidate) && !(await handleTaken(orm, candidate))) return candidate;
  }
  return `${base}-${newId().slice(0, 6)}`;
}

export async function createUser(orm: Orm, input: NewUser, actorId: string | null): Promise<User> {
  const email = input.email.trim().toLowerCase();
  const errors: Record<string, string> = {};
  const emailErr = checkEmail(email);
  if (emailErr) errors.email = emailErr;
  if (input.password !== undefined) {
    const pe = checkPassword(input.password);
    if (pe) errors.password = pe;
  }
  const name = (input.name ?? "").trim() || email.split("@")[0] || email;
  const ne = checkName(name);
  if (ne) errors.name = ne;
  const username = input.username?.trim().toLowerCase();
  if (username !== undefined) {
    const ue = checkHandle(username);
    if (ue) errors.username = ue;
  }
  if (input.role !== "admin" && input.role !== "member") errors.role = "Role must be admin or member.";
  if (Object.keys(errors).length > 0) throw invalid(Object.values(errors)[0] ?? "Invalid user.", errors);

  if (await orm.select({ id: users.id }).from(users).where(eq(users.email, email)).get()) {
    throw conflictField("email", "An account with this email already exists.");
  }
  if (username !== undefined && (await handleTaken(orm, username))) {
    throw conflictField("username", "This username is taken.");
  }
  const now = Date.now();
  const user: User = {
    id: newId(),
    email,
    username: username ?? (await deriveUsername(orm, email)),
    name,
    passwordHash: input.password !== undefined ? await hashPassword(input.password) : null,
    role: input.role,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await orm.batch([
    orm.insert(users).values(user),
    orm.insert(events).values(
      eventValues({ actorId, kind: "user.created", subjectType: "user", subjectId: user.id, data: { role: user.role, username: user.username } }),
    ),
  ]);
  return user;
}

function conflictField(field: string, message: string) {
  return conflict(message, { [field]: message });
}

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 });
}

// A real argon2id hash of a random string: verifying against it costs what a real check costs,
// so a login for an unknown email takes as long as one for a known email.
let dummyHash: Promise<string> | undefined;

/** Returns the user when email and password match an enabled account, otherwise null — same cost either way. */
export async function verifyLogin(orm: Orm, email: string, password: string): Promise<User | null> {
  const user = await findUserByEmail(orm, email);
  dummyHash ??= hashPassword(crypto.randomUUID());
  const hash = user?.passwordHash ?? (await dummyHash);
  const ok = await Bun.password.verify(password, hash).catch(() => false);
  if (!ok || !user || user.disabledAt !== null) return null;
  return user;
}

export async function findUserByEmail(orm: Orm, email: string): Promise<User | undefined> {
  return orm.select().from(users).where(eq(users.email, email.trim().toLowerCase())).get();
}

export async function getUser(orm: Orm, id: string): Promise<User | undefined> {
  return orm.select().from(users).where(eq(users.id, id)).get();
}

export async function findUserByUsername(orm: Orm, username: string): Promise<User | undefined> {
  return orm.select().from(users).where(eq(users.username, username.toLowerCase())).get();
}

export async function listUsers(orm: Orm): Promise<User[]> {
  return orm.select().from(users).orderBy(asc(users.createdAt));
}

export async function countAdmins(orm: Orm): Promise<number> {
  const row = await orm
    .select({ n: sql<number>`count(*)` })
    .from(users)
    .where(sql`${users.role} = 'admin' AND ${users.disabledAt} IS NULL`)
    .get();
  return Number(row?.n ?? 0);
}

async function updateUser(orm: Orm, id: string, patch: Partial<User>, actorId: string | null, kind: string, data: Record<string, unknown>) {
  await orm.batch([
    orm.update(users).set({ ...patch, updatedAt: Date.now() }).where(eq(users.id, id)),
    orm.insert(events).values(eventValues({ actorId, kind, subjectType: "user", subjectId: id, data })),
  ]);
}

/** Changes an instance role; refuses to demote the last active admin. */
export async function setRole(orm: Orm, target: User, role: InstanceRole, actorId: string | null): Promise<void> {
  if (target.role === role) return;
  if (target.role === "admin" && target.disabledAt === null && (await countAdmins(orm)) <= 1) {
    throw conflict("This is the last admin; make another admin first.");
  }
  await updateUser(orm, target.id, { role }, actorId, "user.role_changed", { from: target.role, to: role });
}

export async function setDisabled(orm: Orm, target: User, disabled: boolean, actorId: string | null): Promise<void> {
  if ((target.disabledAt !== null) === disabled) return;
  if (disabled && target.role === "admin" && (await countAdmins(orm)) <= 1) {
    throw conflict("This is the last admin; make another admin first.");
  }
  await updateUser(orm, target.id, { disabledAt: disabled ? Date.now() : null }, actorId, disabled ? "user.disabled" : "user.enabled", {});
}

export async function setPassword(orm: Orm, target: User, password: string, actorId: string | null): Promise<void> {
  const pe = checkPassword(password);
  if (pe) throw invalid(pe, { password: pe });
  await updateUser(orm, target.id, { passwordHash: await hashPassword(password) }, actorId, "user.password_changed", {});
}

export async function setProfile(orm: Orm, target: User, name: string, actorId: string | null): Promise<void> {
  const ne = checkName(name);
  if (ne) throw invalid(ne, { name: ne });
  await updateUser(orm, target.id, { name: name.trim() }, actorId, "user.updated", { name: name.trim() });
}
