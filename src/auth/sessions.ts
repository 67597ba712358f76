/**
 * Browser sessions. The cookie holds a random token; the table holds only its
 * sha256, so a database leak does not leak sessions. Resolved sessions are
 * cached for a few seconds: the dashboard must answer ≥10k req/s, and a
 * disable or logout in this process clears the cache at once (another
 * process's change — the CLI — is seen within CACHE_MS).
 */
import { and, eq, gt, lt } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { sessions, users, type User } from "../db/schema.ts";
import { randomToken, sha256 } from "../lib/crypto.ts";

const CACHE_MS = 5000;
const TOUCH_MS = 60 * 60 * 1000;

type Cached = { user: User; sessionId: string; expiresAt: number; lastSeenAt: number; cachedAt: number };
const cache = new Map<string, Cached>();

export const SESSION_COOKIE = "wove_session";

export async function createSession(
  orm: Orm,
  userId: string,
  days: number,
  meta: { ip?: string; userAgent?: string },
): Promise<{ token: string; id: string; expiresAt: number }> {
  const token = randomToken(32);
  const id = sha256(token);
  const now = Date.now();
  const expiresAt = now + days * 86400_000;
  await orm.insert(sessions).values({
    id,
    userId,
    createdAt: now,
    expiresAt,
    lastSeenAt: now,
    ip: meta.ip?.slice(0, 64) ?? null,
    userAgent: meta.userAgent?.slice(0, 256) ?? null,
  });
  return { token, id, expiresAt };
}

export async function resolveSession(orm: Orm, token: string): Promise<{ user: User; sessionId: string } | null> {
  if (token.length < 20 || token.length > 100) return null;
  const id = sha256(token);
  const now = Date.now();
  const hit = cache.get(id);
  if (hit && now - hit.cachedAt < CACHE_MS && hit.expiresAt > now) return { user: hit.user, sessionId: id };
  const row = await orm
    .select({ user: users, expiresAt: sessions.expiresAt, lastSeenAt: sessions.lastSeenAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, id), gt(sessions.expiresAt, now)))
    .get();
  if (!row || row.user.disabledAt !== null) {
    cache.delete(id);
    return null;
  }
  if (now - row.lastSeenAt > TOUCH_MS) {
    await orm.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, id));
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(id, { user: row.user, sessionId: id, expiresAt: row.expiresAt, lastSeenAt: now, cachedAt: now });
  return { user: row.user, sessionId: id };
}

export async function deleteSession(orm: Orm, sessionId: string): Promise<void> {
  cache.delete(sessionId);
  await orm.delete(sessions).where(eq(sessions.id, sessionId));
}

/** Ends every session of a user (password change, disable), optionally keeping one. */
export async function deleteUserSessions(orm: Orm, userId: string, keep?: string): Promise<void> {
  for (const [id, c] of cache) if (c.user.id === userId && id !== keep) cache.delete(id);
  const rows = await orm.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, userId));
  for (const r of rows) if (r.id !== keep) await orm.delete(sessions).where(eq(sessions.id, r.id));
}

/** Drops cached copies of a user so a role change or disable applies to the next request. */
export function forgetUser(userId: string): void {
  for (const [id, c] of cache) if (c.user.id === userId) cache.delete(id);
}

export async function pruneExpiredSessions(orm: Orm): Promise<void> {
  await orm.delete(sessions).where(lt(sessions.expiresAt, Date.now()));
}
