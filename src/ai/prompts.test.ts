import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { events, promptVersions } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { createTeam, removeMember, setMember } from "../teams/teams.ts";
import { apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { copyPrompt, createPrompt, deletePrompt, editPrompt, getUse, getVersion, listVersions, setUseFeedback, usePrompt, versionStats, votePrompt } from "./prompts.ts";
import { getVisiblePrompt, searchPrompts } from "./prompts-search.ts";
import { diffPromptTexts } from "./prompt-diff.ts";

let app: App;
let dir: string;
let owner: User;
let mate: User;
let outsider: User;
let admin: User;
let teamId: string;

beforeAll(async () => {
  ({ app, dir } = await openTempApp("wove-prompts-"));
  const orm = app.db.orm;
  owner = await createUser(orm, { email: "owner@example.com", username: "owner", role: "member" }, null);
  mate = await createUser(orm, { email: "mate@example.com", username: "mate", role: "member" }, null);
  outsider = await createUser(orm, { email: "out@example.com", username: "outsider", role: "member" }, null);
  admin = await createUser(orm, { email: "admin@example.com", username: "root", role: "admin" }, null);
  const team = await createTeam(orm, owner, { name: "Writers", slug: "writers" });
  await setMember(orm, team.id, mate.id, "viewer", owner.id, "owner");
  teamId = team.id;
});
afterAll(() => closeTempApp(app, dir));

describe("creating and versioning", () => {
  test("a prompt starts at version 1 with its variables detected and described", async () => {
    const p = await createPrompt(app.db.orm, owner, {
      name: "Explain code",
      description: "Explains a snippet",
      body: "Explain this {{language}} code to a {{ audience }}:\r\n{{code}}\n",
      variables: [
        { name: "audience", description: "Who reads it", default: "beginner" },
        { name: "language", description: "Programming language" },
      ],
    });
    expect(p.currentVersion).toBe(1);
    expect(p.visibility).toBe("private");
    const v1 = await getVersion(app.db.orm, p, 1);
    expect(v1.body).toBe("Explain this {{language}} code to a {{ audience }}:\n{{code}}\n");
    expect(v1.variables).toEqual([
      { name: "language", description: "Programming language" },
      { name: "audience", description: "Who reads it", default: "beginner" },
      { name: "code", description: "" },
    ]);
    const ev = await app.db.orm.select().from(events).where(eq(events.subjectId, p.id));
    expect(ev.map((e) => [e.kind, e.subjectType, e.actorId])).toEqual([["prompt.created", "prompt", owner.id]]);
  });

  test("validation: name, body size, variable names, variables the body does not use", async () => {
    const orm = app.db.orm;
    const e1 = await apiErrorOf(createPrompt(orm, owner, { name: " ", body: "" }));
    expect(e1.status).toBe(422);
    expect(Object.keys(e1.details ?? {}).sort()).toEqual(["body", "name"]);
    const e2 = await apiErrorOf(createPrompt(orm, owner, { name: "x".repeat(101), body: "a".repeat(32 * 1024 + 1) }));
    expect(e2.details?.name).toContain("100");
    expect(e2.details?.body).toContain("32 KiB");
    const e3 = await apiErrorOf(createPrompt(orm, owner, { name: "Bad var", body: "Hi {{who}}", variables: [{ name: "9lives", description: "" }] }));
    expect(e3.details?.variables).toContain("not a valid variable name");
    const e4 = await apiErrorOf(createPrompt(orm, owner, { name: "Unused", body: "Hi {{who}}", variables: [{ name: "when", description: "" }] }));
    expect(e4.details?.variables).toContain("does not use {{when}}");
    // Double braces that are not a variable name are plain text.
    const ok = await createPrompt(orm, owner, { name: "Handlebars", body: "Explain {{#each items}} and {{item.name}} in {{lang}}" });
    expect((await getVersion(orm, ok, 1)).variables.map((v) => v.name)).toEqual(["lang"]);
  });

  test("an edit is a new version; old versions stay as they were; metadata-only edits add none", async () => {
    const orm = app.db.orm;
    const p = await createPrompt(orm, owner, { name: "Summarise", body: "Summarise {{text}}.\nBe brief.\n", variables: [{ name: "text", description: "What to summarise" }] });
    const r2 = await editPrompt(orm, owner, p.id, { body: "Summarise {{text}} in {{n}} bullet points.\nBe brief.\n", note: "bullets", baseVersion: 1 });
    expect(r2.newVersion).toBe(true);
    expect(r2.prompt.currentVersion).toBe(2);
    const v1 = await getVersion(orm, r2.prompt, 1);
    const v2 = await getVersion(orm, r2.prompt, 2);
    expect(v1.body).toBe("Summarise {{text}}.\nBe brief.\n");
    expect(v2.note).toBe("bullets");
    // The earlier description carries over to the variable still used; the new one starts empty.
    expect(v2.variables).toEqual([{ name: "text", description: "What to summarise" }, { name: "n", description: "" }]);
    const r3 = await editPrompt(orm, owner, p.id, { name: "Summarise well" });
    expect(r3.newVersion).toBe(false);
    expect(r3.prompt.currentVersion).toBe(2);
    expect(r3.prompt.name).toBe("Summarise well");
    const same = await editPrompt(orm, owner, p.id, { body: v2.body });
    expect(same.newVersion).toBe(false);
    const versions = await listVersions(orm, r3.prompt);
    expect(versions.map((v) => [v.version, v.note, v.createdBy?.username])).toEqual([
      [1, "", "owner"],
      [2, "bullets", "owner"],
    ]);
    const rows = await orm.select().from(promptVersions).where(eq(promptVersions.promptId, p.id));
    expect(rows.length).toBe(2);
    // Editing from a stale version is refused instead of overwriting.
    const stale = await apiErrorOf(editPrompt(orm, owner, p.id, { body: "x {{text}}", baseVersion: 1 }));
    expect(stale.status).toBe(409);
    const kinds = (await orm.select().from(events).where(eq(events.subjectId, p.id))).map((e) => e.kind);
    expect(kinds).toEqual(["prompt.created", "prompt.edited", "prompt.updated"]);
  });

  test("only the owner edits; others are told to copy it", async () => {
    const p = await createPrompt(app.db.orm, owner, { name: "Shared", body: "Hello", visibility: "instance" });
    const e = await apiErrorOf(editPrompt(app.db.orm, mate, p.id, { body: "Changed" }));
    expect(e.status).toBe(403);
  });

  test("concurrent edits from the same version: one wins, the other gets 409, no version is lost", async () => {
    const orm = app.db.orm;
    const p = await createPrompt(orm, owner, { name: "Race", body: "v1" });
    const results = await Promise.allSettled([
      editPrompt(orm, owner, p.id, { body: "v2 a", baseVersion: 1 }),
      editPrompt(orm, owner, p.id, { body: "v2 b", baseVersion: 1 }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled").length).toBe(1);
    const after = await getVisiblePrompt(orm, owner.id, p.id);
    expect(after.currentVersion).toBe(2);
    expect((await listVersions(orm, after)).length).toBe(2);
  });
});

describe("sharing", () => {
  test("private, team and instance prompts: get, list and search for owner, team member, outsider and admin", async () => {
    const orm = app.db.orm;
    const tag = "zebracorn";
    const priv = await createPrompt(orm, owner, { name: `Private ${tag}`, body: "secret" });
    const team = await createPrompt(orm, owner, { name: `Team ${tag}`, body: "for the team", visibility: "team", team: "writers" });
    const inst = await createPrompt(orm, owner, { name: "Instance prompt", body: `everyone ${tag}`, visibility: "instance" });
    const names = async (u: User, scope?: "mine" | "team" | "instance") => (await searchPrompts(orm, u.id, { q: tag, scope })).prompts.map((p) => p.id).sort();
    expect(await names(owner)).toEqual([priv.id, team.id, inst.id].sort());
    expect(await names(mate)).toEqual([team.id, inst.id].sort());
    expect(await names(outsider)).toEqual([inst.id]);
    expect(await names(admin)).toEqual([inst.id]);
    expect(await names(owner, "mine")).toEqual([priv.id, team.id, inst.id].sort());
    expect(await names(mate, "team")).toEqual([team.id]);
    expect(await names(mate, "instance")).toEqual([inst.id]);
    expect(await names(mate, "mine")).toEqual([]);
    for (const [who, id, visible] of [
      [mate, priv.id, false],
      [mate, team.id, true],
      [outsider, team.id, false],
      [outsider, inst.id, true],
      [admin, priv.id, false],
    ] as const) {
      if (visible) expect((await getVisiblePrompt(orm, who.id, id)).id).toBe(id);
      else expect((await apiErrorOf(getVisiblePrompt(orm, who.id, id))).status).toBe(404);
    }
    // Votes, uses and copies go through the same check.
    expect((await apiErrorOf(votePrompt(orm, outsider, team.id, 1))).status).toBe(404);
    expect((await apiErrorOf(usePrompt(orm, outsider, priv.id, { values: {} }))).status).toBe(404);
    expect((await apiErrorOf(copyPrompt(orm, outsider, team.id))).status).toBe(404);
  });

  test("a team must be one the owner is in; leaving the team keeps the sharing editable", async () => {
    const orm = app.db.orm;
    const other = await createTeam(orm, outsider, { name: "Others", slug: "others" });
    const e = await apiErrorOf(createPrompt(orm, owner, { name: "Nope", body: "x", visibility: "team", team: other.id }));
    expect(e.details?.team).toContain("member");
    const missing = await apiErrorOf(createPrompt(orm, owner, { name: "Nope", body: "x", visibility: "team" }));
    expect(missing.details?.team).toBeDefined();
    const lead = await createUser(orm, { email: "lead@example.com", username: "lead", role: "member" }, null);
    await setMember(orm, other.id, lead.id, "member", outsider.id, "owner");
    const p = await createPrompt(orm, lead, { name: "Team note", body: "hi", visibility: "team", team: "others" });
    await removeMember(orm, other.id, lead.id, outsider.id, "owner");
    const edited = await editPrompt(orm, lead, p.id, { body: "hi again" });
    expect(edited.prompt.teamId).toBe(other.id);
    // Sharing changes are events.
    const r = await editPrompt(orm, lead, p.id, { visibility: "instance" });
    expect(r.prompt.teamId).toBeNull();
    const kinds = (await orm.select().from(events).where(eq(events.subjectId, p.id))).map((x) => x.kind);
    expect(kinds).toContain("prompt.shared");
  });

  test("search matches every word in name, description or current text, and pages inside the SQL", async () => {
    const orm = app.db.orm;
    const u = await createUser(orm, { email: "searcher@example.com", username: "searcher", role: "member" }, null);
    for (let i = 0; i < 5; i++) await createPrompt(orm, u, { name: `Paged ${i}`, body: `qwertyuiop ${i}` });
    // Someone else's private prompts with the same words must not shorten the pages.
    for (let i = 0; i < 5; i++) await createPrompt(orm, owner, { name: `Hidden ${i}`, body: "qwertyuiop" });
    const first = await searchPrompts(orm, u.id, { q: "qwertyuiop", limit: 2, sort: "recent" });
    expect(first.prompts.length).toBe(2);
    expect(first.next).toBe(2);
    const second = await searchPrompts(orm, u.id, { q: "qwertyuiop", limit: 2, offset: 2, sort: "recent" });
    const third = await searchPrompts(orm, u.id, { q: "qwertyuiop", limit: 2, offset: 4, sort: "recent" });
    expect(third.next).toBeNull();
    expect([...first.prompts, ...second.prompts, ...third.prompts].map((p) => p.name)).toEqual(["Paged 4", "Paged 3", "Paged 2", "Paged 1", "Paged 0"]);
    expect((await searchPrompts(orm, u.id, { q: "qwertyuiop 3" })).prompts.map((p) => p.name)).toEqual(["Paged 3"]);
    expect((await searchPrompts(orm, u.id, { q: "100%_" })).prompts).toEqual([]);
    // Only the current text is searched.
    const p = await createPrompt(orm, u, { name: "Moves on", body: "oldword" });
    await editPrompt(orm, u, p.id, { body: "newword" });
    expect((await searchPrompts(orm, u.id, { q: "oldword" })).prompts).toEqual([]);
    expect((await searchPrompts(orm, u.id, { q: "newword" })).prompts.map((x) => x.id)).toEqual([p.id]);
  });
});

describe("votes, uses and feedback", () => {
  test("one vote per user, changeable and removable; sorting by votes", async () => {
    const orm = app.db.orm;
    const a = await createPrompt(orm, owner, { name: "Vote A kumquat", body: "a", visibility: "instance" });
    const b = await createPrompt(orm, owner, { name: "Vote B kumquat", body: "b", visibility: "instance" });
    expect((await votePrompt(orm, mate, a.id, 1)).score).toBe(1);
    expect((await votePrompt(orm, mate, a.id, 1)).score).toBe(1);
    const down = await votePrompt(orm, mate, a.id, -1);
    expect([down.score, down.up, down.down, down.myVote]).toEqual([-1, 0, 1, -1]);
    await votePrompt(orm, outsider, b.id, 1);
    expect((await searchPrompts(orm, mate.id, { q: "kumquat", sort: "votes" })).prompts.map((p) => p.name)).toEqual(["Vote B kumquat", "Vote A kumquat"]);
    const cleared = await votePrompt(orm, mate, a.id, 0);
    expect([cleared.score, cleared.myVote]).toEqual([0, 0]);
  });

  test("rendering fills variables, records a use per version, and takes thumbs from the user who used it", async () => {
    const orm = app.db.orm;
    const p = await createPrompt(orm, owner, {
      name: "Greeter",
      body: "Hello {{name}}, welcome to {{place}}.",
      variables: [{ name: "place", description: "Where", default: "Wove" }],
      visibility: "instance",
    });
    const missing = await apiErrorOf(usePrompt(orm, mate, p.id, { values: {} }));
    expect(missing.status).toBe(422);
    expect(missing.message).toContain("{{name}}");
    expect(Object.keys(missing.details ?? {})).toEqual(["name"]);
    const unknown = await apiErrorOf(usePrompt(orm, mate, p.id, { values: { name: "Ada", nmae: "x" } }));
    expect(unknown.details?.nmae).toContain("no variable");
    const r1 = await usePrompt(orm, mate, p.id, { values: { name: "Ada {{place}}" } });
    expect(r1.text).toBe("Hello Ada {{place}}, welcome to Wove.");
    expect(r1.version).toBe(1);
    // Rendering again for the same use does not count twice.
    const again = await usePrompt(orm, mate, p.id, { values: { name: "Ada" }, useId: r1.useId });
    expect(again.useId).toBe(r1.useId);
    await editPrompt(orm, owner, p.id, { body: "Hi {{name}} at {{place}}!" });
    const r2 = await usePrompt(orm, outsider, p.id, { values: { name: "Bob", place: "home" } });
    expect([r2.text, r2.version]).toEqual(["Hi Bob at home!", 2]);
    const r3 = await usePrompt(orm, mate, p.id, { values: { name: "Cy" }, version: 1 });
    expect(r3.version).toBe(1);
    await setUseFeedback(orm, mate, p.id, r1.useId, 1);
    await setUseFeedback(orm, mate, p.id, r3.useId, -1);
    await setUseFeedback(orm, outsider, p.id, r2.useId, 1);
    // Someone else's use cannot be rated.
    expect((await apiErrorOf(setUseFeedback(orm, outsider, p.id, r1.useId, -1))).status).toBe(404);
    const prompt = await getVisiblePrompt(orm, mate.id, p.id);
    expect(prompt.uses).toBe(3);
    expect(await versionStats(orm, prompt)).toEqual([
      { version: 2, uses: 1, up: 1, down: 0 },
      { version: 1, uses: 2, up: 1, down: 1 },
    ]);
    expect((await getUse(orm, mate, prompt, r1.useId))?.feedback).toBe(1);
    await setUseFeedback(orm, mate, p.id, r1.useId, 0);
    expect((await getUse(orm, mate, prompt, r1.useId))?.feedback).toBeNull();
  });
});

describe("copies, deletion, diffs", () => {
  test("a shared prompt copied into one's own: private, version 1, with a note of where it came from", async () => {
    const orm = app.db.orm;
    const src = await createPrompt(orm, owner, { name: "Original", body: "Do {{thing}}", variables: [{ name: "thing", description: "What" }], visibility: "instance" });
    const copy = await copyPrompt(orm, mate, src.id);
    expect([copy.ownerId, copy.visibility, copy.name, copy.currentVersion]).toEqual([mate.id, "private", "Original (copy)", 1]);
    const v = await getVersion(orm, copy, 1);
    expect(v.variables).toEqual([{ name: "thing", description: "What" }]);
    expect(v.note).toContain("Original");
    const edited = await editPrompt(orm, mate, copy.id, { body: "Do {{thing}} now" });
    expect(edited.newVersion).toBe(true);
    expect((await getVersion(orm, await getVisiblePrompt(orm, owner.id, src.id), 1)).body).toBe("Do {{thing}}");
  });

  test("the owner or an admin who can see it deletes; others cannot", async () => {
    const orm = app.db.orm;
    const p = await createPrompt(orm, owner, { name: "Doomed", body: "x", visibility: "instance" });
    expect((await apiErrorOf(deletePrompt(orm, mate, p.id))).status).toBe(403);
    await deletePrompt(orm, admin, p.id);
    expect((await apiErrorOf(getVisiblePrompt(orm, owner.id, p.id))).status).toBe(404);
    const priv = await createPrompt(orm, owner, { name: "Mine only", body: "x" });
    expect((await apiErrorOf(deletePrompt(orm, admin, priv.id))).status).toBe(404);
    await deletePrompt(orm, owner, priv.id);
  });

  test("diff between two versions: hunks with context, counts, unified text, variable changes", () => {
    const from = { body: "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\n{{a}}\n", variables: [{ name: "a", description: "A" }], label: "v1" };
    const to = { body: "line 1 changed\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\n{{b}}\n", variables: [{ name: "b", description: "" }], label: "v2" };
    const d = diffPromptTexts(from, to);
    expect([d.additions, d.deletions]).toEqual([2, 2]);
    expect(d.hunks.length).toBe(2);
    expect(d.hunks[0]?.lines.map((l) => [l.kind, l.text, l.oldNo, l.newNo])).toEqual([
      ["del", "line 1", 1, null],
      ["add", "line 1 changed", null, 1],
      ["context", "line 2", 2, 2],
      ["context", "line 3", 3, 3],
      ["context", "line 4", 4, 4],
    ]);
    expect(d.unified.split("\n").slice(0, 4)).toEqual(["--- v1", "+++ v2", "@@ -1,4 +1,4 @@", "-line 1"]);
    expect(d.unified).toContain("@@ -7,4 +7,4 @@\n line 7\n line 8\n line 9\n-{{a}}\n+{{b}}\n");
    expect(d.variables).toEqual({ added: ["b"], removed: ["a"], changed: [] });
    const same = diffPromptTexts(from, { ...from, label: "v1" });
    expect([same.hunks.length, same.unified]).toEqual([0, ""]);
    const noNl = diffPromptTexts({ body: "a", variables: [], label: "x" }, { body: "a\nb", variables: [], label: "y" });
    expect(noNl.unified).toBe("--- x\n+++ y\n@@ -1,1 +1,2 @@\n-a\n\\ No newline at end of file\n+a\n+b\n\\ No newline at end of file\n");
  });
});
