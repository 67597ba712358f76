/**
 * A real Caddy for tests: managed by Wove's own process code, TLS off, on free ports, state in a
 * temp dir. Without the caddy binary the Caddy tests are skipped locally (saying what is missing);
 * under CI they run and fail, so a missing package cannot pass unnoticed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startManagedCaddy, type ManagedCaddy } from "../../src/deploy/caddy-process.ts";
import type { CaddyClient } from "../../src/deploy/caddy.ts";
import { registerOutput, unregisterOutput, type OutputSource } from "./quiet.ts";
import type { Logger } from "../../src/lib/log.ts";

const caddyPath = Bun.which("caddy");

export const skipCaddy: boolean = !caddyPath && !process.env.CI;
if (!caddyPath) {
  console.error(
    process.env.CI
      ? "caddy is not installed (CI is set, so the Caddy tests will run and fail): apt-get install caddy"
      : "Skipping the Caddy tests: the caddy binary is not on PATH (apt-get install caddy).",
  );
}

export type TestCaddy = {
  adminUrl: string;
  httpPort: number;
  client: CaddyClient;
  managed: ManagedCaddy;
  dataDir: string;
  /** GET through Caddy with the given Host header. */
  get(host: string, path?: string): Promise<Response>;
  stop(): Promise<void>;
};

/** A logger that keeps every line, debug included (Caddy's own output is logged at debug). */
function captureLogger(sink: (line: string) => void, base: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }));
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => captureLogger(sink, { ...base, ...fields }),
  };
}

export async function startTestCaddy(options: { onRestart?: () => void | Promise<void> } = {}): Promise<TestCaddy> {
  const dataDir = mkdtempSync(join(tmpdir(), "wove-caddy-"));
  // The log (Caddy's output included) is printed only when a test fails.
  let captured = "";
  const source: OutputSource = { label: `caddy in ${dataDir}`, output: () => captured };
  const logger = captureLogger((line) => {
    captured = (captured + line + "\n").slice(-200_000);
  });
  registerOutput(source);
  const httpPort = freePort("0.0.0.0");
  let managed: ManagedCaddy;
  try {
    managed = await startManagedCaddy({ dataDir, httpPort, httpsPort: freePort("0.0.0.0"), tls: "off", onRestart: options.onRestart, logger });
  } catch (e) {
    unregisterOutput(source);
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    adminUrl: managed.adminUrl,
    httpPort,
    client: managed.client,
    managed,
    dataDir,
    get: (host, path = "/") => fetch(`http://127.0.0.1:${httpPort}${path}`, { headers: { Host: host } }),
    async stop() {
      await managed.stop();
      unregisterOutput(source);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
