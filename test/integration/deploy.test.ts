/**
 * One-click deploy against the compiled executable (issue 7, "Done when"), with the real dockerd
 * and a Caddy that Wove runs itself: the Bun template deploys and answers through Caddy by Host
 * header; project variables reach the app; a broken build and an app that fails its health check
 * leave the previous deployment answering; rollback works; `docker inspect` shows every isolation
 * flag; a restarted Wove brings the routes back (adopting the running container); the static-site
 * template deploys; people who cannot write the project cannot deploy it.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "../helpers/quiet.ts";
import { TestServer, waitFor, type TestUser } from "../helpers/server.ts";
import { compiledWove } from "../helpers/binary.ts";
import { ensureDocker, skipDocker } from "../helpers/docker.ts";
import { skipCaddy } from "../helpers/caddy.ts";
import { freePort } from "../../src/deploy/caddy-process.ts";
import { runtimeImageTag, staticImageTag } from "../../src/deploy/images.ts";
import { removeContainer, removeImage, type DockerClient } from "../../src/deploy/docker.ts";
import { LABEL } from "../../src/deploy/types.ts";

const skip = skipDocker || skipCaddy;
const it = test.skipIf(skip);
const DOMAIN = "apps.test";

let docker: DockerClient;
let binary: string;
let dataDir: string;
let appsPort: number;
let srv: TestServer;
let ada: TestUser;
let bob: TestUser;
let adaToken: string;
let bobToken: string;
const projects: string[] = [];

type DeploymentJson = { id: string; number: number; status: string; url: string | null; error: string | null; kind: string | null };

function serverEnv(): Record<string, string> {
  return { WOVE_APPS_HTTP_PORT: String(appsPort), WOVE_APPS_DOMAIN: DOMAIN, WOVE_DEPLOY_GRACE: "1s", WOVE_CADDY: "managed" };
}

/** GET through Caddy with a Host header. */
async function viaCaddy(host: string, path = "/"): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${appsPort}${path}`, { headers: { Host: host }, signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  } catch (e) {
    return { status: 0, body: (e as Error).message };
  }
}

async function put(project: string, path: string, body: string): Promise<void> {
  const r = await srv.api("PUT", `/api/v1/projects/${project}/files/${path}`, { token: adaToken, body });
  expect([200, 201]).toContain(r.status);
}

/** Presses Deploy and waits for the deployment to end (live or failed); returns it and the seconds it took. */
async function deploy(project: string): Promise<{ d: DeploymentJson; seconds: number }> {
  const started = performance.now();
  const r = await srv.api("POST", `/api/v1/projects/${project}/deployments`, { token: adaToken });
  expect(r.status).toBe(202);
  return { d: await settled((r.json as { id: string }).id), seconds: (performance.now() - started) / 1000 };
}

async function settled(id: string): Promise<DeploymentJson> {
  let d: DeploymentJson | undefined;
  await waitFor(
    `deployment ${id} to finish`,
    async () => {
      d = (await srv.api("GET", `/api/v1/deployments/${id}`, { token: adaToken })).json as DeploymentJson;
      return ["live", "failed", "stopped"].includes(d.status);
    },
    180_000,
  );
  return d as DeploymentJson;
}

async function logOf(id: string): Promise<string> {
  return (await srv.api("GET", `/api/v1/deployments/${id}/logs?follow=0`, { token: adaToken })).text;
}

beforeAll(async () => {
  if (skip) return;
  docker = (await ensureDocker()) as DockerClient;
  binary = await compiledWove();
  appsPort = freePort("0.0.0.0");
  dataDir = mkdtempSync(join(tmpdir(), "wove-deploy-data-"));
  srv = await TestServer.start({ command: [binary], dataDir, env: serverEnv() });
  ada = await srv.createUser({ email: "ada@example.com", username: "ada", name: "Ada" });
  bob = await srv.createUser({ email: "bob@example.com", username: "bob", name: "Bob" });
  adaToken = await srv.token(ada.email);
  bobToken = await srv.token(bob.email);
}, 240_000);

afterAll(async () => {
  if (skip) return;
  await srv?.stop();
  // Everything this file's deployments made: containers, networks, and the images built from this binary.
  for (const c of await docker.docker.listContainers({ all: true, filters: { label: [LABEL.managed] } })) {
    if (projects.includes(c.Labels[LABEL.project] ?? "")) await removeContainer(docker, c.Id);
  }
  for (const p of projects) await docker.docker.getNetwork(`wove-p-${p}`).remove().catch(() => {});
  if (binary) for (const tag of [staticImageTag(binary), runtimeImageTag(binary)]) await removeImage(docker, tag).catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe("deploying the Bun template", () => {
  let project: string;
  const host = `notes-api-ada.${DOMAIN}`;
  let first: DeploymentJson;
  let second: DeploymentJson;

  it("deploys, goes live and answers through Caddy by Host header", async () => {
    const r = await srv.api("POST", "/api/v1/projects", { token: adaToken, body: { name: "Notes API", template: "bun-api", visibility: "public" } });
    expect(r.status).toBe(201);
    project = (r.json as { id: string }).id;
    projects.push(project);
    const { d, seconds } = await deploy(project);
    console.log(`[deploy] bun template, cold (runtime images built from the executable): ${seconds.toFixed(1)} s`);
    if (d.status !== "live") throw new Error(`deployment ${d.status}: ${d.error}\n${await logOf(d.id)}`);
    expect(d).toMatchObject({ status: "live", kind: "bun", number: 1, url: `http://${host}:${appsPort}` });
    first = d;
    expect(await viaCaddy(host, "/health")).toEqual({ status: 200, body: '{"status":"ok"}' });
    // What `curl -H 'Host: notes-api-ada.apps.test' http://127.0.0.1:<port>/` shows: the app itself.
    const root = await viaCaddy(host, "/");
    expect(root.status).toBe(200);
    expect(JSON.parse(root.body)).toMatchObject({ name: "Notes API" });
    // The log tells the story: the plan, the container, the health check, the URL.
    const log = await logOf(d.id);
    expect(log).toContain("Healthy after");
    expect(log).toContain(`Live at http://${host}:${appsPort}`);
    // Unknown hosts get Caddy's not-found answer, not someone's app.
    expect((await viaCaddy(`nobody.${DOMAIN}`)).status).toBe(404);
  }, 240_000);

  it("the app container carries every isolation flag", async () => {
    // The live deployment's container, found by its label.
    const [c] = await docker.docker.listContainers({ filters: { label: [`${LABEL.deployment}=${first.id}`] } });
    expect(c).toBeDefined();
    const { HostConfig: hc, Config: config, Mounts: mounts } = await docker.docker.getContainer(c!.Id).inspect();
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.CapDrop).toEqual(["ALL"]);
    expect(hc.SecurityOpt).toContain("no-new-privileges");
    expect(hc.Memory).toBe(512 * 1024 * 1024);
    expect(hc.NanoCpus).toBe(1e9);
    expect(hc.PidsLimit).toBeGreaterThan(0);
    expect(Object.keys(hc.Tmpfs ?? {})).toEqual(["/tmp"]);
    expect(hc.Privileged).toBe(false);
    expect(config.User).toBe("65534:65534");
    expect(hc.NetworkMode).toBe(`wove-p-${project}`);
    // The only mount is the build output, read-only: no Docker socket, nothing else of Wove's data.
    expect(hc.Binds ?? []).toEqual([]);
    expect(mounts.map((m) => ({ type: m.Type, to: m.Destination, rw: m.RW }))).toEqual([{ type: "bind", to: "/app", rw: false }]);
    expect(mounts[0]!.Source).toContain(`${dataDir}/deployments/`);
    expect(JSON.stringify(mounts)).not.toContain("docker.sock");
    const bindings = Object.values((hc.PortBindings ?? {}) as Record<string, { HostIp: string }[]>).flat();
    expect(bindings.length).toBeGreaterThan(0);
    expect(bindings.every((b) => b.HostIp === "127.0.0.1")).toBe(true);
  });

  it("project variables reach the app; a redeploy switches over and supersedes the old one", async () => {
    expect((await srv.api("PUT", `/api/v1/projects/${project}/env/GREETING`, { token: adaToken, body: { value: "hello from a sealed variable", secret: true } })).status).toBe(201);
    await put(
      project,
      "index.ts",
      [
        'import { handle } from "./api.ts";',
        "const port = Number(process.env.PORT) || 3000;",
        "Bun.serve({ port, hostname: \"0.0.0.0\", fetch: (req) => new URL(req.url).pathname === \"/greeting\" ? new Response(process.env.GREETING ?? \"(unset)\") : handle(req) });",
        "",
      ].join("\n"),
    );
    const { d, seconds } = await deploy(project);
    console.log(`[deploy] bun template, warm: ${seconds.toFixed(1)} s`);
    if (d.status !== "live") throw new Error(`deployment ${d.status}: ${d.error}\n${await logOf(d.id)}`);
    second = d;
    expect(await viaCaddy(host, "/greeting")).toEqual({ status: 200, body: "hello from a sealed variable" });
    const was = (await srv.api("GET", `/api/v1/deployments/${first.id}`, { token: adaToken })).json as DeploymentJson;
    expect(was.status).toBe("superseded");
  }, 240_000);

  it("a broken build fails and the previous deployment keeps answering", async () => {
    await put(project, "package.json", JSON.stringify({ name: "notes", private: true, scripts: { start: "bun run index.ts", build: "bun build ./does-not-exist.ts --outdir dist" } }, null, 2));
    const { d } = await deploy(project);
    expect(d.status).toBe("failed");
    expect(d.error).toContain("build step");
    expect(await logOf(d.id)).toContain(`Deployment #${second.number} is still live.`);
    expect(await viaCaddy(host, "/greeting")).toEqual({ status: 200, body: "hello from a sealed variable" });
  }, 240_000);

  it("an app that fails its health check fails and the previous deployment keeps answering", async () => {
    await put(project, "package.json", JSON.stringify({ name: "notes", private: true, scripts: { start: "bun run index.ts" } }, null, 2));
    await put(project, "wove.toml", '[deploy]\nhealth_path = "/health"\nhealth_timeout = "5s"\n');
    await put(project, "index.ts", 'Bun.serve({ port: Number(process.env.PORT), hostname: "0.0.0.0", fetch: () => new Response("broken", { status: 500 }) });\n');
    const { d } = await deploy(project);
    expect(d.status).toBe("failed");
    expect(d.error).toContain("GET /health");
    expect(await viaCaddy(host, "/greeting")).toEqual({ status: 200, body: "hello from a sealed variable" });
  }, 240_000);

  it("rollback to the first deployment brings its build back", async () => {
    const r = await srv.api("POST", `/api/v1/deployments/${first.id}/rollback`, { token: adaToken });
    expect(r.status).toBe(202);
    const d = await settled((r.json as { id: string }).id);
    if (d.status !== "live") throw new Error(`rollback ${d.status}: ${d.error}\n${await logOf(d.id)}`);
    expect((await viaCaddy(host, "/greeting")).status).toBe(404); // the first build had no /greeting
    expect((await viaCaddy(host, "/health")).status).toBe(200);
    // Rolling back to what is live, or to what never went live, is refused clearly.
    const again = await srv.api("POST", `/api/v1/deployments/${d.id}/rollback`, { token: adaToken });
    expect(again.status).toBe(409);
  }, 240_000);

  it("people who cannot write the project cannot deploy it", async () => {
    const asBob = await srv.api("POST", `/api/v1/projects/${project}/deployments`, { token: bobToken });
    expect(asBob.status).toBe(403);
    const priv = await srv.api("POST", "/api/v1/projects", { token: adaToken, body: { name: "Secret", visibility: "private" } });
    const hidden = await srv.api("POST", `/api/v1/projects/${(priv.json as { id: string }).id}/deployments`, { token: bobToken });
    expect(hidden.status).toBe(404);
    const peek = await srv.api("GET", `/api/v1/deployments/${first.id}`, { token: bobToken });
    expect(peek.status).toBe(200); // a public project's deployments are readable
  });

  it("a restarted Wove re-creates the routes and adopts the running container", async () => {
    const before = (await docker.docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`] } })).map((c) => c.Id);
    await srv.halt();
    srv = await TestServer.start({ command: [binary], dataDir, env: serverEnv() });
    await waitFor("the app to answer through the new Caddy", async () => (await viaCaddy(host, "/health")).status === 200, 30_000);
    const after = (await docker.docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`] } })).map((c) => c.Id);
    expect(after).toEqual(before);
  }, 120_000);
  it("an app whose container dies is restarted (with backoff) and reported", async () => {
    const [c] = await docker.docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`, `${LABEL.role}=app`] } });
    await docker.docker.getContainer(c!.Id).kill();
    await waitFor("the app to answer from a new container", async () => (await viaCaddy(host, "/health")).status === 200 && (await docker.docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`, `${LABEL.role}=app`] } }))[0]?.Id !== c!.Id, 30_000);
    type Listing = { live: string; deployments: (DeploymentJson & { restarts: number })[] };
    const listing = async () => (await srv.api("GET", `/api/v1/projects/${project}/deployments`, { token: adaToken })).json as Listing;
    await waitFor("the restart to be counted", async () => {
      const l = await listing();
      return l.deployments.find((d) => d.id === l.live)?.restarts === 1;
    }, 10_000);
    expect(await logOf((await listing()).live)).toContain("restarting (attempt 1)");
  }, 60_000);

  it("a Wove killed mid-build marks that deployment failed on restart; the live app keeps answering", async () => {
    await put(project, "package.json", JSON.stringify({ name: "notes", private: true, scripts: { start: "bun run index.ts", build: "bun -e 'await Bun.sleep(30000)'" } }, null, 2));
    const r = await srv.api("POST", `/api/v1/projects/${project}/deployments`, { token: adaToken });
    const id = (r.json as { id: string }).id;
    await waitFor("the build to start", async () => (await logOf(id)).includes("$ bun run build"), 60_000);
    await srv.kill9();
    // Caddy and the app are processes of their own: the app still answers while Wove is down.
    expect((await viaCaddy(host, "/health")).status).toBe(200);
    srv = await TestServer.start({ command: [binary], dataDir, env: serverEnv() });
    // The restarted Wove reconciles in the background: the cut-short deployment becomes failed.
    let d: DeploymentJson | undefined;
    await waitFor("the interrupted deployment to be marked failed", async () => {
      d = (await srv.api("GET", `/api/v1/deployments/${id}`, { token: adaToken })).json as DeploymentJson;
      return d.status !== "building";
    }, 30_000);
    await waitFor("the app to answer through the new Caddy", async () => (await viaCaddy(host, "/health")).status === 200, 30_000);
    expect(d!.status).toBe("failed");
    expect(d!.error).toContain("Wove stopped while this deployment was in progress");
    // The build container of the killed run is removed by the same reconcile.
    await waitFor("the orphaned build container to be removed", async () => (await docker.docker.listContainers({ all: true, filters: { label: [`${LABEL.deployment}=${id}`] } })).length === 0, 30_000);
  }, 180_000);
});

describe("deploying the static-site template", () => {
  it("serves the site through Caddy", async () => {
    const r = await srv.api("POST", "/api/v1/projects", { token: adaToken, body: { name: "Home Page", template: "static-site", visibility: "public" } });
    expect(r.status).toBe(201);
    const project = (r.json as { id: string }).id;
    projects.push(project);
    const { d, seconds } = await deploy(project);
    console.log(`[deploy] static template: ${seconds.toFixed(1)} s`);
    if (d.status !== "live") throw new Error(`deployment ${d.status}: ${d.error}\n${await logOf(d.id)}`);
    expect(d.kind).toBe("static");
    const page = await viaCaddy(`home-page-ada.${DOMAIN}`, "/");
    expect(page.status).toBe(200);
    expect(page.body).toContain("<html");
    expect((await viaCaddy(`home-page-ada.${DOMAIN}`, "/no-such-page")).status).toBe(404);
  }, 240_000);
});
