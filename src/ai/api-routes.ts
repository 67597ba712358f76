/**
 * The router's JSON API.
 *
 *   GET /api/v1/ai/models   the models of every enabled provider, as `providerId:model` ids a
 *                           chat request may name → {models:[{id, providerId, model,
 *                           contextWindow?, embedding?}], unavailable:[{providerId, reason}]}
 *   GET /api/v1/ai/usage    ?from&to — dates (YYYY-MM-DD, UTC; `to` inclusive) or ISO times;
 *                           default the last 30 days. The caller's own usage; an instance admin
 *                           may add user= (id or username), team= (id or slug) or all=1.
 *                           → {from, to, subject, totals, rows:[per day × provider × model]}
 */
import { t } from "elysia";
import { route } from "../server/guard.ts";
import { json } from "../server/http.ts";
import { badRequest, notFound } from "../lib/errors.ts";
import { findUserByUsername, getUser } from "../auth/users.ts";
import { findTeamBySlug, getTeam } from "../teams/teams.ts";
import { availableModels } from "./router-chain.ts";
import { startOfUtcDay, usageFor, type UsageFilter } from "./usage.ts";

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 366;
const DEFAULT_RANGE_DAYS = 30;

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** A date (UTC day: its start, or with `endOfDay` the start of the next) or an ISO time, as epoch ms; null when unparsable. */
export function parseWhen(text: string, endOfDay: boolean): number | null {
  if (DATE_RE.test(text)) {
    const ms = Date.parse(`${text}T00:00:00Z`);
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) return null;
    return endOfDay ? ms + DAY_MS : ms;
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** The report's window [from, to) from the query, checked. */
export function usageRange(q: { from?: string; to?: string }, now = Date.now()): { from: number; to: number } {
  const details: Record<string, string> = {};
  const to = q.to !== undefined ? parseWhen(q.to, true) : now;
  const from = q.from !== undefined ? parseWhen(q.from, false) : startOfUtcDay(now) - (DEFAULT_RANGE_DAYS - 1) * DAY_MS;
  if (to === null) details.to = "Give a date (2026-11-30) or an ISO time (2026-11-30T12:00:00Z).";
  if (from === null) details.from = "Give a date (2026-11-01) or an ISO time (2026-11-01T00:00:00Z).";
  if (from === null || to === null) throw badRequest("The usage period is not valid.", details);
  if (from >= to) throw badRequest("The usage period is empty: `from` must come before `to`.", { from: "Must come before `to`." });
  if (to - from > MAX_RANGE_DAYS * DAY_MS) throw badRequest(`The usage period may span at most ${MAX_RANGE_DAYS} days.`, { from: `At most ${MAX_RANGE_DAYS} days before \`to\`.` });
  return { from, to };
}

const UsageQuery = t.Object({
  from: t.Optional(t.String({ maxLength: 40 })),
  to: t.Optional(t.String({ maxLength: 40 })),
  user: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
  team: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
  all: t.Optional(t.Union([t.Literal("0"), t.Literal("1")])),
});

export const aiApiRoutes = [
  route({
    method: "GET",
    path: "/api/v1/ai/models",
    permission: "user",
    kind: "api",
    tags: ["ai"],
    summary:
      "The models of every enabled AI provider, as ids (`providerId:model`) a chat request may name; providers that cannot be reached now are listed under `unavailable` with the reason.",
    responses: { 200: "{models:[{id, providerId, model, contextWindow?, embedding?}], unavailable:[{providerId, reason}]}" },
    handler: async (ctx) => json(await availableModels(ctx.app)),
  }),
  route({
    method: "GET",
    path: "/api/v1/ai/usage",
    permission: "user",
    kind: "api",
    tags: ["ai"],
    query: UsageQuery,
    summary:
      "AI usage between `from` and `to` (dates, UTC, `to` inclusive, or ISO times; default the last 30 days): totals and one row per day, provider and model with requests, errors, tokens, cost (micro-units) and mean latency. Your own usage; instance admins may pass `user` (id or username), `team` (id or slug) or `all=1`.",
    responses: { 200: "{from, to, subject, totals, rows}", 400: "The period is not valid", 403: "Only admins may see another user's, a team's or everyone's usage", 404: "No such user or team" },
    handler: async (ctx) => {
      const { from, to } = usageRange(ctx.query);
      if ([ctx.query.user, ctx.query.team, ctx.query.all === "1" ? "1" : undefined].filter((v) => v !== undefined).length > 1) {
        throw badRequest("Ask for one of user, team or all at a time.");
      }
      const filter: UsageFilter = {};
      if (ctx.query.user !== undefined) {
        const u = (await getUser(ctx.app.db.orm, ctx.query.user)) ?? (await findUserByUsername(ctx.app.db.orm, ctx.query.user));
        // Only admins learn whether an account exists: others get the same 403 either way.
        if (!u && ctx.actor.kind === "user" && ctx.actor.user.role === "admin") throw notFound("User");
        filter.userId = u?.id ?? ctx.query.user;
      }
      if (ctx.query.team !== undefined) {
        const team = (await getTeam(ctx.app.db.orm, ctx.query.team)) ?? (await findTeamBySlug(ctx.app.db.orm, ctx.query.team));
        if (!team && ctx.actor.kind === "user" && ctx.actor.user.role === "admin") throw notFound("Team");
        filter.teamId = team?.id ?? ctx.query.team;
      }
      if (ctx.query.all === "1") filter.all = true;
      return json(await usageFor(ctx.app, ctx.actor, from, to, filter));
    },
  }),
];
