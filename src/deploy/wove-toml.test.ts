import { describe, expect, test } from "bun:test";
import { describeArgv, parseWoveToml, WoveTomlError } from "./wove-toml.ts";

describe("wove.toml", () => {
  test("every setting, with comments, both string kinds, escapes and a multi-line list", () => {
    const text = [
      "# deploy settings",
      "",
      "[deploy]   # the only table",
      'kind = "bun"',
      "install = [",
      '  "bun", # the tool',
      '  "install",',
      "]",
      "build = 'bun run build && echo \"done\"'",
      'start = ["bun", "server.ts", "--name=\\"x\\"\\t\\u00e9"]',
      'output = "./dist/"',
      "port = 8_080",
      'health_path = "/health?deep=1"',
      'health_timeout = "2m"',
    ].join("\r\n");
    expect(parseWoveToml(text)).toEqual({
      kind: "bun",
      install: ["bun", "install"],
      build: ["sh", "-c", 'bun run build && echo "done"'],
      start: ["bun", "server.ts", '--name="x"\té'],
      output: "dist",
      port: 8080,
      healthPath: "/health?deep=1",
      healthTimeoutMs: 120_000,
    });
  });

  test("an empty file, only comments, or an empty [deploy] table mean no settings", () => {
    expect(parseWoveToml("")).toEqual({});
    expect(parseWoveToml("# nothing yet\n\n")).toEqual({});
    expect(parseWoveToml("\uFEFF[deploy]\n")).toEqual({});
  });

  test("[] and an empty string turn a step off", () => {
    expect(parseWoveToml('[deploy]\ninstall = []\nbuild = ""\n')).toEqual({ install: null, build: null });
  });

  const bad: [name: string, text: string, message: string][] = [
    ["a port out of range", '[deploy]\nkind = "bun"\nport = 70000', "wove.toml line 3: port must be a number from 1 to 65535"],
    ["a port as a string", '[deploy]\nport = "3000"', "wove.toml line 2: port must be a number from 1 to 65535"],
    ["an unknown key", "[deploy]\n\nentry = 'x'", 'wove.toml line 3: unknown setting "entry"; wove.toml knows kind, install, build, start, output, port, health_path, health_timeout'],
    ["an unknown table", "[build]\n", "wove.toml line 1: unknown table [build]; wove.toml has only a [deploy] table"],
    ["a key before [deploy]", "port = 3000\n[deploy]", "wove.toml line 1: settings go under a [deploy] header; add [deploy] above port"],
    ["a repeated key", "[deploy]\nport = 1\nport = 2", "wove.toml line 3: port is set twice (first on line 2)"],
    ["[deploy] twice", "[deploy]\n[deploy]", "wove.toml line 2: [deploy] appears twice (first on line 1)"],
    ["an unknown kind", '[deploy]\nkind = "python"', 'wove.toml line 2: kind must be "static", "bun" or "dockerfile", not "python"'],
    ["an unclosed string", '[deploy]\nbuild = "bun run', "wove.toml line 2: this string has no closing quote"],
    ["an unclosed list", '[deploy]\nstart = [\n  "bun",\n', "wove.toml line 2: the list for start has no closing ]"],
    ["a number in a list", "[deploy]\nstart = [1]", 'wove.toml line 2: the list for start may hold only "quoted strings"'],
    ["a missing comma", '[deploy]\nstart = ["a" "b"]', "wove.toml line 2: put a comma between the items of start"],
    ["a bad escape", '[deploy]\nbuild = "a\\qb"', "wove.toml line 2: unknown escape \\q in a string (use \\\\ for a backslash)"],
    ["a boolean", "[deploy]\nport = true", "wove.toml line 2: port cannot be true or false"],
    ["a missing value", "[deploy]\nport =", "wove.toml line 2: port has no value"],
    ["text after a value", "[deploy]\nport = 3000 3001", "wove.toml line 2: unexpected text after the value of port; put one setting on each line"],
    ["a dotted key", "[deploy]\nhealth.path = '/'", "wove.toml line 2: dotted keys like health.… are not supported in wove.toml"],
    ["a missing =", "[deploy]\nport 3000", "wove.toml line 2: expected = after port"],
    ["an output outside the project", '[deploy]\noutput = "../x"', "wove.toml line 2: output must stay inside the project (no ..)"],
    ["an absolute output", '[deploy]\noutput = "/srv"', "wove.toml line 2: output must be a folder inside the project, like dist"],
    ["a health path without /", '[deploy]\nhealth_path = "health"', 'wove.toml line 2: health_path must be a path starting with /, like "/health", without spaces (at most 200 characters)'],
    ["a health timeout without unit", "[deploy]\nhealth_timeout = 30", 'wove.toml line 2: health_timeout must be a duration from 1s to 10m, like "30s" or "2m"'],
    ["a health timeout too long", '[deploy]\nhealth_timeout = "11m"', 'wove.toml line 2: health_timeout must be a duration from 1s to 10m, like "30s" or "2m"'],
    ["a command as a number", "[deploy]\nstart = 5", 'wove.toml line 2: start must be a command: a "string" (run with sh -c) or a ["list", "of", "arguments"]'],
    ["a multi-line string", '[deploy]\nbuild = """x"""', 'wove.toml line 2: multi-line strings ("""…""") are not supported in wove.toml; use a list for long commands'],
    ["a control character in a string", '[deploy]\nbuild = "a\u0001b"', "wove.toml line 2: strings must not contain control characters; write \\t or \\n instead"],
  ];
  test.each(bad)("%s is an error naming the line", (_name, text, message) => {
    let caught: unknown;
    try {
      parseWoveToml(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(WoveTomlError);
    expect((caught as Error).message).toBe(message);
  });

  test("describeArgv shows a list as words and sh -c as its script", () => {
    expect(describeArgv(["bun", "run", "start"])).toBe("bun run start");
    expect(describeArgv(["bun", "my file.ts"])).toBe('bun "my file.ts"');
    expect(describeArgv(["sh", "-c", "bun run build && cp -r static dist"])).toBe("bun run build && cp -r static dist");
  });
});
