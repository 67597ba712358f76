-- AI assistant (src/ai/, plugins/). Providers and their sealed keys, routing policies, prices,
-- usage accounting and quotas, conversations, code actions, agent logs, the prompt library.

CREATE TABLE ai_providers (
  id TEXT PRIMARY KEY,                 -- admin-chosen slug: "local-ollama"
  kind TEXT NOT NULL,                  -- a plugin kind: ollama | openai-compatible | anthropic | …
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  api_key_sealed TEXT,                 -- sealed with the instance key (lib/crypto seal), never shown back
  enabled INTEGER NOT NULL DEFAULT 1,
  position INTEGER NOT NULL,           -- the order they were added: the default fallback order
  options TEXT NOT NULL DEFAULT '{}',  -- plugin-specific settings (JSON, validated by the plugin's schema)
  created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Per task kind, the chain of models to try in order ([{providerId, model}] as JSON).
CREATE TABLE ai_policies (
  task TEXT PRIMARY KEY CHECK (task IN ('chat', 'code-edit', 'summarise', 'embed')),
  chain TEXT NOT NULL,
  updated_by TEXT REFERENCES users(id) ON DELETE SET NULL,
  updated_at INTEGER NOT NULL
);

-- Admin-set prices per million tokens, in micro-units of the instance currency; unset = 0.
CREATE TABLE ai_prices (
  provider_id TEXT NOT NULL REFERENCES ai_providers(id) ON DELETE CASCADE,
  model TEXT NOT NULL,
  input_micros_per_mtok INTEGER NOT NULL DEFAULT 0,
  output_micros_per_mtok INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (provider_id, model)
);

-- One row per model call (a fallback that failed is its own row with status 'error').
CREATE TABLE ai_usage (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
  team_id TEXT,
  project_id TEXT,
  conversation_id TEXT,
  task TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  model TEXT NOT NULL,
  tokens_in INTEGER NOT NULL DEFAULT 0,
  tokens_out INTEGER NOT NULL DEFAULT 0,
  latency_ms INTEGER NOT NULL DEFAULT 0,
  ttft_ms INTEGER,
  cost_micros INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'cancelled')),
  error TEXT
);
CREATE INDEX ai_usage_user_at ON ai_usage (user_id, at);
CREATE INDEX ai_usage_team_at ON ai_usage (team_id, at);
CREATE INDEX ai_usage_at ON ai_usage (at);

-- Limits: scope 'default' (subject '') applies to everyone without their own row.
CREATE TABLE ai_quotas (
  scope TEXT NOT NULL CHECK (scope IN ('default', 'user', 'team')),
  subject_id TEXT NOT NULL,
  daily_tokens INTEGER,                -- null = unlimited
  requests_per_minute INTEGER,         -- null = unlimited
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (scope, subject_id)
);

CREATE TABLE ai_conversations (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
  title TEXT NOT NULL DEFAULT '',
  shared INTEGER NOT NULL DEFAULT 0,   -- 1: the project's collaborators may read it
  summary TEXT,                        -- what older messages said, once they slid out of the window
  summary_upto INTEGER,                -- the last message id the summary covers
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX ai_conversations_user ON ai_conversations (user_id, updated_at);
CREATE INDEX ai_conversations_project ON ai_conversations (project_id, updated_at);

CREATE TABLE ai_messages (
  id INTEGER PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES ai_conversations(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  content TEXT NOT NULL,
  meta TEXT NOT NULL DEFAULT '{}',     -- files included, model used, usage, action ids (JSON)
  created_at INTEGER NOT NULL
);
CREATE INDEX ai_messages_conversation ON ai_messages (conversation_id, id);

-- Edits the assistant proposes: shown as a diff, applied through the collaborative document.
CREATE TABLE ai_actions (
  id TEXT PRIMARY KEY,
  conversation_id TEXT REFERENCES ai_conversations(id) ON DELETE SET NULL,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
  summary TEXT NOT NULL DEFAULT '',
  edits TEXT NOT NULL,                 -- [{path, before, after}] (JSON): before = the text it was proposed against
  status TEXT NOT NULL CHECK (status IN ('proposed', 'applied', 'discarded', 'conflict')),
  created_at INTEGER NOT NULL,
  applied_at INTEGER,
  applied_by TEXT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX ai_actions_project ON ai_actions (project_id, created_at);

CREATE TABLE ai_agent_logs (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  conversation_id TEXT REFERENCES ai_conversations(id) ON DELETE CASCADE,
  agent TEXT NOT NULL,
  at INTEGER NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX ai_agent_logs_run ON ai_agent_logs (run_id, id);

-- The prompt library.
CREATE TABLE prompts (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  team_id TEXT REFERENCES teams(id) ON DELETE CASCADE,
  visibility TEXT NOT NULL CHECK (visibility IN ('private', 'team', 'instance')),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  current_version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX prompts_owner ON prompts (owner_id);
CREATE INDEX prompts_team ON prompts (team_id);

CREATE TABLE prompt_versions (
  prompt_id TEXT NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  body TEXT NOT NULL,                  -- with {{variables}}
  variables TEXT NOT NULL DEFAULT '[]',-- [{name, description, default?}] (JSON)
  note TEXT NOT NULL DEFAULT '',
  created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (prompt_id, version)
);

CREATE TABLE prompt_votes (
  prompt_id TEXT NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  value INTEGER NOT NULL CHECK (value IN (-1, 1)),
  at INTEGER NOT NULL,
  PRIMARY KEY (prompt_id, user_id)
);

-- Each use of a prompt version, and the thumbs up/down given to what it produced.
CREATE TABLE prompt_uses (
  id INTEGER PRIMARY KEY,
  prompt_id TEXT NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
  at INTEGER NOT NULL,
  feedback INTEGER CHECK (feedback IN (-1, 1))
);
CREATE INDEX prompt_uses_prompt ON prompt_uses (prompt_id, version);
