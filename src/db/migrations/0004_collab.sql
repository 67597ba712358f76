-- 0004: collaborative editing (src/collab/). One Yjs document per text file that has been
-- opened in the IDE. A document is its snapshot plus the updates stored after it; an update
-- is appended here before it is broadcast to anyone, so "acknowledged" means "on disk".

CREATE TABLE collab_docs (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  -- Y.encodeStateAsUpdate of the document up to and including update `snapshot_seq`.
  snapshot BLOB,
  snapshot_seq INTEGER NOT NULL DEFAULT 0,
  -- The text last written to (or read from) the working tree, and its SHA-256: what a
  -- three-way merge takes as the base when the file changes outside the editor.
  base_text TEXT NOT NULL DEFAULT '',
  base_hash TEXT NOT NULL DEFAULT '',
  -- The hash before the last write: a file still holding it means that write was cut short
  -- (a crash between recording the new base and renaming the file into place).
  prev_hash TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (project_id, path)
);

CREATE TABLE collab_updates (
  doc_id TEXT NOT NULL REFERENCES collab_docs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;
