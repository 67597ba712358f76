import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import { createUser } from "../auth/users.ts";
import { createToken } from "../auth/tokens.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { setLogSink } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { promptApiRoutes } from "./prompt-routes.ts";

let app: App;
let dir: string;
let server: ReturnType<typeof createServer>;
const tokens: Record<"owner" | "mate" | "other" | "reader", string> = { owner: "", mate: "", other: "", reader: "" };

type Json = Record<string, unknown> & { error?: { code: string; message: string; details?: Record<string, string> } };

async function call(who: keyof typeof tokens | null, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = {};
  if (who) headers.authorization = `Bearer ${tokens[who]}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await server.handle(new Request(`http://wove.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
}

beforeAll(async () => {
  setLogSink(() => {});
  ({ app, dir } = await openTempApp("wove-prompt-routes-"));
  const orm = app.db.orm;
  const owner = await createUser(orm, { email: "o@example.com", username: "olga", role: "member" }, null);
  const mate = await createUser(orm, { email: "m@example.com", username: "mate", role: "member" }, null);
  const other = await createUser(orm, { email: "x@example.com", username: "xavier", role: "member" }, null);
  const team = await createTeam(orm, owner, { name: "Crew", slug: "crew" });
  await setMember(orm, team.id, mate.id, "member", owner.id, "owner");
  tokens.owner = (await createToken(orm, owner, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  tokens.mate = (await createToken(orm, mate, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  tokens.other = (await createToken(orm, other, { name: "t", scopes: ["read", "write"], expiresAt: null }, null)).token;
  tokens.reader = (await createToken(orm, owner, { name: "r", scopes: ["read"], expiresAt: null }, null)).token;
  server = createServer(app, { routes: promptApiRoutes });
});
afterAll(() => closeTempApp(app, dir));

describe("/api/v1/prompts", () => {
  test("the whole life of a prompt: create, edit (v2), versions, diff, vote, render, feedback, copy, delete", async () => {
    expect((await call(null, "GET", "/api/v1/prompts")).status).toBe(401);
    const created = await call("owner", "POST", "/api/v1/prompts", {
      name: "Review",
      description: "Code review",
      body: "Review this {{lang}} code:\n{{code}}\n",
      variables: [{ name: "lang", description: "Language", default: "TypeScript" }],
      visibility: "team",
      team: "crew",
    });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect(created.json).toMatchObject({
      name: "Review",
      visibility: "team",
      team: { slug: "crew", name: "Crew" },
      owner: { username: "olga" },
      currentVersion: 1,
      version: 1,
      body: "Review this {{lang}} code:\n{{code}}\n",
      variables: [
        { name: "lang", description: "Language", default: "TypeScript" },
        { name: "code", description: "" },
      ],
      votes: { score: 0, up: 0, down: 0, mine: 0 },
      uses: 0,
      canEdit: true,
      analytics: [],
      url: `/prompts/${id}`,
    });

    const bad = await call("owner", "POST", "/api/v1/prompts", { name: "Bad", body: "{{x}}", variables: [{ name: "1x" }] });
    expect(bad.status).toBe(422);
    expect(bad.json.error?.details?.variables).toContain("not a valid variable name");

    // Sharing: the team member sees it, someone else gets a 404, in get and list alike.
    expect((await call("mate", "GET", `/api/v1/prompts/${id}`)).json.canEdit).toBe(false);
    expect((await call("other", "GET", `/api/v1/prompts/${id}`)).status).toBe(404);
    expect(((await call("other", "GET", "/api/v1/prompts?q=review")).json.prompts as unknown[]).length).toBe(0);
    const listed = await call("mate", "GET", "/api/v1/prompts?q=review&scope=team&sort=recent");
    expect((listed.json.prompts as { id: string }[]).map((p) => p.id)).toEqual([id]);
    expect(listed.json.next).toBeNull();
    expect((await call("mate", "GET", "/api/v1/prompts?scope=nope")).status).toBe(400);

    // Editing: owner only; a new version; a stale base version is a 409.
    expect((await call("mate", "PATCH", `/api/v1/prompts/${id}`, { body: "x" })).status).toBe(403);
    expect((await call("reader", "PATCH", `/api/v1/prompts/${id}`, { body: "x" })).status).toBe(403);
    const v2 = await call("owner", "PATCH", `/api/v1/prompts/${id}`, { body: "Review this {{lang}} code carefully:\n{{code}}\n", note: "careful", baseVersion: 1 });
    expect(v2.status).toBe(200);
    expect(v2.json).toMatchObject({ currentVersion: 2, version: 2, note: "careful", newVersion: true });
    expect((await call("owner", "PATCH", `/api/v1/prompts/${id}`, { body: "zzz", baseVersion: 1 })).status).toBe(409);
    const put = await call("owner", "PUT", `/api/v1/prompts/${id}`, { name: "Review!", body: "Review this {{lang}} code carefully:\n{{code}}\n" });
    expect(put.json).toMatchObject({ name: "Review!", currentVersion: 2, newVersion: false });

    const versions = await call("mate", "GET", `/api/v1/prompts/${id}/versions`);
    expect((versions.json.versions as { version: number; note: string; createdBy: { username: string } }[]).map((v) => [v.version, v.note, v.createdBy.username])).toEqual([
      [1, "", "olga"],
      [2, "careful", "olga"],
    ]);
    const one = await call("mate", "GET", `/api/v1/prompts/${id}/versions/1`);
    expect(one.json.body).toBe("Review this {{lang}} code:\n{{code}}\n");
    expect((await call("mate", "GET", `/api/v1/prompts/${id}/versions/9`)).status).toBe(404);
    expect((await call("mate", "GET", `/api/v1/prompts/${id}/versions/abc`)).status).toBe(404);

    const diff = await call("mate", "GET", `/api/v1/prompts/${id}/diff?from=1&to=2`);
    expect(diff.json).toMatchObject({ from: 1, to: 2, additions: 1, deletions: 1, variables: { added: [], removed: [], changed: [] } });
    expect(diff.json.unified).toContain("-Review this {{lang}} code:\n+Review this {{lang}} code carefully:\n");
    expect((await call("mate", "GET", `/api/v1/prompts/${id}/diff`)).json.from).toBe(1);

    expect((await call("mate", "POST", `/api/v1/prompts/${id}/vote`, { value: 1 })).json).toEqual({ score: 1, up: 1, down: 0, mine: 1 });
    expect((await call("mate", "POST", `/api/v1/prompts/${id}/vote`, { value: 2 })).status).toBe(422);
    expect((await call("other", "POST", `/api/v1/prompts/${id}/vote`, { value: 1 })).status).toBe(404);

    const missing = await call("mate", "POST", `/api/v1/prompts/${id}/render`, { variables: {} });
    expect(missing.status).toBe(422);
    expect(missing.json.error?.details).toEqual({ code: "Give a value for {{code}}." });
    const rendered = await call("mate", "POST", `/api/v1/prompts/${id}/render`, { variables: { code: "let x = 1" } });
    expect(rendered.json).toMatchObject({ text: "Review this TypeScript code carefully:\nlet x = 1\n", version: 2 });
    const useId = rendered.json.useId as number;
    const old = await call("mate", "POST", `/api/v1/prompts/${id}/render`, { variables: { code: "y", lang: "Go" }, version: 1 });
    expect(old.json.text).toBe("Review this Go code:\ny\n");
    expect((await call("mate", "POST", `/api/v1/prompts/${id}/uses/${useId}/feedback`, { value: -1 })).json).toEqual({ useId, version: 2, feedback: -1 });
    expect((await call("owner", "POST", `/api/v1/prompts/${id}/uses/${useId}/feedback`, { value: 1 })).status).toBe(404);
    const detail = await call("owner", "GET", `/api/v1/prompts/${id}`);
    expect(detail.json.analytics).toEqual([
      { version: 2, uses: 1, up: 0, down: 1 },
      { version: 1, uses: 1, up: 0, down: 0 },
    ]);
    expect(detail.json.uses).toBe(2);

    const copy = await call("mate", "POST", `/api/v1/prompts/${id}/copy`, {});
    expect(copy.status).toBe(201);
    expect(copy.json).toMatchObject({ name: "Review! (copy)", visibility: "private", owner: { username: "mate" }, currentVersion: 1, canEdit: true });

    expect((await call("mate", "DELETE", `/api/v1/prompts/${id}`)).status).toBe(403);
    expect((await call("owner", "DELETE", `/api/v1/prompts/${id}`)).status).toBe(204);
    expect((await call("owner", "GET", `/api/v1/prompts/${id}`)).status).toBe(404);
    expect((await call("mate", "GET", `/api/v1/prompts/${copy.json.id as string}`)).status).toBe(200);
  });
});
