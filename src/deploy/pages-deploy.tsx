/**
 * The project's Deploy page (`/projects/:id/deploy`) and its forms: Deploy, and per deployment
 * Roll back, Stop, Restart and Delete. Readers see the address, the log and the history;
 * writers also get the actions. The same handler answers htmx with the view alone — the IDE's
 * Deploy panel loads it with `?panel=1`, and its forms (sent with `panel=1`) get the view back
 * instead of a redirect, so the IDE stays open. The work is in service.ts (the Deployer).
 */
import { getUser } from "../auth/users.ts";
import { ApiError, notFound } from "../lib/errors.ts";
import { atLeast } from "../projects/access.ts";
import { ownerHandle } from "../projects/projects.ts";
import { FormFields } from "../projects/pages-ui.tsx";
import { ProjectHeader } from "../projects/pages-view.tsx";
import { forkedFromFor } from "../projects/pages-fork.tsx";
import { actorIdOf, route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { render } from "../web/jsx/jsx-runtime.ts";
import { doc, Layout } from "../web/layout.tsx";
import { getDeployment, listDeployments, type Deployment } from "./deployments.ts";
import { hostsOf } from "./pipeline.ts";
import { deployerFor } from "./start.ts";
import { DEPLOY_CSS, DEPLOY_JS, DeployView, selectUrl, type DeploymentAction } from "./pages-deploy-view.tsx";

type PageCtx = Ctx | Ctx<Record<string, string>>;

type Outcome = {
  /** The deployment whose log to show; default: the newest. */
  selectedId?: string;
  error?: string;
  status?: number;
};

/** Display names of the people who pressed Deploy (a handful per page). */
async function namesOf(ctx: PageCtx, rows: Deployment[]): Promise<Map<string, string>> {
  const ids = [...new Set(rows.map((d) => d.createdBy).filter((id): id is string => id !== null))];
  const users = await Promise.all(ids.map((id) => getUser(ctx.app.db.orm, id)));
  const names = new Map<string, string>();
  for (const u of users) if (u) names.set(u.id, u.name || u.username);
  return names;
}

/** True when the request wants the view for the IDE's panel (a query or form field). */
function inPanel(ctx: PageCtx): boolean {
  const fromForm = typeof ctx.body === "object" && ctx.body !== null ? (ctx.body as Record<string, string>).panel : undefined;
  return (ctx.query as Record<string, string | undefined>).panel === "1" || fromForm === "1";
}

/** The page, or the view alone for htmx (the IDE panel, and the page's own refreshes in public/deploy.js). */
async function showDeploy(ctx: PageCtx, o: Outcome = {}): Promise<Response> {
  const { project } = ctx;
  const orm = ctx.app.db.orm;
  const canWrite = atLeast(ctx.access, "write");
  const deployer = deployerFor(ctx.app);
  // Only writers can deploy, so only they make Wove reach Docker and Caddy from this page.
  const [rows, where, unavailable] = await Promise.all([listDeployments(orm, project.id), hostsOf(ctx.app, project.id), canWrite ? deployer.unavailable() : null]);
  let selected = o.selectedId ? rows.find((d) => d.id === o.selectedId) : rows[0];
  let notice: string | undefined;
  if (o.selectedId && !selected) {
    // An older deployment than the history lists, or a stale link (it was deleted, or belongs elsewhere).
    const found = await getDeployment(orm, o.selectedId);
    selected = found?.projectId === project.id ? found : rows[0];
    if (!selected || selected.id !== o.selectedId) notice = "That deployment no longer exists; showing the newest one.";
  }
  const panel = inPanel(ctx);
  const csrf = ctx.actor.kind === "user" ? ctx.csrf() : undefined;
  const view = (
    <DeployView
      project={project}
      canWrite={canWrite}
      csrf={csrf}
      unavailable={unavailable}
      appUrl={where?.url ?? null}
      deployments={rows}
      selected={selected}
      log={selected ? deployer.logs.read(selected.id) : []}
      names={await namesOf(ctx, rows)}
      panel={panel}
      error={o.error}
      notice={notice}
    />
  );
  const status = o.status ?? 200;
  if (ctx.isHtmx) return html(render(view), status, { "Cache-Control": "no-store" });
  const owner = await ownerHandle(orm, project);
  return html(
    doc(
      <Layout title={`Deploy · ${project.name}`} actor={ctx.actor} csrf={csrf} wide>
        <link rel="stylesheet" href={DEPLOY_CSS} />
        <ProjectHeader
          project={project}
          owner={owner}
          canAdmin={ctx.access === "admin"}
          tab="deploy"
          canFork={ctx.actor.kind === "user"}
          forkedFrom={await forkedFromFor(ctx as Ctx, project)}
        />
        {view}
        <script src={DEPLOY_JS} defer></script>
      </Layout>,
    ),
    status,
    { "Cache-Control": "no-store" },
  );
}

/** After an action: the view again for the panel, else back to the page (post/redirect/get). */
function done(ctx: Ctx<Record<string, string>>, selectedId: string | undefined): Promise<Response> | Response {
  if (ctx.isHtmx && inPanel(ctx)) return showDeploy(ctx, { selectedId });
  return redirect(selectUrl(ctx.project.id, selectedId, false));
}

/**
 * Runs an action; a refusal the person can act on (409: already live, in use …; 503: Docker
 * or Caddy unreachable) is shown above the view with its status instead of an error page.
 */
async function attempt(ctx: Ctx<Record<string, string>>, work: () => Promise<string | undefined>): Promise<Response> {
  let selectedId: string | undefined;
  try {
    selectedId = await work();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 409 || e.status === 503)) {
      return showDeploy(ctx, { selectedId: ctx.body.d || undefined, error: e.message, status: e.status });
    }
    throw e;
  }
  return done(ctx, selectedId);
}

/** The deployment named by :did, when it belongs to this project (anything else is 404, as if it did not exist). */
async function deploymentOf(ctx: Ctx<Record<string, string>>): Promise<Deployment> {
  const d = await getDeployment(ctx.app.db.orm, ctx.params.did ?? "");
  if (!d || d.projectId !== ctx.project.id) throw notFound("Deployment");
  return d;
}

async function runAction(ctx: Ctx<Record<string, string>>, action: DeploymentAction): Promise<Response> {
  const d = await deploymentOf(ctx);
  const deployer = deployerFor(ctx.app);
  const actor = actorIdOf(ctx);
  return attempt(ctx, async () => {
    switch (action) {
      case "rollback":
        return (await deployer.rollback(d, ctx.project, actor)).id;
      case "stop":
        await deployer.stop(d, actor);
        return d.id;
      case "restart":
        await deployer.restart(d, actor);
        return d.id;
      case "delete": {
        await deployer.remove(d);
        const back = ctx.body.d;
        return back && back !== d.id ? back : undefined;
      }
    }
  });
}

const actionRoute = (action: DeploymentAction, summary: string) =>
  route({
    method: "POST",
    path: `/projects/:id/deployments/:did/${action}`,
    permission: "project:write",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary,
    tags: ["pages", "deploy"],
    responses: { 303: "Done", 409: "Not possible in the deployment's state", 503: "Deployment is not available on this server" },
    handler: (ctx) => runAction(ctx, action),
  });

export const deployPageRoutes = [
  route({
    method: "GET",
    path: "/projects/:id/deploy",
    permission: "project:read",
    kind: "page",
    summary:
      "The Deploy page: the app's address, the live deployment, a deployment's log (`?d=`; streamed by public/deploy.js) and the history; " +
      "writers get Deploy and the per-deployment actions. htmx gets the view alone (`?panel=1`: for the IDE's Deploy panel).",
    tags: ["pages", "deploy"],
    handler: (ctx) => showDeploy(ctx, { selectedId: ctx.query.d || undefined }),
  }),
  route({
    method: "POST",
    path: "/projects/:id/deploy",
    permission: "project:write",
    kind: "page",
    bodyKind: "form",
    body: FormFields,
    summary: "Deploy the project's files now; 303 to the Deploy page showing the new deployment's log (the IDE panel gets the view back).",
    tags: ["pages", "deploy"],
    responses: { 303: "Queued", 503: "Deployment is not available on this server" },
    handler: (ctx) => attempt(ctx, async () => (await deployerFor(ctx.app).deploy(ctx.project, actorIdOf(ctx))).id),
  }),
  actionRoute("rollback", "Roll back to an earlier deployment that was live: a new deployment re-using its build; 303 to its log."),
  actionRoute("stop", "Stop a deployment (cancel one in progress, take the live one offline); 303 back to the Deploy page."),
  actionRoute("restart", "Restart the live deployment in a fresh container (health-checked before traffic moves); 303 back."),
  actionRoute("delete", "Delete an ended deployment with its log and build; 303 back to the Deploy page."),
];
