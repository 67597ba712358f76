import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Orm } from "../db/client.ts";
import { events, projects, type Project, type User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { ApiError } from "../lib/errors.ts";
import {
  _testHooks,
  deleteFile,
  deleteProjectFile,
  detectLanguage,
  filesDir,
  isProbablyText,
  listTree,
  moveFile,
  moveProjectFile,
  projectDir,
  readFile,
  validatePath,
  writeFile,
  writeProjectFile,
} from "./files.ts";
import { createProject, getProject } from "./projects.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";

let dir: string;
let app: App;
let orm: Orm;
let owner: User;
let n = 0;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const MB = 1024 * 1024;

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-files-"));
  orm = app.db.orm;
  owner = await createUser(orm, { email: "files@example.com", role: "member" }, null);
});
afterAll(() => closeTempApp(app, dir));
afterEach(() => {
  _testHooks.afterTempWrite = undefined;
});

function newProject(): Promise<Project> {
  return createProject(orm, dir, owner, { name: `files ${++n}` });
}

async function err(p: Promise<unknown> | (() => unknown)): Promise<ApiError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected an ApiError");
}

describe("validatePath", () => {
  const good: [string, string][] = [
    ["a.txt", "a.txt"],
    ["src/index.ts", "src/index.ts"],
    ["src/", "src"],
    [".gitignore", ".gitignore"],
    [".github/workflows/ci.yml", ".github/workflows/ci.yml"],
    ["a/.git-keep", "a/.git-keep"],
    ["my.git", "my.git"],
    ["...", "..."],
    ["..a", "..a"],
    ["a..b/c", "a..b/c"],
    [".hidden", ".hidden"],
    ["%2e%2e", "%2e%2e"], // a literal (already decoded) name: harmless
    ["名前/ファイル.md", "名前/ファイル.md"],
    ["with space/and-dash_under.txt", "with space/and-dash_under.txt"],
    ["x".repeat(255), "x".repeat(255)],
    [Array(32).fill("d").join("/"), Array(32).fill("d").join("/")],
  ];
  for (const [raw, want] of good) {
    test(`accepts ${JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + "…" : raw)}`, () => {
      expect(validatePath(raw)).toBe(want);
    });
  }

  const bad: [string, RegExp][] = [
    ["", /required/],
    ["/", /relative/],
    ["/etc/passwd", /relative/],
    ["//x", /relative/],
    ["..", /"\.\."/],
    ["../x", /"\.\."/],
    ["a/../../x", /"\.\."/],
    ["a/..", /"\.\."/],
    [".", /"\."/],
    ["./a", /"\."/],
    ["a/./b", /"\."/],
    ["a//b", /empty/],
    ["a\\b", /backslash/],
    ["..\\x", /backslash/],
    ["C:\\x", /backslash/],
    ["a\u0000b", /control/],
    ["a\nb", /control/],
    ["a\tb", /control/],
    ["a\u007fb", /control/],
    [".git", /reserved/],
    [".git/config", /reserved/],
    ["sub/.git/hooks/pre-commit", /reserved/],
    [".GIT/config", /reserved/],
    [".git./config", /reserved/],
    ["a\ud800b", /Unicode/],
    ["x".repeat(256), /segment/],
    ["é".repeat(128), /segment/], // 256 bytes
    [Array(33).fill("d").join("/"), /deep/],
    [Array(6).fill("y".repeat(200)).join("/"), /1024 bytes/],
  ];
  for (const [raw, msg] of bad) {
    test(`refuses ${JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + "…" : raw)}`, async () => {
      const e = await err(() => validatePath(raw));
      expect(e.status).toBe(400);
      expect(e.message).toMatch(msg);
      expect(e.details?.path).toBe(e.message);
    });
  }

  test("percent-decoded traversal is refused after decoding", () => {
    for (const enc of ["%2e%2e/secret", "a/%2E%2E/%2e%2e/x", "%2e%2e%2fetc", "..%2f..%2fetc"]) {
      expect(() => validatePath(decodeURIComponent(enc))).toThrow(ApiError);
    }
  });
});

describe("write, read, list", () => {
  test("write creates parents, reports created/size; read returns bytes; overwrite", async () => {
    const p = await newProject();
    expect(await writeFile(dir, p.id, "src/lib/a.ts", enc("export {}"), MB)).toEqual({ created: true, size: 9 });
    expect(readFileSync(join(filesDir(dir, p.id), "src/lib/a.ts"), "utf8")).toBe("export {}");
    const r = await readFile(dir, p.id, "src/lib/a.ts");
    expect(dec(r.bytes)).toBe("export {}");
    expect(r.size).toBe(9);
    expect(r.mtime).toBeInstanceOf(Date);
    expect(await writeFile(dir, p.id, "src/lib/a.ts", enc("export const x = 1;"), MB)).toEqual({ created: false, size: 19 });
    expect(dec((await readFile(dir, p.id, "src/lib/a.ts")).bytes)).toBe("export const x = 1;");
    expect(await writeFile(dir, p.id, "empty", new Uint8Array(), MB)).toEqual({ created: true, size: 0 });
    expect((await readFile(dir, p.id, "empty")).size).toBe(0);
    // binary round trip
    const bin = new Uint8Array(256).map((_, i) => i);
    await writeFile(dir, p.id, "bin.dat", bin, MB);
    expect((await readFile(dir, p.id, "bin.dat")).bytes).toEqual(bin);
    // no temp files left anywhere
    expect(readdirSync(join(projectDir(dir, p.id), "tmp"))).toEqual([]);
  });

  test("overwriting keeps an existing file's mode", async () => {
    const p = await newProject();
    await writeFile(dir, p.id, "run.sh", enc("#!/bin/sh\n"), MB);
    chmodSync(join(filesDir(dir, p.id), "run.sh"), 0o755);
    await writeFile(dir, p.id, "run.sh", enc("#!/bin/sh\necho hi\n"), MB);
    expect(statSync(join(filesDir(dir, p.id), "run.sh")).mode & 0o777).toBe(0o755);
  });

  test("413 over the limit, nothing written; exactly the limit is fine", async () => {
    const p = await newProject();
    const e = await err(writeFile(dir, p.id, "big.bin", new Uint8Array(11), 10));
    expect(e.status).toBe(413);
    expect(existsSync(join(filesDir(dir, p.id), "big.bin"))).toBe(false);
    await writeFile(dir, p.id, "big.bin", enc("0123456789"), 10);
    expect(await err(writeFile(dir, p.id, "big.bin", new Uint8Array(11), 10)).then((x) => x.status)).toBe(413);
    expect(dec((await readFile(dir, p.id, "big.bin")).bytes)).toBe("0123456789");
  });

  test("a failed write leaves the old content and no temp file", async () => {
    const p = await newProject();
    await writeFile(dir, p.id, "keep.txt", enc("old content"), MB);
    let tmpSeen = "";
    _testHooks.afterTempWrite = (tmp) => {
      tmpSeen = tmp;
      throw new Error("disk on fire");
    };
    await expect(writeFile(dir, p.id, "keep.txt", enc("new content that never lands"), MB)).rejects.toThrow("disk on fire");
    _testHooks.afterTempWrite = undefined;
    expect(tmpSeen).not.toBe("");
    expect(existsSync(tmpSeen)).toBe(false);
    expect(dec((await readFile(dir, p.id, "keep.txt")).bytes)).toBe("old content");
    expect(readdirSync(join(projectDir(dir, p.id), "tmp"))).toEqual([]);
  });

  test("the temp file lives outside the working tree", async () => {
    const p = await newProject();
    let tmpSeen = "";
    _testHooks.afterTempWrite = (tmp) => {
      tmpSeen = tmp;
    };
    await writeFile(dir, p.id, "x.txt", enc("x"), MB);
    expect(tmpSeen.startsWith(filesDir(dir, p.id) + "/")).toBe(false);
    expect(tmpSeen.startsWith(projectDir(dir, p.id) + "/")).toBe(true);
  });

  test("writes survive kill -9: the file is always the old or the new content, whole", async () => {
    const p = await newProject();
    const script = join(dir, "writer.ts");
    writeFileSync(
      script,
      `import { writeFile } from ${JSON.stringify(join(import.meta.dir, "files.ts"))};
const [dataDir, id] = process.argv.slice(2);
const a = new Uint8Array(2 * 1024 * 1024).fill(97), b = new Uint8Array(2 * 1024 * 1024).fill(98);
for (let i = 0; ; i++) { await writeFile(dataDir, id, "big/file.bin", i % 2 ? b : a, 1 << 30); console.log("ack " + i); }
`,
    );
    const child = Bun.spawn(["bun", script, dir, p.id], { stdout: "pipe", stderr: "inherit" });
    const reader = child.stdout.getReader();
    let out = "";
    while ((out.match(/ack/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect((out.match(/ack/g) ?? []).length).toBeGreaterThanOrEqual(3);
    child.kill(9);
    await child.exited;
    const bytes = (await readFile(dir, p.id, "big/file.bin")).bytes;
    expect(bytes.length).toBe(2 * 1024 * 1024);
    const first = bytes[0];
    expect(first === 97 || first === 98).toBe(true);
    expect(bytes.every((x) => x === first)).toBe(true);
  });

  test("refuses to write over a folder or below a file (409)", async () => {
    const p = await newProject();
    await writeFile(dir, p.id, "dir/inner.txt", enc("x"), MB);
    const e1 = await err(writeFile(dir, p.id, "dir", enc("y"), MB));
    expect(e1.status).toBe(409);
    expect(e1.message).toContain("folder");
    const e2 = await err(writeFile(dir, p.id, "dir/inner.txt/deeper.txt", enc("y"), MB));
    expect(e2.status).toBe(409);
    expect(e2.message).toContain('"dir/inner.txt" is a file');
    expect(dec((await readFile(dir, p.id, "dir/inner.txt")).bytes)).toBe("x");
  });

  test("read: 404 for missing files, folders, and paths below a file; 400 for bad paths", async () => {
    const p = await newProject();
    await writeFile(dir, p.id, "d/f.txt", enc("x"), MB);
    for (const path of ["nope.txt", "d", "d/", "d/nope", "x/y/z", "d/f.txt/g"]) {
      expect((await err(readFile(dir, p.id, path))).status).toBe(404);
    }
    expect((await err(readFile(dir, p.id, "../secret.key"))).status).toBe(400);
    expect((await err(writeFile(dir, p.id, "../../secret.key", enc("x"), MB))).status).toBe(400);
  });

  test("listTree: folders first, then by name, with sizes; leaves out .git", async () => {
    const p = await newProject();
    for (const [path, body] of [
      ["b.txt", "bb"],
      ["a.txt", "a"],
      ["zdir/inner/deep.md", "deep"],
      ["adir/x.ts", "xyz"],
      ["Capital.txt", "C"],
    ] as const) {
      await writeFile(dir, p.id, path, enc(body), MB);
    }
    mkdirSync(join(filesDir(dir, p.id), ".git"));
    writeFileSync(join(filesDir(dir, p.id), ".git", "HEAD"), "ref");
    expect(await listTree(dir, p.id)).toEqual([
      { name: "adir", path: "adir", type: "dir", children: [{ name: "x.ts", path: "adir/x.ts", type: "file", size: 3 }] },
      {
        name: "zdir",
        path: "zdir",
        type: "dir",
        children: [{ name: "inner", path: "zdir/inner", type: "dir", children: [{ name: "deep.md", path: "zdir/inner/deep.md", type: "file", size: 4 }] }],
      },
      { name: "Capital.txt", path: "Capital.txt", type: "file", size: 1 },
      { name: "a.txt", path: "a.txt", type: "file", size: 1 },
      { name: "b.txt", path: "b.txt", type: "file", size: 2 },
    ]);
    expect(await listTree(dir, "nosuchproject00")).toEqual([]);
  });
});

describe("delete and move", () => {
  test("deleteFile removes files and whole folders; 404 when missing", async () => {
    const p = await newProject();
    await writeFile(dir, p.id, "a/b/c.txt", enc("c"), MB);
    await writeFile(dir, p.id, "a/d.txt", enc("d"), MB);
    await writeFile(dir, p.id, "top.txt", enc("t"), MB);
    expect(await deleteFile(dir, p.id, "top.txt")).toEqual({ type: "file" });
    expect(await deleteFile(dir, p.id, "a/")).toEqual({ type: "dir" });
    expect(await listTree(dir, p.id)).toEqual([]);
    expect((await err(deleteFile(dir, p.id, "a"))).status).toBe(404);
    expect((await err(deleteFile(dir, p.id, "a/b/c.txt"))).status).toBe(404);
    expect(readdirSync(join(projectDir(dir, p.id), "tmp"))).toEqual([]);
  });

  test("moveFile renames files and folders, creating parents", async () => {
    const p = await newProject();
    await writeFile(dir, p.id, "old.txt", enc("o"), MB);
    await writeFile(dir, p.id, "src/x.ts", enc("x"), MB);
    expect(await moveFile(dir, p.id, "old.txt", "new/place/new.txt")).toEqual({ type: "file" });
    expect(dec((await readFile(dir, p.id, "new/place/new.txt")).bytes)).toBe("o");
    expect((await err(readFile(dir, p.id, "old.txt"))).status).toBe(404);
    expect(await moveFile(dir, p.id, "src", "lib")).toEqual({ type: "dir" });
    expect(dec((await readFile(dir, p.id, "lib/x.ts")).bytes)).toBe("x");
    expect(existsSync(join(filesDir(dir, p.id), "src"))).toBe(false);
  });

  test("moveFile: 404 missing source, 409 existing target, 400 into itself", async () => {
    const p = await newProject();
    await writeFile(dir, p.id, "a.txt", enc("a"), MB);
    await writeFile(dir, p.id, "b.txt", enc("b"), MB);
    await writeFile(dir, p.id, "d/e.txt", enc("e"), MB);
    expect((await err(moveFile(dir, p.id, "missing.txt", "c.txt"))).status).toBe(404);
    expect((await err(moveFile(dir, p.id, "a.txt", "b.txt"))).status).toBe(409);
    expect((await err(moveFile(dir, p.id, "a.txt", "d"))).status).toBe(409);
    expect((await err(moveFile(dir, p.id, "d", "d/sub"))).status).toBe(400);
    expect((await err(moveFile(dir, p.id, "a.txt", "a.txt"))).status).toBe(400);
    expect((await err(moveFile(dir, p.id, "a.txt", "b.txt/c"))).status).toBe(409);
    expect((await err(moveFile(dir, p.id, "a.txt", "../x"))).status).toBe(400);
    expect(dec((await readFile(dir, p.id, "b.txt")).bytes)).toBe("b");
    expect(dec((await readFile(dir, p.id, "a.txt")).bytes)).toBe("a");
  });
});

describe("symlinks are never followed", () => {
  test("reads, writes, moves and listings refuse or skip symlinks; deleting one removes only the link", async () => {
    const p = await newProject();
    const root = filesDir(dir, p.id);
    const outside = join(dir, "outside");
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, "secret.txt"), "top secret");
    await writeFile(dir, p.id, "real.txt", enc("real"), MB);
    symlinkSync(join(outside, "secret.txt"), join(root, "link.txt"));
    symlinkSync(outside, join(root, "linkdir"));
    symlinkSync("real.txt", join(root, "inside-link.txt"));

    for (const path of ["link.txt", "linkdir/secret.txt", "inside-link.txt"]) {
      const e = await err(readFile(dir, p.id, path));
      expect(e.status).toBe(409);
      expect(e.message).toContain("symbolic link");
    }
    expect((await err(writeFile(dir, p.id, "link.txt", enc("pwned"), MB))).status).toBe(409);
    expect((await err(writeFile(dir, p.id, "linkdir/secret.txt", enc("pwned"), MB))).status).toBe(409);
    expect((await err(writeFile(dir, p.id, "linkdir/new.txt", enc("pwned"), MB))).status).toBe(409);
    expect((await err(moveFile(dir, p.id, "link.txt", "moved.txt"))).status).toBe(409);
    expect((await err(moveFile(dir, p.id, "real.txt", "linkdir/real.txt"))).status).toBe(409);
    expect((await err(deleteFile(dir, p.id, "linkdir/secret.txt"))).status).toBe(409);
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("top secret");
    expect(existsSync(join(outside, "new.txt"))).toBe(false);
    expect(existsSync(join(outside, "real.txt"))).toBe(false);

    expect((await listTree(dir, p.id)).map((x) => x.path)).toEqual(["real.txt"]);

    expect(await deleteFile(dir, p.id, "linkdir")).toEqual({ type: "file" });
    expect(await deleteFile(dir, p.id, "link.txt")).toEqual({ type: "file" });
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("top secret");
    expect(existsSync(join(root, "linkdir"))).toBe(false);
  });
});

describe("with events", () => {
  test("file.created / file.written / file.moved / file.deleted, and projects.updated_at bumps", async () => {
    const p = await newProject();
    await orm.update(projects).set({ updatedAt: 1 }).where(eq(projects.id, p.id));
    expect(await writeProjectFile(orm, dir, p, "docs/readme.md", enc("# hi"), MB, owner.id)).toEqual({ path: "docs/readme.md", created: true, size: 4 });
    expect((await getProject(orm, p.id))?.updatedAt).toBeGreaterThan(1);
    await writeProjectFile(orm, dir, p, "docs/readme.md", enc("# hello"), MB, owner.id);
    expect(await moveProjectFile(orm, dir, p, "docs/readme.md", "README.md", owner.id)).toEqual({ from: "docs/readme.md", to: "README.md", type: "file" });
    expect(await deleteProjectFile(orm, dir, p, "docs/", owner.id)).toEqual({ path: "docs", type: "dir" });
    const ev = (await orm.select().from(events).where(eq(events.projectId, p.id)).orderBy(events.id)).filter((e) => e.subjectType === "file");
    expect(ev.map((e) => [e.kind, e.subjectId, e.actorId, JSON.parse(e.data)])).toEqual([
      ["file.created", "docs/readme.md", owner.id, { size: 4 }],
      ["file.written", "docs/readme.md", owner.id, { size: 7 }],
      ["file.moved", "README.md", owner.id, { from: "docs/readme.md", to: "README.md", type: "file" }],
      ["file.deleted", "docs", owner.id, { type: "dir" }],
    ]);
  });

  test("a refused change records no event", async () => {
    const p = await newProject();
    await err(writeProjectFile(orm, dir, p, "x.bin", new Uint8Array(5), 4, owner.id));
    await err(writeProjectFile(orm, dir, p, "../x", enc("x"), 4, owner.id));
    await err(deleteProjectFile(orm, dir, p, "missing", owner.id));
    await err(moveProjectFile(orm, dir, p, "missing", "other", owner.id));
    const ev = await orm.select().from(events).where(eq(events.projectId, p.id));
    expect(ev.map((e) => e.kind)).toEqual(["project.created"]);
  });
});

describe("content helpers", () => {
  const langs: [string, string][] = [
    ["a.ts", "typescript"],
    ["src/App.tsx", "typescript"],
    ["a.js", "javascript"],
    ["a.mjs", "javascript"],
    ["package.json", "json"],
    ["index.html", "html"],
    ["style.css", "css"],
    ["README.md", "markdown"],
    ["main.py", "python"],
    ["main.go", "go"],
    ["lib.rs", "rust"],
    ["run.sh", "shell"],
    ["ci.yml", "yaml"],
    ["config.yaml", "yaml"],
    ["Cargo.toml", "ini"],
    ["schema.sql", "sql"],
    ["Dockerfile", "dockerfile"],
    ["deploy/Dockerfile.prod", "dockerfile"],
    [".env", "ini"],
    [".env.local", "ini"],
    ["notes.txt", "plaintext"],
    ["LICENSE", "plaintext"],
    ["archive.tar.gz", "plaintext"],
    ["weird.", "plaintext"],
    ["FILE.TS", "typescript"],
  ];
  for (const [path, want] of langs) {
    test(`detectLanguage(${path}) = ${want}`, () => expect(detectLanguage(path)).toBe(want));
  }

  test("isProbablyText", () => {
    expect(isProbablyText(enc("hello\nworld"))).toBe(true);
    expect(isProbablyText(enc("héllo ✓ 日本"))).toBe(true);
    expect(isProbablyText(new Uint8Array())).toBe(true);
    expect(isProbablyText(new Uint8Array([104, 0, 105]))).toBe(false);
    expect(isProbablyText(new Uint8Array([0xff, 0xfe, 0x41]))).toBe(false);
    expect(isProbablyText(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(false);
    // a NUL after the first 8 KB does not count; a multi-byte char across the 8 KB line is fine
    const big = new Uint8Array(9000).fill(97);
    big[8500] = 0;
    expect(isProbablyText(big)).toBe(true);
    const across = enc("a".repeat(8191) + "é" + "b");
    expect(isProbablyText(across)).toBe(true);
  });
});
