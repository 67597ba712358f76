import { describe, expect, test } from "bun:test";
import { helpText, parseFlags, UsageError, type CommandSpec } from "./args.ts";

const spec: CommandSpec = {
  usage: "wove thing [--name N] --role R",
  summary: "Does a thing.",
  flags: {
    name: { type: "string", help: "A name" },
    role: { type: "string", help: "A role", required: true, choices: ["admin", "member"] },
    force: { type: "boolean", help: "Force it" },
  },
};

describe("parseFlags", () => {
  test("both --flag value and --flag=value", () => {
    expect(parseFlags(["--name", "ada", "--role=admin", "--force"], spec)).toEqual({ name: "ada", role: "admin", force: true });
  });

  test("--help returns undefined", () => {
    expect(parseFlags(["--role", "admin", "--help"], spec)).toBeUndefined();
  });

  test.each([
    [["--role", "admin", "--nope"], "unknown flag --nope"],
    [["--name", "x"], "--role is required"],
    [["--role", "root"], "--role must be one of admin, member"],
    [["--role"], "--role needs a value"],
    [["--role", "--name"], "--role needs a value"],
    [["--role", "admin", "stray"], 'unexpected argument "stray"'],
    [["--role", "admin", "--role", "member"], "--role given twice"],
    [["--role", "admin", "--force=yes"], "--force takes no value"],
  ])("%p is a usage error", (argv, message) => {
    expect(() => parseFlags(argv, spec)).toThrow(UsageError);
    expect(() => parseFlags(argv, spec)).toThrow(message);
  });

  test("help text lists every flag and marks required ones", () => {
    const h = helpText(spec);
    expect(h).toContain("Usage: wove thing");
    expect(h).toContain("--name N");
    expect(h).toContain("required; one of: admin, member");
    expect(h).toContain("--force");
  });
});
