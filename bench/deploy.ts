/**
 * Deploy benchmark (issue 7's performance goals), against the real server with the real dockerd
 * and a Caddy that Wove runs itself:
 *
 *   1. Time from pressing Deploy (POST /api/v1/projects/:id/deployments) to the first 200 from
 *      the app through Caddy (by Host header), for the static-site and the Bun template:
 *      cold (no runtime images yet: they are built from the executable as part of the deploy)
 *      and warm (a redeploy; timed to the first 200 from the new deployment).
 *   2. The switch's downtime: a client polls the app through Caddy every 10 ms while the project
 *      is redeployed several times; every poll that does not get a 200 counts as failed.
 *
 *   bun bench/deploy.ts [--warm 5] [--switches 5] [--binary dist/wove]
 *
 * Needs dockerd (running, or root to start it) and caddy. Progress goes to stderr; markdown
 * tables for docs/PERFORMANCE.md to stdout.
 */
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureDocker } from "../test/helpers/docker.ts";
import { TestServer } from "../test/helpers/server.ts";
import { freePort } from "../src/deploy/caddy-process.ts";
import { removeContainer, removeImage } from "../src/deploy/docker.ts";
import { runtimeImageTag, staticImageTag } from "../src/deploy/images.ts";
import { LABEL } from "../src/deploy/types.ts";

const { values: opts } = parseArgs({ options: { warm: { type: "string", default: "5" }, switches: { type: "string", default: "5" }, binary: { type: "string" } } });
const WARM = Number(opts.warm);
const SWITCHES = Number(opts.switches);
const DOMAIN = "apps.bench";
const say = (s: string) => process.stderr.write(`${s}\n`);

const docker = await ensureDocker();
if (!docker) {
  say("Docker is not available: nothing to measure.");
  process.exit(1);
}
const executable = opts.binary ? resolve(opts.binary) : process.execPath;
const appsPort = freePort("0.0.0.0");
const srv = await TestServer.start({
  command: opts.binary ? [executable] : undefined,
  env: { WOVE_APPS_HTTP_PORT: String(appsPort), WOVE_APPS_DOMAIN: DOMAIN, WOVE_DEPLOY_GRACE: "2s" },
});
const user = await srv.createUser({ email: "bench@example.com", username: "bench", name: "Bench" });
const token = await srv.token(user.email);
const projects: string[] = [];

async function viaCaddy(host: string, path: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${appsPort}${path}`, { headers: { Host: host }, signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

async function newProject(name: string, template: string): Promise<string> {
  const r = await srv.api("POST", "/api/v1/projects", { token, body: { name, template, visibility: "private" } });
  if (r.status !== 201) throw new Error(`project: ${r.status} ${r.text}`);
  const id = (r.json as { id: string }).id;
  projects.push(id);
  return id;
}

/** Deploy → the first 200 through Caddy that comes from this deployment (`marker` in the body proves it). */
async function timeDeploy(project: string, host: string, path: string, marker: string): Promise<number> {
  const started = performance.now();
  const r = await srv.api("POST", `/api/v1/projects/${project}/deployments`, { token });
  if (r.status !== 202) throw new Error(`deploy: ${r.status} ${r.text}`);
  const id = (r.json as { id: string }).id;
  for (;;) {
    const got = await viaCaddy(host, path);
    if (got.status === 200 && got.body.includes(marker)) return (performance.now() - started) / 1000;
    const d = (await srv.api("GET", `/api/v1/deployments/${id}`, { token })).json as { status: string; error: string | null };
    if (d.status === "failed" || d.status === "stopped") throw new Error(`deployment ${d.status}: ${d.error}`);
    if (performance.now() - started > 180_000) throw new Error("no 200 within 180 s");
    await Bun.sleep(10);
  }
}

async function write(project: string, path: string, body: string): Promise<void> {
  const r = await srv.api("PUT", `/api/v1/projects/${project}/files/${path}`, { token, body });
  if (r.status !== 200 && r.status !== 201) throw new Error(`write ${path}: ${r.status}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const rows: string[] = [];

try {
  for (const [template, name, path] of [
    ["static-site", "Bench Static", "/"],
    ["bun-api", "Bench Bun", "/health"],
  ] as const) {
    // Cold: the runtime images do not exist yet.
    for (const tag of [staticImageTag(executable), runtimeImageTag(executable)]) await removeImage(docker, tag).catch(() => {});
    const project = await newProject(name, template);
    const host = `${name.toLowerCase().replace(/ /g, "-")}-bench.${DOMAIN}`;
    const markerFile = template === "static-site" ? "index.html" : "index.ts";
    say(`${template}: cold deploy…`);
    const cold = await timeDeploy(project, host, path, template === "static-site" ? "<html" : "ok");
    const warm: number[] = [];
    for (let i = 0; i < WARM; i++) {
      const marker = `bench-build-${i}`;
      if (template === "static-site") {
        await write(project, markerFile, `<!doctype html><html><head><title>${marker}</title></head><body>${marker}</body></html>\n`);
      } else {
        await write(
          project,
          markerFile,
          `Bun.serve({ port: Number(process.env.PORT) || 3000, hostname: "0.0.0.0", fetch: () => Response.json({ status: "ok", build: "${marker}" }) });\n`,
        );
      }
      warm.push(await timeDeploy(project, host, path, marker));
      say(`${template}: warm ${i + 1}/${WARM}: ${warm.at(-1)?.toFixed(2)} s`);
    }
    rows.push(`| ${template} | ${cold.toFixed(2)} s | ${median(warm).toFixed(2)} s | ${Math.min(...warm).toFixed(2)}–${Math.max(...warm).toFixed(2)} s |`);
  }

  // The switch: poll every 10 ms during redeploys of the Bun app.
  const project = projects[1] as string;
  const host = `bench-bun-bench.${DOMAIN}`;
  let polls = 0;
  let failed = 0;
  const failures: string[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const started = performance.now();
      const got = await viaCaddy(host, "/health");
      polls++;
      if (got.status !== 200) {
        failed++;
        if (failures.length < 5) failures.push(String(got.status));
      }
      const wait = 10 - (performance.now() - started);
      if (wait > 0) await Bun.sleep(wait);
    }
  })();
  for (let i = 0; i < SWITCHES; i++) {
    const marker = `switch-${i}`;
    await write(project, "index.ts", `Bun.serve({ port: Number(process.env.PORT) || 3000, hostname: "0.0.0.0", fetch: () => Response.json({ status: "ok", build: "${marker}" }) });\n`);
    await timeDeploy(project, host, "/health", marker);
    say(`switch ${i + 1}/${SWITCHES} done (${polls} polls so far, ${failed} failed)`);
  }
  await Bun.sleep(3000); // past the old container's grace period: its stop must not cost a poll either
  polling = false;
  await poller;

  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load ${loadavg()[0]?.toFixed(1)}; executable: ${opts.binary ?? "bun (sources)"}; dockerd --storage-driver=vfs; Caddy managed by Wove, TLS off.\n`);
  console.log("| Template | Cold (images built) | Warm (median) | Warm range |");
  console.log("|---|---|---|---|");
  for (const r of rows) console.log(r);
  console.log(`\n| Switch | Redeploys | Polls (every 10 ms) | Failed polls |`);
  console.log("|---|---|---|---|");
  console.log(`| Bun app | ${SWITCHES} | ${polls} | ${failed}${failures.length ? ` (${failures.join(", ")})` : ""} |`);
} finally {
  await srv.stop();
  for (const c of await docker.docker.listContainers({ all: true, filters: { label: [LABEL.managed] } })) {
    if (projects.includes(c.Labels[LABEL.project] ?? "")) await removeContainer(docker, c.Id);
  }
  for (const p of projects) await docker.docker.getNetwork(`wove-p-${p}`).remove().catch(() => {});
}
