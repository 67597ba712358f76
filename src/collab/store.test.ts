import { afterAll, beforeAll, describe, expect } from "bun:test";
import Database from "libsql";
import * as Y from "yjs";
import type { App } from "../core/app.ts";
import type { Project, User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { createProject } from "../projects/projects.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { test } from "../../test/helpers/quiet.ts";
import { deleteDocs, ensureDocId, loadDoc, moveDocs, UpdateLog, writeBase, writeSnapshot } from "./store.ts";

let dir: string;
let app: App;
let owner: User;
/** A second connection to the same file: what another process (or a restart) would read. */
let other: InstanceType<typeof Database>;
let n = 0;

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-collab-store-"));
  owner = await createUser(app.db.orm, { email: "store@example.com", role: "member" }, null);
  other = new Database(app.db.file as string, { readonly: true } as ConstructorParameters<typeof Database>[1]);
});
afterAll(() => {
  other?.close();
  closeTempApp(app, dir);
});

function newProject(): Promise<Project> {
  return createProject(app.db.orm, dir, owner, { name: `collab store ${++n}` });
}

function storedSeqs(docId: string): number[] {
  return (other.prepare("SELECT seq FROM collab_updates WHERE doc_id = ? ORDER BY seq").all([docId]) as { seq: number }[]).map((r) => Number(r.seq));
}

function docPaths(projectId: string): string[] {
  return (other.prepare("SELECT path FROM collab_docs WHERE project_id = ? ORDER BY path").all([projectId]) as { path: string }[]).map((r) => r.path);
}

const bytes = (...xs: number[]) => new Uint8Array(xs);
/** Calls `fn` and resolves with the error it reports (undefined on success). */
const outcome = (fn: (done: (error?: Error) => void) => void) => new Promise<Error | undefined>((resolve) => fn(resolve));

describe("documents", () => {
  test("ensureDocId creates one empty document per path and returns the same id every time", async () => {
    const p = await newProject();
    expect(await loadDoc(app.db, p.id, "a.txt")).toBeUndefined();
    const id = await ensureDocId(app.db, p.id, "a.txt");
    expect(await ensureDocId(app.db, p.id, "a.txt")).toBe(id);
    expect(await ensureDocId(app.db, p.id, "b.txt")).not.toBe(id);
    expect(await loadDoc(app.db, p.id, "a.txt")).toEqual({
      id,
      projectId: p.id,
      path: "a.txt",
      snapshot: null,
      snapshotSeq: 0,
      baseText: "",
      baseHash: "",
      prevHash: "",
      tail: [],
    });
  });

  test("loadDoc returns the snapshot and the updates after it, in order; writeSnapshot drops what it folded", async () => {
    const p = await newProject();
    const id = await ensureDocId(app.db, p.id, "doc.md");
    const doc = new Y.Doc();
    const updates: Uint8Array[] = [];
    doc.on("update", (u: Uint8Array) => updates.push(u));
    for (const word of ["one ", "two ", "three ", "four ", "five "]) doc.getText("content").insert(doc.getText("content").length, word);
    const log = new UpdateLog(app.db);
    // Stored out of order and in separate commits: the tail still comes back by seq.
    for (const seq of [2, 1, 5, 3, 4]) {
      expect(await outcome((done) => log.append(id, seq, updates[seq - 1] as Uint8Array, done))).toBeUndefined();
    }
    let stored = await loadDoc(app.db, p.id, "doc.md");
    expect(stored?.tail.map((u) => u.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(stored?.tail.map((u) => u.data)).toEqual(updates);

    // Snapshot of the state after update 3: updates 1..3 go, 4 and 5 stay.
    const upTo3 = new Y.Doc();
    for (const u of updates.slice(0, 3)) Y.applyUpdate(upTo3, u);
    const snapshot = Y.encodeStateAsUpdate(upTo3);
    await writeSnapshot(app.db, id, snapshot, 3);
    expect(storedSeqs(id)).toEqual([4, 5]);
    stored = await loadDoc(app.db, p.id, "doc.md");
    expect(stored?.snapshot).toEqual(snapshot);
    expect(stored?.snapshotSeq).toBe(3);
    expect(stored?.tail.map((u) => u.seq)).toEqual([4, 5]);
    const rebuilt = new Y.Doc();
    for (const u of [stored?.snapshot as Uint8Array, ...(stored?.tail ?? []).map((t) => t.data)]) Y.applyUpdate(rebuilt, u);
    expect(rebuilt.getText("content").toString()).toBe("one two three four five ");
  });

  test("writeBase records the base text, its hash and the hash it replaced", async () => {
    const p = await newProject();
    const id = await ensureDocId(app.db, p.id, "x.ts");
    await writeBase(app.db, id, "v1", "h1", "");
    await writeBase(app.db, id, "v2", "h2", "h1");
    expect(await loadDoc(app.db, p.id, "x.ts")).toMatchObject({ baseText: "v2", baseHash: "h2", prevHash: "h1" });
  });
});

describe("moveDocs and deleteDocs", () => {
  async function docsAt(projectId: string, paths: string[]): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const path of paths) ids.set(path, await ensureDocId(app.db, projectId, path));
    return ids;
  }

  test("a file moves with its id and updates", async () => {
    const p = await newProject();
    const ids = await docsAt(p.id, ["a.txt", "a.txt.bak"]);
    const log = new UpdateLog(app.db);
    await outcome((done) => log.append(ids.get("a.txt") as string, 1, bytes(0, 0), done));
    await moveDocs(app.db, p.id, "a.txt", "b.txt");
    expect(docPaths(p.id)).toEqual(["a.txt.bak", "b.txt"]);
    const moved = await loadDoc(app.db, p.id, "b.txt");
    expect(moved?.id).toBe(ids.get("a.txt") as string);
    expect(moved?.tail.map((u) => u.seq)).toEqual([1]);
  });

  test("a folder moves everything under it, and only that: a/bc is not under a/b", async () => {
    const p = await newProject();
    const ids = await docsAt(p.id, ["a/b/x.ts", "a/b/c/y.ts", "a/bc", "a/bc/z.ts", "a/b.ts", "ab/x.ts"]);
    await moveDocs(app.db, p.id, "a/b", "q");
    expect(docPaths(p.id)).toEqual(["a/b.ts", "a/bc", "a/bc/z.ts", "ab/x.ts", "q/c/y.ts", "q/x.ts"]);
    expect((await loadDoc(app.db, p.id, "q/c/y.ts"))?.id).toBe(ids.get("a/b/c/y.ts") as string);
  });

  test("a move over an existing file or folder forgets the documents it replaced", async () => {
    const p = await newProject();
    const ids = await docsAt(p.id, ["src/new.ts", "old.ts", "dst/one.ts", "dst/two.ts", "dstx.ts", "from/one.ts"]);
    const log = new UpdateLog(app.db);
    await outcome((done) => log.append(ids.get("src/new.ts") as string, 1, bytes(0, 0), done));
    await moveDocs(app.db, p.id, "old.ts", "src/new.ts");
    expect((await loadDoc(app.db, p.id, "src/new.ts"))?.id).toBe(ids.get("old.ts") as string);
    expect(storedSeqs(ids.get("src/new.ts") as string)).toEqual([]);
    await moveDocs(app.db, p.id, "from", "dst");
    expect(docPaths(p.id)).toEqual(["dst/one.ts", "dstx.ts", "src/new.ts"]);
    expect((await loadDoc(app.db, p.id, "dst/one.ts"))?.id).toBe(ids.get("from/one.ts") as string);
  });

  test("deleteDocs takes a file, or a folder and everything under it, with their updates", async () => {
    const p = await newProject();
    const ids = await docsAt(p.id, ["a/b", "a/b/x.ts", "a/b/c/y.ts", "a/bc", "a/bc.ts", "keep.ts"]);
    const log = new UpdateLog(app.db);
    await outcome((done) => log.append(ids.get("a/b/x.ts") as string, 1, bytes(0, 0), done));
    await deleteDocs(app.db, p.id, "keep.ts");
    expect(docPaths(p.id)).toEqual(["a/b", "a/b/c/y.ts", "a/b/x.ts", "a/bc", "a/bc.ts"]);
    await deleteDocs(app.db, p.id, "a/b");
    expect(docPaths(p.id)).toEqual(["a/bc", "a/bc.ts"]);
    expect(storedSeqs(ids.get("a/b/x.ts") as string)).toEqual([]);
    // Other projects are never touched.
    const q = await newProject();
    await docsAt(q.id, ["a/bc"]);
    await deleteDocs(app.db, p.id, "a/bc");
    expect(docPaths(q.id)).toEqual(["a/bc"]);
  });

  test("folders with characters outside the BMP (emoji) move and delete like any other", async () => {
    const p = await newProject();
    const ids = await docsAt(p.id, ["😀 notes/a.md", "😀 notes/sub/b.md", "😀 notesx/c.md"]);
    await moveDocs(app.db, p.id, "😀 notes", "🎉 done");
    expect(docPaths(p.id)).toEqual(["🎉 done/a.md", "🎉 done/sub/b.md", "😀 notesx/c.md"]);
    expect((await loadDoc(app.db, p.id, "🎉 done/sub/b.md"))?.id).toBe(ids.get("😀 notes/sub/b.md") as string);
    await deleteDocs(app.db, p.id, "🎉 done");
    expect(docPaths(p.id)).toEqual(["😀 notesx/c.md"]);
  });
});

describe("UpdateLog", () => {
  test("appends made in one tick are one transaction; callbacks run in order, after the rows are readable elsewhere", async () => {
    const p = await newProject();
    const id = await ensureDocId(app.db, p.id, "group.txt");
    const log = new UpdateLog(app.db);
    const seen: { i: number; visible: number }[] = [];
    const all: Promise<Error | undefined>[] = [];
    for (let i = 1; i <= 50; i++) {
      all.push(
        outcome((done) =>
          log.append(id, i, bytes(i), (error) => {
            seen.push({ i, visible: storedSeqs(id).length });
            done(error);
          }),
        ),
      );
    }
    expect(seen).toEqual([]); // never synchronously: nothing is stored yet
    expect(await Promise.all(all)).toEqual(Array.from({ length: 50 }, () => undefined));
    expect(log.commits).toBe(1);
    expect(log.appended).toBe(50);
    expect(seen.map((s) => s.i)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(seen.every((s) => s.visible === 50)).toBe(true);
  });

  test("appends in separate ticks are separate transactions", async () => {
    const p = await newProject();
    const id = await ensureDocId(app.db, p.id, "ticks.txt");
    const log = new UpdateLog(app.db);
    await outcome((done) => log.append(id, 1, bytes(1), done));
    await outcome((done) => log.append(id, 2, bytes(2), done));
    expect(log.commits).toBe(2);
  });

  test("afterDurable runs at once when idle, otherwise after everything queued before it", async () => {
    const p = await newProject();
    const id = await ensureDocId(app.db, p.id, "after.txt");
    const log = new UpdateLog(app.db);
    const order: string[] = [];
    log.afterDurable(() => order.push("idle"));
    expect(order).toEqual(["idle"]);

    log.append(id, 1, bytes(1), () => order.push(`stored 1 (${storedSeqs(id).length} rows)`));
    log.afterDurable(() => order.push(`after 1 (${storedSeqs(id).length} rows)`));
    expect(order).toEqual(["idle"]);
    await log.drain();
    expect(order).toEqual(["idle", "stored 1 (1 rows)", "after 1 (1 rows)"]);

    // Queued while a flush is in flight: waits for it, then for what was queued behind it.
    log.append(id, 2, bytes(2), () => order.push("stored 2"));
    await new Promise((r) => setImmediate(r)); // the flush for seq 2 has started
    log.afterDurable(() => order.push("after 2"));
    log.append(id, 3, bytes(3), () => order.push("stored 3"));
    log.afterDurable(() => order.push("after 3"));
    await log.drain();
    expect(order.slice(3)).toEqual(["stored 2", "after 2", "stored 3", "after 3"]);
    expect(storedSeqs(id)).toEqual([1, 2, 3]);
  });

  test("a row that cannot be stored fails only its own callback; its neighbours are stored and told so", async () => {
    const p = await newProject();
    const id = await ensureDocId(app.db, p.id, "fail.txt");
    const log = new UpdateLog(app.db);
    await outcome((done) => log.append(id, 1, bytes(1), done));
    const results = await Promise.all([
      outcome((done) => log.append(id, 2, bytes(2), done)),
      outcome((done) => log.append("no-such-document", 1, bytes(9), done)), // foreign key
      outcome((done) => log.append(id, 1, bytes(1), done)), // seq 1 again: primary key
      outcome((done) => log.append(id, 3, bytes(3), done)),
    ]);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toBeInstanceOf(Error);
    expect(results[2]).toBeInstanceOf(Error);
    expect(results[3]).toBeUndefined();
    expect(storedSeqs(id)).toEqual([1, 2, 3]);
    expect(log.appended).toBe(3);
    expect(storedSeqs("no-such-document")).toEqual([]);
  });

  test("drain resolves once everything queued is stored", async () => {
    const p = await newProject();
    const id = await ensureDocId(app.db, p.id, "drain.txt");
    const log = new UpdateLog(app.db);
    for (let i = 1; i <= 10; i++) log.append(id, i, bytes(i), () => {});
    await log.drain();
    expect(storedSeqs(id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await log.drain(); // idle: returns at once
  });
});
