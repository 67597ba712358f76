/**
 * The Deploy page and its forms through the real guard (createServer(...).handle) on a temp
 * App. Docker is pointed at a socket that does not exist, so deploying is "unavailable" with
 * the connector's own reason; deployments in other states are made directly in the table.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { App } from "../core/app.ts";
import type { Project, User } from "../db/schema.ts";
import { createSession, SESSION_COOKIE } from "../auth/sessions.ts";
import { createUser } from "../auth/users.ts";
import { createProject } from "../projects/projects.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { csrfFor } from "../server/guard.ts";
import { createServer } from "../server/server.ts";
import { render } from "../web/jsx/jsx-runtime.ts";
import { setLogLevel } from "../lib/log.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { createDeployment, finishDeployment, getDeployment, listDeployments, switchLive, updateDeployment, type Deployment } from "./deployments.ts";
import { deploymentDir } from "./logs.ts";
import { deployPageRoutes } from "./pages-deploy.tsx";
import { actionsFor, DeployView, formatDuration } from "./pages-deploy-view.tsx";
import { closeDeploy, deployerFor } from "./start.ts";

type Person = { user: User; cookie: string; csrf: string };

const MISSING_SOCKET = "/nonexistent/wove-test-docker.sock";
const base = "http://localhost";

let app: App;
let dir: string;
let server: ReturnType<typeof createServer>;
let owner: Person; // team owner → admin
let writer: Person; // team member → write
let reader: Person; // team viewer → read
let stranger: Person;
let project: Project;
let other: Project;

async function person(name: string): Promise<Person> {
  const user = await createUser(app.db.orm, { email: `${name}@example.com`, username: name, name: name.charAt(0).toUpperCase() + name.slice(1), role: "member" }, null);
  const s = await createSession(app.db.orm, user.id, 1, {});
  return { user, cookie: `${SESSION_COOKIE}=${s.token}`, csrf: csrfFor(app, s.id) };
}

function get(path: string, who?: Person, headers: Record<string, string> = {}): Promise<Response> {
  return server.handle(new Request(base + path, { headers: { ...(who ? { cookie: who.cookie } : {}), ...headers } }));
}

function post(path: string, form: Record<string, string>, who?: Person, headers: Record<string, string> = {}): Promise<Response> {
  const body = new URLSearchParams({ ...(who ? { _csrf: who.csrf } : {}), ...form }).toString();
  const h: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", origin: base, ...headers };
  if (who) h.cookie = who.cookie;
  return server.handle(new Request(base + path, { method: "POST", headers: h, body }));
}

const page = (p: Project = project, q = "") => `/projects/${p.id}/deploy${q}`;
const action = (d: Deployment, a: string, p: Project = project) => `/projects/${p.id}/deployments/${d.id}/${a}`;

/** The deployments of `project`, newest first: #4 failed, #3 live, #2 superseded (was live), #1 failed before going live. */
let failed: Deployment;
let live: Deployment;
let superseded: Deployment;
let neverLive: Deployment;
let foreign: Deployment;

beforeAll(async () => {
  ({ app, dir } = await openTempApp("wove-deploy-pages-", { WOVE_DOCKER_SOCKET: MISSING_SOCKET, WOVE_APPS_DOMAIN: "apps.example.test" }));
  server = createServer(app, { routes: deployPageRoutes });
  // One access-log line per request would bury the test output; warnings still show.
  setLogLevel("warn");
  owner = await person("olivia");
  writer = await person("wes");
  reader = await person("vera");
  stranger = await person("sam");
  const orm = app.db.orm;
  const team = await createTeam(orm, owner.user, { name: "Crew" });
  await setMember(orm, team.id, writer.user.id, "member", owner.user.id, "owner");
  await setMember(orm, team.id, reader.user.id, "viewer", owner.user.id, "owner");
  project = await createProject(orm, app.config.dataDir, owner.user, { name: "Site", team: team.id, visibility: "private" });
  other = await createProject(orm, app.config.dataDir, stranger.user, { name: "Elsewhere", visibility: "private" });

  const logs = deployerFor(app).logs;
  neverLive = await createDeployment(orm, project, writer.user.id);
  await updateDeployment(orm, neverLive.id, { kind: "bun", startedAt: Date.now() - 5000 });
  await finishDeployment(orm, neverLive.id, "failed", "The build step exited with code 1.");
  superseded = await createDeployment(orm, project, writer.user.id);
  await updateDeployment(orm, superseded.id, { kind: "static", startedAt: Date.now() - 4000 });
  await switchLive(orm, project.id, superseded.id, writer.user.id);
  live = await createDeployment(orm, project, owner.user.id);
  await updateDeployment(orm, live.id, { kind: "static", startedAt: Date.now() - 3000 });
  await switchLive(orm, project.id, live.id, owner.user.id);
  failed = await createDeployment(orm, project, null);
  await updateDeployment(orm, failed.id, { kind: "static", startedAt: Date.now() - 2000 });
  await finishDeployment(orm, failed.id, "failed", "The app did not answer GET / within 30 s.");
  logs.write(failed.id, "Deployment #4 queued.\nBuilding…\nDeployment failed: <script>alert(1)</script>");
  logs.write(live.id, "Deployment #3 queued.\napp | listening");
  foreign = await createDeployment(orm, other, stranger.user.id);
  [failed, live, superseded, neverLive] = (await listDeployments(orm, project.id)) as [Deployment, Deployment, Deployment, Deployment];
});

afterAll(async () => {
  setLogLevel("info");
  await closeDeploy(app);
  closeTempApp(app, dir);
});

describe("the Deploy page", () => {
  test("a writer sees the address, the live deployment, the newest log, the history — and why Deploy is unavailable", async () => {
    const res = await get(page(), writer);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("http://site-crew.apps.example.test");
    expect(body).toContain(`>Deployment #3</a><span class="muted">, since <time`);
    // The unavailable reason replaces the button (no dead button), naming the socket.
    expect(body).toContain("Deploying is not available on this server right now.");
    expect(body).toContain(MISSING_SOCKET);
    expect(body).toContain(`<a href="/projects/${project.id}/deploy?d=${failed.id}">Check again</a>`);
    expect(body).not.toContain('id="deploy-button"');
    // The newest deployment's log, escaped, with its failure.
    expect(body).toContain("<h2 id=\"deploy-log-heading\">Deployment #4</h2>");
    expect(body).toContain("Deployment failed: &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(body).toContain('<span class="deploy-line problem">Deployment failed:');
    expect(body).toContain("The app did not answer GET / within 30 s.");
    // Ended: no stream; the JS and CSS are linked.
    expect(body).not.toContain("data-stream=");
    expect(body).toContain('<script src="/assets/deploy.js" defer></script>');
    expect(body).toContain('href="/assets/deploy.css"');
    // History: number, status, kind, who, duration, error.
    for (const n of [1, 2, 3, 4]) expect(body).toContain(`>#${n}</a>`);
    expect(body).toContain('data-status="superseded"');
    expect(body).toContain("Static site");
    expect(body).toContain("Wes · <time");
    expect(body).toContain("Wove · <time"); // #4 has no creator
    expect(body).toMatch(/took \d+(\.\d)? s/);
    expect(body).toContain("The build step exited with code 1.");
  });

  test("each deployment offers the actions its status allows", async () => {
    const body = await (await get(page(), writer)).text();
    const forms = (d: Deployment) => [...body.matchAll(new RegExp(`action="/projects/${project.id}/deployments/${d.id}/([a-z]+)"`, "g"))].map((m) => m[1]);
    expect(forms(live)).toEqual(["restart", "stop"]);
    expect(forms(superseded)).toEqual(["rollback", "delete"]);
    expect(forms(failed)).toEqual(["delete"]);
    expect(forms(neverLive)).toEqual(["delete"]); // it never went live: nothing to roll back to
    expect(body).toContain(`aria-label="Roll back deployment #2"`);
    expect(body).toContain(`name="_csrf" value="${writer.csrf}"`);
    expect(body).toContain(`data-confirm="Delete deployment #4`);
  });

  test("?d= shows that deployment's log; a live one streams from the logs API", async () => {
    const body = await (await get(page(project, `?d=${live.id}`), writer)).text();
    expect(body).toContain("<h2 id=\"deploy-log-heading\">Deployment #3</h2>");
    expect(body).toContain(`data-stream="/api/v1/deployments/${live.id}/logs"`);
    expect(body).toContain('data-last-line="2"');
    expect(body).toContain("app | listening");
    expect(body).toContain(`<a href="/projects/${project.id}/deploy?d=${live.id}" class="small" data-deploy-refresh>`);
    expect(body).toContain('id="deploy-live-url"');
    expect(body).toMatch(/<p class="deploy-live-line" data-deploy-live-line>Live at <a href="http:\/\/site-crew\.apps\.example\.test"/);
  });

  test("?d= of a deployment that is not this project's shows the newest instead, and says so", async () => {
    const body = await (await get(page(project, `?d=${foreign.id}`), writer)).text();
    expect(body).toContain("That deployment no longer exists; showing the newest one.");
    expect(body).toContain("<h2 id=\"deploy-log-heading\">Deployment #4</h2>");
    expect(body).not.toContain(foreign.id);
  });

  test("a reader sees the history and logs but no Deploy button and no actions", async () => {
    const res = await get(page(), reader);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("You can read this project but not deploy it.");
    expect(body).not.toContain('id="deploy-button"');
    expect(body).not.toContain("Deploying is not available"); // readers do not make Wove reach Docker
    expect(body).not.toContain(`/deployments/${live.id}/stop`);
    expect(body).not.toContain('name="_csrf" value="' + reader.csrf + '" /><button');
    expect(body).toContain(">#2</a>");
  });

  test("a stranger gets 404 for a private project; anonymous visitors are sent to log in", async () => {
    expect((await get(page(), stranger)).status).toBe(404);
    const anon = await get(page());
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toBe(`/login?next=${encodeURIComponent(page())}`);
  });

  test("htmx gets the view alone; ?panel=1 makes links and forms swap the panel", async () => {
    const res = await get(page(project, "?panel=1"), writer, { "hx-request": "true" });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body.startsWith('<div class="deploy deploy-in-panel" id="deploy-view"')).toBe(true);
    expect(body).not.toContain("<html");
    expect(body).toContain('<h3 id="deploy-log-heading">');
    expect(body).toContain(`hx-post="/projects/${project.id}/deployments/${failed.id}/delete" hx-target="#deploy-view" hx-swap="outerHTML"`);
    expect(body).toContain('<input type="hidden" name="panel" value="1">');
    expect(body).toContain(`hx-get="/projects/${project.id}/deploy?d=${live.id}&amp;panel=1"`);
    expect(body).toContain(`data-refresh-url="/projects/${project.id}/deploy?d=${failed.id}&amp;panel=1"`);
  });
});

describe("the Deploy forms", () => {
  test("every form needs the CSRF token", async () => {
    const noToken = async (path: string) => {
      const res = await post(path, { _csrf: "forged" }, writer);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("security token");
    };
    await noToken(page());
    for (const a of ["rollback", "stop", "restart", "delete"]) await noToken(action(superseded, a));
    expect(await getDeployment(app.db.orm, superseded.id)).toBeDefined();
  });

  test("Deploy while Docker is unreachable: the page again with the reason, status 503", async () => {
    const res = await post(page(), {}, writer);
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(body).toContain('<p class="flash error" role="alert">');
    expect(body).toContain(MISSING_SOCKET);
    expect((await listDeployments(app.db.orm, project.id)).length).toBe(4);
  });

  test("a reader cannot deploy or act on deployments (403); a stranger gets 404", async () => {
    expect((await post(page(), {}, reader)).status).toBe(403);
    expect((await post(action(failed, "delete"), {}, reader)).status).toBe(403);
    expect((await post(page(), {}, stranger)).status).toBe(404);
    expect((await post(action(failed, "delete"), {}, stranger)).status).toBe(404);
    expect(await getDeployment(app.db.orm, failed.id)).toBeDefined();
  });

  test("a deployment of another project, or none at all, is 404 on this project's URLs", async () => {
    for (const a of ["rollback", "stop", "restart", "delete"]) {
      expect((await post(action(foreign, a), {}, writer)).status).toBe(404);
    }
    expect((await post(`/projects/${project.id}/deployments/nosuchdeployment/delete`, {}, writer)).status).toBe(404);
    expect(await getDeployment(app.db.orm, foreign.id)).toBeDefined();
  });

  test("refusals are shown on the page with their status: restart of an ended deployment (409), roll back without Docker (503)", async () => {
    const restart = await post(action(failed, "restart"), { d: failed.id }, writer);
    expect(restart.status).toBe(409);
    expect(await restart.text()).toContain("only the live deployment can be restarted");
    const rollback = await post(action(superseded, "rollback"), {}, writer);
    expect(rollback.status).toBe(503);
    expect(await rollback.text()).toContain(MISSING_SOCKET);
  });

  test("Delete removes an ended deployment with its log, then 303 back to the page", async () => {
    expect(existsSync(deploymentDir(app.config.dataDir, failed.id))).toBe(true);
    const res = await post(action(failed, "delete"), { d: live.id }, writer);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(page(project, `?d=${live.id}`));
    expect(await getDeployment(app.db.orm, failed.id)).toBeUndefined();
    expect(existsSync(deploymentDir(app.config.dataDir, failed.id))).toBe(false);
  });

  test("from the IDE panel (htmx, panel=1) an action answers with the view instead of a redirect", async () => {
    const res = await post(action(neverLive, "delete"), { panel: "1" }, writer, { "hx-request": "true" });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body.startsWith('<div class="deploy deploy-in-panel" id="deploy-view"')).toBe(true);
    expect(body).not.toContain(`>#1</a>`);
    // A refusal comes back as the view too, with its reason and status, for deploy.js to show.
    const refused = await post(action(live, "rollback"), { panel: "1" }, writer, { "hx-request": "true" });
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('<p class="flash error" role="alert">');
  });

  test("Delete refuses the live deployment (409, shown on the page)", async () => {
    const res = await post(action(live, "delete"), {}, writer);
    expect(res.status).toBe(409);
    expect(await res.text()).toContain("stop it first");
    expect((await getDeployment(app.db.orm, live.id))?.status).toBe("live");
  });
});

describe("view pieces", () => {
  test("when deploying works, writers get the Deploy button (and a Deploy-again label once something is live)", async () => {
    const rows = await listDeployments(app.db.orm, project.id);
    const props = { project, canWrite: true, csrf: "t", unavailable: null, appUrl: "http://x.test", selected: undefined, log: [], names: new Map(), panel: false };
    const again = render(DeployView({ ...props, deployments: rows }));
    expect(again).toContain('<button type="submit" class="primary" id="deploy-button" aria-describedby="deploy-button-hint">Deploy again</button>');
    const first = render(DeployView({ ...props, deployments: [] }));
    expect(first).toContain(">Deploy</button>");
    expect(first).toContain("No deployments yet. Press Deploy to publish this project.");
    expect(first).not.toContain('id="deploy-log"');
  });

  test("actions by status, and durations", () => {
    const d = (status: Deployment["status"], liveAt: number | null = null) => ({ ...live, status, liveAt }) as Deployment;
    expect(actionsFor(d("queued"))).toEqual(["stop"]);
    expect(actionsFor(d("building"))).toEqual(["stop"]);
    expect(actionsFor(d("live", 1))).toEqual(["restart", "stop"]);
    expect(actionsFor(d("stopped", 1))).toEqual(["rollback", "delete"]);
    expect(actionsFor(d("stopped"))).toEqual(["delete"]);
    expect(formatDuration(4200)).toBe("4.2 s");
    expect(formatDuration(42_000)).toBe("42 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
  });
});
