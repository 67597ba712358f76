-- 0003: project tags (set by project admins) and the tech stack detected from a project's files.

CREATE TABLE project_tags (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (project_id, tag)
);
CREATE INDEX project_tags_tag ON project_tags(tag, project_id);

-- Derived from the working tree's top-level files (projects/techstack.ts); rewritten whole
-- whenever the files change, so it is a cache of the files, never edited by hand.
CREATE TABLE project_tech (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  tech TEXT NOT NULL,
  PRIMARY KEY (project_id, tech)
);
CREATE INDEX project_tech_tech ON project_tech(tech, project_id);
