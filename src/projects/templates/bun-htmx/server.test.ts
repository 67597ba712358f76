import { afterAll, beforeAll, expect, test } from "bun:test";
import { handle } from "./server.ts";

let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: handle });
  base = server.url.origin;
});

afterAll(() => server.stop(true));

const form = (fields: Record<string, string>) => new URLSearchParams(fields);
const htmx = { "HX-Request": "true" };

test("the page loads htmx from this app, not a CDN", async () => {
  const res = await fetch(`${base}/`);
  expect(res.status).toBe(200);
  const body = await res.text();
  expect(body).toContain('<script src="/public/vendor/htmx-2.0.11.min.js"');
  expect(body).not.toContain("https://");
  const js = await fetch(`${base}/public/vendor/htmx-2.0.11.min.js`);
  expect(js.status).toBe(200);
  expect(await js.text()).toContain("htmx");
  expect((await fetch(`${base}/public/..%2Fserver.ts`)).status).toBe(404);
});

test("adding without JavaScript redirects back to the page", async () => {
  const res = await fetch(`${base}/todos`, { method: "POST", body: form({ text: "plain form" }), redirect: "manual" });
  expect(res.status).toBe(303);
  expect(await (await fetch(`${base}/`)).text()).toContain("plain form");
});

test("with htmx, adding answers with the fragment and escapes the text", async () => {
  const res = await fetch(`${base}/todos`, { method: "POST", headers: htmx, body: form({ text: "<b>bold</b>" }) });
  expect(res.status).toBe(200);
  const body = await res.text();
  expect(body).toStartWith('<section id="app">');
  expect(body).toContain("&lt;b&gt;bold&lt;/b&gt;");
  expect(body).not.toContain("<b>bold</b>");
});

test("an empty item gets an error beside the field (422)", async () => {
  const res = await fetch(`${base}/todos`, { method: "POST", headers: htmx, body: form({ text: "  " }) });
  expect(res.status).toBe(422);
  expect(await res.text()).toContain("Write something first.");
});

test("toggle and delete", async () => {
  const page = await (await fetch(`${base}/`)).text();
  const id = /id="todo-(\d+)"/.exec(page)?.[1];
  expect(id).toBeDefined();
  const toggled = await fetch(`${base}/todos/${id}/toggle`, { method: "POST", headers: htmx });
  expect(await toggled.text()).toContain('class="done"');
  expect((await fetch(`${base}/todos/${id}/delete`, { method: "POST", headers: htmx })).status).toBe(200);
  expect((await fetch(`${base}/todos/${id}/delete`, { method: "POST", headers: htmx })).status).toBe(404);
});
