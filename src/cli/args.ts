/** A small strict flag parser: unknown flags and bad values are usage errors (exit 2). */

export type FlagSpec = {
  type: "string" | "boolean";
  help: string;
  required?: boolean;
  choices?: string[];
  placeholder?: string;
};

export type CommandSpec = { usage: string; summary: string; flags: Record<string, FlagSpec> };

export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage}`, "", spec.summary, ""];
  const names = Object.keys(spec.flags);
  if (names.length > 0) lines.push("Options:");
  for (const n of names) {
    const f = spec.flags[n];
    if (!f) continue;
    const left = f.type === "boolean" ? `--${n}` : `--${n} ${f.placeholder ?? n.toUpperCase()}`;
    const extra = [f.required ? "required" : "", f.choices ? `one of: ${f.choices.join(", ")}` : ""].filter(Boolean).join("; ");
    lines.push(`  ${left.padEnd(28)} ${f.help}${extra ? ` (${extra})` : ""}`);
  }
  lines.push(`  ${"--help".padEnd(28)} Show this help`);
  return lines.join("\n");
}

/** Parses `--name value`, `--name=value` and boolean `--flag`. Returns undefined for `--help`. */
export function parseFlags(argv: string[], spec: CommandSpec): Record<string, string | boolean> | undefined {
  const out: Record<string, string | boolean> = {};
  const usage = helpText(spec);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--help" || arg === "-h") return undefined;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`, usage);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const f = spec.flags[name];
    if (!f) throw new UsageError(`unknown flag --${name}`, usage);
    if (name in out) throw new UsageError(`--${name} given twice`, usage);
    if (f.type === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`, usage);
      out[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new UsageError(`--${name} needs a value`, usage);
    if (f.choices && !f.choices.includes(value)) {
      throw new UsageError(`--${name} must be one of ${f.choices.join(", ")}, got "${value}"`, usage);
    }
    out[name] = value;
  }
  for (const [name, f] of Object.entries(spec.flags)) {
    if (f.required && !(name in out)) throw new UsageError(`--${name} is required`, usage);
  }
  return out;
}
