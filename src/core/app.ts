/**
 * The App: everything a request or a CLI command needs, opened once.
 * Like PocketBase's core.App, it is passed down explicitly instead of living
 * in module-level singletons.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Config } from "../config.ts";
import { checkIntegrity, checkPragmas, openDatabase, type Db } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";
import { log, type Logger } from "../lib/log.ts";

export type App = {
  config: Config;
  db: Db;
  /** 32-byte instance secret: signs CSRF tokens, seals secrets at rest. */
  secret: Buffer;
  log: Logger;
  close(): void;
};

/** Creates the data dir (0700) with its secret key file (0600) if missing. */
export function ensureDataDir(dataDir: string): Buffer {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const keyFile = join(dataDir, "secret.key");
  if (process.env.WOVE_SECRET_KEY) {
    const k = Buffer.from(process.env.WOVE_SECRET_KEY, "base64");
    if (k.length < 32) throw new Error("WOVE_SECRET_KEY must be at least 32 bytes, base64-encoded");
    return k;
  }
  if (!existsSync(keyFile)) {
    // wx: if two processes race, one wins and the other reads the winner's key.
    try {
      writeFileSync(keyFile, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  if ((statSync(keyFile).mode & 0o077) !== 0) chmodSync(keyFile, 0o600);
  const key = Buffer.from(readFileSync(keyFile, "utf8").trim(), "base64");
  if (key.length < 32) throw new Error(`${keyFile} is damaged (want 32 base64 bytes)`);
  return key;
}

export async function openApp(config: Config, opts: { migrate?: boolean } = {}): Promise<App> {
  const secret = ensureDataDir(config.dataDir);
  const db = await openDatabase(config.databaseUrl, config.databaseAuthToken);
  if (db.file) await checkIntegrity(db);
  if (opts.migrate !== false) await migrate(db);
  await checkPragmas(db);
  return { config, db, secret, log, close: () => db.close() };
}
