import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { pageKit, type PageKit, type Person } from "../projects/pages-testkit.ts";
import { createServer } from "../server/server.ts";
import { createProject } from "../projects/projects.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { promptPageRoutes } from "./pages-prompts.tsx";
import { createPrompt, editPrompt } from "./prompts.ts";
import { getVisiblePrompt } from "./prompts-search.ts";

let kit: PageKit;
let server: ReturnType<typeof createServer>;
let ada: Person;
let bob: Person;
let cy: Person;

beforeAll(async () => {
  kit = await pageKit(promptPageRoutes);
  server = createServer(kit.app, { routes: promptPageRoutes });
  ada = await kit.person("ada");
  bob = await kit.person("bob");
  cy = await kit.person("cy");
  const team = await createTeam(kit.app.db.orm, ada.user, { name: "Docs crew", slug: "docs-crew" });
  await setMember(kit.app.db.orm, team.id, bob.user.id, "member", ada.user.id, "owner");
});
afterAll(() => kit.close());

/** A request as htmx sends it (the session's CSRF token in a header, like the layout's hx-headers). */
function htmx(method: "GET" | "POST", path: string, who: Person, form?: Record<string, string>, target?: string): Promise<Response> {
  const headers: Record<string, string> = { cookie: who.cookie, "hx-request": "true", "x-csrf-token": who.csrf, origin: "http://localhost" };
  if (target) headers["hx-target"] = target;
  if (form) headers["content-type"] = "application/x-www-form-urlencoded";
  return server.handle(new Request(`http://localhost${path}`, { method, headers, body: form ? new URLSearchParams(form).toString() : undefined }));
}

const idFrom = (res: Response) => (res.headers.get("location") ?? "").replace(/^\/prompts\//, "");

describe("prompt pages", () => {
  test("anonymous visitors are sent to log in", async () => {
    const res = await kit.get("/prompts");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login?next=%2Fprompts");
  });

  test("new prompt: errors beside the fields (422), variables drawn from the text, then created (303)", async () => {
    const page = await (await kit.get("/prompts/new", ada)).text();
    expect(page).toContain('name="_csrf"');
    expect(page).toContain('href="/assets/prompts.css"');
    expect(page).toContain("Docs crew");

    const bad = await kit.post("/prompts/new", { name: "", body: "", visibility: "team", team: "" }, ada);
    expect(bad.status).toBe(422);
    const badHtml = await bad.text();
    expect(badHtml).toMatch(/id="f-name-error"[^>]*>Name is required\./);
    expect(badHtml).toMatch(/id="f-body-error"[^>]*>Write the prompt/);
    expect(badHtml).toContain("Choose the team to share it with.");

    const detect = await kit.post("/prompts/new", { name: "Draft", body: "Translate {{text}} into {{lang}}", action: "detect" }, ada);
    expect(detect.status).toBe(200);
    const detectHtml = await detect.text();
    expect(detectHtml).toContain('name="var.text.description"');
    expect(detectHtml).toContain('name="var.lang.default"');

    const fragment = await htmx("POST", "/prompts/variables", ada, { body: "Hi {{who}} and {{other}}", "var.who.description": "The person" });
    expect(fragment.status).toBe(200);
    const fragmentHtml = await fragment.text();
    expect(fragmentHtml.startsWith('<fieldset id="prompt-variables"')).toBe(true);
    expect(fragmentHtml).toContain('value="The person"');
    expect(fragmentHtml).toContain('name="var.other.description"');

    const created = await kit.post(
      "/prompts/new",
      { name: "Translate", description: "Into another language", body: "Translate {{text}} into {{lang}}.", "var.text.description": "What to translate", "var.lang.description": "", "var.lang.default": "French", visibility: "private" },
      ada,
    );
    expect(created.status).toBe(303);
    const view = await (await kit.get(`/prompts/${idFrom(created)}`, ada)).text();
    expect(view).toContain("Translate {{text}} into {{lang}}.");
    expect(view).toContain("What to translate");
    expect(view).toMatch(/default: <span class="mono">French<\/span>/);
    expect(view).toContain("Use in chat");
  });

  test("editing makes version 2 with its note; history, diff and an older version are shown", async () => {
    const p = await createPrompt(kit.app.db.orm, ada.user, { name: "Summary", body: "Summarise:\n{{text}}\n", visibility: "instance" });
    const form = await (await kit.get(`/prompts/${p.id}/edit`, ada)).text();
    expect(form).toContain('name="baseVersion" value="1"');
    const saved = await kit.post(`/prompts/${p.id}/edit`, { name: "Summary", body: "Summarise in three bullets:\n{{text}}\n", note: "Bullets", visibility: "instance", baseVersion: "1" }, ada);
    expect(saved.status).toBe(303);
    const view = await (await kit.get(`/prompts/${p.id}`, bob)).text();
    expect(view).toContain("Text · version 2");
    expect(view).toContain("Bullets");
    expect(view).toContain(`href="/prompts/${p.id}/diff?from=1&amp;to=2"`);
    expect(view).not.toContain(`/prompts/${p.id}/edit`);
    const old = await (await kit.get(`/prompts/${p.id}?v=1`, bob)).text();
    expect(old).toContain("You are looking at version 1");
    expect((await kit.get(`/prompts/${p.id}?v=7`, bob)).status).toBe(404);

    const diff = await (await kit.get(`/prompts/${p.id}/diff?from=1&to=2`, bob)).text();
    expect(diff).toContain('class="diff-del"');
    expect(diff).toContain('class="diff-add"');
    expect(diff).toContain("Summarise in three bullets:");
    const split = await (await kit.get(`/prompts/${p.id}/diff?from=1&to=2&view=split`, bob)).text();
    expect(split).toContain("diff-split");

    // Someone else cannot edit; a stale form is refused with the typed text kept.
    expect((await kit.get(`/prompts/${p.id}/edit`, bob)).status).toBe(403);
    const stale = await kit.post(`/prompts/${p.id}/edit`, { name: "Summary", body: "My stale edit {{text}}", visibility: "instance", baseVersion: "1" }, ada);
    expect(stale.status).toBe(409);
    const staleHtml = await stale.text();
    expect(staleHtml).toContain("My stale edit {{text}}");
    expect(staleHtml).toContain('name="baseVersion" value="2"');
    expect(staleHtml).toContain(`/prompts/${p.id}/diff?from=1&amp;to=2`);
  });

  test("sharing holds on every page: others get 404 for a private prompt, team members see team prompts", async () => {
    const priv = await createPrompt(kit.app.db.orm, ada.user, { name: "Secret sauce", body: "shh" });
    const team = await createPrompt(kit.app.db.orm, ada.user, { name: "Crew notes", body: "hello crew", visibility: "team", team: "docs-crew" });
    for (const path of [`/prompts/${priv.id}`, `/prompts/${priv.id}/diff`, `/prompts/${priv.id}/use`]) expect((await kit.get(path, bob)).status).toBe(404);
    expect((await kit.post(`/prompts/${priv.id}/vote`, { value: "1" }, bob)).status).toBe(404);
    expect((await kit.get(`/prompts/${team.id}`, bob)).status).toBe(200);
    expect((await kit.get(`/prompts/${team.id}`, cy)).status).toBe(404);
    const bobList = await (await kit.get("/prompts?q=crew+notes", bob)).text();
    expect(bobList).toContain("Crew notes");
    const cyList = await (await kit.get("/prompts?q=sauce", cy)).text();
    expect(cyList).not.toContain("Secret sauce");
    expect(cyList).toContain("No prompt matches");
  });

  test("list: filters, sorts, and the htmx results fragment", async () => {
    await createPrompt(kit.app.db.orm, cy.user, { name: "Cy's own xylophone", body: "x" });
    const mine = await (await kit.get("/prompts?scope=mine&sort=recent", cy)).text();
    expect(mine).toContain("Cy&#39;s own xylophone");
    expect(mine).toMatch(/<option value="recent" selected>/);
    const fragment = await htmx("GET", "/prompts?q=xylophone", cy, undefined, "prompt-results");
    const body = await fragment.text();
    expect(body.startsWith('<div id="prompt-results"')).toBe(true);
    expect(body).toContain("xylophone");
    expect(body).not.toContain("<html");
  });

  test("votes from the page: a plain form goes back, htmx gets the widget; pressing again takes it back", async () => {
    const p = await createPrompt(kit.app.db.orm, ada.user, { name: "Votable", body: "v", visibility: "instance" });
    const plain = await kit.post(`/prompts/${p.id}/vote`, { value: "1" }, bob);
    expect(plain.status).toBe(303);
    expect(plain.headers.get("location")).toBe(`/prompts/${p.id}`);
    const widget = await (await htmx("POST", `/prompts/${p.id}/vote`, cy, { value: "-1" })).text();
    expect(widget.startsWith('<form method="post"')).toBe(true);
    expect(widget).toMatch(/class="vote-btn down" aria-pressed="true"/);
    expect((await getVisiblePrompt(kit.app.db.orm, ada.user.id, p.id)).score).toBe(0);
    await kit.post(`/prompts/${p.id}/vote`, { value: "0" }, bob);
    expect((await getVisiblePrompt(kit.app.db.orm, ada.user.id, p.id)).score).toBe(-1);
    expect((await kit.post(`/prompts/${p.id}/vote`, { value: "5" }, bob)).status).toBe(400);
    // A forged form is refused.
    const forged = await kit.post(`/prompts/${p.id}/vote`, { value: "1", _csrf: "forged" }, bob);
    expect(forged.status).toBe(403);
  });

  test("use in chat: missing values beside fields, the filled-in text, assistant links, thumbs counted per version", async () => {
    const orm = kit.app.db.orm;
    const p = await createPrompt(orm, ada.user, { name: "Explain", body: "Explain {{code}} to a {{who}}.", variables: [{ name: "who", description: "Audience", default: "beginner" }], visibility: "instance" });
    await createProject(orm, kit.app.config.dataDir, bob.user, { name: "Bob's app", visibility: "private" });
    const form = await (await kit.get(`/prompts/${p.id}/use`, bob)).text();
    expect(form).toContain('name="var.code"');
    expect(form).toMatch(/name="var.who"[^>]*>beginner<\/textarea>/);

    const missing = await kit.post(`/prompts/${p.id}/use`, { version: "1", "var.code": "  ", "var.who": "expert" }, bob);
    expect(missing.status).toBe(422);
    expect(await missing.text()).toMatch(/id="f-var-code-error"[^>]*>Give a value for \{\{code\}\}/);

    const done = await kit.post(`/prompts/${p.id}/use`, { version: "1", "var.code": "x = 1", "var.who": "expert" }, bob);
    expect(done.status).toBe(303);
    const location = done.headers.get("location") ?? "";
    expect(location).toMatch(new RegExp(`^/prompts/${p.id}/use\\?v=1&use=\\d+&var\\.code=x\\+%3D\\+1&var\\.who=expert#prompt-result-section$`));
    const result = await (await kit.get(location.replace(/#.*/, ""), bob)).text();
    expect(result).toContain(">Explain x = 1 to a expert.</textarea>");
    expect(result).toMatch(/href="\/projects\/[^/]+\/ide\?prompt=[^&]+&amp;v=1&amp;use=\d+&amp;var.code=x\+%3D\+1&amp;var.who=expert"/);
    // Reloading the result page does not count another use.
    await kit.get(location.replace(/#.*/, ""), bob);
    expect((await getVisiblePrompt(orm, bob.user.id, p.id)).uses).toBe(1);

    const useId = /use=(\d+)/.exec(location)?.[1] ?? "";
    const back = location.replace(/#.*/, "");
    const thumbs = await kit.post(`/prompts/${p.id}/uses/${useId}/feedback`, { value: "1", back }, bob);
    expect(thumbs.status).toBe(303);
    expect(thumbs.headers.get("location")).toBe(`${back}#prompt-result-section`);
    expect(await (await kit.get(back, bob)).text()).toMatch(/value="0" aria-pressed="true" class="thumb"/);
    // Only the user who used it rates it; an outside `back` is not followed.
    expect((await kit.post(`/prompts/${p.id}/uses/${useId}/feedback`, { value: "-1" }, cy)).status).toBe(404);
    const offsite = await kit.post(`/prompts/${p.id}/uses/${useId}/feedback`, { value: "1", back: "//evil.example/" }, bob);
    expect(offsite.headers.get("location")).toBe(`/prompts/${p.id}`);

    await editPrompt(orm, ada.user, p.id, { body: "Explain {{code}} briefly to a {{who}}." });
    const view = await (await kit.get(`/prompts/${p.id}`, ada)).text();
    expect(view).toMatch(/<td>v1<\/td><td class="num">1<\/td><td class="num">1<\/td><td class="num">0<\/td>/);
  });

  test("copy into my prompts and delete", async () => {
    const p = await createPrompt(kit.app.db.orm, ada.user, { name: "Shared one", body: "s {{a}}", visibility: "instance" });
    const copied = await kit.post(`/prompts/${p.id}/copy`, { version: "1" }, bob);
    expect(copied.status).toBe(303);
    const copyId = idFrom(copied);
    expect(copyId).not.toBe(p.id);
    const copyPage = await (await kit.get(`/prompts/${copyId}`, bob)).text();
    expect(copyPage).toContain("Shared one (copy)");
    expect(copyPage).toContain(`/prompts/${copyId}/edit`);
    expect((await kit.post(`/prompts/${p.id}/delete`, {}, bob)).status).toBe(403);
    const gone = await kit.post(`/prompts/${p.id}/delete`, {}, ada);
    expect(gone.headers.get("location")).toBe("/prompts?deleted=1");
    expect((await kit.get(`/prompts/${p.id}`, ada)).status).toBe(404);
    expect((await kit.get(`/prompts/${copyId}`, bob)).status).toBe(200);
  });
});
