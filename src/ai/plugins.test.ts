import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Kind } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { flushLogs, setLogSink } from "../lib/log.ts";
import { availablePlugins, builtinPlugins, checkPlugin, loadPlugins, pluginFor, pluginsDirFor, toTypeBox } from "./plugins.ts";
import { ProviderError, type ChatChunk } from "./types.ts";

/** A third-party plugin as its author would write it: no imports from Wove, a plain JSON Schema. */
function pluginSource(kind: string, body = ""): string {
  return `
const failing = new Error("the echo server is busy");
failing.failure = "overloaded";
failing.retryAfter = 3;
export default {
  kind: ${JSON.stringify(kind)},
  label: "Echo (${kind})",
  defaultUrl: "http://127.0.0.1:9",
  needsApiKey: false,
  optionsSchema: { type: "object", properties: { greeting: { type: "string", maxLength: 20 }, mode: { enum: ["fast", "slow"] } }, required: ["greeting"] },
  create(config) {
    return {
      async listModels() { return [{ id: "echo-1" }]; },
      async *chat(req) {
        if (config.options.mode === "slow") throw failing;
        if (config.options.mode === "bad") { yield { type: "token", text: 1 }; return; }
        if (config.options.mode === "bug") throw new TypeError("x is undefined");
        yield { type: "token", text: config.options.greeting + " " + req.messages.at(-1).content };
        yield { type: "done", usage: { tokensIn: 1, tokensOut: 2 }, finishReason: "stop" };
      },
      async embed(model, texts) { return texts.map(() => [1, 0]); },
      async health() { throw new Error("health exploded"); },
    };
  },
};
${body}`;
}

describe("built-in plugins", () => {
  test("are ollama, openai-compatible and anthropic, each with a TypeBox object schema", () => {
    expect(builtinPlugins().map((p) => p.kind)).toEqual(["ollama", "openai-compatible", "anthropic"]);
    for (const p of builtinPlugins()) {
      expect(pluginFor(p.kind)).toBeDefined();
      expect(p.optionsSchema[Kind]).toBe("Object");
      expect(Value.Check(p.optionsSchema, {})).toBe(true);
      expect(Value.Check(p.optionsSchema, { surprise: 1 })).toBe(false);
      expect(p.label.length).toBeGreaterThan(0);
    }
    expect(pluginFor("anthropic")?.needsApiKey).toBe(true);
    expect(pluginFor("nope")).toBeUndefined();
  });

  test("pass the same shape check third-party plugins get", () => {
    for (const p of builtinPlugins()) expect(checkPlugin(p, p.kind).kind).toBe(p.kind);
  });
});

describe("pluginsDirFor", () => {
  test("is WOVE_PLUGINS_DIR, else plugins/ beside the data dir", () => {
    expect(pluginsDirFor("/srv/wove/data", {})).toBe("/srv/wove/plugins");
    expect(pluginsDirFor("/srv/wove/data", { WOVE_PLUGINS_DIR: "/opt/wove-plugins" })).toBe("/opt/wove-plugins");
  });
});

describe("toTypeBox", () => {
  test("turns a plain JSON Schema into TypeBox that validates the same", () => {
    const schema = toTypeBox({ type: "object", properties: { n: { type: "integer", minimum: 1 }, tags: { type: "array", items: { type: "string" } }, on: { type: "boolean" } }, required: ["n"], additionalProperties: false }, "s");
    expect(Value.Check(schema, { n: 2, tags: ["a"], on: true })).toBe(true);
    expect(Value.Check(schema, { n: 0 })).toBe(false);
    expect(Value.Check(schema, {})).toBe(false);
    expect(Value.Check(schema, { n: 1, extra: 1 })).toBe(false);
  });

  test("refuses what it cannot express", () => {
    expect(() => toTypeBox({ type: "null" }, "s")).toThrow("not supported");
    expect(() => toTypeBox({ enum: [] }, "s")).toThrow("enum");
  });
});

describe("loadPlugins", () => {
  let dir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wove-plugins-"));
    const put = (folder: string, file: string, text: string) => {
      mkdirSync(join(dir, folder), { recursive: true });
      writeFileSync(join(dir, folder, file), text);
    };
    put("zeta", "index.ts", pluginSource("zeta"));
    put("alpha", "index.js", pluginSource("alpha"));
    put("broken", "index.ts", "export default {{ not javascript");
    put("ollama", "index.ts", pluginSource("ollama"));
    put("mismatch", "index.ts", pluginSource("other-name"));
    put("shapeless", "index.ts", "export default { kind: 'shapeless', label: 'x' };");
    put("_helpers", "index.ts", "throw new Error('helpers must not be loaded');");
    put("open", "index.ts", pluginSource("open"));
    chmodSync(join(dir, "open"), 0o777);
    mkdirSync(join(dir, "empty"));
    writeFileSync(join(dir, "README.txt"), "not a plugin");
    setLogSink((text) => logs.push(text));
    await loadPlugins(dir);
    flushLogs();
  });
  afterAll(async () => {
    setLogSink((text) => process.stdout.write(text));
    await loadPlugins(undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test("loads the built-ins first, then good folders in name order", () => {
    expect(availablePlugins().map((p) => p.kind)).toEqual(["ollama", "openai-compatible", "anthropic", "alpha", "zeta"]);
    expect(pluginFor("zeta")?.label).toBe("Echo (zeta)");
  });

  test("logs and skips broken, mismatched, shapeless, duplicate, world-writable and empty folders", () => {
    const lines = logs.join("").trim().split("\n").map((l) => JSON.parse(l) as { msg: string; folder?: string; reason?: string });
    const skipped = lines.filter((l) => l.msg.startsWith("AI plugin skipped")).map((l) => l.folder?.split("/").pop()).sort();
    expect(skipped).toEqual(["broken", "empty", "mismatch", "ollama", "open", "shapeless"]);
    expect(lines.find((l) => l.folder?.endsWith("mismatch"))?.reason).toContain('must match the folder name "mismatch"');
    expect(lines.find((l) => l.folder?.endsWith("ollama"))?.msg).toContain("already loaded");
    expect(lines.some((l) => l.folder?.endsWith("_helpers"))).toBe(false);
    // The built-in ollama is still the bundled one.
    expect(pluginFor("ollama")?.label).toBe("Ollama");
  });

  test("a plain JSON options schema becomes TypeBox", () => {
    const schema = pluginFor("zeta")?.optionsSchema;
    expect(schema?.[Kind]).toBe("Object");
    expect(Value.Check(schema!, { greeting: "hi", mode: "fast" })).toBe(true);
    expect(Value.Check(schema!, { mode: "fast" })).toBe(false);
  });

  const config = (options: Record<string, unknown>) => ({ url: "http://127.0.0.1:9", options, timeoutMs: 1000, fetch });
  const run = async (options: Record<string, unknown>) => {
    const chunks: ChatChunk[] = [];
    try {
      for await (const c of pluginFor("zeta")!.create(config(options)).chat({ model: "echo-1", messages: [{ role: "user", content: "there" }] }, new AbortController().signal)) chunks.push(c);
      return { chunks };
    } catch (error) {
      return { chunks, error };
    }
  };

  test("a third-party client streams through the wrapper", async () => {
    const r = await run({ greeting: "hello" });
    expect(r.chunks).toEqual([{ type: "token", text: "hello there" }, { type: "done", usage: { tokensIn: 1, tokensOut: 2 }, finishReason: "stop" }]);
  });

  test("its errors become ProviderErrors: its own failure kind, else unavailable", async () => {
    const slow = await run({ greeting: "x", mode: "slow" });
    expect(slow.error).toBeInstanceOf(ProviderError);
    expect((slow.error as ProviderError).failure).toBe("overloaded");
    expect((slow.error as ProviderError).retryAfter).toBe(3);
    const bug = await run({ greeting: "x", mode: "bug" });
    expect((bug.error as ProviderError).failure).toBe("unavailable");
    expect((bug.error as Error).message).toContain("x is undefined");
  });

  test("a chunk that is not a ChatChunk is malformed", async () => {
    const r = await run({ greeting: "x", mode: "bad" });
    expect((r.error as ProviderError).failure).toBe("malformed");
  });

  test("its health never throws", async () => {
    expect(await pluginFor("zeta")!.create(config({ greeting: "x" })).health()).toEqual({ ok: false, reason: "health exploded" });
  });

  test("the source tree's own plugins folder adds nothing and warns about nothing", async () => {
    const before = logs.length;
    const all = await loadPlugins(resolve(import.meta.dir, "../../plugins"));
    flushLogs();
    expect(all.map((p) => p.kind)).toEqual(["ollama", "openai-compatible", "anthropic"]);
    expect(logs.slice(before).join("")).not.toContain("skipped");
  });

  test("no folder, or one that does not exist, means the built-ins only", async () => {
    expect((await loadPlugins(undefined)).length).toBe(3);
    expect((await loadPlugins(join(dir, "missing"))).length).toBe(3);
  });
});
