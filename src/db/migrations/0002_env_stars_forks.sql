-- 0002: project environment variables (sealed), stars, forks and templates.

-- Every value is sealed with the instance key (AES-256-GCM, lib/crypto.ts seal):
-- plaintext never reaches the database file, secret or not.
CREATE TABLE project_env (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value_sealed TEXT NOT NULL,
  secret INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT REFERENCES users(id) ON DELETE SET NULL,
  PRIMARY KEY (project_id, name)
);

CREATE TABLE project_stars (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_stars_user ON project_stars(user_id, created_at DESC);

-- Lineage: a fork (or a project made from a template) points at its source.
ALTER TABLE projects ADD COLUMN forked_from_id TEXT REFERENCES projects(id) ON DELETE SET NULL;
-- The built-in template a project was created from (e.g. "static-site"), if any.
ALTER TABLE projects ADD COLUMN template TEXT;
-- Marked by its owner as a template others can start from.
ALTER TABLE projects ADD COLUMN is_template INTEGER NOT NULL DEFAULT 0;
-- Denormalised counters, kept in the same transaction as the star/fork that changes them.
ALTER TABLE projects ADD COLUMN star_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN fork_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX projects_forked_from ON projects(forked_from_id);
CREATE INDEX projects_templates ON projects(is_template) WHERE is_template = 1;
