/** `wove serve`: open the data dir, check the runtime, listen, print where to go. */
import { spawnSync } from "node:child_process";
import type { Config } from "../config.ts";
import { openApp } from "../core/app.ts";
import { checkVectorExtension } from "../db/vec.ts";
import { countAdmins } from "../auth/users.ts";
import { issueSetupToken } from "../auth/setup.ts";
import { pruneExpiredSessions } from "../auth/sessions.ts";
import { log, flushLogs } from "../lib/log.ts";
import { createServer } from "../server/server.ts";
import { startAutosave } from "../projects/autosave.ts";
import { startTechWatch } from "../projects/techstack.ts";
import { closeCollab } from "../collab/rooms.ts";
import { startSearchIndexer } from "../search/indexer.ts";
import { startSemanticIndexer } from "../search/semantic-index.ts";
import { closeDeploy, startDeploy } from "../deploy/start.ts";
import { loadPlugins, pluginsDirFor } from "../ai/plugins.ts";

function gitVersion(): string | undefined {
  const r = spawnSync("git", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export async function serve(config: Config): Promise<void> {
  const started = performance.now();
  const app = await openApp(config);
  const vec = app.db.file ? checkVectorExtension() : "not loaded (remote libSQL: native vector functions are used)";
  const git = gitVersion();
  if (!git) log.warn("git was not found on PATH; project history and git over HTTP need it (Debian: apt-get install git)");
  // Model-provider plugins: the built-ins plus folders an admin dropped in (logged and skipped when broken).
  await loadPlugins(pluginsDirFor(config.dataDir));
  const server = createServer(app).listen({ port: config.port, hostname: config.host });
  const port = server.server?.port ?? config.port;
  // With --port 0 the real port is known only now; an explicit WOVE_BASE_URL always wins.
  if (!process.env.WOVE_BASE_URL && port !== config.port) config.baseUrl = config.baseUrl.replace(/:\d+$/, `:${port}`);
  const url = config.baseUrl;
  log.info("wove started", { url, data: config.dataDir, database: app.db.file ? "embedded libSQL" : "libSQL server", sqliteVec: vec, git: git ?? "missing", ms: Math.round(performance.now() - started) });
  const lines = [`Wove is running at ${url}`];
  if ((await countAdmins(app.db.orm)) === 0) {
    const token = issueSetupToken();
    lines.push(`No admin exists yet. Open this one-time link to create the first admin:`, `  ${url}/setup?token=${token}`);
    lines.push(`(or run: wove admin create-user --data ${config.dataDir} --email you@example.org --password '…' --role admin)`);
  }
  flushLogs();
  console.log(lines.join("\n"));
  const autosave = startAutosave(app, config.autosaveQuietMs);
  const stopTechWatch = startTechWatch(app);
  const searchIndexer = startSearchIndexer(app);
  const semanticIndexer = startSemanticIndexer(app);
  // Live apps come back (containers adopted or restarted, routes rebuilt) without holding up the server.
  void startDeploy(app);
  const prune = setInterval(() => void pruneExpiredSessions(app.db.orm).catch(() => {}), 3600_000);
  prune.unref();
  const stop = (signal: string) => {
    log.info("shutting down", { signal });
    flushLogs();
    // Let requests in flight finish, but do not wait on a client that stopped talking
    // (e.g. one still sending a body we already refused with 413).
    const force = setTimeout(() => void server.stop(true), 3000);
    // Editors are told to reconnect later (1001) and their text reaches the working tree
    // before autosave looks at it; sockets would otherwise hold the graceful stop open.
    void Promise.all([server.stop(), closeCollab(app)])
      .then(() => clearTimeout(force))
      .then(() => autosave.flush())
      .then(() => searchIndexer.stop())
      .then(() => semanticIndexer?.stop())
      .then(() => closeDeploy(app))
      .catch((e: unknown) => log.error("shutdown step failed", { error: String(e) }))
      .finally(() => {
        autosave.stop();
        stopTechWatch();
        app.close();
        flushLogs();
        process.exit(0);
      });
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}
