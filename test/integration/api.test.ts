/**
 * The JSON API against a real `wove serve` process: the "Done when"
 * flow (CLI-made account → token → project → file round trip), team roles,
 * path validation, the error shape, 401/403/404/413.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { test } from "../helpers/quiet.ts";
import { rawHttp, TestServer, type TestUser } from "../helpers/server.ts";

type ErrorBody = { error: { code: string; message: string; details?: Record<string, string> } };

function expectErrorShape(json: unknown, code?: string): ErrorBody {
  const body = json as ErrorBody;
  expect(body).toBeObject();
  expect(body.error).toBeObject();
  expect(typeof body.error.code).toBe("string");
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  if (code) expect(body.error.code).toBe(code);
  return body;
}

let srv: TestServer;
let owner: TestUser;
let ownerToken: string;

beforeAll(async () => {
  srv = await TestServer.start();
  owner = await srv.createUser({ role: "member", username: "owner" });
  ownerToken = await srv.token(owner.email);
}, 120_000);
afterAll(async () => {
  await srv?.stop();
}, 120_000);

describe("CLI-made token drives the API", () => {
  test("create-user + token → /me, create a project, write a file and read it back", async () => {
    const me = await srv.api("GET", "/api/v1/me", { token: ownerToken });
    expect(me.status).toBe(200);
    expect(me.json).toEqual({ id: owner.id, email: owner.email, name: expect.any(String), username: "owner", role: "member" });

    const created = await srv.api("POST", "/api/v1/projects", { token: ownerToken, body: { name: "Round Trip", description: "api test" } });
    expect(created.status).toBe(201);
    const project = created.json as { id: string; slug: string; owner: string; visibility: string };
    expect(project.slug).toBe("round-trip");
    expect(project.owner).toBe("owner");
    expect(project.visibility).toBe("private");

    const content = "console.log('héllo wörld');\n";
    const put = await srv.api("PUT", `/api/v1/projects/${project.id}/files/src/index.js`, { token: ownerToken, body: content });
    expect(put.status).toBe(201);
    const replace = await srv.api("PUT", `/api/v1/projects/${project.id}/files/src/index.js`, { token: ownerToken, body: content });
    expect(replace.status).toBe(200);

    const got = await srv.fetch(`/api/v1/projects/${project.id}/files/src/index.js`, { headers: { Authorization: `Bearer ${ownerToken}` } });
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(content);

    const bin = new Uint8Array([0, 1, 2, 255, 254, 0, 10]);
    expect((await srv.api("PUT", `/api/v1/projects/${project.id}/files/data.bin`, { token: ownerToken, body: bin })).status).toBe(201);
    const gotBin = await srv.fetch(`/api/v1/projects/${project.id}/files/data.bin`, { headers: { Authorization: `Bearer ${ownerToken}` } });
    expect(new Uint8Array(await gotBin.arrayBuffer())).toEqual(bin);

    const tree = await srv.api("GET", `/api/v1/projects/${project.id}/files`, { token: ownerToken });
    expect(tree.status).toBe(200);
    expect(JSON.stringify(tree.json)).toContain('"path":"src/index.js"');

    const list = await srv.api("GET", "/api/v1/projects", { token: ownerToken });
    expect((list.json as { id: string }[]).map((p) => p.id)).toContain(project.id);

    const moved = await srv.api("POST", `/api/v1/projects/${project.id}/files/src/index.js:move`, { token: ownerToken, body: { to: "src/main.js" } });
    expect(moved.status).toBe(200);
    expect((await srv.api("GET", `/api/v1/projects/${project.id}/files/src/main.js`, { token: ownerToken })).text).toBe(content);
    expect((await srv.api("DELETE", `/api/v1/projects/${project.id}/files/src/main.js`, { token: ownerToken })).status).toBe(204);
    expect((await srv.api("GET", `/api/v1/projects/${project.id}/files/src/main.js`, { token: ownerToken })).status).toBe(404);
  });
});

describe("team roles", () => {
  test("a team viewer can read but gets 403 on every write; a team member can write", async () => {
    const viewer = await srv.createUser({ username: "team-viewer" });
    const member = await srv.createUser({ username: "team-member" });
    const viewerToken = await srv.token(viewer.email);
    const memberToken = await srv.token(member.email);

    const team = await srv.api("POST", "/api/v1/teams", { token: ownerToken, body: { name: "Class 7B" } });
    expect(team.status).toBe(201);
    const teamId = (team.json as { id: string }).id;
    expect((await srv.api("PUT", `/api/v1/teams/${teamId}/members/${viewer.id}`, { token: ownerToken, body: { role: "viewer" } })).status).toBe(201);
    expect((await srv.api("PUT", `/api/v1/teams/${teamId}/members/${member.id}`, { token: ownerToken, body: { role: "member" } })).status).toBe(201);

    const proj = await srv.api("POST", "/api/v1/projects", { token: ownerToken, body: { name: "Homework", team: teamId } });
    expect(proj.status).toBe(201);
    const p = proj.json as { id: string; owner: string };
    expect(p.owner).toBe("class-7b");
    expect((await srv.api("PUT", `/api/v1/projects/${p.id}/files/README.md`, { token: ownerToken, body: "# hi\n" })).status).toBe(201);

    // viewer: reads work…
    expect((await srv.api("GET", `/api/v1/projects/${p.id}`, { token: viewerToken })).status).toBe(200);
    expect((await srv.api("GET", `/api/v1/projects/${p.id}/files/README.md`, { token: viewerToken })).text).toBe("# hi\n");
    // …writes are 403 with the error shape
    const writes: [string, string, unknown][] = [
      ["PUT", `/api/v1/projects/${p.id}/files/README.md`, "changed"],
      ["PUT", `/api/v1/projects/${p.id}/files/new.txt`, "new"],
      ["DELETE", `/api/v1/projects/${p.id}/files/README.md`, undefined],
      ["POST", `/api/v1/projects/${p.id}/files/README.md:move`, { to: "x.md" }],
      ["PATCH", `/api/v1/projects/${p.id}`, { name: "mine" }],
      ["DELETE", `/api/v1/projects/${p.id}`, undefined],
      ["PUT", `/api/v1/teams/${teamId}/members/${viewer.id}`, { role: "owner" }],
    ];
    for (const [method, path, body] of writes) {
      const r = await srv.api(method, path, { token: viewerToken, body });
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 403 });
      expectErrorShape(r.json, "forbidden");
    }
    // a viewer cannot create a project in the team either
    const teamCreate = await srv.api("POST", "/api/v1/projects", { token: viewerToken, body: { name: "Sneaky", team: teamId } });
    expect(teamCreate.status).toBe(403);
    expectErrorShape(teamCreate.json, "forbidden");
    expect((await srv.api("GET", `/api/v1/projects/${p.id}/files/README.md`, { token: viewerToken })).text).toBe("# hi\n");

    // member: writes files, cannot administer the project
    expect((await srv.api("PUT", `/api/v1/projects/${p.id}/files/notes.txt`, { token: memberToken, body: "mine" })).status).toBe(201);
    expect((await srv.api("DELETE", `/api/v1/projects/${p.id}`, { token: memberToken })).status).toBe(403);
  });
});

describe("input validation and the error shape", () => {
  let projectId: string;
  beforeAll(async () => {
    const r = await srv.api("POST", "/api/v1/projects", { token: ownerToken, body: { name: "Validation" } });
    projectId = (r.json as { id: string }).id;
  });

  // (A literal "../" or "%2E%2E/" is folded away by the URL parser before it leaves the client; "%2F" keeps it one segment.)
  for (const bad of ["..%2Fsecret.txt", "a/..%2F..%2Fsecret.txt", "%2E%2E%2Fx", "sub/%2e%2e%2f%2e%2e%2fx", "..%2f..%2fwove.db", "a%00b.txt", "%2Fetc%2Fpasswd"]) {
    test(`PUT files/${bad} → 400 with the error shape`, async () => {
      const r = await srv.api("PUT", `/api/v1/projects/${projectId}/files/${bad}`, { token: ownerToken, body: "x" });
      expect(r.status).toBe(400);
      expectErrorShape(r.json, "bad_request");
    });
  }

  test("a literal ../ sent as-is on the wire (curl --path-as-is) never reaches a file outside the project", async () => {
    // Bun folds dot segments before routing (…/files/../../x becomes …/x), so these land on no route: 404, nothing written.
    for (const path of [`/api/v1/projects/${projectId}/files/../../../secret.key`, `/api/v1/projects/${projectId}/files/a/../../x`]) {
      const r = await rawHttp(srv.url, `PUT ${path} HTTP/1.1\r\nAuthorization: Bearer ${ownerToken}`, "x");
      expect({ path, status: [400, 404].includes(r.status) }).toEqual({ path, status: true });
      expectErrorShape(JSON.parse(r.text));
    }
    expect(await Bun.file(`${srv.dataDir}/secret.key`).text()).not.toBe("x");
    const tree = await srv.api("GET", `/api/v1/projects/${projectId}/files`, { token: ownerToken });
    expect(JSON.stringify(tree.json)).not.toContain('"x"');
  });

  test("GET with ..%2F → 400 (reads cannot escape the project either)", async () => {
    const r = await srv.api("GET", `/api/v1/projects/${projectId}/files/..%2F..%2Fsecret.key`, { token: ownerToken });
    expect(r.status).toBe(400);
    expectErrorShape(r.json, "bad_request");
  });

  test("a move target with ../ → 400", async () => {
    await srv.api("PUT", `/api/v1/projects/${projectId}/files/a.txt`, { token: ownerToken, body: "a" });
    const r = await srv.api("POST", `/api/v1/projects/${projectId}/files/a.txt:move`, { token: ownerToken, body: { to: "../../a.txt" } });
    expect(r.status).toBe(400);
    expectErrorShape(r.json, "bad_request");
  });

  test("malformed JSON body → 400 {error:{code,message}}", async () => {
    for (const body of ['{"name": "x"', "{name: 'x'}", "[1,2", "nul"]) {
      const r = await srv.api("POST", "/api/v1/projects", { token: ownerToken, body, headers: { "Content-Type": "application/json" } });
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expectErrorShape(r.json, "bad_request");
    }
  });

  test("well-formed JSON of the wrong shape → 422 with field details", async () => {
    const r = await srv.api("POST", "/api/v1/projects", { token: ownerToken, body: { name: "", visibility: "secret" } });
    expect(r.status).toBe(422);
    const body = expectErrorShape(r.json, "invalid");
    expect(Object.keys(body.error.details ?? {})).toContain("name");
  });

  test("an unknown API path → 404 with the error shape", async () => {
    const r = await srv.api("GET", "/api/v1/nope", { token: ownerToken });
    expect(r.status).toBe(404);
    expectErrorShape(r.json, "not_found");
  });
});

describe("authentication", () => {
  test("no token → 401 with the error shape", async () => {
    for (const path of ["/api/v1/me", "/api/v1/projects"]) {
      const r = await srv.api("GET", path);
      expect(r.status).toBe(401);
      expectErrorShape(r.json, "unauthorized");
    }
  });

  test("a bad, malformed or revoked token → 401", async () => {
    for (const auth of ["Bearer wove_notarealtoken000000000000000000", "Bearer", "Basic dXNlcjpwYXNz", `Bearer ${ownerToken}x`]) {
      const r = await srv.api("GET", "/api/v1/me", { headers: { Authorization: auth } });
      expect({ auth, status: r.status }).toEqual({ auth, status: 401 });
      expectErrorShape(r.json, "unauthorized");
    }
    const temp = await srv.api("POST", "/api/v1/me/tokens", { token: ownerToken, body: { name: "temp" } });
    expect(temp.status).toBe(201);
    const { token, id } = temp.json as { token: string; id: string };
    expect((await srv.api("GET", "/api/v1/me", { token })).status).toBe(200);
    expect((await srv.api("DELETE", `/api/v1/me/tokens/${id}`, { token: ownerToken })).status).toBe(204);
    expect((await srv.api("GET", "/api/v1/me", { token })).status).toBe(401);
  });

  test("a read-only token gets 403 on writes", async () => {
    const ro = await srv.token(owner.email, "read");
    expect((await srv.api("GET", "/api/v1/projects", { token: ro })).status).toBe(200);
    const r = await srv.api("POST", "/api/v1/projects", { token: ro, body: { name: "nope" } });
    expect(r.status).toBe(403);
    expectErrorShape(r.json, "forbidden");
  });

  test("another user's private project is 404 (its existence does not leak); unlisted is readable", async () => {
    const stranger = await srv.createUser({ username: "stranger" });
    const strangerToken = await srv.token(stranger.email);
    const r = await srv.api("POST", "/api/v1/projects", { token: ownerToken, body: { name: "Private Stuff" } });
    const id = (r.json as { id: string }).id;
    await srv.api("PUT", `/api/v1/projects/${id}/files/secret.txt`, { token: ownerToken, body: "s3cret" });
    for (const [method, path] of [
      ["GET", `/api/v1/projects/${id}`],
      ["GET", `/api/v1/projects/${id}/files`],
      ["GET", `/api/v1/projects/${id}/files/secret.txt`],
      ["PUT", `/api/v1/projects/${id}/files/secret.txt`],
      ["DELETE", `/api/v1/projects/${id}`],
    ] as const) {
      const res = await srv.api(method, path, { token: strangerToken, body: method === "PUT" ? "pwned" : undefined });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expectErrorShape(res.json, "not_found");
    }
    // The same 404 as a project that never existed.
    expect((await srv.api("GET", "/api/v1/projects/00000000000000000000000000", { token: strangerToken })).status).toBe(404);
    expect((await srv.api("GET", `/api/v1/projects/${id}/files/secret.txt`, { token: ownerToken })).text).toBe("s3cret");

    await srv.api("PATCH", `/api/v1/projects/${id}`, { token: ownerToken, body: { visibility: "unlisted" } });
    expect((await srv.api("GET", `/api/v1/projects/${id}/files/secret.txt`, { token: strangerToken })).text).toBe("s3cret");
    expect((await srv.api("PUT", `/api/v1/projects/${id}/files/secret.txt`, { token: strangerToken, body: "pwned" })).status).toBe(403);
  });
});

describe("size limits", () => {
  let small: TestServer;
  let token: string;
  beforeAll(async () => {
    small = await TestServer.start({ env: { WOVE_MAX_FILE_SIZE: "1k", WOVE_MAX_BODY_SIZE: "64k" } });
    const u = await small.createUser();
    token = await small.token(u.email);
  });
  afterAll(async () => {
    await small?.stop();
  });

  test("a file over WOVE_MAX_FILE_SIZE → 413 with the error shape; at the limit → 201", async () => {
    const p = (await small.api("POST", "/api/v1/projects", { token, body: { name: "Sizes" } })).json as { id: string };
    const ok = await small.api("PUT", `/api/v1/projects/${p.id}/files/fits.txt`, { token, body: "x".repeat(1024) });
    expect(ok.status).toBe(201);
    const big = await small.api("PUT", `/api/v1/projects/${p.id}/files/big.txt`, { token, body: "x".repeat(1025) });
    expect(big.status).toBe(413);
    expectErrorShape(big.json, "too_large");
    expect((await small.api("GET", `/api/v1/projects/${p.id}/files/big.txt`, { token })).status).toBe(404);
  });

  test("a request body over WOVE_MAX_BODY_SIZE → 413", async () => {
    const p = (await small.api("POST", "/api/v1/projects", { token, body: { name: "Bodies" } })).json as { id: string };
    const r = await small.api("PUT", `/api/v1/projects/${p.id}/files/huge.txt`, { token, body: "x".repeat(200 * 1024) });
    expect(r.status).toBe(413);
  });
});
