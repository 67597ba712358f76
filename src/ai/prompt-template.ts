/**
 * Prompt templates: a body with `{{variables}}`, the variables found in it, the descriptions
 * and defaults its author gave them, and rendering with values filled in. Pure functions, no I/O.
 *
 * A placeholder is `{{name}}` (spaces inside the braces allowed) where the name is a letter or
 * `_` followed by letters, digits or `_`. Anything else between double braces — `{{#each}}`,
 * `{{item.name}}` in a prompt about templates — is ordinary text and renders as written.
 * Rendering is one pass: a value that itself contains `{{x}}` is not expanded again.
 */
import { invalid } from "../lib/errors.ts";

export type PromptVariable = { name: string; description: string; default?: string };

export const VARIABLE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const BODY_MAX_BYTES = 32 * 1024;
export const VARIABLES_MAX = 50;
export const VARIABLE_DESCRIPTION_MAX = 500;
export const VARIABLE_DEFAULT_MAX = 4000;
/** One value given when rendering; the result is capped too, so a prompt cannot be inflated without bound. */
export const VALUE_MAX = 64 * 1024;
export const RENDERED_MAX = 256 * 1024;

const PLACEHOLDER_RE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The variable names a body uses, in order of first appearance. */
export function detectVariables(body: string): string[] {
  const seen = new Set<string>();
  for (const m of body.matchAll(PLACEHOLDER_RE)) seen.add(m[1] as string);
  return [...seen];
}

/** Text as stored: Windows and old-Mac line ends become `\n`. */
export function normalizeText(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

export function checkBody(body: string): string | undefined {
  if (body.trim() === "") return "Write the prompt's text.";
  const bytes = new TextEncoder().encode(body).byteLength;
  if (bytes > BODY_MAX_BYTES) return `The prompt is ${bytes} bytes; the limit is ${BODY_MAX_BYTES} (32 KiB).`;
  if (/\u0000/.test(body)) return "The prompt must not contain NUL characters.";
  return undefined;
}

/**
 * The variables of `body`, each with the description and default the author gave (`given`),
 * else what an earlier version said about a variable of the same name (`previous`), else none.
 * Errors (keyed `variables`) for invalid or duplicate names and for described variables the
 * body does not use.
 */
export function resolveVariables(
  body: string,
  given: PromptVariable[] | undefined,
  previous: PromptVariable[] = [],
): { variables: PromptVariable[]; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const detected = detectVariables(body);
  if (detected.length > VARIABLES_MAX) errors.variables = `A prompt may have at most ${VARIABLES_MAX} variables; this one has ${detected.length}.`;
  const byName = new Map<string, PromptVariable>();
  for (const v of given ?? []) {
    if (!VARIABLE_NAME_RE.test(v.name)) {
      errors.variables ??= `"${v.name}" is not a valid variable name: use letters, digits and _, not starting with a digit.`;
      continue;
    }
    if (byName.has(v.name)) {
      errors.variables ??= `The variable "${v.name}" is described twice.`;
      continue;
    }
    if (!detected.includes(v.name)) {
      errors.variables ??= `The variable "${v.name}" is described but the prompt does not use {{${v.name}}}.`;
      continue;
    }
    const description = v.description.trim();
    if (description.length > VARIABLE_DESCRIPTION_MAX) errors[`variables.${v.name}`] = `Keep the description under ${VARIABLE_DESCRIPTION_MAX} characters.`;
    if (v.default !== undefined && v.default.length > VARIABLE_DEFAULT_MAX) {
      errors[`variables.${v.name}`] = `Keep the default under ${VARIABLE_DEFAULT_MAX} characters.`;
    }
    byName.set(v.name, { name: v.name, description, ...(v.default !== undefined ? { default: normalizeText(v.default) } : {}) });
  }
  const earlier = new Map(previous.map((v) => [v.name, v]));
  const variables = detected.map((name) => byName.get(name) ?? (given === undefined ? earlier.get(name) : undefined) ?? { name, description: "" });
  return { variables, errors };
}

/** A variable without a default must be given a non-empty value. */
export function isRequired(v: PromptVariable): boolean {
  return v.default === undefined;
}

/**
 * The body with every `{{name}}` replaced by its value: the one given, else the variable's
 * default. Missing required values and unknown names are one 422 whose details name each
 * variable (`details[name]`), so a form can show the error beside the right field.
 */
export function renderTemplate(body: string, variables: PromptVariable[], values: Record<string, string>): string {
  const details: Record<string, string> = {};
  const known = new Map(variables.map((v) => [v.name, v]));
  for (const name of Object.keys(values)) {
    if (!known.has(name)) details[name] = `This prompt has no variable "${name}".`;
    else if ((values[name] ?? "").length > VALUE_MAX) details[name] = `Keep this value under ${VALUE_MAX} characters.`;
  }
  const resolved = new Map<string, string>();
  for (const v of variables) {
    const given = values[v.name];
    if (given !== undefined && (given.trim() !== "" || !isRequired(v))) resolved.set(v.name, normalizeText(given));
    else if (v.default !== undefined) resolved.set(v.name, v.default);
    else details[v.name] = `Give a value for {{${v.name}}}${v.description ? ` (${v.description})` : ""}.`;
  }
  const problems = Object.keys(details);
  if (problems.length > 0) {
    const missing = problems.filter((n) => known.has(n) && (values[n] ?? "").trim() === "");
    const message =
      missing.length > 0 && missing.length === problems.length
        ? `Missing a value for ${missing.map((n) => `{{${n}}}`).join(", ")}.`
        : Object.values(details).join(" ");
    throw invalid(message, details);
  }
  const text = body.replace(PLACEHOLDER_RE, (whole, name: string) => resolved.get(name) ?? whole);
  if (text.length > RENDERED_MAX) throw invalid(`The filled-in prompt would be ${text.length} characters; the limit is ${RENDERED_MAX}.`);
  return text;
}
