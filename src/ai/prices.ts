/**
 * Model prices (`ai_prices`): what a million input and output tokens cost on one provider's
 * model, in micro-units of the instance's currency (1 unit = 1,000,000 micros), set by an
 * admin. A model without a price costs 0 — the right answer for local models. The router
 * estimates each call's cost with `priceFor` + `costMicros`.
 */
import { and, asc, eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import { aiPrices, events } from "../db/schema.ts";
import { eventValues } from "../events/events.ts";
import { invalid, notFound } from "../lib/errors.ts";
import { getProvider } from "./providers.ts";
import type { Usage } from "./types.ts";

export type Price = { inputMicrosPerMtok: number; outputMicrosPerMtok: number };
export type PriceRow = Price & { providerId: string; model: string; updatedAt: number };
export type PriceInput = { providerId: string; model: string } & Price;

export const FREE: Price = { inputMicrosPerMtok: 0, outputMicrosPerMtok: 0 };
/** 1,000,000 units per million tokens: far above any real price, well inside exact integers. */
export const MAX_MICROS_PER_MTOK = 1_000_000 * 1_000_000;
const MAX_MODEL_LENGTH = 200;

/** The estimated cost of one call, in micros (rounded to the nearest micro). */
export function costMicros(price: Price, usage: Usage): number {
  return Math.round((usage.tokensIn * price.inputMicrosPerMtok + usage.tokensOut * price.outputMicrosPerMtok) / 1_000_000);
}

/** "0.15" (units per million tokens, up to 6 decimals) → 150000 micros; undefined when not such a number. */
export function parseUnits(text: string): number | undefined {
  const m = /^(\d{1,7})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) return undefined;
  const micros = Number(m[1]) * 1_000_000 + Number((m[2] ?? "").padEnd(6, "0"));
  return micros <= MAX_MICROS_PER_MTOK ? micros : undefined;
}

/** 150000 → "0.15"; 0 → "0". */
export function formatUnits(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const frac = String(micros % 1_000_000).padStart(6, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : String(whole);
}

export async function listPrices(app: App): Promise<PriceRow[]> {
  return app.db.orm.select().from(aiPrices).orderBy(asc(aiPrices.providerId), asc(aiPrices.model));
}

/** A model's price; FREE when none is set. */
export async function priceFor(app: App, providerId: string, model: string): Promise<Price> {
  const [row] = await app.db.orm
    .select({ inputMicrosPerMtok: aiPrices.inputMicrosPerMtok, outputMicrosPerMtok: aiPrices.outputMicrosPerMtok })
    .from(aiPrices)
    .where(and(eq(aiPrices.providerId, providerId), eq(aiPrices.model, model)));
  return row ?? FREE;
}

function checkAmount(v: number, field: string, errors: Record<string, string>): void {
  if (!Number.isInteger(v) || v < 0 || v > MAX_MICROS_PER_MTOK) errors[field] = "Give a price from 0 to 1000000 per million tokens, with at most 6 decimals.";
}

/** Sets (or replaces) a model's price; 422 with field errors. */
export async function setPrice(app: App, input: PriceInput, actorId: string | null): Promise<PriceRow> {
  const errors: Record<string, string> = {};
  const providerId = input.providerId.trim();
  const model = input.model.trim();
  if (!(await getProvider(app, providerId))) errors.providerId = providerId ? `"${providerId}" is not a provider here.` : "Choose a provider.";
  if (model === "" || model.length > MAX_MODEL_LENGTH || /[\u0000-\u001f\u007f]/.test(model)) {
    errors.model = `The model name is required: 1–${MAX_MODEL_LENGTH} characters without control characters.`;
  }
  checkAmount(input.inputMicrosPerMtok, "input", errors);
  checkAmount(input.outputMicrosPerMtok, "output", errors);
  if (Object.keys(errors).length > 0) throw invalid("Some fields need attention.", errors);
  const now = Date.now();
  const price = { inputMicrosPerMtok: input.inputMicrosPerMtok, outputMicrosPerMtok: input.outputMicrosPerMtok };
  const orm = app.db.orm;
  await orm.batch([
    orm
      .insert(aiPrices)
      .values({ providerId, model, ...price, updatedAt: now })
      .onConflictDoUpdate({ target: [aiPrices.providerId, aiPrices.model], set: { ...price, updatedAt: now } }),
    orm.insert(events).values(eventValues({ actorId, kind: "ai.price_set", subjectType: "instance", subjectId: `price:${providerId}:${model}`, data: { providerId, model, ...price } })),
  ]);
  return { providerId, model, ...price, updatedAt: now };
}

/** Removes a model's price (it costs 0 again); 404 when none was set. */
export async function removePrice(app: App, providerId: string, model: string, actorId: string | null): Promise<void> {
  const orm = app.db.orm;
  const where = and(eq(aiPrices.providerId, providerId), eq(aiPrices.model, model));
  if ((await orm.select({ model: aiPrices.model }).from(aiPrices).where(where)).length === 0) throw notFound("Price");
  await orm.batch([
    orm.delete(aiPrices).where(where),
    orm.insert(events).values(eventValues({ actorId, kind: "ai.price_removed", subjectType: "instance", subjectId: `price:${providerId}:${model}`, data: { providerId, model } })),
  ]);
}
