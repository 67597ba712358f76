/**
 * The embedder setting: who may see and change it, field errors, the probe against fake model
 * servers (real HTTP on loopback), and the API key sealed at rest.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ACCOUNT_ROUTES, Browser, csrfIn, openHarness, type Harness } from "../auth/pages-testkit.ts";
import { createServer } from "../server/server.ts";
import { API_KEY_KEY, EMBEDDER_KEY, _testHooks, currentEmbedder, readEmbedderConfig } from "./embedder-settings.ts";
import { embedderAdminRoutes } from "./pages-embedder.tsx";
import { BUILTIN_ID } from "./embed.ts";

let h: Harness;
let site: Harness;
let fake: ReturnType<typeof Bun.serve>;
const seenKeys: (string | null)[] = [];

beforeAll(async () => {
  h = await openHarness();
  const server = createServer(h.app, { routes: [...ACCOUNT_ROUTES, ...embedderAdminRoutes] });
  site = { ...h, handle: (req) => server.handle(req), browser: (ip = "10.9.0.1") => new Browser(site, ip) };
  fake = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const body = (await req.json()) as { model: string; input: string[] };
      if (path === "/api/embed") {
        if (body.model !== "nomic-embed-text") return Response.json({ error: `model "${body.model}" not found, try pulling it first` }, { status: 404 });
        return Response.json({ model: body.model, embeddings: body.input.map(() => Array.from({ length: 32 }, (_, i) => i + 1)) });
      }
      if (path === "/v1/embeddings") {
        seenKeys.push(req.headers.get("authorization"));
        if (req.headers.get("authorization") !== "Bearer sk-right") return Response.json({ error: { message: "Incorrect API key provided." } }, { status: 401 });
        return Response.json({ object: "list", data: body.input.map((_, index) => ({ object: "embedding", index, embedding: [1, 2, 3, 4, 5, 6, 7, 8] })) });
      }
      return new Response("not found", { status: 404 });
    },
  });
  _testHooks.check = async (url) => {
    const u = new URL(url);
    if (u.hostname !== "models.test") throw new Error("only models.test in these tests");
    return { url: u, host: u.hostname, port: fake.port as number, addresses: ["127.0.0.1"] };
  };
});
afterAll(() => {
  _testHooks.check = undefined;
  fake.stop(true);
  h.close();
});

async function signedIn(role: "admin" | "member") {
  const user = await h.user(role);
  const b = site.browser(`10.9.0.${role === "admin" ? 2 : 3}`);
  expect((await b.login(user.email)).status).toBe(303);
  return { user, b };
}

const PAGE = "/admin/search/embedder";
const url = () => `http://models.test:${fake.port}`;

describe("admin › semantic search", () => {
  test("members get 403; anonymous visitors are sent to log in", async () => {
    const { b } = await signedIn("member");
    expect((await b.get(PAGE)).status).toBe(403);
    const token = csrfIn((await b.get("/account")).text);
    expect((await b.send("POST", PAGE, { form: { _csrf: token, kind: "builtin" } })).status).toBe(403);
    const anon = await site.browser("10.9.0.4").get(PAGE);
    expect(anon.status).toBe(303);
    expect(anon.location).toStartWith("/login?next=");
  });

  test("the page shows the built-in embedder and the index, with a form", async () => {
    const { b } = await signedIn("admin");
    const r = await b.get(PAGE);
    expect(r.status).toBe(200);
    expect(r.text).toContain("built-in (hashed features, 384 dimensions, no download)");
    expect(r.text).toContain('name="kind"');
    expect(r.text).toContain("Semantic index");
    expect((await b.get(`${PAGE}/status`)).location).toBe(PAGE);
    const frag = await b.send("GET", `${PAGE}/status`, { headers: { "HX-Request": "true" } });
    expect(frag.text).toStartWith('<section class="card stack" id="semantic-status"');
  });

  test("errors are shown beside the field: missing values, refused URLs, a missing model, a wrong key", async () => {
    const { b } = await signedIn("admin");
    const missing = await b.submit(PAGE, PAGE, { kind: "ollama", url: "", model: "" });
    expect(missing.status).toBe(422);
    expect(missing.text).toMatch(/id="f-url-error"[^>]*>The server&#39;s URL is required|id="f-url-error"[^>]*>The server's URL is required/);
    expect(missing.text).toContain('id="f-model-error"');
    _testHooks.check = undefined; // the real outbound check
    const metadata = await b.submit(PAGE, PAGE, { kind: "ollama", url: "http://169.254.169.254", model: "m" });
    _testHooks.check = async (u) => ({ url: new URL(u), host: "models.test", port: fake.port as number, addresses: ["127.0.0.1"] });
    expect(metadata.status).toBe(422);
    expect(metadata.text).toMatch(/id="f-url-error"[^>]*>[^<]*local or reserved address/);
    const noModel = await b.submit(PAGE, PAGE, { kind: "ollama", url: url(), model: "llama-nope" });
    expect(noModel.status).toBe(422);
    expect(noModel.text).toMatch(/id="f-model-error"[^>]*>[^<]*not found, try pulling it first/);
    const badKey = await b.submit(PAGE, PAGE, { kind: "openai", url: url(), model: "text-embedding-3-small", apiKey: "sk-wrong" });
    expect(badKey.status).toBe(422);
    expect(badKey.text).toMatch(/id="f-apiKey-error"[^>]*>[^<]*Incorrect API key provided/);
    expect((await readEmbedderConfig(h.app)).kind).toBe("builtin");
  });

  test("saving Ollama probes it, stores the vector size, and the embedder follows", async () => {
    const { b } = await signedIn("admin");
    const r = await b.submit(PAGE, PAGE, { kind: "ollama", url: `${url()}/`, model: "nomic-embed-text" });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`${PAGE}?saved=1`);
    expect(await readEmbedderConfig(h.app)).toEqual({ kind: "ollama", url: url(), model: "nomic-embed-text", dims: 32, hasKey: false });
    expect((await currentEmbedder(h.app)).id).toBe("ollama:nomic-embed-text:32");
    const page = await b.get(`${PAGE}?saved=1`);
    expect(page.text).toContain("Saved.");
    expect(page.text).toContain(`Ollama model nomic-embed-text at models.test:${fake.port} (32 dimensions)`);
  });

  test("an OpenAI-compatible key is sealed at rest, kept when the field is left empty, and removable", async () => {
    const { b } = await signedIn("admin");
    expect((await b.submit(PAGE, PAGE, { kind: "openai", url: `${url()}/v1`, model: "text-embedding-3-small", apiKey: "sk-right" })).status).toBe(303);
    const rows = await h.app.db.client.execute({ sql: "SELECT key, value FROM settings WHERE key IN (?, ?)", args: [EMBEDDER_KEY, API_KEY_KEY] });
    const all = rows.rows.map((r) => String(r.value)).join(" ");
    expect(all).not.toContain("sk-right");
    expect(rows.rows.find((r) => r.key === API_KEY_KEY)?.value).toMatch(/^v1\./);
    expect(await readEmbedderConfig(h.app)).toEqual({ kind: "openai", url: `${url()}/v1`, model: "text-embedding-3-small", dims: 8, hasKey: true });
    const events = await h.app.db.client.execute("SELECT data FROM events WHERE kind = 'search.embedder_changed'");
    expect(events.rows.map((r) => String(r.data)).join(" ")).not.toContain("sk-right");
    seenKeys.length = 0;
    const page = await b.get(PAGE);
    expect(page.text).toContain("A key is stored");
    expect(page.text).not.toContain("sk-right");
    expect((await b.submit(PAGE, PAGE, { kind: "openai", url: url(), model: "text-embedding-3-small", apiKey: "" })).status).toBe(303);
    expect(seenKeys).toEqual(["Bearer sk-right"]);
    const [v] = await (await currentEmbedder(h.app)).embed(["x"]);
    expect(v?.length).toBe(8);
    const cleared = await b.submit(PAGE, PAGE, { kind: "openai", url: url(), model: "text-embedding-3-small", apiKey: "", clearKey: "on" });
    expect(cleared.status).toBe(422);
    expect((await b.submit(PAGE, PAGE, { kind: "builtin" })).status).toBe(303);
    expect((await currentEmbedder(h.app)).id).toBe(BUILTIN_ID);
    expect((await h.app.db.client.execute({ sql: "SELECT count(*) AS n FROM settings WHERE key = ?", args: [API_KEY_KEY] })).rows[0]?.n).toBe(0);
  });
});
