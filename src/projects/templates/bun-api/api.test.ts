import { afterAll, beforeAll, expect, test } from "bun:test";
import { handle } from "./api.ts";

let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: handle });
  base = server.url.origin;
});

afterAll(() => server.stop(true));

const post = (path: string, body: string) => fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body });

test("health", async () => {
  const res = await fetch(`${base}/health`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: "ok" });
});

test("the root lists the endpoints", async () => {
  const res = await fetch(`${base}/`);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { endpoints: string[] }).endpoints).toContain("POST /notes");
});

test("add, list, read and delete a note", async () => {
  const created = await post("/notes", JSON.stringify({ text: "  buy milk " }));
  expect(created.status).toBe(201);
  const note = (await created.json()) as { id: number; text: string };
  expect(note.text).toBe("buy milk");

  const list = (await (await fetch(`${base}/notes`)).json()) as { id: number }[];
  expect(list.map((n) => n.id)).toContain(note.id);

  expect((await fetch(`${base}/notes/${note.id}`)).status).toBe(200);
  expect((await fetch(`${base}/notes/${note.id}`, { method: "DELETE" })).status).toBe(204);
  expect((await fetch(`${base}/notes/${note.id}`)).status).toBe(404);
});

test("bad input gets a clear error", async () => {
  const notJson = await post("/notes", "not json");
  expect(notJson.status).toBe(400);
  expect(((await notJson.json()) as { error: string }).error).toContain("JSON");
  expect((await post("/notes", JSON.stringify({ text: "" }))).status).toBe(400);
  expect((await fetch(`${base}/notes/abc`)).status).toBe(404);
  expect((await fetch(`${base}/notes`, { method: "PUT" })).status).toBe(405);
  expect((await fetch(`${base}/nowhere`)).status).toBe(404);
});
