/** View pieces shared by the admin pages: the section tabs and small badges. */
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import type { User } from "../db/schema.ts";

export type AdminSection = "overview" | "users" | "invites" | "deploy" | "ai";

const SECTIONS: [AdminSection, string, string][] = [
  ["overview", "Overview", "/admin"],
  ["users", "Users", "/admin/users"],
  ["invites", "Invites", "/admin/invites"],
  ["deploy", "Deployments", "/admin/deploy"],
  ["ai", "AI", "/admin/ai"],
];

export function AdminTabs(p: { current: AdminSection }): Html {
  return (
    <nav class="tabs" aria-label="Admin sections">
      {SECTIONS.map(([id, label, href]) => (
        <a href={href} aria-current={id === p.current ? "page" : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}

/** The admin page frame: heading, optional actions, tabs, then the section. */
export function AdminFrame(p: { title: string; section: AdminSection; actions?: Child; children?: Child }): Html {
  return (
    <div class="stack">
      <div class="page-head">
        <h1>{p.title}</h1>
        {p.actions ? <div class="actions">{p.actions}</div> : null}
      </div>
      <AdminTabs current={p.section} />
      {p.children}
    </div>
  );
}

export function RoleBadge(p: { role: string }): Html {
  return <span class={p.role === "admin" ? "badge admin" : "badge"}>{p.role}</span>;
}

export function StatusBadge(p: { user: User }): Html {
  return p.user.disabledAt !== null ? <span class="badge off">disabled</span> : <span class="badge">active</span>;
}

export const ROLE_CHOICES: [value: string, label: string][] = [
  ["member", "Member"],
  ["admin", "Admin"],
];
