import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { projects, type Project } from "../../db/schema.ts";
import { pageKit, type PageKit, type Person } from "../../projects/pages-testkit.ts";
import { createProject, updateProject } from "../../projects/projects.ts";
import { setTags } from "../../projects/tags.ts";
import { writeProjectFile } from "../../projects/files.ts";
import { refreshTech } from "../../projects/techstack.ts";
import { createTeam, setMember } from "../../teams/teams.ts";
import { createServer } from "../../server/server.ts";
import { exploreRoutes } from "./explore.tsx";
import { profilePageRoutes } from "./profile.tsx";

let kit: PageKit;
let alice: Person;
let bob: Person;
const made: Record<string, Project> = {};

async function make(name: string, visibility: Project["visibility"], o: { stars?: number; forks?: number; tags?: string[]; files?: string[]; updatedAt?: number } = {}) {
  const { orm } = kit.app.db;
  const dir = kit.app.config.dataDir;
  const p = await createProject(orm, dir, alice.user, { name, visibility, description: `About ${name}` });
  for (const f of o.files ?? []) await writeProjectFile(orm, dir, p, f, new TextEncoder().encode("x"), 1 << 20, alice.user.id);
  await refreshTech(orm, dir, p.id);
  if (o.tags) await setTags(orm, p, o.tags, alice.user.id);
  await orm.update(projects).set({ starCount: o.stars ?? 0, forkCount: o.forks ?? 0, updatedAt: o.updatedAt ?? p.updatedAt }).where(eq(projects.id, p.id));
  made[name] = p;
}

beforeAll(async () => {
  kit = await pageKit([...exploreRoutes, ...profilePageRoutes]);
  alice = await kit.person("alice");
  bob = await kit.person("bob");
  const t0 = Date.now();
  await make("Old Starred", "public", { stars: 9, forks: 1, tags: ["games"], files: ["index.html"], updatedAt: t0 - 3000 });
  await make("Much Remixed", "public", { stars: 1, forks: 7, tags: ["games", "art"], files: ["go.mod"], updatedAt: t0 - 2000 });
  await make("Fresh", "public", { files: ["requirements.txt"], updatedAt: t0 - 1000 });
  await make("Secret Plan", "private", { stars: 50, tags: ["games"], files: ["index.html"] });
  await make("Hidden Link", "unlisted", { stars: 40, tags: ["games"], files: ["index.html"] });
});
afterAll(() => kit.close());

type ExploreJson = { projects: { name: string; tags: string[]; tech: string[] }[]; facets: { tags: { value: string; count: number }[]; tech: { value: string; count: number }[] }; hasMore: boolean };
const api = async (qs = "") => (await (await kit.get(`/api/v1/explore${qs}`)).json()) as ExploreJson;
const names = (j: ExploreJson) => j.projects.map((p) => p.name);

describe("explore", () => {
  test("lists public projects only, to anyone, with tags and tech", async () => {
    const res = await kit.get("/explore");
    expect(res.status).toBe(200);
    const page = await res.text();
    for (const n of ["Old Starred", "Much Remixed", "Fresh"]) expect(page).toContain(n);
    expect(page).not.toContain("Secret Plan");
    expect(page).not.toContain("Hidden Link");
    expect(page).toContain('href="/u/alice"');
    expect(page).toContain("#games");
    const j = await api();
    expect(names(j)).toEqual(["Fresh", "Much Remixed", "Old Starred"]);
    expect(j.projects.find((p) => p.name === "Much Remixed")).toMatchObject({ tags: ["art", "games"], tech: ["go"] });
  });

  test("sorts by stars and by remixes", async () => {
    expect(names(await api("?sort=stars"))).toEqual(["Old Starred", "Much Remixed", "Fresh"]);
    expect(names(await api("?sort=remixes"))).toEqual(["Much Remixed", "Old Starred", "Fresh"]);
    // An unknown sort falls back to recent rather than failing.
    expect(names(await api("?sort=bogus"))).toEqual(["Fresh", "Much Remixed", "Old Starred"]);
  });

  test("filters by tag and tech; facets count public projects only", async () => {
    expect(names(await api("?tag=games"))).toEqual(["Much Remixed", "Old Starred"]);
    expect(names(await api("?tech=static-site"))).toEqual(["Old Starred"]);
    expect(names(await api("?tag=games&tech=go"))).toEqual(["Much Remixed"]);
    expect(names(await api("?tag=nothing-here"))).toEqual([]);
    const all = await api();
    expect(all.facets.tags).toEqual([
      { value: "games", count: 2 },
      { value: "art", count: 1 },
    ]);
    expect(all.facets.tech).toContainEqual({ value: "static-site", count: 1 });
    const page = await (await kit.get("/explore?tag=games")).text();
    expect(page).toContain('aria-current="true"');
    expect(page).not.toContain(">Fresh<");
  });

  test("an htmx request gets the results fragment only", async () => {
    const res = await kit.get("/explore?sort=stars");
    expect(await res.text()).toContain("<!doctype html>");
    const server = createServer(kit.app, { routes: exploreRoutes });
    const frag = await (await server.handle(new Request("http://localhost/explore?sort=stars", { headers: { "HX-Request": "true" } }))).text();
    expect(frag.startsWith('<div id="explore-results"')).toBe(true);
  });

  test("pages through 24 at a time", async () => {
    for (let i = 0; i < 24; i++) await make(`Filler ${i}`, "public", { updatedAt: Date.now() - 100_000 - i });
    const first = await api();
    expect(first.projects).toHaveLength(24);
    expect(first.hasMore).toBe(true);
    const second = await api("?page=2");
    expect(second.hasMore).toBe(false);
    expect(second.projects.length).toBe(27 - 24);
    const page = await (await kit.get("/explore")).text();
    expect(page).toContain('href="/explore?page=2"');
  });
});

describe("profiles", () => {
  test("others see public projects and no trace of private or unlisted ones", async () => {
    for (const who of [undefined, bob]) {
      const res = await kit.get("/u/alice", who);
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain("Old Starred");
      expect(page).not.toContain("Secret Plan");
      expect(page).not.toContain("Hidden Link");
    }
  });

  test("the user themselves sees every project and their events", async () => {
    const page = await (await kit.get("/u/alice", alice)).text();
    expect(page).toContain("Secret Plan");
    expect(page).toContain("Hidden Link");
  });

  test("activity in a private project is hidden from others, even after a rename", async () => {
    const { orm } = kit.app.db;
    const p = made["Secret Plan"] as Project;
    await updateProject(orm, p, { description: "a renamed secret", name: "Codename Falcon" }, alice.user.id);
    expect(await (await kit.get("/u/alice", alice)).text()).toContain("Codename Falcon");
    for (const who of [undefined, bob]) expect(await (await kit.get("/u/alice", who)).text()).not.toContain("Codename Falcon");
  });

  test("team profile: members see private team projects, others only public ones", async () => {
    const { orm } = kit.app.db;
    const team = await createTeam(orm, alice.user, { name: "Studio", slug: "studio" });
    await setMember(orm, team.id, bob.user.id, "viewer", alice.user.id, "owner");
    await createProject(orm, kit.app.config.dataDir, alice.user, { name: "Team Secret", team: team.id, visibility: "private" });
    await createProject(orm, kit.app.config.dataDir, alice.user, { name: "Team Showcase", team: team.id, visibility: "public" });
    const carol = await kit.person("carol");
    const outside = await (await kit.get("/t/studio", carol)).text();
    expect(outside).toContain("Team Showcase");
    expect(outside).not.toContain("Team Secret");
    const anon = await (await kit.get("/t/studio")).text();
    expect(anon).not.toContain("Team Secret");
    const member = await (await kit.get("/t/studio", bob)).text();
    expect(member).toContain("Team Secret");
    expect(member).toContain('href="/teams/');
  });

  test("unknown users and teams are 404", async () => {
    expect((await kit.get("/u/nobody")).status).toBe(404);
    expect((await kit.get("/t/nothing")).status).toBe(404);
  });
});
