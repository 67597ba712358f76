-- 0006: semantic search (src/search/semantic.ts, vectors.ts). Files indexed by code search
-- (search_files, 0005) are cut into chunks along their structure (chunk.ts); each chunk has one
-- float vector from the embedder the admin chose. Everything here is derived: it is rebuilt
-- from search_files and the indexed text whenever it is missing or stale.
--
-- The binary-quantized index over these vectors lives in sqlite-vec vec0 tables
-- (search_vec_<space>_<generation>), which exist only on the vector connection (db/vec.ts):
-- they are created by vectors.ts, and nothing in a migration or trigger may name them.

-- One row per chunk. The id is also the chunk's rowid in the vec0 index; AUTOINCREMENT so an id
-- is never reused while a stale index row might still carry it.
CREATE TABLE search_chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  file_id INTEGER NOT NULL REFERENCES search_files(id) ON DELETE CASCADE,
  start_line INTEGER NOT NULL,       -- 1-based, inclusive
  end_line INTEGER NOT NULL,
  kind TEXT NOT NULL,                -- function | class | block | section | text
  title TEXT NOT NULL DEFAULT '',
  embedder TEXT NOT NULL,            -- the id of the embedder that made `embedding`
  embedding BLOB NOT NULL            -- float32 little-endian, L2-normalised
);
CREATE INDEX search_chunks_file ON search_chunks(file_id);
CREATE INDEX search_chunks_embedder ON search_chunks(embedder, id);

-- Per text file: the content (search_files.hash) and embedder its chunks were made from. A file
-- whose row is missing or differs is (re-)chunked by the semantic worker: after a restart, a
-- missed event, or an embedder switch (which re-embeds everything, resumably).
CREATE TABLE search_semantic_files (
  file_id INTEGER PRIMARY KEY REFERENCES search_files(id) ON DELETE CASCADE,
  hash TEXT NOT NULL,
  embedder TEXT NOT NULL,
  chunks INTEGER NOT NULL,
  indexed_at INTEGER NOT NULL,
  error TEXT                         -- why the last attempt failed (the embedding server was down…)
);

-- Chunk rows that went (a file re-chunked or deleted, a project deleted by cascade): the worker
-- removes them from the vec0 index, which no trigger can reach. Until then a query never shows
-- them: results are joined with search_chunks.
CREATE TABLE search_chunks_gone (id INTEGER PRIMARY KEY);
CREATE TRIGGER search_chunks_ad AFTER DELETE ON search_chunks BEGIN
  INSERT OR IGNORE INTO search_chunks_gone (id) VALUES (old.id);
END;

-- One row per vector space (an embedder id) that has an index: its live vec0 table
-- (generation), the IVF cells it is partitioned into (1 until it is big enough to train them),
-- and a rebuild in progress, if any (a new generation filled from search_chunks in id order up
-- to building_after; queries keep using the live one until it is complete).
CREATE TABLE search_vec_spaces (
  space TEXT PRIMARY KEY,
  dims INTEGER NOT NULL,
  generation INTEGER NOT NULL DEFAULT 1,
  cells INTEGER NOT NULL DEFAULT 1,
  size INTEGER NOT NULL DEFAULT 0,
  trained_size INTEGER NOT NULL DEFAULT 0,
  building INTEGER,
  building_cells INTEGER,
  building_after INTEGER NOT NULL DEFAULT 0,
  building_size INTEGER NOT NULL DEFAULT 0
);

-- The IVF centroids of a generation, with the share of the vectors each cell held when trained.
CREATE TABLE search_vec_centroids (
  space TEXT NOT NULL,
  generation INTEGER NOT NULL,
  cell INTEGER NOT NULL,
  share REAL NOT NULL,
  centroid BLOB NOT NULL,
  PRIMARY KEY (space, generation, cell)
);
