const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { createApp } = require("./app");

let server;
let base;

before(async () => {
  server = createApp().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

const post = (body) => fetch(`${base}/api/messages`, { method: "POST", headers: { "content-type": "application/json" }, body });

test("health", async () => {
  const res = await fetch(`${base}/api/health`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok" });
});

test("post and list messages", async () => {
  const res = await post(JSON.stringify({ text: " hello " }));
  assert.equal(res.status, 201);
  assert.equal((await res.json()).text, "hello");
  const list = await (await fetch(`${base}/api/messages`)).json();
  assert.equal(list[0].text, "hello");
});

test("bad input is a JSON error", async () => {
  assert.equal((await post(JSON.stringify({ text: "" }))).status, 400);
  const bad = await post("{not json");
  assert.equal(bad.status, 400);
  assert.ok((await bad.json()).error);
  assert.equal((await fetch(`${base}/api/nothing`)).status, 404);
});

test("the static page is served", async () => {
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<h1>Messages<\/h1>/);
});
