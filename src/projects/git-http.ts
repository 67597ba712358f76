/**
 * Git over HTTP (the smart protocol): `git clone`/`fetch`/`push` against
 * `/git/<owner>/<slug>.git`, served by `git http-backend` run as a CGI child process.
 *
 * - Clone and fetch stream straight through: request body → http-backend → response body.
 * - A push is spooled to disk first (so a slow upload never holds the project's lock), then,
 *   under the lock: unsaved browser edits are autosaved, the ref updates are checked (only
 *   `main`, no deletion, based on the current `main`) — refused ones get a proper
 *   receive-pack report with a clear reason — http-backend applies the pack
 *   (`receive.denyNonFastForwards`, `receive.fsckObjects`), and Wove itself, not a hook,
 *   checks the new `main` out into the working tree and records `project.pushed`.
 * Who may do what is decided by the caller (git-http-routes.ts) before anything here runs.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { events, projects, type Project } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { ApiError, badRequest, tooLarge } from "../lib/errors.ts";
import { checkoutTree, gitEnv, gitText, headCommit, MAIN_REF, noteNewCommits, runGit, withRepoLock, ZERO_SHA, type RepoPaths } from "./git.ts";
import { notifyFilesChanged } from "./files.ts";
import { autosaveLocked, ensureRepo, type Editor } from "./versions.ts";

export type GitService = "git-upload-pack" | "git-receive-pack";

export const PUSH_MAX_BYTES = 2 * 1024 * 1024 * 1024;
const COMMANDS_PEEK_BYTES = 256 * 1024;

export type CgiRequest = {
  method: "GET" | "POST";
  /** After `repo.git/`: `info/refs`, `git-upload-pack` or `git-receive-pack`. */
  action: string;
  query: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | Blob | null;
  remoteAddr: string;
  /** Set for pushes: http-backend only runs receive-pack for an authenticated user. */
  remoteUser?: string;
  /** http-backend handles `Content-Encoding: gzip` itself unless the body was already inflated. */
  inflated?: boolean;
};

// ---------------------------------------------------------------------------------------------
// CGI

function cgiEnv(paths: RepoPaths, req: CgiRequest): Record<string, string> {
  const env: Record<string, string> = {
    GIT_PROJECT_ROOT: paths.projectDir,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    REQUEST_METHOD: req.method,
    PATH_INFO: `/repo.git/${req.action}`,
    QUERY_STRING: req.query,
    REMOTE_ADDR: req.remoteAddr,
  };
  const type = req.headers.get("content-type");
  if (type) env.CONTENT_TYPE = type;
  const encoding = req.headers.get("content-encoding");
  if (encoding && !req.inflated) env.HTTP_CONTENT_ENCODING = encoding;
  const length = req.headers.get("content-length");
  if (length && /^\d+$/.test(length) && !req.inflated && !(req.body instanceof Blob)) env.CONTENT_LENGTH = length;
  if (req.body instanceof Blob) env.CONTENT_LENGTH = String(req.body.size);
  const protocol = req.headers.get("git-protocol");
  if (protocol && /^[\w.=:-]{1,200}$/.test(protocol)) {
    env.GIT_PROTOCOL = protocol;
    env.HTTP_GIT_PROTOCOL = protocol;
  }
  if (req.remoteUser) env.REMOTE_USER = req.remoteUser;
  return env;
}

const HEADER_END = [13, 10, 13, 10];

function findHeaderEnd(buf: Uint8Array): { at: number; skip: number } | null {
  for (let i = 0; i + 1 < buf.length; i++) {
    if (buf[i] === 10 && buf[i + 1] === 10) return { at: i, skip: 2 };
    if (i + 3 < buf.length && HEADER_END.every((b, k) => buf[i + k] === b)) return { at: i, skip: 4 };
  }
  return null;
}

/** Runs `git http-backend` for one request and turns its CGI output into a Response whose body streams git's output. */
export async function runHttpBackend(paths: RepoPaths, req: CgiRequest): Promise<Response> {
  const proc = Bun.spawn({
    cmd: ["git", "http-backend"],
    cwd: paths.projectDir,
    env: gitEnv(cgiEnv(paths, req)),
    stdin: req.body ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = new Response(proc.stderr).text();
  const reader = proc.stdout.getReader();
  let head = new Uint8Array(0);
  let end: { at: number; skip: number } | null = null;
  while (!end) {
    const { done, value } = await reader.read();
    if (done) break;
    head = Buffer.concat([head, value]);
    end = findHeaderEnd(head);
    if (!end && head.length > 64 * 1024) break;
  }
  if (!end) {
    proc.kill();
    const code = await proc.exited;
    throw new Error(`git http-backend gave no CGI headers (exit ${code}): ${(await stderr).trim().slice(0, 500)}`);
  }
  const headers = new Headers();
  let status = 200;
  for (const line of new TextDecoder().decode(head.subarray(0, end.at)).split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]) || 500;
    else headers.append(name, value);
  }
  const rest = head.subarray(end.at + end.skip);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (rest.length > 0) controller.enqueue(rest);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel() {
      proc.kill();
    },
  });
  return new Response(status === 204 || status === 304 ? null : body, { status, headers });
}

// ---------------------------------------------------------------------------------------------
// pkt-lines (gitprotocol-common): 4 hex digits of length (including themselves), then data.

export function pktLine(data: string | Uint8Array): Uint8Array {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return Buffer.concat([Buffer.from((bytes.length + 4).toString(16).padStart(4, "0")), bytes]);
}
const FLUSH = new TextEncoder().encode("0000");

export type RefCommand = { oldSha: string; newSha: string; ref: string };

/**
 * Reads the ref-update commands at the start of a receive-pack request (before the pack):
 * `[shallow <oid>]* <old> <new> <ref>\0<capabilities>`, more commands, flush.
 * Returns null when they cannot be read from `head` (then git itself judges the request).
 */
export function parseCommands(head: Uint8Array): { commands: RefCommand[]; capabilities: string[] } | null {
  const commands: RefCommand[] = [];
  let capabilities: string[] = [];
  let i = 0;
  const text = new TextDecoder("latin1");
  while (i + 4 <= head.length) {
    const len = parseInt(text.decode(head.subarray(i, i + 4)), 16);
    if (Number.isNaN(len)) return null;
    if (len === 0) return commands.length > 0 ? { commands, capabilities } : null;
    if (len < 4 || i + len > head.length) return null;
    let line = text.decode(head.subarray(i + 4, i + len)).replace(/\n$/, "");
    i += len;
    if (line.startsWith("shallow ")) continue;
    const nul = line.indexOf("\0");
    if (nul >= 0) {
      capabilities = line.slice(nul + 1).split(" ").filter(Boolean);
      line = line.slice(0, nul);
    }
    const m = /^([0-9a-f]{40,64}) ([0-9a-f]{40,64}) (\S+)$/.exec(line);
    if (!m) return null;
    commands.push({ oldSha: m[1] as string, newSha: m[2] as string, ref: m[3] as string });
  }
  return null;
}

/** A receive-pack result refusing every command with its reason, shaped for the client's capabilities. */
export function refusalReport(results: { ref: string; reason: string | null }[], capabilities: string[], message: string): Uint8Array {
  const report = Buffer.concat([
    pktLine("unpack ok\n"),
    ...results.map((r) => pktLine(r.reason === null ? `ok ${r.ref}\n` : `ng ${r.ref} ${r.reason}\n`)),
    FLUSH,
  ]);
  if (!capabilities.includes("side-band-64k") && !capabilities.includes("side-band")) return report;
  const parts: Uint8Array[] = [];
  for (const line of message.split("\n").filter(Boolean)) parts.push(pktLine(Buffer.concat([Buffer.from([2]), Buffer.from(`${line}\n`)])));
  parts.push(pktLine(Buffer.concat([Buffer.from([1]), report])));
  parts.push(FLUSH);
  return Buffer.concat(parts);
}

function isZero(sha: string): boolean {
  return /^0+$/.test(sha);
}

/** Why Wove refuses a ref update before git sees it, or null when git may judge it. */
export function refuseReason(cmd: RefCommand, currentMain: string | null): string | null {
  if (cmd.ref !== MAIN_REF) return "only the main branch can be pushed to Wove";
  if (isZero(cmd.newSha)) return "deleting main is not allowed";
  const expected = currentMain ?? ZERO_SHA;
  if (cmd.oldSha !== expected && !(isZero(cmd.oldSha) && currentMain === null)) {
    return "fetch first: the project changed since you fetched";
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Push

/** Writes the request body to a temp file (inflating gzip), refusing more than `max` bytes. */
async function spool(dir: string, body: ReadableStream<Uint8Array> | null, gzip: boolean, max: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `push-${randomBytes(8).toString("hex")}.in`);
  const fh = await open(file, "wx", 0o600);
  let failure: unknown = null;
  const stream = body && gzip ? body.pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>) : body;
  const reader = stream?.getReader();
  try {
    let size = 0;
    for (;;) {
      const r = reader ? await reader.read() : { done: true as const, value: undefined };
      if (r.done) break;
      size += r.value.byteLength;
      if (size > max) throw tooLarge(`The push is larger than ${max} bytes.`);
      await fh.write(r.value);
    }
  } catch (e) {
    failure = e instanceof ApiError ? e : badRequest(`The push could not be read: ${(e as Error).message}`);
    await reader?.cancel().catch(() => {});
  } finally {
    await fh.close();
  }
  if (failure) {
    await rm(file, { force: true });
    throw failure;
  }
  return file;
}

async function readHead(file: string, bytes: number): Promise<Uint8Array> {
  const fh = await open(file, "r");
  try {
    const buf = new Uint8Array(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export type PushContext = {
  orm: Orm;
  dataDir: string;
  project: Project;
  pusher: Editor & { username: string };
  request: Request;
  remoteAddr: string;
  maxBytes?: number;
};

async function treeOrNull(paths: RepoPaths, commit: string | null): Promise<string | null> {
  return commit ? gitText(paths, ["rev-parse", "--verify", `${commit}^{tree}`]) : null;
}

/** After main moved from `before` to `after`: check the new files out and record the push. */
async function afterPush(ctx: PushContext, paths: RepoPaths, before: string | null, after: string): Promise<void> {
  const fromTree = await treeOrNull(paths, before);
  const toTree = (await treeOrNull(paths, after)) as string;
  try {
    await checkoutTree(paths, fromTree, toTree);
  } catch {
    // The working tree was clean at the start (we hold the lock), so forcing it loses nothing.
    await checkoutTree(paths, null, toTree);
  }
  const commits = Number(await gitText(paths, ["rev-list", "--count", before ? `${before}..${after}` : after]));
  noteNewCommits(paths, commits);
  const { project } = ctx;
  await ctx.orm.batch([
    ctx.orm.update(projects).set({ updatedAt: Date.now() }).where(eq(projects.id, project.id)),
    ctx.orm.insert(events).values(
      eventValues({
        actorId: ctx.pusher.id,
        kind: "project.pushed",
        subjectType: "project",
        subjectId: project.id,
        projectId: project.id,
        teamId: project.ownerTeamId,
        data: { ref: MAIN_REF, before, after, commits },
      }),
    ),
  ]);
  notifyFilesChanged({ dataDir: ctx.dataDir, projectId: project.id, actorId: ctx.pusher.id, source: "push" });
}

/** Saves unsaved browser edits before a push is judged, so a push can never overwrite them. */
export async function autosaveBeforePush(ctx: Pick<PushContext, "orm" | "dataDir" | "project" | "pusher">): Promise<void> {
  await withRepoLock(ctx.project.id, async () => {
    const paths = await ensureRepo(ctx.dataDir, ctx.project.id);
    await autosaveLocked(ctx.orm, paths, ctx.project, "Autosave before push", { fallback: ctx.pusher });
  });
}

/** Handles `POST …/git-receive-pack`: see the file comment for the steps. */
export async function receivePack(ctx: PushContext): Promise<Response> {
  const paths = await ensureRepo(ctx.dataDir, ctx.project.id);
  const gzip = /^(x-)?gzip$/i.test(ctx.request.headers.get("content-encoding") ?? "");
  const file = await spool(join(paths.projectDir, "tmp"), ctx.request.body, gzip, ctx.maxBytes ?? PUSH_MAX_BYTES);
  try {
    return await withRepoLock(ctx.project.id, async () => {
      await autosaveLocked(ctx.orm, paths, ctx.project, "Autosave before push", { fallback: ctx.pusher });
      const before = await headCommit(paths);
      const parsed = parseCommands(await readHead(file, COMMANDS_PEEK_BYTES));
      if (parsed) {
        const results = parsed.commands.map((c) => ({ ref: c.ref, reason: refuseReason(c, before) }));
        if (results.some((r) => r.reason !== null)) {
          const why = results.find((r) => r.reason !== null)?.reason ?? "";
          const hint = why.startsWith("fetch first")
            ? "Wove: the project has versions you do not have (edits made in the browser are saved as versions).\nWove: run `git pull`, then push again."
            : why.startsWith("deleting")
              ? "Wove: main holds the project's history and cannot be deleted."
              : "Wove: only pushes to the main branch are accepted (no other branches or tags).";
          // A refused command's siblings are refused too: a push is all or nothing.
          const all = results.map((r) => ({ ref: r.ref, reason: r.reason ?? "push refused: another ref in it was refused" }));
          return new Response(refusalReport(all, parsed.capabilities, hint) as Uint8Array<ArrayBuffer>, {
            headers: { "Content-Type": "application/x-git-receive-pack-result", "Cache-Control": "no-cache" },
          });
        }
      }
      const res = await runHttpBackend(paths, {
        method: "POST",
        action: "git-receive-pack",
        query: "",
        headers: ctx.request.headers,
        body: Bun.file(file),
        remoteAddr: ctx.remoteAddr,
        remoteUser: ctx.pusher.username,
        inflated: true,
      });
      // The result is small; read it all so the working tree is updated before the client hears back.
      const body = new Uint8Array(await res.arrayBuffer());
      const after = await headCommit(paths);
      if (after && after !== before) await afterPush(ctx, paths, before, after);
      return new Response(body, { status: res.status, headers: res.headers });
    });
  } finally {
    await rm(file, { force: true });
  }
}

/** Serves `GET …/info/refs?service=…` and `POST …/git-upload-pack` (clone and fetch), streaming. */
export async function serveRead(dataDir: string, project: Project, req: CgiRequest): Promise<Response> {
  return runHttpBackend(await ensureRepo(dataDir, project.id), req);
}

/** Runs `git fsck` on a project's repository; true when it is clean (tests and admin checks). */
export async function fsckClean(paths: RepoPaths): Promise<boolean> {
  const r = await runGit(paths, ["fsck", "--strict", "--no-progress", "--no-dangling"], { okCodes: [1, 2, 3, 4, 5, 6, 7, 8] });
  return r.code === 0;
}
