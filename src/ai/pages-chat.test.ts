/**
 * The conversation pages: the list per project (own and shared), a transcript rendered as safe
 * Markdown with the files included, and the owner's rename/share/delete forms (errors beside
 * the field, post/redirect/get); a reader of a shared conversation sees no forms and cannot post
 * them; the IDE gets the Assistant button and panel for signed-in people only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Project } from "../db/schema.ts";
import { createProject } from "../projects/projects.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { ideRoutes } from "../projects/pages-ide.tsx";
import { pageKit, type PageKit, type Person } from "../projects/pages-testkit.ts";
import { appendMessages, createConversation, visibleConversation } from "./conversations.ts";
import { aiChatPageRoutes } from "./pages-chat.tsx";

let kit: PageKit;
let owner: Person;
let reader: Person;
let outsider: Person;
let project: Project;
let cid: string;

beforeAll(async () => {
  kit = await pageKit([...aiChatPageRoutes, ...ideRoutes]);
  owner = await kit.person("olga");
  reader = await kit.person("vera");
  outsider = await kit.person("otto");
  const orm = kit.app.db.orm;
  const team = await createTeam(orm, owner.user, { name: "Makers", slug: "makers" });
  await setMember(orm, team.id, reader.user.id, "viewer", owner.user.id, "owner");
  project = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Pages Demo", visibility: "private", team: team.id });
  const c = await createConversation(orm, { userId: owner.user.id, projectId: project.id, title: "Why <b>bold</b>?" });
  cid = c.id;
  await appendMessages(orm, cid, [
    { role: "user", content: "Explain <script>alert(1)</script>", meta: { filePath: "src/a.ts" } },
    {
      role: "assistant",
      content: "Use `x`:\n\n```ts\nconst x = 1;\n```\n\n[bad](javascript:alert(1)) <img src=x onerror=alert(1)>",
      meta: { model: "qwen", providerId: "local", files: [{ path: "src/a.ts", reason: "current", tokens: 12 }], contextTokens: 40, usage: { tokensIn: 40, tokensOut: 9, latencyMs: 1200, costMicros: 0 } },
    },
  ]);
});
afterAll(() => kit.close());

const url = () => `/projects/${project.id}/assistant/${cid}`;

describe("the transcript", () => {
  test("the owner sees the answer as Markdown (escaped, code highlighted), the files included and the forms", async () => {
    const res = await kit.get(url(), owner);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain("Why &lt;b&gt;bold&lt;/b&gt;?");
    expect(page).toContain("Explain &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).not.toContain("<script>alert(1)");
    expect(page).not.toContain("<img src=x");
    expect(page).not.toContain('href="javascript');
    expect(page).toMatch(/<pre><code data-lang="ts"><span class="hl-kw">const<\/span>/);
    expect(page).toContain("Context: 1 item · 40 tokens");
    expect(page).toContain("local:qwen · 49 tokens · 1.2 s");
    expect(page).toContain(`action="${url()}/delete"`);
  });

  test("a private conversation is not found by the project's other readers; shared, they read it without forms", async () => {
    expect((await kit.get(url(), reader)).status).toBe(404);
    expect(await (await kit.get(`/projects/${project.id}/assistant`, reader)).text()).not.toContain(cid);
    const shared = await kit.post(url(), { title: "Why bold?", shared: "1" }, owner);
    expect(shared.status).toBe(303);
    expect(shared.headers.get("location")).toBe(`${url()}?saved=1`);
    const list = await (await kit.get(`/projects/${project.id}/assistant`, reader)).text();
    expect(list).toContain(cid);
    expect(list).toContain("shared");
    const page = await (await kit.get(url(), reader)).text();
    expect(page).toContain("Shared by Olga");
    expect(page).not.toContain(`action="${url()}/delete"`);
    expect((await kit.post(url(), { title: "Mine now" }, reader)).status).toBe(403);
    expect((await kit.post(`${url()}/delete`, {}, reader)).status).toBe(403);
    expect((await kit.get(url(), outsider)).status).toBe(404);
  });

  test("an empty title is refused beside the field (422) and nothing changes", async () => {
    const res = await kit.post(url(), { title: "  ", shared: "1" }, owner);
    expect(res.status).toBe(422);
    const page = await res.text();
    expect(page).toContain("Give the conversation a title.");
    expect(page).toContain('aria-invalid="true"');
    expect((await visibleConversation(kit.app, { kind: "user", user: owner.user, via: "session", sessionId: "s" }, cid)).conversation.title).toBe("Why bold?");
  });

  test("anonymous visitors are sent to sign in", async () => {
    const res = await kit.get(url());
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toStartWith("/login?next=");
  });

  test("the owner deletes it and lands on the list", async () => {
    const res = await kit.post(`${url()}/delete`, {}, owner);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/projects/${project.id}/assistant`);
    expect((await kit.get(url(), owner)).status).toBe(404);
  });
});

test("the IDE has the Assistant button and panel for signed-in people, never for guests", async () => {
  const page = await (await kit.get(`/projects/${project.id}/ide`, reader)).text();
  expect(page).toContain('id="ide-assistant-toggle"');
  expect(page).toContain('id="ide-assistant"');
  expect(page).toContain("/assets/chat.css");
  const orm = kit.app.db.orm;
  const open = await createProject(orm, kit.app.config.dataDir, owner.user, { name: "Open Demo", visibility: "public" });
  const guest = await (await kit.get(`/projects/${open.id}/ide`)).text();
  expect(guest).not.toContain('id="ide-assistant"');
});
