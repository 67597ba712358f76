import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Orm } from "../db/client.ts";
import { events, type Project, type User } from "../db/schema.ts";
import { ApiError } from "../lib/errors.ts";
import { deleteProjectFile, filesDir, listTree, moveProjectFile, onFilesChanged, readFile, writeProjectFile, type FilesChanged } from "./files.ts";
import { EMPTY_TREE, gitText, isDirty, runGit } from "./git.ts";
import { parseLog } from "./git-log.ts";
import { createProject } from "./projects.ts";
import {
  archiveVersion,
  cleanMessage,
  diffVersion,
  editorOf,
  getVersion,
  listVersions,
  projectRepo,
  readFileAt,
  restoreVersion,
  saveVersion,
  treeAt,
} from "./versions.ts";
import { aliceAndBob, apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";

let dir: string;
let app: App;
let orm: Orm;
let alice: User;
let bob: User;
let n = 0;

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-versions-"));
  orm = app.db.orm;
  ({ alice, bob } = await aliceAndBob(orm, "Alice Liddell"));
});
afterAll(() => closeTempApp(app, dir));

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function project(): Promise<Project> {
  n++;
  return createProject(orm, dir, alice, { name: `Versions ${n}` });
}

async function put(p: Project, path: string, text: string, who: User = alice) {
  await writeProjectFile(orm, dir, p, path, enc(text), 1 << 20, who.id);
}

const err = apiErrorOf;

async function fsckClean(p: Project): Promise<void> {
  const r = await runGit(projectRepo(dir, p.id), ["fsck", "--strict", "--no-progress"], { okCodes: [1, 2, 3, 4, 5, 6, 7, 8] });
  expect(r.code).toBe(0);
}

describe("repository", () => {
  test("a new project is a bare repository on main with its own index outside files/", async () => {
    const p = await project();
    const paths = projectRepo(dir, p.id);
    expect(existsSync(join(paths.gitDir, "HEAD"))).toBe(true);
    expect(readFileSync(join(paths.gitDir, "HEAD"), "utf8").trim()).toBe("ref: refs/heads/main");
    expect(paths.indexFile.startsWith(filesDir(dir, p.id))).toBe(false);
    expect(await gitText(paths, ["config", "receive.denyNonFastForwards"])).toBe("true");
    expect(await gitText(paths, ["config", "core.hooksPath"])).toBe("/dev/null");
    expect((await listVersions(dir, p.id)).versions).toEqual([]);
  });

  test("a project made before versions existed gets its repository on first use", async () => {
    const p = await project();
    const paths = projectRepo(dir, p.id);
    rmSync(paths.gitDir, { recursive: true });
    writeFileSync(join(filesDir(dir, p.id), "old.txt"), "from before\n");
    expect((await listVersions(dir, p.id)).versions).toEqual([]);
    expect(await isDirty(paths)).toBe(true);
    const v = await saveVersion(orm, dir, p, { message: "first", author: editorOf(alice) });
    expect(v.files).toEqual([{ path: "old.txt", status: "added" }]);
  });
});

describe("save, list, diff, read, restore", () => {
  test("the whole cycle", async () => {
    const p = await project();
    const nothing = await err(saveVersion(orm, dir, p, { message: "x", author: editorOf(alice) }));
    expect([nothing.status, nothing.code]).toEqual([409, "no_changes"]);

    await put(p, "index.html", "<h1>one</h1>\n");
    await put(p, "src/app.js", "console.log(1)\n");
    const v1 = await saveVersion(orm, dir, p, { message: "  First version\r\n\r\nwith body ", author: editorOf(alice) });
    expect(v1.id).toMatch(/^[0-9a-f]{40}$/);
    expect(v1.message).toBe("First version\n\nwith body");
    expect(v1.author).toEqual({ name: "Alice Liddell", email: "alice@example.com" });
    expect(v1.filesChanged).toBe(2);
    expect(v1.parents).toEqual([]);

    const again = await err(saveVersion(orm, dir, p, { message: "same", author: editorOf(alice) }));
    expect(again.status).toBe(409);
    expect(again.message).toBe("Nothing changed since the last version.");

    await put(p, "index.html", "<h1>two</h1>\n", bob);
    await deleteProjectFile(orm, dir, p, "src/app.js", bob.id);
    await put(p, "notes/readme.md", "# notes\n", bob);
    const v2 = await saveVersion(orm, dir, p, { message: "Second", author: editorOf(bob) });
    expect(v2.parents).toEqual([v1.id]);
    expect(v2.files).toEqual([
      { path: "index.html", status: "modified" },
      { path: "notes/readme.md", status: "added" },
      { path: "src/app.js", status: "deleted" },
    ]);

    const page = await listVersions(dir, p.id);
    expect(page.versions.map((v) => v.id)).toEqual([v2.id, v1.id]);
    expect(page.versions[0]?.author.name).toBe("Bob");
    expect(page.nextCursor).toBeNull();
    expect((await getVersion(dir, p.id, v1.id.slice(0, 8))).id).toBe(v1.id);

    const d = await diffVersion(dir, p, v2.id);
    expect(d.text).toContain("diff --git a/index.html b/index.html");
    expect(d.text).toContain("-<h1>one</h1>\n+<h1>two</h1>");
    expect(d.text).toContain("deleted file mode");
    const root = await diffVersion(dir, p, v1.id);
    expect(root.text).toContain("new file mode");
    expect(root.text).toContain("+console.log(1)");
    const against = await diffVersion(dir, p, v1.id, { kind: "version", rev: v2.id });
    expect(against.text).toContain("-<h1>two</h1>\n+<h1>one</h1>");

    await put(p, "index.html", "<h1>three</h1>\n");
    const wt = await diffVersion(dir, p, v2.id, { kind: "worktree" });
    expect(wt.text).toContain("-<h1>two</h1>\n+<h1>three</h1>");

    expect(dec(await readFileAt(dir, p, v1.id, "src/app.js"))).toBe("console.log(1)\n");
    expect((await err(readFileAt(dir, p, v2.id, "src/app.js"))).status).toBe(404);
    expect((await err(readFileAt(dir, p, v2.id, "notes"))).status).toBe(404);
    expect((await err(readFileAt(dir, p, v2.id, "../etc/passwd"))).status).toBe(400);

    expect(await treeAt(dir, p, v2.id)).toEqual([
      { name: "notes", path: "notes", type: "dir", children: [{ name: "readme.md", path: "notes/readme.md", type: "file", size: 8 }] },
      { name: "index.html", path: "index.html", type: "file", size: 13 },
    ]);

    // Restore v1: the unsaved "three" is autosaved first, then a new version with v1's files.
    const heard: FilesChanged[] = [];
    const unsubscribe = onFilesChanged((e) => heard.push(e));
    const r = await restoreVersion(orm, dir, p, v1.id, editorOf(bob));
    unsubscribe();
    expect(heard).toEqual([{ dataDir: dir, projectId: p.id, actorId: bob.id, source: "restore" }]);
    expect(r.message).toBe(`Restore version ${v1.id.slice(0, 12)}: First version`);
    expect(r.author.name).toBe("Bob");
    const after = (await listVersions(dir, p.id)).versions;
    expect(after.map((v) => v.message.split("\n")[0])).toEqual([r.message, `Autosave before restoring ${v1.id.slice(0, 12)}`, "Second", "First version"]);
    expect(after[1]?.author.email).toBe("alice@example.com"); // the last editor, not the restorer
    expect(await gitText(projectRepo(dir, p.id), ["rev-parse", `${r.id}^{tree}`])).toBe(await gitText(projectRepo(dir, p.id), ["rev-parse", `${v1.id}^{tree}`]));
    expect(dec((await readFile(dir, p.id, "index.html")).bytes)).toBe("<h1>one</h1>\n");
    expect(dec((await readFile(dir, p.id, "src/app.js")).bytes)).toBe("console.log(1)\n");
    expect((await err(readFile(dir, p.id, "notes/readme.md"))).status).toBe(404);
    expect(await isDirty(projectRepo(dir, p.id))).toBe(false);
    const same = await err(restoreVersion(orm, dir, p, v1.id, editorOf(bob)));
    expect([same.status, same.code]).toEqual([409, "no_changes"]);

    const kinds = (await orm.select().from(events).where(eq(events.projectId, p.id)).orderBy(events.id)).map((e) => e.kind);
    expect(kinds.filter((k) => k.startsWith("project.version"))).toEqual([
      "project.version_saved",
      "project.version_saved",
      "project.version_saved",
      "project.version_restored",
    ]);
    await fsckClean(p);
  });

  test("bad and unknown version ids", async () => {
    const p = await project();
    await put(p, "a.txt", "a");
    await saveVersion(orm, dir, p, { author: editorOf(alice) });
    for (const bad of ["main", "HEAD~1", "abc", "--all", "../x", "g".repeat(40)]) {
      expect((await err(diffVersion(dir, p, bad))).status).toBe(400);
    }
    expect((await err(diffVersion(dir, p, "0".repeat(40)))).status).toBe(404);
    expect((await err(restoreVersion(orm, dir, p, "1234567", editorOf(alice)))).status).toBe(404);
    // An object that exists but is not in the history is not a version.
    const stray = await gitText(projectRepo(dir, p.id), ["hash-object", "-w", "--stdin"], { input: "stray" });
    expect((await err(readFileAt(dir, p, stray, "a.txt"))).status).toBe(404);
    const tree = await gitText(projectRepo(dir, p.id), ["rev-parse", "main^{tree}"]);
    expect((await err(treeAt(dir, p, tree))).status).toBe(404);
    expect((await err(listVersions(dir, p.id, { cursor: "nope" }))).status).toBe(400);
  });

  test("a save with no message gets a default; control characters are dropped", async () => {
    expect(cleanMessage(undefined, "Save version")).toBe("Save version");
    expect(cleanMessage("  \n ", "Save version")).toBe("Save version");
    expect(cleanMessage("a\u0000b\u001bc\td", "x")).toBe("abc\td");
    expect(() => cleanMessage("x".repeat(5001), "x")).toThrow(ApiError);
  });

  test("moves and deletes of folders are versioned; .gitignore is honoured", async () => {
    const p = await project();
    await put(p, ".gitignore", "node_modules/\n");
    await put(p, "node_modules/dep/index.js", "ignored");
    await put(p, "lib/a.js", "a");
    await saveVersion(orm, dir, p, { author: editorOf(alice) });
    await moveProjectFile(orm, dir, p, "lib", "src", alice.id);
    const v = await saveVersion(orm, dir, p, { message: "move", author: editorOf(alice) });
    expect(v.files).toEqual([
      { path: "lib/a.js", status: "deleted" },
      { path: "src/a.js", status: "added" },
    ]);
    const names = (await treeAt(dir, p, v.id)).map((t) => t.name);
    expect(names).toEqual(["src", ".gitignore"]);
    // Restoring keeps ignored files in place.
    const first = (await listVersions(dir, p.id)).versions[1]!;
    await restoreVersion(orm, dir, p, first.id, editorOf(alice));
    expect((await listTree(dir, p.id)).map((t) => t.name)).toEqual(["lib", "node_modules", ".gitignore"]);
  });
});

describe("concurrency and pagination", () => {
  test("parallel saves are serialised: N saves of N different edits make N versions", async () => {
    const p = await project();
    const N = 8;
    const results = await Promise.allSettled(
      Array.from({ length: N }, async (_, i) => {
        await put(p, `f${i}.txt`, `file ${i}`);
        return saveVersion(orm, dir, p, { message: `save ${i}`, author: editorOf(alice) });
      }),
    );
    const saved = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as ApiError] : []));
    // Each save commits everything written so far, so a later save may find nothing left: never an error but no_changes.
    for (const e of refused) expect(e.code).toBe("no_changes");
    const list = (await listVersions(dir, p.id, { limit: 100 })).versions;
    expect(list.length).toBe(saved.length);
    expect(new Set(list.map((v) => v.id)).size).toBe(saved.length);
    // A straight line: each version's parent is the next one down.
    for (let i = 0; i < list.length - 1; i++) expect(list[i]?.parents).toEqual([list[i + 1]!.id]);
    const tree = await treeAt(dir, p, list[0]!.id);
    expect(tree.length).toBe(N);
    await fsckClean(p);
  });

  test("N parallel saves, each after its own write completes, never lose a version", async () => {
    const p = await project();
    const N = 6;
    const saved: string[] = [];
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        await put(p, `g${i}.txt`, `g ${i}`);
        try {
          saved.push((await saveVersion(orm, dir, p, { message: `g ${i}`, author: editorOf(alice) })).id);
        } catch (e) {
          if ((e as ApiError).code !== "no_changes") throw e;
        }
      }),
    );
    const list = (await listVersions(dir, p.id)).versions.map((v) => v.id);
    expect(list.sort()).toEqual(saved.sort());
    expect((await treeAt(dir, p, (await listVersions(dir, p.id)).versions[0]!.id)).length).toBe(N);
  });

  test("pages are stable while new versions are saved", async () => {
    const p = await project();
    for (let i = 0; i < 7; i++) {
      await put(p, "n.txt", String(i));
      await saveVersion(orm, dir, p, { message: `v${i}`, author: editorOf(alice) });
    }
    const first = await listVersions(dir, p.id, { limit: 3 });
    expect(first.versions.map((v) => v.message)).toEqual(["v6", "v5", "v4"]);
    await put(p, "n.txt", "new");
    await saveVersion(orm, dir, p, { message: "newer", author: editorOf(alice) });
    const second = await listVersions(dir, p.id, { limit: 3, cursor: first.nextCursor! });
    expect(second.versions.map((v) => v.message)).toEqual(["v3", "v2", "v1"]);
    const third = await listVersions(dir, p.id, { limit: 3, cursor: second.nextCursor! });
    expect(third.versions.map((v) => v.message)).toEqual(["v0"]);
    expect(third.nextCursor).toBeNull();
  });
});

describe("archive", () => {
  test("a version and the current files as zips", async () => {
    const p = await project();
    await put(p, "a.txt", "version one\n");
    const v1 = await saveVersion(orm, dir, p, { author: editorOf(alice) });
    await put(p, "b/c.txt", "unsaved\n");
    const zips = join(dir, "zips");
    rmSync(zips, { recursive: true, force: true });
    const list = async (rev: string | undefined) => {
      const a = await archiveVersion(dir, p, rev);
      const file = join(dir, a.filename);
      writeFileSync(file, new Uint8Array(await new Response(a.stream).arrayBuffer()));
      const out = Bun.spawnSync({ cmd: ["unzip", "-Z1", file] });
      return { name: a.filename, entries: out.stdout.toString().trim().split("\n").sort() };
    };
    expect(await list(v1.id)).toEqual({ name: `${p.slug}-${v1.id.slice(0, 12)}.zip`, entries: [`${p.slug}-${v1.id.slice(0, 12)}/`, `${p.slug}-${v1.id.slice(0, 12)}/a.txt`] });
    expect(await list(undefined)).toEqual({ name: `${p.slug}.zip`, entries: [`${p.slug}/`, `${p.slug}/a.txt`, `${p.slug}/b/`, `${p.slug}/b/c.txt`] });
  });
});

describe("parseLog", () => {
  test("reads empty commits, merges and odd paths", () => {
    const rec = (sha: string, parents: string, msg: string, files: string) => `\x1e${sha}\0${parents}\0N\0n@x\0${1700000000}\0${msg}\0\n${files}`;
    const out = enc(rec("a".repeat(40), "", "empty\n", "") + rec("b".repeat(40), `${"c".repeat(40)} ${"d".repeat(40)}`, "merge", "M\0we\x1eird\0"));
    const [a, b] = parseLog(out);
    expect(a?.filesChanged).toBe(0);
    expect(a?.message).toBe("empty");
    expect(b?.parents.length).toBe(2);
    expect(b?.files).toEqual([{ path: "we\x1eird", status: "modified" }]);
    expect(EMPTY_TREE).toHaveLength(40);
  });
});
