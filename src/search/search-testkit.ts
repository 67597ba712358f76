/**
 * Test helpers for search: a small world of users, a team and projects of every visibility,
 * actors for them, and a file writer that goes through the real file API (so the indexer hears
 * about it as it would in production).
 */
import type { App } from "../core/app.ts";
import type { Project, User } from "../db/schema.ts";
import type { Actor } from "../auth/actor.ts";
import { ANONYMOUS } from "../auth/actor.ts";
import { createUser } from "../auth/users.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { createProject } from "../projects/projects.ts";
import { writeProjectFile } from "../projects/files.ts";

export type SearchWorld = {
  alice: User;
  bob: User;
  carol: User;
  admin: User;
  /** alice's */
  pub: Project;
  priv: Project;
  unlisted: Project;
  /** owned by a team: carol is a member, bob is not */
  team: Project;
};

export function actorOf(user: User | null): Actor {
  return user ? { kind: "user", user, via: "session", sessionId: `s-${user.id}` } : ANONYMOUS;
}

export async function write(app: App, project: Project, path: string, content: string | Uint8Array, by: User): Promise<void> {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  await writeProjectFile(app.db.orm, app.config.dataDir, project, path, bytes, app.config.maxFileBytes, by.id);
}

export async function searchWorld(app: App): Promise<SearchWorld> {
  const orm = app.db.orm;
  const dataDir = app.config.dataDir;
  const mk = (username: string, role: "admin" | "member" = "member") => createUser(orm, { email: `${username}@example.com`, username, name: username, role }, null);
  const alice = await mk("alice");
  const bob = await mk("bob");
  const carol = await mk("carol");
  const admin = await mk("root", "admin");
  const pub = await createProject(orm, dataDir, alice, { name: "Public Charts", description: "draws a bar chart with D3", visibility: "public" });
  const priv = await createProject(orm, dataDir, alice, { name: "Secret Notes", description: "private", visibility: "private" });
  const unlisted = await createProject(orm, dataDir, alice, { name: "Hidden Link", description: "unlisted", visibility: "unlisted" });
  const t = await createTeam(orm, alice, { name: "Class A", slug: "class-a" });
  await setMember(orm, t.id, carol.id, "member", alice.id, "owner");
  const team = await createProject(orm, dataDir, alice, { name: "Class Work", description: "team project", visibility: "private", team: t.id });
  return { alice, bob, carol, admin, pub, priv, unlisted, team };
}
