/**
 * The account page's API-token and session sections: reading the create-token
 * form, showing a new token once, listing tokens and browser sessions.
 */
import { and, desc, eq, gt } from "drizzle-orm";
import type { Html } from "../web/jsx/jsx-runtime.ts";
import type { Orm } from "../db/client.ts";
import { sessions, type ApiToken, type User } from "../db/schema.ts";
import type { Scope } from "../auth/actor.ts";
import { Field, Flash, Form, Select, type FieldErrors } from "../web/forms.tsx";
import { tokenScopes } from "../auth/tokens.ts";
import { RelTime } from "../projects/pages-ui.tsx";
import { PostButton } from "../auth/pages-shared.tsx";

export const EXPIRY_CHOICES: [value: string, label: string][] = [
  ["7d", "7 days"],
  ["30d", "30 days"],
  ["90d", "90 days"],
  ["365d", "1 year"],
  ["never", "Never"],
];
const DEFAULT_EXPIRY = "90d";

const SCOPE_HELP: Record<Scope, string> = {
  read: "Read projects, files and your account.",
  write: "Create and change projects and files.",
  admin: "Instance administration (users, settings).",
};

export type TokenForm = { name: string; scopes: Scope[]; expires: string };

/**
 * Checkboxes arrive as scope_read=on etc. (the form parser keeps one value per name);
 * the name field is token_name so its id differs from the profile form's name field.
 */
export function readTokenForm(body: Record<string, string>): TokenForm {
  const scopes = (["read", "write", "admin"] as const).filter((s) => body[`scope_${s}`] !== undefined);
  return { name: (body.token_name ?? "").trim(), scopes, expires: body.expires ?? DEFAULT_EXPIRY };
}

export function tokenFormErrors(f: TokenForm): FieldErrors {
  const errors: FieldErrors = {};
  if (!f.name) errors.token_name = "Give the token a name, e.g. the machine or script that uses it.";
  if (f.scopes.length === 0) errors.scopes = "Choose at least one scope.";
  if (!EXPIRY_CHOICES.some(([v]) => v === f.expires)) errors.expires = "Choose one of the listed expiry times.";
  return errors;
}

export type NewToken = { token: string; name: string };

/** The one time a token is visible: a read-only field with a copy button. */
function TokenOnce(p: { created: NewToken }): Html {
  return (
    <div class="stack tight" id="new-token-box">
      <Flash kind="info">
        <strong>Copy your new token “{p.created.name}” now.</strong> It is shown only this once: Wove keeps just a hash of it. If you lose it,
        revoke it and create another.
      </Flash>
      <div class="token-once">
        <input id="new-token" type="text" class="mono" readonly value={p.created.token} aria-label="Your new API token" spellcheck="false" autocomplete="off" />
        <button type="button" class="primary" data-copy-target="#new-token">
          Copy
        </button>
      </div>
      <p class="hint">
        Send it as <code>Authorization: Bearer &lt;token&gt;</code>. See the <a href="/api/docs">API reference</a>.
      </p>
    </div>
  );
}

function ScopeBadges(p: { token: ApiToken }): Html {
  return (
    <span class="row">
      {tokenScopes(p.token).map((s) => (
        <span class={s === "admin" ? "badge admin" : "badge"}>{s}</span>
      ))}
    </span>
  );
}

function TokenTable(p: { tokens: ApiToken[]; csrf: string }): Html {
  if (p.tokens.length === 0) return <p class="empty">You have no API tokens. Create one below to use the API or the command line.</p>;
  return (
    <div class="table-wrap">
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Token</th>
            <th scope="col">Scopes</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col" aria-label="Actions"></th>
          </tr>
        </thead>
        <tbody>
          {p.tokens.map((t) => (
            <tr>
              <td>{t.name}</td>
              <td>
                <code>{t.prefix}…</code>
              </td>
              <td>
                <ScopeBadges token={t} />
              </td>
              <td>
                <RelTime at={t.createdAt} />
              </td>
              <td>{t.expiresAt ? <RelTime at={t.expiresAt} /> : <span class="muted">never</span>}</td>
              <td>{t.lastUsedAt ? <RelTime at={t.lastUsedAt} /> : <span class="muted">never</span>}</td>
              <td class="actions">
                <PostButton
                  action={`/account/tokens/${encodeURIComponent(t.id)}/revoke`}
                  csrf={p.csrf}
                  label="Revoke"
                  class="danger small"
                  ariaLabel={`Revoke token ${t.name}`}
                  confirm={`Revoke the token "${t.name}"? Anything using it stops working at once.`}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export type TokensState = { form?: TokenForm; errors?: FieldErrors; created?: NewToken };

export function TokensCard(p: { user: User; tokens: ApiToken[]; csrf: string; state: TokensState }): Html {
  const form = p.state.form ?? { name: "", scopes: ["read", "write"], expires: DEFAULT_EXPIRY };
  const errors = p.state.errors ?? {};
  const scopes: Scope[] = p.user.role === "admin" ? ["read", "write", "admin"] : ["read", "write"];
  return (
    <section class="card stack" id="tokens" aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p class="muted">Tokens let scripts, the command line and other tools act as you through the API. They never give more than your own access.</p>
      {p.state.created ? <TokenOnce created={p.state.created} /> : null}
      <TokenTable tokens={p.tokens} csrf={p.csrf} />
      <h3>Create a token</h3>
      <Form action="/account/tokens#tokens" csrf={p.csrf}>
        <Field label="Token name" name="token_name" value={form.name} maxlength={80} required placeholder="e.g. laptop CLI" error={errors.token_name} />
        <fieldset class={errors.scopes ? "field has-error" : "field"} aria-describedby={errors.scopes ? "f-scopes-error" : undefined}>
          <legend>Scopes</legend>
          <div class="choices">
            {scopes.map((s) => (
              <label class="choice">
                <input type="checkbox" name={`scope_${s}`} checked={form.scopes.includes(s)} />
                <span>
                  <strong>{s}</strong>
                  <span class="muted small">{SCOPE_HELP[s]}</span>
                </span>
              </label>
            ))}
          </div>
          {errors.scopes ? (
            <p class="field-error" id="f-scopes-error" role="alert">
              {errors.scopes}
            </p>
          ) : null}
        </fieldset>
        <Select label="Expires after" name="expires" options={EXPIRY_CHOICES} value={form.expires} error={errors.expires} />
        <div class="form-actions">
          <button type="submit" class="primary">
            Create token
          </button>
        </div>
      </Form>
    </section>
  );
}

export type SessionRow = typeof sessions.$inferSelect;

export async function listActiveSessions(orm: Orm, userId: string): Promise<SessionRow[]> {
  return orm
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, Date.now())))
    .orderBy(desc(sessions.lastSeenAt));
}

/** "Firefox on Linux"-ish from a user-agent string; the raw string stays in the title. */
export function describeAgent(ua: string | null): string {
  if (!ua) return "Unknown client";
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /Firefox\//.test(ua)
      ? "Firefox"
      : /Chrome\/|Chromium\//.test(ua)
        ? "Chrome"
        : /Safari\//.test(ua)
          ? "Safari"
          : /curl\//.test(ua)
            ? "curl"
            : "Browser";
  const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
  return os ? `${browser} on ${os}` : browser;
}

export function SessionsCard(p: { rows: SessionRow[]; currentId: string | undefined; csrf: string }): Html {
  const others = p.rows.filter((r) => r.id !== p.currentId).length;
  return (
    <section class="card stack" id="sessions" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Where you are logged in</h2>
      <div class="table-wrap">
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">IP address</th>
              <th scope="col">Logged in</th>
              <th scope="col">Last active</th>
            </tr>
          </thead>
          <tbody>
            {p.rows.map((r) => (
              <tr>
                <td title={r.userAgent ?? undefined}>
                  {describeAgent(r.userAgent)} {r.id === p.currentId ? <span class="badge">this browser</span> : null}
                </td>
                <td>{r.ip ?? <span class="muted">unknown</span>}</td>
                <td>
                  <RelTime at={r.createdAt} />
                </td>
                <td>
                  <RelTime at={r.lastSeenAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {others > 0 ? (
        <div>
          <PostButton
            action="/account/sessions/revoke-others"
            csrf={p.csrf}
            label={others === 1 ? "Log out the other session" : `Log out the ${others} other sessions`}
            class="danger"
          />
        </div>
      ) : (
        <p class="muted">No other sessions.</p>
      )}
    </section>
  );
}
