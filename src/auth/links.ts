/**
 * One-time links: invites (create an account) and password resets. Only the
 * token's sha256 is stored; a link works once and expires.
 */
import { and, desc, eq, gt, isNull } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, oneTimeLinks, type InstanceRole, type User } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { newId, randomToken, sha256 } from "../lib/crypto.ts";
import { invalid, notFound } from "../lib/errors.ts";
import { checkEmail, checkPassword } from "../lib/validate.ts";
import { createUser, findUserByEmail, getUser, setPassword } from "./users.ts";
import { deleteUserSessions } from "./sessions.ts";

const INVITE_DAYS = 7;
const RESET_MINUTES = 60;

export type Link = typeof oneTimeLinks.$inferSelect;

export async function createInvite(
  orm: Orm,
  by: User,
  input: { email?: string; role: InstanceRole },
): Promise<{ token: string; link: Link }> {
  const email = input.email?.trim().toLowerCase() || null;
  if (email) {
    const e = checkEmail(email);
    if (e) throw invalid(e, { email: e });
  }
  const token = randomToken(32);
  const link: Link = {
    id: newId(),
    kind: "invite",
    tokenHash: sha256(token),
    userId: null,
    email,
    role: input.role,
    createdBy: by.id,
    createdAt: Date.now(),
    expiresAt: Date.now() + INVITE_DAYS * 86400_000,
    usedAt: null,
  };
  await orm.batch([
    orm.insert(oneTimeLinks).values(link),
    orm.insert(events).values(eventValues({ actorId: by.id, kind: "invite.created", subjectType: "instance", subjectId: link.id, data: { email, role: input.role } })),
  ]);
  return { token, link };
}

export async function listOpenInvites(orm: Orm): Promise<Link[]> {
  return orm
    .select()
    .from(oneTimeLinks)
    .where(and(eq(oneTimeLinks.kind, "invite"), isNull(oneTimeLinks.usedAt), gt(oneTimeLinks.expiresAt, Date.now())))
    .orderBy(desc(oneTimeLinks.createdAt));
}

/** Revokes an open invite so its link stops working (a used or expired one is already dead: 404). */
export async function revokeInvite(orm: Orm, inviteId: string, actorId: string | null): Promise<void> {
  const rs = await orm
    .update(oneTimeLinks)
    .set({ expiresAt: Date.now() - 1 })
    .where(and(eq(oneTimeLinks.id, inviteId), eq(oneTimeLinks.kind, "invite"), isNull(oneTimeLinks.usedAt), gt(oneTimeLinks.expiresAt, Date.now())));
  if (rs.rowsAffected !== 1) throw notFound("Open invite");
  await orm.insert(events).values(eventValues({ actorId, kind: "invite.revoked", subjectType: "instance", subjectId: inviteId }));
}

/** The open link for a token, or undefined when unknown, used or expired. */
export async function findOpenLink(orm: Orm, kind: Link["kind"], token: string): Promise<Link | undefined> {
  if (token.length < 20 || token.length > 100) return undefined;
  return orm
    .select()
    .from(oneTimeLinks)
    .where(and(eq(oneTimeLinks.tokenHash, sha256(token)), eq(oneTimeLinks.kind, kind), isNull(oneTimeLinks.usedAt), gt(oneTimeLinks.expiresAt, Date.now())))
    .get();
}

async function markUsed(orm: Orm, link: Link): Promise<boolean> {
  // The WHERE on used_at makes using a link atomic: two racing requests cannot both succeed.
  const rs = await orm.update(oneTimeLinks).set({ usedAt: Date.now() }).where(and(eq(oneTimeLinks.id, link.id), isNull(oneTimeLinks.usedAt)));
  return rs.rowsAffected === 1;
}

export async function acceptInvite(
  orm: Orm,
  token: string,
  input: { email: string; name?: string; username?: string; password: string },
): Promise<User> {
  const link = await findOpenLink(orm, "invite", token);
  if (!link) throw invalid("This invite link is invalid, used or expired.", { token: "Invite link is invalid, used or expired." });
  if (link.email && link.email !== input.email.trim().toLowerCase()) {
    throw invalid("This invite is for a different email address.", { email: "This invite is for a different email address." });
  }
  const role = link.role === "admin" ? "admin" : "member";
  const user = await createUser(orm, { ...input, role }, link.createdBy);
  if (!(await markUsed(orm, link))) throw invalid("This invite link was just used.", { token: "Invite link was already used." });
  return user;
}

/** Creates a reset link for the email if such an account exists. The caller says the same thing either way. */
export async function createPasswordReset(orm: Orm, email: string): Promise<{ token: string; user: User } | null> {
  const user = await findUserByEmail(orm, email);
  if (!user || user.disabledAt !== null) return null;
  const token = randomToken(32);
  await orm.batch([
    orm.insert(oneTimeLinks).values({
      id: newId(),
      kind: "reset",
      tokenHash: sha256(token),
      userId: user.id,
      email: user.email,
      role: null,
      createdBy: null,
      createdAt: Date.now(),
      expiresAt: Date.now() + RESET_MINUTES * 60_000,
      usedAt: null,
    }),
    orm.insert(events).values(eventValues({ actorId: null, kind: "user.reset_requested", subjectType: "user", subjectId: user.id })),
  ]);
  return { token, user };
}

export async function completePasswordReset(orm: Orm, token: string, password: string): Promise<User> {
  const link = await findOpenLink(orm, "reset", token);
  const user = link?.userId ? await getUser(orm, link.userId) : undefined;
  if (!link || !user) throw invalid("This reset link is invalid, used or expired.", { token: "Reset link is invalid, used or expired." });
  const pe = checkPassword(password);
  if (pe) throw invalid(pe, { password: pe });
  // Spend the link first: of two racing uses, exactly one may change the password.
  if (!(await markUsed(orm, link))) throw invalid("This reset link was just used.", { token: "Reset link was already used." });
  await setPassword(orm, user, password, user.id);
  await deleteUserSessions(orm, user.id);
  return user;
}
