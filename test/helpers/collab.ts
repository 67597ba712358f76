/**
 * Collaboration test kit: stock `y-websocket` providers against a real server,
 * raw sockets for protocol-level checks, and a team with every role.
 */
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { waitFor, type TestServer, type TestUser } from "./server.ts";

export type Client = { doc: Y.Doc; text: Y.Text; provider: WebsocketProvider; closes: { code: number; reason: string }[]; denied: string[] };

/** The URL-safe room name for a file: `<projectId>/<path>` with each segment encoded. */
export function roomOf(projectId: string, path: string): string {
  return `${projectId}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

/** A stock WebsocketProvider with a token, as a Node client would use it. */
export function connect(srv: TestServer, projectId: string, path: string, token?: string): Client {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(srv.url.replace(/^http/, "ws") + "/collab", roomOf(projectId, path), doc, {
    params: token ? { token } : {},
    disableBc: true,
    maxBackoffTime: 300,
  });
  const client: Client = { doc, text: doc.getText("content"), provider, closes: [], denied: [] };
  provider.on("connection-close", (event: CloseEvent | null) => {
    if (event) client.closes.push({ code: event.code, reason: event.reason });
  });
  // y-websocket reports "permission denied" through console.warn; count them per client.
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    const line = args.map(String).join(" ");
    if (line.includes("Permission denied") && line.includes(provider.url)) client.denied.push(line);
    else original(...args);
  };
  return client;
}

export async function synced(c: Client, ms = 5000): Promise<void> {
  await waitFor("the provider to sync", () => c.provider.synced, ms);
}

export function disconnectAll(...clients: Client[]): void {
  for (const c of clients) {
    c.provider.destroy();
    c.doc.destroy();
  }
}

/** Opens a raw socket and collects what arrives until it closes (or `ms` passes). */
export async function rawSocket(
  url: string,
  opts: { headers?: Record<string, string>; send?: Uint8Array[]; ms?: number } = {},
): Promise<{ messages: Uint8Array[]; code: number | null; reason: string; ws: WebSocket }> {
  const ws = new WebSocket(url, { headers: opts.headers } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  const messages: Uint8Array[] = [];
  let code: number | null = null;
  let reason = "";
  ws.onmessage = (e) => messages.push(new Uint8Array(e.data as ArrayBuffer));
  const closed = new Promise<void>((res) => {
    ws.onclose = (e) => {
      code = e.code;
      reason = e.reason;
      res();
    };
  });
  await new Promise<void>((res) => {
    ws.onopen = () => res();
    ws.onerror = () => res();
    setTimeout(res, 2000);
  });
  for (const m of opts.send ?? []) if (ws.readyState === WebSocket.OPEN) ws.send(m);
  await Promise.race([closed, Bun.sleep(opts.ms ?? 1500)]);
  return { messages, code, reason, ws };
}

export type Team3 = { owner: TestUser; writer: TestUser; viewer: TestUser; outsider: TestUser; tokens: Record<"owner" | "writer" | "viewer" | "outsider", string>; teamId: string };

/** A team with an owner, a member (writes) and a viewer (reads), and someone outside it. */
export async function teamWithRoles(srv: TestServer): Promise<Team3> {
  const owner = await srv.createUser({ role: "member", username: "owner", name: "Olga Owner" });
  const writer = await srv.createUser({ role: "member", username: "writer", name: "Wim Writer" });
  const viewer = await srv.createUser({ role: "member", username: "viewer", name: "Vera Viewer" });
  const outsider = await srv.createUser({ role: "member", username: "outsider", name: "Otto Outsider" });
  const tokens = {
    owner: await srv.token(owner.email),
    writer: await srv.token(writer.email),
    viewer: await srv.token(viewer.email),
    outsider: await srv.token(outsider.email),
  };
  const team = await srv.api("POST", "/api/v1/teams", { token: tokens.owner, body: { name: "Editors" } });
  const teamId = (team.json as { id: string }).id;
  await srv.api("PUT", `/api/v1/teams/${teamId}/members/${writer.id}`, { token: tokens.owner, body: { role: "member" } });
  await srv.api("PUT", `/api/v1/teams/${teamId}/members/${viewer.id}`, { token: tokens.owner, body: { role: "viewer" } });
  return { owner, writer, viewer, outsider, tokens, teamId };
}

/** Signs in through the login form and returns the Cookie header of the session. */
export async function sessionCookie(srv: TestServer, user: TestUser): Promise<string> {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = (pair ?? "").indexOf("=");
      jar.set((pair ?? "").slice(0, eq).trim(), (pair ?? "").slice(eq + 1).trim());
    }
  };
  const header = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const page = await srv.fetch("/login");
  keep(page);
  const _csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const res = await srv.fetch("/login", {
    method: "POST",
    headers: { cookie: header(), "content-type": "application/x-www-form-urlencoded", origin: srv.url },
    body: new URLSearchParams({ _csrf, email: user.email, password: user.password, next: "/" }).toString(),
  });
  keep(res);
  if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
  return header();
}
