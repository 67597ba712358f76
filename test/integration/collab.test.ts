/**
 * Collaborative editing against a real `wove serve`, with the stock
 * `y-websocket` WebsocketProvider as the client: convergence, late joiners,
 * read-only viewers, write-back to the working tree, changes made through the
 * file API reaching open editors, and refusals as close codes.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import * as Y from "yjs";
import { test } from "../helpers/quiet.ts";
import { waitFor, TestServer } from "../helpers/server.ts";
import { connect, disconnectAll, rawSocket, roomOf, sessionCookie, synced, teamWithRoles, type Team3 } from "../helpers/collab.ts";

let srv: TestServer;
let team: Team3;
let projectId: string;

async function fileText(path: string): Promise<string> {
  const r = await srv.api("GET", `/api/v1/projects/${projectId}/files/${path}`, { token: team.tokens.owner });
  return r.status === 200 ? r.text : `<${r.status}>`;
}

beforeAll(async () => {
  srv = await TestServer.start({ env: { WOVE_COLLAB_IDLE: "1s" } });
  team = await teamWithRoles(srv);
  const p = await srv.api("POST", "/api/v1/projects", { token: team.tokens.owner, body: { name: "Pairing", team: team.teamId } });
  projectId = (p.json as { id: string }).id;
  const put = await srv.api("PUT", `/api/v1/projects/${projectId}/files/src/main.ts`, { token: team.tokens.owner, body: "export const answer = 42;\n" });
  expect(put.status).toBe(201);
}, 120_000);
afterAll(async () => {
  await srv?.stop();
}, 120_000);

describe("stock y-websocket clients", () => {
  test("two writers converge, a late joiner gets everything, and the text reaches the file API within 2 s", async () => {
    const a = connect(srv, projectId, "src/main.ts", team.tokens.owner);
    const b = connect(srv, projectId, "src/main.ts", team.tokens.writer);
    await Promise.all([synced(a), synced(b)]);
    expect(a.text.toString()).toBe("export const answer = 42;\n");
    // Concurrent edits at both ends, many small transactions as typing makes them.
    for (let i = 0; i < 50; i++) {
      a.text.insert(0, "a");
      b.text.insert(b.text.length, "b");
      if (i % 10 === 0) await Bun.sleep(5);
    }
    await waitFor("convergence", () => a.text.toString() === b.text.toString() && a.text.length === 26 + 100);
    const expected = a.text.toString();
    expect(expected.startsWith("a".repeat(50))).toBe(true);
    expect(expected.endsWith("b".repeat(50))).toBe(true);

    const c = connect(srv, projectId, "src/main.ts", team.tokens.viewer);
    await synced(c);
    await waitFor("the late joiner's state", () => c.text.toString() === expected);

    const typedAt = Date.now();
    await waitFor("write-back", async () => (await fileText("src/main.ts")) === expected, 2500);
    expect(Date.now() - typedAt).toBeLessThan(2500);
    disconnectAll(a, b, c);
  });

  test("a viewer's edits are dropped, it is told so, and nobody else sees them", async () => {
    const w = connect(srv, projectId, "src/main.ts", team.tokens.writer);
    const v = connect(srv, projectId, "src/main.ts", team.tokens.viewer);
    await Promise.all([synced(w), synced(v)]);
    const before = w.text.toString();
    v.text.insert(0, "HACKED ");
    v.text.delete(10, 3);
    await waitFor("the permission-denied message", () => v.denied.length > 0);
    expect(v.denied[0]).toContain("read-only");
    await Bun.sleep(300);
    expect(w.text.toString()).toBe(before);
    // A fresh reader sees the server's document: unchanged.
    const fresh = connect(srv, projectId, "src/main.ts", team.tokens.owner);
    await synced(fresh);
    expect(fresh.text.toString()).toBe(before);
    disconnectAll(w, v, fresh);
  });

  test("a write through the file API updates open editors instead of diverging", async () => {
    await srv.api("PUT", `/api/v1/projects/${projectId}/files/notes.md`, { token: team.tokens.owner, body: "# Notes\n\none\ntwo\nthree\n" });
    const a = connect(srv, projectId, "notes.md", team.tokens.writer);
    await synced(a);
    // The editor adds a line at the top; the API (another tool) changes the last line meanwhile.
    a.text.insert("# Notes\n".length, "intro\n");
    await waitFor("write-back of the editor's line", async () => (await fileText("notes.md")).includes("intro"));
    const put = await srv.api("PUT", `/api/v1/projects/${projectId}/files/notes.md`, { token: team.tokens.owner, body: "# Notes\nintro\n\none\ntwo\nTHREE!\n" });
    expect(put.status).toBe(200);
    await waitFor("the API write in the editor", () => a.text.toString() === "# Notes\nintro\n\none\ntwo\nTHREE!\n");
    disconnectAll(a);
  });

  test("saving a version right after typing includes the last keystrokes; restoring a version updates open editors", async () => {
    await srv.api("PUT", `/api/v1/projects/${projectId}/files/story.txt`, { token: team.tokens.owner, body: "once\n" });
    const a = connect(srv, projectId, "story.txt", team.tokens.writer);
    await synced(a);
    const first = await srv.api("POST", `/api/v1/projects/${projectId}/versions`, { token: team.tokens.owner, body: { message: "once" } });
    expect(first.status).toBe(201);
    a.text.insert(a.text.length, "upon a time\n");
    // No waiting for the write-back: the save flushes the editor's text first.
    await waitFor("the server to hold the edit", async () => {
      const probe = connect(srv, projectId, "story.txt", team.tokens.owner);
      await synced(probe);
      const ok = probe.text.toString() === "once\nupon a time\n";
      disconnectAll(probe);
      return ok;
    });
    const second = await srv.api("POST", `/api/v1/projects/${projectId}/versions`, { token: team.tokens.owner, body: { message: "twice" } });
    expect(second.status).toBe(201);
    const saved = await srv.api("GET", `/api/v1/projects/${projectId}/versions/${(second.json as { id: string }).id}/files/story.txt`, { token: team.tokens.owner });
    expect(saved.text).toBe("once\nupon a time\n");
    const restore = await srv.api("POST", `/api/v1/projects/${projectId}/versions/${(first.json as { id: string }).id}/restore`, { token: team.tokens.owner });
    expect(restore.status).toBe(201);
    await waitFor("the restore in the open editor", () => a.text.toString() === "once\n");
    disconnectAll(a);
  });

  test("files deleted or moved close their rooms with 4410 / 4301", async () => {
    await srv.api("PUT", `/api/v1/projects/${projectId}/files/tmp/gone.txt`, { token: team.tokens.owner, body: "bye\n" });
    await srv.api("PUT", `/api/v1/projects/${projectId}/files/tmp/moving.txt`, { token: team.tokens.owner, body: "moving\n" });
    const gone = connect(srv, projectId, "tmp/gone.txt", team.tokens.owner);
    const moving = connect(srv, projectId, "tmp/moving.txt", team.tokens.owner);
    await Promise.all([synced(gone), synced(moving)]);
    moving.text.insert(0, "still ");
    expect((await srv.api("DELETE", `/api/v1/projects/${projectId}/files/tmp/gone.txt`, { token: team.tokens.owner })).status).toBe(204);
    await waitFor("4410", () => gone.closes.some((c) => c.code === 4410));
    const mv = await srv.api("POST", `/api/v1/projects/${projectId}/files/tmp/moving.txt:move`, { token: team.tokens.owner, body: { to: "done/moved.txt" } });
    expect(mv.status).toBe(200);
    await waitFor("4301", () => moving.closes.some((c) => c.code === 4301));
    // The typing made before the move follows the file to its new name.
    await waitFor("the moved file's text", async () => (await fileText("done/moved.txt")) === "still moving\n");
    disconnectAll(gone, moving);
  });
});

describe("refusals arrive as close codes before any document data", () => {
  const url = (path: string, token?: string) => `${srv.url.replace(/^http/, "ws")}/collab/${roomOf(projectId, path)}${token ? `?token=${token}` : ""}`;

  test("no token on a private project → 4401; an outsider → 4404; an unknown project → 4404", async () => {
    const anon = await rawSocket(url("src/main.ts"));
    expect(anon.code).toBe(4401);
    expect(anon.messages).toHaveLength(0);
    const outsider = await rawSocket(url("src/main.ts", team.tokens.outsider));
    expect(outsider.code).toBe(4404);
    expect(outsider.messages).toHaveLength(0);
    const unknown = await rawSocket(`${srv.url.replace(/^http/, "ws")}/collab/nope/src/main.ts?token=${team.tokens.owner}`);
    expect(unknown.code).toBe(4404);
  });

  test("a missing file → 4404, a binary file → 4415, a bad path → 4400", async () => {
    const missing = await rawSocket(url("no/such.ts", team.tokens.owner));
    expect(missing.code).toBe(4404);
    expect(missing.messages).toHaveLength(0);
    await srv.api("PUT", `/api/v1/projects/${projectId}/files/logo.png`, { token: team.tokens.owner, body: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2, 3]) });
    const binary = await rawSocket(url("logo.png", team.tokens.owner));
    expect(binary.code).toBe(4415);
    const bad = await rawSocket(`${srv.url.replace(/^http/, "ws")}/collab/${projectId}/a%2F..%2Fb?token=${team.tokens.owner}`);
    expect(bad.code).toBe(4400);
  });

  test("a cookie handshake from another site's page is refused (4403), from ours it joins; a plain GET gets 426", async () => {
    const cookie = await sessionCookie(srv, team.writer);
    const evil = await rawSocket(url("src/main.ts"), { headers: { cookie, origin: "http://evil.example" } });
    expect(evil.code).toBe(4403);
    expect(evil.messages).toHaveLength(0);
    const ours = await rawSocket(url("src/main.ts"), { headers: { cookie, origin: srv.url }, ms: 300 });
    expect(ours.messages.length).toBeGreaterThan(0); // sync step 1 from the server
    ours.ws.close();
    const plain = await srv.api("GET", `/collab/${roomOf(projectId, "src/main.ts")}`, { token: team.tokens.owner });
    expect(plain.status).toBe(426);
    expect((plain.json as { error: { code: string } }).error.code).toBe("upgrade_required");
  });

  test("the docs endpoint names a stable document id", async () => {
    const a = await srv.api("GET", `/api/v1/projects/${projectId}/docs/src/main.ts`, { token: team.tokens.viewer });
    expect(a.status).toBe(200);
    const again = await srv.api("GET", `/api/v1/projects/${projectId}/docs/src/main.ts`, { token: team.tokens.owner });
    expect((again.json as { docId: string }).docId).toBe((a.json as { docId: string }).docId);
    expect((a.json as { language: string }).language).toBe("typescript");
    expect((await srv.api("GET", `/api/v1/projects/${projectId}/docs/logo.png`, { token: team.tokens.owner })).status).toBe(415);
    expect((await srv.api("GET", `/api/v1/projects/${projectId}/docs/src/main.ts`, { token: team.tokens.outsider })).status).toBe(404);
  });
});

describe("presence", () => {
  test("the project room shows who is here with the server's identity, and forgets them when they leave", async () => {
    const doc1 = new Y.Doc();
    const doc2 = new Y.Doc();
    const { WebsocketProvider } = await import("y-websocket");
    const ws = srv.url.replace(/^http/, "ws") + "/collab";
    const p1 = new WebsocketProvider(ws, projectId, doc1, { params: { token: team.tokens.owner }, disableBc: true });
    const p2 = new WebsocketProvider(ws, projectId, doc2, { params: { token: team.tokens.writer }, disableBc: true });
    // A client claiming to be someone else is corrected by the server.
    p2.awareness.setLocalState({ file: "src/main.ts", user: { id: "spoof", name: "Mallory", color: "#000" } });
    p1.awareness.setLocalState({ file: "notes.md" });
    await waitFor("p1 to see p2", () => [...p1.awareness.getStates().values()].some((s) => s.file === "src/main.ts"));
    const seen = [...p1.awareness.getStates().entries()].find(([id]) => id === doc2.clientID)?.[1] as { user: { id: string; name: string; color: string } };
    expect(seen.user.id).toBe(team.writer.id);
    expect(seen.user.name).toBe("Wim Writer");
    expect(seen.user.color).toMatch(/^#[0-9a-f]{6}$/);
    p2.destroy();
    await waitFor("p2 to disappear", () => !p1.awareness.getStates().has(doc2.clientID), 3000);
    p1.destroy();
  });
});
