/** Every migration, in order. They are imported as text so the binary embeds them. */
import m0001 from "./0001_init.sql" with { type: "text" };
import m0002 from "./0002_env_stars_forks.sql" with { type: "text" };
import m0003 from "./0003_tags.sql" with { type: "text" };
import m0004 from "./0004_collab.sql" with { type: "text" };
import m0005 from "./0005_search.sql" with { type: "text" };
import m0006 from "./0006_semantic.sql" with { type: "text" };
import m0007 from "./0007_deploy.sql" with { type: "text" };
import m0008 from "./0008_ai.sql" with { type: "text" };

export const migrations: { id: string; sql: string }[] = [
  { id: "0001_init", sql: m0001 },
  { id: "0002_env_stars_forks", sql: m0002 },
  { id: "0003_tags", sql: m0003 },
  { id: "0004_collab", sql: m0004 },
  { id: "0005_search", sql: m0005 },
  { id: "0006_semantic", sql: m0006 },
  { id: "0007_deploy", sql: m0007 },
  { id: "0008_ai", sql: m0008 },
];
