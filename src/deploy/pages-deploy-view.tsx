/**
 * The Deploy view: the app's address and live deployment, the Deploy button (or why deploying
 * is not available), the log of one deployment and the history with its actions. One
 * component serves the project's Deploy page and the IDE's Deploy panel (`panel`: links and
 * forms then swap the panel with htmx instead of leaving the IDE). public/deploy.js streams
 * the log and keeps the status current; without it the page shows the log so far and a
 * refresh link. No data access here.
 */
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import { jsx } from "../web/jsx/jsx-runtime.ts";
import type { Project } from "../db/schema.ts";
import { projectUrl, RelTime } from "../projects/pages-ui.tsx";
import { IN_PROGRESS, type Deployment } from "./deployments.ts";
import type { LogLine } from "./logs.ts";
import type { DeployKind, DeployStatus } from "./types.ts";

export const DEPLOY_JS = "/assets/deploy.js";
export const DEPLOY_CSS = "/assets/deploy.css";

/** The log shows at most this many lines in the page; the full log is a link away. */
export const LOG_LINES_SHOWN = 2000;

export const deployUrl = (projectId: string) => `${projectUrl(projectId)}/deploy`;
export const deploymentActionUrl = (projectId: string, deploymentId: string, action: DeploymentAction) =>
  `${projectUrl(projectId)}/deployments/${encodeURIComponent(deploymentId)}/${action}`;
export const deploymentLogUrl = (deploymentId: string) => `/api/v1/deployments/${encodeURIComponent(deploymentId)}/logs`;

/** Where the view shows a deployment; in the panel the IDE stays open (`panel=1`). */
export function selectUrl(projectId: string, deploymentId: string | undefined, panel: boolean): string {
  const q = new URLSearchParams();
  if (deploymentId) q.set("d", deploymentId);
  if (panel) q.set("panel", "1");
  const s = q.toString();
  return s ? `${deployUrl(projectId)}?${s}` : deployUrl(projectId);
}

export type DeploymentAction = "rollback" | "stop" | "restart" | "delete";

export const STATUS_LABEL: Record<DeployStatus, string> = {
  queued: "Queued",
  building: "Building",
  starting: "Starting",
  live: "Live",
  failed: "Failed",
  stopped: "Stopped",
  superseded: "Replaced",
};

const STATUS_HELP: Record<DeployStatus, string> = {
  queued: "Waiting for the deployments before it to finish",
  building: "Installing dependencies and running the build",
  starting: "The app is starting; it goes live once its health check passes",
  live: "Serving the app's address",
  failed: "The build or the health check failed; what was live before stays live",
  stopped: "Stopped by someone; not serving",
  superseded: "A newer deployment replaced it",
};

const KIND_LABEL: Record<DeployKind, string> = { static: "Static site", bun: "Bun app", dockerfile: "Dockerfile" };

/** Which actions a deployment offers, by its status (the service re-checks each one). */
export function actionsFor(d: Deployment): DeploymentAction[] {
  const out: DeploymentAction[] = [];
  if ((d.status === "superseded" || d.status === "stopped") && d.liveAt !== null) out.push("rollback");
  if (d.status === "live") out.push("restart");
  if (d.status === "live" || IN_PROGRESS.includes(d.status)) out.push("stop");
  if (d.status === "failed" || d.status === "stopped" || d.status === "superseded") out.push("delete");
  return out;
}

/** Log lines that say something went wrong are marked (public/deploy.js uses the same rule). */
const PROBLEM_LINE = /^(deployment failed|error|restart failed|cannot deploy)\b/i;

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const min = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${min} min ${s} s` : `${min} min`;
}

/** From the start of its build to live (or to its end); null while it has neither. */
function durationOf(d: Deployment): number | null {
  const end = d.liveAt ?? d.finishedAt;
  if (end === null) return null;
  return Math.max(0, end - (d.startedAt ?? d.createdAt));
}

export function StatusBadge(p: { status: DeployStatus; id?: string }): Html {
  return (
    <span class="badge deploy-status" data-status={p.status} id={p.id} title={STATUS_HELP[p.status]}>
      <span class="deploy-dot" aria-hidden="true"></span>
      <span class="deploy-status-text">{STATUS_LABEL[p.status]}</span>
    </span>
  );
}

/** h2 on the page (under the project's h1), h3 in the IDE panel (under its "Deploy" h2). */
function Heading(p: { panel: boolean; id: string; children?: Child }): Html {
  return jsx(p.panel ? "h3" : "h2", { id: p.id, children: p.children });
}

function ExternalLink(p: { href: string; id?: string }): Html {
  return (
    <a href={p.href} id={p.id} class="mono deploy-url" target="_blank" rel="noopener noreferrer">
      {p.href}
    </a>
  );
}

export type DeployViewProps = {
  project: Project;
  canWrite: boolean;
  csrf?: string;
  /** Why deploying does not work right now (checked for writers only), null when it does. */
  unavailable: string | null;
  /** The address the app is served at (null when the project's owner cannot be found). */
  appUrl: string | null;
  deployments: Deployment[];
  /** The deployment whose log is shown. */
  selected: Deployment | undefined;
  log: LogLine[];
  /** createdBy → display name. */
  names: Map<string, string>;
  panel: boolean;
  /** The outcome of an action that could not be done (shown above everything). */
  error?: string;
  notice?: string;
};

/** The whole Deploy view; its root is what htmx swaps (`#deploy-view`). */
export function DeployView(p: DeployViewProps): Html {
  const live = p.deployments.find((d) => d.status === "live");
  return (
    <div
      class={p.panel ? "deploy deploy-in-panel" : "deploy"}
      id="deploy-view"
      data-deploy-view
      data-refresh-url={selectUrl(p.project.id, p.selected?.id, p.panel)}
    >
      {p.error || p.notice ? (
        <div class="deploy-flashes">
          {p.error ? (
            <p class="flash error" role="alert">
              {p.error}
            </p>
          ) : null}
          {p.notice ? (
            <p class="flash info" role="status">
              {p.notice}
            </p>
          ) : null}
        </div>
      ) : null}
      <Summary {...p} live={live} />
      {p.selected ? <LogViewer {...p} d={p.selected} /> : null}
      <History {...p} />
    </div>
  );
}

function Summary(p: DeployViewProps & { live: Deployment | undefined }): Html {
  const inProgress = p.deployments.find((d) => IN_PROGRESS.includes(d.status));
  return (
    <section class="card deploy-summary" id="deploy-summary" data-deploy-part aria-labelledby="deploy-summary-heading">
      <Heading panel={p.panel} id="deploy-summary-heading">
        App
      </Heading>
      <dl class="deploy-facts">
        <div>
          <dt>Address</dt>
          <dd>
            {p.appUrl && p.live ? (
              <ExternalLink href={p.appUrl} />
            ) : p.appUrl ? (
              <>
                <span class="mono">{p.appUrl}</span> <span class="muted small">(nothing is live)</span>
              </>
            ) : (
              <span class="muted">Unknown</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Live</dt>
          <dd>
            {p.live ? (
              <>
                <DeploymentLink {...p} d={p.live} label={`Deployment #${p.live.number}`} />
                {p.live.liveAt !== null ? (
                  <span class="muted">
                    , since <RelTime at={p.live.liveAt} />
                  </span>
                ) : null}
              </>
            ) : (
              <span class="muted">Nothing is live.</span>
            )}
          </dd>
        </div>
      </dl>
      <DeployAction {...p} inProgress={inProgress} />
    </section>
  );
}

function DeployAction(p: DeployViewProps & { live: Deployment | undefined; inProgress: Deployment | undefined }): Html {
  if (!p.canWrite) return <p class="muted small">You can read this project but not deploy it.</p>;
  if (p.unavailable !== null) {
    return (
      <div class="deploy-unavailable" id="deploy-unavailable" role="note">
        <p>
          <strong>Deploying is not available on this server right now.</strong>
        </p>
        <p class="mono small">{p.unavailable}</p>
        <p class="muted small">
          Deployments need Docker and Caddy on the server; an administrator can fix this.{" "}
          <a
            href={selectUrl(p.project.id, p.selected?.id, false)}
            hx-get={p.panel ? selectUrl(p.project.id, p.selected?.id, true) : undefined}
            hx-target={p.panel ? "#deploy-view" : undefined}
            hx-swap={p.panel ? "outerHTML" : undefined}
          >
            Check again
          </a>
        </p>
      </div>
    );
  }
  const action = `${deployUrl(p.project.id)}`;
  return (
    <form
      method="post"
      action={action}
      class="deploy-form"
      hx-post={p.panel ? action : undefined}
      hx-target={p.panel ? "#deploy-view" : undefined}
      hx-swap={p.panel ? "outerHTML" : undefined}
      hx-disabled-elt={p.panel ? "find button" : undefined}
    >
      <input type="hidden" name="_csrf" value={p.csrf} />
      {p.panel ? <input type="hidden" name="panel" value="1" /> : null}
      <button type="submit" class="primary" id="deploy-button" aria-describedby="deploy-button-hint">
        {p.live ? "Deploy again" : "Deploy"}
      </button>
      <p class="hint" id="deploy-button-hint">
        {p.inProgress
          ? `Deployment #${p.inProgress.number} is ${STATUS_LABEL[p.inProgress.status].toLowerCase()}; a new one waits for it.`
          : p.live
            ? "Builds the files as they are now; the live app keeps serving until the new one passes its health check."
            : "Builds the files as they are now and serves them at the address above."}
      </p>
    </form>
  );
}

function LogViewer(p: DeployViewProps & { d: Deployment }): Html {
  const { d } = p;
  const follows = d.status === "live" || IN_PROGRESS.includes(d.status);
  const shown = p.log.length > LOG_LINES_SHOWN ? p.log.slice(-LOG_LINES_SHOWN) : p.log;
  const last = p.log.at(-1)?.n ?? 0;
  const liveUrl = d.status === "live" ? p.appUrl : null;
  return (
    <section
      class="card flush deploy-log"
      id="deploy-log"
      aria-labelledby="deploy-log-heading"
      data-deploy-log
      data-deployment-id={d.id}
      data-status={d.status}
      data-stream={follows ? deploymentLogUrl(d.id) : undefined}
      data-last-line={last}
    >
      <div class="card-head deploy-log-head">
        <Heading panel={p.panel} id="deploy-log-heading">
          Deployment #{d.number}
        </Heading>
        <StatusBadge status={d.status} id="deploy-log-status" />
        {/* Status changes are spoken here (public/deploy.js); the badge beside it only shows them. */}
        <span role="status" aria-live="polite" class="visually-hidden" data-deploy-announce></span>
        <span class="grow"></span>
        <a href={`${deploymentLogUrl(d.id)}?follow=0`} class="small" title="The whole log as plain text" target={p.panel ? "_blank" : undefined}>
          Raw log
        </a>
        {follows ? (
          <a href={selectUrl(p.project.id, d.id, false)} class="small" data-deploy-refresh>
            Refresh
          </a>
        ) : null}
      </div>
      <p class="deploy-live-line" data-deploy-live-line hidden={liveUrl === null}>
        Live at {liveUrl ? <ExternalLink href={liveUrl} id="deploy-live-url" /> : <a class="mono deploy-url" id="deploy-live-url" target="_blank" rel="noopener noreferrer"></a>}
      </p>
      <p class="deploy-log-error" id="deploy-log-error" hidden={!d.error}>
        <strong>Why it failed:</strong> <span data-deploy-error>{d.error ?? ""}</span>
      </p>
      {p.log.length > shown.length ? (
        <p class="muted small deploy-log-cut">
          The first {p.log.length - shown.length} lines are left out here; the <a href={`${deploymentLogUrl(d.id)}?follow=0`}>raw log</a> has them all.
        </p>
      ) : null}
      <pre class="deploy-log-lines" id="deploy-log-lines" tabindex="0" role="region" aria-label={`Log of deployment #${d.number}`} data-deploy-lines>
        {shown.map((l) => (
          <span class={PROBLEM_LINE.test(l.text) ? "deploy-line problem" : "deploy-line"}>{`${l.text}\n`}</span>
        ))}
      </pre>
      <p class="deploy-log-empty muted small" data-deploy-empty hidden={p.log.length > 0}>
        No log lines yet.
      </p>
      <div class="deploy-log-foot">
        <button type="button" class="small" data-deploy-follow hidden>
          Jump to the newest line
        </button>
        <span class="muted small" data-deploy-stream-note>
          {follows ? "This shows the log so far; refresh for newer lines." : "This deployment has ended; its log is complete."}
        </span>
      </div>
    </section>
  );
}

function History(p: DeployViewProps): Html {
  const numbers = new Map(p.deployments.map((d) => [d.id, d.number]));
  return (
    <section class="card flush deploy-history" id="deploy-history" data-deploy-part aria-labelledby="deploy-history-heading">
      <div class="card-head">
        <Heading panel={p.panel} id="deploy-history-heading">
          History
        </Heading>
      </div>
      {p.deployments.length === 0 ? (
        <p class="pad muted">{p.canWrite && p.unavailable === null ? "No deployments yet. Press Deploy to publish this project." : "This project has not been deployed yet."}</p>
      ) : (
        <ol class="plain deploy-items">
          {p.deployments.map((d) => (
            <HistoryItem {...p} d={d} rollbackOf={d.rollbackOf ? numbers.get(d.rollbackOf) : undefined} />
          ))}
        </ol>
      )}
    </section>
  );
}

/** Shows a deployment's log: a page link, or in the panel an htmx swap of the view (the link still works on its own). */
function DeploymentLink(p: DeployViewProps & { d: Deployment; label: string; className?: string; current?: boolean }): Html {
  return (
    <a
      href={selectUrl(p.project.id, p.d.id, false)}
      class={p.className}
      aria-current={p.current ? "true" : undefined}
      title={`Show the log of deployment #${p.d.number}`}
      hx-get={p.panel ? selectUrl(p.project.id, p.d.id, true) : undefined}
      hx-target={p.panel ? "#deploy-view" : undefined}
      hx-swap={p.panel ? "outerHTML" : undefined}
    >
      {p.label}
    </a>
  );
}

const ACTION_LABEL: Record<DeploymentAction, string> = { rollback: "Roll back", stop: "Stop", restart: "Restart", delete: "Delete" };

function HistoryItem(p: DeployViewProps & { d: Deployment; rollbackOf: number | undefined }): Html {
  const { d } = p;
  const took = durationOf(d);
  const who = d.createdBy ? (p.names.get(d.createdBy) ?? "A deleted user") : "Wove";
  const current = p.selected?.id === d.id;
  return (
    <li class="deploy-item" data-deployment-id={d.id} data-status={d.status}>
      <div class="deploy-item-head">
        <DeploymentLink {...p} d={d} label={`#${d.number}`} className="deploy-item-number" current={current} />
        <StatusBadge status={d.status} />
        {d.kind ? <span class="muted small">{KIND_LABEL[d.kind]}</span> : null}
        {p.rollbackOf !== undefined || d.rollbackOf ? <span class="muted small">rollback to {p.rollbackOf !== undefined ? `#${p.rollbackOf}` : "an older one"}</span> : null}
      </div>
      <p class="deploy-item-meta muted small">
        {who} · <RelTime at={d.createdAt} />
        {took !== null ? ` · took ${formatDuration(took)}` : null}
        {d.restarts > 0 ? ` · restarted ${d.restarts} ${d.restarts === 1 ? "time" : "times"}` : null}
      </p>
      {d.error ? <p class="deploy-item-error small">{d.error}</p> : null}
      {p.canWrite ? <ItemActions {...p} /> : null}
    </li>
  );
}

function ItemActions(p: DeployViewProps & { d: Deployment }): Html | null {
  const actions = actionsFor(p.d);
  if (actions.length === 0) return null;
  const confirm: Partial<Record<DeploymentAction, string>> = {
    stop: p.d.status === "live" ? `Stop deployment #${p.d.number}? The app goes offline until you deploy or roll back.` : undefined,
    delete: `Delete deployment #${p.d.number} with its log and build? This cannot be undone.`,
  };
  return (
    <div class="deploy-item-actions">
      {actions.map((a) => {
        const action = deploymentActionUrl(p.project.id, p.d.id, a);
        return (
          <form
            method="post"
            action={action}
            class="inline"
            data-confirm={confirm[a]}
            hx-post={p.panel ? action : undefined}
            hx-target={p.panel ? "#deploy-view" : undefined}
            hx-swap={p.panel ? "outerHTML" : undefined}
            hx-disabled-elt={p.panel ? "find button" : undefined}
          >
            <input type="hidden" name="_csrf" value={p.csrf} />
            {p.panel ? <input type="hidden" name="panel" value="1" /> : null}
            {p.selected ? <input type="hidden" name="d" value={p.selected.id} /> : null}
            <button type="submit" class={a === "delete" || a === "stop" ? "small danger" : "small"} aria-label={`${ACTION_LABEL[a]} deployment #${p.d.number}`}>
              {ACTION_LABEL[a]}
            </button>
          </form>
        );
      })}
    </div>
  );
}
