/** Who is calling: resolved once per request by the guard. */
import type { User } from "../db/schema.ts";

export type Scope = "read" | "write" | "admin";
export const ALL_SCOPES: Scope[] = ["read", "write", "admin"];

export type Actor =
  | { kind: "anonymous" }
  | { kind: "user"; user: User; via: "session"; sessionId: string }
  | { kind: "user"; user: User; via: "token"; tokenId: string; scopes: Scope[] };

export const ANONYMOUS: Actor = { kind: "anonymous" };

export function actorId(a: Actor): string | null {
  return a.kind === "user" ? a.user.id : null;
}

export function isAdmin(a: Actor): boolean {
  return a.kind === "user" && a.user.role === "admin";
}
