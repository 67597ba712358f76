/**
 * `bun run build` → `dist/wove`: one executable that runs with no node_modules
 * and no source beside it.
 *
 * What has to be embedded, and how:
 * - JS/TS and the SQL migrations (`with { type: "text" }`): the bundler does it.
 * - sqlite-vec's vec0.so: src/db/vec.ts imports it `with { type: "file" }`, so the
 *   bundler embeds it; vec.ts copies it to a real temp file before loading.
 * - libsql's native addon: libsql/index.js picks it with a computed
 *   `require(\`@libsql/${target}\`)`, which the bundler cannot follow. The plugin
 *   below rewrites it into a static require of the `.node` file so it is embedded
 *   (Bun writes it out and dlopens it at run time).
 * - `public/` (CSS, JS, vendored htmx, and the IDE island that scripts/build-islands.ts
 *   bundles into public/islands/ first): `compile.assets`, served by src/web/assets.ts from
 *   `/$bunfs/root/public`.
 *
 * Usage: bun scripts/build.ts [--entry path/to/entry.ts] [--outfile path]
 */
import type { BunPlugin } from "bun";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildIslands } from "./build-islands.ts";

const projectDir = resolve(import.meta.dir, "..");

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    entry: { type: "string", default: join(projectDir, "src", "main.ts") },
    outfile: { type: "string", default: join(projectDir, "dist", "wove") },
  },
});
const entry = resolve(flags.entry ?? "");
const outfile = resolve(flags.outfile ?? "");
const publicDir = join(projectDir, "public");

if (!existsSync(entry)) {
  console.error(`build: entry point ${relative(process.cwd(), entry)} does not exist`);
  process.exit(1);
}

const pkg = (await Bun.file(join(projectDir, "package.json")).json()) as { version: string };

// Only glibc Linux is built and shipped (the Docker image is Debian); the
// addon package for this machine's CPU must be installed.
const nativeTarget = `linux-${process.arch}-gnu`;
const nativeAddon = `@libsql/${nativeTarget}/index.node`;
if (process.platform !== "linux" || !existsSync(join(projectDir, "node_modules", nativeAddon))) {
  console.error(`build: ${nativeAddon} is not installed (platform ${process.platform}/${process.arch}); run bun install on glibc Linux`);
  process.exit(1);
}

let libsqlPatched = 0;
const libsqlNativePlugin: BunPlugin = {
  name: "wove-libsql-native",
  setup(build) {
    // Anchored on node_modules/libsql/ so drizzle-orm/libsql/index.js is left alone.
    build.onLoad({ filter: /[\\/]node_modules[\\/]libsql[\\/]index\.js$/ }, async (args) => {
      const source = await Bun.file(args.path).text();
      const computed = "require(`@libsql/${target}`)";
      if (!source.includes(computed)) {
        // A libsql upgrade changed the loader: fail loudly rather than ship a
        // binary that dies with "Cannot find module '@libsql/…'" at first query.
        throw new Error(`${args.path}: expected ${computed}; update scripts/build.ts for this libsql version`);
      }
      libsqlPatched++;
      return { contents: source.replace(computed, `require(${JSON.stringify(nativeAddon)})`), loader: "js" };
    });
  },
};

function walk(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) {
      const sub = walk(path);
      files += sub.files;
      bytes += sub.bytes;
    } else if (st.isFile()) {
      files++;
      bytes += st.size;
    }
  }
  return { files, bytes };
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const started = performance.now();

// The browser islands (Monaco IDE) are built into public/ first, so compile.assets embeds them.
try {
  await buildIslands({ ifStale: true });
} catch (e) {
  console.error(`build: ${(e as Error).message}`);
  process.exit(1);
}

const result = await Bun.build({
  entrypoints: [entry],
  root: projectDir,
  target: "bun",
  format: "esm",
  // Identifiers stay unminified so stack traces keep function names; whitespace
  // and syntax minification already take most of the gain.
  minify: { whitespace: true, syntax: true, identifiers: false },
  // The source map is embedded in the executable, so stack traces from the
  // binary point at src/… lines (the .map file written beside it is removed below).
  sourcemap: "linked",
  // Precompiled bytecode: cold start to first /healthz p50 ~34 ms instead of
  // ~85 ms, for ~4 MiB more file (bench/startup.ts, 2-core EPYC).
  bytecode: true,
  plugins: [libsqlNativePlugin],
  define: {
    "process.env.NODE_ENV": JSON.stringify("production"),
    // Read with a `typeof WOVE_VERSION` guard so the source still runs unbuilt.
    WOVE_VERSION: JSON.stringify(pkg.version),
  },
  compile: {
    outfile,
    // An absolute folder is embedded under its own name: /$bunfs/root/public/….
    assets: existsSync(publicDir) ? [publicDir] : [],
    // A server's configuration comes from its flags and environment only: a
    // stray .env or bunfig.toml in whatever directory it starts in must not
    // change its behaviour.
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
});

for (const log of result.logs) console.error(log);
if (!result.success) {
  console.error("build: failed");
  process.exit(1);
}
rmSync(`${outfile}.map`, { force: true });
if (libsqlPatched === 0) {
  console.warn("build: warning: libsql/index.js was not in the bundle, so no native addon is embedded");
}

const size = statSync(outfile).size;
const assets = existsSync(publicDir) ? walk(publicDir) : { files: 0, bytes: 0 };
console.log(
  `built ${relative(process.cwd(), outfile) || outfile} v${pkg.version}: ${mb(size)} (${size} bytes)` +
    ` — ${assets.files} public assets (${mb(assets.bytes)}), libsql addon ${libsqlPatched ? "embedded" : "absent"},` +
    ` ${Math.round(performance.now() - started)} ms`,
);
