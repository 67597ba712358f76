/**
 * Builds the browser "islands" — for now the IDE (src/web/islands/ide/) — into
 * public/islands/ide/, served at /assets/islands/ide/ and embedded in the binary by
 * scripts/build.ts (`compile.assets`). Built output is not committed (.gitignore).
 *
 * What comes out (stable names, no content hashes: the server answers with ETags):
 * - ide.js: the island (Monaco's ESM build, y-monaco, y-websocket, y-indexeddb, yjs), minified.
 * - ide.css: ide-shell.css, ide-overlays.css and Monaco's CSS; codicon.ttf, the icon font it points to under
 *   /assets/islands/ide/.
 * - editor.worker.js, ts.worker.js, json.worker.js, css.worker.js, html.worker.js: Monaco's web
 *   workers as module workers, started by `MonacoEnvironment.getWorker` (monaco-setup.ts) from
 *   our own origin (CSP: worker-src 'self').
 * - manifest.json: a fingerprint of the inputs (island sources, this script, the bundled
 *   packages' versions, Bun's version) and the files written. `--if-stale` skips the build when
 *   the fingerprint matches and every file is present.
 *
 * Usage: bun scripts/build-islands.ts [--if-stale] [--sourcemap]
 */
import type { BunPlugin } from "bun";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const projectDir = resolve(import.meta.dir, "..");
const islandDir = join(projectDir, "src", "web", "islands", "ide");
export const ISLAND_OUT = join(projectDir, "public", "islands", "ide");
const MANIFEST = "manifest.json";

/** The packages bundled into the island: a version change means a rebuild. */
const PACKAGES = ["monaco-editor", "y-monaco", "y-websocket", "y-indexeddb", "y-protocols", "yjs", "lib0"];
const WORKERS: Record<string, string> = {
  "editor.worker.js": "esm/vs/editor/editor.worker.js",
  "ts.worker.js": "esm/vs/language/typescript/ts.worker.js",
  "json.worker.js": "esm/vs/language/json/json.worker.js",
  "css.worker.js": "esm/vs/language/css/css.worker.js",
  "html.worker.js": "esm/vs/language/html/html.worker.js",
};
const EXPECTED = ["ide.js", "ide.css", "codicon.ttf", ...Object.keys(WORKERS)];

type Manifest = { fingerprint: string; builtAt: string; bun: string; packages: Record<string, string>; files: Record<string, number> };
export type IslandBuildResult = { built: boolean; ms: number; files: Record<string, number> };

function packageDir(name: string): string {
  // Through package.json, which every package exports or allows: monaco-editor's "exports"
  // map would not resolve its own esm/… paths.
  return dirname(Bun.resolveSync(`${name}/package.json`, projectDir));
}

function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PACKAGES) {
    out[name] = (JSON.parse(readFileSync(join(packageDir(name), "package.json"), "utf8")) as { version: string }).version;
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (!name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

function fingerprint(packages: Record<string, string>): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(`bun ${Bun.version}\n${JSON.stringify(packages)}\n`);
  for (const file of [import.meta.path, ...sourceFiles(islandDir)]) {
    h.update(`${relative(projectDir, file)}\n`);
    h.update(readFileSync(file));
  }
  return h.digest("hex");
}

function readManifest(): Manifest | null {
  try {
    return JSON.parse(readFileSync(join(ISLAND_OUT, MANIFEST), "utf8")) as Manifest;
  } catch {
    return null;
  }
}

/**
 * y-monaco imports `monaco-editor/esm/vs/editor/editor.api.js`, a path monaco-editor's
 * "exports" map rewrites to one that does not exist (`./*.js` → `./esm/vs/*.js`). Resolve
 * `monaco-editor/esm/…` to the real file instead.
 */
function monacoEsmPaths(monacoDir: string): BunPlugin {
  return {
    name: "wove-monaco-esm-paths",
    setup(build) {
      build.onResolve({ filter: /^monaco-editor\/esm\// }, (args) => ({ path: join(monacoDir, args.path.slice("monaco-editor/".length)) }));
    },
  };
}

export async function buildIslands(opts: { ifStale?: boolean; sourcemap?: boolean; quiet?: boolean } = {}): Promise<IslandBuildResult> {
  const started = performance.now();
  const log = (msg: string) => {
    if (!opts.quiet) console.log(msg);
  };
  const packages = packageVersions();
  const print = fingerprint(packages) + (opts.sourcemap ? ":sourcemap" : "");
  const old = readManifest();
  if (opts.ifStale && old?.fingerprint === print && EXPECTED.every((f) => existsSync(join(ISLAND_OUT, f)))) {
    const ms = Math.round(performance.now() - started);
    log(`islands: up to date (${relative(process.cwd(), ISLAND_OUT) || ISLAND_OUT}, checked in ${ms} ms)`);
    return { built: false, ms, files: old.files };
  }

  // Build beside the output and swap it in whole, so a server reading public/ never sees half a build.
  const tmp = `${ISLAND_OUT}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const monacoDir = packageDir("monaco-editor");
  const result = await Bun.build({
    entrypoints: [join(islandDir, "ide.ts"), ...Object.values(WORKERS).map((p) => join(monacoDir, p))],
    outdir: tmp,
    target: "browser",
    format: "esm",
    minify: true,
    // One file per entry: chunks would need content-hashed names to stay apart.
    splitting: false,
    sourcemap: opts.sourcemap ? "linked" : "none",
    naming: { entry: "[name].[ext]", chunk: "[name].[ext]", asset: "[name].[ext]" },
    publicPath: "/assets/islands/ide/",
    plugins: [monacoEsmPaths(monacoDir)],
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
  });
  for (const l of result.logs) console.error(l);
  if (!result.success) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error("islands: the build failed (see the messages above)");
  }
  const files: Record<string, number> = {};
  for (const name of readdirSync(tmp).sort()) files[name] = statSync(join(tmp, name)).size;
  const missing = EXPECTED.filter((f) => !(f in files));
  if (missing.length > 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`islands: the build did not produce ${missing.join(", ")} (a Monaco upgrade moved something? update scripts/build-islands.ts)`);
  }
  const manifest: Manifest = { fingerprint: print, builtAt: new Date().toISOString(), bun: Bun.version, packages, files };
  await Bun.write(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(ISLAND_OUT, { recursive: true, force: true });
  renameSync(tmp, ISLAND_OUT);

  const ms = Math.round(performance.now() - started);
  const total = Object.values(files).reduce((a, b) => a + b, 0);
  const sizes = Object.entries(files)
    .map(([n, b]) => `${n} ${(b / 1024).toFixed(0)} KiB`)
    .join(", ");
  log(`islands: built ${relative(process.cwd(), ISLAND_OUT) || ISLAND_OUT} in ${ms} ms — ${(total / 1024 / 1024).toFixed(1)} MiB: ${sizes}`);
  return { built: true, ms, files };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { "if-stale": { type: "boolean", default: false }, sourcemap: { type: "boolean", default: false } },
  });
  try {
    await buildIslands({ ifStale: values["if-stale"], sourcemap: values.sourcemap });
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
