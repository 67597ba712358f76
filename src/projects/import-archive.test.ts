import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createUser } from "../auth/users.ts";
import type { App } from "../core/app.ts";
import { projects, type User } from "../db/schema.ts";
import { ApiError } from "../lib/errors.ts";
import { apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { filesDir } from "./files.ts";
import { importArchive } from "./import.ts";
import { DEFAULT_ARCHIVE_LIMITS, readArchive, sniffFormat, type ArchiveLimits } from "./import-archive.ts";
import { buildTar, buildZip } from "./import-testkit.ts";
import { listVersions } from "./versions.ts";

const LIMITS: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS, maxTotalBytes: 50 * 1024 * 1024, maxFileBytes: 20 * 1024 * 1024 };

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected the archive to be refused");
}

describe("readArchive", () => {
  test("zip: files and folders, one top-level folder stripped", () => {
    const zip = buildZip([
      { name: "widget-main/" },
      { name: "widget-main/index.html", data: "<h1>hi</h1>\n" },
      { name: "widget-main/src/app.ts", data: "export {};\n", stored: true },
      { name: "widget-main/empty/" },
    ]);
    expect(sniffFormat(zip)).toBe("zip");
    const out = readArchive(zip, "zip", LIMITS);
    expect(out.files.map((f) => f.path).sort()).toEqual(["index.html", "src/app.ts"]);
    expect(new TextDecoder().decode(out.files.find((f) => f.path === "index.html")?.bytes)).toBe("<h1>hi</h1>\n");
    expect(out.dirs).toEqual(["empty"]);
  });

  test("tar.gz and plain tar, with ./ prefixes and a pax long name", () => {
    const long = `deep/${"n".repeat(120)}.txt`;
    const entries = [{ name: "./", type: "5" as const }, { name: "./a.txt", data: "A" }, { name: "./b/c.txt", data: "C" }, { name: long, data: "L" }];
    for (const gz of [true, false]) {
      const tar = buildTar(entries, gz);
      expect(sniffFormat(tar)).toBe("tar");
      const out = readArchive(tar, "tar", LIMITS);
      expect(out.files.map((f) => f.path).sort()).toEqual(["a.txt", "b/c.txt", long]);
    }
  });

  test.each(["../x", "/abs", "C:\\x", "C:/x", "a/../../x", "a\\b", "ok/.git/config"])("zip-slip entry %p → 422 naming it", (name) => {
    const e = refusal(() => readArchive(buildZip([{ name: "fine.txt", data: "ok" }, { name, data: "evil" }]), "zip", LIMITS));
    expect(e.status).toBe(422);
    expect(e.details?.entry).toBe(name);
    const t = refusal(() => readArchive(buildTar([{ name: "fine.txt", data: "ok" }, { name, data: "evil" }]), "tar", LIMITS));
    expect(t.status).toBe(422);
    expect(t.details?.entry).toBe(name);
  });

  test("symlinks, hard links and devices are refused", () => {
    const zipLink = refusal(() => readArchive(buildZip([{ name: "link", data: "/etc/passwd", mode: 0o120777 }]), "zip", LIMITS));
    expect(zipLink.status).toBe(422);
    expect(zipLink.message).toContain("symbolic link");
    const tarLink = refusal(() => readArchive(buildTar([{ name: "link", type: "2", linkname: "/etc/passwd" }]), "tar", LIMITS));
    expect(tarLink.message).toContain("symbolic link");
    const hard = refusal(() => readArchive(buildTar([{ name: "h", type: "1", linkname: "x" }]), "tar", LIMITS));
    expect(hard.message).toContain("hard link");
  });

  test("zip bomb: an entry expanding more than the ratio → 422", () => {
    const zeros = new Uint8Array(8 * 1024 * 1024);
    const e = refusal(() => readArchive(buildZip([{ name: "bomb.bin", data: zeros }]), "zip", LIMITS));
    expect(e.status).toBe(422);
    expect(e.message).toContain("zip bomb");
    const t = refusal(() => readArchive(buildTar([{ name: "bomb.bin", data: zeros }]), "tar", LIMITS));
    expect(t.status).toBe(422);
    expect(t.message).toContain("zip bomb");
  });

  test("too many entries, too large in total, duplicates, file-and-folder → 422", () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.txt`, data: "x" }));
    const small = { ...LIMITS, maxEntries: 10 };
    expect(refusal(() => readArchive(buildZip(many), "zip", small)).message).toContain("at most 10");
    expect(refusal(() => readArchive(buildTar(many), "tar", small)).message).toContain("more than 10");
    const big = { ...LIMITS, maxTotalBytes: 10 };
    expect(refusal(() => readArchive(buildZip([{ name: "a", data: "0123456789ab" }]), "zip", big)).message).toContain("import limit");
    const dup = refusal(() => readArchive(buildZip([{ name: "a.txt", data: "1" }, { name: "a.txt", data: "2" }]), "zip", LIMITS));
    expect(dup.details?.entry).toBe("a.txt");
    expect(refusal(() => readArchive(buildZip([{ name: "a", data: "1" }, { name: "a/b", data: "2" }]), "zip", LIMITS)).status).toBe(422);
    expect(refusal(() => readArchive(buildZip([{ name: "d/" }]), "zip", LIMITS)).message).toContain("no files");
  });

  test("corrupt archives → 422 with a clear message", () => {
    const zip = buildZip([{ name: "a.txt", data: "hello hello hello hello" }]);
    const flipped = zip.slice();
    flipped[40] = (flipped[40] ?? 0) ^ 0xff; // inside the deflated data
    for (const bad of [new Uint8Array([0x50, 0x4b, 3, 4, 1, 2, 3]), zip.subarray(0, zip.length - 30), flipped]) {
      const e = refusal(() => readArchive(bad, "zip", LIMITS));
      expect(e.status).toBe(422);
      expect(e.message).toMatch(/corrupt/);
    }
    expect(refusal(() => readArchive(gzipSync(Buffer.from("not a tar")), "tar", LIMITS)).message).toMatch(/corrupt|truncated/);
    expect(refusal(() => readArchive(new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]), "tar", LIMITS)).message).toMatch(/corrupt/);
  });
});

describe("importArchive", () => {
  let app: App;
  let dir: string;
  let user: User;
  beforeAll(async () => {
    ({ app, dir } = await openTempApp("wove-import-archive-"));
    user = await createUser(app.db.orm, { email: "imp@example.com", username: "imp", name: "Imp", role: "member" }, null);
  });
  afterAll(() => closeTempApp(app, dir));

  const projectDirs = () => (existsSync(join(dir, "projects")) ? readdirSync(join(dir, "projects")) : []);

  test("a zip becomes a project whose first version holds its files", async () => {
    const zip = buildZip([{ name: "site/index.html", data: "<p>hello</p>\n" }, { name: "site/css/app.css", data: "p{}\n" }, { name: "site/go", data: "#!/bin/sh\n", mode: 0o100755 }]);
    const p = await importArchive(app.db.orm, dir, user, { name: "From Zip" }, zip, "zip", LIMITS);
    expect(p.slug).toBe("from-zip");
    expect(readFileSync(join(filesDir(dir, p.id), "index.html"), "utf8")).toBe("<p>hello</p>\n");
    expect(statSync(join(filesDir(dir, p.id), "go")).mode & 0o111).not.toBe(0);
    const { versions } = await listVersions(dir, p.id);
    expect(versions.length).toBe(1);
    expect(versions[0]?.message).toBe("Import From Zip");
  });

  test("a tar.gz too", async () => {
    const tgz = buildTar([{ name: "README.md", data: "# Tar\n" }, { name: "lib/x.js", data: "1\n" }, { name: "run.sh", data: "#!/bin/sh\n", mode: 0o755 }]);
    const p = await importArchive(app.db.orm, dir, user, { name: "From Tar", visibility: "public" }, tgz, "tar", LIMITS);
    expect(p.visibility).toBe("public");
    expect(readFileSync(join(filesDir(dir, p.id), "lib/x.js"), "utf8")).toBe("1\n");
    expect(statSync(join(filesDir(dir, p.id), "run.sh")).mode & 0o111).not.toBe(0);
    expect(statSync(join(filesDir(dir, p.id), "README.md")).mode & 0o111).toBe(0);
    expect((await listVersions(dir, p.id)).versions.length).toBe(1);
  });

  test("a refused archive or a bad name leaves no project and nothing on disk", async () => {
    const before = projectDirs();
    const count = (await app.db.orm.select().from(projects)).length;
    const slip = await apiErrorOf(importArchive(app.db.orm, dir, user, { name: "Slip" }, buildZip([{ name: "../../escape.txt", data: "x" }]), "zip", LIMITS));
    expect(slip.status).toBe(422);
    const noName = await apiErrorOf(importArchive(app.db.orm, dir, user, { name: "" }, buildZip([{ name: "a.txt", data: "x" }]), "zip", LIMITS));
    expect(noName.status).toBe(422);
    expect(projectDirs()).toEqual(before);
    expect((await app.db.orm.select().from(projects)).length).toBe(count);
    expect(existsSync(join(dir, "escape.txt")) || existsSync(join(dir, "projects", "escape.txt"))).toBe(false);
  });
});
