/** The IDE page as the server renders it, through the real guard: who gets what, 404s, escaping. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Project } from "../db/schema.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { colorFor } from "../collab/peer.ts";
import { createProject } from "./projects.ts";
import { writeProjectFile } from "./files.ts";
import { editorOf, saveVersion } from "./versions.ts";
import { ideRoutes } from "./pages-ide.tsx";
import { pageKit, type PageKit, type Person } from "./pages-testkit.ts";

let kit: PageKit;
let owner: Person; // owns the team → admin
let writer: Person; // team member → write
let viewer: Person; // team viewer → read
let stranger: Person; // signed in, not in the team
let project: Project; // the team's private project
let open: Project; // the owner's public project, with an unsafe name

const enc = (s: string) => new TextEncoder().encode(s);
const ide = (p: Project, path = "") => `/projects/${p.id}/ide${path ? `/${path}` : ""}`;
/** The value of `data-<name>` on #ide, as written in the HTML (entities left as they are). */
const attr = (body: string, name: string) => new RegExp(`<div id="ide"[^>]* data-${name}="([^"]*)"`).exec(body)?.[1];

beforeAll(async () => {
  kit = await pageKit(ideRoutes);
  const orm = kit.app.db.orm;
  owner = await kit.person("olga");
  writer = await kit.person("wes");
  viewer = await kit.person("vera");
  stranger = await kit.person("sam");
  const team = await createTeam(orm, owner.user, { name: "Crew" });
  await setMember(orm, team.id, writer.user.id, "member", owner.user.id, "owner");
  await setMember(orm, team.id, viewer.user.id, "viewer", owner.user.id, "owner");
  project = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Site", team: team.id });
  open = await createProject(orm, kit.app.config.dataDir, owner.user, { name: `Open <script>alert("x")</script>`, visibility: "public" });
  const write = (p: Project, path: string, text: string) => writeProjectFile(orm, kit.app.config.dataDir, p, path, enc(text), 1 << 20, owner.user.id);
  await write(project, "src/app.ts", "export const x = 1;\n");
  await write(project, "README.md", "# Site\n");
  await write(open, 'odd/<b>"quoted" & more.txt', "text\n");
});
afterAll(() => kit.close());

describe("IDE page access", () => {
  const cases: { name: string; who: () => Person; access: string; readOnly: boolean }[] = [
    { name: "the team's owner (admin)", who: () => owner, access: "admin", readOnly: false },
    { name: "a team member (write)", who: () => writer, access: "write", readOnly: false },
    { name: "a team viewer (read)", who: () => viewer, access: "read", readOnly: true },
  ];
  for (const c of cases) {
    test(`${c.name}: access ${c.access}, ${c.readOnly ? "read-only, no tree controls" : "tree controls"}`, async () => {
      const res = await kit.get(ide(project, "src/app.ts"), c.who());
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(attr(body, "access")).toBe(c.access);
      expect(attr(body, "path")).toBe("src/app.ts");
      expect(attr(body, "path-kind")).toBe("file");
      expect(attr(body, "user-id")).toBe(c.who().user.id);
      expect(attr(body, "user-color")).toBe(colorFor(c.who().user.id, c.who().user.id));
      expect(attr(body, "csrf")).toBe(c.who().csrf);
      expect(body.includes('data-read-only="true"')).toBe(c.readOnly);
      expect(body.includes('id="ide-tree-tools"')).toBe(!c.readOnly);
      expect(body.includes('id="ide-prompt"')).toBe(!c.readOnly);
      expect(body.includes("Read-only</span>")).toBe(c.readOnly);
      // The no-JS fallback: the plain-form editor for writers, the file view for readers.
      const fallback = c.readOnly ? `/projects/${project.id}/blob/src/app.ts` : `/projects/${project.id}/edit/src/app.ts`;
      expect(body).toContain(`href="${fallback}"`);
      // The island and its styles come from our own origin.
      expect(body).toContain('<script type="module" src="/assets/islands/ide/ide.js"></script>');
      expect(body).toContain('<link rel="stylesheet" href="/assets/islands/ide/ide.css">');
      // The server-rendered tree links each file to the IDE.
      expect(body).toContain(`href="/projects/${project.id}/ide/README.md"`);
    });
  }

  test("anonymous readers of a public project get a read-only guest page without a CSRF token", async () => {
    const res = await kit.get(ide(open));
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(attr(body, "access")).toBe("read");
    expect(attr(body, "user-id")).toBe("");
    expect(attr(body, "user-name")).toBe("Guest");
    expect(body).not.toContain("data-csrf=");
    expect(body).toContain('data-read-only="true"');
  });

  test("a private project: anonymous visitors are sent to log in, outsiders get 404", async () => {
    const anon = await kit.get(ide(project, "src/app.ts"));
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toBe(`/login?next=${encodeURIComponent(ide(project, "src/app.ts"))}`);
    expect((await kit.get(ide(project), stranger)).status).toBe(404);
    expect((await kit.get(ide(project, "src/app.ts"), stranger)).status).toBe(404);
  });

  test("a missing file, a bad path and an unknown project are 404 pages", async () => {
    for (const path of [ide(project, "src/nope.ts"), ide(project, "..%2Fetc%2Fpasswd"), ide(project, "src//app.ts"), "/projects/nosuchproject/ide"]) {
      const res = await kit.get(path, owner);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.headers.get("content-type")).toContain("text/html");
    }
  });

  test("a folder in the URL opens the IDE with no file, the folder named for the tree to reveal", async () => {
    const body = await (await kit.get(ide(project, "src"), writer)).text();
    expect(attr(body, "path")).toBe("src");
    expect(attr(body, "path-kind")).toBe("dir");
    expect(body).toContain('<span class="ide-title mono" id="ide-title"></span>');
    expect(body).toContain("Open a file from the tree");
  });
});

describe("IDE page content", () => {
  test("names and paths are escaped everywhere", async () => {
    const path = `odd/${encodeURIComponent('<b>"quoted" & more.txt')}`;
    const res = await kit.get(ide(open, path), owner);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain("<script>alert");
    expect(body).not.toContain('<b>"quoted"');
    expect(attr(body, "path")).toBe("odd/&lt;b&gt;&quot;quoted&quot; &amp; more.txt");
    expect(attr(body, "project-name")).toBe("Open &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(body).toContain("<title>odd/&lt;b&gt;&quot;quoted&quot; &amp; more.txt · Open &lt;script&gt;");
  });

  test("the shortcut list is on the page; writer-only shortcuts only for writers", async () => {
    const asWriter = await (await kit.get(ide(project), writer)).text();
    expect(asWriter).toContain('<dialog class="ide-dialog" id="ide-help"');
    expect(asWriter).toContain("<kbd>Ctrl+P</kbd>");
    expect(asWriter).toContain("<kbd>Alt+N</kbd>");
    expect(asWriter).toContain("Undo your own last edit");
    const asViewer = await (await kit.get(ide(project), viewer)).text();
    expect(asViewer).toContain("<kbd>Ctrl+P</kbd>");
    expect(asViewer).not.toContain("<kbd>Alt+N</kbd>");
  });

  test("the status bar shows the last saved version, linked to the history", async () => {
    const before = await (await kit.get(ide(project), writer)).text();
    expect(before).toContain("No version saved yet");
    const v = await saveVersion(kit.app.db.orm, kit.app.config.dataDir, project, { message: "First", author: editorOf(writer.user) });
    const after = await (await kit.get(ide(project), writer)).text();
    expect(after).toContain(`href="/projects/${project.id}/history"`);
    expect(after).toContain(`<span class="mono">${v.shortId}</span>`);
  });
});
