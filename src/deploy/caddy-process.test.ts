/** Managed and external Caddy against the real binary. */
import { describe, expect } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skipCaddy, startTestCaddy } from "../../test/helpers/caddy.ts";
import { test } from "../../test/helpers/quiet.ts";
import type { Logger } from "../lib/log.ts";
import { caddyClient } from "./caddy.ts";
import { baseConfig, NOT_FOUND_TEXT, WOVE_SERVER, type JsonObject } from "./caddy-config.ts";
import type { DeployConfig } from "../config.ts";
import { connectExternalCaddy, freePort, openCaddy, startManagedCaddy } from "./caddy-process.ts";

const run = test.skipIf(skipCaddy);

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "wove-caddy-proc-"));
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("managed Caddy", () => {
  run("restarts after it is killed, with its routes restored, and tells Wove", async () => {
    let restored = 0;
    const caddy = await startTestCaddy({ onRestart: () => void restored++ });
    const app = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("still here") });
    try {
      await caddy.client.setRoute({ projectId: "r1", hosts: ["r1.test"], upstream: `127.0.0.1:${app.port}` });
      const first = caddy.managed.pid();
      expect(first).not.toBeNull();
      const killedAt = performance.now();
      process.kill(first as number, "SIGKILL");
      await until("the restart", () => caddy.managed.restarts() === 1 && restored === 1);
      const back = performance.now() - killedAt;
      expect(caddy.managed.pid()).not.toBe(first);
      const res = await caddy.get("r1.test");
      expect(await res.text()).toBe("still here");
      expect(back).toBeLessThan(5_000);
      if (process.env.WOVE_CADDY_FIGURES) console.log(`restart after SIGKILL: serving again in ${back.toFixed(0)} ms`);
    } finally {
      app.stop(true);
      await caddy.stop();
    }
  });

  run("stop() ends the process and the admin API goes away", async () => {
    const caddy = await startTestCaddy();
    const pid = caddy.managed.pid() as number;
    await caddy.stop();
    expect(alive(pid)).toBe(false);
    expect(caddy.managed.pid()).toBeNull();
    await expect(caddy.client.ping()).rejects.toThrow("not reachable");
  });

  run("keeps certificates and state under <dataDir>/caddy", async () => {
    const caddy = await startTestCaddy();
    try {
      const written = JSON.parse(readFileSync(join(caddy.dataDir, "caddy", "caddy.json"), "utf8")) as JsonObject;
      expect(written.storage).toEqual({ module: "file_system", root: join(caddy.dataDir, "caddy", "data", "caddy") });
      expect(readFileSync(join(caddy.dataDir, "caddy", "caddy.pid"), "utf8").trim()).toBe(String(caddy.managed.pid()));
      expect(readFileSync(join(caddy.dataDir, "caddy", "config", "caddy", "autosave.json"), "utf8")).toContain(WOVE_SERVER);
    } finally {
      await caddy.stop();
    }
  });

  run("a port in use: a clear error naming the setting", async () => {
    const blocker = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } });
    const dir = tempDir();
    try {
      const err = await startManagedCaddy({ dataDir: dir, httpPort: blocker.port, httpsPort: freePort(), tls: "off", logger: silent }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(`Port ${blocker.port} (WOVE_APPS_HTTP_PORT) is already in use by another program.`);
    } finally {
      blocker.stop(true);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a missing caddy binary: says what to install or set", async () => {
    const err = await startManagedCaddy({ dataDir: "/nonexistent", httpPort: 1, httpsPort: 2, tls: "off", binary: "/nonexistent/caddy", logger: silent }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toContain('The caddy program was not found at "/nonexistent/caddy". Install Debian\'s caddy package');
    expect((err as Error).message).toContain("WOVE_CADDY=external");
  });

  run("a Caddy left running by an earlier Wove is stopped before a new one starts", async () => {
    const dir = tempDir();
    const home = join(dir, "caddy");
    mkdirSync(home, { recursive: true });
    const httpPort = freePort("0.0.0.0");
    const configFile = join(home, "caddy.json");
    writeFileSync(configFile, JSON.stringify(baseConfig({ adminListen: `127.0.0.1:${freePort()}`, httpPort, httpsPort: 1, tls: "off" })));
    const leftover = Bun.spawn(["caddy", "run", "--config", configFile, "--pidfile", join(home, "caddy.pid")], {
      env: { PATH: process.env.PATH ?? "/usr/bin", HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home },
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      await until("the leftover's pid file", () => {
        try {
          return readFileSync(join(home, "caddy.pid"), "utf8").trim() === String(leftover.pid);
        } catch {
          return false;
        }
      });
      const managed = await startManagedCaddy({ dataDir: dir, httpPort, httpsPort: freePort(), tls: "off", logger: silent });
      try {
        expect(await leftover.exited).not.toBeNull();
        expect(await (await fetch(`http://127.0.0.1:${httpPort}/`, { headers: { Host: "x.test" } })).text()).toBe(NOT_FOUND_TEXT);
      } finally {
        await managed.stop();
      }
    } finally {
      if (leftover.exitCode === null) leftover.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  run("tls internal: HTTPS with Caddy's own CA for the app's host, HTTP redirects to HTTPS", async () => {
    const dir = tempDir();
    const httpPort = freePort("0.0.0.0");
    const httpsPort = freePort("0.0.0.0");
    const managed = await startManagedCaddy({ dataDir: dir, httpPort, httpsPort, tls: "internal", logger: silent });
    const app = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response(`secure ${req.headers.get("x-forwarded-proto")}`) });
    try {
      await managed.client.setRoute({ projectId: "t1", hosts: ["t1.apps.test"], upstream: `127.0.0.1:${app.port}` });
      const ca = readFileSync(join(dir, "caddy", "data", "caddy", "pki", "authorities", "local", "root.crt"));
      const get = () =>
        new Promise<string>((resolve, reject) => {
          const req = https.request({ host: "127.0.0.1", port: httpsPort, path: "/", servername: "t1.apps.test", headers: { Host: "t1.apps.test" }, ca }, (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve(`${res.statusCode} ${body}`));
          });
          req.on("error", reject);
          req.end();
        });
      let answer = "";
      // The certificate is issued in the background right after the route appears.
      await until("the internal certificate", async () => {
        answer = await get().catch(() => "");
        return answer !== "";
      });
      expect(answer).toBe("200 secure https");
      const redirect = await fetch(`http://127.0.0.1:${httpPort}/a?b=1`, { headers: { Host: "t1.apps.test" }, redirect: "manual" });
      expect(redirect.status).toBe(308);
      expect(redirect.headers.get("location")).toBe("https://t1.apps.test/a?b=1");
    } finally {
      app.stop(true);
      await managed.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("external Caddy", () => {
  /** A Caddy somebody else runs, with their own server on it. */
  async function foreignCaddy(config: JsonObject) {
    const dir = tempDir();
    const file = join(dir, "their.json");
    writeFileSync(file, JSON.stringify(config));
    const proc = Bun.spawn(["caddy", "run", "--config", file], {
      env: { PATH: process.env.PATH ?? "/usr/bin", HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      stdout: "ignore",
      stderr: "ignore",
    });
    const admin = (config.admin as { listen: string }).listen;
    await until("their Caddy", () => caddyClient(`http://${admin}`).ping().then(() => true, () => false));
    return {
      adminUrl: `http://${admin}`,
      async stop() {
        proc.kill("SIGTERM");
        await proc.exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  run("adds the wove_apps server next to theirs, once, without touching theirs", async () => {
    const theirPort = freePort("0.0.0.0");
    const theirServer = { listen: [`:${theirPort}`], automatic_https: { disable: true }, routes: [{ handle: [{ handler: "static_response", body: "theirs" }] }] };
    const their = await foreignCaddy({ admin: { listen: `127.0.0.1:${freePort()}` }, apps: { http: { servers: { srv0: theirServer } } } });
    try {
      const httpPort = freePort("0.0.0.0");
      const client = await connectExternalCaddy(their.adminUrl, { httpPort, httpsPort: 1, tls: "off" }, silent);
      const again = await connectExternalCaddy(their.adminUrl, { httpPort, httpsPort: 1, tls: "off" }, silent);
      const servers = (await client.config("apps/http/servers")).value as JsonObject;
      expect(Object.keys(servers).sort()).toEqual(["srv0", WOVE_SERVER]);
      expect((await again.config("apps/http/servers/srv0")).value).toEqual(theirServer);
      const app = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ours") });
      try {
        await client.setRoute({ projectId: "e1", hosts: ["e1.test"], upstream: `127.0.0.1:${app.port}` });
        expect(await (await fetch(`http://127.0.0.1:${httpPort}/`, { headers: { Host: "e1.test" } })).text()).toBe("ours");
        expect(await (await fetch(`http://127.0.0.1:${theirPort}/`)).text()).toBe("theirs");
      } finally {
        app.stop(true);
      }
    } finally {
      await their.stop();
    }
  });

  run("a Caddy with no config at all gets the server created", async () => {
    const their = await foreignCaddy({ admin: { listen: `127.0.0.1:${freePort()}` } });
    try {
      const client = await connectExternalCaddy(their.adminUrl, { httpPort: freePort("0.0.0.0"), httpsPort: 1, tls: "off" }, silent);
      expect((await client.routes()).map((r) => r["@id"])).toEqual(["wove-not-found"]);
    } finally {
      await their.stop();
    }
  });

  test("nobody answering: the error says which setting to check", async () => {
    await expect(connectExternalCaddy(`http://127.0.0.1:${freePort()}`, { httpPort: 1, httpsPort: 2, tls: "off" })).rejects.toThrow(
      "Start Caddy, or point WOVE_CADDY_ADMIN at its admin API.",
    );
  });
});

describe("openCaddy (the deploy settings)", () => {
  const deploy = (over: Partial<DeployConfig>): DeployConfig => ({
    dockerSocket: "/var/run/docker.sock",
    appsDomain: "apps.localhost",
    tls: "off",
    caddy: "managed",
    caddyAdmin: null,
    appsHttpPort: freePort("0.0.0.0"),
    appsHttpsPort: freePort("0.0.0.0"),
    mirror: null,
    cpus: 1,
    memoryBytes: 512 * 1024 ** 2,
    pids: 256,
    graceMs: 10_000,
    ...over,
  });

  test("WOVE_CADDY=off: no Caddy", async () => {
    expect(await openCaddy(deploy({ caddy: "off" }), { dataDir: "/nonexistent" })).toBeNull();
  });

  test("managed with a non-loopback WOVE_CADDY_ADMIN is refused", async () => {
    await expect(openCaddy(deploy({ caddyAdmin: "http://10.0.0.5:2019" }), { dataDir: "/nonexistent" })).rejects.toThrow(
      "With WOVE_CADDY=managed, WOVE_CADDY_ADMIN must be http://127.0.0.1:<port>",
    );
  });

  run("managed on the admin port WOVE_CADDY_ADMIN names, then external against that same Caddy", async () => {
    const dir = tempDir();
    const adminPort = freePort();
    const settings = deploy({ caddyAdmin: `http://127.0.0.1:${adminPort}` });
    const managed = await openCaddy(settings, { dataDir: dir, logger: silent });
    try {
      expect(managed?.client.adminUrl).toBe(`http://127.0.0.1:${adminPort}`);
      const external = await openCaddy({ ...settings, caddy: "external" }, { dataDir: "/unused", logger: silent });
      expect((await external?.client.routes())?.map((r) => r["@id"])).toEqual(["wove-not-found"]);
      await external?.stop();
      await managed?.client.ping();
    } finally {
      await managed?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
