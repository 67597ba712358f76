-- 0005: search (src/search/). Code search over a trigram FTS5 index, project discovery over a
-- porter/unicode61 FTS5 index, and the persistent indexing queue. Everything here is derived
-- from the working trees and the projects table: `wove admin reindex` can rebuild all of it.

-- One row per indexed file (text, binary or too large). Binary files have no segments: they are
-- listed by name only (the fuzzy file finder). A file over WOVE_SEARCH_MAX_FILE is `too_large`:
-- its first WOVE_SEARCH_MAX_FILE bytes (cut at a line end) are indexed, the rest is not.
CREATE TABLE search_files (
  id INTEGER PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  lang TEXT NOT NULL,
  size INTEGER NOT NULL,             -- bytes on disk
  mtime INTEGER NOT NULL,            -- ms; with size, lets an unchanged file be skipped unread
  kind TEXT NOT NULL CHECK (kind IN ('text', 'binary', 'too_large')),
  hash TEXT NOT NULL,                -- sha1 of the indexed bytes
  line_count INTEGER NOT NULL,       -- lines indexed
  segments INTEGER NOT NULL DEFAULT 0,
  indexed_at INTEGER NOT NULL,
  UNIQUE (project_id, path)
);

-- A text file's content in segments of about 32 KB cut at line ends (a longer line is cut
-- inside). Segment ids are file_id * 256 + n, so a file's segments are one id range and the
-- FTS rowid names its file without a lookup. Segments keep every write transaction small:
-- indexing a 1 MB file never holds the database for long.
CREATE TABLE search_segments (
  id INTEGER PRIMARY KEY,            -- file_id * 256 + n; also the search_code rowid
  file_id INTEGER NOT NULL,
  start_line INTEGER NOT NULL,       -- 1-based line of the segment's first character
  text TEXT NOT NULL
);

-- The trigram index: contentless (the text lives in search_segments once) with cheap deletes.
-- With positions (detail=full) a substring is a phrase query, so the candidates are the
-- segments that really contain it — a query made of common trigrams ("useState") reads ~30
-- segments instead of ~1000 that merely hold its trigrams somewhere. Case-insensitive: a
-- case-sensitive search verifies the case itself.
CREATE VIRTUAL TABLE search_code USING fts5(
  content, tokenize = 'trigram', content = '', contentless_delete = 1
);
-- Merges are run by the indexer in small steps between batches (never a long merge inside a
-- write a user is waiting for).
INSERT INTO search_code(search_code, rank) VALUES ('automerge', 0);

CREATE TRIGGER search_segments_ai AFTER INSERT ON search_segments BEGIN
  INSERT INTO search_code(rowid, content) VALUES (new.id, new.text);
END;
CREATE TRIGGER search_segments_ad AFTER DELETE ON search_segments BEGIN
  DELETE FROM search_code WHERE rowid = old.id;
END;
-- A file row going (a delete, or a project deleted: the cascade) takes its segments and
-- their index entries with it.
CREATE TRIGGER search_files_ad AFTER DELETE ON search_files BEGIN
  DELETE FROM search_segments WHERE id BETWEEN old.id * 256 AND old.id * 256 + 255;
END;

-- Per project: the discovery document's rowid, and what the indexer knows about it.
CREATE TABLE search_projects (
  id INTEGER PRIMARY KEY,            -- rowid in search_project_text
  project_id TEXT NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
  seen_updated_at INTEGER NOT NULL DEFAULT 0,   -- projects.updated_at when the document was written
  files_version INTEGER NOT NULL DEFAULT 0,     -- bumped when a file is added, removed or renamed
  files_indexed_at INTEGER                      -- the end of the last whole-project pass
);

-- Project discovery: name, description, README text and owner (tags and tech stack are matched
-- live against project_tags / project_tech, so they are never stale).
CREATE VIRTUAL TABLE search_project_text USING fts5(
  name, description, readme, owner,
  tokenize = 'porter unicode61 remove_diacritics 2', content = '', contentless_delete = 1
);
CREATE TRIGGER search_projects_ad AFTER DELETE ON search_projects BEGIN
  DELETE FROM search_project_text WHERE rowid = old.id;
END;

-- The indexing queue: survives restarts. path '' is the whole project; a folder path covers
-- everything under it. The worker re-reads the disk for each entry, so an entry only says
-- "look here again". move_to: the entry is a rename (the index rows follow without re-reading).
-- gen changes when an entry is queued again while being worked on, so it is not dropped.
CREATE TABLE search_queue (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  move_to TEXT,
  force INTEGER NOT NULL DEFAULT 0,  -- re-read and re-index even unchanged files (reindex)
  enqueued_at INTEGER NOT NULL,
  gen INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  PRIMARY KEY (project_id, path)
);
CREATE INDEX search_queue_order ON search_queue(not_before, enqueued_at);

-- Indexer bookkeeping: the worker lease (one process indexes at a time), the last error,
-- the last indexing time.
CREATE TABLE search_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
