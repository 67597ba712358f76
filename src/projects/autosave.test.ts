import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { durationFrom, loadConfig } from "../config.ts";
import type { App } from "../core/app.ts";
import type { Project, User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { setLogSink } from "../lib/log.ts";
import { AutosaveScheduler, startAutosave } from "./autosave.ts";
import { filesDir, writeProjectFile } from "./files.ts";
import { createProject } from "./projects.ts";
import { editorOf, listVersions, saveVersion } from "./versions.ts";
import { openTempApp } from "../../test/helpers/temp-app.ts";

let dir: string;
let app: App;
let alice: User;
let bob: User;
let n = 0;

beforeAll(async () => {
  setLogSink(() => {});
  ({ dir, app } = await openTempApp("wove-autosave-"));
  alice = await createUser(app.db.orm, { email: "a@example.com", role: "member", username: "alice", name: "Alice" }, null);
  bob = await createUser(app.db.orm, { email: "b@example.com", role: "member", username: "bob", name: "Bob" }, null);
});
afterAll(() => {
  app.close();
  rmSync(dir, { recursive: true, force: true });
  setLogSink((text) => process.stdout.write(text));
});

const enc = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: () => Promise<T | undefined | null | false>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(20);
  }
}

async function project(): Promise<Project> {
  return createProject(app.db.orm, dir, alice, { name: `Autosave ${++n}` });
}

const edit = (p: Project, path: string, text: string, who: User) => writeProjectFile(app.db.orm, dir, p, path, enc(text), 1 << 20, who.id);
const versions = async (p: Project) => (await listVersions(dir, p.id)).versions;

describe("WOVE_AUTOSAVE_QUIET", () => {
  test("durations, off, and bad values", () => {
    expect(loadConfig({}, {}).autosaveQuietMs).toBe(600_000);
    const parseAutosaveQuiet = (raw: string) => durationFrom("WOVE_AUTOSAVE_QUIET", raw);
    expect(parseAutosaveQuiet("10m")).toBe(600_000);
    expect(parseAutosaveQuiet("90s")).toBe(90_000);
    expect(parseAutosaveQuiet("90")).toBe(90_000);
    expect(parseAutosaveQuiet("1h")).toBe(3_600_000);
    expect(parseAutosaveQuiet("250ms")).toBe(250);
    expect(parseAutosaveQuiet("off")).toBe(0);
    expect(parseAutosaveQuiet("0")).toBe(0);
    expect(() => parseAutosaveQuiet("soon")).toThrow("WOVE_AUTOSAVE_QUIET");
  });
});

describe("scheduler", () => {
  test("fires once per quiet period; every edit pushes it back", async () => {
    const fired: [string, string | null][] = [];
    const s = new AutosaveScheduler(80, async (id, editor) => void fired.push([id, editor]));
    s.note("p1", "u1");
    await sleep(50);
    s.note("p1", null); // pushed back; the last known editor is kept
    await sleep(50);
    expect(fired).toEqual([]);
    await until(async () => fired.length === 1);
    expect(fired).toEqual([["p1", "u1"]]);
    s.note("p2", "u2");
    await s.flush();
    expect(fired).toEqual([["p1", "u1"], ["p2", "u2"]]);
    expect(s.waiting()).toEqual([]);
    s.stop();
  });
});

describe("autosave", () => {
  test("after the quiet period, edits become an 'Autosave' version by the last editor", async () => {
    const auto = startAutosave(app, 150);
    try {
      await auto.ready;
      const p = await project();
      await edit(p, "a.txt", "one", alice);
      await sleep(60);
      await edit(p, "a.txt", "two", bob);
      expect(await versions(p)).toEqual([]);
      const [v] = await until(async () => {
        const list = await versions(p);
        return list.length > 0 && list;
      });
      expect(v).toMatchObject({ message: "Autosave", author: { name: "Bob", email: "b@example.com" }, filesChanged: 1 });
      // Nothing new: no empty autosave.
      await sleep(250);
      expect((await versions(p)).length).toBe(1);
    } finally {
      auto.stop();
    }
  });

  test("a manual save in the meantime leaves nothing to autosave", async () => {
    const auto = startAutosave(app, 100);
    try {
      const p = await project();
      await edit(p, "a.txt", "x", alice);
      await saveVersion(app.db.orm, dir, p, { message: "Mine", author: editorOf(alice) });
      await sleep(300);
      expect((await versions(p)).map((v) => v.message)).toEqual(["Mine"]);
    } finally {
      auto.stop();
    }
  });

  test("unsaved work left by a previous run is autosaved after a restart", async () => {
    const p = await project();
    // Edited while no scheduler ran (the server stopped before the quiet period ended)…
    await edit(p, "notes.md", "# draft\n", bob);
    // …and a file that appeared on disk some other way.
    writeFileSync(join(filesDir(dir, p.id), "extra.txt"), "extra\n");
    const auto = startAutosave(app, 100);
    try {
      await auto.ready;
      expect(auto.scheduler.waiting()).toContain(p.id);
      const [v] = await until(async () => {
        const list = await versions(p);
        return list.length > 0 && list;
      });
      expect(v?.message).toBe("Autosave");
      expect(v?.author.email).toBe("b@example.com");
      expect(v?.files.map((f) => f.path).sort()).toEqual(["extra.txt", "notes.md"]);
    } finally {
      auto.stop();
    }
  });

  test("flush saves pending work at once (shutdown); quiet 0 turns autosave off", async () => {
    const auto = startAutosave(app, 60_000);
    const p = await project();
    await edit(p, "a.txt", "pending", alice);
    expect(auto.scheduler.waiting()).toContain(p.id);
    await auto.flush();
    auto.stop();
    expect((await versions(p)).map((v) => v.message)).toEqual(["Autosave"]);

    const off = startAutosave(app, 0);
    const q = await project();
    await edit(q, "a.txt", "x", alice);
    expect(off.scheduler.waiting()).toEqual([]);
    off.stop();
  });
});
