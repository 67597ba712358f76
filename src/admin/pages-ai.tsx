/**
 * Admin › AI › Providers (/admin/ai): the model servers the assistant may use, in fallback
 * order — add one, check its connection (which lists its models), enable or disable it, move
 * it up or down, remove it. A provider's own page (pages-ai-provider.tsx) edits its URL, key
 * and options. Routing, prices and quotas are the other sub-sections. The logic is in
 * src/ai/providers.ts; every action is a real form (303 after success) that htmx may enhance.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { actorIdOf, route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { Field, Form, Select, type FieldErrors } from "../web/forms.tsx";
import { field, FormBody, formFailure, PostButton } from "../auth/pages-shared.tsx";
import { ApiError } from "../lib/errors.ts";
import { addProvider, checkProvider, lastChecks, listProviders, moveProvider, removeProvider, updateProvider, type LastCheck, type ProviderRow } from "../ai/providers.ts";
import { availablePlugins } from "../ai/plugins.ts";
import type { ProviderPlugin } from "../ai/types.ts";
import { AI_PATH, aiPage, CheckResult, shown } from "./pages-ai-ui.tsx";
import { providerPageRoutes } from "./pages-ai-provider.tsx";
import { routingPageRoutes } from "./pages-ai-routing.tsx";
import { quotaPageRoutes } from "./pages-ai-quotas.tsx";

type AnyCtx = Ctx<unknown, unknown>;
type FormCtx = Ctx<Record<string, string>, Record<string, string | undefined>>;

const providerPath = (id: string) => `${AI_PATH}/providers/${encodeURIComponent(id)}`;

type AddValues = { id: string; kind: string; url: string; name: string };

const NOTICES: Record<string, (id: string) => string> = {
  added: (id) => `Added ${id}. Check its connection to see its models.`,
  enabled: (id) => `${id} is enabled: the assistant may use it.`,
  disabled: (id) => `${id} is disabled: the assistant skips it.`,
  moved: (id) => `Moved ${id}.`,
  removed: (id) => `Removed ${id}, its prices and its places in the routing policies.`,
  checked: (id) => `Checked ${id}.`,
  saved: (id) => `Saved ${id}.`,
};

/** The plugins an admin can pick: the built-ins (as pluginFor() currently resolves them, so a reload is seen). */
/** Every loaded plugin kind, third-party ones included. */
function loadedKinds(): ProviderPlugin[] {
  return availablePlugins();
}

export function kindChoices(): [string, string][] {
  return loadedKinds().map((p) => [p.kind, p.label]);
}

function ProviderItem(p: { row: ProviderRow; check: LastCheck | undefined; csrf: string; first: boolean; last: boolean; expanded: boolean }): Html {
  const r = p.row;
  const base = providerPath(r.id);
  return (
    <li id={`provider-${r.id}`}>
      <div class="stack tight">
        <div class="row">
          <strong>
            <a href={base}>{r.name}</a>
          </strong>
          <span class="badge">{r.kind}</span>
          {r.enabled ? <span class="badge public">enabled</span> : <span class="badge off">disabled</span>}
          {r.apiKeySealed !== null ? <span class="badge">key stored</span> : null}
        </div>
        <span class="small muted">
          <span class="mono">{r.id}</span> · <span class="mono">{r.url}</span>
        </span>
        <div id={`check-${r.id}`} aria-live="polite">
          <CheckResult check={p.check} open={p.expanded} />
        </div>
      </div>
      <div class="row member-actions">
        <form method="post" action={`${base}/check`} class="inline" hx-post={`${base}/check`} hx-target={`#check-${r.id}`} hx-swap="innerHTML" hx-disabled-elt="find button">
          <input type="hidden" name="_csrf" value={p.csrf} />
          <button type="submit" class="small" aria-label={`Check the connection of ${r.name}`}>
            Check connection
          </button>
        </form>
        <PostButton action={`${base}/${r.enabled ? "disable" : "enable"}`} csrf={p.csrf} label={r.enabled ? "Disable" : "Enable"} class="small" ariaLabel={`${r.enabled ? "Disable" : "Enable"} ${r.name}`} />
        {!p.first ? <PostButton action={`${base}/move-up`} csrf={p.csrf} label="Up" class="small" ariaLabel={`Move ${r.name} up (tried earlier)`} /> : null}
        {!p.last ? <PostButton action={`${base}/move-down`} csrf={p.csrf} label="Down" class="small" ariaLabel={`Move ${r.name} down (tried later)`} /> : null}
        <a class="btn small" href={base} aria-label={`Edit ${r.name}: URL, API key, options`}>
          Edit
        </a>
        <PostButton
          action={`${base}/remove`}
          csrf={p.csrf}
          label="Remove"
          class="small danger"
          ariaLabel={`Remove ${r.name}`}
          confirm={`Remove the provider ${r.id}? Its prices and its places in routing policies go with it.`}
        />
      </div>
    </li>
  );
}

function AddForm(p: { csrf: string; values: AddValues; errors: FieldErrors }): Html {
  const plugins = loadedKinds();
  const urls = plugins.map((pl) => `${pl.label}: ${pl.defaultUrl}`).join("; ");
  const keyed = plugins.filter((pl) => pl.needsApiKey).map((pl) => pl.label);
  return (
    <section class="card stack" aria-labelledby="add-provider-title">
      <h2 id="add-provider-title">Add a provider</h2>
      <Form action={`${AI_PATH}/providers`} csrf={p.csrf}>
        <Field
          label="Id"
          name="id"
          value={p.values.id}
          required
          autocomplete="off"
          placeholder="local-ollama"
          hint="2–40 lowercase letters, digits or dashes. Routing policies name models as id:model."
          error={p.errors.id}
        />
        <Select label="Kind" name="kind" options={kindChoices()} value={p.values.kind} error={p.errors.kind} />
        <Field label="Server URL" name="url" type="url" value={p.values.url} required autocomplete="off" placeholder="http://127.0.0.1:11434" hint={`The server's base URL. Defaults — ${urls}. Loopback and LAN addresses are fine; link-local and cloud-metadata addresses are refused.`} error={p.errors.url} />
        <Field label="Name" name="name" value={p.values.name} autocomplete="off" hint="Shown in the admin pages and usage (default: the id)." error={p.errors.name} />
        <Field
          label="API key"
          name="apiKey"
          type="password"
          autocomplete="off"
          hint={`Stored sealed with the instance key and never shown again.${keyed.length ? ` Required for ${keyed.join(", ")}.` : ""} Local servers usually need none.`}
          error={p.errors.apiKey}
        />
        {p.errors.options ? <p class="field-error" role="alert">{p.errors.options}</p> : null}
        <div class="form-actions">
          <button type="submit" class="primary">
            Add provider
          </button>
        </div>
      </Form>
    </section>
  );
}

type ListView = { values?: AddValues; errors?: FieldErrors; status?: number; error?: string };

async function providersPage(ctx: AnyCtx, v: ListView = {}): Promise<Response> {
  const [rows, checks] = await Promise.all([listProviders(ctx.app), lastChecks(ctx.app)]);
  const q = ctx.query as Record<string, string | undefined>;
  const id = shown(q.id);
  const noticeFor = q.done ? NOTICES[q.done] : undefined;
  const csrf = ctx.csrf();
  const firstKind = kindChoices()[0]?.[0] ?? "";
  return aiPage(ctx, {
    title: "Providers",
    section: "providers",
    status: v.status,
    notice: id && noticeFor ? noticeFor(id) : undefined,
    error: v.error,
    children: (
      <>
        <section class="card stack" aria-labelledby="providers-title">
          <h2 id="providers-title">Providers</h2>
          <p class="muted">
            The assistant only talks to servers listed here; with none, nothing leaves this machine. Without a routing policy, enabled providers are tried
            top to bottom, each with its first listed model, and the next one takes over when one fails.
          </p>
          {rows.length === 0 ? (
            <p class="empty">No provider yet. Add a local Ollama below (ollama serve, then ollama pull a small coder model) to turn the assistant on.</p>
          ) : (
            <ul class="entity-list" aria-label="Providers, in fallback order">
              {rows.map((r, i) => (
                <ProviderItem row={r} check={checks.get(r.id)} csrf={csrf} first={i === 0} last={i === rows.length - 1} expanded={q.done === "checked" && id === r.id} />
              ))}
            </ul>
          )}
        </section>
        <AddForm csrf={csrf} values={v.values ?? { id: "", kind: firstKind, url: "", name: "" }} errors={v.errors ?? {}} />
      </>
    ),
  });
}

async function add(ctx: FormCtx): Promise<Response> {
  const values: AddValues = { id: field(ctx.body, "id").trim(), kind: field(ctx.body, "kind"), url: field(ctx.body, "url").trim(), name: field(ctx.body, "name").trim() };
  try {
    await addProvider(ctx.app, { ...values, apiKey: field(ctx.body, "apiKey") }, actorIdOf(ctx));
  } catch (e) {
    const f = formFailure(e);
    return providersPage(ctx, { values, errors: f.errors, status: f.status, error: Object.keys(f.errors).length ? undefined : f.message });
  }
  return redirect(`${AI_PATH}?done=added&id=${encodeURIComponent(values.id)}#provider-${values.id}`);
}

async function check(ctx: AnyCtx): Promise<Response> {
  const id = ctx.params.pid ?? "";
  await checkProvider(ctx.app, id);
  if (ctx.isHtmx) return html((<CheckResult check={(await lastChecks(ctx.app)).get(id)} open />).value);
  return redirect(`${AI_PATH}?done=checked&id=${encodeURIComponent(id)}#provider-${id}`);
}

/** Runs a one-button action; a provider removed meanwhile is reported on the page rather than as an error page. */
async function act(ctx: AnyCtx, done: string, action: (id: string) => Promise<unknown>): Promise<Response> {
  const id = ctx.params.pid ?? "";
  try {
    await action(id);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return providersPage(ctx, { status: 404, error: `There is no provider "${id}" (any more).` });
    const f = formFailure(e);
    return providersPage(ctx, { status: f.status, error: f.message });
  }
  return redirect(`${AI_PATH}?done=${done}&id=${encodeURIComponent(id)}${done === "removed" ? "" : `#provider-${id}`}`);
}

const pageRoute = (method: "GET" | "POST", path: string, summary: string, handler: (ctx: FormCtx) => Promise<Response>) =>
  route({ method, path, permission: "admin", kind: "page", summary, tags: ["pages"], ...(method === "POST" ? { bodyKind: "form" as const, body: FormBody } : {}), handler });

const providerListRoutes = [
  pageRoute("GET", AI_PATH, "Admin › AI: the model providers in fallback order, with their last connection check, and the form to add one.", providersPage),
  pageRoute("POST", `${AI_PATH}/providers`, "Add a model provider (id, kind, URL, optional API key); errors are shown beside the fields.", add),
  pageRoute("POST", `${AI_PATH}/providers/:pid/check`, "Check a provider's connection: lists its models or says why it cannot be reached (an htmx fragment or a redirect).", check),
  pageRoute("POST", `${AI_PATH}/providers/:pid/enable`, "Enable a provider: the assistant may use it.", (ctx) => act(ctx, "enabled", (id) => updateProvider(ctx.app, id, { enabled: true }, actorIdOf(ctx)))),
  pageRoute("POST", `${AI_PATH}/providers/:pid/disable`, "Disable a provider: the assistant skips it.", (ctx) => act(ctx, "disabled", (id) => updateProvider(ctx.app, id, { enabled: false }, actorIdOf(ctx)))),
  pageRoute("POST", `${AI_PATH}/providers/:pid/move-up`, "Move a provider one place up in the fallback order.", (ctx) => act(ctx, "moved", (id) => moveProvider(ctx.app, id, "up", actorIdOf(ctx)))),
  pageRoute("POST", `${AI_PATH}/providers/:pid/move-down`, "Move a provider one place down in the fallback order.", (ctx) => act(ctx, "moved", (id) => moveProvider(ctx.app, id, "down", actorIdOf(ctx)))),
  pageRoute("POST", `${AI_PATH}/providers/:pid/remove`, "Remove a provider, its prices and its places in the routing policies.", (ctx) => act(ctx, "removed", (id) => removeProvider(ctx.app, id, actorIdOf(ctx)))),
];

/** Every Admin › AI page route (admin only). */
export const aiAdminPageRoutes = [...providerListRoutes, ...providerPageRoutes, ...routingPageRoutes, ...quotaPageRoutes];
