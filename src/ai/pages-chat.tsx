/**
 * Assistant conversations as pages, and the IDE's Assistant panel markup.
 *
 * - `/projects/:id/assistant`: the conversations about a project the viewer may read — their
 *   own and those collaborators shared.
 * - `/projects/:id/assistant/:cid`: one conversation, rendered on the server (the same safe
 *   Markdown renderer and highlighter as READMEs), with the files each answer included, the
 *   model and tokens, and the proposed code actions; its owner renames, shares and deletes it
 *   here with plain forms (post/redirect/get).
 * The IDE's Assistant panel markup is in pages-chat-panel.tsx.
 */
import { route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { raw, type Html } from "../web/jsx/jsx-runtime.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Field, Flash } from "../web/forms.tsx";
import { notFound } from "../lib/errors.ts";
import type { Project } from "../db/schema.ts";
import { ownerHandle } from "../projects/projects.ts";
import { blobUrl, Empty, FormFields, projectUrl, RelTime } from "../projects/pages-ui.tsx";
import { renderMarkdown } from "../projects/pages-markdown.ts";
import { actionPageUrl } from "./pages-actions.tsx";
import { assistantUrl, CHAT_CSS, conversationUrl } from "./pages-chat-panel.tsx";
import {
  conversationMessages,
  deleteConversation,
  listConversations,
  messageCounts,
  parseMeta,
  TITLE_MAX,
  updateConversation,
  visibleConversation,
  type Conversation,
  type MessageMeta,
  type StoredMessage,
} from "./conversations.ts";

const REASON: Record<string, string> = { current: "open file", selection: "selection", tab: "open tab", search: "found by search" };

// ---- Server-rendered transcript ----

function FilesIncluded(p: { meta: MessageMeta; projectId: string | null }): Html | null {
  const files = p.meta.files ?? [];
  if (files.length === 0) return null;
  const total = p.meta.contextTokens;
  return (
    <details class="chat-files">
      <summary>
        Context: {files.length} {files.length === 1 ? "item" : "items"}
        {total !== undefined ? ` · ${total.toLocaleString("en")} tokens` : ""}
      </summary>
      <ul class="plain">
        {files.map((f) => (
          <li>
            {p.projectId ? (
              <a class="mono" href={blobUrl(p.projectId, f.path)}>
                {f.path}
              </a>
            ) : (
              <span class="mono">{f.path}</span>
            )}{" "}
            <span class="muted">
              · {REASON[f.reason] ?? f.reason} · {f.tokens.toLocaleString("en")} tokens
            </span>
          </li>
        ))}
      </ul>
    </details>
  );
}

function AnswerFacts(p: { meta: MessageMeta }): Html | null {
  const { meta } = p;
  const parts: string[] = [];
  if (meta.model) parts.push(meta.providerId ? `${meta.providerId}:${meta.model}` : meta.model);
  if (meta.usage) parts.push(`${(meta.usage.tokensIn + meta.usage.tokensOut).toLocaleString("en")} tokens`, `${(meta.usage.latencyMs / 1000).toFixed(1)} s`);
  if (meta.mode === "agent") parts.push("agents");
  if (parts.length === 0 && !meta.stopped && !meta.error) return null;
  return (
    <p class="chat-facts muted small">
      {parts.join(" · ")}
      {meta.stopped ? <span class="badge">stopped</span> : null}
    </p>
  );
}

export function MessageView(p: { message: StoredMessage; projectId: string | null }): Html {
  const m = p.message;
  const meta = parseMeta(m.meta);
  if (m.role === "user") {
    return (
      <article class="chat-msg chat-user" aria-label="Question">
        <p class="chat-text">{m.content}</p>
        {meta.filePath ? (
          <p class="muted small">
            About <span class="mono">{meta.filePath}</span>
            {meta.selection ? ` (lines ${meta.selection.startLine}–${meta.selection.endLine})` : ""}
          </p>
        ) : null}
      </article>
    );
  }
  return (
    <article class="chat-msg chat-assistant" aria-label="Answer">
      <FilesIncluded meta={meta} projectId={p.projectId} />
      {m.content ? <div class="markdown chat-markdown">{raw(renderMarkdown(m.content, {}, 2))}</div> : null}
      {meta.error ? <Flash kind="error">{meta.error.message}</Flash> : null}
      {(meta.actions ?? []).length > 0 && p.projectId ? (
        <ul class="plain chat-actions">
          {(meta.actions ?? []).map((a) => (
            <li>
              <a href={actionPageUrl(p.projectId as string, a.id)}>{a.summary || "Proposed edit"}</a> <span class="muted small">· {a.files.join(", ")}</span>
            </li>
          ))}
        </ul>
      ) : null}
      <AnswerFacts meta={meta} />
    </article>
  );
}

// ---- Pages ----

type PageCtx = Ctx | Ctx<Record<string, string>>;

function PageHead(p: { project: Project; owner: string; title: string; back?: boolean }): Html {
  return (
    <div class="page-head">
      <div class="grow">
        <p class="slug muted">
          <span>{p.owner}</span>
          <span aria-hidden="true"> / </span>
          <a href={projectUrl(p.project.id)}>{p.project.slug}</a>
          <span aria-hidden="true"> / </span>
          {p.back ? <a href={assistantUrl(p.project.id)}>assistant</a> : <span>assistant</span>}
        </p>
        <h1>{p.title}</h1>
      </div>
      <div class="actions">
        <a class="btn primary" href={`${projectUrl(p.project.id)}/ide`} title="Ask the assistant from the IDE">
          Open in IDE
        </a>
      </div>
    </div>
  );
}

async function listPage(ctx: Ctx): Promise<Response> {
  const { project, app } = ctx;
  const rows = await listConversations(app, ctx.actor, { projectId: project.id, limit: 200 });
  const counts = await messageCounts(app.db.orm, rows.map((r) => r.conversation.id));
  const me = ctx.actor.kind === "user" ? ctx.actor.user.id : "";
  const owner = await ownerHandle(app.db.orm, project);
  return html(
    doc(
      <Layout title={`Assistant · ${project.name}`} actor={ctx.actor} csrf={ctx.csrf()}>
        <link rel="stylesheet" href={CHAT_CSS} />
        <PageHead project={project} owner={owner} title="Assistant conversations" />
        <p class="muted">
          Your conversations about this project, and the ones collaborators shared. Ask new questions from the IDE's <strong>Assistant</strong> panel.
        </p>
        {rows.length === 0 ? (
          <Empty title="No conversations yet">Open the IDE and ask the assistant about the code; the conversation shows up here.</Empty>
        ) : (
          <ul class="plain chat-list">
            {rows.map(({ conversation: c, owner: o }) => (
              <li class="chat-list-item">
                <a href={conversationUrl(project.id, c.id)} class="chat-list-title">
                  {c.title || "Untitled conversation"}
                </a>
                <span class="muted small">
                  {c.userId === me ? "You" : o.name || o.username} · {counts.get(c.id) ?? 0} messages · <RelTime at={c.updatedAt} />
                </span>
                {c.shared ? <span class="badge">shared</span> : null}
              </li>
            ))}
          </ul>
        )}
      </Layout>,
    ),
    200,
    { "Cache-Control": "no-store" },
  );
}

/** The conversation named by :cid when the viewer may see it and it is about this project (else 404). */
async function pageConversation(ctx: PageCtx): Promise<{ conversation: Conversation; owner: { username: string; name: string }; canWrite: boolean }> {
  const v = await visibleConversation(ctx.app, ctx.actor, ctx.params.cid ?? "");
  if (v.conversation.projectId !== ctx.project.id) throw notFound("Conversation");
  return v;
}

async function conversationPage(ctx: PageCtx, o: { notice?: string; titleError?: string; title?: string } = {}): Promise<Response> {
  const { project, app } = ctx;
  const v = await pageConversation(ctx);
  const c = v.conversation;
  const messages = await conversationMessages(app.db.orm, c.id);
  const csrf = ctx.csrf();
  const owner = await ownerHandle(app.db.orm, project);
  const url = conversationUrl(project.id, c.id);
  return html(
    doc(
      <Layout title={`${c.title || "Conversation"} · ${project.name}`} actor={ctx.actor} csrf={csrf}>
        <link rel="stylesheet" href={CHAT_CSS} />
        <PageHead project={project} owner={owner} title={c.title || "Untitled conversation"} back />
        <p class="muted small">
          {v.canWrite ? "Your conversation" : `Shared by ${v.owner.name || v.owner.username}`} · {c.shared ? "shared with everyone who can read this project" : "only you can see it"} · started{" "}
          <RelTime at={c.createdAt} />
        </p>
        {o.notice ? <Flash kind="ok">{o.notice}</Flash> : null}
        <div class="chat-transcript stack">
          {messages.length === 0 ? <p class="muted">No messages.</p> : messages.map((m) => <MessageView message={m} projectId={project.id} />)}
        </div>
        {v.canWrite ? (
          <section class="card stack chat-settings" aria-labelledby="chat-settings-heading">
            <h2 id="chat-settings-heading">Conversation settings</h2>
            <form method="post" action={url} class="stack" novalidate>
              <input type="hidden" name="_csrf" value={csrf} />
              <Field label="Title" name="title" value={o.title ?? c.title} maxlength={TITLE_MAX} required error={o.titleError} />
              <label class="choice">
                <input type="checkbox" name="shared" value="1" checked={c.shared} />
                <span>
                  Share with collaborators <span class="muted small">— everyone who can read this project{project.visibility === "public" ? " (it is public: anyone signed in)" : ""} can read it; only you can add to it</span>
                </span>
              </label>
              <div class="form-actions">
                <button type="submit" class="primary">
                  Save
                </button>
              </div>
            </form>
            <form method="post" action={`${url}/delete`} class="inline">
              <input type="hidden" name="_csrf" value={csrf} />
              <button type="submit" class="danger">
                Delete conversation
              </button>
            </form>
          </section>
        ) : null}
      </Layout>,
    ),
    o.titleError ? 422 : 200,
    { "Cache-Control": "no-store" },
  );
}

export const aiChatPageRoutes = [
  route({
    method: "GET",
    path: "/projects/:id/assistant",
    permission: "project:read",
    signedIn: true,
    kind: "page",
    summary: "The assistant conversations about a project: yours and the ones collaborators shared.",
    tags: ["pages"],
    handler: (ctx) => listPage(ctx),
  }),
  route({
    method: "GET",
    path: "/projects/:id/assistant/:cid",
    permission: "project:read",
    signedIn: true,
    kind: "page",
    summary: "One assistant conversation: the questions, the answers (Markdown), the files each answer included and its code actions.",
    tags: ["pages"],
    handler: (ctx) => conversationPage(ctx, { notice: ctx.query.saved === "1" ? "Saved." : undefined }),
  }),
  route({
    method: "POST",
    path: "/projects/:id/assistant/:cid",
    permission: "project:read",
    signedIn: true,
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Renames a conversation and shares or unshares it (its owner only).",
    tags: ["pages"],
    handler: async (ctx) => {
      await pageConversation(ctx);
      const title = (ctx.body.title ?? "").trim();
      if (title === "" || title.length > TITLE_MAX) {
        return conversationPage(ctx, { title, titleError: title === "" ? "Give the conversation a title." : `At most ${TITLE_MAX} characters.` });
      }
      await updateConversation(ctx.app, ctx.actor, ctx.params.cid ?? "", { title, shared: ctx.body.shared === "1" });
      return redirect(`${conversationUrl(ctx.project.id, ctx.params.cid ?? "")}?saved=1`);
    },
  }),
  route({
    method: "POST",
    path: "/projects/:id/assistant/:cid/delete",
    permission: "project:read",
    signedIn: true,
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Deletes a conversation (its owner only).",
    tags: ["pages"],
    handler: async (ctx) => {
      await pageConversation(ctx);
      await deleteConversation(ctx.app, ctx.actor, ctx.params.cid ?? "");
      return redirect(assistantUrl(ctx.project.id));
    },
  }),
];
