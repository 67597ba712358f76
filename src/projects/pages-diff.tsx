/**
 * One version's page: its message, author, parent, the files it changed and the diff —
 * against its parent, another version (`?against=<sha>`) or the current files
 * (`?against=worktree`); unified by default, side by side with `?view=split`.
 */
import type { Ctx } from "../server/guard.ts";
import { html } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { displayPath, highlightFile, parseDiff, type DiffFile } from "../web/diff.ts";
import { ownerHandle } from "./projects.ts";
import { detectLanguage } from "./files.ts";
import { diffVersion, type DiffBase } from "./versions.ts";
import { blobUrl, rawUrl } from "./pages-ui.tsx";
import { ProjectHeader } from "./pages-view.tsx";
import { DiffTable, FileStat, STATUS_LABEL } from "./pages-diff-view.tsx";
import {
  Byline,
  canWrite,
  csrfIfUser,
  historyUrl,
  pageVersion,
  shortSha,
  splitMessage,
  versionRawUrl,
  versionTreeUrl,
  versionUrl,
  versionZipUrl,
} from "./pages-history-ui.tsx";

type View = "unified" | "split";

/** One side of a comparison: a version, the current files, or nothing (before the first version). */
type Side = { kind: "version"; sha: string } | { kind: "worktree" } | { kind: "empty" };

function sideLabel(s: Side): Html {
  if (s.kind === "worktree") return <>the current files</>;
  if (s.kind === "empty") return <>an empty project</>;
  return <code>{shortSha(s.sha)}</code>;
}

/** Where to look at a file on one side: a version's tree or the current files. */
function fileLinks(projectId: string, side: Side, path: string): { view: string; raw: string } | null {
  if (side.kind === "worktree") return { view: blobUrl(projectId, path), raw: rawUrl(projectId, path) };
  if (side.kind === "empty") return null;
  return { view: versionTreeUrl(projectId, side.sha, path), raw: versionRawUrl(projectId, side.sha, path) };
}

function FileSection(p: { projectId: string; file: DiffFile; index: number; view: View; from: Side; to: Side; rawDiff: string }): Html {
  const f = p.file;
  const path = displayPath(f);
  const side = f.status === "deleted" ? p.from : p.to;
  const links = fileLinks(p.projectId, side, path);
  const modeChange = f.oldMode && f.newMode && f.oldMode !== f.newMode && f.status !== "added" && f.status !== "deleted";
  let body: Html;
  if (f.binary) {
    body = (
      <p class="diff-note">
        Binary file {f.status === "added" ? "added" : f.status === "deleted" ? "removed" : "changed"}.{" "}
        {links ? <a href={links.raw}>Download it</a> : null}
      </p>
    );
  } else if (f.tooLarge) {
    body = (
      <p class="diff-note">
        This file’s changes are too large to show here (+{f.additions} −{f.deletions} lines). <a href={p.rawDiff}>Open the raw diff</a>
      </p>
    );
  } else if (f.hunks.length === 0) {
    body = (
      <p class="diff-note">
        {f.status === "renamed" ? "Renamed without changes." : f.status === "copied" ? "Copied without changes." : modeChange ? "Only the file mode changed." : f.status === "added" ? "Empty file added." : f.status === "deleted" ? "Empty file removed." : "No line changes."}
      </p>
    );
  } else {
    highlightFile(f, detectLanguage(path));
    body = <DiffTable file={f} view={p.view} label={path} />;
  }
  return (
    <section class="card flush diff-file" id={`diff-${p.index + 1}`} aria-labelledby={`diff-${p.index + 1}-name`}>
      <div class="file-bar diff-file-bar">
        <h3 class="diff-file-name" id={`diff-${p.index + 1}-name`}>
          <span class={`diff-status diff-status-${f.status}`}>{STATUS_LABEL[f.status]}</span>
          {f.oldPath && f.newPath && f.oldPath !== f.newPath ? (
            <span class="diff-path">
              {f.oldPath} <span aria-label="renamed to">→</span> {f.newPath}
            </span>
          ) : (
            <span class="diff-path">{path}</span>
          )}
        </h3>
        <span class="actions">
          <FileStat file={f} />
          {modeChange ? <span class="muted small">{`mode ${f.oldMode} → ${f.newMode}`}</span> : null}
          {links && !f.binary ? (
            <a class="btn small" href={links.view} aria-label={`View ${path}`}>
              View file
            </a>
          ) : null}
        </span>
      </div>
      {body}
    </section>
  );
}

function ViewToggle(p: { projectId: string; sha: string; against?: string; view: View; focus: boolean }): Html {
  const link = (v: View, label: string) => {
    const href = versionUrl(p.projectId, p.sha, { against: p.against, view: v });
    const current = p.view === v;
    return (
      <a
        href={href}
        class="diff-view-link"
        aria-current={current ? "true" : undefined}
        hx-get={href}
        hx-target="#diff"
        hx-select="#diff"
        hx-swap="outerHTML"
        hx-push-url="true"
        autofocus={current && p.focus}
      >
        {label}
      </a>
    );
  };
  return (
    <nav class="diff-views" aria-label="Diff layout">
      {link("unified", "Unified")}
      {link("split", "Side by side")}
    </nav>
  );
}

export async function showVersion(ctx: Ctx): Promise<Response> {
  const { project } = ctx;
  const dataDir = ctx.app.config.dataDir;
  const view: View = ctx.query.view === "split" ? "split" : "unified";
  const againstRaw = ctx.query.against;
  const version = await pageVersion(ctx, ctx.params.sha ?? "");

  let base: DiffBase;
  let from: Side;
  let to: Side = { kind: "version", sha: version.id };
  let against: string | undefined;
  if (againstRaw === "worktree") {
    base = { kind: "worktree" };
    from = { kind: "version", sha: version.id };
    to = { kind: "worktree" };
    against = "worktree";
  } else if (againstRaw && againstRaw !== "parent") {
    const other = await pageVersion(ctx, againstRaw);
    base = { kind: "version", rev: other.id };
    from = { kind: "version", sha: other.id };
    against = other.id;
  } else {
    base = { kind: "parent" };
    const parent = version.parents[0];
    from = parent ? { kind: "version", sha: parent } : { kind: "empty" };
  }

  const [diff, owner] = await Promise.all([diffVersion(dataDir, project, version.id, base), ownerHandle(ctx.app.db.orm, project)]);
  const parsed = parseDiff(diff.text);
  const additions = parsed.files.reduce((n, f) => n + f.additions, 0);
  const deletions = parsed.files.reduce((n, f) => n + f.deletions, 0);
  const rawDiff = `/api/v1/projects/${encodeURIComponent(project.id)}/versions/${version.id}/diff${against ? `?against=${against}` : ""}`;
  const { subject, body } = splitMessage(version.message);
  const writer = canWrite(ctx);
  const short = shortSha(version.id);

  return html(
    doc(
      <Layout title={`${subject} · ${short} · ${project.name}`} actor={ctx.actor} csrf={csrfIfUser(ctx)} wide>
        <ProjectHeader project={project} owner={owner} canAdmin={ctx.access === "admin"} canWrite={writer} tab="history" />
        <div class="stack">
          <nav aria-label="Breadcrumb">
            <ol class="breadcrumbs">
              <li>
                <a href={historyUrl(project.id)}>History</a>
              </li>
              <li>
                <span aria-current="page">Version {short}</span>
              </li>
            </ol>
          </nav>
          <section class="card history-version" aria-labelledby="version-heading">
            <h2 id="version-heading" class="history-title">
              {subject}
            </h2>
            {body ? <pre class="history-message">{body}</pre> : null}
            <Byline version={version} />
            <dl class="history-facts">
              <dt>Version</dt>
              <dd>
                <code class="history-full-sha">{version.id}</code>{" "}
                <button type="button" class="small" data-copy={version.id} aria-label="Copy the version id">
                  Copy
                </button>
              </dd>
              <dt>{version.parents.length > 1 ? "Parents" : "Parent"}</dt>
              <dd>
                {version.parents.length === 0
                  ? "None — this is the first version."
                  : version.parents.map((sha, i) => (
                      <>
                        {i > 0 ? ", " : null}
                        <a href={versionUrl(project.id, sha)} class="mono">
                          {shortSha(sha)}
                        </a>
                      </>
                    ))}
              </dd>
            </dl>
            <div class="history-actions">
              <a class="btn" href={versionTreeUrl(project.id, version.id)}>
                Browse files
              </a>
              <a class="btn" href={versionZipUrl(project.id, version.id)} download>
                Download zip
              </a>
              {against === "worktree" ? (
                <a class="btn" href={versionUrl(project.id, version.id, { view })}>
                  Compare with its parent
                </a>
              ) : (
                <a class="btn" href={versionUrl(project.id, version.id, { against: "worktree", view })}>
                  Compare with current files
                </a>
              )}
              {writer ? (
                <form
                  method="post"
                  action={`${historyUrl(project.id)}/${version.id}/restore`}
                  class="inline"
                  data-confirm={`Restore version ${short}? Its files become a new version; unsaved edits are saved first and no version is lost.`}
                >
                  <input type="hidden" name="_csrf" value={ctx.csrf()} />
                  <button type="submit" class="danger">
                    Restore this version
                  </button>
                </form>
              ) : null}
            </div>
            <details class="history-compare">
              <summary>Compare with another version…</summary>
              <form method="get" action={versionUrl(project.id, version.id)} class="history-compare-form">
                <label for="f-against">Version id</label>
                <input id="f-against" name="against" type="text" class="mono" required pattern="[0-9a-fA-F]{4,64}" autocomplete="off" spellcheck="false" placeholder="e.g. 3f2a1bc" />
                {view === "split" ? <input type="hidden" name="view" value="split" /> : null}
                <button type="submit">Compare</button>
              </form>
            </details>
          </section>

          <div id="diff" class="stack">
            <div class="diff-toolbar">
              <p class="diff-summary">
                {against === undefined && from.kind === "empty" ? "Files of the first version" : <>Changes from {sideLabel(from)} to {sideLabel(to)}</>}
                {": "}
                <strong>{`${parsed.files.length} ${parsed.files.length === 1 ? "file" : "files"} changed`}</strong>
                {", "}
                <span class="diff-plus">+{additions}</span> <span class="diff-minus">−{deletions}</span>
              </p>
              <ViewToggle projectId={project.id} sha={version.id} against={against} view={view} focus={ctx.isHtmx} />
            </div>
            {diff.truncated || parsed.cut ? (
              <p class="history-unsaved" role="note">
                {diff.truncated ? "This diff is larger than 20 MB and was cut; the last files may be incomplete. " : "Some files’ changes are too large to show here. "}
                <a href={rawDiff}>Open the raw diff</a>
              </p>
            ) : null}
            {parsed.files.length === 0 ? (
              <p class="diff-note card">{against === "worktree" ? "The current files are exactly this version’s." : "No files changed."}</p>
            ) : (
              <>
                <nav class="card flush diff-files" aria-label="Changed files">
                  <ol>
                    {parsed.files.map((f, i) => (
                      <li>
                        <span class={`diff-status diff-status-${f.status}`}>{STATUS_LABEL[f.status]}</span>
                        <a href={`#diff-${i + 1}`} class="diff-path">
                          {displayPath(f)}
                        </a>
                        <FileStat file={f} />
                      </li>
                    ))}
                  </ol>
                </nav>
                {parsed.files.map((f, i) => (
                  <FileSection projectId={project.id} file={f} index={i} view={view} from={from} to={to} rawDiff={rawDiff} />
                ))}
              </>
            )}
          </div>
        </div>
      </Layout>,
    ),
  );
}
