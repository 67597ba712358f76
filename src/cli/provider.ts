/**
 * `wove admin provider add --data DIR --id ID --kind KIND --url URL [--api-key KEY] [--name NAME]`:
 * adds a model provider from the command line — the same checks as the admin page (the URL's
 * SSRF check, the plugin's kind, a sealed key), last in the fallback order. Works while the
 * server runs: the server reads providers from the database on each request.
 */
import type { Config } from "../config.ts";
import { openApp } from "../core/app.ts";
import { ApiError } from "../lib/errors.ts";
import { addProvider } from "../ai/providers.ts";
import { loadPlugins, pluginsDirFor } from "../ai/plugins.ts";
import type { CommandSpec } from "./args.ts";

export const PROVIDER_COMMANDS: Record<string, CommandSpec> = {
  "admin provider": {
    usage: "wove admin provider add --data DIR --id ID --kind ollama|openai-compatible|anthropic --url URL [--api-key KEY] [--name NAME]",
    summary:
      "Add a model provider for the AI assistant, last in the fallback order (the admin page lists, checks, reorders and removes them). " +
      "The API key is stored sealed with the instance key. Kinds from third-party plugins in plugins/ are accepted too. Works while the server runs.",
    flags: {
      data: { type: "string", help: "Data directory (env WOVE_DATA_DIR; default ./data)", placeholder: "DIR", required: true },
      id: { type: "string", help: "The provider's id: 2–40 lowercase letters, digits or dashes", required: true },
      kind: { type: "string", help: "The plugin kind: ollama, openai-compatible, anthropic, or a third-party plugin's", required: true },
      url: { type: "string", help: "The server's base URL, e.g. http://127.0.0.1:11434", required: true },
      "api-key": { type: "string", help: "The API key, when the server needs one", placeholder: "KEY" },
      name: { type: "string", help: "A display name (default: the id)" },
    },
  },
};

export type ProviderAddFlags = { id: string; kind: string; url: string; apiKey?: string; name?: string };

export type ProviderCliIo = { print?: (line: string) => void; printError?: (line: string) => void };

/** Splits what follows `wove admin provider` into the action word (`add`) and the flags. */
export function providerAction(afterCommand: string[]): { action: string | undefined; rest: string[] } {
  const first = afterCommand[0];
  if (first === undefined || first.startsWith("-")) return { action: undefined, rest: afterCommand };
  return { action: first, rest: afterCommand.slice(1) };
}

/** The flags as the command parsed them, or the usage problem (the caller prints usage and exits 2). */
export function providerAddFlags(action: string | undefined, flags: Record<string, string | boolean>): ProviderAddFlags | string {
  if (action !== "add") return action === undefined ? "missing the action: wove admin provider add …" : `unknown action "${action}"; the only one is add`;
  const str = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);
  return { id: str("id") ?? "", kind: str("kind") ?? "", url: str("url") ?? "", apiKey: str("api-key"), name: str("name") };
}

/**
 * Adds the provider; returns the exit code: 0 added, 1 the id is taken, 2 invalid input (each
 * field's problem printed as `--flag: …`).
 */
export async function providerAdd(config: Config, f: ProviderAddFlags, io: ProviderCliIo = {}): Promise<number> {
  const print = io.print ?? ((line: string) => console.log(line));
  const printError = io.printError ?? ((line: string) => console.error(line));
  const app = await openApp(config);
  try {
    await loadPlugins(pluginsDirFor(config.dataDir));
    const row = await addProvider(app, { id: f.id, kind: f.kind, url: f.url, apiKey: f.apiKey, name: f.name }, null);
    print(`added provider ${row.id} (${row.kind}) at ${row.url}, position ${row.position}${row.apiKeySealed !== null ? ", API key stored sealed" : ""}`);
    print("Check its connection under Admin › AI (it lists the models), or: POST /api/v1/admin/providers/" + row.id + "/check");
    return 0;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const flagOf: Record<string, string> = { apiKey: "api-key" };
    const fields = e.details ? Object.entries(e.details).map(([k, v]) => `\n  --${flagOf[k] ?? k}: ${v}`).join("") : "";
    printError(`wove: ${e.message}${fields}`);
    return e.status === 409 ? 1 : 2;
  } finally {
    app.close();
  }
}
