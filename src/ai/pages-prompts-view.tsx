/**
 * One prompt, `/prompts/:prompt` (`?v=N` for an older version): its text and variables, votes,
 * the version history (who, when, what changed) with links to compare versions, and uses and
 * thumbs per version. Voting, copying into one's own prompts and deleting are forms here.
 */
import type { Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { render, type Html } from "../web/jsx/jsx-runtime.ts";
import { badRequest } from "../lib/errors.ts";
import { RelTime, userOf } from "../projects/pages-ui.tsx";
import { copyPrompt, deletePrompt, getVersion, listVersions, versionStats, votePrompt, type PromptVersion, type VersionStats } from "./prompts.ts";
import { getVisiblePrompt, type PromptSummary } from "./prompts-search.ts";
import { isRequired } from "./prompt-template.ts";
import { diffUrl, editUrl, PromptHead, promptPage, promptUrl, useUrl, versionUrl, VoteWidget, type FormCtx } from "./pages-prompts-ui.tsx";

type HistoryEntry = Omit<PromptVersion, "body" | "variables">;

function VariablesList(p: { version: PromptVersion }): Html {
  if (p.version.variables.length === 0) return <p class="muted small">No variables: the text is used as it is.</p>;
  return (
    <ul class="prompt-var-table">
      {p.version.variables.map((v) => (
        <li>
          <div class="row">
            <code>{`{{${v.name}}}`}</code>
            {isRequired(v) ? (
              <span class="badge">required</span>
            ) : (
              <span class="muted small">
                default: {v.default === "" ? "(empty)" : <span class="mono">{v.default}</span>}
              </span>
            )}
          </div>
          {v.description ? <p>{v.description}</p> : null}
        </li>
      ))}
    </ul>
  );
}

function History(p: { prompt: PromptSummary; versions: HistoryEntry[]; shown: number }): Html {
  const newestFirst = [...p.versions].reverse();
  return (
    <ol class="prompt-history" reversed>
      {newestFirst.map((v) => (
        <li class={v.version === p.shown ? "prompt-version shown" : "prompt-version"} aria-current={v.version === p.shown ? "true" : undefined}>
          <div class="row between">
            <a href={v.version === p.prompt.currentVersion ? promptUrl(p.prompt.id) : versionUrl(p.prompt.id, v.version)}>
              <strong>Version {v.version}</strong>
            </a>
            {v.version > 1 ? (
              <a class="small" href={diffUrl(p.prompt.id, v.version - 1, v.version)}>
                Changes from v{v.version - 1}
              </a>
            ) : null}
          </div>
          {v.note ? <p class="prompt-note">{v.note}</p> : null}
          <p class="muted small">
            {v.createdBy ? v.createdBy.username : "a deleted user"} · <RelTime at={v.createdAt} />
          </p>
        </li>
      ))}
    </ol>
  );
}

function CompareForm(p: { prompt: PromptSummary; versions: HistoryEntry[] }): Html | null {
  if (p.versions.length < 2) return null;
  const options = (selected: number) =>
    [...p.versions].reverse().map((v) => (
      <option value={String(v.version)} selected={v.version === selected}>
        Version {v.version}
      </option>
    ));
  return (
    <form method="get" action={`${promptUrl(p.prompt.id)}/diff`} class="prompt-compare">
      <div class="field">
        <label for="cmp-from">From</label>
        <select id="cmp-from" name="from">
          {options(p.prompt.currentVersion - 1)}
        </select>
      </div>
      <div class="field">
        <label for="cmp-to">To</label>
        <select id="cmp-to" name="to">
          {options(p.prompt.currentVersion)}
        </select>
      </div>
      <button type="submit">Compare</button>
    </form>
  );
}

function Analytics(p: { stats: VersionStats[]; current: number }): Html {
  if (p.stats.length === 0) return <p class="muted small">Not used yet. Each use of a version, and the thumbs up or down people give it, is counted here.</p>;
  return (
    <div class="table-wrap">
      <table class="list prompt-stats">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col" class="num">
              Uses
            </th>
            <th scope="col" class="num">
              <abbr title="Thumbs up: it worked">Up</abbr>
            </th>
            <th scope="col" class="num">
              <abbr title="Thumbs down: it did not">Down</abbr>
            </th>
          </tr>
        </thead>
        <tbody>
          {p.stats.map((s) => (
            <tr>
              <td>
                v{s.version}
                {s.version === p.current ? <span class="muted small"> (current)</span> : null}
              </td>
              <td class="num">{s.uses}</td>
              <td class="num">{s.up}</td>
              <td class="num">{s.down}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

async function showPrompt(ctx: Ctx): Promise<Response> {
  const orm = ctx.app.db.orm;
  const user = userOf(ctx.actor);
  const prompt = await getVisiblePrompt(orm, user.id, ctx.params.prompt ?? "");
  const asked = ctx.query.v;
  const shown = asked && /^[1-9][0-9]{0,8}$/.test(asked) ? Number(asked) : prompt.currentVersion;
  const [version, versions, stats] = await Promise.all([getVersion(orm, prompt, shown), listVersions(orm, prompt), versionStats(orm, prompt)]);
  const mine = prompt.ownerId === user.id;
  const csrf = ctx.csrf();
  const old = shown !== prompt.currentVersion;
  return promptPage(
    ctx,
    prompt.name,
    <>
      <PromptHead prompt={prompt} current="view">
        <a class="btn primary" href={old ? `${useUrl(prompt.id)}?v=${shown}` : useUrl(prompt.id)}>
          Use in chat
        </a>
        {mine ? (
          <a class="btn" href={editUrl(prompt.id)}>
            Edit
          </a>
        ) : null}
        <form method="post" action={`${promptUrl(prompt.id)}/copy`} class="inline">
          <input type="hidden" name="_csrf" value={csrf} />
          <input type="hidden" name="version" value={String(shown)} />
          <button type="submit">{mine ? "Duplicate" : "Copy to my prompts"}</button>
        </form>
      </PromptHead>
      {prompt.description ? <p class="prompt-description">{prompt.description}</p> : null}
      <div class="split">
        <div class="stack">
          {old ? (
            <div class="flash info" role="status">
              You are looking at version {shown}, not the current one. <a href={promptUrl(prompt.id)}>Show version {prompt.currentVersion}</a> ·{" "}
              <a href={diffUrl(prompt.id, shown, prompt.currentVersion)}>What changed since</a>
            </div>
          ) : null}
          <section class="card flush" aria-labelledby="prompt-text-h">
            <div class="card-head">
              <h2 id="prompt-text-h">Text · version {shown}</h2>
              <button type="button" class="small" data-copy-target="#prompt-text">
                Copy text
              </button>
            </div>
            <pre class="prompt-body" id="prompt-text" tabindex="0">
              {version.body}
            </pre>
          </section>
          <section aria-labelledby="prompt-vars-h">
            <h2 id="prompt-vars-h">Variables</h2>
            <VariablesList version={version} />
          </section>
        </div>
        <aside class="stack" aria-label="About this prompt">
          <section class="card" aria-labelledby="prompt-votes-h">
            <h2 id="prompt-votes-h" class="small-head">
              Votes
            </h2>
            <VoteWidget prompt={prompt} csrf={csrf} />
          </section>
          <section class="card" aria-labelledby="prompt-use-h">
            <h2 id="prompt-use-h" class="small-head">
              Uses per version
            </h2>
            <Analytics stats={stats} current={prompt.currentVersion} />
          </section>
          <section class="card" aria-labelledby="prompt-history-h">
            <h2 id="prompt-history-h" class="small-head">
              History
            </h2>
            <History prompt={prompt} versions={versions} shown={shown} />
            <CompareForm prompt={prompt} versions={versions} />
          </section>
          {mine ? (
            <section class="danger-zone card" aria-labelledby="prompt-delete-h">
              <h2 id="prompt-delete-h">Delete this prompt</h2>
              <p class="muted small">Its versions, votes and usage counts go with it.</p>
              <form method="post" action={`${promptUrl(prompt.id)}/delete`} data-confirm={`Delete the prompt “${prompt.name}” and all its versions?`}>
                <input type="hidden" name="_csrf" value={csrf} />
                <button type="submit" class="danger">
                  Delete prompt
                </button>
              </form>
            </section>
          ) : null}
        </aside>
      </div>
    </>,
  );
}

/** A vote from the page: htmx gets the widget back, a plain form goes back to the prompt. */
async function vote(ctx: FormCtx): Promise<Response> {
  const raw = ctx.body.value;
  if (raw !== "1" && raw !== "-1" && raw !== "0") throw badRequest("Vote with 1 (up), -1 (down) or 0 (take it back).", { value: "Choose up or down." });
  const prompt = await votePrompt(ctx.app.db.orm, userOf(ctx.actor), ctx.params.prompt ?? "", Number(raw) as -1 | 0 | 1);
  if (ctx.isHtmx) return html(render(<VoteWidget prompt={prompt} csrf={ctx.csrf()} />));
  return redirect(promptUrl(prompt.id));
}

async function copy(ctx: FormCtx): Promise<Response> {
  const v = ctx.body.version;
  const p = await copyPrompt(ctx.app.db.orm, userOf(ctx.actor), ctx.params.prompt ?? "", { version: v && /^[1-9][0-9]{0,8}$/.test(v) ? Number(v) : undefined });
  return redirect(promptUrl(p.id));
}

async function remove(ctx: FormCtx): Promise<Response> {
  await deletePrompt(ctx.app.db.orm, userOf(ctx.actor), ctx.params.prompt ?? "");
  return redirect("/prompts?deleted=1");
}

export const promptViewHandlers = { showPrompt, vote, copy, remove };
