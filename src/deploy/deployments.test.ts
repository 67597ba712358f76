import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { Project } from "../db/schema.ts";
import { createProject } from "../projects/projects.ts";
import { aliceAndBob, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";
import { createDeployment, deploymentJson, finishDeployment, getDeployment, listDeployments, liveDeployment, switchLive } from "./deployments.ts";
import { DeployLogs, type LogLine } from "./logs.ts";
import { appHost, appLabel, appUrl } from "./hosts.ts";
import { loadConfig } from "../config.ts";

let app: App;
let dir: string;
let project: Project;
let aliceId: string;

beforeAll(async () => {
  ({ app, dir } = await openTempApp("wove-deployments-"));
  const { alice } = await aliceAndBob(app.db.orm);
  aliceId = alice.id;
  project = await createProject(app.db.orm, app.config.dataDir, alice, { name: "Chart kit", visibility: "private" });
});
afterAll(() => closeTempApp(app, dir));

describe("deployments table", () => {
  test("numbers count up per project, even when created at once", async () => {
    const made = await Promise.all([1, 2, 3, 4].map(() => createDeployment(app.db.orm, project, aliceId)));
    expect(made.map((d) => d.number).sort()).toEqual([1, 2, 3, 4]);
    expect(made.every((d) => d.status === "queued")).toBe(true);
    expect((await listDeployments(app.db.orm, project.id)).map((d) => d.number)).toEqual([4, 3, 2, 1]);
  });

  test("switchLive: one live deployment per project; the previous one is superseded in the same step", async () => {
    const [d4, d3] = await listDeployments(app.db.orm, project.id);
    expect(await switchLive(app.db.orm, project.id, d3!.id, aliceId)).toBeUndefined();
    expect((await liveDeployment(app.db.orm, project.id))?.id).toBe(d3!.id);
    const before = await switchLive(app.db.orm, project.id, d4!.id, aliceId);
    expect(before?.id).toBe(d3!.id);
    expect((await getDeployment(app.db.orm, d3!.id))?.status).toBe("superseded");
    const live = await getDeployment(app.db.orm, d4!.id);
    expect(live?.status).toBe("live");
    expect(live?.liveAt).toBeGreaterThan(0);
    // The database itself refuses a second live row.
    await expect(app.db.client.execute({ sql: "UPDATE deployments SET status = 'live' WHERE id = ?", args: [d3!.id] })).rejects.toThrow(/UNIQUE/);
  });

  test("JSON: url only while live; timestamps as ISO strings", async () => {
    const [d4, , d2] = await listDeployments(app.db.orm, project.id);
    await finishDeployment(app.db.orm, d2!.id, "failed", "The build step exited with code 1.");
    const failed = deploymentJson((await getDeployment(app.db.orm, d2!.id))!, "http://x.apps.localhost");
    expect(failed).toMatchObject({ status: "failed", url: null, error: "The build step exited with code 1.", number: 2 });
    expect(failed.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(deploymentJson(d4!, "http://x.apps.localhost").url).toBe("http://x.apps.localhost");
  });
});

describe("deploy logs", () => {
  test("lines are kept, control sequences removed, watchers get the backlog then live lines, then the end", () => {
    const logs = new DeployLogs(dir);
    logs.write("abc", "first\n\u001b[32mgreen\u001b[0m\r\nthird");
    const seen: string[] = [];
    let ended = false;
    const stop = logs.watch("abc", { line: (l: LogLine) => seen.push(`${l.n}:${l.text}`), end: () => (ended = true) }, true);
    logs.write("abc", "fourth");
    expect(seen).toEqual(["1:first", "2:green", "3:third", "4:fourth"]);
    logs.close("abc");
    expect(ended).toBe(true);
    stop();
    expect(new DeployLogs(dir).read("abc").map((l) => l.text)).toEqual(["first", "green", "third", "fourth"]);
    // A finished deployment's log: backlog, then the end at once.
    let ended2 = false;
    new DeployLogs(dir).watch("abc", { line: () => {}, end: () => (ended2 = true) }, false);
    expect(ended2).toBe(true);
  });

  test("ids are checked before they become paths", () => {
    expect(() => new DeployLogs(dir).write("../etc", "x")).toThrow(/bad deployment id/);
  });
});

describe("app hosts", () => {
  const config = loadConfig({ data: "/tmp/x" }, { WOVE_APPS_DOMAIN: "apps.example.org" }).deploy;
  test("slug-owner under the apps domain, a valid DNS label", () => {
    expect(appHost(config, "chart-kit", "ada")).toBe("chart-kit-ada.apps.example.org");
    expect(appLabel("Weird__Name", "Team.X")).toBe("weird-name-team-x");
    const long = appLabel("a".repeat(60), "b".repeat(30));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(appLabel("a".repeat(60), "c".repeat(30)));
  });
  test("URLs: the port only when it is not the scheme's own", () => {
    expect(appUrl(config, "h.apps.example.org")).toBe("http://h.apps.example.org");
    expect(appUrl({ ...config, appsHttpPort: 8080 }, "h")).toBe("http://h:8080");
    expect(appUrl({ ...config, tls: "internal" }, "h")).toBe("https://h");
    expect(appUrl({ ...config, tls: "acme", appsHttpsPort: 8443 }, "h")).toBe("https://h:8443");
  });
});
