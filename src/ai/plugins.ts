/**
 * The model-provider plugins: the built-ins (bundled into the binary) and third-party ones
 * dropped into a plugins folder as `<dir>/<kind>/index.ts` (or .js/.mjs) whose default export
 * is a ProviderPlugin. Load order: the built-ins, then the folders in name order; a folder that
 * fails to load, fails the shape check or repeats a kind is logged and skipped. See
 * plugins/README.md for the contract.
 *
 * A third-party plugin runs outside Wove's bundle, so it cannot import Wove's ProviderError or
 * TypeBox: its clients are wrapped here so that an Error carrying a `failure` becomes a
 * ProviderError, chunks are checked, and health() never throws; a plain JSON Schema for its
 * options is turned into TypeBox.
 */
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Kind, Type, type TSchema } from "@sinclair/typebox";
import anthropic from "../../plugins/anthropic/index.ts";
import ollama from "../../plugins/ollama/index.ts";
import openaiCompatible from "../../plugins/openai-compatible/index.ts";
import { log } from "../lib/log.ts";
import { ProviderError, type ChatChunk, type ModelInfo, type ProviderClient, type ProviderFailure, type ProviderPlugin } from "./types.ts";

export const KIND_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const ENTRY_FILES = ["index.ts", "index.js", "index.mjs"];
const FAILURES = new Set<ProviderFailure>(["unavailable", "timeout", "overloaded", "malformed", "auth", "bad_request", "not_found"]);
/** The source tree's own plugins folder (in the compiled binary this path does not exist on disk). */
const SOURCE_PLUGINS_DIR = resolve(import.meta.dir, "../../plugins");

export function builtinPlugins(): ProviderPlugin[] {
  return [ollama, openaiCompatible, anthropic];
}

let registry = new Map<string, ProviderPlugin>(builtinPlugins().map((p) => [p.kind, p]));

/** Every plugin an admin can pick, in load order: the built-ins, then those loadPlugins found. */
export function availablePlugins(): ProviderPlugin[] {
  return [...registry.values()];
}

/** The plugin for a provider row's kind: a built-in, or a third-party one once loadPlugins ran. */
export function pluginFor(kind: string): ProviderPlugin | undefined {
  return registry.get(kind);
}

/** Where third-party plugins live: WOVE_PLUGINS_DIR, else `plugins/` beside the data dir. */
export function pluginsDirFor(dataDir: string, env: Record<string, string | undefined> = process.env): string {
  return env.WOVE_PLUGINS_DIR ? resolve(env.WOVE_PLUGINS_DIR) : join(dirname(resolve(dataDir)), "plugins");
}

/**
 * The built-ins plus the third-party plugins in `dir` (default WOVE_PLUGINS_DIR; none when
 * unset or missing). Replaces what pluginFor() knows. Never throws for a bad plugin.
 */
export async function loadPlugins(dir: string | undefined = process.env.WOVE_PLUGINS_DIR): Promise<ProviderPlugin[]> {
  const loaded = new Map<string, ProviderPlugin>(builtinPlugins().map((p) => [p.kind, p]));
  for (const folder of pluginFolders(dir)) {
    const entry = ENTRY_FILES.map((f) => join(folder, f)).find((f) => existsSync(f));
    if (!entry) {
      log.warn("AI plugin skipped: no index.ts, index.js or index.mjs", { folder });
      continue;
    }
    if (writableByOthers(folder) || writableByOthers(entry)) {
      log.warn("AI plugin skipped: its folder or entry file is writable by other users (chmod o-w)", { folder });
      continue;
    }
    try {
      const mod = (await import(entry)) as { default?: unknown };
      const plugin = checkPlugin(mod.default, folder.split("/").pop() ?? "");
      if (loaded.has(plugin.kind)) {
        log.warn("AI plugin skipped: a plugin of that kind is already loaded", { folder, kind: plugin.kind });
        continue;
      }
      loaded.set(plugin.kind, wrapThirdParty(plugin));
      log.info("AI plugin loaded", { folder, kind: plugin.kind });
    } catch (e) {
      log.warn("AI plugin skipped", { folder, reason: loadError(e) });
    }
  }
  registry = loaded;
  return [...loaded.values()];
}

/** Plugin folders in name order; `_`/`.` folders are helpers, and the source tree's built-ins are already in. */
function pluginFolders(dir: string | undefined): string[] {
  if (!dir || !existsSync(dir)) return [];
  const builtinKinds = new Set(builtinPlugins().map((p) => p.kind));
  let inSourceTree = false;
  try {
    inSourceTree = realpathSync(dir) === realpathSync(SOURCE_PLUGINS_DIR);
  } catch {
    // no source tree beside us (the compiled binary)
  }
  return readdirSync(dir)
    .filter((name) => !name.startsWith("_") && !name.startsWith(".") && !(inSourceTree && builtinKinds.has(name)))
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => {
      try {
        return statSync(path).isDirectory();
      } catch {
        return false;
      }
    });
}

/** Why a module failed to load; Bun reports syntax errors as an aggregate with the details inside. */
function loadError(e: unknown): string {
  const inner = (e as { errors?: unknown } | null)?.errors;
  if (Array.isArray(inner) && inner.length > 0) {
    const first = inner[0] as { message?: unknown; position?: { file?: unknown; line?: unknown } | null };
    const where = first.position && typeof first.position.line === "number" ? ` (line ${first.position.line})` : "";
    if (typeof first.message === "string") return `${first.message}${where}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function writableByOthers(path: string): boolean {
  return (statSync(path).mode & 0o002) !== 0;
}

/** Checks a default export against ProviderPlugin; throws saying what is wrong. */
export function checkPlugin(value: unknown, folderName: string): ProviderPlugin {
  if (!value || typeof value !== "object") throw new Error("the module has no default export object");
  const p = value as Record<string, unknown>;
  if (typeof p.kind !== "string" || !KIND_RE.test(p.kind)) throw new Error("kind must be 1–40 lowercase letters, digits or dashes");
  if (p.kind !== folderName) throw new Error(`kind "${p.kind}" must match the folder name "${folderName}"`);
  if (typeof p.label !== "string" || p.label.trim() === "" || p.label.length > 100) throw new Error("label must be a non-empty string of at most 100 characters");
  if (typeof p.defaultUrl !== "string") throw new Error("defaultUrl must be a string");
  if (typeof p.needsApiKey !== "boolean") throw new Error("needsApiKey must be a boolean");
  if (typeof p.create !== "function") throw new Error("create must be a function");
  const optionsSchema = toTypeBox(p.optionsSchema ?? { type: "object", properties: {} }, "optionsSchema");
  if (optionsSchema[Kind] !== "Object") throw new Error("optionsSchema must describe an object");
  return { kind: p.kind, label: p.label, defaultUrl: p.defaultUrl, needsApiKey: p.needsApiKey, optionsSchema, create: p.create as ProviderPlugin["create"] };
}

const META_KEYS = ["title", "description", "default", "minimum", "maximum", "minLength", "maxLength", "pattern", "format", "minItems", "maxItems"];

/** A TypeBox schema as is, or a plain JSON Schema (object/string/number/integer/boolean/array/enum) turned into one. */
export function toTypeBox(schema: unknown, at: string): TSchema {
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) throw new Error(`${at} must be a schema object`);
  if (Kind in schema) return schema as TSchema;
  const s = schema as Record<string, unknown>;
  const meta = Object.fromEntries(META_KEYS.filter((k) => k in s).map((k) => [k, s[k]]));
  if (Array.isArray(s.enum)) {
    if (s.enum.length === 0 || !s.enum.every((v) => ["string", "number", "boolean"].includes(typeof v))) throw new Error(`${at}.enum must list strings, numbers or booleans`);
    return Type.Union(s.enum.map((v) => Type.Literal(v as string | number | boolean)), meta);
  }
  switch (s.type) {
    case "string":
      return Type.String(meta);
    case "number":
      return Type.Number(meta);
    case "integer":
      return Type.Integer(meta);
    case "boolean":
      return Type.Boolean(meta);
    case "array":
      return Type.Array(toTypeBox(s.items, `${at}.items`), meta);
    case "object": {
      const props = s.properties && typeof s.properties === "object" ? (s.properties as Record<string, unknown>) : {};
      const required = new Set(Array.isArray(s.required) ? s.required : []);
      const shape = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, required.has(k) ? toTypeBox(v, `${at}.${k}`) : Type.Optional(toTypeBox(v, `${at}.${k}`))]));
      return Type.Object(shape, { ...meta, ...(s.additionalProperties === false ? { additionalProperties: false } : {}) });
    }
    default:
      throw new Error(`${at}: type ${JSON.stringify(s.type)} is not supported (use object, string, number, integer, boolean, array or enum)`);
  }
}

/** A third-party failure as a ProviderError: its own `failure` when it set a known one, else `unavailable`. */
function asProviderError(kind: string, e: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (e instanceof ProviderError) return e;
  if (e instanceof Error && e.name === "AbortError") return e;
  const message = e instanceof Error ? e.message : String(e);
  const failure = (e as { failure?: unknown } | null)?.failure;
  const retryAfter = (e as { retryAfter?: unknown } | null)?.retryAfter;
  if (typeof failure === "string" && FAILURES.has(failure as ProviderFailure)) {
    return new ProviderError(failure as ProviderFailure, message, typeof retryAfter === "number" ? retryAfter : undefined);
  }
  return new ProviderError("unavailable", `The ${kind} plugin failed: ${message}`);
}

const FINISH = new Set(["stop", "length", "tool_calls", "other"]);

function checkChunk(kind: string, c: unknown): ChatChunk {
  const bad = () => new ProviderError("malformed", `The ${kind} plugin streamed a chunk that is not a ChatChunk.`);
  if (!c || typeof c !== "object") throw bad();
  const chunk = c as Record<string, unknown>;
  if (chunk.type === "token" && typeof chunk.text === "string") return { type: "token", text: chunk.text };
  if (chunk.type === "tool_call") {
    const call = chunk.call as Record<string, unknown> | undefined;
    const args = call?.arguments;
    if (typeof call?.id !== "string" || typeof call.name !== "string" || !args || typeof args !== "object" || Array.isArray(args)) throw bad();
    return { type: "tool_call", call: { id: call.id, name: call.name, arguments: args as Record<string, unknown> } };
  }
  if (chunk.type === "done") {
    const u = chunk.usage as Record<string, unknown> | undefined;
    if (typeof u?.tokensIn !== "number" || typeof u.tokensOut !== "number" || !FINISH.has(String(chunk.finishReason))) throw bad();
    return { type: "done", usage: { tokensIn: u.tokensIn, tokensOut: u.tokensOut }, finishReason: chunk.finishReason as "stop" | "length" | "tool_calls" | "other" };
  }
  throw bad();
}

function checkModels(kind: string, list: unknown): ModelInfo[] {
  if (!Array.isArray(list) || !list.every((m) => m && typeof m === "object" && typeof (m as { id?: unknown }).id === "string")) {
    throw new ProviderError("malformed", `The ${kind} plugin listed models that are not {id} objects.`);
  }
  return list as ModelInfo[];
}

/** Holds a third-party plugin to the ProviderClient contract (see the top of this file). */
function wrapThirdParty(plugin: ProviderPlugin): ProviderPlugin {
  const { kind } = plugin;
  return {
    ...plugin,
    create(config) {
      let client: ProviderClient;
      try {
        client = plugin.create(config);
      } catch (e) {
        throw asProviderError(kind, e);
      }
      if (!client || !["listModels", "chat", "embed", "health"].every((m) => typeof (client as unknown as Record<string, unknown>)[m] === "function")) {
        throw new ProviderError("bad_request", `The ${kind} plugin's create() did not return a client with listModels, chat, embed and health.`);
      }
      return {
        async listModels(signal) {
          try {
            return checkModels(kind, await client.listModels(signal));
          } catch (e) {
            throw asProviderError(kind, e, signal);
          }
        },
        async *chat(req, signal) {
          try {
            for await (const chunk of client.chat(req, signal)) yield checkChunk(kind, chunk);
          } catch (e) {
            throw asProviderError(kind, e, signal);
          }
        },
        async embed(model, texts, signal) {
          try {
            const out = await client.embed(model, texts, signal);
            if (!Array.isArray(out) || out.length !== texts.length) throw new ProviderError("malformed", `The ${kind} plugin did not return one vector per text.`);
            return out;
          } catch (e) {
            throw asProviderError(kind, e, signal);
          }
        },
        async health(signal) {
          try {
            const r = await client.health(signal);
            if (r && r.ok === true) return { ok: true, models: checkModels(kind, r.models) };
            if (r && r.ok === false && typeof r.reason === "string") return r;
            return { ok: false, reason: `The ${kind} plugin's health() gave no answer.` };
          } catch (e) {
            return { ok: false, reason: e instanceof Error ? e.message : String(e) };
          }
        },
      };
    },
  };
}
