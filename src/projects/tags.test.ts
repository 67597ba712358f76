import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createToken } from "../auth/tokens.ts";
import { events } from "../db/schema.ts";
import { createServer } from "../server/server.ts";
import { projectPageRoutes } from "./pages.tsx";
import { pageKit, type PageKit } from "./pages-testkit.ts";
import { createProject } from "./projects.ts";
import { checkTags, getTags, MAX_TAGS, parseTagInput, setTags } from "./tags.ts";

describe("checkTags", () => {
  test("normalises: trims, lowercases, drops blanks and duplicates", () => {
    expect(checkTags([" Game ", "game", "", "p5js", "week-3"])).toEqual({ tags: ["game", "p5js", "week-3"] });
    expect(parseTagInput("game, p5js  week-3,,")).toEqual(["game", "p5js", "week-3"]);
  });
  test.each([["-lead"], ["under_score"], ["a".repeat(31)], ["dot.ted"], ["ümlaut"], ["has space"]])("refuses %p", (bad) => {
    expect("error" in checkTags([bad])).toBe(true);
  });
  test("30 characters is the longest tag; 10 the most tags", () => {
    expect(checkTags(["a".repeat(30)])).toEqual({ tags: ["a".repeat(30)] });
    const many = Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`);
    expect("error" in checkTags(many)).toBe(true);
    expect(checkTags(many.slice(0, MAX_TAGS))).toEqual({ tags: many.slice(0, MAX_TAGS) });
  });
});

describe("setting tags", () => {
  let kit: PageKit;
  beforeAll(async () => {
    kit = await pageKit(projectPageRoutes);
  });
  afterAll(() => kit.close());

  test("setTags replaces the set and records project.tags_changed only on a change", async () => {
    const owner = await kit.person("tagger");
    const { orm } = kit.app.db;
    const p = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Tagged" });
    expect(await setTags(orm, p, ["b", "a"], owner.user.id)).toEqual(["a", "b"]);
    expect(await setTags(orm, p, ["a", "b"], owner.user.id)).toEqual(["a", "b"]);
    const evs = await orm.select().from(events).where(eq(events.kind, "project.tags_changed"));
    expect(evs.filter((e) => e.projectId === p.id)).toHaveLength(1);
    await expect(setTags(orm, p, ["Bad Tag!"], owner.user.id)).rejects.toMatchObject({ status: 422 });
    expect(await getTags(orm, p.id)).toEqual(["a", "b"]);
  });

  test("PATCH /api/v1/projects/:id accepts tags; a bad tag is a 422 that changes nothing", async () => {
    const owner = await kit.person("patcher");
    const { orm } = kit.app.db;
    const p = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Api Tags" });
    const { token } = await createToken(orm, owner.user, { name: "t", scopes: ["read", "write"], expiresAt: null }, null);
    const server = createServer(kit.app);
    const patch = (body: unknown) =>
      server.handle(
        new Request(`http://wove.test/api/v1/projects/${p.id}`, {
          method: "PATCH",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        }),
      );
    const ok = await patch({ tags: ["Games", "p5js"], description: "with tags" });
    expect(ok.status).toBe(200);
    const json = (await ok.json()) as { tags: string[]; tech: string[]; description: string };
    expect(json.tags).toEqual(["games", "p5js"]);
    expect(json.tech).toEqual([]);
    const bad = await patch({ tags: ["ok", "not ok"], description: "should not apply" });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { error: { details?: Record<string, string> } }).error.details?.tags).toBeDefined();
    expect(await getTags(orm, p.id)).toEqual(["games", "p5js"]);
    const again = (await (await server.handle(new Request(`http://wove.test/api/v1/projects/${p.id}`, { headers: { Authorization: `Bearer ${token}` } }))).json()) as {
      description: string;
    };
    expect(again.description).toBe("with tags");
  });

  test("the settings form sets tags and shows a bad one beside the field", async () => {
    const owner = await kit.person("former");
    const p = await createProject(kit.app.db.orm, kit.app.config.dataDir, owner.user, { name: "Form Tags" });
    const form = { name: p.name, description: "", visibility: "private" };
    const res = await kit.post(`/projects/${p.id}/settings`, { ...form, tags: "art, Week-3 art" }, owner);
    expect(res.status).toBe(303);
    expect(await getTags(kit.app.db.orm, p.id)).toEqual(["art", "week-3"]);
    const page = await (await kit.get(`/projects/${p.id}/settings`, owner)).text();
    expect(page).toContain('value="art, week-3"');
    const bad = await kit.post(`/projects/${p.id}/settings`, { ...form, tags: "fine, no_underscores" }, owner);
    expect(bad.status).toBe(422);
    const html = await bad.text();
    expect(html).toContain('id="f-tags-error"');
    expect(html).toContain("no_underscores");
    // Without the field (an older client), the tags stay.
    expect((await kit.post(`/projects/${p.id}/settings`, form, owner)).status).toBe(303);
    expect(await getTags(kit.app.db.orm, p.id)).toEqual(["art", "week-3"]);
  });
});
