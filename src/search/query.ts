/**
 * The search box's little language and the pagination cursor.
 *
 * Filters inside `q`, anywhere, each a whole word: `path:src/` `-path:test` `lang:ts` (code and
 * files), `tag:d3` `tech:react` `owner:alice` (projects). What is left, trimmed, is the text
 * searched for; wrapped in double quotes it is taken literally (`"path:x"` searches for path:x).
 *
 * Path filters: without glob characters a filter matches at the start of any folder or file
 * name (`path:src/` matches src/a.ts and pkg/src/a.ts; `path:/src/` only the root's src/); with
 * `*`, `?` or `[…]` it is a glob over the whole path (`*` crosses folders), again anchored at a
 * name start unless it begins with `/`. Several `path:` filters: any of them; `-path:` excludes.
 * `lang:` takes an extension (`ts`, `py`) or a language id (`typescript`).
 */
import { sql, type SQL } from "drizzle-orm";
import { detectLanguage } from "../projects/files.ts";
import { badRequest } from "../lib/errors.ts";

export type ParsedQuery = {
  text: string;
  paths: string[];
  notPaths: string[];
  langs: string[];
  tags: string[];
  techs: string[];
  owners: string[];
};

const FILTER_RE = /(^|\s)(-?)(path|lang|tag|tech|owner):("[^"]*"|\S+)/gi;

/** Splits `q` into the text to search for and its filters. */
export function parseQuery(q: string): ParsedQuery {
  const out: ParsedQuery = { text: "", paths: [], notPaths: [], langs: [], tags: [], techs: [], owners: [] };
  const rest = q.replace(FILTER_RE, (_whole, lead: string, neg: string, key: string, raw: string) => {
    const value = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw;
    if (value === "") return lead;
    switch (key.toLowerCase()) {
      case "path":
        (neg ? out.notPaths : out.paths).push(value);
        break;
      case "lang":
        out.langs.push(langId(value));
        break;
      case "tag":
        out.tags.push(value.toLowerCase());
        break;
      case "tech":
        out.techs.push(value.toLowerCase());
        break;
      case "owner":
        out.owners.push(value.toLowerCase().replace(/^@/, ""));
        break;
    }
    return lead;
  });
  let text = rest.trim();
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  out.text = text;
  return out;
}

/** `ts` → "typescript" (by extension), else the value itself as a language id. */
export function langId(value: string): string {
  const v = value.toLowerCase().replace(/^\./, "");
  const byExt = detectLanguage(`file.${v}`);
  return byExt !== "plaintext" ? byExt : v;
}

const GLOB_CHARS = /[*?[]/;

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function onePathSql(filter: string, col: SQL): SQL {
  const anchored = filter.startsWith("/");
  const v = anchored ? filter.replace(/^\/+/, "") : filter;
  if (GLOB_CHARS.test(v)) {
    return anchored ? sql`${col} GLOB ${v}` : sql`(${col} GLOB ${v} OR ${col} GLOB ${`*/${v}`})`;
  }
  const prefix = `${likeEscape(v)}%`;
  return anchored ? sql`${col} LIKE ${prefix} ESCAPE '\\'` : sql`(${col} LIKE ${prefix} ESCAPE '\\' OR ${col} LIKE ${`%/${prefix}`} ESCAPE '\\')`;
}

/** The path and language filters as SQL on a search_files row aliased `f`; undefined when none. */
export function fileFilterSql(p: Pick<ParsedQuery, "paths" | "notPaths" | "langs">, alias = "f"): SQL | undefined {
  const col = sql.raw(`${alias}.path`);
  const parts: SQL[] = [];
  if (p.paths.length > 0) parts.push(sql`(${sql.join(p.paths.map((x) => onePathSql(x, col)), sql` OR `)})`);
  for (const x of p.notPaths) parts.push(sql`NOT ${onePathSql(x, col)}`);
  if (p.langs.length > 0) parts.push(sql`${sql.raw(`${alias}.lang`)} IN (${sql.join(p.langs.map((l) => sql`${l}`), sql`, `)})`);
  return parts.length > 0 ? sql.join(parts, sql` AND `) : undefined;
}

function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        const body = glob.slice(i + 1, end);
        re += `[${body.startsWith("^") ? `\\^${body.slice(1)}` : body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

function onePathTest(filter: string): (path: string) => boolean {
  const anchored = filter.startsWith("/");
  const v = anchored ? filter.replace(/^\/+/, "") : filter;
  if (GLOB_CHARS.test(v)) {
    // SQLite GLOB is case-sensitive; so is this.
    const re = globToRegExp(v);
    const reAnywhere = globToRegExp(`*/${v}`);
    return anchored ? (p) => re.test(p) : (p) => re.test(p) || reAnywhere.test(p);
  }
  // SQLite LIKE folds ASCII case only; so does this.
  const fold = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const low = fold(v);
  return anchored ? (p) => fold(p).startsWith(low) : (p) => fold(p).startsWith(low) || fold(p).includes(`/${low}`);
}

/** The same filters as a predicate over (path, lang), for lists held in memory (the file finder). */
export function fileFilterTest(p: Pick<ParsedQuery, "paths" | "notPaths" | "langs">): ((path: string, lang: string) => boolean) | undefined {
  if (p.paths.length === 0 && p.notPaths.length === 0 && p.langs.length === 0) return undefined;
  const any = p.paths.map(onePathTest);
  const none = p.notPaths.map(onePathTest);
  const langs = new Set(p.langs);
  return (path, lang) =>
    (any.length === 0 || any.some((t) => t(path))) && !none.some((t) => t(path)) && (langs.size === 0 || langs.has(lang));
}

// ---- Cursor ----

/** An opaque page token: base64url JSON. */
export function encodeCursor(value: Record<string, number | string>): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

/** Reads a cursor made by encodeCursor; a malformed one is a 400. `fields` name the numeric fields it must carry. */
export function decodeCursor<K extends string>(raw: string, fields: readonly K[]): Record<K, number> {
  const bad = () => badRequest("The cursor is not one this search returned; start again without it.", { cursor: "Invalid cursor." });
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (!v || typeof v !== "object") throw bad();
  const out = {} as Record<K, number>;
  for (const f of fields) {
    const n = (v as Record<string, unknown>)[f];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw bad();
    out[f] = n;
  }
  return out;
}
