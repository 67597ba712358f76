/**
 * Admin › Semantic search: which embedder makes the vectors (built-in, Ollama, or an
 * OpenAI-compatible server) and how far the index is — refreshing itself every two seconds
 * while files wait to be embedded (htmx polling of its own fragment). Saving probes the server
 * first; a failure is shown beside the field it concerns. The logic is in
 * embedder-settings.ts and semantic-index.ts.
 */
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import { actorIdOf, route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { Field, Flash, Form, Select, type FieldErrors } from "../web/forms.tsx";
import { field, FormBody, formFailure, page } from "../auth/pages-shared.tsx";
import { RelTime } from "../projects/pages-ui.tsx";
import { describeEmbedder, readEmbedderConfig, saveEmbedderConfig, type EmbedderConfig } from "./embedder-settings.ts";
import { semanticIndexerOf, semanticStatus, type SemanticStatus } from "./semantic-index.ts";

type AnyCtx = Ctx<unknown, unknown>;
const PATH = "/admin/search/embedder";
const STATUS = "/admin/search/embedder/status";
const n = (v: number) => v.toLocaleString("en-US");

const KINDS: [string, string][] = [
  ["builtin", "Built-in (no download, works offline)"],
  ["ollama", "Ollama"],
  ["openai", "OpenAI-compatible server (OpenAI, vLLM, llama.cpp, LM Studio…)"],
];

type Values = { kind: string; url: string; model: string };

function Row(p: { label: string; children?: Child }): Html {
  return (
    <tr>
      <th scope="row">{p.label}</th>
      <td>{p.children}</td>
    </tr>
  );
}

export function SemanticStatusSection(p: { status: SemanticStatus; config: EmbedderConfig; local: boolean }): Html {
  const s = p.status;
  const busy = p.local && s.done < s.files;
  const poll = busy ? { "hx-get": STATUS, "hx-trigger": "load delay:2s", "hx-swap": "outerHTML" } : {};
  return (
    <section class="card stack" id="semantic-status" aria-labelledby="semantic-status-title" aria-busy={busy ? "true" : undefined} {...poll}>
      <h2 id="semantic-status-title">Semantic index</h2>
      <div class="table-wrap">
        <table class="list">
          <tbody>
            <Row label="Embedder">{describeEmbedder(p.config)}</Row>
            {p.local ? (
              <>
                <Row label="Files">
                  {s.files === 0 ? "no text files indexed yet" : `${n(s.done)} of ${n(s.files)} text files embedded${busy ? " — the rest are being embedded in the background" : ""}`}
                  {busy ? (
                    <div class="stack tight">
                      <label class="small muted" for="semantic-progress">{`${Math.floor((100 * s.done) / Math.max(1, s.files))}% done`}</label>
                      <progress id="semantic-progress" max={s.files} value={s.done}>
                        {`${s.done} of ${s.files}`}
                      </progress>
                    </div>
                  ) : null}
                </Row>
                <Row label="Chunks">{n(s.chunks)}</Row>
                <Row label="Indexer">{s.running ? "running in this server" : "not running (it runs inside wove serve)"}</Row>
                {s.lastError ? (
                  <Row label="Last error">
                    <code>{s.lastError}</code>
                    {s.lastErrorAt ? (
                      <span class="small muted">
                        {" — "}
                        <RelTime at={s.lastErrorAt} />
                        {", retried with growing pauses"}
                      </span>
                    ) : null}
                  </Row>
                ) : null}
              </>
            ) : (
              <Row label="Status">Off: semantic search needs the embedded database file, and this instance uses a remote libSQL server.</Row>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function valuesOf(c: EmbedderConfig): Values {
  return c.kind === "builtin" ? { kind: "builtin", url: "", model: "" } : { kind: c.kind, url: c.url, model: c.model };
}

async function showPage(ctx: AnyCtx, v: { values?: Values; errors?: FieldErrors; message?: string; status?: number; saved?: boolean } = {}): Promise<Response> {
  const config = await readEmbedderConfig(ctx.app);
  const status = await semanticStatus(ctx.app);
  const values = v.values ?? valuesOf(config);
  const errors = v.errors ?? {};
  const hasKey = config.kind === "openai" && config.hasKey;
  return page(
    ctx,
    { title: "Semantic search · Admin", active: "admin", status: v.status },
    <div class="stack">
      <div class="page-head">
        <h1>Semantic search</h1>
        <div class="actions">
          <a href="/admin">Back to administration</a>
        </div>
      </div>
      {v.saved ? <Flash kind="ok">Saved. Files are re-embedded in the background when the embedder changed; search uses the new one at once.</Flash> : null}
      {v.message ? <Flash kind="error">{v.message}</Flash> : null}
      <SemanticStatusSection status={status} config={config} local={ctx.app.db.file !== undefined} />
      <section class="card stack" aria-labelledby="embedder-title">
        <h2 id="embedder-title">Embedder</h2>
        <p class="muted">
          The built-in embedder needs nothing to download and finds code by its words, identifiers and a programming thesaurus. A model server
          understands meaning better. Switching re-embeds every file; semantic results fill in as that progresses.
        </p>
        <Form action={PATH} csrf={ctx.csrf()}>
          <Select label="Embedder" name="kind" options={KINDS} value={values.kind} error={errors.kind} />
          <Field
            label="Server URL"
            name="url"
            type="url"
            value={values.url}
            autocomplete="off"
            placeholder="http://10.0.0.5:11434"
            hint="For Ollama or an OpenAI-compatible server: its base URL (Wove adds /api/embed or /v1/embeddings). Only this host is contacted; loopback and cloud-metadata addresses are refused."
            error={errors.url}
          />
          <Field
            label="Model"
            name="model"
            value={values.model}
            autocomplete="off"
            placeholder="nomic-embed-text"
            hint="Ollama: a pulled embedding model (ollama pull nomic-embed-text). OpenAI-compatible: e.g. text-embedding-3-small."
            error={errors.model}
          />
          <Field
            label="API key"
            name="apiKey"
            type="password"
            autocomplete="off"
            hint={hasKey ? "A key is stored (sealed with the instance key). Leave empty to keep it." : "OpenAI-compatible servers that need one. Stored sealed with the instance key; never shown again."}
            error={errors.apiKey}
          />
          {hasKey ? (
            <label class="choice">
              <input type="checkbox" name="clearKey" value="on" />
              <span>
                <strong>Remove the stored API key</strong>
              </span>
            </label>
          ) : null}
          <div class="form-actions">
            <button type="submit" class="primary">
              Test and save
            </button>
          </div>
        </Form>
      </section>
    </div>,
  );
}

async function save(ctx: Ctx<Record<string, string>>): Promise<Response> {
  const values = { kind: field(ctx.body, "kind"), url: field(ctx.body, "url").trim(), model: field(ctx.body, "model").trim() };
  try {
    await saveEmbedderConfig(ctx.app, { ...values, apiKey: field(ctx.body, "apiKey"), clearKey: field(ctx.body, "clearKey") === "on" }, actorIdOf(ctx));
  } catch (e) {
    const f = formFailure(e);
    const hasFieldErrors = Object.keys(f.errors).length > 0;
    return showPage(ctx, { values, errors: f.errors, message: hasFieldErrors ? undefined : f.message, status: f.status });
  }
  semanticIndexerOf(ctx.app)?.wake();
  return redirect(`${PATH}?saved=1`);
}

/** Admin-only routes: the embedder setting page, its form, and its status fragment. */
export const embedderAdminRoutes = [
  route({
    method: "GET",
    path: PATH,
    permission: "admin",
    kind: "page",
    summary: "Semantic search settings: the embedder (built-in, Ollama, OpenAI-compatible) and the index's progress.",
    tags: ["pages"],
    handler: (ctx) => showPage(ctx, { saved: ctx.query.saved === "1" }),
  }),
  route({
    method: "POST",
    path: PATH,
    permission: "admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Change the embedder after probing it; every file is then re-embedded in the background.",
    tags: ["pages"],
    handler: save,
  }),
  route({
    method: "GET",
    path: STATUS,
    permission: "admin",
    kind: "page",
    summary: "The semantic index's progress (an htmx fragment; a plain visit goes to the settings page).",
    tags: ["pages"],
    handler: async (ctx) => {
      if (!ctx.isHtmx) return redirect(PATH);
      const [status, config] = await Promise.all([semanticStatus(ctx.app), readEmbedderConfig(ctx.app)]);
      return html((<SemanticStatusSection status={status} config={config} local={ctx.app.db.file !== undefined} />).value);
    },
  }),
];
