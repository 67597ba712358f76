/**
 * The code action routes in-process (the authorization matrix's world: a private team project
 * with a proposed action on README.md and people of every role): the API's diff, apply, undo,
 * discard and conflict answers; the preview page and its htmx fragment, forms and refusals.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { closeCollab } from "../collab/rooms.ts";
import { writeProjectFile } from "../projects/files.ts";
import { createProject } from "../projects/projects.ts";
import { BASE, openHarness, type Harness, type SignedIn, type World } from "../../test/helpers/matrix-fixture.ts";
import { test } from "../../test/helpers/quiet.ts";
import { aiActionApiRoutes, type ActionJson } from "./actions-routes.ts";
import { aiActionPageRoutes } from "./pages-actions.tsx";

let h: Harness;

function api(w: World, who: SignedIn, method: string, path: string): Promise<Response> {
  return h.handle(new Request(BASE + path, { method, headers: { authorization: `Bearer ${w.actors[who].token}` } }));
}

function page(w: World, who: SignedIn, method: string, path: string, opts: { htmx?: boolean; form?: Record<string, string> } = {}): Promise<Response> {
  const c = w.actors[who];
  const headers: Record<string, string> = { cookie: c.cookie, origin: BASE };
  if (opts.htmx) headers["hx-request"] = "true";
  let body: string | undefined;
  if (method === "POST") {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams({ _csrf: c.csrf, ...opts.form }).toString();
  }
  return h.handle(new Request(BASE + path, { method, headers, body }));
}

const apiPath = (w: World, verb = "") => `/api/v1/ai/actions/${w.actionId}${verb ? `/${verb}` : ""}`;
const pagePath = (w: World, verb = "") => `/projects/${w.project.id}/ai/actions/${w.actionId}${verb ? `/${verb}` : ""}`;
const editReadme = (w: World, text: string) =>
  writeProjectFile(h.app.db.orm, h.app.config.dataDir, w.project, "README.md", new TextEncoder().encode(text), h.app.config.maxFileBytes, w.actors.owner.user.id);

beforeAll(async () => {
  h = await openHarness([...aiActionApiRoutes, ...aiActionPageRoutes]);
});
afterAll(async () => {
  await closeCollab(h.app);
  h?.close();
}, 60_000);

describe("API", () => {
  test("readers get the diff; people outside the project get 404", async () => {
    const w = await h.newWorld();
    const res = await api(w, "viewer", "GET", apiPath(w));
    expect(res.status).toBe(200);
    const a = (await res.json()) as ActionJson;
    expect(a).toMatchObject({ id: w.actionId, projectId: w.project.id, status: "proposed", summary: "Matrix edit" });
    expect(a.files).toEqual([
      {
        path: "README.md",
        created: false,
        additions: 2,
        deletions: 0,
        merged: false,
        diff: "diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n@@ -1 +1,3 @@\n # Matrix\n+\n+Edited by a code action.\n",
      },
    ]);
    const other = await api(w, "other", "GET", apiPath(w));
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { message: string } }).error.message).toBe("Code action not found.");
    expect((await h.handle(new Request(`${BASE}/api/v1/ai/actions/nope`, { headers: { authorization: `Bearer ${w.actors.owner.token}` } }))).status).toBe(404);
  });

  test("writers apply, undo and discard; viewers may not; a second apply is a 409", async () => {
    const w = await h.newWorld();
    expect((await api(w, "viewer", "POST", apiPath(w, "apply"))).status).toBe(403);
    const applied = await api(w, "member", "POST", apiPath(w, "apply"));
    expect(applied.status).toBe(200);
    expect(((await applied.json()) as ActionJson).status).toBe("applied");
    const again = await api(w, "member", "POST", apiPath(w, "apply"));
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("invalid_state");
    const undone = await api(w, "member", "POST", apiPath(w, "undo"));
    expect(((await undone.json()) as ActionJson).status).toBe("proposed");
    const discarded = await api(w, "maintainer", "POST", apiPath(w, "discard"));
    expect(((await discarded.json()) as ActionJson).status).toBe("discarded");
  });

  test("a file changed on the same lines since: 409 conflict naming it", async () => {
    const w = await h.newWorld();
    await editReadme(w, "# Matrix\nA different ending.\n");
    const res = await api(w, "owner", "POST", apiPath(w, "apply"));
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; details: Record<string, string> } };
    expect(body.error.code).toBe("conflict");
    expect(Object.keys(body.error.details)).toEqual(["README.md"]);
    expect(((await (await api(w, "owner", "GET", apiPath(w))).json()) as ActionJson).status).toBe("conflict");
  });
});

describe("preview page", () => {
  test("shows the diff; writers get Apply and Discard forms with the CSRF token, readers none", async () => {
    const w = await h.newWorld();
    const asWriter = await (await page(w, "member", "GET", pagePath(w))).text();
    expect(asWriter).toContain("<!doctype html>");
    expect(asWriter).toContain('class="diff-table diff-unified"');
    expect(asWriter).toContain("Edited by a code action.");
    expect(asWriter).toContain(`action="${pagePath(w, "apply")}"`);
    expect(asWriter).toContain(`action="${pagePath(w, "discard")}"`);
    expect(asWriter).toContain(`name="_csrf" value="${w.actors.member.csrf}"`);
    const asReader = await (await page(w, "viewer", "GET", pagePath(w))).text();
    expect(asReader).not.toContain(`action="${pagePath(w, "apply")}"`);
    expect(asReader).toContain("You can read this project but not change its files.");
    const split = await (await page(w, "viewer", "GET", `${pagePath(w)}?view=split`)).text();
    expect(split).toContain('class="diff-table diff-split"');
  });

  test("htmx gets the fragment alone; an action of another project is 404", async () => {
    const w = await h.newWorld();
    const frag = await (await page(w, "member", "GET", pagePath(w), { htmx: true })).text();
    expect(frag.startsWith('<section class="ai-action stack"')).toBe(true);
    expect(frag).not.toContain("<html");
    expect(frag).toContain('hx-target="closest .ai-action"');
    const mine = await createProject(h.app.db.orm, h.app.config.dataDir, w.actors.member.user, { name: `Mine ${w.n}` });
    const res = await page(w, "member", "GET", `/projects/${mine.id}/ai/actions/${w.actionId}`);
    expect(res.status).toBe(404);
  });

  test("Apply posts, redirects back and shows Undo; with htmx the fragment comes back with a notice", async () => {
    const w = await h.newWorld();
    const res = await page(w, "member", "POST", pagePath(w, "apply"), { form: { view: "split" } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${pagePath(w)}?view=split`);
    const after = await (await page(w, "member", "GET", pagePath(w))).text();
    expect(after).toContain('<span class="badge">Applied</span>');
    expect(after).toContain(`action="${pagePath(w, "undo")}"`);
    const undo = await page(w, "member", "POST", pagePath(w, "undo"), { htmx: true });
    expect(undo.status).toBe(200);
    const frag = await undo.text();
    expect(frag).toContain("Undone. The proposal can be applied again.");
    expect(frag).toContain('<span class="badge">Proposed</span>');
  });

  test("a conflict is shown beside the file: 409 for the page, 200 for htmx (so it is swapped in)", async () => {
    const w = await h.newWorld();
    await editReadme(w, "# Matrix\nA different ending.\n");
    const res = await page(w, "member", "POST", pagePath(w, "apply"));
    expect(res.status).toBe(409);
    const text = await res.text();
    expect(text).toContain('<p class="field-error diff-note" role="alert">It was changed on the same lines since the edit was proposed.</p>');
    expect(text).toContain("Try again");
    const frag = await page(w, "member", "POST", pagePath(w, "apply"), { htmx: true });
    expect(frag.status).toBe(200);
    expect(await frag.text()).toContain('class="flash error"');
  });

  test("a forged CSRF token is refused", async () => {
    const w = await h.newWorld();
    const c = w.actors.member;
    const res = await h.handle(
      new Request(BASE + pagePath(w, "apply"), {
        method: "POST",
        headers: { cookie: c.cookie, origin: BASE, "content-type": "application/x-www-form-urlencoded" },
        body: "_csrf=forged",
      }),
    );
    expect(res.status).toBe(403);
    expect(((await (await api(w, "owner", "GET", apiPath(w))).json()) as ActionJson).status).toBe("proposed");
  });
});
