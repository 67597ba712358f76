/**
 * Routing policies (`ai_policies`): per task kind, the chain of models the router tries in
 * order, each `{providerId, model}`. A task without a policy falls back to the enabled
 * providers in their order, each with its first listed model (the router's default).
 *
 * Admins write a chain as lines of `provider:model` — the provider id never has a colon, so
 * the first colon splits it and model names may have their own (`qwen2.5-coder:1.5b`).
 * Saving checks each line names a known provider; an empty chain removes the policy.
 */
import { eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { aiPolicies, events } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { invalid } from "../lib/errors.ts";
import { listProviders } from "./providers.ts";
import type { TaskKind } from "./types.ts";

export const TASKS: readonly TaskKind[] = ["chat", "code-edit", "summarise", "embed"];

export const TASK_LABELS: Record<TaskKind, string> = {
  chat: "Chat",
  "code-edit": "Code edits",
  summarise: "Summarising history",
  embed: "Embeddings",
};

export type ChainEntry = { providerId: string; model: string };

export type Policies = Record<TaskKind, ChainEntry[]>;

export const MAX_CHAIN = 10;
const MAX_MODEL_LENGTH = 200;

export function isTask(v: string): v is TaskKind {
  return (TASKS as readonly string[]).includes(v);
}

function emptyPolicies(): Policies {
  return { chat: [], "code-edit": [], summarise: [], embed: [] };
}

function parseStored(chain: string): ChainEntry[] {
  try {
    const v = JSON.parse(chain) as unknown;
    if (!Array.isArray(v)) return [];
    return v.filter(
      (e): e is ChainEntry => typeof e === "object" && e !== null && typeof (e as ChainEntry).providerId === "string" && typeof (e as ChainEntry).model === "string",
    );
  } catch {
    return [];
  }
}

/** Every task's chain (empty = no policy: the router's default order applies). */
export async function readPolicies(app: App): Promise<Policies> {
  const out = emptyPolicies();
  for (const row of await app.db.orm.select().from(aiPolicies)) if (isTask(row.task)) out[row.task] = parseStored(row.chain);
  return out;
}

/** One task's chain (empty when no policy is set). */
export async function policyFor(app: App, task: TaskKind): Promise<ChainEntry[]> {
  const [row] = await app.db.orm.select().from(aiPolicies).where(eq(aiPolicies.task, task));
  return row ? parseStored(row.chain) : [];
}

/** Writes a chain as the form shows it: one `provider:model` per line. */
export function chainText(chain: ChainEntry[]): string {
  return chain.map((c) => `${c.providerId}:${c.model}`).join("\n");
}

/** Reads `provider:model` lines (blank lines and surrounding spaces ignored). Errors name the line. */
export function parseChain(text: string): { chain: ChainEntry[]; error?: string } {
  const chain: ChainEntry[] = [];
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  for (const [i, line] of lines.entries()) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0 || colon === line.length - 1) {
      return { chain, error: `Line ${i + 1} ("${line.slice(0, 60)}") is not provider:model, e.g. local-ollama:qwen2.5-coder:1.5b.` };
    }
    chain.push({ providerId: line.slice(0, colon).trim(), model: line.slice(colon + 1).trim() });
  }
  return { chain };
}

/**
 * Saves one task's chain after checking every entry names a known provider and a sensible
 * model name (422 with the reason under `chain`). An empty chain removes the policy.
 */
export async function savePolicy(app: App, task: TaskKind, chain: ChainEntry[], actorId: string | null): Promise<ChainEntry[]> {
  if (!isTask(task)) throw invalid(`Unknown task "${task}".`, { task: `Choose one of ${TASKS.join(", ")}.` });
  const known = new Set((await listProviders(app)).map((p) => p.id));
  const problems: string[] = [];
  const seen = new Set<string>();
  if (chain.length > MAX_CHAIN) problems.push(`A chain has at most ${MAX_CHAIN} models.`);
  for (const c of chain) {
    const label = `${c.providerId}:${c.model}`;
    if (!known.has(c.providerId)) problems.push(`"${c.providerId}" is not a provider here${known.size ? ` (known: ${[...known].join(", ")})` : " (add one first)"}.`);
    if (c.model === "" || c.model.length > MAX_MODEL_LENGTH || /[\u0000-\u001f\u007f]/.test(c.model)) {
      problems.push(`The model in "${label.slice(0, 80)}" must be 1–${MAX_MODEL_LENGTH} characters without control characters.`);
    }
    if (seen.has(label)) problems.push(`"${label}" is listed twice.`);
    seen.add(label);
  }
  if (problems.length > 0) throw invalid(problems[0] ?? "The chain is not valid.", { chain: problems.join(" ") });
  const orm = app.db.orm;
  const now = Date.now();
  const record = orm.insert(events).values(
    eventValues({ actorId, kind: "ai.policy_saved", subjectType: "instance", subjectId: `policy:${task}`, data: { task, chain: chainText(chain).split("\n").filter(Boolean) } }),
  );
  if (chain.length === 0) await orm.batch([orm.delete(aiPolicies).where(eq(aiPolicies.task, task)), record]);
  else {
    const value = JSON.stringify(chain.map((c) => ({ providerId: c.providerId, model: c.model })));
    await orm.batch([
      orm
        .insert(aiPolicies)
        .values({ task, chain: value, updatedBy: actorId, updatedAt: now })
        .onConflictDoUpdate({ target: aiPolicies.task, set: { chain: value, updatedBy: actorId, updatedAt: now } }),
      record,
    ]);
  }
  return chain;
}
