/**
 * Admin › AI › Quotas (/admin/ai/quotas): the default daily token budget and request rate for
 * everyone, and overrides for one user or one team. Empty means unlimited. The router enforces
 * them (429 with Retry-After); the logic of saving them is in src/ai/quotas-admin.ts.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { actorIdOf, route, type Ctx } from "../server/guard.ts";
import { redirect } from "../server/http.ts";
import { Field, Form, Select, type FieldErrors } from "../web/forms.tsx";
import { field, FormBody, formFailure } from "../auth/pages-shared.tsx";
import { ApiError } from "../lib/errors.ts";
import { parseLimit, readQuotas, removeQuota, saveQuota, type QuotaEntry } from "../ai/quotas-admin.ts";
import { AI_PATH, aiPage } from "./pages-ai-ui.tsx";

type AnyCtx = Ctx<unknown, unknown>;
type FormCtx = Ctx<Record<string, string>, Record<string, string | undefined>>;

const QUOTAS = `${AI_PATH}/quotas`;
const limitText = (v: number | null) => (v === null ? "unlimited" : v.toLocaleString("en-US"));
const inputText = (v: number | null | undefined) => (v === null || v === undefined ? "" : String(v));

const NOTICES: Record<string, string> = {
  default: "Saved the default limits.",
  override: "Saved the override.",
  removed: "Removed: the default limits apply again.",
  gone: "That override was already removed.",
  "default-removed": "Removed the default limits: no limit applies unless overridden.",
};

type DefaultValues = { dailyTokens: string; requestsPerMinute: string };
type OverrideValues = DefaultValues & { scope: string; subject: string };
type View = { defaults?: { values: DefaultValues; errors: FieldErrors }; override?: { values: OverrideValues; errors: FieldErrors }; status?: number; message?: string };

function RemoveButton(p: { entry: QuotaEntry; csrf: string }): Html {
  const who = p.entry.scope === "default" ? "the default limits" : `the override for ${p.entry.scope === "user" ? "@" : "team "}${p.entry.subjectName}`;
  return (
    <form method="post" action={`${QUOTAS}/remove`} class="inline" data-confirm={`Remove ${who}?`}>
      <input type="hidden" name="_csrf" value={p.csrf} />
      <input type="hidden" name="scope" value={p.entry.scope} />
      <input type="hidden" name="subjectId" value={p.entry.subjectId} />
      <button type="submit" class="small danger" aria-label={`Remove ${who}`}>
        Remove
      </button>
    </form>
  );
}

function Overrides(p: { entries: QuotaEntry[]; csrf: string }): Html {
  if (p.entries.length === 0) return <p class="empty">No overrides: everyone gets the default limits.</p>;
  return (
    <div class="table-wrap">
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Who</th>
            <th scope="col" class="num">Tokens per day</th>
            <th scope="col" class="num">Requests per minute</th>
            <th scope="col" aria-label="Actions"></th>
          </tr>
        </thead>
        <tbody>
          {p.entries.map((e) => (
            <tr>
              <td>{e.scope === "user" ? `@${e.subjectName}` : <span>team {e.subjectName}</span>}</td>
              <td class="num">{limitText(e.dailyTokens)}</td>
              <td class="num">{limitText(e.requestsPerMinute)}</td>
              <td class="actions">
                <RemoveButton entry={e} csrf={p.csrf} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

async function quotasPage(ctx: AnyCtx, v: View = {}): Promise<Response> {
  const quotas = await readQuotas(ctx.app);
  const q = ctx.query as Record<string, string | undefined>;
  const csrf = ctx.csrf();
  const d = v.defaults ?? { values: { dailyTokens: inputText(quotas.default?.dailyTokens), requestsPerMinute: inputText(quotas.default?.requestsPerMinute) }, errors: {} };
  const o = v.override ?? { values: { scope: "user", subject: "", dailyTokens: "", requestsPerMinute: "" }, errors: {} };
  return aiPage(ctx, {
    title: "Quotas",
    section: "quotas",
    status: v.status,
    notice: q.done ? NOTICES[q.done] : undefined,
    error: v.message,
    children: (
      <>
        <section class="card stack" aria-labelledby="quota-default-title">
          <h2 id="quota-default-title">Default limits</h2>
          <p class="muted">
            For every account without its own override. Tokens in and out are counted per UTC day; someone over either limit gets a clear "try again
            in …" message. Empty means unlimited. A team override covers all requests about the team's projects together, on top of each person's own
            limits.
          </p>
          <Form action={QUOTAS} csrf={csrf}>
            <input type="hidden" name="scope" value="default" />
            <Field label="Tokens per day" name="dailyTokens" value={d.values.dailyTokens} autocomplete="off" placeholder="unlimited" hint="e.g. 200000" error={d.errors.dailyTokens} />
            <Field label="Requests per minute" name="requestsPerMinute" value={d.values.requestsPerMinute} autocomplete="off" placeholder="unlimited" hint="e.g. 20" error={d.errors.requestsPerMinute} />
            <div class="form-actions">
              <button type="submit" class="primary">
                Save defaults
              </button>
              {quotas.default ? <span class="small muted">Set; saving both fields empty makes them unlimited.</span> : null}
            </div>
          </Form>
        </section>
        <section class="card stack" aria-labelledby="quota-overrides-title">
          <h2 id="quota-overrides-title">Overrides</h2>
          <Overrides entries={[...quotas.users, ...quotas.teams]} csrf={csrf} />
          <h3>Add or change an override</h3>
          <Form action={QUOTAS} csrf={csrf}>
            <Select label="For" name="scope" options={[["user", "A user"], ["team", "A team (requests about its projects, together)"]]} value={o.values.scope} error={o.errors.scope} />
            <Field label="Username, email or team slug" name="subject" value={o.values.subject} required autocomplete="off" placeholder="alice" error={o.errors.subject} />
            <Field label="Tokens per day" name="o-dailyTokens" value={o.values.dailyTokens} autocomplete="off" placeholder="unlimited" error={o.errors.dailyTokens} />
            <Field label="Requests per minute" name="o-requestsPerMinute" value={o.values.requestsPerMinute} autocomplete="off" placeholder="unlimited" error={o.errors.requestsPerMinute} />
            <div class="form-actions">
              <button type="submit" class="primary">
                Save override
              </button>
            </div>
          </Form>
        </section>
      </>
    ),
  });
}

async function save(ctx: FormCtx): Promise<Response> {
  const scope = field(ctx.body, "scope");
  const isDefault = scope === "default";
  const prefix = isDefault ? "" : "o-";
  const values = {
    scope,
    subject: field(ctx.body, "subject").trim(),
    dailyTokens: field(ctx.body, `${prefix}dailyTokens`).trim(),
    requestsPerMinute: field(ctx.body, `${prefix}requestsPerMinute`).trim(),
  };
  try {
    await saveQuota(ctx.app, { scope, subject: values.subject, dailyTokens: parseLimit(values.dailyTokens), requestsPerMinute: parseLimit(values.requestsPerMinute) }, actorIdOf(ctx));
  } catch (e) {
    const f = formFailure(e);
    if (isDefault) return quotasPage(ctx, { defaults: { values, errors: f.errors }, status: f.status });
    return quotasPage(ctx, { override: { values, errors: f.errors }, status: f.status });
  }
  return redirect(`${QUOTAS}?done=${isDefault ? "default" : "override"}`);
}

async function remove(ctx: FormCtx): Promise<Response> {
  const scope = field(ctx.body, "scope");
  try {
    await removeQuota(ctx.app, scope, field(ctx.body, "subjectId"), actorIdOf(ctx));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return redirect(`${QUOTAS}?done=gone`);
    throw e;
  }
  return redirect(`${QUOTAS}?done=${scope === "default" ? "default-removed" : "removed"}`);
}

export const quotaPageRoutes = [
  route({ method: "GET", path: QUOTAS, permission: "admin", kind: "page", summary: "Admin › AI › Quotas: daily token budgets and request rates, by default and per user or team.", tags: ["pages"], handler: (ctx) => quotasPage(ctx) }),
  route({
    method: "POST",
    path: QUOTAS,
    permission: "admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Save the default AI limits or one user's or team's override (empty = unlimited).",
    tags: ["pages"],
    handler: save,
  }),
  route({
    method: "POST",
    path: `${QUOTAS}/remove`,
    permission: "admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Remove a quota override (or the default limits).",
    tags: ["pages"],
    handler: remove,
  }),
];
