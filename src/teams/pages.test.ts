import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createProject } from "../projects/projects.ts";
import { pageKit, type PageKit, type Person } from "../projects/pages-testkit.ts";
import { listMembers, teamRole } from "./teams.ts";
import { teamPageRoutes } from "./pages.tsx";

let kit: PageKit;
let olga: Person; // creates the team → owner
let max: Person; // maintainer
let mia: Person; // member
let vic: Person; // viewer, later
let out: Person; // not in the team
let teamId = "";

const roleOf = (p: Person) => teamRole(kit.app.db.orm, teamId, p.user.id);

beforeAll(async () => {
  kit = await pageKit(teamPageRoutes);
  olga = await kit.person("olga");
  max = await kit.person("max");
  mia = await kit.person("mia");
  vic = await kit.person("vic");
  out = await kit.person("outsider");
});
afterAll(() => kit.close());

describe("teams", () => {
  test("the teams page invites you to create one", async () => {
    const body = await (await kit.get("/teams", olga)).text();
    expect(body).toContain("You are not in a team yet");
    expect(body).toContain('action="/teams"');
  });

  test("creating a team shows errors beside fields, then redirects to it", async () => {
    const empty = await kit.post("/teams", { name: "", slug: "", description: "" }, olga);
    expect(empty.status).toBe(422);
    expect(await empty.text()).toMatch(/id="f-name-error" role="alert">Team name is required\./);
    const taken = await kit.post("/teams", { name: "Max", slug: "max", description: "" }, olga);
    expect(taken.status).toBe(409);
    expect(await taken.text()).toMatch(/id="f-slug-error" role="alert">This slug is taken\./);

    const res = await kit.post("/teams", { name: "Robotics Club", slug: "", description: "We build <robots>" }, olga);
    expect(res.status).toBe(303);
    teamId = (res.headers.get("location") ?? "").replace("/teams/", "");
    expect(await roleOf(olga)).toBe("owner");
    const page = await (await kit.get(`/teams/${teamId}`, olga)).text();
    expect(page).toContain("<h1>Robotics Club</h1>");
    expect(page).toContain("We build &lt;robots&gt;");
    expect(page).toContain("robotics-club");
  });

  test("owners add members by username or email", async () => {
    const byName = await kit.post(`/teams/${teamId}/members`, { who: "max", role: "maintainer" }, olga);
    expect(byName.status).toBe(303);
    expect(byName.headers.get("location")).toBe(`/teams/${teamId}?ok=added`);
    expect((await kit.post(`/teams/${teamId}/members`, { who: "MIA@example.com", role: "member" }, olga)).status).toBe(303);
    expect(await roleOf(max)).toBe("maintainer");
    expect(await roleOf(mia)).toBe("member");
    expect(await (await kit.get(`/teams/${teamId}?ok=added`, olga)).text()).toContain("Member added.");
  });

  test("unknown people and existing members are errors beside the field", async () => {
    const nobody = await kit.post(`/teams/${teamId}/members`, { who: "ghost", role: "member" }, olga);
    expect(nobody.status).toBe(422);
    expect(await nobody.text()).toMatch(/id="f-who-error" role="alert">Nobody is called “ghost” here/);
    const again = await kit.post(`/teams/${teamId}/members`, { who: "max", role: "member" }, olga);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("max is already in this team");
    expect(await roleOf(max)).toBe("maintainer");
  });

  test("a maintainer cannot grant owner: the service's refusal is shown on the page", async () => {
    const page = await (await kit.get(`/teams/${teamId}`, max)).text();
    expect(page).not.toContain('<option value="owner"'); // not offered
    const res = await kit.post(`/teams/${teamId}/members`, { who: "vic", role: "owner" }, max);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/class="field-error" role="alert">Only team owners can grant, change or remove the owner role\./);
    expect(await roleOf(vic)).toBeNull();
    const promote = await kit.post(`/teams/${teamId}/members/${mia.user.id}/role`, { role: "owner" }, max);
    expect(promote.status).toBe(403);
    expect(await promote.text()).toMatch(/class="flash error" role="alert">Only team owners can grant/);
    expect(await roleOf(mia)).toBe("member");
  });

  test("members and outsiders cannot manage; outsiders cannot see the team", async () => {
    expect((await kit.post(`/teams/${teamId}/members`, { who: "vic", role: "viewer" }, mia)).status).toBe(403);
    const page = await (await kit.get(`/teams/${teamId}`, mia)).text();
    expect(page).not.toContain("Add a member");
    expect(page).toContain("New project"); // members may create team projects
    expect((await kit.get(`/teams/${teamId}`, out)).status).toBe(404);
  });

  test("role changes and removal by a maintainer", async () => {
    expect((await kit.post(`/teams/${teamId}/members`, { who: "vic", role: "viewer" }, max)).status).toBe(303);
    const res = await kit.post(`/teams/${teamId}/members/${vic.user.id}/role`, { role: "member" }, max);
    expect(res.status).toBe(303);
    expect(await roleOf(vic)).toBe("member");
    const removed = await kit.post(`/teams/${teamId}/members/${vic.user.id}/remove`, {}, max);
    expect(removed.status).toBe(303);
    expect(await roleOf(vic)).toBeNull();
    const ownerGone = await kit.post(`/teams/${teamId}/members/${olga.user.id}/remove`, {}, max);
    expect(ownerGone.status).toBe(403);
    expect(await ownerGone.text()).toContain("Only team owners can remove an owner.");
  });

  test("the last owner cannot leave; others can", async () => {
    const res = await kit.post(`/teams/${teamId}/leave`, {}, olga);
    expect(res.status).toBe(409);
    expect(await res.text()).toContain("A team must keep at least one owner");
    const mine = await kit.post(`/teams/${teamId}/leave`, {}, mia);
    expect(mine.status).toBe(303);
    expect((await listMembers(kit.app.db.orm, teamId)).map((m) => m.user.username)).toEqual(["olga", "max"]);
  });

  test("the team page lists the team's projects", async () => {
    const p = await createProject(kit.app.db.orm, kit.app.config.dataDir, olga.user, { name: "Arm Controller", team: teamId });
    const body = await (await kit.get(`/teams/${teamId}`, max)).text();
    expect(body).toContain(`<a class="name" href="/projects/${p.id}">Arm Controller</a>`);
    expect(body).toContain(`href="/new?team=${teamId}"`);
  });
});
