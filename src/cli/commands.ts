/** The `wove` command line: serve, migrate, admin create-user, admin token, admin rotate-key, help, --version. */
import { loadConfig, ConfigError } from "../config.ts";
import { openApp } from "../core/app.ts";
import { migrate } from "../db/migrate.ts";
import { createUser, findUserByEmail } from "../auth/users.ts";
import { createToken, parseExpiry, parseScopes } from "../auth/tokens.ts";
import { ApiError } from "../lib/errors.ts";
import { flushLogs } from "../lib/log.ts";
import { helpText, parseFlags, UsageError, type CommandSpec } from "./args.ts";
import { serve } from "./serve.ts";
import { forgetOldKeys, forgottenMessage, rotatedMessage, rotateKey, RotateKeyError } from "./rotate-key.ts";
import { VERSION } from "./version.ts";
import { reindex, ReindexError } from "./reindex.ts";
import { IMAGES_COMMANDS, imagesBuild } from "./images.ts";
import { PROVIDER_COMMANDS, providerAction, providerAdd, providerAddFlags } from "./provider.ts";

const dataFlag = { type: "string", help: "Data directory (env WOVE_DATA_DIR; default ./data)", placeholder: "DIR" } as const;

export const COMMANDS: Record<string, CommandSpec> = {
  serve: {
    usage: "wove serve [--port PORT] [--host HOST] [--data DIR]",
    summary: "Start the Wove server (applies pending migrations first).",
    flags: {
      port: { type: "string", help: "Port to listen on (env WOVE_PORT; default 3000; 0 picks a free port)" },
      host: { type: "string", help: "Address to bind (env WOVE_HOST; default 127.0.0.1)" },
      data: dataFlag,
    },
  },
  migrate: {
    usage: "wove migrate [--data DIR]",
    summary: "Apply pending database migrations and exit.",
    flags: { data: dataFlag },
  },
  "admin create-user": {
    usage: "wove admin create-user --data DIR --email EMAIL --password PASSWORD --role admin|member [--name NAME] [--username USERNAME]",
    summary: "Create an account. Works while the server runs.",
    flags: {
      data: { ...dataFlag, required: true },
      email: { type: "string", help: "Email address", required: true },
      password: { type: "string", help: "Password (at least 10 characters)", required: true },
      role: { type: "string", help: "Instance role", required: true, choices: ["admin", "member"] },
      name: { type: "string", help: "Display name (default: the email's local part)" },
      username: { type: "string", help: "URL-safe username (default: derived from the email)" },
    },
  },
  "admin token": {
    usage: "wove admin token --data DIR --email EMAIL [--scopes read,write] [--expires 30d] [--name NAME]",
    summary: "Create an API token for an account and print it as the last line. Works while the server runs.",
    flags: {
      data: { ...dataFlag, required: true },
      email: { type: "string", help: "The account's email", required: true },
      scopes: { type: "string", help: "Comma-separated scopes: read, write, admin (default read,write; admin for admins)" },
      expires: { type: "string", help: "Lifetime like 30d, 12h, or never (default 90d)" },
      name: { type: "string", help: "A label for the token (default: cli)" },
    },
  },
  "admin rotate-key": {
    usage: "wove admin rotate-key --data DIR [--forget-old]",
    summary:
      "Replace the instance key (DIR/secret.key) with a new one and re-seal every stored secret with it; the old key is kept " +
      "as secret.key.old-<time> until --forget-old re-seals anything still using it and deletes it. Works while the server runs.",
    flags: {
      data: { ...dataFlag, required: true },
      "forget-old": { type: "boolean", help: "After restarting Wove: re-seal what still needs an old key, then delete the old key files" },
    },
  },
  "admin reindex": {
    usage: "wove admin reindex [--data DIR] [--project ID]",
    summary:
      "Rebuild the search index: queue every project (or one) to be re-read, then index here with progress — or, when a running " +
      "server holds the indexing lease, leave the work to it. Works while the server runs.",
    flags: {
      data: dataFlag,
      project: { type: "string", help: "Only this project (its id)", placeholder: "ID" },
    },
  },
  ...IMAGES_COMMANDS,
  ...PROVIDER_COMMANDS,
};

const TOP_HELP = `Wove ${VERSION} — self-hosted browser development platform

Usage: wove <command> [options]

Commands:
  serve                 Start the server
  migrate               Apply database migrations
  admin create-user     Create an account
  admin token           Create an API token
  admin rotate-key      Replace the key that seals stored secrets
  admin reindex         Rebuild the search index
  admin provider add    Add an AI model provider
  images build          Build the runtime images deployments run in
  help [command]        Show help
  --version             Print the version

Run "wove <command> --help" for a command's options.`;

/** Runs the CLI; returns the exit code (the server keeps running after `serve` resolves). */
export async function runCli(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === "help" || first === "--help" || first === "-h") {
    const name = first === "help" ? argv.slice(1).join(" ") : "";
    const spec = COMMANDS[name];
    console.log(spec ? helpText(spec) : TOP_HELP);
    return 0;
  }
  if (first === "--version" || first === "-v" || first === "version") {
    console.log(VERSION);
    return 0;
  }
  const group = first === "admin" || first === "images";
  const name = group ? `${first} ${second ?? ""}` : first;
  const spec = COMMANDS[name];
  if (!spec) {
    console.error(`wove: unknown command "${name.trim()}"\n\n${TOP_HELP}`);
    return 2;
  }
  const sub = name === "admin provider" ? providerAction(argv.slice(2)) : undefined;
  const rest = sub ? sub.rest : argv.slice(group ? 2 : 1);
  try {
    const flags = parseFlags(rest, spec);
    if (!flags) {
      console.log(helpText(spec));
      return 0;
    }
    const str = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);
    const config = loadConfig({ port: str("port"), host: str("host"), data: str("data") });
    switch (name) {
      case "serve":
        await serve(config);
        return -1; // keep running
      case "migrate": {
        const app = await openApp(config, { migrate: false });
        const r = await migrate(app.db);
        console.log(r.applied.length ? `applied: ${r.applied.join(", ")}` : `up to date (${r.current ?? "none"})`);
        app.close();
        return 0;
      }
      case "admin create-user": {
        const app = await openApp(config);
        const user = await createUser(
          app.db.orm,
          { email: str("email") ?? "", password: str("password"), role: str("role") === "admin" ? "admin" : "member", name: str("name"), username: str("username") },
          null,
        );
        console.log(`created ${user.role} ${user.email} (username ${user.username}, id ${user.id})`);
        app.close();
        return 0;
      }
      case "admin token": {
        const app = await openApp(config);
        const user = await findUserByEmail(app.db.orm, str("email") ?? "");
        if (!user) {
          console.error(`wove: no account with email ${str("email")}`);
          app.close();
          return 1;
        }
        const scopes = parseScopes(str("scopes") ?? (user.role === "admin" ? "read,write,admin" : "read,write"));
        const expiresAt = parseExpiry(str("expires") ?? "90d");
        const { token, row } = await createToken(app.db.orm, user, { name: str("name") ?? "cli", scopes, expiresAt }, null);
        console.log(`token ${row.id} for ${user.email}, scopes ${scopes.join(",")}, expires ${expiresAt ? new Date(expiresAt).toISOString() : "never"}`);
        console.log(token);
        app.close();
        return 0;
      }
      case "admin provider": {
        const f = providerAddFlags(sub?.action, flags);
        if (typeof f === "string") throw new UsageError(f, helpText(spec));
        return await providerAdd(config, f);
      }
      case "images build":
        return await imagesBuild(config, { force: flags.force === true });
      case "admin reindex": {
        const app = await openApp(config);
        try {
          await reindex(app, { projectId: str("project"), print: (line) => console.log(line) });
          return 0;
        } catch (e) {
          if (!(e instanceof ReindexError)) throw e;
          console.error(`wove: ${e.message}`);
          return 1;
        } finally {
          app.close();
        }
      }
      case "admin rotate-key": {
        const app = await openApp(config);
        try {
          if (flags["forget-old"] === true) {
            console.log(forgottenMessage(await forgetOldKeys({ dataDir: config.dataDir, db: app.db, current: app.secret })));
          } else {
            console.log(rotatedMessage(await rotateKey({ dataDir: config.dataDir, db: app.db }), config.dataDir));
          }
          return 0;
        } catch (e) {
          if (!(e instanceof RotateKeyError)) throw e;
          console.error(`wove: ${e.message}`);
          return 1;
        } finally {
          app.close();
        }
      }
    }
    return 2;
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      console.error(`wove: ${e.message}\n\n${e instanceof UsageError ? e.usage : helpText(spec)}`);
      return 2;
    }
    if (e instanceof ApiError) {
      const fields = e.details ? Object.entries(e.details).map(([k, v]) => `\n  --${k}: ${v}`).join("") : "";
      console.error(`wove: ${e.message}${fields}`);
      return e.status === 409 ? 1 : 2;
    }
    // drizzle wraps SQLite's reason in "Failed query: …"; the cause says what is wrong.
    const cause = (e as Error & { cause?: unknown }).cause;
    console.error(`wove: ${(e as Error).message}${cause instanceof Error ? `\n  cause: ${cause.message}` : ""}`);
    return 1;
  } finally {
    flushLogs();
  }
}
