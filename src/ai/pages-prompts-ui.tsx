/**
 * Pieces the prompt library pages share: addresses, the sharing badge, the vote buttons, the
 * page head of one prompt, and small helpers for the form handlers.
 */
import type { Ctx } from "../server/guard.ts";
import { html } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import { ApiError } from "../lib/errors.ts";
import { RelTime } from "../projects/pages-ui.tsx";
import type { PromptSummary, PromptVisibility } from "./prompts-search.ts";

export const PROMPTS_CSS = "/assets/prompts.css";

export type FormCtx = Ctx<Record<string, string>>;
export type AnyCtx = Ctx | FormCtx | Ctx<Record<string, string>, Record<string, string | undefined>>;
export type Errors = Record<string, string | undefined>;

export const promptUrl = (id: string) => `/prompts/${encodeURIComponent(id)}`;
export const editUrl = (id: string) => `${promptUrl(id)}/edit`;
export const useUrl = (id: string) => `${promptUrl(id)}/use`;
export const diffUrl = (id: string, from: number, to: number) => `${promptUrl(id)}/diff?from=${from}&to=${to}`;
export const versionUrl = (id: string, version: number) => `${promptUrl(id)}?v=${version}`;

export const VISIBILITY_LABEL: Record<PromptVisibility, string> = { private: "Private", team: "Team", instance: "Everyone" };
export const VISIBILITY_HELP: Record<PromptVisibility, string> = {
  private: "Only you can see it.",
  team: "Members of the team you choose can see and use it.",
  instance: "Everyone signed in to this Wove can see and use it.",
};

export function SharingBadge(p: { prompt: Pick<PromptSummary, "visibility" | "teamName"> }): Html {
  const v = p.prompt.visibility;
  const cls = v === "private" ? "badge private" : v === "team" ? "badge prompt-team" : "badge public";
  return (
    <span class={cls} title={VISIBILITY_HELP[v]}>
      {v === "team" && p.prompt.teamName ? `Team: ${p.prompt.teamName}` : VISIBILITY_LABEL[v]}
    </span>
  );
}

/** "+3" / "−1" / "0" with the sign a screen reader says. */
export function scoreText(score: number): string {
  return score > 0 ? `+${score}` : score < 0 ? `−${-score}` : "0";
}

/**
 * Up and down vote buttons. Pressing the vote you already gave takes it back. A plain form
 * (back to the prompt page); htmx swaps just this widget.
 */
export function VoteWidget(p: { prompt: PromptSummary; csrf: string }): Html {
  const { prompt } = p;
  const action = `${promptUrl(prompt.id)}/vote`;
  const button = (value: 1 | -1) => {
    const pressed = prompt.myVote === value;
    const label = value === 1 ? "Vote up" : "Vote down";
    return (
      <button type="submit" name="value" value={pressed ? "0" : String(value)} class={`vote-btn ${value === 1 ? "up" : "down"}`} aria-pressed={pressed ? "true" : "false"} title={pressed ? "Take your vote back" : label}>
        <span aria-hidden="true">{value === 1 ? "▲" : "▼"}</span>
        <span class="visually-hidden">{label}</span>
      </button>
    );
  };
  return (
    <form method="post" action={action} class="vote" id="prompt-vote" hx-post={action} hx-target="this" hx-swap="outerHTML">
      <input type="hidden" name="_csrf" value={p.csrf} />
      {button(1)}
      <span class="vote-score" aria-live="polite" title={`${prompt.up} up, ${prompt.down} down`}>
        <span class="visually-hidden">Score </span>
        {scoreText(prompt.score)}
      </span>
      {button(-1)}
    </form>
  );
}

/** The head of every page about one prompt: name, sharing, owner, and where else to go. */
export function PromptHead(p: { prompt: PromptSummary; current: "view" | "edit" | "diff" | "use"; title?: string; children?: Child }): Html {
  const { prompt } = p;
  return (
    <div class="page-head prompt-head">
      <div class="grow">
        <nav aria-label="Breadcrumb" class="breadcrumbs small">
          <a href="/prompts">Prompts</a> / <span>{p.current === "view" ? prompt.name : <a href={promptUrl(prompt.id)}>{prompt.name}</a>}</span>
        </nav>
        <h1>
          {p.title ?? prompt.name} <SharingBadge prompt={prompt} />
        </h1>
        <p class="muted small">
          by <strong>{prompt.ownerUsername}</strong>
          <span class="meta-sep">version {prompt.currentVersion}</span>
          <span class="meta-sep">
            updated <RelTime at={prompt.updatedAt} />
          </span>
        </p>
      </div>
      {p.children ? <div class="actions">{p.children}</div> : null}
    </div>
  );
}

/** A prompt-library page inside the site layout, with its stylesheet. */
export function promptPage(ctx: AnyCtx, title: string, body: Child, status = 200): Response {
  return html(
    doc(
      <Layout title={title} actor={ctx.actor} csrf={ctx.csrf()} active="prompts" wide>
        <link rel="stylesheet" href={PROMPTS_CSS} />
        {body}
      </Layout>,
    ),
    status,
  );
}

/** The field errors of a refusal from the prompt service, or rethrows what is not one (5xx, programming errors). */
export function fieldErrors(e: unknown): { status: number; errors: Errors; message: string } {
  if (!(e instanceof ApiError) || e.status >= 500) throw e;
  return { status: e.status, errors: { ...e.details }, message: e.message };
}
