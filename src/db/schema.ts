/** drizzle mirror of the SQL migrations (src/db/migrations); the migrations are the source of truth. */
import { blob, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull(),
  username: text("username").notNull(),
  name: text("name").notNull(),
  passwordHash: text("password_hash"),
  role: text("role", { enum: ["admin", "member"] }).notNull(),
  disabledAt: integer("disabled_at"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const sessions = sqliteTable("sessions", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  lastSeenAt: integer("last_seen_at").notNull(),
  ip: text("ip"),
  userAgent: text("user_agent"),
});

export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull(),
  name: text("name").notNull(),
  tokenHash: text("token_hash").notNull(),
  prefix: text("prefix").notNull(),
  scopes: text("scopes").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at"),
  lastUsedAt: integer("last_used_at"),
  revokedAt: integer("revoked_at"),
});

export const oneTimeLinks = sqliteTable("one_time_links", {
  id: text("id").primaryKey(),
  kind: text("kind", { enum: ["invite", "reset"] }).notNull(),
  tokenHash: text("token_hash").notNull(),
  userId: text("user_id"),
  email: text("email"),
  role: text("role"),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  usedAt: integer("used_at"),
});

export const teams = sqliteTable("teams", {
  id: text("id").primaryKey(),
  slug: text("slug").notNull(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const teamMembers = sqliteTable(
  "team_members",
  {
    teamId: text("team_id").notNull(),
    userId: text("user_id").notNull(),
    role: text("role", { enum: ["owner", "maintainer", "member", "viewer"] }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.userId] })],
);

export const projects = sqliteTable("projects", {
  id: text("id").primaryKey(),
  ownerUserId: text("owner_user_id"),
  ownerTeamId: text("owner_team_id"),
  slug: text("slug").notNull(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  visibility: text("visibility", { enum: ["private", "unlisted", "public"] }).notNull(),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  forkedFromId: text("forked_from_id"),
  template: text("template"),
  isTemplate: integer("is_template", { mode: "boolean" }).notNull().default(false),
  starCount: integer("star_count").notNull().default(0),
  forkCount: integer("fork_count").notNull().default(0),
});

export const projectEnv = sqliteTable(
  "project_env",
  {
    projectId: text("project_id").notNull(),
    name: text("name").notNull(),
    valueSealed: text("value_sealed").notNull(),
    secret: integer("secret", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    updatedBy: text("updated_by"),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.name] })],
);

export const projectStars = sqliteTable(
  "project_stars",
  {
    projectId: text("project_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.userId] })],
);

export const projectTags = sqliteTable(
  "project_tags",
  {
    projectId: text("project_id").notNull(),
    tag: text("tag").notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.tag] })],
);

export const projectTech = sqliteTable(
  "project_tech",
  {
    projectId: text("project_id").notNull(),
    tech: text("tech").notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.tech] })],
);

export const events = sqliteTable("events", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  at: integer("at").notNull(),
  actorId: text("actor_id"),
  kind: text("kind").notNull(),
  subjectType: text("subject_type").notNull(),
  subjectId: text("subject_id").notNull(),
  projectId: text("project_id"),
  teamId: text("team_id"),
  data: text("data").notNull().default("{}"),
});

export const collabDocs = sqliteTable("collab_docs", {
  id: text("id").primaryKey(),
  projectId: text("project_id").notNull(),
  path: text("path").notNull(),
  snapshot: blob("snapshot", { mode: "buffer" }),
  snapshotSeq: integer("snapshot_seq").notNull().default(0),
  baseText: text("base_text").notNull().default(""),
  baseHash: text("base_hash").notNull().default(""),
  prevHash: text("prev_hash").notNull().default(""),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const collabUpdates = sqliteTable(
  "collab_updates",
  {
    docId: text("doc_id").notNull(),
    seq: integer("seq").notNull(),
    data: blob("data", { mode: "buffer" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.docId, t.seq] })],
);

export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

// Search (0005_search.sql). The FTS5 tables search_code and search_project_text are virtual
// tables drizzle cannot describe: src/search/ reaches them with SQL.
export const searchFiles = sqliteTable("search_files", {
  id: integer("id").primaryKey(),
  projectId: text("project_id").notNull(),
  path: text("path").notNull(),
  lang: text("lang").notNull(),
  size: integer("size").notNull(),
  mtime: integer("mtime").notNull(),
  kind: text("kind", { enum: ["text", "binary", "too_large"] }).notNull(),
  hash: text("hash").notNull(),
  lineCount: integer("line_count").notNull(),
  segments: integer("segments").notNull().default(0),
  indexedAt: integer("indexed_at").notNull(),
});

export const searchSegments = sqliteTable("search_segments", {
  id: integer("id").primaryKey(),
  fileId: integer("file_id").notNull(),
  startLine: integer("start_line").notNull(),
  text: text("text").notNull(),
});

export const searchProjects = sqliteTable("search_projects", {
  id: integer("id").primaryKey(),
  projectId: text("project_id").notNull(),
  seenUpdatedAt: integer("seen_updated_at").notNull().default(0),
  filesVersion: integer("files_version").notNull().default(0),
  filesIndexedAt: integer("files_indexed_at"),
});

export const searchQueue = sqliteTable(
  "search_queue",
  {
    projectId: text("project_id").notNull(),
    path: text("path").notNull(),
    moveTo: text("move_to"),
    force: integer("force", { mode: "boolean" }).notNull().default(false),
    enqueuedAt: integer("enqueued_at").notNull(),
    gen: integer("gen").notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    notBefore: integer("not_before").notNull().default(0),
    lastError: text("last_error"),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.path] })],
);

export const searchState = sqliteTable("search_state", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export type User = typeof users.$inferSelect;
export type Team = typeof teams.$inferSelect;
export type Project = typeof projects.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type TeamRole = (typeof teamMembers.$inferSelect)["role"];
export type InstanceRole = User["role"];
export type Visibility = Project["visibility"];

// Semantic search (0006_semantic.sql). The vec0 index tables live on the vector connection
// (db/vec.ts) and are created by src/search/vectors.ts, not described here.
export const searchChunks = sqliteTable("search_chunks", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  fileId: integer("file_id").notNull(),
  startLine: integer("start_line").notNull(),
  endLine: integer("end_line").notNull(),
  kind: text("kind").notNull(),
  title: text("title").notNull().default(""),
  embedder: text("embedder").notNull(),
  embedding: blob("embedding", { mode: "buffer" }).notNull(),
});

export const searchSemanticFiles = sqliteTable("search_semantic_files", {
  fileId: integer("file_id").primaryKey(),
  hash: text("hash").notNull(),
  embedder: text("embedder").notNull(),
  chunks: integer("chunks").notNull(),
  indexedAt: integer("indexed_at").notNull(),
  error: text("error"),
});

export const searchChunksGone = sqliteTable("search_chunks_gone", {
  id: integer("id").primaryKey(),
});

export const searchVecSpaces = sqliteTable("search_vec_spaces", {
  space: text("space").primaryKey(),
  dims: integer("dims").notNull(),
  generation: integer("generation").notNull().default(1),
  cells: integer("cells").notNull().default(1),
  size: integer("size").notNull().default(0),
  trainedSize: integer("trained_size").notNull().default(0),
  building: integer("building"),
  buildingCells: integer("building_cells"),
  buildingAfter: integer("building_after").notNull().default(0),
  buildingSize: integer("building_size").notNull().default(0),
});

export const searchVecCentroids = sqliteTable(
  "search_vec_centroids",
  {
    space: text("space").notNull(),
    generation: integer("generation").notNull(),
    cell: integer("cell").notNull(),
    share: real("share").notNull(),
    centroid: blob("centroid", { mode: "buffer" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.space, t.generation, t.cell] })],
);

// One-click deployment (0007_deploy.sql).
export const deployments = sqliteTable("deployments", {
  id: text("id").primaryKey(),
  projectId: text("project_id").notNull(),
  number: integer("number").notNull(),
  status: text("status", { enum: ["queued", "building", "starting", "live", "failed", "stopped", "superseded"] }).notNull(),
  kind: text("kind", { enum: ["static", "bun", "dockerfile"] }),
  plan: text("plan"),
  rollbackOf: text("rollback_of"),
  image: text("image"),
  containerId: text("container_id"),
  hostPort: integer("host_port"),
  error: text("error"),
  restarts: integer("restarts").notNull().default(0),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull(),
  startedAt: integer("started_at"),
  liveAt: integer("live_at"),
  finishedAt: integer("finished_at"),
});

export const deployDomains = sqliteTable("deploy_domains", {
  domain: text("domain").primaryKey(),
  projectId: text("project_id").notNull(),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull(),
  verifiedBy: text("verified_by"),
  verifiedAt: integer("verified_at"),
});

// AI assistant (0008_ai.sql).
export const aiProviders = sqliteTable("ai_providers", {
  id: text("id").primaryKey(),
  kind: text("kind").notNull(),
  name: text("name").notNull(),
  url: text("url").notNull(),
  apiKeySealed: text("api_key_sealed"),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  position: integer("position").notNull(),
  options: text("options").notNull().default("{}"),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const aiPolicies = sqliteTable("ai_policies", {
  task: text("task", { enum: ["chat", "code-edit", "summarise", "embed"] }).primaryKey(),
  chain: text("chain").notNull(),
  updatedBy: text("updated_by"),
  updatedAt: integer("updated_at").notNull(),
});

export const aiPrices = sqliteTable(
  "ai_prices",
  {
    providerId: text("provider_id").notNull(),
    model: text("model").notNull(),
    inputMicrosPerMtok: integer("input_micros_per_mtok").notNull().default(0),
    outputMicrosPerMtok: integer("output_micros_per_mtok").notNull().default(0),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.providerId, t.model] })],
);

export const aiUsage = sqliteTable("ai_usage", {
  id: integer("id").primaryKey(),
  at: integer("at").notNull(),
  userId: text("user_id"),
  teamId: text("team_id"),
  projectId: text("project_id"),
  conversationId: text("conversation_id"),
  task: text("task").notNull(),
  providerId: text("provider_id").notNull(),
  model: text("model").notNull(),
  tokensIn: integer("tokens_in").notNull().default(0),
  tokensOut: integer("tokens_out").notNull().default(0),
  latencyMs: integer("latency_ms").notNull().default(0),
  ttftMs: integer("ttft_ms"),
  costMicros: integer("cost_micros").notNull().default(0),
  status: text("status", { enum: ["ok", "error", "cancelled"] }).notNull(),
  error: text("error"),
});

export const aiQuotas = sqliteTable(
  "ai_quotas",
  {
    scope: text("scope", { enum: ["default", "user", "team"] }).notNull(),
    subjectId: text("subject_id").notNull(),
    dailyTokens: integer("daily_tokens"),
    requestsPerMinute: integer("requests_per_minute"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.subjectId] })],
);

export const aiConversations = sqliteTable("ai_conversations", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull(),
  projectId: text("project_id"),
  title: text("title").notNull().default(""),
  shared: integer("shared", { mode: "boolean" }).notNull().default(false),
  summary: text("summary"),
  summaryUpto: integer("summary_upto"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const aiMessages = sqliteTable("ai_messages", {
  id: integer("id").primaryKey(),
  conversationId: text("conversation_id").notNull(),
  role: text("role", { enum: ["system", "user", "assistant", "tool"] }).notNull(),
  content: text("content").notNull(),
  meta: text("meta").notNull().default("{}"),
  createdAt: integer("created_at").notNull(),
});

export const aiActions = sqliteTable("ai_actions", {
  id: text("id").primaryKey(),
  conversationId: text("conversation_id"),
  projectId: text("project_id").notNull(),
  userId: text("user_id"),
  summary: text("summary").notNull().default(""),
  edits: text("edits").notNull(),
  status: text("status", { enum: ["proposed", "applied", "discarded", "conflict"] }).notNull(),
  createdAt: integer("created_at").notNull(),
  appliedAt: integer("applied_at"),
  appliedBy: text("applied_by"),
});

export const aiAgentLogs = sqliteTable("ai_agent_logs", {
  id: integer("id").primaryKey(),
  runId: text("run_id").notNull(),
  conversationId: text("conversation_id"),
  agent: text("agent").notNull(),
  at: integer("at").notNull(),
  text: text("text").notNull(),
});

export const prompts = sqliteTable("prompts", {
  id: text("id").primaryKey(),
  ownerId: text("owner_id").notNull(),
  teamId: text("team_id"),
  visibility: text("visibility", { enum: ["private", "team", "instance"] }).notNull(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  currentVersion: integer("current_version").notNull().default(1),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const promptVersions = sqliteTable(
  "prompt_versions",
  {
    promptId: text("prompt_id").notNull(),
    version: integer("version").notNull(),
    body: text("body").notNull(),
    variables: text("variables").notNull().default("[]"),
    note: text("note").notNull().default(""),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.promptId, t.version] })],
);

export const promptVotes = sqliteTable(
  "prompt_votes",
  {
    promptId: text("prompt_id").notNull(),
    userId: text("user_id").notNull(),
    value: integer("value").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.promptId, t.userId] })],
);

export const promptUses = sqliteTable("prompt_uses", {
  id: integer("id").primaryKey(),
  promptId: text("prompt_id").notNull(),
  version: integer("version").notNull(),
  userId: text("user_id"),
  at: integer("at").notNull(),
  feedback: integer("feedback"),
});
