-- One-click deployment (src/deploy/). Deploy state lives in the main database, which runs
-- WAL with synchronous=FULL: a deployment acknowledged as live survives a power cut.

CREATE TABLE deployments (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  -- 1, 2, 3… per project: what people call "deployment #4".
  number INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'building', 'starting', 'live', 'failed', 'stopped', 'superseded')),
  -- static | bun | dockerfile, known once the project has been looked at.
  kind TEXT,
  -- The plan the build and the container ran with (JSON: start command, port, health check…).
  plan TEXT,
  -- A deployment made by "roll back to #N" re-uses #N's build output; this names #N.
  rollback_of TEXT REFERENCES deployments(id) ON DELETE SET NULL,
  image TEXT,
  container_id TEXT,
  host_port INTEGER,
  error TEXT,
  restarts INTEGER NOT NULL DEFAULT 0,
  created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  live_at INTEGER,
  finished_at INTEGER,
  UNIQUE (project_id, number)
);
CREATE INDEX deployments_project ON deployments (project_id, created_at);
-- At most one live deployment per project: the switch is one transaction.
CREATE UNIQUE INDEX deployments_one_live ON deployments (project_id) WHERE status = 'live';
CREATE INDEX deployments_active ON deployments (status) WHERE status IN ('queued', 'building', 'starting', 'live');

-- Custom domains: a project owner asks, an admin verifies; only verified domains are routed.
CREATE TABLE deploy_domains (
  domain TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  verified_by TEXT REFERENCES users(id) ON DELETE SET NULL,
  verified_at INTEGER
);
CREATE INDEX deploy_domains_project ON deploy_domains (project_id);
