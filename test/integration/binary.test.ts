/**
 * The single executable: `bun scripts/build.ts` (what `bun run build` runs) gives
 * one file that, copied alone into an empty directory and run with no Bun, no
 * node_modules and no sources around, serves /healthz, renders the login page,
 * runs its admin commands, answers the API, serves the IDE island and lets stock
 * y-websocket clients edit a file together.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "../helpers/quiet.ts";
import { ROOT } from "../helpers/server.ts";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

let buildDir: string;
let runDir: string;
let binary: string;

/** Only the system's own directories: no Bun, no node_modules/.bin. */
const BARE_ENV = { PATH: "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: tmpdir(), NO_COLOR: "1" };

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([binary, ...args], { cwd: runDir, env: BARE_ENV, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  buildDir = mkdtempSync(join(tmpdir(), "wove-build-"));
  runDir = mkdtempSync(join(tmpdir(), "wove-alone-"));
  const built = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts"), "--outfile", join(buildDir, "wove")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(built.stdout).text(), new Response(built.stderr).text(), built.exited]);
  if (code !== 0) throw new Error(`build failed (${code}):\n${out}\n${err}`);
  binary = join(runDir, "wove");
  copyFileSync(join(buildDir, "wove"), binary);
  rmSync(buildDir, { recursive: true, force: true });
}, 120_000);

afterAll(() => {
  if (runDir) rmSync(runDir, { recursive: true, force: true });
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
}, 120_000);

test("the executable, alone in an empty directory, serves, renders the login page and answers the API", async () => {
  expect(readdirSync(runDir)).toEqual(["wove"]);
  const version = await run(["--version"]);
  expect(version.code).toBe(0);
  expect(version.stdout.trim()).toMatch(/\d+\.\d+\.\d+/);

  const dataDir = join(runDir, "data");
  const created = await run(["admin", "create-user", "--data", dataDir, "--email", "solo@example.com", "--password", "correct horse battery", "--role", "admin"]);
  expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: "" });

  const server = spawn(binary, ["serve", "--port", "0", "--data", dataDir], { cwd: runDir, env: BARE_ENV, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  server.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  server.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
  const exited = new Promise((r) => server.once("exit", r));
  try {
    const deadline = Date.now() + 15_000;
    while (!/Wove is running at (\S+)/.test(out) && Date.now() < deadline && server.exitCode === null) await Bun.sleep(20);
    const url = /Wove is running at (\S+)/.exec(out)?.[1];
    expect({ url: url !== undefined, out, err }).toEqual({ url: true, out, err });
    const base = url as string;
    // sqlite-vec was loaded from the embedded file.
    expect(out).toMatch(/"sqliteVec":"v\d/);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });

    const login = await fetch(`${base}/login`);
    expect(login.status).toBe(200);
    const html = await login.text();
    expect(html).toContain('action="/login"');
    expect(html).toContain('name="password"');
    const css = html.match(/href="(\/assets\/[^"]+\.css)"/)?.[1];
    expect(css).toBeDefined();
    expect((await fetch(base + css)).status).toBe(200);

    const tokenRun = await run(["admin", "token", "--data", dataDir, "--email", "solo@example.com"]);
    expect(tokenRun.code).toBe(0);
    const token = tokenRun.stdout.trim().split("\n").pop() as string;
    const auth = { Authorization: `Bearer ${token}` };
    const project = await fetch(`${base}/api/v1/projects`, { method: "POST", headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify({ name: "Solo" }) });
    expect(project.status).toBe(201);
    const { id } = (await project.json()) as { id: string };
    expect((await fetch(`${base}/api/v1/projects/${id}/files/hello.txt`, { method: "PUT", headers: auth, body: "hi from the binary" })).status).toBe(201);
    expect(await (await fetch(`${base}/api/v1/projects/${id}/files/hello.txt`, { headers: auth })).text()).toBe("hi from the binary");

    // Collaborative editing: two stock y-websocket clients against the binary; the text reaches the file API.
    const ws = base.replace(/^http/, "ws") + "/collab";
    const docs = [new Y.Doc(), new Y.Doc()];
    const providers = docs.map((d) => new WebsocketProvider(ws, `${id}/hello.txt`, d, { params: { token }, disableBc: true }));
    try {
      const deadline2 = Date.now() + 5000;
      while (!providers.every((p) => p.synced) && Date.now() < deadline2) await Bun.sleep(20);
      expect(docs[1]?.getText("content").toString()).toBe("hi from the binary");
      docs[0]?.getText("content").insert(0, "edited: ");
      const until = Date.now() + 3000;
      let onDisk = "";
      while (Date.now() < until) {
        onDisk = await (await fetch(`${base}/api/v1/projects/${id}/files/hello.txt`, { headers: auth })).text();
        if (onDisk === "edited: hi from the binary" && docs[1]?.getText("content").toString() === onDisk) break;
        await Bun.sleep(50);
      }
      expect(onDisk).toBe("edited: hi from the binary");
      expect(docs[1]?.getText("content").toString()).toBe(onDisk);
    } finally {
      for (const p of providers) p.destroy();
    }
    // The IDE island and Monaco's workers are embedded too.
    for (const asset of ["islands/ide/ide.js", "islands/ide/ide.css", "islands/ide/editor.worker.js", "islands/ide/ts.worker.js"]) {
      expect({ asset, status: (await fetch(`${base}/assets/${asset}`)).status }).toEqual({ asset, status: 200 });
    }
  } finally {
    server.kill("SIGTERM");
    await exited;
  }
}, 60_000);
