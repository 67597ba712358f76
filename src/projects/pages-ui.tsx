/**
 * View pieces shared by the dashboard, project and team pages: URLs, badges, times,
 * project lists and the activity feed (events phrased as sentences).
 */
import { Type } from "@sinclair/typebox";
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import type { Project, Team, User, Visibility } from "../db/schema.ts";
import type { Actor } from "../auth/actor.ts";
import type { Activity, ActivityItem } from "../events/activity.ts";

/** Body schema of a page form: field name → value (the guard parses it and checks the CSRF token). */
export const FormFields = Type.Record(Type.String(), Type.String());

/** The signed-in user of a route whose permission guarantees one (user, team:*). */
export function userOf(actor: Actor): User {
  if (actor.kind !== "user") throw new Error("a signed-in user is required here (the route's permission guarantees one)");
  return actor.user;
}

// ---- URLs ----

/** Encodes each segment of a project-relative path for a URL (slashes stay). */
export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}
export const projectUrl = (id: string) => `/projects/${encodeURIComponent(id)}`;
export const blobUrl = (id: string, path: string) => `${projectUrl(id)}/blob/${encodePath(path)}`;
/** The plain-form editor for a text file. */
export const editUrl = (id: string, path: string) => `${projectUrl(id)}/edit/${encodePath(path)}`;
export const rawUrl = (id: string, path: string) => `/api/v1/projects/${encodeURIComponent(id)}/files/${encodePath(path)}`;
export const teamUrl = (id: string) => `/teams/${encodeURIComponent(id)}`;

// ---- Small pieces ----

const VISIBILITY_LABEL: Record<Visibility, string> = { private: "Private", unlisted: "Unlisted", public: "Public" };
const VISIBILITY_HELP: Record<Visibility, string> = {
  private: "Only you, team members and admins can see it",
  unlisted: "Anyone with the link can see it; it is not listed",
  public: "Anyone can see it",
};

/** `explain`: add the meaning as a tooltip (left out in long lists, where it would repeat). */
export function VisibilityBadge(p: { visibility: Visibility; explain?: boolean }): Html {
  return (
    <span class={`badge ${p.visibility}`} title={p.explain === false ? undefined : VISIBILITY_HELP[p.visibility]}>
      {VISIBILITY_LABEL[p.visibility]}
    </span>
  );
}

export function visibilityChoices(): [Visibility, string, string][] {
  return (["private", "unlisted", "public"] as const).map((v) => [v, VISIBILITY_LABEL[v], `${VISIBILITY_HELP[v]}.`]);
}

/** Radio buttons with a line of explanation each; the error sits beside the group. */
export function VisibilityField(p: { value: string; error?: string }): Html {
  return (
    <fieldset class={p.error ? "field has-error" : "field"} aria-describedby={p.error ? "f-visibility-error" : undefined}>
      <legend>Visibility</legend>
      <div class="choices">
        {visibilityChoices().map(([v, label, help]) => (
          <label class="choice">
            <input type="radio" name="visibility" value={v} checked={p.value === v} />
            <span>
              <strong>{label}</strong>
              <span class="muted small">{help}</span>
            </span>
          </label>
        ))}
      </div>
      {p.error ? (
        <p class="field-error" id="f-visibility-error" role="alert">
          {p.error}
        </p>
      ) : null}
    </fieldset>
  );
}

const UNITS: [string, number][] = [
  ["year", 31_536_000],
  ["month", 2_592_000],
  ["week", 604_800],
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
];

/** "5 minutes ago", "yesterday"; app.js keeps it current in the browser. */
export function relativeTime(at: number, now = Date.now()): string {
  const s = (at - now) / 1000;
  if (Math.abs(s) < 45) return "just now";
  for (const [unit, secs] of UNITS) {
    if (Math.abs(s) >= secs || unit === "minute") {
      const n = Math.round(s / secs);
      if (n === -1 && unit === "day") return "yesterday";
      const abs = Math.abs(n);
      const text = `${abs} ${unit}${abs === 1 ? "" : "s"}`;
      return n < 0 ? `${text} ago` : `in ${text}`;
    }
  }
  return "";
}

export function RelTime(p: { at: number }): Html {
  const d = new Date(p.at);
  return (
    <time datetime={d.toISOString()} title={d.toUTCString()} data-relative>
      {relativeTime(p.at)}
    </time>
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A stable colour (0–5) per name, so the same person always looks the same. */
function hue(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h % 6;
}

export function Avatar(p: { name: string; team?: boolean; large?: boolean }): Html {
  const letters = p.name.replace(/[^\p{L}\p{N}]+/gu, " ").trim().split(" ").slice(0, 2).map((w) => w.charAt(0)).join("") || "?";
  return (
    <span class={`avatar av-${hue(p.name)}${p.team ? " team" : ""}${p.large ? " lg" : ""}`} aria-hidden="true">
      {letters}
    </span>
  );
}

// ---- Project list ----

export function ProjectList(p: { projects: Project[]; handles: Map<string, string>; id?: string }): Html {
  return (
    <ul class="project-list" id={p.id}>
      {p.projects.map((pr) => {
        const owner = p.handles.get(pr.id) ?? "";
        return (
          <li>
            <div class="row">
              <a class="name" href={projectUrl(pr.id)}>
                {pr.name}
              </a>
              <VisibilityBadge visibility={pr.visibility} explain={false} />
            </div>
            {pr.description ? <p class="desc">{pr.description}</p> : null}
            <p class="meta">
              <span class="mono">
                {owner}/{pr.slug}
              </span>
              <span class="meta-sep">
                Updated <RelTime at={pr.updatedAt} />
              </span>
            </p>
          </li>
        );
      })}
    </ul>
  );
}

export function Empty(p: { title: string; children?: Child; action?: Html }): Html {
  return (
    <div class="empty">
      <h3>{p.title}</h3>
      {p.children ? <p>{p.children}</p> : null}
      {p.action ?? null}
    </div>
  );
}

// ---- Activity feed ----

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** `inProject`: the feed sits on that project's page, so "in <project>" is left out. */
function sentence(it: ActivityItem, a: Activity, me: string | null, inProject?: string): Child[] {
  const { names } = a;
  const who = it.actorId === null ? "Wove" : it.actorId === me ? "You" : (names.users.get(it.actorId) ?? "A deleted user");
  const projectName = it.projectId ? (names.projects.get(it.projectId) ?? str(it.data.name) ?? "a deleted project") : "a project";
  const project = it.projectId && names.projects.has(it.projectId) ? <a href={projectUrl(it.projectId)}>{projectName}</a> : <strong>{projectName}</strong>;
  const where: Child[] = inProject !== undefined && it.projectId === inProject ? [] : [" in ", project];
  const teamName = it.teamId ? (names.teams.get(it.teamId) ?? str(it.data.name) ?? str(it.data.slug) ?? "a deleted team") : "a team";
  const team = it.teamId && names.teams.has(it.teamId) ? <a href={teamUrl(it.teamId)}>{teamName}</a> : <strong>{teamName}</strong>;
  const file = (path: string) =>
    it.projectId && names.projects.has(it.projectId) && it.kind !== "file.deleted" ? (
      <a class="path" href={blobUrl(it.projectId, path)}>
        {path}
      </a>
    ) : (
      <span class="path">{path}</span>
    );
  const targetId = str(it.data.userId);
  const target = targetId === me ? "you" : targetId ? (names.users.get(targetId) ?? "a deleted user") : "someone";
  switch (it.kind) {
    case "project.created":
      return [who, " created project ", project];
    case "project.updated": {
      const vis = str(it.data.visibility);
      if (vis) return [who, ` made `, project, ` ${vis}`];
      if (str(it.data.name)) return [who, " renamed a project to ", project];
      return [who, " updated the description of ", project];
    }
    case "project.deleted":
      return [who, " deleted project ", <strong>{str(it.data.name) ?? str(it.data.slug) ?? "a project"}</strong>];
    case "project.tags_changed":
      return [who, " retagged ", project];
    case "project.starred":
      return [who, " starred ", project];
    case "project.forked":
      return it.data.fromTemplate ? [who, " started ", project, " from a template"] : [who, " forked a project as ", project];
    case "project.template_marked":
      return [who, " made ", project, " a template"];
    case "project.template_unmarked":
      return [who, " stopped offering ", project, " as a template"];
    case "project.version_saved":
      return [who, " saved a version of ", project, str(it.data.message) ? `: “${str(it.data.message)}”` : ""];
    case "project.version_restored":
      return [who, " restored an earlier version of ", project];
    case "project.pushed":
      return [who, " pushed to ", project];
    case "file.created":
      return [who, " created ", file(it.subjectId), ...where];
    case "file.written":
      return [who, " wrote ", file(it.subjectId), ...where];
    case "file.deleted":
      return [who, " deleted ", file(it.subjectId), ...where];
    case "file.moved":
      return [who, " moved ", <span class="path">{str(it.data.from) ?? "a file"}</span>, " to ", file(str(it.data.to) ?? it.subjectId), ...where];
    case "team.created":
      return [who, " created team ", team];
    case "team.updated":
      return [who, " updated team ", team];
    case "team.deleted":
      return [who, " deleted team ", <strong>{str(it.data.slug) ?? "a team"}</strong>];
    case "team.member_added":
      return [who, " added ", <strong>{target}</strong>, " to ", team, ` as ${str(it.data.role) ?? "member"}`];
    case "team.member_role_changed":
      return [who, " made ", <strong>{target}</strong>, ` ${str(it.data.to) ?? "a member"} of `, team];
    case "team.member_removed":
      return it.actorId !== null && it.actorId === targetId ? [who, " left ", team] : [who, " removed ", <strong>{target}</strong>, " from ", team];
    default:
      return [who, ` ${it.kind.replace(/[._]/g, " ")}`];
  }
}

/** A team's avatar, name, slug and description: the head of its page and its profile. */
export function TeamIdentity(p: { team: Team }): Html {
  const { team } = p;
  return (
    <div class="row">
      <Avatar name={team.name} team large />
      <div>
        <h1>{team.name}</h1>
        <p class="muted mono small">{team.slug}</p>
        {team.description ? <p class="muted">{team.description}</p> : null}
      </div>
    </div>
  );
}

export function ActivityFeed(p: { activity: Activity; me: string | null; emptyText: string; inProject?: string }): Html {
  const { items, names } = p.activity;
  if (items.length === 0) return <p class="muted small">{p.emptyText}</p>;
  return (
    <ol class="activity">
      {items.map((it) => (
        <li>
          <Avatar name={it.actorId ? (names.users.get(it.actorId) ?? "?") : "Wove"} />
          <div class="what">
            {sentence(it, p.activity, p.me, p.inProject)}
            <RelTime at={it.at} />
          </div>
        </li>
      ))}
    </ol>
  );
}
