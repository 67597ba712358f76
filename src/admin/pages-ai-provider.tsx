/**
 * Admin › AI › one provider (/admin/ai/providers/:pid): its name, URL, API key (write-only:
 * a stored key is never shown, only replaced or removed) and the plugin's own options, whose
 * fields are generated from the plugin's options schema — text, number, yes/no and choice
 * fields, and JSON for anything structured.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { actorIdOf, route, type Ctx } from "../server/guard.ts";
import { redirect } from "../server/http.ts";
import { Field, Form, Select, TextArea, type FieldErrors } from "../web/forms.tsx";
import { field, FormBody, formFailure, PostButton } from "../auth/pages-shared.tsx";
import { notFound } from "../lib/errors.ts";
import { getProvider, lastChecks, providerJson, updateProvider, type ProviderPatch, type ProviderRow } from "../ai/providers.ts";
import { pluginFor } from "../ai/plugins.ts";
import { AI_PATH, aiPage, CheckResult } from "./pages-ai-ui.tsx";

type FormCtx = Ctx<Record<string, string>, Record<string, string | undefined>>;
type AnyCtx = Ctx<unknown, unknown>;

/** One option as the form shows it. */
type OptionField = { name: string; label: string; hint?: string; kind: "text" | "number" | "boolean" | "choice" | "json"; choices?: string[] };

type JsonSchema = { type?: string; title?: string; description?: string; default?: unknown; enum?: unknown[]; anyOf?: JsonSchema[]; const?: unknown; properties?: Record<string, JsonSchema> };

/** The form fields for a plugin's options schema (its top-level properties). */
export function optionFields(schema: TSchema): OptionField[] {
  const props = (schema as JsonSchema).properties ?? {};
  return Object.entries(props).map(([name, s]) => {
    const defaultText = s.default !== undefined ? ` Default: ${JSON.stringify(s.default)}.` : "";
    const base = { name, label: s.title ?? name, hint: `${s.description ?? ""}${defaultText}`.trim() || undefined };
    const literals = s.enum ?? (s.anyOf?.every((a) => a.const !== undefined) ? s.anyOf.map((a) => a.const) : undefined);
    if (literals && literals.every((l) => typeof l === "string")) return { ...base, kind: "choice", choices: literals as string[] };
    if (s.type === "string") return { ...base, kind: "text" };
    if (s.type === "number" || s.type === "integer") return { ...base, kind: "number" };
    if (s.type === "boolean") return { ...base, kind: "boolean" };
    return { ...base, kind: "json" };
  });
}

const formName = (option: string) => `opt.${option}`;

/** The form's option fields back as an options object; unparsable JSON is a field error. */
function readOptions(fields: OptionField[], body: Record<string, string>, errors: FieldErrors): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const raw = field(body, formName(f.name)).trim();
    if (f.kind === "boolean") out[f.name] = raw === "on";
    else if (raw === "") continue;
    else if (f.kind === "number") out[f.name] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    else if (f.kind === "json") {
      try {
        out[f.name] = JSON.parse(raw);
      } catch {
        errors[formName(f.name)] = "This must be JSON, e.g. {\"key\": \"value\"}.";
      }
    } else out[f.name] = raw;
  }
  return out;
}

function optionText(f: OptionField, value: unknown): string {
  if (value === undefined || value === null) return "";
  return f.kind === "json" ? JSON.stringify(value, null, 2) : String(value);
}

function OptionInput(p: { f: OptionField; value: unknown; error?: string }): Html {
  const { f } = p;
  const name = formName(f.name);
  if (f.kind === "boolean") {
    return (
      <div class={p.error ? "field has-error" : "field"}>
        <label class="choice">
          <input type="checkbox" name={name} value="on" checked={p.value === true} />
          <span>
            <strong>{f.label}</strong>
            {f.hint ? <span class="small muted">{f.hint}</span> : null}
          </span>
        </label>
        {p.error ? <p class="field-error" role="alert">{p.error}</p> : null}
      </div>
    );
  }
  if (f.kind === "choice") {
    const options: [string, string][] = [["", "(default)"], ...(f.choices ?? []).map((c): [string, string] => [c, c])];
    return <Select label={f.label} name={name} options={options} value={optionText(f, p.value)} error={p.error} />;
  }
  if (f.kind === "json") return <TextArea label={`${f.label} (JSON)`} name={name} value={optionText(f, p.value)} rows={4} error={p.error} />;
  return <Field label={f.label} name={name} type={f.kind === "number" ? "number" : "text"} value={optionText(f, p.value)} autocomplete="off" hint={f.hint} error={p.error} />;
}

type EditValues = { name: string; url: string; options: Record<string, unknown> };
type EditView = { values?: EditValues; errors?: FieldErrors; status?: number; error?: string };

/** The row's values for the form; options with the plugin's defaults filled in, so a default-on switch shows on. */
function valuesOf(row: ProviderRow, plugin: ReturnType<typeof pluginFor>): EditValues {
  const j = providerJson(row);
  const options = plugin ? (Value.Default(plugin.optionsSchema, structuredClone(j.options)) as Record<string, unknown>) : j.options;
  return { name: j.name, url: j.url, options };
}

async function editPage(ctx: AnyCtx, row: ProviderRow, v: EditView = {}): Promise<Response> {
  const plugin = pluginFor(row.kind);
  const values = v.values ?? valuesOf(row, plugin);
  const errors = v.errors ?? {};
  const fields = plugin ? optionFields(plugin.optionsSchema) : [];
  const check = (await lastChecks(ctx.app)).get(row.id);
  const base = `${AI_PATH}/providers/${encodeURIComponent(row.id)}`;
  const hasKey = row.apiKeySealed !== null;
  const csrf = ctx.csrf();
  return aiPage(ctx, {
    title: row.name,
    section: "providers",
    status: v.status,
    error: v.error ?? (plugin ? undefined : `No plugin of the kind "${row.kind}" is loaded, so this provider cannot be used or its options checked.`),
    children: (
      <>
        <p>
          <a href={AI_PATH}>← All providers</a>
        </p>
        <section class="card stack" aria-labelledby="provider-title">
          <h2 id="provider-title">
            {row.name} <span class="badge">{row.kind}</span>
          </h2>
          <p class="small muted">
            {plugin ? `${plugin.label}. ` : ""}Id <span class="mono">{row.id}</span> (fixed: policies and usage refer to it).{" "}
            {row.enabled ? "Enabled." : "Disabled: the assistant skips it."}
          </p>
          <CheckResult check={check} open />
          <Form action={base} csrf={csrf}>
            <Field label="Name" name="name" value={values.name} required autocomplete="off" error={errors.name} />
            <Field label="Server URL" name="url" type="url" value={values.url} required autocomplete="off" hint={plugin ? `Default for ${plugin.label}: ${plugin.defaultUrl}` : undefined} error={errors.url} />
            <Field
              label={hasKey ? "New API key" : "API key"}
              name="apiKey"
              type="password"
              autocomplete="off"
              hint={hasKey ? "A key is stored (sealed; it is never shown). Leave empty to keep it." : plugin?.needsApiKey ? `${plugin.label} needs one.` : "Only if the server asks for one."}
              error={errors.apiKey}
            />
            {hasKey && !plugin?.needsApiKey ? (
              <label class="choice">
                <input type="checkbox" name="clearKey" value="on" />
                <span>
                  <strong>Remove the stored API key</strong>
                </span>
              </label>
            ) : null}
            {fields.length > 0 ? (
              <fieldset class="stack">
                <legend>Options</legend>
                {fields.map((f) => (
                  <OptionInput f={f} value={values.options[f.name]} error={errors[formName(f.name)]} />
                ))}
              </fieldset>
            ) : null}
            {errors.options ? <p class="field-error" role="alert">{errors.options}</p> : null}
            <div class="form-actions">
              <button type="submit" class="primary">
                Save
              </button>
              <a href={AI_PATH}>Cancel</a>
            </div>
          </Form>
        </section>
        <section class="card stack danger-zone" aria-labelledby="provider-remove-title">
          <h2 id="provider-remove-title">Remove</h2>
          <p class="muted">Its prices and its places in the routing policies are removed with it. Past usage records keep its id.</p>
          <div>
            <PostButton action={`${base}/remove`} csrf={csrf} label={`Remove ${row.id}`} class="danger" confirm={`Remove the provider ${row.id}?`} />
          </div>
        </section>
      </>
    ),
  });
}

async function load(ctx: AnyCtx): Promise<ProviderRow> {
  const row = await getProvider(ctx.app, ctx.params.pid ?? "");
  if (!row) throw notFound("Provider");
  return row;
}

async function save(ctx: FormCtx): Promise<Response> {
  const row = await load(ctx);
  const plugin = pluginFor(row.kind);
  const errors: FieldErrors = {};
  const fields = plugin ? optionFields(plugin.optionsSchema) : [];
  const options = readOptions(fields, ctx.body, errors);
  const values = { name: field(ctx.body, "name").trim(), url: field(ctx.body, "url").trim(), options };
  const key = field(ctx.body, "apiKey").trim();
  const patch: ProviderPatch = { name: values.name, url: values.url, ...(plugin ? { options } : {}) };
  if (key !== "") patch.apiKey = key;
  else if (field(ctx.body, "clearKey") === "on") patch.apiKey = null;
  if (Object.keys(errors).length > 0) return editPage(ctx, row, { values, errors, status: 422 });
  try {
    await updateProvider(ctx.app, row.id, patch, actorIdOf(ctx));
  } catch (e) {
    const f = formFailure(e);
    // The service names option errors options.<field>; the form's fields are opt.<field>.
    const mapped: FieldErrors = {};
    for (const [k, msg] of Object.entries(f.errors)) mapped[k.startsWith("options.") ? formName(k.slice("options.".length)) : k] = msg;
    const unplaced = Object.keys(mapped).length === 0 ? f.message : undefined;
    return editPage(ctx, row, { values, errors: mapped, status: f.status, error: unplaced });
  }
  return redirect(`${AI_PATH}?done=saved&id=${encodeURIComponent(row.id)}#provider-${row.id}`);
}

export const providerPageRoutes = [
  route({
    method: "GET",
    path: `${AI_PATH}/providers/:pid`,
    permission: "admin",
    kind: "page",
    summary: "Admin › AI: one provider's settings — name, URL, API key (write-only) and the plugin's options.",
    tags: ["pages"],
    handler: async (ctx) => editPage(ctx, await load(ctx)),
  }),
  route({
    method: "POST",
    path: `${AI_PATH}/providers/:pid`,
    permission: "admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Save a provider's name, URL, API key (set or remove) and options; errors are shown beside the fields.",
    tags: ["pages"],
    handler: save,
  }),
];

