/**
 * Instance configuration, resolved once at boot: flags > env (`WOVE_*`) > defaults.
 * Every setting here is documented in README's configuration table.
 */
import { resolve } from "node:path";
import { parseHostList } from "./lib/outbound.ts";

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  baseUrl: string;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  allowSignup: boolean;
  maxFileBytes: number;
  maxBodyBytes: number;
  trustProxy: boolean;
  sessionDays: number;
  /** Quiet period after the last edit before an automatic version is saved; 0 = off. */
  autosaveQuietMs: number;
  /** Largest git push accepted (the one request body allowed past maxBodyBytes). */
  maxPushBytes: number;
  /** Requests per minute one API token may make; 0 = no limit. */
  tokenRateLimit: number;
  /** How long an unchanged read-model cache entry may be kept, ms; 0 = caching off. */
  readCacheMs: number;
  /** Largest total of the files in an imported archive (uncompressed). */
  importMaxBytes: number;
  /** Host patterns git import may fetch from; empty = git-URL import is off (the default: air-gapped). */
  importGitAllow: string[];
  /** Collaborative editing limits and timings (src/collab/). */
  collab: CollabConfig;
  /** Code search indexes a text file's first this-many bytes (the rest of a bigger file is not searchable). */
  searchMaxFileBytes: number;
  /** One-click deployment (src/deploy/). */
  deploy: DeployConfig;
};

export type TlsMode = "acme" | "internal" | "off";
export type CaddyMode = "managed" | "external" | "off";

export type DeployConfig = {
  /** The Docker Engine's API socket (a unix socket path). */
  dockerSocket: string;
  /** Apps are served at `<project-slug>-<owner>.<appsDomain>`. */
  appsDomain: string;
  /** acme (public certificates), internal (Caddy's own CA, for LANs) or off (plain HTTP). */
  tls: TlsMode;
  /** managed: Wove runs the `caddy` binary itself; external: Wove drives a running Caddy at caddyAdmin; off: no routing. */
  caddy: CaddyMode;
  /** Caddy's admin API. Managed mode picks a free loopback port when this is unset. */
  caddyAdmin: string | null;
  /** The managed Caddy's plain-HTTP port for apps. */
  appsHttpPort: number;
  /** The managed Caddy's HTTPS port (tls acme or internal). */
  appsHttpsPort: number;
  /** Package registry a build container may reach (npm-compatible URL); null = builds have no network. */
  mirror: string | null;
  /** Default per-deployment limits; the admin can change them in the admin area. */
  cpus: number;
  memoryBytes: number;
  pids: number;
  /** How long a stopped-to-be container keeps serving after a switch, ms. */
  graceMs: number;
};

export type CollabConfig = {
  /** Largest stored document (snapshot + pending updates), bytes. */
  maxDocBytes: number;
  /** Largest WebSocket message, bytes. */
  maxMessageBytes: number;
  /** Messages per second one connection may send on average (bursts of 10× allowed). */
  ratePerSecond: number;
  /** How long a room with nobody in it stays loaded, ms. */
  idleMs: number;
  /** Quiet time after an edit before the text is written to the working tree, ms (at most 2 s of continuous typing more). */
  materialiseMs: number;
};

export class ConfigError extends Error {}

export type ConfigInput = Partial<{ port: string; host: string; data: string }>;

function intFrom(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function boolFrom(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Reads sizes like `10485760`, `512k`, `10m`, `1g`. */
export function sizeFrom(name: string, raw: string): number {
  const m = /^(\d+)\s*([kmg]?)i?b?$/i.exec(raw.trim());
  if (!m) throw new ConfigError(`${name} must be a size like 10m or 512k, got "${raw}"`);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? "").toLowerCase()] ?? 1;
  return Number(m[1]) * mult;
}

/** Reads `250ms`, `90s` (or a bare `90`), `10m`, `1h`, or `off`/`0` (0) into milliseconds. */
export function durationFrom(name: string, raw: string): number {
  const s = raw.trim().toLowerCase();
  if (s === "off" || s === "0") return 0;
  const m = /^(\d{1,7})(ms|s|m|h)?$/.exec(s);
  if (!m) throw new ConfigError(`${name} must be a duration like 90s, 10m, 1h or off, got "${raw}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
}

/** WOVE_SEARCH_MAX_FILE: 1 KB to 8 MB (a file's index is at most 256 segments). */
function searchMaxFile(raw: string): number {
  const n = sizeFrom("WOVE_SEARCH_MAX_FILE", raw);
  if (n < 1024 || n > 8 * 1024 ** 2) throw new ConfigError(`WOVE_SEARCH_MAX_FILE must be between 1k and 8m, got "${raw}"`);
  return n;
}

export function loadConfig(flags: ConfigInput = {}, env: Record<string, string | undefined> = process.env): Config {
  if (env.WOVE_LOG_LEVEL !== undefined && !["debug", "info", "warn", "error"].includes(env.WOVE_LOG_LEVEL)) {
    throw new ConfigError(`WOVE_LOG_LEVEL must be debug, info, warn or error, got "${env.WOVE_LOG_LEVEL}"`);
  }
  const port = intFrom("port", flags.port ?? env.WOVE_PORT ?? "3000", 0, 65535);
  const host = flags.host ?? env.WOVE_HOST ?? "127.0.0.1";
  const dataDir = resolve(flags.data ?? env.WOVE_DATA_DIR ?? "./data");
  const shownHost = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  const baseUrl = (env.WOVE_BASE_URL ?? `http://${shownHost}:${port}`).replace(/\/+$/, "");
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
  } catch {
    throw new ConfigError(`WOVE_BASE_URL must be an http(s) URL, got "${baseUrl}"`);
  }
  return {
    port,
    host,
    dataDir,
    baseUrl,
    databaseUrl: env.WOVE_DATABASE_URL ?? `file:${resolve(dataDir, "wove.db")}`,
    databaseAuthToken: env.WOVE_DATABASE_AUTH_TOKEN,
    allowSignup: boolFrom("WOVE_ALLOW_SIGNUP", env.WOVE_ALLOW_SIGNUP ?? "false"),
    maxFileBytes: sizeFrom("WOVE_MAX_FILE_SIZE", env.WOVE_MAX_FILE_SIZE ?? "10m"),
    maxBodyBytes: sizeFrom("WOVE_MAX_BODY_SIZE", env.WOVE_MAX_BODY_SIZE ?? "12m"),
    trustProxy: boolFrom("WOVE_TRUST_PROXY", env.WOVE_TRUST_PROXY ?? "false"),
    sessionDays: intFrom("WOVE_SESSION_DAYS", env.WOVE_SESSION_DAYS ?? "30", 1, 365),
    autosaveQuietMs: durationFrom("WOVE_AUTOSAVE_QUIET", env.WOVE_AUTOSAVE_QUIET ?? "10m"),
    maxPushBytes: sizeFrom("WOVE_MAX_PUSH_SIZE", env.WOVE_MAX_PUSH_SIZE ?? "1g"),
    tokenRateLimit: intFrom("WOVE_TOKEN_RATE_LIMIT", env.WOVE_TOKEN_RATE_LIMIT ?? "1200", 0, 1_000_000),
    readCacheMs: intFrom("WOVE_READ_CACHE_MS", env.WOVE_READ_CACHE_MS ?? "30000", 0, 3_600_000),
    importMaxBytes: sizeFrom("WOVE_IMPORT_MAX_SIZE", env.WOVE_IMPORT_MAX_SIZE ?? "200m"),
    importGitAllow: parseHostList(env.WOVE_IMPORT_GIT_ALLOW ?? ""),
    collab: {
      maxDocBytes: sizeFrom("WOVE_COLLAB_MAX_DOC", env.WOVE_COLLAB_MAX_DOC ?? "8m"),
      maxMessageBytes: sizeFrom("WOVE_COLLAB_MAX_MESSAGE", env.WOVE_COLLAB_MAX_MESSAGE ?? "8m"),
      ratePerSecond: intFrom("WOVE_COLLAB_RATE", env.WOVE_COLLAB_RATE ?? "200", 1, 1_000_000),
      idleMs: durationFrom("WOVE_COLLAB_IDLE", env.WOVE_COLLAB_IDLE ?? "5m"),
      materialiseMs: Math.min(2000, durationFrom("WOVE_COLLAB_MATERIALISE", env.WOVE_COLLAB_MATERIALISE ?? "500ms")),
    },
    searchMaxFileBytes: searchMaxFile(env.WOVE_SEARCH_MAX_FILE ?? "1m"),
    deploy: deployConfig(env),
  };
}

function choice<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(`${name} must be ${allowed.join(", ").replace(/, ([^,]*)$/, " or $1")}, got "${raw}"`);
}

function urlFrom(name: string, raw: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol === "http:" || u.protocol === "https:") return raw.replace(/\/+$/, "");
  } catch {
    // reported below
  }
  throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
}

function deployConfig(env: Record<string, string | undefined>): DeployConfig {
  const domain = (env.WOVE_APPS_DOMAIN ?? "apps.localhost").trim().toLowerCase().replace(/^\.+|\.+$/g, "");
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain) || domain.length > 200) {
    throw new ConfigError(`WOVE_APPS_DOMAIN must be a domain name like apps.example.org, got "${env.WOVE_APPS_DOMAIN}"`);
  }
  const cpus = Number(env.WOVE_DEPLOY_CPUS ?? "1");
  if (!Number.isFinite(cpus) || cpus < 0.1 || cpus > 64) throw new ConfigError(`WOVE_DEPLOY_CPUS must be a number from 0.1 to 64, got "${env.WOVE_DEPLOY_CPUS}"`);
  const memoryBytes = sizeFrom("WOVE_DEPLOY_MEMORY", env.WOVE_DEPLOY_MEMORY ?? "512m");
  if (memoryBytes < 16 * 1024 ** 2) throw new ConfigError(`WOVE_DEPLOY_MEMORY must be at least 16m, got "${env.WOVE_DEPLOY_MEMORY}"`);
  return {
    dockerSocket: (env.WOVE_DOCKER_SOCKET ?? "/var/run/docker.sock").replace(/^unix:\/\//, ""),
    appsDomain: domain,
    tls: choice("WOVE_TLS", env.WOVE_TLS ?? "off", ["acme", "internal", "off"] as const),
    caddy: choice("WOVE_CADDY", env.WOVE_CADDY ?? "managed", ["managed", "external", "off"] as const),
    caddyAdmin: env.WOVE_CADDY_ADMIN ? urlFrom("WOVE_CADDY_ADMIN", env.WOVE_CADDY_ADMIN) : null,
    appsHttpPort: intFrom("WOVE_APPS_HTTP_PORT", env.WOVE_APPS_HTTP_PORT ?? "80", 0, 65535),
    appsHttpsPort: intFrom("WOVE_APPS_HTTPS_PORT", env.WOVE_APPS_HTTPS_PORT ?? "443", 0, 65535),
    mirror: env.WOVE_DEPLOY_MIRROR ? urlFrom("WOVE_DEPLOY_MIRROR", env.WOVE_DEPLOY_MIRROR) : null,
    cpus,
    memoryBytes,
    pids: intFrom("WOVE_DEPLOY_PIDS", env.WOVE_DEPLOY_PIDS ?? "256", 16, 100_000),
    graceMs: durationFrom("WOVE_DEPLOY_GRACE", env.WOVE_DEPLOY_GRACE ?? "10s"),
  };
}

export function isSecure(config: Config): boolean {
  return config.baseUrl.startsWith("https:");
}
