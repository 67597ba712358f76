/** View pieces shared by the Admin › AI pages: the frame with its sub-sections, notices, check results. */
import type { Child, Html } from "../web/jsx/jsx-runtime.ts";
import type { Ctx } from "../server/guard.ts";
import { Flash } from "../web/forms.tsx";
import { page } from "../auth/pages-shared.tsx";
import { RelTime } from "../projects/pages-ui.tsx";
import type { LastCheck } from "../ai/providers.ts";
import { AdminFrame } from "./pages-ui.tsx";

export type AiSection = "providers" | "routing" | "prices" | "quotas";

export const AI_PATH = "/admin/ai";

const SECTIONS: [AiSection, string, string][] = [
  ["providers", "Providers", AI_PATH],
  ["routing", "Routing", `${AI_PATH}/routing`],
  ["prices", "Prices", `${AI_PATH}/prices`],
  ["quotas", "Quotas", `${AI_PATH}/quotas`],
];

/** A full Admin › AI page: the admin frame, the AI sub-sections, notices, then the section. */
export function aiPage(
  ctx: Ctx<unknown, unknown>,
  p: { title: string; section: AiSection; status?: number; notice?: string; error?: string; children?: Child },
): Response {
  return page(
    ctx,
    { title: `${p.title} · AI · Admin`, active: "admin", status: p.status },
    <AdminFrame title="AI assistant" section="ai">
      <nav class="tabs" aria-label="AI settings">
        {SECTIONS.map(([id, label, href]) => (
          <a href={href} aria-current={id === p.section ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
      {p.error ? <Flash kind="error">{p.error}</Flash> : null}
      {p.children}
    </AdminFrame>,
  );
}

/** A provider id or model name echoed from a redirect's query, shown only when it looks like one. */
export function shown(v: string | undefined): string | undefined {
  return v && v.length <= 200 && !/[\u0000-\u001f\u007f<>]/.test(v) ? v : undefined;
}

/** The result of "Check connection": the models, or why the server could not be reached. */
export function CheckResult(p: { check: LastCheck | undefined; open?: boolean }): Html {
  const c = p.check;
  if (!c) return <span class="small muted">Not checked yet.</span>;
  if (!c.ok) {
    return (
      <span class="small">
        <span class="badge off">unreachable</span> {c.reason ?? "The check failed."}{" "}
        <span class="muted">
          (<RelTime at={c.at} />)
        </span>
      </span>
    );
  }
  const count = `${c.models.length} model${c.models.length === 1 ? "" : "s"}`;
  if (c.models.length === 0) {
    return (
      <span class="small">
        <span class="badge public">reachable</span> but it lists no model yet (for Ollama: <span class="mono">ollama pull …</span>).{" "}
        <span class="muted">
          (<RelTime at={c.at} />)
        </span>
      </span>
    );
  }
  return (
    <details open={p.open}>
      <summary class="small">
        <span class="badge public">reachable</span> {count}, checked <RelTime at={c.at} />
      </summary>
      <ul class="small mono" aria-label="Models">
        {c.models.map((m) => (
          <li>{m}</li>
        ))}
      </ul>
    </details>
  );
}
