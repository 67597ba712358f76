/**
 * Git over HTTP end to end: a real server on a random port, real `git clone` / `git push`
 * processes with API tokens, a real libSQL file in a temp data dir.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { loadConfig } from "../config.ts";
import { openApp, type App } from "../core/app.ts";
import { events, type Project, type User } from "../db/schema.ts";
import { createToken } from "../auth/tokens.ts";
import { createUser } from "../auth/users.ts";
import { setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { projectApiRoutes } from "./api-routes.ts";
import { onFilesChanged, writeProjectFile, type FilesChanged } from "./files.ts";
import { fsckClean, parseCommands, pktLine, refuseReason } from "./git-http.ts";
import { gitHttpRoutes } from "./git-http-routes.ts";
import { gitText, MAIN_REF } from "./git.ts";
import { cloneUrl, createProject, projectJson } from "./projects.ts";
import { editorOf, listVersions, projectRepo, saveVersion } from "./versions.ts";
import { versionApiRoutes } from "./versions-routes.ts";

let dir: string;
let work: string;
let app: App;
let server: { stop(): unknown };
let base: string;
let alice: User;
let bob: User;
let aliceToken: string;
let aliceReadToken: string;
let bobToken: string;
let secret: Project;
let open: Project;

const enc = (s: string) => new TextEncoder().encode(s);

/** Runs the git client as a user would: clean config, no prompts. */
async function git(args: string[], cwd = work): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn({
    cmd: ["git", "-c", "user.name=Laptop User", "-c", "user.email=laptop@example.com", "-c", "init.defaultBranch=main", ...args],
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}

function url(project: Project, owner: string, token?: string): string {
  const u = new URL(cloneUrl(base, owner, project.slug));
  if (token) {
    u.username = "x";
    u.password = token;
  }
  return u.toString();
}

let clones = 0;
async function clone(project: Project, token?: string, owner = "alice"): Promise<{ code: number; out: string; err: string; dir: string }> {
  const target = join(work, `clone-${++clones}`);
  const r = await git(["clone", "--quiet", url(project, owner, token), target]);
  return { ...r, dir: target };
}

async function pull(repo: string): Promise<void> {
  expect((await git(["pull", "--quiet", "--no-rebase", "--no-edit"], repo)).code).toBe(0);
}

async function commitFile(repo: string, path: string, text: string, message: string): Promise<void> {
  writeFileSync(join(repo, path), text);
  expect((await git(["add", "--", path], repo)).code).toBe(0);
  expect((await git(["commit", "--quiet", "-m", message], repo)).code).toBe(0);
}

beforeAll(async () => {
  setLogSink(() => {});
  dir = mkdtempSync(join(tmpdir(), "wove-git-http-"));
  work = mkdtempSync(join(tmpdir(), "wove-git-client-"));
  app = await openApp(loadConfig({ data: dir }, {}));
  const orm = app.db.orm;
  alice = await createUser(orm, { email: "alice@example.com", role: "member", username: "alice", name: "Alice" }, null);
  bob = await createUser(orm, { email: "bob@example.com", role: "member", username: "bob", name: "Bob" }, null);
  aliceToken = (await createToken(orm, alice, { name: "laptop", scopes: ["read", "write"], expiresAt: null }, null)).token;
  aliceReadToken = (await createToken(orm, alice, { name: "ci", scopes: ["read"], expiresAt: null }, null)).token;
  bobToken = (await createToken(orm, bob, { name: "laptop", scopes: ["read", "write"], expiresAt: null }, null)).token;
  secret = await createProject(orm, dir, alice, { name: "Secret", visibility: "private" });
  open = await createProject(orm, dir, alice, { name: "Open", visibility: "public" });
  for (const p of [secret, open]) {
    await writeProjectFile(orm, dir, p, "index.html", enc(`<h1>${p.name}</h1>\n`), 1 << 20, alice.id);
    await saveVersion(orm, dir, p, { message: "First", author: editorOf(alice) });
  }
  const s = createServer(app, { routes: [...projectApiRoutes, ...versionApiRoutes, ...gitHttpRoutes] }).listen({ port: 0, hostname: "127.0.0.1" });
  server = s;
  base = `http://127.0.0.1:${s.server?.port}`;
  app.config.baseUrl = base;
});

afterAll(async () => {
  await server.stop();
  app.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  setLogSink((text) => process.stdout.write(text));
});

describe("who may clone", () => {
  test("the guard takes an API token sent as the HTTP Basic password (git's way) on git routes", async () => {
    const res = await fetch(`${base}/git/alice/${secret.slug}.git/info/refs?service=git-upload-pack`, {
      headers: { Authorization: `Basic ${btoa(`x:${aliceToken}`)}` },
    });
    await res.arrayBuffer();
    if (res.status !== 200) {
      throw new Error(`got ${res.status}: the guard does not resolve HTTP Basic tokens for routes with basicAuth (RouteDef.basicAuth/scope in src/server/guard.ts)`);
    }
  });


  test("anonymous clone of a public project works", async () => {
    const r = await clone(open);
    expect(r.code).toBe(0);
    expect(readFileSync(join(r.dir, "index.html"), "utf8")).toBe("<h1>Open</h1>\n");
    expect((await git(["log", "--format=%an <%ae> %s"], r.dir)).out.trim()).toBe("Alice <alice@example.com> First");
  });

  test("the owner clones a private project with a token as the password, over protocol v2 and v0", async () => {
    const r = await clone(secret, aliceToken);
    expect(r.err).toBe("");
    expect(readFileSync(join(r.dir, "index.html"), "utf8")).toBe("<h1>Secret</h1>\n");
    const v0 = await git(["-c", "protocol.version=0", "clone", "--quiet", url(secret, "alice", aliceToken), join(work, "v0")]);
    expect(v0.code).toBe(0);
    // A read-only token is enough to clone.
    expect((await clone(secret, aliceReadToken)).code).toBe(0);
  });

  test("a wrong token is 401 with a Basic challenge", async () => {
    const r = await clone(secret, "wove_not-a-real-token");
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("Authentication failed");
    const res = await fetch(`${base}/git/alice/${secret.slug}.git/info/refs?service=git-upload-pack`, {
      headers: { Authorization: `Basic ${btoa("x:wove_wrong")}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Basic realm="Wove"');
  });

  test("anonymous access to a private or missing project is 401 alike, so git asks for credentials", async () => {
    for (const path of [`alice/${secret.slug}.git`, "alice/nope.git", "nobody/nope.git"]) {
      const res = await fetch(`${base}/git/${path}/info/refs?service=git-upload-pack`);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Basic realm="Wove"');
    }
    const r = await clone(secret);
    expect(r.code).not.toBe(0);
  });

  test("another user's private project is 404, like a project that does not exist", async () => {
    const auth = { Authorization: `Basic ${btoa(`bob:${bobToken}`)}` };
    const hidden = await fetch(`${base}/git/alice/${secret.slug}.git/info/refs?service=git-upload-pack`, { headers: auth });
    const missing = await fetch(`${base}/git/alice/does-not-exist.git/info/refs?service=git-upload-pack`, { headers: auth });
    expect([hidden.status, missing.status]).toEqual([404, 404]);
    expect(await hidden.text()).toBe(await missing.text());
    const r = await clone(secret, bobToken);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/not found|404/);
  });

  test("only the smart protocol is spoken", async () => {
    const res = await fetch(`${base}/git/alice/${open.slug}.git/info/refs`);
    expect(res.status).toBe(400);
  });
});

describe("push", () => {
  test("a push updates the working tree, the files API sees it, and it is recorded", async () => {
    const r = await clone(secret, aliceToken);
    await commitFile(r.dir, "about.md", "# About\n", "Add about page");
    const heard: FilesChanged[] = [];
    const unsubscribe = onFilesChanged((e) => heard.push(e));
    const push = await git(["push", "--quiet", "origin", "main"], r.dir);
    unsubscribe();
    expect(push.code).toBe(0);
    expect(heard).toEqual([{ dataDir: dir, projectId: secret.id, actorId: alice.id, source: "push" }]);
    const local = (await git(["rev-parse", "HEAD"], r.dir)).out.trim();
    const paths = projectRepo(dir, secret.id);
    expect(await gitText(paths, ["rev-parse", MAIN_REF])).toBe(local);
    const file = await fetch(`${base}/api/v1/projects/${secret.id}/files/about.md`, { headers: { Authorization: `Bearer ${aliceToken}` } });
    expect(await file.text()).toBe("# About\n");
    const versions = (await listVersions(dir, secret.id)).versions;
    expect(versions[0]).toMatchObject({ id: local, message: "Add about page", author: { name: "Laptop User", email: "laptop@example.com" } });
    const pushed = await app.db.orm.select().from(events).where(and(eq(events.projectId, secret.id), eq(events.kind, "project.pushed")));
    expect(pushed.length).toBe(1);
    expect(JSON.parse(pushed[0]!.data)).toMatchObject({ ref: MAIN_REF, after: local, commits: 1 });
    expect(pushed[0]!.actorId).toBe(alice.id);
    expect(await fsckClean(paths)).toBe(true);
  });

  test("a non-fast-forward push is refused with a clear message and the repository stays consistent", async () => {
    const r = await clone(secret, aliceToken);
    const paths = projectRepo(dir, secret.id);
    const before = await gitText(paths, ["rev-parse", MAIN_REF]);
    expect((await git(["reset", "--quiet", "--hard", "HEAD~1"], r.dir)).code).toBe(0);
    await commitFile(r.dir, "other.txt", "diverged\n", "Diverge");
    const push = await git(["push", "--force", "origin", "main"], r.dir);
    expect(push.code).not.toBe(0);
    expect(push.err).toContain("non-fast-forward");
    expect(await gitText(paths, ["rev-parse", MAIN_REF])).toBe(before);
    expect(await fsckClean(paths)).toBe(true);
    const file = await fetch(`${base}/api/v1/projects/${secret.id}/files/other.txt`, { headers: { Authorization: `Bearer ${aliceToken}` } });
    expect(file.status).toBe(404);
  });

  test("other branches, tags and deleting main are refused with a reason", async () => {
    const r = await clone(secret, aliceToken);
    await commitFile(r.dir, "feature.txt", "f\n", "Feature");
    const branch = await git(["push", "origin", "HEAD:refs/heads/feature"], r.dir);
    expect(branch.code).not.toBe(0);
    expect(branch.err).toContain("only the main branch can be pushed to Wove");
    expect((await git(["tag", "v1"], r.dir)).code).toBe(0);
    const tag = await git(["push", "origin", "v1"], r.dir);
    expect(tag.err).toContain("only the main branch can be pushed to Wove");
    const del = await git(["push", "origin", ":main"], r.dir);
    expect(del.code).not.toBe(0);
    expect(del.err).toContain("deleting main is not allowed");
    const paths = projectRepo(dir, secret.id);
    expect(await gitText(paths, ["for-each-ref", "--format=%(refname)"])).toBe(MAIN_REF);
    expect(await fsckClean(paths)).toBe(true);
  });

  test("unsaved browser edits are saved before a push, so the push asks to pull first and nothing is lost", async () => {
    const r = await clone(secret, aliceToken);
    await writeProjectFile(app.db.orm, dir, secret, "index.html", enc("<h1>edited in the browser</h1>\n"), 1 << 20, bob.id);
    await commitFile(r.dir, "laptop.txt", "from the laptop\n", "Laptop work");
    const refused = await git(["push", "origin", "main"], r.dir);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/fetch first|non-fast-forward/);
    const head = (await listVersions(dir, secret.id)).versions[0]!;
    expect(head.message).toBe("Autosave before push");
    expect(head.author.email).toBe("bob@example.com");
    expect((await git(["pull", "--quiet", "--no-rebase", "--no-edit"], r.dir)).code).toBe(0);
    expect((await git(["push", "--quiet", "origin", "main"], r.dir)).code).toBe(0);
    const get = (p: string) => fetch(`${base}/api/v1/projects/${secret.id}/files/${p}`, { headers: { Authorization: `Bearer ${aliceToken}` } }).then((x) => x.text());
    expect(await get("index.html")).toBe("<h1>edited in the browser</h1>\n");
    expect(await get("laptop.txt")).toBe("from the laptop\n");
    expect(await fsckClean(projectRepo(dir, secret.id))).toBe(true);
  });

  test("readers, read-only tokens and anonymous users cannot push", async () => {
    const r = await clone(open);
    await commitFile(r.dir, "x.txt", "x\n", "X");
    const anon = await git(["push", url(open, "alice"), "main"], r.dir);
    expect(anon.code).not.toBe(0);
    const asBob = await git(["push", url(open, "alice", bobToken), "main"], r.dir);
    expect(asBob.code).not.toBe(0);
    expect(asBob.err).toContain("403");
    const readOnly = await git(["push", url(open, "alice", aliceReadToken), "main"], r.dir);
    expect(readOnly.code).not.toBe(0);
    expect(readOnly.err).toContain("403");
    expect((await git(["push", "--quiet", url(open, "alice", aliceToken), "main"], r.dir)).code).toBe(0);
  });

  test("a push bigger than git's post buffer (sent chunked) goes through", async () => {
    const r = await clone(secret, aliceToken);
    const big = randomBytes(3 * 1024 * 1024);
    writeFileSync(join(r.dir, "big.bin"), big);
    expect((await git(["add", "big.bin"], r.dir)).code).toBe(0);
    expect((await git(["commit", "--quiet", "-m", "Big file"], r.dir)).code).toBe(0);
    const push = await git(["push", "--quiet", "origin", "main"], r.dir);
    expect(push.err).toBe("");
    const res = await fetch(`${base}/api/v1/projects/${secret.id}/files/big.bin`, { headers: { Authorization: `Bearer ${aliceToken}` } });
    expect(Buffer.from(await res.arrayBuffer()).equals(big)).toBe(true);
  });

  test("pushing into an empty project works (create on Wove, push existing code)", async () => {
    const fresh = await createProject(app.db.orm, dir, alice, { name: "Fresh" });
    const local = join(work, "existing");
    expect((await git(["init", "--quiet", local])).code).toBe(0);
    await commitFile(local, "main.py", "print('hi')\n", "Existing code");
    expect((await git(["push", "--quiet", url(fresh, "alice", aliceToken), "main"], local)).code).toBe(0);
    const res = await fetch(`${base}/api/v1/projects/${fresh.id}/files/main.py`, { headers: { Authorization: `Bearer ${aliceToken}` } });
    expect(await res.text()).toBe("print('hi')\n");
  });
});

describe("receive-pack requests", () => {
  test("a gzip-compressed push request is inflated before its commands are judged", async () => {
    const head = await gitText(projectRepo(dir, secret.id), ["rev-parse", MAIN_REF]);
    const body = Buffer.concat([pktLine(`${head} ${"1".repeat(40)} refs/heads/other\0report-status\n`), Buffer.from("0000")]);
    const res = await fetch(`${base}/git/alice/${secret.slug}.git/git-receive-pack`, {
      method: "POST",
      headers: {
        Authorization: `Basic ${btoa(`x:${aliceToken}`)}`,
        "Content-Type": "application/x-git-receive-pack-request",
        "Content-Encoding": "gzip",
      },
      body: Bun.gzipSync(body),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-git-receive-pack-result");
    expect(new TextDecoder().decode(await res.arrayBuffer())).toBe(
      "000eunpack ok\n0043ng refs/heads/other only the main branch can be pushed to Wove\n0000",
    );
  });
});

describe("protocol helpers", () => {
  test("parseCommands reads the ref updates before the pack", () => {
    const a = "a".repeat(40);
    const b = "b".repeat(40);
    const head = Buffer.concat([
      pktLine(`shallow ${a}\n`),
      pktLine(`${a} ${b} refs/heads/main\0report-status side-band-64k agent=git/2.39\n`),
      pktLine(`${"0".repeat(40)} ${b} refs/tags/v1\n`),
      Buffer.from("0000PACK..."),
    ]);
    expect(parseCommands(head)).toEqual({
      commands: [
        { oldSha: a, newSha: b, ref: "refs/heads/main" },
        { oldSha: "0".repeat(40), newSha: b, ref: "refs/tags/v1" },
      ],
      capabilities: ["report-status", "side-band-64k", "agent=git/2.39"],
    });
    expect(parseCommands(Buffer.from("00"))).toBeNull();
    expect(parseCommands(Buffer.from("zzzz"))).toBeNull();
  });

  test("refuseReason", () => {
    const a = "a".repeat(40);
    const b = "b".repeat(40);
    const zero = "0".repeat(40);
    expect(refuseReason({ oldSha: a, newSha: b, ref: MAIN_REF }, a)).toBeNull();
    expect(refuseReason({ oldSha: zero, newSha: b, ref: MAIN_REF }, null)).toBeNull();
    expect(refuseReason({ oldSha: b, newSha: a, ref: MAIN_REF }, a)).toContain("fetch first");
    expect(refuseReason({ oldSha: a, newSha: zero, ref: MAIN_REF }, a)).toContain("deleting");
    expect(refuseReason({ oldSha: a, newSha: b, ref: "refs/heads/dev" }, a)).toContain("only the main branch");
  });

  test("the project JSON carries cloneUrl when given the base URL", () => {
    expect(projectJson(secret, "alice", "https://wove.example.org/").cloneUrl).toBe(`https://wove.example.org/git/alice/${secret.slug}.git`);
    expect(projectJson(secret, "alice").cloneUrl).toBeUndefined();
  });
});
