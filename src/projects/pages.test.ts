import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { events, type Project, type Team } from "../db/schema.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { createProject, getProject } from "./projects.ts";
import { listTree, writeFile } from "./files.ts";
import { projectPageRoutes } from "./pages.tsx";
import { pageKit, type PageKit, type Person } from "./pages-testkit.ts";

let kit: PageKit;
let owner: Person; // owns the team (project admin)
let writer: Person; // team member → write
let viewer: Person; // team viewer → read
let stranger: Person;
let team: Team;
let project: Project;

const enc = (s: string) => new TextEncoder().encode(s);
const fileEvents = async (id: string) =>
  (await kit.app.db.orm.select().from(events).where(eq(events.projectId, id))).filter((e) => e.kind.startsWith("file."));

beforeAll(async () => {
  kit = await pageKit(projectPageRoutes);
  owner = await kit.person("olivia");
  writer = await kit.person("wes");
  viewer = await kit.person("vera");
  stranger = await kit.person("stan");
  const orm = kit.app.db.orm;
  team = await createTeam(orm, owner.user, { name: "Crew" });
  await setMember(orm, team.id, writer.user.id, "member", owner.user.id, "owner");
  await setMember(orm, team.id, viewer.user.id, "viewer", owner.user.id, "owner");
  project = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Site", team: team.id, description: "The <b>site</b>" });
});
afterAll(() => kit.close());

describe("new project", () => {
  test("the form lists the user and the teams they can create in", async () => {
    const res = await kit.get("/new", writer);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("wes (you)");
    expect(body).toContain(`value="${team.id}"`);
    const viewerForm = await (await kit.get("/new", viewer)).text();
    expect(viewerForm).not.toContain(`value="${team.id}"`); // viewers cannot create team projects
  });

  test("an empty name shows an error beside the name field and creates nothing", async () => {
    const res = await kit.post("/new", { name: "  ", description: "x", visibility: "public", owner: "" }, stranger);
    expect(res.status).toBe(422);
    const body = await res.text();
    expect(body).toMatch(/<div class="field has-error"><label for="f-name">Project name<\/label>[\s\S]*?<p class="field-error" id="f-name-error" role="alert">Give the project a name\.<\/p>/);
    expect(body).toContain('value="public" checked'); // what the user chose is kept
  });

  test("a team the user may not create in is an error on the owner field", async () => {
    const res = await kit.post("/new", { name: "Nope", visibility: "private", owner: team.id }, viewer);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/id="f-owner-error"[^>]*>Only team owners, maintainers and members/);
  });

  test("success redirects (303) to the new project's page", async () => {
    const res = await kit.post("/new", { name: "My Notes", description: "", visibility: "unlisted", owner: "" }, stranger);
    expect(res.status).toBe(303);
    const id = res.headers.get("location")?.replace("/projects/", "") ?? "";
    const created = await getProject(kit.app.db.orm, id);
    expect(created).toMatchObject({ name: "My Notes", slug: "my-notes", visibility: "unlisted", ownerUserId: stranger.user.id });
  });

  test("a forged CSRF token is refused", async () => {
    const res = await kit.post("/new", { name: "Forged", _csrf: "x".repeat(64) }, stranger);
    expect(res.status).toBe(403);
  });
});

describe("project page", () => {
  test("shows the header, escapes the description, and offers writers the Add a file form", async () => {
    const res = await kit.get(`/projects/${project.id}`, writer);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("crew</a><span aria-hidden=\"true\"> / </span>");
    expect(body).toContain('<span class="badge private"');
    expect(body).toContain("The &lt;b&gt;site&lt;/b&gt;");
    expect(body).toContain(`action="/projects/${project.id}/files"`);
    expect(body).not.toContain("/settings"); // writers are not project admins
  });

  test("a viewer sees no Add a file form and gets 403 when posting one", async () => {
    const body = await (await kit.get(`/projects/${project.id}`, viewer)).text();
    expect(body).not.toContain(`action="/projects/${project.id}/files"`);
    expect(body).not.toContain("Add file");
    const res = await kit.post(`/projects/${project.id}/files`, { path: "x.txt", content: "hi" }, viewer);
    expect(res.status).toBe(403);
    expect(await listTree(kit.app.config.dataDir, project.id)).toEqual([]);
  });

  test("a stranger gets 404 for a private project; anonymous is sent to log in", async () => {
    expect((await kit.get(`/projects/${project.id}`, stranger)).status).toBe(404);
    const anon = await kit.get(`/projects/${project.id}`);
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toBe(`/login?next=${encodeURIComponent(`/projects/${project.id}`)}`);
  });

  test("a ../x path is an error beside the path field and writes nothing", async () => {
    const res = await kit.post(`/projects/${project.id}/files`, { path: "../x", content: "pwned" }, writer);
    expect(res.status).toBe(422);
    const body = await res.text();
    expect(body).toMatch(/<div class="field has-error"><label for="f-path">Path<\/label>[\s\S]*?id="f-path-error" role="alert">Path must not contain &quot;\.\.&quot; segments\.<\/p>/);
    expect(body).toContain('<details class="card" id="new-file" open>');
    expect(body).toContain(">pwned</textarea>"); // the content is kept for a retry
    expect(await listTree(kit.app.config.dataDir, project.id)).toEqual([]);
    expect(await fileEvents(project.id)).toEqual([]);
  });

  test("creating a file redirects to it, records an event, and the blob page escapes and highlights it", async () => {
    const js = 'const html = "<script>alert(1)</script>";\r\nexport default html;\r\n';
    const res = await kit.post(`/projects/${project.id}/files`, { path: "src/app.js", content: js }, writer);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/projects/${project.id}/blob/src/app.js`);
    expect((await fileEvents(project.id)).map((e) => [e.kind, e.subjectId, e.actorId])).toEqual([["file.created", "src/app.js", writer.user.id]]);

    const page = await kit.get(`/projects/${project.id}/blob/src/app.js`, viewer);
    expect(page.status).toBe(200);
    const body = await page.text();
    expect(body).not.toContain("<script>alert(1)</script>");
    expect(body).toContain('<span class="hl-str">&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</span>');
    expect(body).toContain('<span class="hl-kw">const</span>');
    expect(body).toContain('<tr id="L2"><td class="ln" aria-hidden="true"><a href="#L2" data-line="2" tabindex="-1"></a></td>');
    expect(body).not.toContain('id="L3"'); // CRLF became LF; no phantom line
    expect(body).toContain("2 lines");
    expect(body).toContain("JavaScript");
    expect(body).toMatch(/<ol class="breadcrumbs">[\s\S]*?<a href="\/projects\/[a-z0-9]+\/blob\/src">src<\/a>[\s\S]*?aria-current="page">app\.js</);
    expect(body).not.toContain("blob-delete"); // viewers cannot delete
  });

  test("an existing path is refused rather than overwritten", async () => {
    const res = await kit.post(`/projects/${project.id}/files`, { path: "src/app.js", content: "x" }, writer);
    expect(res.status).toBe(409);
    expect(await res.text()).toContain("already exists");
  });

  test("a folder shows its entries; a missing path is 404", async () => {
    const body = await (await kit.get(`/projects/${project.id}/blob/src`, writer)).text();
    expect(body).toContain(`href="/projects/${project.id}/blob/src/app.js">app.js</a>`);
    expect((await kit.get(`/projects/${project.id}/blob/nope.txt`, writer)).status).toBe(404);
    expect((await kit.get(`/projects/${project.id}/blob/%E0%A4%A`, writer)).status).toBe(404);
  });

  test("a binary file shows its size and a download link to the raw API", async () => {
    await writeFile(kit.app.config.dataDir, project.id, "img/logo.bin", new Uint8Array([0, 1, 2, 255, 0]), 1000);
    const body = await (await kit.get(`/projects/${project.id}/blob/img/logo.bin`, viewer)).text();
    expect(body).toContain("Binary file, 5 bytes");
    expect(body).toContain(`href="/api/v1/projects/${project.id}/files/img/logo.bin"`);
  });

  test("file names with spaces and unicode round-trip through URLs", async () => {
    const res = await kit.post(`/projects/${project.id}/files`, { path: "docs/read me ✓.md", content: "# Hi" }, writer);
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    expect(location).toBe(`/projects/${project.id}/blob/docs/read%20me%20%E2%9C%93.md`);
    expect((await kit.get(location, writer)).status).toBe(200);
  });

  test("the README is rendered as safe Markdown", async () => {
    await writeFile(kit.app.config.dataDir, project.id, "README.md", enc("# Site\n\n<img src=x onerror=alert(1)> **bold** [docs](docs/guide.md) [x](javascript:alert(1))\n"), 10000);
    const body = await (await kit.get(`/projects/${project.id}`, viewer)).text();
    expect(body).toContain("<h2>Site</h2>");
    expect(body).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(body).toContain("<strong>bold</strong>");
    expect(body).toContain(`<a href="/projects/${project.id}/blob/docs/guide.md">docs</a>`);
    expect(body).not.toContain("javascript:alert");
  });

  test("deleting a file (writers only) goes back to its folder", async () => {
    expect((await kit.post(`/projects/${project.id}/blob-delete`, { path: "img/logo.bin" }, viewer)).status).toBe(403);
    await writeFile(kit.app.config.dataDir, project.id, "img/other.bin", new Uint8Array([0]), 10);
    const res = await kit.post(`/projects/${project.id}/blob-delete`, { path: "img/logo.bin" }, writer);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/projects/${project.id}/blob/img`);
    expect((await kit.get(`/projects/${project.id}/blob/img/logo.bin`, writer)).status).toBe(404);
    expect((await kit.post(`/projects/${project.id}/blob-delete`, { path: "../etc/passwd" }, writer)).status).toBe(404);
  });
});

describe("public projects", () => {
  test("anonymous visitors can read a public project without getting a cookie or any write form", async () => {
    const pub = await createProject(kit.app.db.orm, kit.app.config.dataDir, stranger.user, { name: "Open Data", visibility: "public" });
    await writeFile(kit.app.config.dataDir, pub.id, "data.csv", enc("a,b\n1,2\n"), 1000);
    for (const path of [`/projects/${pub.id}`, `/projects/${pub.id}/blob/data.csv`]) {
      const res = await kit.get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("set-cookie")).toBeNull();
      const body = await res.text();
      expect(body).not.toContain("_csrf");
      expect(body).toContain("Open Data");
    }
    expect((await kit.post(`/projects/${pub.id}/files`, { path: "x", content: "y" })).status).toBe(303); // → login
  });
});

describe("project settings", () => {
  test("only project admins reach settings", async () => {
    expect((await kit.get(`/projects/${project.id}/settings`, writer)).status).toBe(403);
    expect((await kit.post(`/projects/${project.id}/settings`, { name: "X", visibility: "public" }, writer)).status).toBe(403);
    const res = await kit.get(`/projects/${project.id}/settings`, owner);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data-confirm-match="Site"');
  });

  test("saving validates beside the fields, then saves and shows a confirmation", async () => {
    const bad = await kit.post(`/projects/${project.id}/settings`, { name: "", description: "", visibility: "public" }, owner);
    expect(bad.status).toBe(422);
    expect(await bad.text()).toMatch(/id="f-name-error" role="alert">Project name is required\./);
    const badVis = await kit.post(`/projects/${project.id}/settings`, { name: "Site", description: "", visibility: "secret" }, owner);
    expect(badVis.status).toBe(422);
    expect(await badVis.text()).toContain('id="f-visibility-error"');

    const ok = await kit.post(`/projects/${project.id}/settings`, { name: "Site 2", description: "New words", visibility: "public" }, owner);
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe(`/projects/${project.id}/settings?saved=1`);
    expect(await getProject(kit.app.db.orm, project.id)).toMatchObject({ name: "Site 2", description: "New words", visibility: "public", slug: "site" });
    expect(await (await kit.get(`/projects/${project.id}/settings?saved=1`, owner)).text()).toContain("Settings saved.");
  });

  test("deleting needs the exact name typed", async () => {
    const wrong = await kit.post(`/projects/${project.id}/delete`, { confirm: "site 2" }, owner);
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain("Type the project&#39;s name exactly");
    expect(await getProject(kit.app.db.orm, project.id)).toBeDefined();
    const ok = await kit.post(`/projects/${project.id}/delete`, { confirm: "Site 2" }, owner);
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/");
    expect(await getProject(kit.app.db.orm, project.id)).toBeUndefined();
  });
});
