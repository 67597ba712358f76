/** History pages through the real guard (createServer(...).handle): list, save, diff, tree, restore. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Project, Team } from "../db/schema.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { createServer } from "../server/server.ts";
import { createProject } from "./projects.ts";
import { readFile, writeProjectFile } from "./files.ts";
import { editorOf, listVersions, saveVersion } from "./versions.ts";
import { versionApiRoutes } from "./versions-routes.ts";
import { historyPageRoutes } from "./pages-history.tsx";
import { pageKit, type PageKit, type Person } from "./pages-testkit.ts";

let kit: PageKit;
let htmxServer: ReturnType<typeof createServer>;
let writer: Person; // team member → write
let viewer: Person; // team viewer → read
let team: Team;
let project: Project;

const enc = (s: string) => new TextEncoder().encode(s);
const url = (p = "") => `/projects/${project.id}/history${p}`;
const write = (path: string, text: string) =>
  writeProjectFile(kit.app.db.orm, kit.app.config.dataDir, project, path, enc(text), kit.app.config.maxFileBytes, writer.user.id);
/** A GET as htmx makes it (HX-Request), as the viewer. */
const htmx = async (path: string) =>
  (await htmxServer.handle(new Request(`http://localhost${path}`, { headers: { cookie: viewer.cookie, "hx-request": "true" } }))).text();
/** The text of each table row of `cls` (markup stripped, entities left as they are). */
const rows = (body: string, cls: string) => [...body.matchAll(new RegExp(`<tr class="${cls}">(.*?)</tr>`, "g"))].map((m) => (m[1] ?? "").replace(/<[^>]+>/g, ""));
const versions = async () => (await listVersions(kit.app.config.dataDir, project.id, { limit: 100 })).versions;

beforeAll(async () => {
  kit = await pageKit([...historyPageRoutes, ...versionApiRoutes]);
  htmxServer = createServer(kit.app, { routes: historyPageRoutes });
  const owner = await kit.person("olivia");
  writer = await kit.person("wes");
  viewer = await kit.person("vera");
  const orm = kit.app.db.orm;
  team = await createTeam(orm, owner.user, { name: "Crew" });
  await setMember(orm, team.id, writer.user.id, "member", owner.user.id, "owner");
  await setMember(orm, team.id, viewer.user.id, "viewer", owner.user.id, "owner");
  project = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Site", team: team.id });
});
afterAll(() => kit.close());

describe("history page and saving", () => {
  test("an empty history says so; writers get the save form, readers do not", async () => {
    const body = await (await kit.get(url(), writer)).text();
    expect(body).toContain("No versions yet");
    expect(body).toContain(`action="${url("/save")}"`);
    expect(body).toContain('aria-current="page">History</a>');
    const asViewer = await kit.get(url(), viewer);
    expect(asViewer.status).toBe(200);
    expect(await asViewer.text()).not.toContain('id="save-version"');
  });

  test("saving with nothing to save shows the reason beside the message field (409), keeping the message", async () => {
    const res = await kit.post(url("/save"), { message: "First try" }, writer);
    expect(res.status).toBe(409);
    const body = await res.text();
    expect(body).toMatch(/<p class="field-error" id="f-message-error" role="alert">There is nothing to save yet/);
    expect(body).toContain('value="First try"');
    expect(body).toContain('aria-invalid="true"');
  });

  test("save → 303 to the history page, which lists the version with author, files changed and short sha", async () => {
    await write("index.html", "<h1>Hello</h1>\n<p>one</p>\n");
    await write("app.js", "console.log('hi');\n");
    const res = await kit.post(url("/save"), { message: "First <b>page</b>\n\nWith a body." }, writer);
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    const sha = /saved=([0-9a-f]{40})$/.exec(location)?.[1] ?? "";
    expect(sha).not.toBe("");
    const body = await (await kit.get(location, writer)).text();
    expect(body).toContain(`Saved version <a href="${url(`/${sha}`)}">${sha.slice(0, 7)}</a>`);
    expect(body).toContain("First &lt;b&gt;page&lt;/b&gt;</a>");
    expect(body).not.toContain("With a body."); // only the subject in the list
    expect(body).toContain("<strong title=\"wes@example.com\">Wes</strong> saved");
    expect(body).toContain("2 files changed");
    expect(body).toContain(`>${sha.slice(0, 7)}</a>`);
  });

  test("saving again without changes is a 409 beside the field; a too-long message is a 422", async () => {
    const same = await kit.post(url("/save"), { message: "Again" }, writer);
    expect(same.status).toBe(409);
    expect(await same.text()).toMatch(/id="f-message-error" role="alert">Nothing changed since the last version\./);
    await write("app.js", "console.log('changed');\n");
    const long = await kit.post(url("/save"), { message: "x".repeat(5001) }, writer);
    expect(long.status).toBe(422);
    expect(await long.text()).toContain('id="f-message-error"');
  });

  test("unsaved edits are pointed out with a link comparing them with the last version", async () => {
    const [head] = await versions();
    const body = await (await kit.get(url(), viewer)).text();
    expect(body).toContain("changes that are not saved as a version yet");
    expect(body).toContain(`href="${url(`/${head?.id}?against=worktree`)}"`);
  });
});

describe("a version and its diff", () => {
  let first: string;
  let second: string;

  beforeAll(async () => {
    first = (await versions()).at(-1)?.id ?? "";
    await write("index.html", '<h1>Hello</h1>\n<script>alert("x")</script>\n');
    await write("data.bin", "\u0000\u0001\u0002");
    second = (await saveVersion(kit.app.db.orm, kit.app.config.dataDir, project, { message: "Add a script", author: editorOf(writer.user) })).id;
  });

  test("unified: the changed lines are shown escaped and coloured as added/removed; binaries are named", async () => {
    const res = await kit.get(url(`/${second}`), viewer);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain('<script>alert("x")</script>');
    expect(rows(body, "diff-add")).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(rows(body, "diff-del")).toContain("&lt;p&gt;one&lt;/p&gt;");
    expect(body).toContain("Binary file added.");
    expect(body).toContain(`href="${url(`/${first}`)}"`); // the parent
    expect(body).toContain(`/api/v1/projects/${project.id}/archive.zip?version=${second}`);
    expect(body).toMatch(/3 files changed/);
    expect(body).toContain('aria-current="true"'); // the Unified toggle
  });

  test("split view pairs removed and added lines side by side", async () => {
    const body = await (await kit.get(url(`/${second}?view=split`), viewer)).text();
    expect(body).toContain('class="diff-table diff-split"');
    const paired = [...body.matchAll(/<tr>(<td class="diff-ln diff-del" data-n="2">.*?)<\/tr>/g)].map((m) => (m[1] ?? "").replace(/<[^>]+>/g, ""));
    expect(paired).toEqual(["&lt;p&gt;one&lt;/p&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"]);
    expect(body).toMatch(/<tr><td class="diff-ln diff-del" data-n="2"><\/td><td class="diff-code diff-del">.*?<\/td><td class="diff-ln diff-add" data-n="2">/);
    expect(body).not.toContain("<script>alert");
  });

  test("?against=<sha> compares with another version; ?against=worktree with the current files", async () => {
    const vs = await kit.get(url(`/${second}?against=${first.slice(0, 10)}`), viewer);
    expect(vs.status).toBe(200);
    const vsBody = await vs.text();
    expect(vsBody).toContain(`Changes from <code>${first.slice(0, 7)}</code> to <code>${second.slice(0, 7)}</code>`);
    expect(vsBody).toContain("data.bin");

    await write("index.html", "<h1>Now</h1>\n");
    const wt = await (await kit.get(url(`/${second}?against=worktree`), viewer)).text();
    expect(wt).toContain("to the current files");
    expect(rows(wt, "diff-add")).toContain("&lt;h1&gt;Now&lt;/h1&gt;");
    expect(wt).toContain(`href="/projects/${project.id}/blob/index.html"`);
  });

  test("the first version has no parent; unknown and malformed ids are 404 pages", async () => {
    const body = await (await kit.get(url(`/${first}`), viewer)).text();
    expect(body).toContain("None — this is the first version.");
    expect(body).toContain("Files of the first version");
    expect((await kit.get(url("/0123456789abcdef0123456789abcdef01234567"), viewer)).status).toBe(404);
    expect((await kit.get(url("/not-a-sha"), viewer)).status).toBe(404);
    expect((await kit.get(url(`/${second}?against=zzz`), viewer)).status).toBe(404);
  });

  test("switching the layout with htmx focuses the active toggle (a plain load does not)", async () => {
    expect(await (await kit.get(url(`/${second}?view=split`), viewer)).text()).not.toContain("autofocus");
    const swapped = await htmx(url(`/${second}?view=split`));
    expect(swapped).toMatch(/<a href="[^"]*view=split" class="diff-view-link" aria-current="true"[^>]*autofocus>/);
  });
});

describe("a version's files", () => {
  test("the tree, a folder and a highlighted, escaped file; unknown paths are 404", async () => {
    const [head] = await versions();
    const sha = head?.id ?? "";
    const root = await kit.get(url(`/${sha}/tree`), viewer);
    expect(root.status).toBe(200);
    const rootBody = await root.text();
    expect(rootBody).toContain(`href="${url(`/${sha}/tree/index.html`)}"`);
    expect(rootBody).toContain("Download zip of this version");
    const file = await (await kit.get(url(`/${sha}/tree/index.html`), viewer)).text();
    expect(file.replace(/<span class="hl-[a-z]+">|<\/span>/g, "")).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(file).not.toContain('<script>alert("x")</script>');
    expect(file).toContain(`/api/v1/projects/${project.id}/versions/${sha}/files/index.html`);
    expect((await kit.get(url(`/${sha}/tree/nope.txt`), viewer)).status).toBe(404);
    expect((await kit.get(url(`/${sha}/tree/..%2F..%2Fetc`), viewer)).status).toBe(404);
  });

  test("the zip link works with the browser's session cookie", async () => {
    const [head] = await versions();
    const res = await kit.get(`/api/v1/projects/${project.id}/archive.zip?version=${head?.id}`, viewer);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0x50, 0x4b]); // "PK"
  });
});

describe("restoring", () => {
  test("restore makes a new version with the old files and says so on the history page", async () => {
    const before = await versions();
    const oldest = before.at(-1)?.id ?? "";
    const res = await kit.post(url(`/${oldest}/restore`), {}, writer);
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    expect(location).toMatch(new RegExp(`^${url()}\\?restored=[0-9a-f]{40}&from=${oldest}$`));
    const after = await versions();
    expect(after.length).toBeGreaterThan(before.length); // the restore (and an autosave of the unsaved edit)
    expect(after[0]?.message).toStartWith(`Restore version ${oldest.slice(0, 12)}`);
    const { bytes } = await readFile(kit.app.config.dataDir, project.id, "index.html");
    expect(new TextDecoder().decode(bytes)).toBe("<h1>Hello</h1>\n<p>one</p>\n");
    const page = await (await kit.get(location, writer)).text();
    expect(page).toContain("as the new version");
  });

  test("restoring what the project already has is a note, not an error", async () => {
    const [head] = await versions();
    const res = await kit.post(url(`/${head?.id}/restore`), {}, writer);
    expect(res.status).toBe(303);
    const page = await (await kit.get(res.headers.get("location") ?? "", writer)).text();
    expect(page).toContain("Nothing to restore");
  });

  test("the version page offers writers a confirmed restore form; readers see none and get 403 on the posts", async () => {
    const [head] = await versions();
    const asWriter = await (await kit.get(url(`/${head?.id}`), writer)).text();
    expect(asWriter).toMatch(/<form method="post" action="[^"]+\/restore" class="inline" data-confirm="Restore version/);
    expect(asWriter).toContain(`href="${url("?save=1#save-version")}">Save version</a>`); // the header button
    const asViewer = await (await kit.get(url(`/${head?.id}`), viewer)).text();
    expect(asViewer).not.toContain("/restore");
    expect(asViewer).not.toContain("Save version");
    const count = (await versions()).length;
    expect((await kit.post(url(`/${head?.id}/restore`), {}, viewer)).status).toBe(403);
    await write("x.txt", "x\n");
    expect((await kit.post(url("/save"), { message: "sneaky" }, viewer)).status).toBe(403);
    expect((await versions()).length).toBe(count);
  });

  test("a forged CSRF token is refused", async () => {
    const res = await kit.post(url("/save"), { message: "forged", _csrf: "x".repeat(64) }, writer);
    expect(res.status).toBe(403);
  });
});

describe("large diffs", () => {
  test("a file with more changed lines than a page shows is named with its counts and a raw-diff link", async () => {
    const orm = kit.app.db.orm;
    const big = await createProject(orm, kit.app.config.dataDir, writer.user, { name: "Big" });
    const lines = Array.from({ length: 6000 }, (_, i) => `line ${i}`).join("\n");
    await writeProjectFile(orm, kit.app.config.dataDir, big, "big.txt", enc(`${lines}\n`), kit.app.config.maxFileBytes, writer.user.id);
    await writeProjectFile(orm, kit.app.config.dataDir, big, "small.txt", enc("small\n"), kit.app.config.maxFileBytes, writer.user.id);
    const v = await saveVersion(orm, kit.app.config.dataDir, big, { message: "Big", author: editorOf(writer.user) });
    const body = await (await kit.get(`/projects/${big.id}/history/${v.id}`, writer)).text();
    expect(body).toContain("This file’s changes are too large to show here (+6000 −0 lines).");
    expect(body).toContain("Some files’ changes are too large to show here.");
    expect(body).toContain(`href="/api/v1/projects/${big.id}/versions/${v.id}/diff"`);
    expect(rows(body, "diff-add")).toEqual(["small"]); // the small file still shows
  });
});

describe("pagination", () => {
  test("30 versions a page; 'Older versions' follows the cursor, and htmx gets the items and a new pager", async () => {
    for (let i = (await versions()).length; i <= 31; i++) {
      await write("counter.txt", `${i}\n`);
      await saveVersion(kit.app.db.orm, kit.app.config.dataDir, project, { message: `Count ${i}`, author: editorOf(writer.user) });
    }
    const all = await versions();
    const first = await (await kit.get(url(), viewer)).text();
    expect(first.match(/class="history-item/g)?.length).toBe(30);
    const older = /href="(\/projects\/[^"]+\/history\?cursor=[^"]+)"/.exec(first)?.[1] ?? "";
    expect(older).not.toBe("");
    const page2 = await (await kit.get(older.replace(/&amp;/g, "&"), viewer)).text();
    expect(page2.match(/class="history-item/g)?.length).toBe(all.length - 30);
    expect(page2).toContain(all.at(-1)?.id.slice(0, 7) ?? "?");
    expect(page2).toContain("Newest versions");
    const frag = await htmx(older.replace(/&amp;/g, "&"));
    expect(frag).not.toContain("<html");
    expect(frag).toContain('hx-swap-oob="beforeend:#history-list"');
    expect(frag).toContain('id="history-pager"');
    expect(frag).toContain("autofocus");
  });
});
