/** Shapes shared by the search modules (code, projects, semantic, hybrid) and the API. */

export type SearchType = "code" | "projects" | "semantic" | "hybrid" | "files";

/** One hit in a file: what the API returns in `results` for code, semantic and hybrid searches. */
export type CodeHit = {
  projectId: string;
  path: string;
  /** 1-based line of the first matching line. */
  line: number;
  /** The matching line(s) with a little context; plain text (the UI escapes and highlights it). */
  snippet: string;
  score: number;
  /** Character ranges of the match inside `snippet`, for highlighting. */
  ranges?: [number, number][];
};

export type ProjectHit = { projectId: string; name: string; score: number; description?: string; owner?: string };

export type SearchOptions = {
  regex: boolean;
  caseSensitive: boolean;
  projectId?: string;
  /** Path filters: prefixes (`src/`) or globs; `lang:` filters by detected language. */
  paths: string[];
  langs: string[];
  limit: number;
  cursor?: string;
};
