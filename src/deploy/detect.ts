/**
 * Decides how to deploy a project from the files in its working tree (a folder on disk):
 *
 * 1. a `Dockerfile` at the root → built as is (port: its last EXPOSE, else 8080);
 * 2. `package.json` with `scripts.start` or a `main` file → a Bun app (Bun also runs Node apps);
 * 3. `package.json` with `scripts.build` and no start → a static site built into dist/build/out;
 * 4. `index.html` at the root or in `public/` → a static site served as it is;
 * 5. anything else → "cannot deploy: …" saying exactly what to add.
 *
 * A `scripts.start` that is a front-end dev server (react-scripts start, vite) with a build script
 * counts as a built site. `wove.toml` (wove-toml.ts) overrides any of these choices; its `output`
 * alone makes the project a static site. Every choice adds a line to
 * `plan.notes`, which the build log shows, so "why did it do that?" has an answer.
 *
 * Files are read with lstat first: a symlink never counts as a file here, so a project cannot
 * make detection read something outside its own folder.
 */
import { constants } from "node:fs";
import { lstat, open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Argv, Detection, DeployKind, Plan } from "./types.ts";
import { cleanRelativePath, describeArgv, parseWoveToml, WOVE_TOML, WOVE_TOML_MAX_BYTES, WoveTomlError, type WoveSettings } from "./wove-toml.ts";

/** The port a Bun app is expected on when nothing says otherwise (it is also given as PORT). */
export const DEFAULT_APP_PORT = 3000;
/** The port assumed for a Dockerfile without EXPOSE. */
export const DEFAULT_DOCKERFILE_PORT = 8080;
/** The port the static-site server listens on inside its container (it is given as PORT). */
export const STATIC_SITE_PORT = 8080;
export const DEFAULT_HEALTH_PATH = "/";
export const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;
/** Where build tools put a static site, in the order they are tried. */
export const STATIC_OUTPUT_DIRS = ["dist", "build", "out"] as const;

const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Start scripts that are front-end development servers, not apps: such projects are deployed as their build. */
const DEV_SERVER_RE = /^\s*(react-scripts start|vite(\s+dev)?|vue-cli-service serve|parcel(\s+serve)?\s+\S*\.html)\s*$/;

type PackageJson = {
  scripts: Record<string, string>;
  main: string | null;
  hasDependencies: boolean;
  dependencyNames: Set<string>;
};

class CannotDeploy extends Error {}

const cannot = (why: string): never => {
  throw new CannotDeploy(`cannot deploy: ${why}`);
};

async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A regular file's text, or null when there is none (or it is a symlink: O_NOFOLLOW, so a link
 * swapped in after a check is refused too); too big is an error naming the file.
 */
async function readSmall(root: string, name: string, max: number): Promise<string | null> {
  let file: FileHandle;
  try {
    file = await open(join(root, name), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = await file.stat();
    if (!st.isFile()) return null;
    if (st.size > max) cannot(`${name} is ${st.size} bytes; it must be under ${max} bytes.`);
    return await file.readFile("utf8");
  } finally {
    await file.close();
  }
}

function strings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === "object" && !Array.isArray(v)) for (const [k, s] of Object.entries(v)) if (typeof s === "string") out[k] = s;
  return out;
}

async function readPackageJson(root: string): Promise<PackageJson | null> {
  const text = await readSmall(root, "package.json", MAX_MANIFEST_BYTES);
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return cannot(`package.json is not valid JSON (${why}). Fix it in the editor and deploy again.`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return cannot("package.json must hold a JSON object ({ … }).");
  const pkg = raw as Record<string, unknown>;
  const deps = strings(pkg.dependencies);
  const devDeps = strings(pkg.devDependencies);
  const names = new Set([...Object.keys(deps), ...Object.keys(devDeps)]);
  return {
    scripts: strings(pkg.scripts),
    main: typeof pkg.main === "string" && pkg.main.trim() !== "" ? pkg.main.trim() : null,
    hasDependencies: names.size > 0,
    dependencyNames: names,
  };
}

/** The port of the Dockerfile's last EXPOSE (its first port), or null when none gives a number. */
export function exposedPort(dockerfile: string): number | null {
  const joined = dockerfile.replace(/\\\r?\n/g, " ");
  let port: number | null = null;
  for (const line of joined.split(/\r?\n/)) {
    const m = /^\s*EXPOSE\s+(.+)$/i.exec(line);
    if (!m) continue;
    const first = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec((m[1] ?? "").trim().split(/\s+/)[0] ?? "");
    const n = first ? Number(first[1]) : NaN;
    port = n >= 1 && n <= 65535 ? n : null;
  }
  return port;
}

/** What the build tool in package.json usually writes to, for sites whose output is not there yet. */
function guessedOutput(pkg: PackageJson): { dir: string; why: string } {
  if (pkg.dependencyNames.has("react-scripts")) return { dir: "build", why: "Create React App builds into build/" };
  if (pkg.dependencyNames.has("next")) return { dir: "out", why: "a static Next.js export goes to out/" };
  return { dir: "dist", why: "the usual output folder; set output in wove.toml if the build writes elsewhere" };
}

async function hasIndex(root: string, dir: string): Promise<boolean> {
  return isFile(join(root, dir, "index.html"));
}

/** A folder with index.html to serve without a build: wove.toml's output, the root, or public/. */
async function plainSiteDir(root: string, toml: WoveSettings, notes: string[]): Promise<string | null> {
  if (toml.output !== undefined) {
    if (!(await hasIndex(root, toml.output))) cannot(`wove.toml sets output = "${toml.output}", but there is no ${toml.output === "." ? "" : `${toml.output}/`}index.html.`);
    notes.push(`site: ${toml.output === "." ? "the project's root" : `${toml.output}/`} (wove.toml output)`);
    return toml.output;
  }
  if (await hasIndex(root, ".")) {
    notes.push("site: the project's root (index.html)");
    return ".";
  }
  if (await hasIndex(root, "public")) {
    notes.push("site: public/ (public/index.html)");
    return "public";
  }
  return null;
}

/** The folder a site build writes: wove.toml's output, a dist/build/out that has index.html, or the tool's usual one. */
async function builtSiteDir(root: string, toml: WoveSettings, pkg: PackageJson | null, notes: string[]): Promise<string> {
  if (toml.output !== undefined) {
    notes.push(`site: ${toml.output}/ after the build (wove.toml output)`);
    return toml.output;
  }
  for (const dir of STATIC_OUTPUT_DIRS) {
    if (await hasIndex(root, dir)) {
      notes.push(`site: ${dir}/ after the build (${dir}/index.html is already there)`);
      return dir;
    }
  }
  const guess = pkg ? guessedOutput(pkg) : { dir: "dist", why: "the usual output folder; set output in wove.toml if the build writes elsewhere" };
  notes.push(`site: ${guess.dir}/ after the build (${guess.why})`);
  return guess.dir;
}

/** The main file, when package.json names one that exists inside the project. */
async function mainFile(root: string, pkg: PackageJson, notes: string[]): Promise<string | null> {
  if (pkg.main === null) return null;
  const clean = cleanRelativePath(pkg.main);
  if (typeof clean !== "string" || clean === ".") {
    notes.push(`package.json main "${pkg.main}" is not a file inside the project; ignored`);
    return null;
  }
  if (!(await isFile(join(root, clean)))) {
    notes.push(`package.json main "${pkg.main}" does not exist; ignored`);
    return null;
  }
  return clean;
}

/** Why nothing fits, with the file to add; other languages are named so the message is not a riddle. */
async function nothingToDeploy(root: string, pkg: PackageJson | null): Promise<never> {
  if (pkg) {
    return cannot(
      'package.json has no "start" script, "main" file or "build" script. Add "start": "bun run server.ts" to its scripts for an app, or a "build" script that writes index.html to dist/ for a static site.',
    );
  }
  const others: [string, string][] = [
    ["requirements.txt", "Python"],
    ["pyproject.toml", "Python"],
    ["main.py", "Python"],
    ["go.mod", "Go"],
    ["Cargo.toml", "Rust"],
    ["Gemfile", "Ruby"],
    ["composer.json", "PHP"],
  ];
  for (const [file, language] of others) {
    if (await isFile(join(root, file))) {
      return cannot(
        `this looks like a ${language} project (${file}). Wove deploys static sites, Bun/Node apps and projects with a Dockerfile: add a Dockerfile that runs it (its base image must be loaded on this server by an admin), or an index.html for a static site.`,
      );
    }
  }
  return cannot(
    "found no index.html (a static site), package.json with a start script (a Bun or Node app) or Dockerfile. Add one of them, or a wove.toml that says what to run.",
  );
}

function healthOf(toml: WoveSettings, notes: string[]): Plan["health"] {
  const path = toml.healthPath ?? DEFAULT_HEALTH_PATH;
  const timeoutMs = toml.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const from = (set: boolean) => (set ? "wove.toml" : "default");
  notes.push(`health check: GET ${path} must answer 2xx or 3xx within ${timeoutMs / 1000} s (path: ${from(toml.healthPath !== undefined)}, time: ${from(toml.healthTimeoutMs !== undefined)})`);
  return { path, timeoutMs };
}

/** A step from wove.toml if it names one (null = turned off), else the detected default. */
function step(name: "install" | "build", toml: WoveSettings, fallback: { argv: Argv; why: string } | null, notes: string[]): Argv | null {
  const set = toml[name];
  if (set !== undefined) {
    notes.push(set === null ? `${name}: off (wove.toml)` : `${name}: ${describeArgv(set)} (wove.toml)`);
    return set;
  }
  if (fallback) notes.push(`${name}: ${describeArgv(fallback.argv)} (${fallback.why})`);
  return fallback?.argv ?? null;
}

function installDefault(pkg: PackageJson | null): { argv: Argv; why: string } | null {
  return pkg?.hasDependencies ? { argv: ["bun", "install"], why: "package.json has dependencies" } : null;
}

function buildDefault(pkg: PackageJson | null): { argv: Argv; why: string } | null {
  return pkg?.scripts.build !== undefined ? { argv: ["bun", "run", "build"], why: "package.json has scripts.build" } : null;
}

function refuseKeys(toml: WoveSettings, kind: DeployKind, keys: (keyof WoveSettings)[], why: string): void {
  const set = keys.filter((k) => toml[k] !== undefined);
  if (set.length > 0) cannot(`wove.toml sets ${set.join(" and ")}, which ${set.length === 1 ? "does" : "do"} not apply to ${kind} projects: ${why}`);
}

async function planDockerfile(root: string, toml: WoveSettings, notes: string[]): Promise<Plan> {
  const text = await readSmall(root, "Dockerfile", MAX_MANIFEST_BYTES);
  if (text === null) return cannot('wove.toml says kind = "dockerfile", but there is no Dockerfile at the project\'s root.');
  refuseKeys(toml, "dockerfile", ["install", "build", "output"], "put those steps in the Dockerfile.");
  let port = toml.port;
  if (port !== undefined) notes.push(`port: ${port} (wove.toml)`);
  else {
    const exposed = exposedPort(text);
    port = exposed ?? DEFAULT_DOCKERFILE_PORT;
    notes.push(exposed !== null ? `port: ${port} (the Dockerfile's EXPOSE)` : `port: ${port} (the default: the Dockerfile has no EXPOSE; the app is also given PORT=${port})`);
  }
  const start = toml.start ?? null;
  notes.push(start ? `start: ${describeArgv(start)} (wove.toml)` : "start: the image's own CMD");
  return { kind: "dockerfile", install: null, build: null, start, staticDir: null, port, health: healthOf(toml, notes), notes };
}

async function planBun(root: string, toml: WoveSettings, pkg: PackageJson | null, notes: string[]): Promise<Plan> {
  refuseKeys(toml, "bun", ["output"], "only static sites have an output folder.");
  let start: Argv | null = toml.start ?? null;
  if (toml.start !== undefined) notes.push(start ? `start: ${describeArgv(start)} (wove.toml)` : "start: off (wove.toml)");
  else if (pkg?.scripts.start !== undefined) {
    start = ["bun", "run", "start"];
    const node = /^\s*node\s/.test(pkg.scripts.start) ? "; Bun stands in for node" : "";
    notes.push(`start: bun run start (package.json scripts.start: ${pkg.scripts.start}${node})`);
  } else if (pkg) {
    const main = await mainFile(root, pkg, notes);
    if (main) {
      start = ["bun", main];
      notes.push(`start: bun ${main} (package.json main)`);
    }
  }
  if (!start) {
    return cannot('a Bun app needs a start command: add "start": "bun run server.ts" to package.json\'s scripts, or start = ["bun", "server.ts"] to wove.toml.');
  }
  const install = step("install", toml, installDefault(pkg), notes);
  const build = step("build", toml, buildDefault(pkg), notes);
  const port = toml.port ?? DEFAULT_APP_PORT;
  notes.push(toml.port !== undefined ? `port: ${port} (wove.toml)` : `port: ${port} (the default; the app is given PORT=${port} — set port in wove.toml if it listens elsewhere)`);
  return { kind: "bun", install, build, start, staticDir: null, port, health: healthOf(toml, notes), notes };
}

async function planStatic(root: string, toml: WoveSettings, pkg: PackageJson | null, notes: string[]): Promise<Plan> {
  refuseKeys(toml, "static", ["start", "port"], "Wove serves static sites with its own file server.");
  const build = step("build", toml, buildDefault(pkg), notes);
  const install = build ? step("install", toml, installDefault(pkg), notes) : step("install", toml, null, notes);
  let staticDir: string | null;
  if (build) staticDir = await builtSiteDir(root, toml, pkg, notes);
  else {
    staticDir = await plainSiteDir(root, toml, notes);
    if (staticDir === null) return cannot("a static site needs an index.html at the project's root or in public/ (or a build script that makes one).");
  }
  notes.push(`port: ${STATIC_SITE_PORT} (Wove's static-site server)`);
  return { kind: "static", install, build, start: null, staticDir, port: STATIC_SITE_PORT, health: healthOf(toml, notes), notes };
}

/** The kind the files suggest, with the reason; null when nothing fits. */
async function detectKind(root: string, pkg: PackageJson | null, notes: string[]): Promise<DeployKind | null> {
  if (await isFile(join(root, "Dockerfile"))) {
    notes.push("kind: dockerfile (a Dockerfile at the root is built as it is)");
    return "dockerfile";
  }
  if (pkg?.scripts.start !== undefined && pkg.scripts.build !== undefined && DEV_SERVER_RE.test(pkg.scripts.start)) {
    notes.push(`kind: static (scripts.start runs a development server, "${pkg.scripts.start}"; the site is built with scripts.build instead)`);
    return "static";
  }
  if (pkg?.scripts.start !== undefined) {
    notes.push("kind: bun (package.json has scripts.start)");
    return "bun";
  }
  if (pkg && (await mainFile(root, pkg, []))) {
    notes.push("kind: bun (package.json names a main file)");
    return "bun";
  }
  if (pkg?.scripts.build !== undefined) {
    notes.push("kind: static (package.json has scripts.build and no start: a site built to files)");
    return "static";
  }
  for (const dir of [".", "public"]) {
    if (await hasIndex(root, dir)) {
      notes.push(`kind: static (${dir === "." ? "" : `${dir}/`}index.html, no build step)`);
      return "static";
    }
  }
  return null;
}

/** How to deploy the project whose working tree is `root`, or why it cannot be. */
export async function detectDeploy(root: string): Promise<Detection> {
  if (!(await isDir(root))) return { ok: false, reason: "cannot deploy: the project has no files yet." };
  const notes: string[] = [];
  try {
    let toml: WoveSettings = {};
    const tomlText = await readSmall(root, WOVE_TOML, WOVE_TOML_MAX_BYTES);
    if (tomlText !== null) {
      try {
        toml = parseWoveToml(tomlText);
      } catch (e) {
        if (e instanceof WoveTomlError) return { ok: false, reason: `cannot deploy: ${e.message}` };
        throw e;
      }
      notes.push(`settings: wove.toml (${Object.keys(toml).length === 0 ? "no settings in it" : "its settings win over detection"})`);
    }
    const pkg = await readPackageJson(root);
    let kind: DeployKind | null;
    if (toml.kind) {
      kind = toml.kind;
      notes.push(`kind: ${kind} (wove.toml)`);
    } else if (toml.output !== undefined) {
      kind = "static";
      notes.push("kind: static (wove.toml sets output, the folder of a static site)");
    } else kind = await detectKind(root, pkg, notes);
    if (kind === null) return await nothingToDeploy(root, pkg);
    const plan = kind === "dockerfile" ? await planDockerfile(root, toml, notes) : kind === "bun" ? await planBun(root, toml, pkg, notes) : await planStatic(root, toml, pkg, notes);
    return { ok: true, plan };
  } catch (e) {
    if (e instanceof CannotDeploy) return { ok: false, reason: e.message };
    throw e;
  }
}
