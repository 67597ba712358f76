/**
 * sqlite-vec: the vector index used by semantic search. It is a loadable
 * extension, so it needs a local file and the `libsql` driver (better-sqlite3
 * API); `@libsql/client` cannot load extensions. The shared object is embedded
 * in the binary and copied to a real file before loading.
 */
import Database from "libsql";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import vecSoPath from "sqlite-vec-linux-x64/vec0.so" with { type: "file" };

export type VecDatabase = InstanceType<typeof Database>;

let extensionFile: string | undefined;

/** A real on-disk path of vec0.so (written out once when running from the compiled binary). */
export function vecExtensionPath(): string {
  if (extensionFile) return extensionFile;
  if (!vecSoPath.startsWith("/$bunfs/") && existsSync(vecSoPath)) {
    const onDisk = vecSoPath.replace(/\.so$/, "");
    extensionFile = onDisk;
    return onDisk;
  }
  const dir = join(tmpdir(), `wove-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Named by content and replaced by rename, never rewritten in place: another
  // wove process (the server next to a CLI command) may have it mapped.
  const bytes = readFileSync(vecSoPath);
  // The hash goes in the folder name: SQLite derives the entry point (sqlite3_vec_init)
  // from the file name, which must therefore stay "vec0.so".
  const hashDir = join(dir, createHash("sha256").update(bytes).digest("hex").slice(0, 16));
  const file = join(hashDir, "vec0.so");
  if (!existsSync(file)) {
    mkdirSync(hashDir, { recursive: true, mode: 0o700 });
    const tmp = join(hashDir, `vec0.so.${process.pid}.tmp`);
    writeFileSync(tmp, bytes, { mode: 0o600 });
    renameSync(tmp, file);
  }
  const loadable = file.replace(/\.so$/, "");
  extensionFile = loadable;
  return loadable;
}

/** Opens a `libsql` connection to the local database file with sqlite-vec loaded. */
export function openVectorDatabase(file: string): VecDatabase {
  const db = new Database(file, { timeout: 5000 } as ConstructorParameters<typeof Database>[1]);
  db.loadExtension(vecExtensionPath());
  return db;
}

/** Loads sqlite-vec into a scratch in-memory database and returns its version (start-up check). */
export function checkVectorExtension(): string {
  const db = new Database(":memory:");
  try {
    db.loadExtension(vecExtensionPath());
    const row = db.prepare("SELECT vec_version() AS v").get() as { v: string } | undefined;
    if (!row?.v) throw new Error("vec_version() returned nothing");
    return row.v;
  } finally {
    db.close();
  }
}
