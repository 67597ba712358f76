/**
 * JSON API of the prompt library, `/api/v1/prompts`. Every route needs a signed-in account;
 * which prompts a caller may see is the handler's business (prompts-search.ts): a prompt the
 * caller may not see answers 404, exactly as one that does not exist. `:prompt` is a prompt id
 * (`:id` names only projects and teams in the route table).
 */
import { t } from "elysia";
import type { Static } from "@sinclair/typebox";
import { route, userOf, type Ctx } from "../server/guard.ts";
import { json, noContent } from "../server/http.ts";
import { notFound } from "../lib/errors.ts";
import type { App } from "../core/app.ts";
import type { User } from "../db/schema.ts";
import { copyPrompt, createPrompt, deletePrompt, editPrompt, getVersion, listVersions, setUseFeedback, usePrompt, versionStats, votePrompt, type PromptVersion } from "./prompts.ts";
import { getVisiblePrompt, PAGE_MAX, QUERY_MAX, searchPrompts, type PromptSummary } from "./prompts-search.ts";
import { diffPromptTexts } from "./prompt-diff.ts";
import type { PromptVariable } from "./prompt-template.ts";

const Visibility = t.Union([t.Literal("private"), t.Literal("team"), t.Literal("instance")], { description: "private: you; team: the team's members; instance: every signed-in user" });
const Vote = t.Union([t.Literal(1), t.Literal(-1), t.Literal(0)], { description: "1 up, -1 down, 0 takes it back" });
const Variable = t.Object(
  {
    name: t.String({ minLength: 1, maxLength: 64, description: "As used in the text: {{name}}" }),
    description: t.Optional(t.String({ maxLength: 500 })),
    default: t.Optional(t.String({ maxLength: 4000, description: "Makes the variable optional" })),
  },
  { additionalProperties: false },
);
const Name = t.String({ minLength: 1, maxLength: 100 });
const Description = t.String({ maxLength: 2000 });
const Body = t.String({ minLength: 1, description: "The text with {{variables}}; at most 32 KiB" });
const Variables = t.Array(Variable, { maxItems: 50, description: "Descriptions and defaults of the variables the text uses (they are found in it; list only those you describe)" });
const Team = t.Union([t.String({ minLength: 1, maxLength: 64, description: "Team id or slug (for team visibility)" }), t.Null()]);
const Note = t.String({ maxLength: 500, description: "What this version changed" });
const BaseVersion = t.Integer({ minimum: 1, description: "The version your edit started from" });
const CreateBody = t.Object(
  { name: Name, description: t.Optional(Description), body: Body, variables: t.Optional(Variables), visibility: t.Optional(Visibility), team: t.Optional(Team), note: t.Optional(Note) },
  { additionalProperties: false },
);
const PatchBody = t.Object(
  {
    name: t.Optional(Name),
    description: t.Optional(Description),
    body: t.Optional(Body),
    variables: t.Optional(Variables),
    visibility: t.Optional(Visibility),
    team: t.Optional(Team),
    note: t.Optional(Note),
    baseVersion: t.Optional(BaseVersion),
  },
  { additionalProperties: false },
);
const PutBody = t.Object(
  {
    name: Name,
    description: t.Optional(Description),
    body: Body,
    variables: t.Optional(Variables),
    visibility: t.Optional(Visibility),
    team: t.Optional(Team),
    note: t.Optional(Note),
    baseVersion: t.Optional(BaseVersion),
  },
  { additionalProperties: false },
);
const PositiveInt = t.String({ pattern: "^[1-9][0-9]{0,8}$" });

function userJson(u: { id: string; username: string; name: string } | null) {
  return u ? { id: u.id, username: u.username, name: u.name } : null;
}

export function promptJson(p: PromptSummary) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    visibility: p.visibility,
    team: p.teamId ? { id: p.teamId, slug: p.teamSlug, name: p.teamName } : null,
    owner: { id: p.ownerId, username: p.ownerUsername, name: p.ownerName },
    currentVersion: p.currentVersion,
    votes: { score: p.score, up: p.up, down: p.down, mine: p.myVote },
    uses: p.uses,
    createdAt: new Date(p.createdAt).toISOString(),
    updatedAt: new Date(p.updatedAt).toISOString(),
    url: `/prompts/${encodeURIComponent(p.id)}`,
  };
}

function versionJson(v: PromptVersion) {
  return { version: v.version, body: v.body, variables: v.variables, note: v.note, createdBy: userJson(v.createdBy), createdAt: new Date(v.createdAt).toISOString() };
}

/** A prompt with its current text and variables, whether the caller may edit it, and uses and thumbs per version. */
async function promptDetail(app: App, user: User, p: PromptSummary) {
  const [current, stats] = await Promise.all([getVersion(app.db.orm, p, p.currentVersion), versionStats(app.db.orm, p)]);
  return { ...promptJson(p), ...versionJson(current), version: current.version, canEdit: p.ownerId === user.id, analytics: stats };
}

function versionParam(ctx: Ctx<unknown, unknown>, name: string): number {
  const raw = ctx.params[name] ?? "";
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw notFound(name === "useId" ? "Use" : "Version");
  return Number(raw);
}

function toVariables(list: { name: string; description?: string; default?: string }[] | undefined): PromptVariable[] | undefined {
  return list?.map((v) => ({ name: v.name, description: v.description ?? "", ...(v.default !== undefined ? { default: v.default } : {}) }));
}

async function edit(ctx: Ctx<Static<typeof PatchBody>>): Promise<Response> {
  const user = userOf(ctx);
  const { variables, ...rest } = ctx.body;
  const r = await editPrompt(ctx.app.db.orm, user, ctx.params.prompt ?? "", { ...rest, variables: toVariables(variables) });
  return json({ ...(await promptDetail(ctx.app, user, r.prompt)), newVersion: r.newVersion });
}

const tags = ["prompts"];

export const promptApiRoutes = [
  route({
    method: "GET",
    path: "/api/v1/prompts",
    permission: "user",
    kind: "api",
    summary:
      "Prompts you may see (yours, your teams', the instance's), matching every word of `q` in name, description or current text. " +
      "`scope`: all | mine | team | instance; `sort`: votes (default) | recent | uses. → {prompts, next} (next: the offset of the next page, or null).",
    tags,
    query: t.Object({
      q: t.Optional(t.String({ maxLength: QUERY_MAX })),
      scope: t.Optional(t.Union([t.Literal("all"), t.Literal("mine"), t.Literal("team"), t.Literal("instance")])),
      sort: t.Optional(t.Union([t.Literal("votes"), t.Literal("recent"), t.Literal("uses")])),
      limit: t.Optional(t.String({ pattern: "^[0-9]{1,3}$", description: `1–${PAGE_MAX}, default 20` })),
      offset: t.Optional(t.String({ pattern: "^[0-9]{1,6}$" })),
    }),
    handler: async (ctx) => {
      const r = await searchPrompts(ctx.app.db.orm, userOf(ctx).id, {
        q: ctx.query.q,
        scope: ctx.query.scope,
        sort: ctx.query.sort,
        limit: ctx.query.limit ? Number(ctx.query.limit) : undefined,
        offset: ctx.query.offset ? Number(ctx.query.offset) : undefined,
      });
      return json({ prompts: r.prompts.map(promptJson), next: r.next });
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/prompts",
    permission: "user",
    kind: "api",
    summary: "Create a prompt (version 1). Variables are found in the text ({{name}}); describe them and give defaults in `variables`. Private unless `visibility` says otherwise.",
    tags,
    body: CreateBody,
    responses: { 201: "The prompt with its text", 422: "Invalid fields (details name them)" },
    handler: async (ctx) => {
      const user = userOf(ctx);
      const { variables, ...rest } = ctx.body;
      const p = await createPrompt(ctx.app.db.orm, user, { ...rest, variables: toVariables(variables) });
      return json(await promptDetail(ctx.app, user, p), 201);
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/prompts/:prompt",
    permission: "user",
    kind: "api",
    summary: "One prompt: its current text and variables, votes, and uses with thumbs up/down per version (`analytics`).",
    tags,
    responses: { 404: "No such prompt, or not yours to see" },
    handler: async (ctx) => {
      const user = userOf(ctx);
      return json(await promptDetail(ctx.app, user, await getVisiblePrompt(ctx.app.db.orm, user.id, ctx.params.prompt ?? "")));
    },
  }),
  route({
    method: "PATCH",
    path: "/api/v1/prompts/:prompt",
    permission: "user",
    kind: "api",
    summary:
      "Edit your prompt. A changed text or variables make a new version (with `note`); name, description and sharing change in place. " +
      "Send `baseVersion` to be refused (409) when someone saved another version since.",
    tags,
    body: PatchBody,
    responses: { 200: "The prompt; `newVersion` says whether a version was added", 403: "Not your prompt", 409: "Another version was saved since baseVersion" },
    handler: edit,
  }),
  route({
    method: "PUT",
    path: "/api/v1/prompts/:prompt",
    permission: "user",
    kind: "api",
    summary: "Replace your prompt's name and text (and optionally the rest): a new version when the text or variables changed.",
    tags,
    body: PutBody,
    responses: { 200: "The prompt", 403: "Not your prompt", 409: "Another version was saved since baseVersion" },
    handler: edit,
  }),
  route({
    method: "DELETE",
    path: "/api/v1/prompts/:prompt",
    permission: "user",
    kind: "api",
    summary: "Delete your prompt with its versions, votes and uses (instance admins may delete prompts shared with them).",
    tags,
    responses: { 204: "Deleted", 403: "Not your prompt" },
    handler: async (ctx) => {
      await deletePrompt(ctx.app.db.orm, userOf(ctx), ctx.params.prompt ?? "");
      return noContent();
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/prompts/:prompt/versions",
    permission: "user",
    kind: "api",
    summary: "The prompt's versions, oldest first: number, note, who and when, with uses and thumbs per version (texts: GET …/versions/:version).",
    tags,
    handler: async (ctx) => {
      const orm = ctx.app.db.orm;
      const p = await getVisiblePrompt(orm, userOf(ctx).id, ctx.params.prompt ?? "");
      const [versions, stats] = await Promise.all([listVersions(orm, p), versionStats(orm, p)]);
      const byVersion = new Map(stats.map((s) => [s.version, s]));
      return json({
        versions: versions.map((v) => {
          const s = byVersion.get(v.version);
          return { version: v.version, note: v.note, createdBy: userJson(v.createdBy), createdAt: new Date(v.createdAt).toISOString(), uses: s?.uses ?? 0, up: s?.up ?? 0, down: s?.down ?? 0 };
        }),
      });
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/prompts/:prompt/versions/:version",
    permission: "user",
    kind: "api",
    summary: "One version of the prompt: its text, variables, note, author and time.",
    tags,
    handler: async (ctx) => {
      const p = await getVisiblePrompt(ctx.app.db.orm, userOf(ctx).id, ctx.params.prompt ?? "");
      return json(versionJson(await getVersion(ctx.app.db.orm, p, versionParam(ctx, "version"))));
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/prompts/:prompt/diff",
    permission: "user",
    kind: "api",
    summary:
      "The line diff between two versions (`to`: default the current one; `from`: default the one before `to`) → " +
      "{from, to, additions, deletions, hunks, unified, variables: {added, removed, changed}}.",
    tags,
    query: t.Object({ from: t.Optional(PositiveInt), to: t.Optional(PositiveInt) }),
    handler: async (ctx) => {
      const orm = ctx.app.db.orm;
      const p = await getVisiblePrompt(orm, userOf(ctx).id, ctx.params.prompt ?? "");
      const to = ctx.query.to ? Number(ctx.query.to) : p.currentVersion;
      const from = ctx.query.from ? Number(ctx.query.from) : Math.max(1, to - 1);
      const [a, b] = await Promise.all([getVersion(orm, p, from), getVersion(orm, p, to)]);
      const d = diffPromptTexts({ body: a.body, variables: a.variables, label: `v${from}` }, { body: b.body, variables: b.variables, label: `v${to}` });
      return json({
        from,
        to,
        additions: d.additions,
        deletions: d.deletions,
        hunks: d.hunks.map((h) => ({ ...h, lines: h.lines.map((l) => ({ kind: l.kind, text: l.text, oldNo: l.oldNo, newNo: l.newNo, noNewline: l.noNewline })) })),
        unified: d.unified,
        variables: d.variables,
      });
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/prompts/:prompt/vote",
    permission: "user",
    kind: "api",
    summary: "Vote the prompt up (1) or down (-1), or take your vote back (0); one vote per user. → {score, up, down, mine}.",
    tags,
    body: t.Object({ value: Vote }, { additionalProperties: false }),
    handler: async (ctx) => {
      const p = await votePrompt(ctx.app.db.orm, userOf(ctx), ctx.params.prompt ?? "", ctx.body.value);
      return json({ score: p.score, up: p.up, down: p.down, mine: p.myVote });
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/prompts/:prompt/render",
    permission: "user",
    kind: "api",
    summary:
      "Fill in a version's variables (`version`: default the current one) → {text, useId, version}, recorded as a use of that version. " +
      "With `useId` (your own earlier use of that version) it renders again without counting another use. " +
      "A missing value is a 422 whose details name each variable.",
    tags,
    body: t.Object(
      {
        variables: t.Optional(t.Record(t.String({ maxLength: 64 }), t.String())),
        version: t.Optional(t.Integer({ minimum: 1 })),
        useId: t.Optional(t.Integer({ minimum: 1 })),
      },
      { additionalProperties: false },
    ),
    responses: { 200: "The filled-in text", 404: "No such prompt, version or use", 422: "Missing or unknown variables (details[name])" },
    handler: async (ctx) => {
      const r = await usePrompt(ctx.app.db.orm, userOf(ctx), ctx.params.prompt ?? "", { values: ctx.body.variables ?? {}, version: ctx.body.version, useId: ctx.body.useId });
      return json(r);
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/prompts/:prompt/uses/:useId/feedback",
    permission: "user",
    kind: "api",
    summary: "Thumbs up (1) or down (-1) on what one of your uses of the prompt produced, or 0 to take it back. → {useId, version, feedback}.",
    tags,
    body: t.Object({ value: Vote }, { additionalProperties: false }),
    responses: { 404: "No such use of yours" },
    handler: async (ctx) => {
      const use = await setUseFeedback(ctx.app.db.orm, userOf(ctx), ctx.params.prompt ?? "", versionParam(ctx, "useId"), ctx.body.value);
      return json({ useId: use.id, version: use.version, feedback: use.feedback });
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/prompts/:prompt/copy",
    permission: "user",
    kind: "api",
    summary: "Copy a prompt you can see (a version of it: default the current one) into a new private prompt of your own.",
    tags,
    body: t.Object({ name: t.Optional(t.String({ minLength: 1, maxLength: 100 })), version: t.Optional(t.Integer({ minimum: 1 })) }, { additionalProperties: false }),
    responses: { 201: "Your copy" },
    handler: async (ctx) => {
      const user = userOf(ctx);
      const p = await copyPrompt(ctx.app.db.orm, user, ctx.params.prompt ?? "", { name: ctx.body.name, version: ctx.body.version });
      return json(await promptDetail(ctx.app, user, p), 201);
    },
  }),
];
