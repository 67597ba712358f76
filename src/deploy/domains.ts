/**
 * Custom domains (table deploy_domains): a project admin asks for `shop.example.org`, an
 * instance admin checks that the name really points at this server and belongs to them, and
 * verifies it; only verified domains are routed to the project's live deployment. Verifying by
 * hand is the point: routing a name is a claim about who owns it.
 *
 * Refused: malformed names, IP addresses, single labels, the apps domain and its subdomains
 * (those are Wove's own app addresses), Wove's own host, and a name any project already has.
 * Whoever routes apps listens with `onDomainsChange` to update the project's routes.
 */
import { domainToASCII } from "node:url";
import { isIP } from "node:net";
import { and, asc, eq, isNotNull, sql } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Actor } from "../auth/actor.ts";
import { actorId, isAdmin } from "../auth/actor.ts";
import { deployDomains, projects, teams, users } from "../db/schema.ts";
import { recordEvent } from "../events/events.ts";
import { conflict, forbidden, invalid, notFound } from "../lib/errors.ts";

export type DomainRow = typeof deployDomains.$inferSelect;

/** A domain with the names a list shows. */
export type DomainListItem = DomainRow & {
  projectName: string;
  projectSlug: string;
  /** The project owner's handle (username or team slug). */
  owner: string;
  requestedBy: string | null;
  verifiedByName: string | null;
};

/** Enough for one project: every name is a route in Caddy and a certificate to fetch. */
export const MAX_DOMAINS_PER_PROJECT = 10;

const LABEL_RE = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

type Listener = (projectId: string) => void | Promise<void>;
const listeners = new WeakMap<App, Set<Listener>>();

/** Calls `fn` after a project's verified domains changed (verified or removed); returns a function that stops it. */
export function onDomainsChange(app: App, fn: Listener): () => void {
  let set = listeners.get(app);
  if (!set) listeners.set(app, (set = new Set()));
  set.add(fn);
  return () => set.delete(fn);
}

/** The change is saved whatever a listener does; a failing listener is logged (reconcile repairs routes on start). */
async function changed(app: App, projectId: string): Promise<void> {
  for (const fn of listeners.get(app) ?? []) {
    try {
      await fn(projectId);
    } catch (e) {
      app.log.error("updating the routes after a custom-domain change failed", { projectId, error: String(e) });
    }
  }
}

const fieldError = (message: string) => invalid(message, { domain: message });

/** Wove's own host name, when it has one worth protecting (not an IP address). */
function woveHost(app: App): string | null {
  try {
    const host = new URL(app.config.baseUrl).hostname.replace(/\.$/, "").toLowerCase();
    return isIP(host.replace(/^\[|\]$/g, "")) ? null : host;
  } catch {
    return null;
  }
}

/**
 * A domain as it is stored (lowercase ASCII, IDNs as punycode, no trailing dot) or a 422 for
 * the "domain" field saying what is wrong. Pasted URLs ("https://shop.example.org/") are accepted.
 */
export function normalizeDomain(app: App, raw: string): string {
  let text = raw.trim().toLowerCase();
  if (text === "") throw fieldError("Enter a domain name, like shop.example.org.");
  text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//, "").replace(/[/?#].*$/, "");
  if (isIP(text.replace(/^\[|\]$/g, ""))) throw fieldError("Enter a domain name, not an IP address.");
  if (text.includes(":") || text.includes("@")) throw fieldError("Enter only the domain name, without a port or user name, like shop.example.org.");
  const domain = domainToASCII(text.replace(/\.$/, ""));
  const labels = domain.split(".");
  if (domain === "" || domain.length > 253 || !labels.every((l) => LABEL_RE.test(l))) {
    throw fieldError("That is not a valid domain name: use letters, digits and hyphens between dots, like shop.example.org.");
  }
  if (labels.length < 2 || /^\d+$/.test(labels[labels.length - 1] ?? "")) throw fieldError("Enter a full domain name with a dot, like shop.example.org.");
  const apps = app.config.deploy.appsDomain;
  if (domain === apps || domain.endsWith(`.${apps}`)) {
    throw fieldError(`Names under ${apps} are Wove's own app addresses; every project already has one. Enter a domain of your own.`);
  }
  if (domain === woveHost(app)) throw fieldError("That is this Wove server's own address.");
  return domain;
}

async function findDomain(app: App, domain: string): Promise<DomainRow | undefined> {
  return app.db.orm.select().from(deployDomains).where(eq(deployDomains.domain, domain)).get();
}

/** Adds a domain to a project, waiting for an admin's verification. 409 when any project already has it. */
export async function requestDomain(app: App, projectId: string, rawDomain: string, actor: Actor): Promise<DomainRow> {
  const domain = normalizeDomain(app, rawDomain);
  const orm = app.db.orm;
  const existing = await findDomain(app, domain);
  if (existing) {
    const message = existing.projectId === projectId ? `${domain} is already on this project's list.` : `${domain} is already used by another project.`;
    throw conflict(message, { domain: message });
  }
  const count = await orm.select({ n: sql<number>`count(*)` }).from(deployDomains).where(eq(deployDomains.projectId, projectId)).get();
  if (Number(count?.n ?? 0) >= MAX_DOMAINS_PER_PROJECT) {
    throw fieldError(`A project can have at most ${MAX_DOMAINS_PER_PROJECT} custom domains; remove one first.`);
  }
  const row: DomainRow = { domain, projectId, createdBy: actorId(actor), createdAt: Date.now(), verifiedBy: null, verifiedAt: null };
  // The primary key settles a race between two requests for the same name.
  const inserted = await orm.insert(deployDomains).values(row).onConflictDoNothing().returning();
  if (inserted.length === 0) throw conflict(`${domain} is already used by another project.`, { domain: `${domain} is already used by another project.` });
  await recordEvent(orm, { actorId: row.createdBy, kind: "deploy.domain_requested", subjectType: "project", subjectId: projectId, projectId, data: { domain } });
  return row;
}

/** An admin confirms the domain is the project's: from now on it is routed. Verifying twice changes nothing. */
export async function verifyDomain(app: App, rawDomain: string, admin: Actor): Promise<DomainRow> {
  if (!isAdmin(admin)) throw forbidden("Only instance admins can verify custom domains.");
  const domain = rawDomain.trim().toLowerCase();
  const row = await findDomain(app, domain);
  if (!row) throw notFound("Custom domain");
  if (row.verifiedAt !== null) return row;
  const verified = { ...row, verifiedBy: actorId(admin), verifiedAt: Date.now() };
  await app.db.orm.update(deployDomains).set({ verifiedBy: verified.verifiedBy, verifiedAt: verified.verifiedAt }).where(eq(deployDomains.domain, domain));
  await recordEvent(app.db.orm, { actorId: verified.verifiedBy, kind: "deploy.domain_verified", subjectType: "project", subjectId: row.projectId, projectId: row.projectId, data: { domain } });
  await changed(app, row.projectId);
  return verified;
}

/**
 * Removes a domain. With `projectId` (a project admin's request) it must be that project's;
 * without, only an instance admin may. Returns false when it was already gone.
 */
export async function removeDomain(app: App, rawDomain: string, actor: Actor, projectId?: string): Promise<boolean> {
  if (projectId === undefined && !isAdmin(actor)) throw forbidden("Only instance admins can remove another project's domain.");
  const domain = rawDomain.trim().toLowerCase();
  const row = await findDomain(app, domain);
  if (!row || (projectId !== undefined && row.projectId !== projectId)) return false;
  await app.db.orm.delete(deployDomains).where(eq(deployDomains.domain, domain));
  await recordEvent(app.db.orm, {
    actorId: actorId(actor),
    kind: "deploy.domain_removed",
    subjectType: "project",
    subjectId: row.projectId,
    projectId: row.projectId,
    data: { domain, wasVerified: row.verifiedAt !== null },
  });
  if (row.verifiedAt !== null) await changed(app, row.projectId);
  return true;
}

/** Domains waiting for verification first, then by name; one project's or every project's. */
export async function listDomains(app: App, projectId?: string): Promise<DomainListItem[]> {
  const requester = sql<string | null>`(SELECT ${users.username} FROM ${users} WHERE ${users.id} = ${deployDomains.createdBy})`;
  const verifier = sql<string | null>`(SELECT ${users.username} FROM ${users} WHERE ${users.id} = ${deployDomains.verifiedBy})`;
  const owner = sql<string>`coalesce((SELECT ${teams.slug} FROM ${teams} WHERE ${teams.id} = ${projects.ownerTeamId}), (SELECT ${users.username} FROM ${users} WHERE ${users.id} = ${projects.ownerUserId}), '')`;
  const rows = await app.db.orm
    .select({ d: deployDomains, projectName: projects.name, projectSlug: projects.slug, owner, requestedBy: requester, verifiedByName: verifier })
    .from(deployDomains)
    .innerJoin(projects, eq(projects.id, deployDomains.projectId))
    .where(projectId !== undefined ? eq(deployDomains.projectId, projectId) : undefined)
    .orderBy(sql`${deployDomains.verifiedAt} IS NOT NULL`, asc(deployDomains.domain));
  return rows.map((r) => ({ ...r.d, projectName: r.projectName, projectSlug: r.projectSlug, owner: r.owner, requestedBy: r.requestedBy, verifiedByName: r.verifiedByName }));
}

/** The verified custom domains routed to a project, sorted. */
export async function verifiedHosts(app: App, projectId: string): Promise<string[]> {
  const rows = await app.db.orm
    .select({ domain: deployDomains.domain })
    .from(deployDomains)
    .where(and(eq(deployDomains.projectId, projectId), isNotNull(deployDomains.verifiedAt)))
    .orderBy(asc(deployDomains.domain));
  return rows.map((r) => r.domain);
}
