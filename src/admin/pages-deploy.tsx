/**
 * Deployment settings in the browser. Admin › Deployments (/admin/deploy): the resource limits
 * every new deployment gets, and the custom domains projects asked for, each verified or removed
 * by an admin. A project's own domain form (/projects/:id/domains, project admins) lives here too,
 * with `projectDomainsCard` for the project's settings page. The logic is in src/deploy/limits.ts
 * and src/deploy/domains.ts.
 */
import type { Html } from "../web/jsx/jsx-runtime.ts";
import { actorIdOf, route, type Ctx } from "../server/guard.ts";
import { html, redirect } from "../server/http.ts";
import { doc, Layout } from "../web/layout.tsx";
import { Field, Flash, Form, type FieldErrors } from "../web/forms.tsx";
import { field, FormBody, formFailure, page, PostButton } from "../auth/pages-shared.tsx";
import { ApiError } from "../lib/errors.ts";
import { ownerHandle } from "../projects/projects.ts";
import { projectUrl, RelTime } from "../projects/pages-ui.tsx";
import { ProjectHeader } from "../projects/pages-view.tsx";
import { forkedFromFor } from "../projects/pages-fork.tsx";
import { formatMemory, readLimitsSetting, resetLimits, saveLimits, type LimitsSetting } from "../deploy/limits.ts";
import { listDomains, MAX_DOMAINS_PER_PROJECT, removeDomain, requestDomain, verifyDomain, type DomainListItem } from "../deploy/domains.ts";
import { appHost } from "../deploy/hosts.ts";
import type { Limits } from "../deploy/types.ts";
import type { DeployConfig } from "../config.ts";

type AnyCtx = Ctx<unknown, unknown>;
type FormCtx = Ctx<Record<string, string>>;
const PATH = "/admin/deploy";

/** A domain named in a redirect's query, shown in a notice only when it looks like one. */
const shownDomain = (v: string | undefined) => (v && /^[a-z0-9.-]{1,253}$/.test(v) ? v : undefined);

const cpusText = (n: number) => `${n} CPU${n === 1 ? "" : "s"}`;
const limitsText = (l: Limits) => `${cpusText(l.cpus)}, ${formatMemory(l.memoryBytes)} memory, ${l.pids} processes`;

/** A one-button form acting on one domain (Verify, Remove). */
function DomainButton(p: { action: string; csrf: string; domain: string; label: string; class: string; back?: Back; confirm?: string }): Html {
  return (
    <form method="post" action={p.action} class="inline" data-confirm={p.confirm}>
      <input type="hidden" name="_csrf" value={p.csrf} />
      <input type="hidden" name="domain" value={p.domain} />
      {p.back ? <input type="hidden" name="back" value={p.back} /> : null}
      <button type="submit" class={p.class}>
        {p.label}
        <span class="visually-hidden"> {p.domain}</span>
      </button>
    </form>
  );
}

function Status(p: { d: DomainListItem }): Html {
  return p.d.verifiedAt !== null ? (
    <span class="badge public" title={p.d.verifiedByName ? `Verified by @${p.d.verifiedByName}` : undefined}>
      verified
    </span>
  ) : (
    <span class="badge unlisted">waiting for an admin</span>
  );
}

function LimitsSection(p: { setting: LimitsSetting; csrf: string; values: { cpus: string; memory: string; pids: string }; errors: FieldErrors }): Html {
  const d = p.setting.defaults;
  return (
    <section class="card stack" aria-labelledby="limits-title">
      <h2 id="limits-title">Limits for each deployment</h2>
      <p class="muted">
        Every app container and build step gets at most these. They apply to deployments started after saving; running apps keep theirs until they
        are deployed again.
      </p>
      <Form action={`${PATH}/limits`} csrf={p.csrf}>
        <Field label="CPUs" name="cpus" value={p.values.cpus} autocomplete="off" hint={`0.1 to 64; 0.5 is half a core. Server default: ${d.cpus} (WOVE_DEPLOY_CPUS).`} error={p.errors.cpus} />
        <Field label="Memory" name="memory" value={p.values.memory} autocomplete="off" hint={`16m to 64g, like 512m or 1g; no swap on top. Server default: ${formatMemory(d.memoryBytes)} (WOVE_DEPLOY_MEMORY).`} error={p.errors.memory} />
        <Field label="Processes" name="pids" value={p.values.pids} autocomplete="off" hint={`16 to 100000 processes and threads at once. Server default: ${d.pids} (WOVE_DEPLOY_PIDS).`} error={p.errors.pids} />
        <div class="form-actions">
          <button type="submit" class="primary">
            Save limits
          </button>
        </div>
      </Form>
      {p.setting.updatedAt !== null ? (
        <div class="row between">
          <span class="muted small">
            Changed <RelTime at={p.setting.updatedAt} /> from the server defaults ({limitsText(d)}).
          </span>
          <PostButton action={`${PATH}/limits/reset`} csrf={p.csrf} label="Reset to defaults" confirm={`Go back to ${limitsText(d)} for new deployments?`} />
        </div>
      ) : (
        <p class="muted small">These are the server defaults.</p>
      )}
    </section>
  );
}

/** One row per domain; a list rather than a table so it wraps instead of scrolling on a phone. */
function DomainList(p: { domains: DomainListItem[]; csrf: string }): Html {
  if (p.domains.length === 0) return <p class="empty">No project has asked for a custom domain yet.</p>;
  return (
    <ul class="entity-list" aria-label="Custom domains">
      {p.domains.map((d) => (
        <li>
          <div class="grow">
            <span class="mono" title={d.domain}>
              {d.domain}
            </span>
            <span class="small muted">
              <a href={projectUrl(d.projectId)}>
                {d.owner}/{d.projectSlug}
              </a>
              {d.requestedBy ? ` · asked by @${d.requestedBy} ` : " · asked "}
              <RelTime at={d.createdAt} />
            </span>
          </div>
          <Status d={d} />
          <div class="row member-actions">
            {d.verifiedAt === null ? <DomainButton action={`${PATH}/domains/verify`} csrf={p.csrf} domain={d.domain} label="Verify" class="primary small" /> : null}
            <DomainButton action={`${PATH}/domains/remove`} csrf={p.csrf} domain={d.domain} label="Remove" class="danger small" confirm={`Remove ${d.domain}? It stops reaching the project at once.`} />
          </div>
        </li>
      ))}
    </ul>
  );
}

const TLS_TEXT = { acme: "acme — public certificates", internal: "internal — Caddy's own certificate authority", off: "off — plain HTTP" };

function serverFacts(cfg: DeployConfig): [string, string][] {
  const caddy = cfg.caddy === "managed" ? "run by Wove" : cfg.caddy === "external" ? `a running Caddy at ${cfg.caddyAdmin ?? "(WOVE_CADDY_ADMIN is not set)"}` : "off — apps are not routed";
  return [
    ["Apps domain (WOVE_APPS_DOMAIN)", `<project>-<owner>.${cfg.appsDomain}`],
    ["TLS (WOVE_TLS)", TLS_TEXT[cfg.tls]],
    ["Caddy (WOVE_CADDY)", caddy],
    ["Package mirror (WOVE_DEPLOY_MIRROR)", cfg.mirror ?? "none — builds have no network"],
  ];
}

type AdminView = { values?: { cpus: string; memory: string; pids: string }; errors?: FieldErrors; message?: string; status?: number };

async function adminPage(ctx: AnyCtx, v: AdminView = {}): Promise<Response> {
  const [setting, domains] = await Promise.all([readLimitsSetting(ctx.app), listDomains(ctx.app)]);
  const l = setting.limits;
  const values = v.values ?? { cpus: String(l.cpus), memory: formatMemory(l.memoryBytes), pids: String(l.pids) };
  const cfg = ctx.app.config.deploy;
  const q = ctx.query as Record<string, string | undefined>;
  const waiting = domains.filter((d) => d.verifiedAt === null).length;
  const notice =
    q.saved === "limits" ? "Limits saved. New deployments get them." : q.saved === "reset" ? "Back to the server's default limits." : undefined;
  const verified = shownDomain(q.verified);
  const removed = shownDomain(q.removed);
  return page(
    ctx,
    { title: "Deployments · Admin", active: "admin", status: v.status },
    <div class="stack">
      <div class="page-head">
        <h1>Deployments</h1>
        <div class="actions">
          <a href="/admin">Back to administration</a>
        </div>
      </div>
      {notice ? <Flash kind="ok">{notice}</Flash> : null}
      {verified ? <Flash kind="ok">Verified {verified}: it is routed to its project from now on.</Flash> : null}
      {removed ? <Flash kind="ok">Removed {removed}.</Flash> : null}
      {v.message ? <Flash kind="error">{v.message}</Flash> : null}
      <LimitsSection setting={setting} csrf={ctx.csrf()} values={values} errors={v.errors ?? {}} />
      <section class="card stack" id="domains" aria-labelledby="domains-title">
        <h2 id="domains-title">Custom domains{waiting > 0 ? ` · ${waiting} waiting` : ""}</h2>
        <p class="muted">
          Project admins ask for their own domains in the project's settings. Verify one only after checking that its DNS points at this server (a
          CNAME to the project's address under <span class="mono">{cfg.appsDomain}</span>, or A/AAAA records) and that it belongs to whoever asked.
          Only verified domains are routed.
        </p>
        <DomainList domains={domains} csrf={ctx.csrf()} />
      </section>
      <section class="card stack" aria-labelledby="deploy-config-title">
        <h2 id="deploy-config-title">Server settings</h2>
        <p class="muted small">Set when Wove starts (environment variables); shown here for reference.</p>
        <ul class="entity-list" aria-label="Server settings">
          {serverFacts(cfg).map(([label, value]) => (
            <li>
              <div class="grow">
                <span class="small muted">{label}</span>
                <span>{value}</span>
              </div>
            </li>
          ))}
        </ul>
      </section>
    </div>,
  );
}

async function saveLimitsForm(ctx: FormCtx): Promise<Response> {
  const values = { cpus: field(ctx.body, "cpus").trim(), memory: field(ctx.body, "memory").trim(), pids: field(ctx.body, "pids").trim() };
  try {
    await saveLimits(ctx.app, values, actorIdOf(ctx));
  } catch (e) {
    const f = formFailure(e);
    return adminPage(ctx, { values, errors: f.errors, status: f.status });
  }
  return redirect(`${PATH}?saved=limits`);
}

async function verifyForm(ctx: FormCtx): Promise<Response> {
  const domain = field(ctx.body, "domain");
  try {
    await verifyDomain(ctx.app, domain, ctx.actor);
  } catch (e) {
    // Another admin may have removed it meanwhile: say so on the page rather than an error page.
    if (e instanceof ApiError && e.status === 404) return adminPage(ctx, { message: `${domain || "That domain"} is not on the list any more.`, status: 422 });
    throw e;
  }
  return redirect(`${PATH}?verified=${encodeURIComponent(domain.trim().toLowerCase())}#domains`);
}

/** Admin › Deployments: limits and custom-domain verification. */
export const deployAdminRoutes = [
  route({
    method: "GET",
    path: PATH,
    permission: "admin",
    kind: "page",
    summary: "Deployment settings: per-deployment limits and the custom domains waiting for verification.",
    tags: ["pages"],
    handler: (ctx) => adminPage(ctx),
  }),
  route({
    method: "POST",
    path: `${PATH}/limits`,
    permission: "admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Change the CPU, memory and process limits new deployments get.",
    tags: ["pages"],
    handler: saveLimitsForm,
  }),
  route({
    method: "POST",
    path: `${PATH}/limits/reset`,
    permission: "admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Go back to the server's default deployment limits.",
    tags: ["pages"],
    handler: async (ctx) => {
      await resetLimits(ctx.app, actorIdOf(ctx));
      return redirect(`${PATH}?saved=reset`);
    },
  }),
  route({
    method: "POST",
    path: `${PATH}/domains/verify`,
    permission: "admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Verify a project's custom domain (form field `domain`); it is routed from then on.",
    tags: ["pages"],
    handler: verifyForm,
  }),
  route({
    method: "POST",
    path: `${PATH}/domains/remove`,
    permission: "admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Remove a custom domain from its project (form field `domain`); one already gone counts as removed.",
    tags: ["pages"],
    handler: async (ctx) => {
      const domain = field(ctx.body, "domain").trim().toLowerCase();
      await removeDomain(ctx.app, domain, ctx.actor);
      return redirect(`${PATH}?removed=${encodeURIComponent(domain)}#domains`);
    },
  }),
];

// ---------- A project's custom domains (project admins) ----------

type DomainForm = { value: string; error?: string };
/** Where a project's domain form returns to: its settings page or the domains page. */
type Back = "settings" | "domains";

/** The custom-domains card: the project's domains with their state, and the form to add one. */
export function ProjectDomainsSection(p: { projectId: string; csrf: string; domains: DomainListItem[]; host: string; back: Back; form?: DomainForm; notice?: string }): Html {
  const base = `${projectUrl(p.projectId)}/domains`;
  const f = p.form ?? { value: "" };
  return (
    <section class="card stack" id="domains" aria-labelledby="domains-heading">
      <h2 id="domains-heading">Custom domains</h2>
      <p class="muted">
        Once deployed, the app is at <span class="mono">{p.host}</span>. To serve it at a domain of your own as well, point that domain's DNS at
        this server (a CNAME to the address above works) and add it here; an instance admin verifies it before it is routed.
      </p>
      {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
      {p.domains.length === 0 ? (
        <p class="muted">No custom domains.</p>
      ) : (
        <ul class="entity-list" aria-label="Custom domains">
          {p.domains.map((d) => (
            <li>
              <div class="grow">
                <span class="mono">{d.domain}</span>
                <span class="small muted">
                  Added <RelTime at={d.createdAt} />
                </span>
              </div>
              <Status d={d} />
              <DomainButton action={`${base}/remove`} csrf={p.csrf} domain={d.domain} back={p.back} label="Remove" class="danger small" confirm={`Remove ${d.domain}? It stops reaching this project at once.`} />
            </li>
          ))}
        </ul>
      )}
      {p.domains.length < MAX_DOMAINS_PER_PROJECT ? (
        <form method="post" action={base} novalidate aria-labelledby="domain-form-heading">
          <h3 id="domain-form-heading">Add a domain</h3>
          <input type="hidden" name="_csrf" value={p.csrf} />
          <input type="hidden" name="back" value={p.back} />
          <Field label="Domain" name="domain" value={f.value} error={f.error} required maxlength={253} autocomplete="off" placeholder="shop.example.org" />
          <div class="form-actions">
            <button type="submit" class="primary">
              Add domain
            </button>
          </div>
        </form>
      ) : (
        <p class="muted small">A project can have at most {MAX_DOMAINS_PER_PROJECT} custom domains.</p>
      )}
    </section>
  );
}

function noticeOf(query: Record<string, string | undefined>): string | undefined {
  const added = shownDomain(query.domain_added);
  const removed = shownDomain(query.domain_removed);
  if (added) return `Added ${added}. It is routed once an instance admin verifies it.`;
  return removed ? `Removed ${removed}.` : undefined;
}

/** The custom-domains card for the project's settings page (project admins); shows this page's notices too. */
export async function projectDomainsCard(ctx: AnyCtx): Promise<Html> {
  const project = ctx.project;
  const [domains, owner] = await Promise.all([listDomains(ctx.app, project.id), ownerHandle(ctx.app.db.orm, project)]);
  const host = appHost(ctx.app.config.deploy, project.slug, owner);
  return <ProjectDomainsSection projectId={project.id} csrf={ctx.csrf()} domains={domains} host={host} back="settings" notice={noticeOf(ctx.query as Record<string, string | undefined>)} />;
}

async function domainsPage(ctx: AnyCtx, form?: DomainForm, status = 200): Promise<Response> {
  const project = ctx.project;
  const [domains, owner] = await Promise.all([listDomains(ctx.app, project.id), ownerHandle(ctx.app.db.orm, project)]);
  const csrf = ctx.csrf();
  return html(
    doc(
      <Layout title={`Custom domains · ${project.name}`} actor={ctx.actor} csrf={csrf} wide>
        <ProjectHeader project={project} owner={owner} canAdmin tab="settings" canFork forkedFrom={await forkedFromFor(ctx as Ctx, project)} />
        <div class="stack measure">
          <p>
            <a href={`${projectUrl(project.id)}/settings`}>Back to settings</a>
          </p>
          <ProjectDomainsSection
            projectId={project.id}
            csrf={csrf}
            domains={domains}
            host={appHost(ctx.app.config.deploy, project.slug, owner)}
            back="domains"
            form={form}
            notice={noticeOf(ctx.query as Record<string, string | undefined>)}
          />
        </div>
      </Layout>,
    ),
    status,
  );
}

const backTo = (ctx: FormCtx, query: string) =>
  field(ctx.body, "back") === "settings" ? `${projectUrl(ctx.project.id)}/settings?${query}#domains` : `${projectUrl(ctx.project.id)}/domains?${query}`;

/** A project's custom domains: a page, adding one, removing one. */
export const projectDomainRoutes = [
  route({
    method: "GET",
    path: "/projects/:id/domains",
    permission: "project:admin",
    kind: "page",
    summary: "The project's custom domains and the form to add one.",
    tags: ["pages"],
    handler: (ctx) => domainsPage(ctx),
  }),
  route({
    method: "POST",
    path: "/projects/:id/domains",
    permission: "project:admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Ask for a custom domain for the project (form field `domain`); an instance admin verifies it.",
    tags: ["pages"],
    handler: async (ctx) => {
      const value = field(ctx.body, "domain").trim();
      let domain: string;
      try {
        domain = (await requestDomain(ctx.app, ctx.project.id, value, ctx.actor)).domain;
      } catch (e) {
        const f = formFailure(e);
        return domainsPage(ctx, { value, error: f.errors.domain ?? f.message }, f.status);
      }
      return redirect(backTo(ctx, `domain_added=${encodeURIComponent(domain)}`));
    },
  }),
  route({
    method: "POST",
    path: "/projects/:id/domains/remove",
    permission: "project:admin",
    kind: "page",
    bodyKind: "form",
    body: FormBody,
    summary: "Remove one of the project's custom domains (form field `domain`); one already gone counts as removed.",
    tags: ["pages"],
    handler: async (ctx) => {
      const domain = field(ctx.body, "domain").trim().toLowerCase();
      await removeDomain(ctx.app, domain, ctx.actor, ctx.project.id);
      return redirect(backTo(ctx, `domain_removed=${encodeURIComponent(domain)}`));
    },
  }),
];
