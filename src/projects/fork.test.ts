/** Forks on a real libSQL file and real git repositories. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Orm } from "../db/client.ts";
import { events, type Project, type User } from "../db/schema.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { filesDir, readFile, writeProjectFile } from "./files.ts";
import { forkProject } from "./fork.ts";
import { fsckClean } from "./git-http.ts";
import { createProject, deleteProject, getProject, projectJsonFor, updateProject } from "./projects.ts";
import { editorOf, listVersions, projectRepo, saveVersion } from "./versions.ts";
import { aliceAndBob, apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";

let dir: string;
let app: App;
let orm: Orm;
let alice: User;
let bob: User;
let n = 0;

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-fork-"));
  orm = app.db.orm;
  ({ alice, bob } = await aliceAndBob(orm));
});
afterAll(() => closeTempApp(app, dir));

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const err = apiErrorOf;

/** A project of `owner` with `versions` saved versions (a.txt changes each time). */
async function projectWithHistory(owner: User, versions: number, visibility: Project["visibility"] = "public"): Promise<Project> {
  n++;
  const p = await createProject(orm, dir, owner, { name: `Source ${n}`, description: "the original", visibility });
  for (let i = 1; i <= versions; i++) {
    await writeProjectFile(orm, dir, p, "a.txt", enc(`version ${i}\n`), 1 << 20, owner.id);
    await writeProjectFile(orm, dir, p, `dir/file-${i}.txt`, enc(`${i}\n`), 1 << 20, owner.id);
    await saveVersion(orm, dir, p, { message: `Version ${i}`, author: editorOf(owner) });
  }
  return p;
}

const versionIds = async (id: string) => (await listVersions(dir, id, { limit: 100 })).versions.map((v) => v.id);

describe("forkProject", () => {
  test("the fork has the full history of the source's last saved version, lineage and a fork count", async () => {
    const source = await projectWithHistory(alice, 3);
    // Unsaved edits stay with the source.
    await writeProjectFile(orm, dir, source, "a.txt", enc("unsaved\n"), 1 << 20, alice.id);
    const fork = await forkProject(orm, dir, source, bob);

    expect(fork.forkedFromId).toBe(source.id);
    expect(fork.ownerUserId).toBe(bob.id);
    expect(fork.name).toBe(source.name);
    expect(fork.description).toBe("the original");
    expect(fork.visibility).toBe("public");
    expect(await versionIds(fork.id)).toEqual(await versionIds(source.id));
    expect((await versionIds(fork.id)).length).toBe(3);
    expect(dec((await readFile(dir, fork.id, "a.txt")).bytes)).toBe("version 3\n");
    expect(dec((await readFile(dir, fork.id, "dir/file-2.txt")).bytes)).toBe("2\n");
    expect((await getProject(orm, source.id))?.forkCount).toBe(1);
    expect(await fsckClean(projectRepo(dir, fork.id))).toBe(true);

    const evs = await orm.select().from(events).where(eq(events.projectId, fork.id));
    expect(evs.map((e) => e.kind)).toEqual(["project.forked"]);
    expect(JSON.parse(evs[0]?.data ?? "{}")).toMatchObject({ from: source.id, slug: fork.slug });

    const j = await projectJsonFor(orm, fork);
    expect(j.forkedFrom).toEqual({ id: source.id, owner: "alice", slug: source.slug });
    expect((await projectJsonFor(orm, (await getProject(orm, source.id)) as Project)).forks).toBe(1);
  });

  test("the two repositories are independent afterwards", async () => {
    const source = await projectWithHistory(alice, 1);
    const fork = await forkProject(orm, dir, source, bob, { name: "Bob's remix" });
    expect(fork.slug).toBe("bob-s-remix");
    await writeProjectFile(orm, dir, fork, "a.txt", enc("bob's change\n"), 1 << 20, bob.id);
    await saveVersion(orm, dir, fork, { message: "Bob's change", author: editorOf(bob) });
    expect((await versionIds(fork.id)).length).toBe(2);
    expect((await versionIds(source.id)).length).toBe(1);
    expect(dec((await readFile(dir, source.id, "a.txt")).bytes)).toBe("version 1\n");
    // No alternates file: the fork owns its objects.
    expect(existsSync(join(projectRepo(dir, fork.id).gitDir, "objects", "info", "alternates"))).toBe(false);
  });

  test("forking your own project twice gets -2 and -3 slugs; counts add up", async () => {
    const source = await projectWithHistory(alice, 1);
    const a = await forkProject(orm, dir, source, alice);
    const b = await forkProject(orm, dir, source, alice);
    expect([a.slug, b.slug]).toEqual([`${source.slug}-2`, `${source.slug}-3`]);
    expect((await getProject(orm, source.id))?.forkCount).toBe(2);
  });

  test("a project with no version yet forks into an empty project", async () => {
    const source = await createProject(orm, dir, alice, { name: "Empty source", visibility: "public" });
    await writeProjectFile(orm, dir, source, "draft.txt", enc("not saved"), 1 << 20, alice.id);
    const fork = await forkProject(orm, dir, source, bob);
    expect(await versionIds(fork.id)).toEqual([]);
    expect(existsSync(join(filesDir(dir, fork.id), "draft.txt"))).toBe(false);
  });

  test("a private project's fork stays private, now and later", async () => {
    const team = await createTeam(orm, alice, { name: `Private Team ${++n}` });
    await setMember(orm, team.id, bob.id, "viewer", alice.id, "owner");
    const source = await createProject(orm, dir, alice, { name: "Secret", team: team.id, visibility: "private" });
    await writeProjectFile(orm, dir, source, "s.txt", enc("s"), 1 << 20, alice.id);
    await saveVersion(orm, dir, source, { author: editorOf(alice) });

    // A team viewer can read it, so can fork it — into their own, still private, project.
    const fork = await forkProject(orm, dir, source, bob);
    expect(fork.visibility).toBe("private");
    expect(fork.ownerUserId).toBe(bob.id);
    const tooOpen = await err(forkProject(orm, dir, source, bob, { visibility: "public" }));
    expect(tooOpen.status).toBe(422);
    expect(tooOpen.details?.visibility).toContain("private");
    const later = await err(updateProject(orm, fork, { visibility: "unlisted" }, bob.id));
    expect(later.status).toBe(422);
    expect(later.details?.visibility).toBeDefined();
    // Viewers cannot create projects in the team.
    expect((await err(forkProject(orm, dir, source, bob, { team: team.id }))).status).toBe(403);
  });

  test("an unlisted project's fork is unlisted, may be private, never public", async () => {
    const source = await projectWithHistory(alice, 1, "unlisted");
    const fork = await forkProject(orm, dir, source, bob);
    expect(fork.visibility).toBe("unlisted");
    expect((await forkProject(orm, dir, source, bob, { visibility: "private" })).visibility).toBe("private");
    expect((await err(updateProject(orm, fork, { visibility: "public" }, bob.id))).status).toBe(422);
    expect((await updateProject(orm, fork, { visibility: "private" }, bob.id)).visibility).toBe("private");
  });

  test("forking needs read access: without it the project does not exist", async () => {
    const source = await projectWithHistory(alice, 1, "private");
    const e = await err(forkProject(orm, dir, source, bob));
    expect(e.status).toBe(404);
    expect((await getProject(orm, source.id))?.forkCount).toBe(0);
  });

  test("deleting the source keeps the fork, without lineage", async () => {
    const source = await projectWithHistory(alice, 2);
    const fork = await forkProject(orm, dir, source, bob);
    await deleteProject(orm, dir, source, alice.id);
    const after = (await getProject(orm, fork.id)) as Project;
    expect(after.forkedFromId).toBeNull();
    expect((await projectJsonFor(orm, after)).forkedFrom).toBeNull();
    expect((await versionIds(fork.id)).length).toBe(2);
    // Its visibility is free again.
    expect((await updateProject(orm, after, { visibility: "public" }, bob.id)).visibility).toBe("public");
  });
});
