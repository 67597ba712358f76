import { afterAll, beforeAll, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import { createUser } from "../auth/users.ts";
import { createToken } from "../auth/tokens.ts";
import { setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { createProject } from "./projects.ts";

let app: App;
let dir: string;

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-stars-routes-"));
});
afterAll(() => closeTempApp(app, dir));

test("starring needs a signed-in account even on a public project; a reader's token stars it once", async () => {
  const owner = await createUser(app.db.orm, { email: "o@b.co", password: "correct horse battery", role: "member" }, null);
  const fan = await createUser(app.db.orm, { email: "f@b.co", password: "correct horse battery", role: "member" }, null);
  const p = await createProject(app.db.orm, app.config.dataDir, owner, { name: "Shiny", visibility: "public" });
  const server = createServer(app);
  const url = `http://wove.test/api/v1/projects/${p.id}/star`;
  const anon = await server.handle(new Request(url, { method: "PUT" }));
  expect(anon.status).toBe(401);
  const { token } = await createToken(app.db.orm, fan, { name: "t", scopes: ["read", "write"], expiresAt: null }, null);
  const auth = { Authorization: `Bearer ${token}` };
  expect((await server.handle(new Request(url, { method: "PUT", headers: auth }))).status).toBe(204);
  expect((await server.handle(new Request(url, { method: "PUT", headers: auth }))).status).toBe(204);
  const json = (await (await server.handle(new Request(`http://wove.test/api/v1/projects/${p.id}`, { headers: auth }))).json()) as { stars?: number };
  expect(json.stars).toBe(1);
});
