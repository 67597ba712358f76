/**
 * Tech-stack detection: what a project is built with, read from the names (and for package.json
 * the dependencies) of the working tree's top-level files. It is cheap on purpose — one readdir
 * and at most one small JSON read — because it runs after every change to a project's files.
 * The result lives in `project_tech` and feeds the explore page's facets.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { asc, eq, inArray } from "drizzle-orm";
import type { Orm } from "../db/client.ts";
import { projectTech } from "../db/schema.ts";
import { filesDir, onFilesChanged } from "./files.ts";

/** A top-level file name (lowercased) → the tech it shows. */
const BY_FILE: Record<string, string[]> = {
  "package.json": ["node"],
  "bun.lock": ["bun"],
  "bun.lockb": ["bun"],
  "bunfig.toml": ["bun"],
  "deno.json": ["deno"],
  "deno.jsonc": ["deno"],
  "requirements.txt": ["python"],
  "pyproject.toml": ["python"],
  "setup.py": ["python"],
  "pipfile": ["python"],
  "go.mod": ["go"],
  "cargo.toml": ["rust"],
  "dockerfile": ["docker"],
  "compose.yaml": ["docker"],
  "compose.yml": ["docker"],
  "docker-compose.yml": ["docker"],
  "docker-compose.yaml": ["docker"],
  "index.html": ["static-site"],
  "gemfile": ["ruby"],
  "composer.json": ["php"],
  "pom.xml": ["java"],
  "build.gradle": ["java"],
  "tsconfig.json": ["typescript"],
};

/** package.json dependency → the tech it shows (frameworks worth filtering by). */
const BY_DEPENDENCY: Record<string, string> = {
  react: "react",
  preact: "preact",
  vue: "vue",
  svelte: "svelte",
  "solid-js": "solid",
  next: "nextjs",
  express: "express",
  elysia: "elysia",
  hono: "hono",
  fastify: "fastify",
  "htmx.org": "htmx",
  vite: "vite",
  typescript: "typescript",
  tailwindcss: "tailwind",
};

/** The biggest package.json read; a bigger one still counts as "node", its dependencies unread. */
const PACKAGE_JSON_MAX = 256 * 1024;

function dependencyNames(text: string): string[] {
  let pkg: unknown;
  try {
    pkg = JSON.parse(text);
  } catch {
    return [];
  }
  if (!pkg || typeof pkg !== "object") return [];
  const names: string[] = [];
  for (const key of ["dependencies", "devDependencies", "peerDependencies"]) {
    const deps = (pkg as Record<string, unknown>)[key];
    if (deps && typeof deps === "object" && !Array.isArray(deps)) names.push(...Object.keys(deps));
  }
  return names;
}

/**
 * The tech shown by a set of top-level entries (files only) and, when there is one, the
 * package.json text. Pure, so the detection table can be tested without a disk.
 */
export function detectTech(fileNames: readonly string[], packageJson?: string): string[] {
  const found = new Set<string>();
  for (const name of fileNames) for (const t of BY_FILE[name.toLowerCase()] ?? []) found.add(t);
  if (packageJson !== undefined) {
    for (const dep of dependencyNames(packageJson)) {
      const t = BY_DEPENDENCY[dep];
      if (t) found.add(t);
    }
  }
  return [...found].sort();
}

/** Reads the working tree's top level and detects its tech. A missing tree is no tech. */
export async function scanTech(dataDir: string, projectId: string): Promise<string[]> {
  const dir = filesDir(dataDir, projectId);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files = entries.filter((e) => e.isFile()).map((e) => e.name);
  const pkgName = files.find((n) => n === "package.json");
  let pkg: string | undefined;
  if (pkgName) {
    const f = Bun.file(join(dir, pkgName));
    pkg = f.size <= PACKAGE_JSON_MAX ? await f.text().catch(() => undefined) : undefined;
  }
  return detectTech(files, pkg);
}

/** Re-detects a project's tech and stores it, replacing what was there. Returns it. */
export async function refreshTech(orm: Orm, dataDir: string, projectId: string): Promise<string[]> {
  const tech = await scanTech(dataDir, projectId);
  const current = await techOf(orm, [projectId]);
  const before = current.get(projectId) ?? [];
  if (before.length === tech.length && before.every((t, i) => t === tech[i])) return tech;
  try {
    await orm.batch([
      orm.delete(projectTech).where(eq(projectTech.projectId, projectId)),
      ...(tech.length > 0 ? [orm.insert(projectTech).values(tech.map((t) => ({ projectId, tech: t })))] : []),
    ]);
  } catch (e) {
    // The project was deleted while its files were scanned: nothing to record.
    if (/FOREIGN KEY constraint failed/i.test(String((e as Error)?.message) + String((e as { cause?: Error })?.cause?.message ?? ""))) return [];
    throw e;
  }
  return tech;
}

/** Tech of many projects in one query: project id → sorted tech (absent when none). */
export async function techOf(orm: Orm, projectIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (projectIds.length === 0) return out;
  const rows = await orm
    .select()
    .from(projectTech)
    .where(inArray(projectTech.projectId, [...new Set(projectIds)]))
    .orderBy(asc(projectTech.tech));
  for (const r of rows) out.set(r.projectId, [...(out.get(r.projectId) ?? []), r.tech]);
  return out;
}

/**
 * Keeps `project_tech` current: re-detects after every change to a project's files (edits,
 * restored versions, pushes). Start once per running instance, next to autosave; returns the stop.
 */
export function startTechWatch(app: { db: { orm: Orm }; config: { dataDir: string }; log: { warn(msg: string, data?: Record<string, unknown>): void } }): () => void {
  const { orm } = app.db;
  return onFilesChanged((e) => {
    if (e.dataDir !== app.config.dataDir) return;
    refreshTech(orm, e.dataDir, e.projectId).catch((err: unknown) => app.log.warn("tech detection failed", { projectId: e.projectId, error: (err as Error).message }));
  });
}
