/** Detection over real folders: one temp folder per case, written from a table of files. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { EMBEDDED_TEMPLATES } from "../projects/templates/embedded.ts";
import { detectDeploy, exposedPort, STATIC_SITE_PORT } from "./detect.ts";
import type { Plan } from "./types.ts";

const base = mkdtempSync(join(tmpdir(), "wove-detect-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

function tree(files: Record<string, string>): string {
  const root = join(base, String(++n));
  mkdirSync(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const pkg = (o: Record<string, unknown>) => JSON.stringify(o);
const HEALTH = { path: "/", timeoutMs: 30_000 };

type Expected = Partial<Omit<Plan, "notes">> & { notes?: string[] };
type Case = [name: string, files: Record<string, string>, expected: Expected | { reason: string | RegExp }];

const cases: Case[] = [
  [
    "a Dockerfile wins and its last EXPOSE is the port",
    { Dockerfile: "FROM scratch\nEXPOSE 9000\nEXPOSE 7000/tcp 7001\n", "package.json": pkg({ scripts: { start: "bun x" } }), "index.html": "" },
    { kind: "dockerfile", install: null, build: null, start: null, staticDir: null, port: 7000, health: HEALTH, notes: ["kind: dockerfile (a Dockerfile at the root is built as it is)", "port: 7000 (the Dockerfile's EXPOSE)", "start: the image's own CMD", "health check: GET / must answer 2xx or 3xx within 30 s (path: default, time: default)"] },
  ],
  ["a Dockerfile without EXPOSE gets port 8080", { Dockerfile: "FROM scratch\nCMD [\"/app\"]\n" }, { kind: "dockerfile", port: 8080 }],
  [
    "package.json with scripts.start and dependencies: install, build and start",
    { "package.json": pkg({ scripts: { start: "bun server.ts", build: "bun build.ts" }, dependencies: { hono: "^4" } }) },
    { kind: "bun", install: ["bun", "install"], build: ["bun", "run", "build"], start: ["bun", "run", "start"], staticDir: null, port: 3000, health: HEALTH },
  ],
  ["devDependencies alone also mean an install", { "package.json": pkg({ scripts: { start: "bun x.ts" }, devDependencies: { typescript: "5" } }) }, { kind: "bun", install: ["bun", "install"], build: null }],
  ["package.json with a main file and no scripts", { "package.json": pkg({ main: "./src/app.js" }), "src/app.js": "" }, { kind: "bun", install: null, build: null, start: ["bun", "src/app.js"] }],
  [
    "a main that does not exist is ignored (npm init's default) and index.html decides",
    { "package.json": pkg({ main: "index.js" }), "index.html": "<h1>hi</h1>" },
    { kind: "static", staticDir: ".", install: null, build: null, port: STATIC_SITE_PORT },
  ],
  ["index.html at the root", { "index.html": "" }, { kind: "static", install: null, build: null, start: null, staticDir: ".", port: STATIC_SITE_PORT, health: HEALTH }],
  ["index.html in public/", { "public/index.html": "", "README.md": "" }, { kind: "static", staticDir: "public" }],
  [
    "a build script and no start: a built site, dist by default",
    { "package.json": pkg({ scripts: { build: "vite build", dev: "vite" }, devDependencies: { vite: "6" } }), "index.html": "" },
    { kind: "static", install: ["bun", "install"], build: ["bun", "run", "build"], start: null, staticDir: "dist" },
  ],
  ["a build whose output is already in the tree", { "package.json": pkg({ scripts: { build: "x" } }), "out/index.html": "" }, { kind: "static", install: null, staticDir: "out" }],
  ["Create React App builds into build/, and its start is a dev server", { "package.json": pkg({ scripts: { start: "react-scripts start", build: "react-scripts build" }, dependencies: { "react-scripts": "5" } }) }, { kind: "static", staticDir: "build", start: null }],
  [
    "wove.toml overrides everything",
    {
      "wove.toml": '[deploy]\nkind = "bun"\ninstall = []\nstart = "bun run serve.ts --port $PORT"\nport = 4000\nhealth_path = "/healthz"\nhealth_timeout = "5s"\n',
      "package.json": pkg({ scripts: { start: "x", build: "y" }, dependencies: { a: "1" } }),
      Dockerfile: "FROM scratch",
    },
    { kind: "bun", install: null, build: ["bun", "run", "build"], start: ["sh", "-c", "bun run serve.ts --port $PORT"], port: 4000, health: { path: "/healthz", timeoutMs: 5000 } },
  ],
  ["wove.toml output for a plain site", { "wove.toml": '[deploy]\noutput = "site"\n', "site/index.html": "" }, { kind: "static", staticDir: "site", build: null }],
  ["wove.toml output for a built site", { "wove.toml": '[deploy]\nkind = "static"\nbuild = ["bun", "make.ts"]\noutput = "_site"\n' }, { kind: "static", build: ["bun", "make.ts"], staticDir: "_site" }],
  ["wove.toml start for a Dockerfile", { "wove.toml": "[deploy]\nstart = ['/app', '--serve']\nport = 5000\n", Dockerfile: "FROM scratch\nEXPOSE 80" }, { kind: "dockerfile", start: ["/app", "--serve"], port: 5000 }],
  ["a Node start script runs under Bun", { "package.json": pkg({ scripts: { start: "node index.js" } }) }, { kind: "bun", start: ["bun", "run", "start"], notes: ["kind: bun (package.json has scripts.start)", "start: bun run start (package.json scripts.start: node index.js; Bun stands in for node)", "port: 3000 (the default; the app is given PORT=3000 — set port in wove.toml if it listens elsewhere)", "health check: GET / must answer 2xx or 3xx within 30 s (path: default, time: default)"] }],
  // The cannot-deploy cases: each says what to add.
  ["an empty project", {}, { reason: /^cannot deploy: found no index\.html \(a static site\), package\.json with a start script \(a Bun or Node app\) or Dockerfile\. Add one of them/ }],
  ["package.json that is not JSON", { "package.json": '{ "scripts": { "start": "bun x" }, }' }, { reason: /^cannot deploy: package\.json is not valid JSON \(.+\)\. Fix it in the editor and deploy again\.$/ }],
  ["package.json that is not an object", { "package.json": "[1]" }, { reason: "cannot deploy: package.json must hold a JSON object ({ … })." }],
  ["package.json with nothing to run", { "package.json": pkg({ name: "x", dependencies: { a: "1" } }) }, { reason: /^cannot deploy: package\.json has no "start" script, "main" file or "build" script\. Add "start": "bun run server\.ts"/ }],
  ["a Go project", { "go.mod": "module x", "main.go": "" }, { reason: /^cannot deploy: this looks like a Go project \(go\.mod\)\. .*add a Dockerfile/ }],
  ["a bad wove.toml", { "wove.toml": "[deploy]\nkind = \"bun\"\nport = 0\n", "index.html": "" }, { reason: "cannot deploy: wove.toml line 3: port must be a number from 1 to 65535" }],
  ["wove.toml kind dockerfile without a Dockerfile", { "wove.toml": '[deploy]\nkind = "dockerfile"' }, { reason: "cannot deploy: wove.toml says kind = \"dockerfile\", but there is no Dockerfile at the project's root." }],
  ["wove.toml kind bun without a start", { "wove.toml": '[deploy]\nkind = "bun"', "index.html": "" }, { reason: /^cannot deploy: a Bun app needs a start command/ }],
  ["wove.toml output without its index.html", { "wove.toml": '[deploy]\noutput = "site"' }, { reason: 'cannot deploy: wove.toml sets output = "site", but there is no site/index.html.' }],
  ["wove.toml port for a static site", { "wove.toml": "[deploy]\nport = 80", "index.html": "" }, { reason: "cannot deploy: wove.toml sets port, which does not apply to static projects: Wove serves static sites with its own file server." }],
  ["wove.toml build for a Dockerfile", { "wove.toml": "[deploy]\nbuild = 'make'\ninstall = []", Dockerfile: "FROM x" }, { reason: "cannot deploy: wove.toml sets install and build, which do not apply to dockerfile projects: put those steps in the Dockerfile." }],
];

describe("detectDeploy", () => {
  test.each(cases)("%s", async (_name, files, expected) => {
    const got = await detectDeploy(tree(files));
    if ("reason" in expected) {
      expect(got.ok).toBe(false);
      if (got.ok) return;
      if (typeof expected.reason === "string") expect(got.reason).toBe(expected.reason);
      else expect(got.reason).toMatch(expected.reason);
      return;
    }
    if (!got.ok) throw new Error(`expected a plan, got: ${got.reason}`);
    const { notes, ...rest } = expected;
    expect(got.plan).toMatchObject(rest);
    if (notes) expect(got.plan.notes).toEqual(notes);
    // Every choice is explained: kind, port and health at least.
    expect(got.plan.notes.some((l) => l.startsWith("kind: "))).toBe(true);
    expect(got.plan.notes.some((l) => l.startsWith("port: "))).toBe(true);
    expect(got.plan.notes.some((l) => l.startsWith("health check: "))).toBe(true);
  });

  test("a symlinked package.json or index.html does not count (detection never reads outside the project)", async () => {
    const outside = tree({ "package.json": pkg({ scripts: { start: "bun x" } }), "index.html": "" });
    const root = tree({});
    symlinkSync(join(outside, "package.json"), join(root, "package.json"));
    symlinkSync(join(outside, "index.html"), join(root, "index.html"));
    const got = await detectDeploy(root);
    expect(got.ok).toBe(false);
  });

  test("a folder that does not exist cannot be deployed", async () => {
    expect(await detectDeploy(join(base, "missing"))).toEqual({ ok: false, reason: "cannot deploy: the project has no files yet." });
  });

  test("exposedPort reads the last EXPOSE, across line continuations, ignoring variables", () => {
    expect(exposedPort("FROM x\nexpose 80\n")).toBe(80);
    expect(exposedPort("EXPOSE \\\n  3000/tcp\n")).toBe(3000);
    expect(exposedPort("EXPOSE 80\nEXPOSE $PORT\n")).toBeNull();
    expect(exposedPort("FROM x\n")).toBeNull();
  });
});

describe("the built-in templates", () => {
  const expected: Record<string, Expected | { reason: RegExp }> = {
    "static-site": { kind: "static", staticDir: ".", install: null, build: null },
    "bun-api": { kind: "bun", install: null, build: null, start: ["bun", "run", "start"], port: 3000 },
    "bun-htmx": { kind: "bun", install: null, build: null, start: ["bun", "run", "start"], port: 3000 },
    // Express installs from the package mirror (or a committed node_modules) and runs under Bun.
    "node-express": { kind: "bun", install: ["bun", "install"], build: null, start: ["bun", "run", "start"], port: 3000 },
    "python-script": { reason: /^cannot deploy: this looks like a Python project \(requirements\.txt\)\. Wove deploys static sites, Bun\/Node apps and projects with a Dockerfile/ },
  };

  test("every template has an expectation here", () => {
    expect(EMBEDDED_TEMPLATES.map((t) => t.id).sort()).toEqual(Object.keys(expected).sort());
  });

  for (const t of EMBEDDED_TEMPLATES) {
    test(`${t.id}`, async () => {
      const want = expected[t.id];
      if (!want) throw new Error(`no expectation for template ${t.id}`);
      const got = await detectDeploy(tree(t.files));
      if ("reason" in want) {
        expect(got.ok ? "a plan" : got.reason).toMatch(want.reason);
        return;
      }
      if (!got.ok) throw new Error(`${t.id}: ${got.reason}`);
      expect(got.plan).toMatchObject(want);
    });
  }
});
