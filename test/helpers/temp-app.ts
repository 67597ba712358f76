/** An App on a fresh temp data dir (real libSQL file, migrations applied) for in-process tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { openApp, type App } from "../../src/core/app.ts";

export async function openTempApp(prefix: string, env: Record<string, string> = {}): Promise<{ app: App; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { app: await openApp(loadConfig({ data: dir }, env)), dir };
}

export function closeTempApp(app: App | undefined, dir: string | undefined): void {
  app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
