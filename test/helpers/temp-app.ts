/** An App on a fresh temp data dir (real libSQL file, migrations applied) for in-process tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { openApp, type App } from "../../src/core/app.ts";
import { ApiError } from "../../src/lib/errors.ts";
import { createUser } from "../../src/auth/users.ts";
import type { Orm } from "../../src/db/client.ts";
import type { User } from "../../src/db/schema.ts";

export async function openTempApp(prefix: string, env: Record<string, string> = {}): Promise<{ app: App; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { app: await openApp(loadConfig({ data: dir }, env)), dir };
}

export function closeTempApp(app: App | undefined, dir: string | undefined): void {
  app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Awaits a promise that must fail with an ApiError and returns that error (its status, code, details). */
export async function apiErrorOf(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected an ApiError");
}

/** The two members most service tests need: alice (name configurable, it shows up as a commit author) and bob. */
export async function aliceAndBob(orm: Orm, aliceName = "Alice"): Promise<{ alice: User; bob: User }> {
  const alice = await createUser(orm, { email: "alice@example.com", role: "member", username: "alice", name: aliceName }, null);
  const bob = await createUser(orm, { email: "bob@example.com", role: "member", username: "bob", name: "Bob" }, null);
  return { alice, bob };
}
