/**
 * Collaboration under stress against a real server: SIGKILL while a client
 * types (nothing another client saw is lost; the typist's own unacknowledged
 * edits come back when it reconnects), fuzzed frames (only the sender's socket
 * closes), and the limits (rate, message size, document size).
 */
import { afterAll, describe, expect } from "bun:test";
import { rmSync } from "node:fs";
import * as encoding from "lib0/encoding";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { test } from "../helpers/quiet.ts";
import { freshDataDir, TestServer, waitFor } from "../helpers/server.ts";
import { connect, disconnectAll, rawSocket, roomOf, synced, teamWithRoles } from "../helpers/collab.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function projectWithFile(srv: TestServer, token: string, teamId: string, path: string, text: string): Promise<string> {
  const p = await srv.api("POST", "/api/v1/projects", { token, body: { name: `Stress ${Math.random().toString(36).slice(2, 7)}`, team: teamId } });
  const id = (p.json as { id: string }).id;
  expect((await srv.api("PUT", `/api/v1/projects/${id}/files/${path}`, { token, body: text })).status).toBe(201);
  return id;
}

function updateFrame(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, 2);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

describe("kill -9 while typing", () => {
  test("everything an observer saw survives SIGKILL; the typist's own pending edits return when it reconnects", async () => {
    const dataDir = freshDataDir("wove-collab-kill-");
    dirs.push(dataDir);
    const first = await TestServer.start({ dataDir });
    const team = await teamWithRoles(first);
    const projectId = await projectWithFile(first, team.tokens.owner, team.teamId, "live.txt", "start\n");
    const typist = connect(first, projectId, "live.txt", team.tokens.writer);
    const observer = connect(first, projectId, "live.txt", team.tokens.owner);
    await Promise.all([synced(typist), synced(observer)]);
    let seen = "";
    observer.text.observe(() => (seen = observer.text.toString()));
    // Type steadily (one keystroke per transaction, as an editor does) and pull the plug mid-stream.
    let typing = true;
    let typed = 0;
    const typer = (async () => {
      while (typing) {
        typist.text.insert(typist.text.length, String.fromCharCode(97 + (typed++ % 26)));
        await Bun.sleep(typed % 7 === 0 ? 3 : 0);
      }
    })();
    await waitFor("a good amount of acknowledged typing", () => seen.length > 400, 10_000);
    await first.kill9();
    typing = false;
    await typer;
    const acknowledged = seen;
    const typedText = typist.text.toString();
    observer.provider.destroy();
    typist.provider.destroy();

    const second = await TestServer.start({ dataDir });
    try {
      const check = connect(second, projectId, "live.txt", team.tokens.owner);
      await synced(check);
      const stored = check.text.toString();
      expect(stored.length).toBeGreaterThanOrEqual(acknowledged.length);
      expect(stored.startsWith(acknowledged)).toBe(true);
      expect(typedText.startsWith(stored)).toBe(true);
      // The typist's document still holds what the server never acknowledged: reconnecting syncs it up.
      const again = new WebsocketProvider(second.url.replace(/^http/, "ws") + "/collab", roomOf(projectId, "live.txt"), typist.doc, {
        params: { token: team.tokens.writer },
        disableBc: true,
      });
      await waitFor("the typist's resync", () => check.text.toString() === typedText, 5000);
      await waitFor("the whole text in the working tree", async () => {
        const r = await second.api("GET", `/api/v1/projects/${projectId}/files/live.txt`, { token: team.tokens.owner });
        return r.text === typedText;
      });
      again.destroy();
      disconnectAll(check);
    } finally {
      await second.stop();
      await first.stop();
    }
  }, 60_000);
});

describe("bad frames close only their own socket", () => {
  test("random, truncated and garbage-payload frames: the server stays up and two editors carry on", async () => {
    const srv = await TestServer.start();
    try {
      const team = await teamWithRoles(srv);
      const projectId = await projectWithFile(srv, team.tokens.owner, team.teamId, "fuzz.txt", "fuzz me\n");
      const a = connect(srv, projectId, "fuzz.txt", team.tokens.owner);
      const b = connect(srv, projectId, "fuzz.txt", team.tokens.writer);
      await Promise.all([synced(a), synced(b)]);
      const url = `${srv.url.replace(/^http/, "ws")}/collab/${roomOf(projectId, "fuzz.txt")}?token=${team.tokens.writer}`;
      // A real update to cut into pieces.
      const scratch = new Y.Doc();
      scratch.getText("content").insert(0, "x".repeat(64));
      const valid = updateFrame(Y.encodeStateAsUpdate(scratch));
      let seed = 1234567;
      const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 40; i++) frames.push(Uint8Array.from({ length: 1 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
      for (let cut = 1; cut < valid.length; cut += Math.max(1, Math.floor(valid.length / 25))) frames.push(valid.slice(0, cut));
      frames.push(new Uint8Array([0, 2, 50, 1, 2, 3])); // claims 50 bytes, carries 3
      frames.push(new Uint8Array([9, 9, 9])); // unknown message type
      frames.push(new Uint8Array([1, 5, 1, 1, 1, 3, 123, 125, 125])); // awareness with trailing junk

      let closedWithBadFrame = 0;
      for (let i = 0; i < frames.length; i++) {
        const r = await rawSocket(url, { send: [frames[i] as Uint8Array], ms: 400 });
        if (r.code === 4400) closedWithBadFrame++;
        r.ws.close();
        if (i % 10 === 0) {
          a.text.insert(0, `${i},`);
          await waitFor("the editors to stay in step", () => a.text.toString() === b.text.toString(), 3000);
        }
      }
      // Some random frames happen to be valid (an empty awareness update, say): nearly all are refused.
      expect(closedWithBadFrame).toBeGreaterThan(frames.length * 0.8);
      expect((await srv.fetch("/healthz")).status).toBe(200);
      b.text.insert(b.text.length, "still here");
      await waitFor("convergence after the fuzzing", () => a.text.toString() === b.text.toString() && a.text.toString().endsWith("still here"));
      expect(a.text.toString()).toContain("fuzz me");
      disconnectAll(a, b);
    } finally {
      await srv.stop();
    }
  }, 60_000);
});

describe("limits", () => {
  test("too many messages → 4429, a too-large message → 4413, a document past its size → 4413", async () => {
    const srv = await TestServer.start({ env: { WOVE_COLLAB_RATE: "5", WOVE_COLLAB_MAX_MESSAGE: "64k", WOVE_COLLAB_MAX_DOC: "96k" } });
    try {
      const team = await teamWithRoles(srv);
      const projectId = await projectWithFile(srv, team.tokens.owner, team.teamId, "limits.txt", "limits\n");
      const url = `${srv.url.replace(/^http/, "ws")}/collab/${roomOf(projectId, "limits.txt")}?token=${team.tokens.writer}`;
      const queryAwareness = new Uint8Array([3]);
      const flood = await rawSocket(url, { send: Array.from({ length: 80 }, () => queryAwareness), ms: 1500 });
      expect(flood.code).toBe(4429);

      const doc = new Y.Doc();
      doc.getText("content").insert(0, "y".repeat(80 * 1024));
      const big = await rawSocket(url, { send: [updateFrame(Y.encodeStateAsUpdate(doc))], ms: 1500 });
      expect(big.code).toBe(4413);

      // 9 KB edits fit the message limit one by one, but not the 96 KB document limit together.
      const growing = connect(srv, projectId, "limits.txt", team.tokens.writer);
      await synced(growing);
      for (let i = 0; i < 40 && !growing.closes.some((c) => c.code === 4413); i++) {
        growing.text.insert(growing.text.length, "z".repeat(9000));
        await Bun.sleep(50); // within the burst allowance (10 s worth of the 5/s rate)
      }
      await waitFor("4413 for the document size", () => growing.closes.some((c) => c.code === 4413), 3000);
      disconnectAll(growing);
    } finally {
      await srv.stop();
    }
  }, 60_000);
});
