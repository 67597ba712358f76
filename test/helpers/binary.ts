/**
 * The compiled executable for tests that must run against `dist/wove` rather than the sources:
 * built once per test process (the files of one `bun test` run share it) into a temp dir that
 * is removed when the process exits.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./server.ts";

let built: Promise<string> | null = null;

export function compiledWove(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "wove-bin-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const binary = join(dir, "wove");
    const p = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts"), "--outfile", binary], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`build failed (${code}):\n${out}\n${err}`);
    return binary;
  })();
  return built;
}
