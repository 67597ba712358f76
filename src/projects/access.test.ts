import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../core/app.ts";
import type { Orm } from "../db/client.ts";
import type { Project, Team, User, Visibility } from "../db/schema.ts";
import { ANONYMOUS, type Actor } from "../auth/actor.ts";
import { createUser } from "../auth/users.ts";
import { createTeam, setMember } from "../teams/teams.ts";
import { atLeast, projectAccess, teamAccess, type AccessLevel } from "./access.ts";
import { createProject } from "./projects.ts";
import { closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";

let dir: string;
let app: App;
let orm: Orm;

type Who = "anonymous" | "other" | "viewer" | "member" | "maintainer" | "teamOwner" | "userOwner" | "admin";
const people = {} as Record<Exclude<Who, "anonymous">, User>;
let team: Team;
const userProjects = {} as Record<Visibility, Project>;
const teamProjects = {} as Record<Visibility, Project>;

function actor(who: Who, via: "session" | "token" = "session"): Actor {
  if (who === "anonymous") return ANONYMOUS;
  const user = people[who];
  return via === "session" ? { kind: "user", user, via, sessionId: "s" } : { kind: "user", user, via, tokenId: "t", scopes: ["read"] };
}

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-access-"));
  orm = app.db.orm;
  let i = 0;
  for (const who of ["other", "viewer", "member", "maintainer", "teamOwner", "userOwner", "admin"] as const) {
    people[who] = await createUser(orm, { email: `${who}${i++}@example.com`, role: who === "admin" ? "admin" : "member" }, null);
  }
  team = await createTeam(orm, people.teamOwner, { name: "Access Team" });
  for (const role of ["viewer", "member", "maintainer"] as const) await setMember(orm, team.id, people[role].id, role, people.teamOwner.id, "owner");
  for (const v of ["private", "unlisted", "public"] as const) {
    userProjects[v] = await createProject(orm, dir, people.userOwner, { name: `mine ${v}`, visibility: v });
    teamProjects[v] = await createProject(orm, dir, people.member, { name: `team ${v}`, visibility: v, team: team.slug });
  }
  // The user-project owner is a member of nothing; the team member owns no user project here.
});
afterAll(() => closeTempApp(app, dir));

// Expected level per (who, project): user-owned and team-owned, for private/unlisted/public.
const USER_PROJECT: Record<Who, Record<Visibility, AccessLevel>> = {
  anonymous: { private: "none", unlisted: "read", public: "read" },
  other: { private: "none", unlisted: "read", public: "read" },
  viewer: { private: "none", unlisted: "read", public: "read" },
  member: { private: "none", unlisted: "read", public: "read" },
  maintainer: { private: "none", unlisted: "read", public: "read" },
  teamOwner: { private: "none", unlisted: "read", public: "read" },
  userOwner: { private: "admin", unlisted: "admin", public: "admin" },
  admin: { private: "admin", unlisted: "admin", public: "admin" },
};
const TEAM_PROJECT: Record<Who, Record<Visibility, AccessLevel>> = {
  anonymous: { private: "none", unlisted: "read", public: "read" },
  other: { private: "none", unlisted: "read", public: "read" },
  userOwner: { private: "none", unlisted: "read", public: "read" },
  viewer: { private: "read", unlisted: "read", public: "read" },
  member: { private: "write", unlisted: "write", public: "write" },
  maintainer: { private: "admin", unlisted: "admin", public: "admin" },
  teamOwner: { private: "admin", unlisted: "admin", public: "admin" },
  admin: { private: "admin", unlisted: "admin", public: "admin" },
};

describe("projectAccess matrix", () => {
  for (const [label, table, projectsOf] of [
    ["user project", USER_PROJECT, () => userProjects],
    ["team project", TEAM_PROJECT, () => teamProjects],
  ] as const) {
    for (const who of Object.keys(table) as Who[]) {
      for (const v of ["private", "unlisted", "public"] as const) {
        const want = table[who][v];
        test(`${label} ${v} × ${who} → ${want}`, async () => {
          const p = projectsOf()[v];
          const r = await projectAccess(orm, actor(who), p.id);
          expect(r.level).toBe(want);
          expect(r.project?.id).toBe(p.id);
          // A token actor has the same base level (scopes are applied by the guard).
          if (who !== "anonymous") expect((await projectAccess(orm, actor(who, "token"), p.id)).level).toBe(want);
        });
      }
    }
  }

  test("unknown project → undefined, none", async () => {
    for (const who of ["anonymous", "admin", "other"] as const) {
      expect(await projectAccess(orm, actor(who), "doesnotexist0000")).toEqual({ project: undefined, level: "none" });
    }
  });

  test("membership changes take effect immediately (no caching)", async () => {
    const u = await createUser(orm, { email: "late@example.com", role: "member" }, null);
    const a: Actor = { kind: "user", user: u, via: "session", sessionId: "x" };
    expect((await projectAccess(orm, a, teamProjects.private.id)).level).toBe("none");
    await setMember(orm, team.id, u.id, "member", people.teamOwner.id, "owner");
    expect((await projectAccess(orm, a, teamProjects.private.id)).level).toBe("write");
  });

  test("atLeast orders none < read < write < admin", () => {
    expect(atLeast("admin", "write")).toBe(true);
    expect(atLeast("write", "write")).toBe(true);
    expect(atLeast("read", "write")).toBe(false);
    expect(atLeast("none", "read")).toBe(false);
  });
});

describe("teamAccess", () => {
  const TEAM: Record<Who, ["manage" | "read" | "none", string | null]> = {
    anonymous: ["none", null],
    other: ["none", null],
    userOwner: ["none", null],
    viewer: ["read", "viewer"],
    member: ["read", "member"],
    maintainer: ["manage", "maintainer"],
    teamOwner: ["manage", "owner"],
    admin: ["manage", null],
  };
  for (const who of Object.keys(TEAM) as Who[]) {
    const [level, role] = TEAM[who];
    test(`${who} → ${level}`, async () => {
      const r = await teamAccess(orm, actor(who), team.id);
      expect(r.level).toBe(level);
      expect(r.role).toBe(role as never);
      expect(r.team?.id).toBe(team.id);
    });
  }
  test("unknown team", async () => {
    expect(await teamAccess(orm, actor("admin"), "nope")).toEqual({ team: undefined, role: null, level: "none" });
  });
});
