/**
 * Admin › AI › Routing (/admin/ai/routing) and Prices (/admin/ai/prices). Routing: per task
 * (chat, code edits, summarising, embeddings) the chain of `provider:model` lines the router
 * tries in order, one form per task. Prices: what a million input/output tokens of a model
 * cost, for the usage estimates; models without a price cost 0. Logic: src/ai/policies.ts and
 * src/ai/prices.ts.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { actorIdOf, route, type Ctx } from "../server/guard.ts";
import { redirect } from "../server/http.ts";
import { Field, Form, Select, TextArea, type FieldErrors } from "../web/forms.tsx";
import { field, FormBody, formFailure, PostButton } from "../auth/pages-shared.tsx";
import { ApiError } from "../lib/errors.ts";
import { lastChecks, listProviders, type LastCheck, type ProviderRow } from "../ai/providers.ts";
import { chainText, isTask, MAX_CHAIN, parseChain, readPolicies, savePolicy, TASK_LABELS, TASKS } from "../ai/policies.ts";
import { formatUnits, listPrices, parseUnits, removePrice, setPrice } from "../ai/prices.ts";
import type { TaskKind } from "../ai/types.ts";
import { AI_PATH, aiPage, shown } from "./pages-ai-ui.tsx";

type AnyCtx = Ctx<unknown, unknown>;
type FormCtx = Ctx<Record<string, string>, Record<string, string | undefined>>;

const ROUTING = `${AI_PATH}/routing`;
const PRICES = `${AI_PATH}/prices`;
const MODELS_SHOWN = 12;

const TASK_HINTS: Record<TaskKind, string> = {
  chat: "Questions about the code in the IDE's chat panel.",
  "code-edit": "Proposed code actions and the agents that edit, test and document.",
  summarise: "Condensing older conversation history when it outgrows a model's context.",
  embed: "Embedding text (an embedding model such as nomic-embed-text).",
};

function KnownModels(p: { providers: ProviderRow[]; checks: Map<string, LastCheck> }): Html {
  if (p.providers.length === 0) return <p class="empty">No provider yet: add one under Providers first.</p>;
  return (
    <ul class="entity-list" aria-label="Providers and the models their last check listed">
      {p.providers.map((r) => {
        const models = p.checks.get(r.id)?.models ?? [];
        return (
          <li>
            <div class="stack tight">
              <span>
                <strong class="mono">{r.id}</strong> {r.enabled ? null : <span class="badge off">disabled</span>}
              </span>
              <span class="small muted mono">
                {models.length === 0 ? "no models known — check its connection" : models.slice(0, MODELS_SHOWN).join(", ") + (models.length > MODELS_SHOWN ? `, … (${models.length} in all)` : "")}
              </span>
            </div>
          </li>
        );
      })}
    </ul>
  );
}

function PolicyForm(p: { task: TaskKind; text: string; error?: string; csrf: string }): Html {
  const name = `chain-${p.task}`;
  return (
    <section class="card stack" id={`policy-${p.task}`} aria-labelledby={`policy-${p.task}-title`}>
      <h2 id={`policy-${p.task}-title`}>{TASK_LABELS[p.task]}</h2>
      <p class="muted small">{TASK_HINTS[p.task]}</p>
      <Form action={ROUTING} csrf={p.csrf}>
        <input type="hidden" name="task" value={p.task} />
        <TextArea label="Models to try, in order (one provider:model per line)" name={name} value={p.text} rows={3} maxlength={4000} error={p.error} />
        <p class="hint">Empty: the default order (enabled providers top to bottom, each with its first listed model). At most {MAX_CHAIN} lines.</p>
        <div class="form-actions">
          <button type="submit" class="primary">
            Save {TASK_LABELS[p.task].toLowerCase()} routing
          </button>
        </div>
      </Form>
    </section>
  );
}

type RoutingView = { task?: TaskKind; text?: string; error?: string; status?: number; message?: string };

async function routingPage(ctx: AnyCtx, v: RoutingView = {}): Promise<Response> {
  const [providers, checks, policies] = await Promise.all([listProviders(ctx.app), lastChecks(ctx.app), readPolicies(ctx.app)]);
  const q = ctx.query as Record<string, string | undefined>;
  const saved = q.saved && isTask(q.saved) ? q.saved : undefined;
  const csrf = ctx.csrf();
  return aiPage(ctx, {
    title: "Routing",
    section: "routing",
    status: v.status,
    notice: saved ? `Saved the routing for ${TASK_LABELS[saved].toLowerCase()}.` : undefined,
    error: v.message,
    children: (
      <>
        <section class="card stack" aria-labelledby="known-models-title">
          <h2 id="known-models-title">Providers and their models</h2>
          <p class="muted">
            Name models as <span class="mono">provider:model</span>, e.g. <span class="mono">local-ollama:qwen2.5-coder:1.5b</span>. When a model fails,
            times out or is overloaded, the next line takes over.
          </p>
          <KnownModels providers={providers} checks={checks} />
        </section>
        {TASKS.map((task) => (
          <PolicyForm task={task} csrf={csrf} text={v.task === task ? (v.text ?? "") : chainText(policies[task])} error={v.task === task ? v.error : undefined} />
        ))}
      </>
    ),
  });
}

async function saveRouting(ctx: FormCtx): Promise<Response> {
  const task = field(ctx.body, "task");
  if (!isTask(task)) return routingPage(ctx, { status: 422, message: "Choose which task's routing to save (chat, code-edit, summarise or embed)." });
  const text = field(ctx.body, `chain-${task}`);
  const parsed = parseChain(text);
  if (parsed.error) return routingPage(ctx, { task, text, error: parsed.error, status: 422 });
  try {
    await savePolicy(ctx.app, task, parsed.chain, actorIdOf(ctx));
  } catch (e) {
    const f = formFailure(e);
    return routingPage(ctx, { task, text, error: f.errors.chain ?? f.message, status: f.status });
  }
  return redirect(`${ROUTING}?saved=${task}#policy-${task}`);
}

// ---- Prices ----

type PriceValues = { providerId: string; model: string; input: string; output: string };
type PricesView = { values?: PriceValues; errors?: FieldErrors; status?: number; message?: string };

async function pricesPage(ctx: AnyCtx, v: PricesView = {}): Promise<Response> {
  const [providers, prices] = await Promise.all([listProviders(ctx.app), listPrices(ctx.app)]);
  const q = ctx.query as Record<string, string | undefined>;
  const model = shown(q.model);
  const notice = q.done === "set" && model ? `Saved the price of ${model}.` : q.done === "removed" && model ? `${model} costs 0 again.` : q.done === "gone" ? "That price was already removed." : undefined;
  const values = v.values ?? { providerId: providers[0]?.id ?? "", model: "", input: "", output: "" };
  const errors = v.errors ?? {};
  const csrf = ctx.csrf();
  return aiPage(ctx, {
    title: "Prices",
    section: "prices",
    status: v.status,
    notice,
    error: v.message,
    children: (
      <>
        <section class="card stack" aria-labelledby="prices-title">
          <h2 id="prices-title">Prices</h2>
          <p class="muted">
            Per million tokens, in your currency's units (up to 6 decimals). Usage shows each answer's estimated cost from these. A model without a price
            costs 0 — right for local models.
          </p>
          {prices.length === 0 ? (
            <p class="empty">No prices set: every model counts as free.</p>
          ) : (
            <div class="table-wrap">
              <table class="list">
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col" class="num">Input</th>
                    <th scope="col" class="num">Output</th>
                    <th scope="col" aria-label="Actions"></th>
                  </tr>
                </thead>
                <tbody>
                  {prices.map((p) => (
                    <tr>
                      <td class="mono">
                        {p.providerId}:{p.model}
                      </td>
                      <td class="num">{formatUnits(p.inputMicrosPerMtok)}</td>
                      <td class="num">{formatUnits(p.outputMicrosPerMtok)}</td>
                      <td class="actions">
                        <form method="post" action={`${PRICES}/remove`} class="inline" data-confirm={`Remove the price of ${p.providerId}:${p.model}? It then counts as free.`}>
                          <input type="hidden" name="_csrf" value={csrf} />
                          <input type="hidden" name="providerId" value={p.providerId} />
                          <input type="hidden" name="model" value={p.model} />
                          <button type="submit" class="small danger" aria-label={`Remove the price of ${p.providerId}:${p.model}`}>
                            Remove
                          </button>
                        </form>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <section class="card stack" aria-labelledby="price-form-title">
          <h2 id="price-form-title">Set a price</h2>
          {providers.length === 0 ? (
            <p class="empty">Add a provider first.</p>
          ) : (
            <Form action={PRICES} csrf={csrf}>
              <Select label="Provider" name="providerId" options={providers.map((p): [string, string] => [p.id, `${p.name} (${p.id})`])} value={values.providerId} error={errors.providerId} />
              <Field label="Model" name="model" value={values.model} required autocomplete="off" placeholder="gpt-4o-mini" hint="As the provider names it. Setting a model's price again replaces it." error={errors.model} />
              <Field label="Input, per million tokens" name="input" value={values.input} autocomplete="off" placeholder="0.15" error={errors.input} />
              <Field label="Output, per million tokens" name="output" value={values.output} autocomplete="off" placeholder="0.60" error={errors.output} />
              <div class="form-actions">
                <button type="submit" class="primary">
                  Save price
                </button>
              </div>
            </Form>
          )}
        </section>
      </>
    ),
  });
}

async function savePrice(ctx: FormCtx): Promise<Response> {
  const values: PriceValues = { providerId: field(ctx.body, "providerId"), model: field(ctx.body, "model").trim(), input: field(ctx.body, "input").trim(), output: field(ctx.body, "output").trim() };
  const inputMicros = parseUnits(values.input || "0");
  const outputMicros = parseUnits(values.output || "0");
  const amountError = "Give a price like 0.15 or 3 (0 to 1000000, at most 6 decimals).";
  try {
    await setPrice(ctx.app, { providerId: values.providerId, model: values.model, inputMicrosPerMtok: inputMicros ?? -1, outputMicrosPerMtok: outputMicros ?? -1 }, actorIdOf(ctx));
  } catch (e) {
    const f = formFailure(e);
    const errors = { ...f.errors };
    if (inputMicros === undefined) errors.input = amountError;
    if (outputMicros === undefined) errors.output = amountError;
    return pricesPage(ctx, { values, errors, status: f.status });
  }
  return redirect(`${PRICES}?done=set&model=${encodeURIComponent(`${values.providerId}:${values.model}`)}`);
}

async function dropPrice(ctx: FormCtx): Promise<Response> {
  const providerId = field(ctx.body, "providerId");
  const model = field(ctx.body, "model");
  try {
    await removePrice(ctx.app, providerId, model, actorIdOf(ctx));
  } catch (e) {
    // Removed meanwhile (another tab, the API): the outcome the admin wanted.
    if (e instanceof ApiError && e.status === 404) return redirect(`${PRICES}?done=gone`);
    throw e;
  }
  return redirect(`${PRICES}?done=removed&model=${encodeURIComponent(`${providerId}:${model}`)}`);
}

const formRoute = (path: string, summary: string, handler: (ctx: FormCtx) => Promise<Response>) =>
  route({ method: "POST", path, permission: "admin", kind: "page", bodyKind: "form", body: FormBody, summary, tags: ["pages"], handler });

export const routingPageRoutes = [
  route({ method: "GET", path: ROUTING, permission: "admin", kind: "page", summary: "Admin › AI › Routing: per task, the chain of provider:model the router tries in order.", tags: ["pages"], handler: (ctx) => routingPage(ctx) }),
  formRoute(ROUTING, "Save one task's routing chain (provider:model lines); an empty chain restores the default order.", saveRouting),
  route({ method: "GET", path: PRICES, permission: "admin", kind: "page", summary: "Admin › AI › Prices: what a million input and output tokens of each model cost.", tags: ["pages"], handler: (ctx) => pricesPage(ctx) }),
  formRoute(PRICES, "Set (or replace) a model's price per million input and output tokens.", savePrice),
  formRoute(`${PRICES}/remove`, "Remove a model's price (it counts as free again).", dropPrice),
];
