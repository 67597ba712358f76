/**
 * API tokens: `wove_<random>`; only a sha256 is stored, the token is shown once.
 * Scopes narrow what a token may do on top of its user's own rights.
 */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { apiTokens, events, users, type ApiToken, type User } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { newId, randomToken, sha256 } from "../lib/crypto.ts";
import { invalid, notFound } from "../lib/errors.ts";
import { checkName } from "../lib/validate.ts";
import { ALL_SCOPES, type Scope } from "./actor.ts";

export const TOKEN_PREFIX = "wove_";
const TOUCH_MS = 60_000;
const CACHE_MS = 5000;

type Cached = { user: User; token: ApiToken; cachedAt: number };
const cache = new Map<string, Cached>();

export function parseScopes(raw: string | string[]): Scope[] {
  const list = (Array.isArray(raw) ? raw : raw.split(/[\s,]+/)).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw invalid("Give at least one scope (read, write, admin).", { scopes: "Give at least one scope." });
  for (const s of list) {
    if (!ALL_SCOPES.includes(s as Scope)) throw invalid(`Unknown scope "${s}"; use read, write or admin.`, { scopes: `Unknown scope "${s}".` });
  }
  return [...new Set(list as Scope[])];
}

/** Reads `30d`, `12h`, `90m`, `never`, or an ISO date into an absolute expiry (ms) or null. */
export function parseExpiry(raw: string, now = Date.now()): number | null {
  const s = raw.trim().toLowerCase();
  if (s === "never" || s === "") return null;
  const m = /^(\d{1,5})([mhdw])$/.exec(s);
  if (m) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "m" | "h" | "d" | "w"];
    const ms = Number(m[1]) * unit;
    if (ms <= 0) throw invalid("Expiry must be in the future.", { expires: "Expiry must be in the future." });
    return now + ms;
  }
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw invalid(`Expiry "${raw}" is not like 30d, 12h, never or a date.`, { expires: "Use 30d, 12h, never or a date." });
  if (t <= now) throw invalid("Expiry must be in the future.", { expires: "Expiry must be in the future." });
  return t;
}

export async function createToken(
  orm: Orm,
  user: User,
  input: { name: string; scopes: Scope[]; expiresAt: number | null },
  actorId: string | null,
): Promise<{ token: string; row: ApiToken }> {
  const ne = checkName(input.name, "Token name", 80);
  if (ne) throw invalid(ne, { name: ne });
  if (input.scopes.includes("admin") && user.role !== "admin") {
    throw invalid("Only admins can create tokens with the admin scope.", { scopes: "Only admins can use the admin scope." });
  }
  const token = TOKEN_PREFIX + randomToken(30);
  const row: ApiToken = {
    id: newId(),
    userId: user.id,
    name: input.name.trim(),
    tokenHash: sha256(token),
    prefix: token.slice(0, TOKEN_PREFIX.length + 6),
    scopes: input.scopes.join(" "),
    createdAt: Date.now(),
    expiresAt: input.expiresAt,
    lastUsedAt: null,
    revokedAt: null,
  };
  await orm.batch([
    orm.insert(apiTokens).values(row),
    orm.insert(events).values(
      eventValues({ actorId, kind: "token.created", subjectType: "token", subjectId: row.id, data: { userId: user.id, scopes: input.scopes } }),
    ),
  ]);
  return { token, row };
}

/** The token's user and row when it is valid (not expired, revoked, or its user disabled). */
export async function resolveToken(orm: Orm, token: string): Promise<{ user: User; token: ApiToken } | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return null;
  const hash = sha256(token);
  const now = Date.now();
  let hit = cache.get(hash);
  if (!hit || now - hit.cachedAt > CACHE_MS) {
    const row = await orm
      .select({ user: users, token: apiTokens })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(eq(apiTokens.tokenHash, hash))
      .get();
    if (!row) {
      cache.delete(hash);
      return null;
    }
    hit = { ...row, cachedAt: now };
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, hit);
  }
  const { user, token: t } = hit;
  if (t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= now) || user.disabledAt !== null) return null;
  if (t.lastUsedAt === null || now - t.lastUsedAt > TOUCH_MS) {
    t.lastUsedAt = now;
    await orm.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, t.id));
  }
  return { user, token: t };
}

export function tokenScopes(t: ApiToken): Scope[] {
  return t.scopes.split(" ").filter((s): s is Scope => ALL_SCOPES.includes(s as Scope));
}

export async function listTokens(orm: Orm, userId: string): Promise<ApiToken[]> {
  return orm.select().from(apiTokens).where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt))).orderBy(desc(apiTokens.createdAt));
}

export function publicToken(t: ApiToken) {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    scopes: tokenScopes(t),
    createdAt: new Date(t.createdAt).toISOString(),
    expiresAt: t.expiresAt ? new Date(t.expiresAt).toISOString() : null,
    lastUsedAt: t.lastUsedAt ? new Date(t.lastUsedAt).toISOString() : null,
  };
}

export async function revokeToken(orm: Orm, userId: string, tokenId: string, actorId: string | null): Promise<void> {
  const t = await orm.select().from(apiTokens).where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId))).get();
  if (!t || t.revokedAt !== null) throw notFound("Token");
  for (const [h, c] of cache) if (c.token.id === tokenId) cache.delete(h);
  await orm.batch([
    orm.update(apiTokens).set({ revokedAt: Date.now() }).where(eq(apiTokens.id, tokenId)),
    orm.insert(events).values(eventValues({ actorId, kind: "token.revoked", subjectType: "token", subjectId: tokenId, data: { userId } })),
  ]);
}

export function forgetTokensOf(userId: string): void {
  for (const [h, c] of cache) if (c.user.id === userId) cache.delete(h);
}
