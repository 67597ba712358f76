import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import type { App } from "../core/app.ts";
import type { Orm } from "../db/client.ts";
import { events, teamMembers, type User } from "../db/schema.ts";
import { createUser } from "../auth/users.ts";
import { ApiError } from "../lib/errors.ts";
import { createProject } from "../projects/projects.ts";
import {
  createTeam,
  deleteTeam,
  findTeamBySlug,
  getTeam,
  listAllTeams,
  listMembers,
  listTeamsForUser,
  removeMember,
  setMember,
  teamRole,
  updateTeam,
} from "./teams.ts";
import { apiErrorOf, closeTempApp, openTempApp } from "../../test/helpers/temp-app.ts";

let dir: string;
let app: App;
let orm: Orm;
let n = 0;

beforeAll(async () => {
  ({ dir, app } = await openTempApp("wove-teams-"));
  orm = app.db.orm;
});
afterAll(() => closeTempApp(app, dir));

function user(role: "admin" | "member" = "member", username?: string): Promise<User> {
  n++;
  return createUser(orm, { email: `u${n}@example.com`, role, username: username ?? `user-${n}` }, null);
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiError) return e.status;
    throw e;
  }
}

const err = apiErrorOf;

async function teamEvents(teamId: string) {
  return orm.select().from(events).where(eq(events.teamId, teamId)).orderBy(events.id);
}

describe("createTeam", () => {
  test("derives the slug from the name, makes the creator owner, records team.created", async () => {
    const ada = await user();
    const t = await createTeam(orm, ada, { name: "  Analytical Engines!  ", description: " gears " });
    expect(t.slug).toBe("analytical-engines");
    expect(t.name).toBe("Analytical Engines!");
    expect(t.description).toBe("gears");
    expect(await teamRole(orm, t.id, ada.id)).toBe("owner");
    expect((await getTeam(orm, t.id))?.slug).toBe("analytical-engines");
    expect((await findTeamBySlug(orm, "ANALYTICAL-ENGINES"))?.id).toBe(t.id);
    const ev = await teamEvents(t.id);
    expect(ev.map((e) => e.kind)).toEqual(["team.created"]);
    expect(ev[0]?.actorId).toBe(ada.id);
    expect(ev[0]?.subjectType).toBe("team");
    expect(ev[0]?.subjectId).toBe(t.id);
  });

  test("an explicit slug is lower-cased and validated", async () => {
    const u = await user();
    expect((await createTeam(orm, u, { name: "X", slug: "Explicit-Slug" })).slug).toBe("explicit-slug");
    for (const slug of ["-bad", "bad-", "has space", "under_score", "a".repeat(40), "admin", "teams"]) {
      try {
        await createTeam(orm, u, { name: "Y", slug });
        throw new Error(`accepted ${slug}`);
      } catch (e) {
        expect(e).toBeInstanceOf(ApiError);
        expect((e as ApiError).status).toBe(422);
        expect((e as ApiError).details?.slug).toBeDefined();
      }
    }
  });

  test("validates name and description", async () => {
    const u = await user();
    expect(await status(createTeam(orm, u, { name: "   " }))).toBe(422);
    expect(await status(createTeam(orm, u, { name: "x".repeat(101) }))).toBe(422);
    expect(await status(createTeam(orm, u, { name: "ok", slug: "okdesc", description: "d".repeat(2001) }))).toBe(422);
    // No letters or digits: the slug must be given.
    const e = await err(createTeam(orm, u, { name: "!!!" }));
    expect(e.status).toBe(422);
    expect(e.details?.slug).toContain("slug");
  });

  test("the slug may not collide with a username or another team (case-insensitive)", async () => {
    const u = await user("member", "grace");
    const e1 = await err(createTeam(orm, u, { name: "Grace" }));
    expect(e1.status).toBe(409);
    expect(e1.details?.slug).toBeDefined();
    await createTeam(orm, u, { name: "Compilers" });
    expect(await status(createTeam(orm, u, { name: "Other", slug: "COMPILERS" }))).toBe(409);
  });
});

describe("membership", () => {
  test("lists teams for a user with roles, all teams, and members owners-first", async () => {
    const owner = await user();
    const m = await user();
    const t1 = await createTeam(orm, owner, { name: "Beta Team" });
    const t2 = await createTeam(orm, owner, { name: "Alpha Team" });
    await setMember(orm, t1.id, m.id, "viewer", owner.id, "owner");
    const mine = await listTeamsForUser(orm, owner.id);
    expect(mine.map((t) => [t.slug, t.role])).toEqual([
      ["alpha-team", "owner"],
      ["beta-team", "owner"],
    ]);
    expect((await listTeamsForUser(orm, m.id)).map((t) => [t.id, t.role])).toEqual([[t1.id, "viewer"]]);
    const all = (await listAllTeams(orm)).map((t) => t.id);
    expect(all).toContain(t1.id);
    expect(all).toContain(t2.id);
    const members = await listMembers(orm, t1.id);
    expect(members.map((x) => [x.user.username, x.role])).toEqual([
      [owner.username, "owner"],
      [m.username, "viewer"],
    ]);
    expect(Object.keys(members[0]?.user ?? {}).sort()).toEqual(["email", "id", "name", "username"]);
    expect(typeof members[0]?.since).toBe("number");
  });

  test("add, change role, remove: events recorded", async () => {
    const owner = await user();
    const m = await user();
    const t = await createTeam(orm, owner, { name: "Events Team" });
    expect(await setMember(orm, t.id, m.id, "member", owner.id, "owner")).toEqual({ created: true, role: "member" });
    expect(await setMember(orm, t.id, m.id, "member", owner.id, "owner")).toEqual({ created: false, role: "member" });
    expect(await setMember(orm, t.id, m.id, "maintainer", owner.id, "owner")).toEqual({ created: false, role: "maintainer" });
    await removeMember(orm, t.id, m.id, owner.id, "owner");
    expect(await teamRole(orm, t.id, m.id)).toBeNull();
    const ev = await teamEvents(t.id);
    expect(ev.map((e) => e.kind)).toEqual(["team.created", "team.member_added", "team.member_role_changed", "team.member_removed"]);
    expect(JSON.parse(ev[1]?.data ?? "{}")).toEqual({ userId: m.id, role: "member" });
    expect(JSON.parse(ev[2]?.data ?? "{}")).toEqual({ userId: m.id, from: "member", to: "maintainer" });
    expect(JSON.parse(ev[3]?.data ?? "{}")).toEqual({ userId: m.id, role: "maintainer" });
    expect(ev.every((e) => e.actorId === owner.id)).toBe(true);
  });

  test("unknown user or team → 404, unknown role → 422, removing a non-member → 404", async () => {
    const owner = await user();
    const t = await createTeam(orm, owner, { name: "Errors Team" });
    expect(await status(setMember(orm, t.id, "nosuchuser00000", "member", owner.id, "owner"))).toBe(404);
    expect(await status(setMember(orm, "nosuchteam00000", owner.id, "member", owner.id, "admin"))).toBe(404);
    expect(await status(setMember(orm, t.id, owner.id, "boss" as never, owner.id, "owner"))).toBe(422);
    const other = await user();
    expect(await status(removeMember(orm, t.id, other.id, owner.id, "owner"))).toBe(404);
  });

  test("maintainers manage maintainers, members and viewers but not owners", async () => {
    const owner = await user();
    const maint = await user();
    const a = await user();
    const t = await createTeam(orm, owner, { name: "Maint Team" });
    await setMember(orm, t.id, maint.id, "maintainer", owner.id, "owner");
    // allowed
    await setMember(orm, t.id, a.id, "viewer", maint.id, "maintainer");
    await setMember(orm, t.id, a.id, "member", maint.id, "maintainer");
    await setMember(orm, t.id, a.id, "maintainer", maint.id, "maintainer");
    await removeMember(orm, t.id, a.id, maint.id, "maintainer");
    // not allowed: granting owner, changing or removing an owner
    expect(await status(setMember(orm, t.id, a.id, "owner", maint.id, "maintainer"))).toBe(403);
    expect(await status(setMember(orm, t.id, owner.id, "member", maint.id, "maintainer"))).toBe(403);
    expect(await status(removeMember(orm, t.id, owner.id, maint.id, "maintainer"))).toBe(403);
    expect(await status(setMember(orm, t.id, maint.id, "owner", maint.id, "maintainer"))).toBe(403);
    expect(await teamRole(orm, t.id, owner.id)).toBe("owner");
  });

  test("members and viewers cannot manage; anyone may leave", async () => {
    const owner = await user();
    const mem = await user();
    const view = await user();
    const x = await user();
    const t = await createTeam(orm, owner, { name: "Plain Team" });
    await setMember(orm, t.id, mem.id, "member", owner.id, "owner");
    await setMember(orm, t.id, view.id, "viewer", owner.id, "owner");
    expect(await status(setMember(orm, t.id, x.id, "viewer", mem.id, "member"))).toBe(403);
    expect(await status(setMember(orm, t.id, x.id, "viewer", view.id, "viewer"))).toBe(403);
    expect(await status(removeMember(orm, t.id, view.id, mem.id, "member"))).toBe(403);
    expect(await status(removeMember(orm, t.id, mem.id, x.id, null))).toBe(403);
    await removeMember(orm, t.id, view.id, view.id, "viewer"); // leaving
    expect(await teamRole(orm, t.id, view.id)).toBeNull();
  });

  test("owners and instance admins may grant and take the owner role", async () => {
    const owner = await user();
    const b = await user();
    const admin = await user("admin");
    const t = await createTeam(orm, owner, { name: "Owners Team" });
    await setMember(orm, t.id, b.id, "owner", owner.id, "owner");
    expect(await teamRole(orm, t.id, b.id)).toBe("owner");
    await setMember(orm, t.id, b.id, "viewer", admin.id, "admin");
    expect(await teamRole(orm, t.id, b.id)).toBe("viewer");
    await setMember(orm, t.id, admin.id, "owner", admin.id, "admin");
    await removeMember(orm, t.id, owner.id, admin.id, "admin");
    expect(await teamRole(orm, t.id, owner.id)).toBeNull();
  });
});

describe("last owner", () => {
  test("the last owner cannot be demoted, removed, or leave", async () => {
    const owner = await user();
    const t = await createTeam(orm, owner, { name: "Solo Team" });
    const e = await err(setMember(orm, t.id, owner.id, "maintainer", owner.id, "owner"));
    expect(e.status).toBe(409);
    expect(e.message).toContain("at least one owner");
    expect(await status(removeMember(orm, t.id, owner.id, owner.id, "owner"))).toBe(409);
    const admin = await user("admin");
    expect(await status(removeMember(orm, t.id, owner.id, admin.id, "admin"))).toBe(409);
    expect(await teamRole(orm, t.id, owner.id)).toBe("owner");
    // no event for the refused changes
    expect((await teamEvents(t.id)).map((x) => x.kind)).toEqual(["team.created"]);
  });

  test("with two owners one may step down, then the other is the last", async () => {
    const a = await user();
    const b = await user();
    const t = await createTeam(orm, a, { name: "Duo Team" });
    await setMember(orm, t.id, b.id, "owner", a.id, "owner");
    await setMember(orm, t.id, a.id, "member", a.id, "owner");
    expect(await status(setMember(orm, t.id, b.id, "member", b.id, "owner"))).toBe(409);
    expect(await status(removeMember(orm, t.id, b.id, b.id, "owner"))).toBe(409);
  });

  test("two owners demoting each other at once: exactly one succeeds", async () => {
    const a = await user();
    const b = await user();
    const t = await createTeam(orm, a, { name: "Race Team" });
    await setMember(orm, t.id, b.id, "owner", a.id, "owner");
    const results = await Promise.all([
      status(setMember(orm, t.id, b.id, "member", a.id, "owner")),
      status(removeMember(orm, t.id, a.id, b.id, "owner")),
    ]);
    expect(results.sort()).toEqual([200, 409]);
    const owners = await orm.select().from(teamMembers).where(and(eq(teamMembers.teamId, t.id), eq(teamMembers.role, "owner")));
    expect(owners.length).toBe(1);
  });
});

describe("update and delete", () => {
  test("updateTeam changes name and description with an event", async () => {
    const a = await user();
    const t = await createTeam(orm, a, { name: "Rename Me" });
    const u = await updateTeam(orm, t, { name: "Renamed", description: "now" }, a.id);
    expect(u.name).toBe("Renamed");
    expect(u.slug).toBe("rename-me");
    expect((await getTeam(orm, t.id))?.description).toBe("now");
    expect((await teamEvents(t.id)).at(-1)?.kind).toBe("team.updated");
    expect(await status(updateTeam(orm, t, { name: "" }, a.id))).toBe(422);
  });

  test("deleteTeam refuses while the team owns projects", async () => {
    const a = await user();
    const t = await createTeam(orm, a, { name: "Has Projects" });
    await createProject(orm, dir, a, { name: "P", team: t.id });
    const e = await err(deleteTeam(orm, t, a.id));
    expect(e.status).toBe(409);
    expect(e.message).toContain("owns projects");
    expect(await getTeam(orm, t.id)).toBeDefined();
  });

  test("deleteTeam removes the team and its members, records team.deleted", async () => {
    const a = await user();
    const b = await user();
    const t = await createTeam(orm, a, { name: "Doomed" });
    await setMember(orm, t.id, b.id, "member", a.id, "owner");
    await deleteTeam(orm, t, a.id);
    expect(await getTeam(orm, t.id)).toBeUndefined();
    expect(await teamRole(orm, t.id, b.id)).toBeNull();
    expect((await teamEvents(t.id)).at(-1)?.kind).toBe("team.deleted");
    expect(await status(deleteTeam(orm, t, a.id))).toBe(404);
    // the slug is free again
    expect((await createTeam(orm, a, { name: "Doomed" })).slug).toBe("doomed");
  });
});
