import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CheckedUrl } from "../lib/outbound.ts";
import { builtinEmbedder, dot, embedBuiltin, splitIdentifier, stem, tokenFeatures } from "./embed.ts";
import { EmbedderError, endpointUrl, httpEmbedder, type HttpEmbedderOptions } from "./embed-http.ts";
import { CORPUS } from "./semantic-fixtures.ts";

function rank(query: string): string[] {
  const q = embedBuiltin(query);
  return Object.entries(CORPUS)
    .map(([path, text]) => ({ path, score: dot(q, embedBuiltin(`${path}\n${text}`)) }))
    .sort((a, b) => b.score - a.score)
    .map((r) => r.path);
}

describe("built-in embedder", () => {
  test("identifiers split into sub-tokens; plurals and -ing/-ed are stemmed", () => {
    expect(splitIdentifier("hashPassword")).toEqual(["hash", "password"]);
    expect(splitIdentifier("parseHTTPResponse2")).toEqual(["parse", "http", "response2"]);
    expect(splitIdentifier("snake_case_name")).toEqual(["snake", "case", "name"]);
    expect(splitIdentifier("XMLHttpRequest")).toEqual(["xml", "http", "request"]);
    expect(["charts", "hashed", "hashing", "passwords", "classes", "queries", "d3", "running"].map(stem)).toEqual(["chart", "hash", "hash", "password", "class", "query", "d3", "run"]);
    expect(tokenFeatures("the")).toEqual([]);
    expect(tokenFeatures("argon2").map(([f]) => f)).toContain("c:hashing");
  });

  test("384 dimensions, unit length, deterministic, and the same through the Embedder interface", async () => {
    const v = embedBuiltin("function renderChart() {}");
    expect(v.length).toBe(384);
    expect(Math.abs(dot(v, v) - 1)).toBeLessThan(1e-5);
    expect(embedBuiltin("function renderChart() {}")).toEqual(v);
    const [w] = await builtinEmbedder.embed(["function renderChart() {}"]);
    expect(w).toEqual(v);
    expect(builtinEmbedder.dims).toBe(384);
    // A text with no features is the zero vector, not NaN.
    expect(Array.from(embedBuiltin("the of and")).every((x) => x === 0)).toBe(true);
  });

  test("plain-words queries rank the file they describe first", () => {
    expect(rank("draw a bar chart")[0]).toBe("src/sales-chart.js");
    expect(rank("hash a password")[0]).toBe("server/auth/passwords.ts");
    expect(rank("read rows from a csv file")[0]).toBe("lib/csv.go");
    expect(rank("sort a list in place")[0]).toBe("util/quicksort.rs");
    expect(rank("format a date as minutes ago")[0]).toBe("lib/dates.py");
    expect(rank("deploy with docker")[0]).toBe("docs/deploy.md");
  });

  test("similar code is closer than unrelated code, and sign bits track the angle", () => {
    const a = embedBuiltin("export async function hashPassword(plain) { return bcrypt.hash(plain, 12); }");
    const b = embedBuiltin("async function hashSecret(secret) { return argon2.hash(secret); }");
    const c = embedBuiltin("const width = 640; svg.append('rect').attr('width', width);");
    expect(dot(a, b)).toBeGreaterThan(dot(a, c) + 0.1);
    const bits = (v: Float32Array) => Array.from(v, (x) => (x > 0 ? 1 : 0));
    const hamming = (x: number[], y: number[]) => x.reduce((n, xi, i) => n + (xi !== y[i] ? 1 : 0), 0);
    expect(hamming(bits(a), bits(b))).toBeLessThan(hamming(bits(a), bits(c)));
  });
});

// ---- HTTP embedders against protocol-faithful fake servers (real HTTP on loopback) ----

type Seen = { path: string; host: string | null; auth: string | null; body: { model?: string; input?: string[] } };

function fakeVector(text: string, dims: number): number[] {
  // Not normalised on purpose: the client must normalise.
  return Array.from({ length: dims }, (_, i) => ((text.charCodeAt(i % text.length) || 1) % 7) + i * 0.01);
}

let seen: Seen[] = [];
let behaviour: "ok" | "flaky" | "missing-model" | "bad-key" | "slow" | "wrong-dims" | "redirect" = "ok";
let failuresLeft = 0;
let server: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const body = (await req.json().catch(() => ({}))) as Seen["body"];
      seen.push({ path: url.pathname, host: req.headers.get("host"), auth: req.headers.get("authorization"), body });
      const input = body.input ?? [];
      if (behaviour === "slow") await Bun.sleep(400);
      if (behaviour === "redirect") return new Response(null, { status: 302, headers: { location: "http://169.254.169.254/" } });
      if (behaviour === "flaky" && failuresLeft-- > 0) return Response.json({ error: "model is loading" }, { status: 503 });
      if (url.pathname === "/api/embed") {
        if (behaviour === "missing-model") return Response.json({ error: `model "${body.model}" not found, try pulling it first` }, { status: 404 });
        const dims = behaviour === "wrong-dims" ? 5 : 8;
        return Response.json({ model: body.model, embeddings: input.map((t) => fakeVector(t, dims)), total_duration: 1, load_duration: 0, prompt_eval_count: input.length });
      }
      if (url.pathname === "/v1/embeddings") {
        if (behaviour === "bad-key" || req.headers.get("authorization") !== "Bearer sk-test") {
          return Response.json({ error: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" } }, { status: 401 });
        }
        // Out of order on purpose: clients must place each vector by its index.
        const data = input.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(t, 8) })).reverse();
        return Response.json({ object: "list", data, model: body.model, usage: { prompt_tokens: 3, total_tokens: 3 } });
      }
      return new Response("not found", { status: 404 });
    },
  });
});
afterAll(() => server.stop(true));

/** Names a made-up host and pins it to the fake server, as the outbound check would pin a real one. */
function pinnedTo(port: number): (url: string) => Promise<CheckedUrl> {
  return async (url) => ({ url: new URL(url), host: "models.example.test", port, addresses: ["127.0.0.1"] });
}

function make(kind: "ollama" | "openai", extra: Partial<HttpEmbedderOptions> = {}) {
  const port = server.port as number;
  return httpEmbedder({ kind, url: `http://models.example.test:${port}`, model: "nomic-embed-text", dims: 8, check: pinnedTo(port), retryDelayMs: 5, ...extra });
}

async function failure(p: Promise<unknown>): Promise<EmbedderError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EmbedderError);
    return e as EmbedderError;
  }
  throw new Error("expected a failure");
}

describe("HTTP embedders", () => {
  test("endpoint URLs: base URLs with or without /v1 or /api", () => {
    expect(endpointUrl("ollama", "http://h:11434/")).toBe("http://h:11434/api/embed");
    expect(endpointUrl("ollama", "http://h:11434/api")).toBe("http://h:11434/api/embed");
    expect(endpointUrl("openai", "https://api.openai.com")).toBe("https://api.openai.com/v1/embeddings");
    expect(endpointUrl("openai", "http://h:8000/v1/")).toBe("http://h:8000/v1/embeddings");
  });

  test("Ollama: batches inputs, sends the model, pins the checked address, normalises", async () => {
    seen = [];
    behaviour = "ok";
    const e = make("ollama", { batchSize: 2 });
    const texts = ["alpha", "beta", "gamma", "delta", "epsilon"];
    const vs = await e.embed(texts);
    expect(vs.length).toBe(5);
    for (const v of vs) expect(Math.abs(dot(v, v) - 1)).toBeLessThan(1e-5);
    expect(seen.map((s) => s.body.input?.length)).toEqual([2, 2, 1]);
    expect(seen.every((s) => s.path === "/api/embed" && s.body.model === "nomic-embed-text")).toBe(true);
    expect(seen[0]?.host).toBe(`models.example.test:${server.port}`);
    expect(e.id).toBe("ollama:nomic-embed-text:8");
  });

  test("OpenAI-compatible: bearer key, vectors placed by index", async () => {
    seen = [];
    behaviour = "ok";
    const e = make("openai", { apiKey: "sk-test", model: "text-embedding-3-small" });
    const [a, b] = await e.embed(["first", "second"]);
    const [a2] = await e.embed(["first"]);
    expect(a).toEqual(a2 as Float32Array);
    expect(b).not.toEqual(a as Float32Array);
    expect(seen[0]?.auth).toBe("Bearer sk-test");
    expect(seen[0]?.path).toBe("/v1/embeddings");
  });

  test("clear errors: missing model, bad key, wrong size, redirect, timeout, unreachable", async () => {
    behaviour = "missing-model";
    expect((await failure(make("ollama").embed(["x"]))).message).toMatch(/HTTP 404: model "nomic-embed-text" not found.*Check the URL/);
    behaviour = "bad-key";
    const bad = await failure(make("openai", { apiKey: "sk-wrong" }).embed(["x"]));
    expect(bad.status).toBe(401);
    expect(bad.message).toMatch(/Incorrect API key provided\..*Check the API key/);
    behaviour = "wrong-dims";
    expect((await failure(make("ollama").embed(["x"]))).message).toMatch(/returned 5-dimensional vectors, but the index holds 8/);
    behaviour = "redirect";
    expect((await failure(make("ollama").embed(["x"]))).message).toMatch(/redirect \(302\)/);
    behaviour = "slow";
    expect((await failure(make("ollama", { timeoutMs: 100 }).embed(["x"]))).message).toMatch(/did not answer within 100 ms\./);
    behaviour = "ok";
    const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const port = closed.port as number;
    closed.stop(true);
    const gone = httpEmbedder({ kind: "ollama", url: `http://models.example.test:${port}`, model: "m", dims: 8, check: pinnedTo(port) });
    expect((await failure(gone.embed(["x"]))).message).toMatch(/Ollama at models\.example\.test:\d+ could not be reached/);
  });

  test("a 503 is retried, then succeeds", async () => {
    seen = [];
    behaviour = "flaky";
    failuresLeft = 2;
    const vs = await make("ollama").embed(["x"]);
    expect(vs.length).toBe(1);
    expect(seen.length).toBe(3);
    behaviour = "ok";
  });

  test("the outbound check refuses local, metadata and unlisted addresses before any request", async () => {
    seen = [];
    for (const url of ["http://127.0.0.1:11434", "http://169.254.169.254", "http://localhost:11434", "http://[::1]:8080"]) {
      const e = httpEmbedder({ kind: "ollama", url, model: "m", dims: 8 });
      expect((await failure(e.embed(["x"]))).message).toMatch(/^The embedding server URL is refused: /);
    }
    expect(seen.length).toBe(0);
  });
});
