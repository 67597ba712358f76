/**
 * The search page as the server renders it, through the real guard and a real index: who sees
 * what (anonymous visitors public projects only), escaping of paths and snippets with the
 * highlights built from ranges, errors beside their fields (full page 422, htmx fragment 200
 * with out-of-band errors), the htmx fragment and its tidy URL, pagination, the other kinds of
 * search, and the IDE's `?line=` parameter that results link to.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Project } from "../db/schema.ts";
import { setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { createProject } from "../projects/projects.ts";
import { writeProjectFile } from "../projects/files.ts";
import { ideRoutes } from "../projects/pages-ide.tsx";
import { pageKit, type PageKit, type Person } from "../projects/pages-testkit.ts";
import { startSearchIndexer, type SearchIndexer } from "./indexer.ts";
import { searchPageRoutes } from "./pages-search.tsx";
import { highlightLines } from "./pages-search-results.tsx";
import { render } from "../web/jsx/jsx-runtime.ts";

const routes = [...searchPageRoutes, ...ideRoutes];
let kit: PageKit;
let handle: (req: Request) => Promise<Response>;
let indexer: SearchIndexer;
let alice: Person; // owns both projects
let bob: Person; // a stranger
let pub: Project;
let priv: Project;

const enc = (s: string) => new TextEncoder().encode(s);
const search = (qs: string, who?: Person) => kit.get(`/search?${qs}`, who);
/** An htmx request, as live search sends it. */
function htmx(qs: string, who?: Person, trigger?: string): Promise<Response> {
  const headers: Record<string, string> = { "HX-Request": "true" };
  if (who) headers.cookie = who.cookie;
  if (trigger) headers["HX-Trigger"] = trigger;
  return handle(new Request(`http://localhost/search?${qs}`, { headers }));
}
/** The results region of a full page. */
function results(body: string): string {
  const start = body.indexOf('<div id="search-results">');
  const end = body.indexOf('<script src="/assets/search.js"', start);
  return start < 0 ? "" : body.slice(start, end < 0 ? undefined : end);
}
const hrefs = (html: string) => [...html.matchAll(/<a class="search-hit[^"]*" data-hit href="([^"]+)"/g)].map((m) => (m[1] ?? "").replaceAll("&amp;", "&"));

beforeAll(async () => {
  setLogSink(() => {});
  kit = await pageKit(routes);
  const server = createServer(kit.app, { routes });
  handle = (req) => server.handle(req);
  alice = await kit.person("alice");
  bob = await kit.person("bob");
  const { orm } = kit.app.db;
  const dir = kit.app.config.dataDir;
  pub = await createProject(orm, dir, alice.user, { name: "Public <Charts>", description: "draws a bar chart with D3", visibility: "public" });
  priv = await createProject(orm, dir, alice.user, { name: "Secret Notes", description: "diary", visibility: "private" });
  const write = (p: Project, path: string, text: string) => writeProjectFile(orm, dir, p, path, enc(text), 1 << 20, alice.user.id);
  const filler = Array.from({ length: 40 }, (_, i) => `const line${i} = ${i};`);
  filler[29] = "export function drawChart() { return needleSearch(); }";
  await write(pub, "src/chart.ts", `${filler.join("\n")}\n`);
  await write(pub, 'odd/<b>"x" & y.js', `const html = '<script>alert("pwned")</script>';\nneedleSearch(html);\n`);
  for (let i = 0; i < 25; i++) await write(pub, `many/f${String(i).padStart(2, "0")}.js`, `a\nmanyNeedle(${i})\nb\n`);
  await write(priv, "diary.ts", "const needleSearch = 'private words';\n");
  indexer = startSearchIndexer(kit.app, { pollMs: 20 });
  await indexer.settled(20_000);
});
afterAll(async () => {
  await indexer?.stop();
  kit?.close();
});

describe("who sees what", () => {
  test("anonymous: an empty page explains how to search, and says only public projects are searched", async () => {
    const res = await search("");
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('<form id="search-form" class="search-form" role="search" method="get" action="/search"');
    expect(body).toContain("Search code, files and projects");
    expect(body).toContain("Every public project");
    expect(body).toContain("Log in to search your own too.");
    expect(body).toContain('<script src="/assets/search.js" defer></script>');
    expect(body).not.toContain("<script>");
  });

  const cases: { who: string; person: () => Person | undefined; private: boolean }[] = [
    { who: "anonymous", person: () => undefined, private: false },
    { who: "a signed-in stranger", person: () => bob, private: false },
    { who: "the owner", person: () => alice, private: true },
  ];
  for (const c of cases) {
    test(`${c.who}: ${c.private ? "public and private" : "public projects only"}`, async () => {
      const body = await (await search("q=needleSearch", c.person())).text();
      const links = hrefs(results(body));
      expect(links.some((h) => h.startsWith(`/projects/${pub.id}/`))).toBe(true);
      expect(links.some((h) => h.startsWith(`/projects/${priv.id}/`))).toBe(c.private);
      expect(body.includes("private words")).toBe(c.private);
      expect(body.includes("Secret Notes")).toBe(c.private);
    });
  }

  test("someone else's private project as the project filter: an error beside the field, nothing of it shown", async () => {
    const res = await search(`q=needleSearch&project=${priv.id}`, bob);
    expect(res.status).toBe(404);
    const body = await res.text();
    expect(body).toMatch(/<p class="field-error" id="search-project-error" role="alert">There is no project with this id that you can read\.<\/p>/);
    expect(body).toContain('aria-invalid="true"');
    expect(body).not.toContain("private words");
    expect(body).not.toContain("Secret Notes");
  });

  test("the project filter offers the user's own projects and narrows the search to one", async () => {
    const body = await (await search(`q=needleSearch&project=${pub.id}`, alice)).text();
    expect(body).toContain(`<option value="${priv.id}">alice / Secret Notes</option>`);
    expect(body).toContain(`<option value="${pub.id}" selected>alice / Public &lt;Charts&gt;</option>`);
    const links = hrefs(results(body));
    expect(links.length).toBeGreaterThan(0);
    expect(links.every((h) => h.startsWith(`/projects/${pub.id}/`))).toBe(true);
  });
});

describe("results", () => {
  test("grouped by file, numbered lines, the match marked, linked to the IDE at the line", async () => {
    const body = results(await (await search("q=drawChart")).text());
    expect(hrefs(body)).toEqual([`/projects/${pub.id}/ide/src/chart.ts?line=30`]);
    expect(body).toContain('<h3 class="search-file-head"><a class="mono" href="/projects/');
    expect(body).toContain('<span class="search-ln" aria-hidden="true">29</span><code>const line28 = 28;</code>');
    expect(body).toContain('<span class="search-line is-hit"><span class="search-ln" aria-hidden="true">30</span><code>export function <mark>drawChart</mark>() { return needleSearch(); }</code></span>');
    expect(body).toContain("alice / Public &lt;Charts&gt;");
  });

  test("paths, snippets and project names are escaped; only our <mark> is markup", async () => {
    const body = await (await search(`q=${encodeURIComponent("<script>")}`)).text();
    const r = results(body);
    expect(r).not.toContain("<script>");
    expect(r).toContain("const html = &#39;<mark>&lt;script&gt;</mark>alert(&quot;pwned&quot;)&lt;/script&gt;&#39;;");
    expect(r).toContain("odd/&lt;b&gt;&quot;x&quot; &amp; y.js");
    expect(r).toContain(`/projects/${pub.id}/ide/odd/%3Cb%3E%22x%22%20%26%20y.js?line=1`);
    // The query is shown back escaped, in the box and the title.
    expect(body).toContain('value="&lt;script&gt;"');
    expect(body).toContain("<title>&lt;script&gt; · Search · Wove</title>");
  });

  test("pages: a next link carrying the cursor, then the rest; a stale cursor says so", async () => {
    const first = await (await search("q=manyNeedle")).text();
    expect(hrefs(results(first))).toHaveLength(20);
    expect(first).toContain("20 matches in 20 files (more on the next page).");
    const next = /<a class="btn" id="search-next" rel="next" href="([^"]+)"/.exec(first)?.[1]?.replaceAll("&amp;", "&");
    expect(next).toMatch(/^\/search\?q=manyNeedle&cursor=/);
    const second = await (await kit.get(next as string)).text();
    const rest = hrefs(results(second));
    expect(rest).toHaveLength(5);
    expect(rest.some((h) => hrefs(results(first)).includes(h))).toBe(false);
    expect(second).toContain('id="search-first"');
    expect(second).not.toContain('id="search-next"');
    const stale = await search("q=manyNeedle&cursor=bm90LWEtY3Vyc29y");
    expect(stale.status).toBe(400);
    expect(results(await stale.text())).toContain("This page of results has expired");
  });

  test("no match: an empty state with ways to widen the search", async () => {
    const body = results(await (await search(`q=zzqqxx&case=1&path=src/&project=${pub.id}`, alice)).text());
    expect(body).toContain("No matches");
    expect(body).toContain(`href="/search?q=zzqqxx&amp;project=${pub.id}&amp;path=src%2F"`);
    expect(body).toContain("Search every path");
    expect(body).toContain("Search every project");
  });

  test("files: fuzzy names with the matched letters marked; projects: hits with facets", async () => {
    const files = results(await (await search("q=chrt&type=files")).text());
    expect(hrefs(files)).toEqual([`/projects/${pub.id}/ide/src/chart.ts`]);
    expect(files).toContain("<mark>ch</mark>a<mark>rt</mark>");
    const projects = results(await (await search("q=chart&type=projects")).text());
    expect(hrefs(projects)).toEqual([`/projects/${pub.id}`]);
    expect(projects).toContain("<strong>Public &lt;Charts&gt;</strong>");
    expect(projects).toContain('<h2 id="search-facet-owner">Owners</h2>');
    expect(projects).toContain('href="/search?q=chart+owner%3Aalice&amp;type=projects"');
  });
});

describe("errors beside their fields", () => {
  test("an invalid regex: 422 and the reason under the query box", async () => {
    const res = await search("q=foo(&regex=1");
    expect(res.status).toBe(422);
    const body = await res.text();
    expect(body).toMatch(/<p class="field-error" id="search-q-error" role="alert">[^<]*Invalid regular expression[^<]*<\/p>/);
    expect(body).toContain('<div class="field has-error search-q-field">');
    expect(/<input id="search-q"[^>]*aria-invalid="true"/.test(body)).toBe(true);
    expect(body).toContain('<input type="checkbox" name="regex" value="1" checked');
  });

  test("an over-long query and path: each error beside its own field", async () => {
    const res = await search(`q=${"a".repeat(501)}&path=${"p".repeat(1025)}`);
    expect(res.status).toBe(422);
    const body = await res.text();
    expect(body).toMatch(/id="search-q-error" role="alert">The query is 501 characters long; at most 500 are searched\.</);
    expect(body).toMatch(/id="search-path-error" role="alert">A path filter has at most 1024 characters\.</);
  });

  test("only filters and no text: asked for something to search", async () => {
    const res = await search("q=path:src/");
    expect(res.status).toBe(422);
    expect(await res.text()).toMatch(/id="search-q-error" role="alert">Add something to search for besides filters\.</);
  });
});

describe("live search (htmx)", () => {
  test("the fragment: results, field errors and the spoken summary out of band, the tidy URL for the address bar", async () => {
    const res = await htmx("q=drawChart&type=code&project=&path=");
    expect(res.status).toBe(200);
    expect(res.headers.get("HX-Replace-Url")).toBe("/search?q=drawChart");
    const body = await res.text();
    expect(body).not.toContain("<html");
    expect(body).not.toContain('id="search-form"');
    expect(hrefs(body)).toEqual([`/projects/${pub.id}/ide/src/chart.ts?line=30`]);
    expect(body).toContain('<p class="field-error" id="search-q-error" role="alert" hidden hx-swap-oob="true"></p>');
    expect(body).toContain('<p id="search-live" hx-swap-oob="innerHTML">1 match in 1 file.</p>');
  });

  test("a bad regex answers 200 (htmx swaps only 2xx) with the error for the field", async () => {
    const res = await htmx("q=a(b&regex=1");
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<p class="field-error" id="search-q-error" role="alert" hx-swap-oob="true">[^<]*Invalid regular expression/);
  });

  test("the pager's requests make a history entry; a history restore gets the whole page", async () => {
    const paging = await htmx("q=manyNeedle&cursor=eyJzIjowLCJsIjowfQ", undefined, "search-next");
    expect(paging.headers.get("HX-Push-Url")).toStartWith("/search?q=manyNeedle&cursor=");
    const restore = await handle(new Request("http://localhost/search?q=drawChart", { headers: { "HX-Request": "true", "HX-History-Restore-Request": "true" } }));
    expect(await restore.text()).toContain("<!doctype html>");
  });
});

describe("the IDE at a line", () => {
  const attr = (body: string) => /<div id="ide"[^>]* data-line="([^"]*)"/.exec(body)?.[1];
  test("?line=N becomes data-line on the IDE shell for a file", async () => {
    expect(attr(await (await kit.get(`/projects/${pub.id}/ide/src/chart.ts?line=30`)).text())).toBe("30");
  });
  test("a malformed, zero or huge line, or a folder, gives none", async () => {
    for (const q of ["line=abc", "line=0", "line=-3", "line=1e3", "line=99999999999", "line="]) {
      expect({ q, line: attr(await (await kit.get(`/projects/${pub.id}/ide/src/chart.ts?${q}`)).text()) }).toEqual({ q, line: undefined });
    }
    expect(attr(await (await kit.get(`/projects/${pub.id}/ide/src?line=3`)).text())).toBeUndefined();
  });
});

describe("highlightLines", () => {
  test("splits lines, marks ranges across a line break, ignores ranges out of bounds", () => {
    const lines = highlightLines("ab<c\nde", [[1, 6], [50, 60], [3, 2]]);
    expect(lines.map((l) => l.hit)).toEqual([true, true]);
    expect(lines.map((l) => render(l.parts))).toEqual(["a<mark>b&lt;c</mark>", "<mark>d</mark>e"]);
    expect(highlightLines("plain", undefined).map((l) => render(l.parts))).toEqual(["plain"]);
  });
});
