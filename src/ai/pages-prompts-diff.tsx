/**
 * `/prompts/:prompt/diff?from=&to=[&view=split]`: what changed in the text between two versions,
 * drawn with the project diff table (projects/pages-diff-view.tsx), plus the variables that
 * were added, removed or re-described and each version's note.
 */
import type { Ctx } from "../server/guard.ts";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { RelTime, userOf } from "../projects/pages-ui.tsx";
import { DiffTable, FileStat } from "../projects/pages-diff-view.tsx";
import { getVersion, listVersions, type PromptVersion } from "./prompts.ts";
import { getVisiblePrompt } from "./prompts-search.ts";
import { asDiffFile, diffPromptTexts, type VariableChanges } from "./prompt-diff.ts";
import { PromptHead, promptPage, promptUrl, versionUrl } from "./pages-prompts-ui.tsx";

type View = "unified" | "split";

function versionParam(raw: string | undefined): number | undefined {
  return raw && /^[1-9][0-9]{0,8}$/.test(raw) ? Number(raw) : undefined;
}

function VariableChangeList(p: { changes: VariableChanges }): Html | null {
  const { added, removed, changed } = p.changes;
  if (added.length + removed.length + changed.length === 0) return null;
  const names = (list: string[]) => list.map((n, i) => (
    <>
      {i > 0 ? ", " : ""}
      <code>{`{{${n}}}`}</code>
    </>
  ));
  return (
    <ul class="prompt-var-changes">
      {added.length > 0 ? <li>Variables added: {names(added)}</li> : null}
      {removed.length > 0 ? <li>Variables removed: {names(removed)}</li> : null}
      {changed.length > 0 ? <li>Description or default changed: {names(changed)}</li> : null}
    </ul>
  );
}

function VersionNote(p: { promptId: string; v: PromptVersion }): Html {
  return (
    <li>
      <a href={versionUrl(p.promptId, p.v.version)}>
        <strong>Version {p.v.version}</strong>
      </a>{" "}
      <span class="muted small">
        {p.v.createdBy ? p.v.createdBy.username : "a deleted user"} · <RelTime at={p.v.createdAt} />
      </span>
      {p.v.note ? <p class="prompt-note">{p.v.note}</p> : null}
    </li>
  );
}

async function showDiff(ctx: Ctx): Promise<Response> {
  const orm = ctx.app.db.orm;
  const prompt = await getVisiblePrompt(orm, userOf(ctx.actor).id, ctx.params.prompt ?? "");
  const to = versionParam(ctx.query.to) ?? prompt.currentVersion;
  const from = versionParam(ctx.query.from) ?? Math.max(1, to - 1);
  const view: View = ctx.query.view === "split" ? "split" : "unified";
  const [a, b, versions] = await Promise.all([getVersion(orm, prompt, from), getVersion(orm, prompt, to), listVersions(orm, prompt)]);
  const diff = diffPromptTexts({ body: a.body, variables: a.variables, label: `v${from}` }, { body: b.body, variables: b.variables, label: `v${to}` });
  const file = asDiffFile(diff, prompt.name);
  const base = `${promptUrl(prompt.id)}/diff?from=${from}&to=${to}`;
  const options = (selected: number) =>
    [...versions].reverse().map((v) => (
      <option value={String(v.version)} selected={v.version === selected}>
        Version {v.version}
      </option>
    ));
  const viewLink = (v: View, label: string) => (
    <a href={v === "split" ? `${base}&view=split` : base} class="diff-view-link" aria-current={view === v ? "true" : undefined}>
      {label}
    </a>
  );
  return promptPage(
    ctx,
    `Changes to ${prompt.name}`,
    <>
      <PromptHead prompt={prompt} current="diff" title={`Changes to “${prompt.name}”`} />
      <form method="get" action={`${promptUrl(prompt.id)}/diff`} class="prompt-compare card">
        <div class="field">
          <label for="diff-from">From</label>
          <select id="diff-from" name="from">
            {options(from)}
          </select>
        </div>
        <div class="field">
          <label for="diff-to">To</label>
          <select id="diff-to" name="to">
            {options(to)}
          </select>
        </div>
        {view === "split" ? <input type="hidden" name="view" value="split" /> : null}
        <button type="submit">Compare</button>
      </form>
      <div class="stack mt" id="diff">
        <div class="diff-toolbar">
          <p class="diff-summary">
            Changes from version {from} to version {to}: <span class="diff-plus">+{diff.additions}</span> <span class="diff-minus">−{diff.deletions}</span>{" "}
            {diff.additions + diff.deletions === 1 ? "line" : "lines"}
          </p>
          <nav class="diff-views" aria-label="Diff layout">
            {viewLink("unified", "Unified")}
            {viewLink("split", "Side by side")}
          </nav>
        </div>
        <VariableChangeList changes={diff.variables} />
        {diff.hunks.length === 0 ? (
          <p class="diff-note card">{from === to ? "That is the same version twice." : "The texts of these versions are identical."}</p>
        ) : (
          <section class="card flush diff-file" aria-labelledby="prompt-diff-name">
            <div class="file-bar diff-file-bar">
              <h2 class="diff-file-name" id="prompt-diff-name">
                <span class="diff-path">
                  v{from} → v{to}
                </span>
              </h2>
              <span class="actions">
                <FileStat file={file} />
              </span>
            </div>
            <DiffTable file={file} view={view} label={`the prompt from version ${from} to ${to}`} />
          </section>
        )}
        <section aria-labelledby="prompt-diff-notes">
          <h2 id="prompt-diff-notes" class="small-head">
            The versions compared
          </h2>
          <ul class="prompt-history plain">
            <VersionNote promptId={prompt.id} v={a} />
            {to !== from ? <VersionNote promptId={prompt.id} v={b} /> : null}
          </ul>
        </section>
      </div>
    </>,
  );
}

export const promptDiffHandlers = { showDiff };
