/**
 * Browser assets (CSS, JS, vendored htmx, Monaco …) served under `/assets/`.
 *
 * `/assets/<rest>` maps to `public/<rest>`. Running from source, files are read
 * from the `public/` folder on disk so edits show up without a build. In the
 * compiled binary, scripts/build.ts embeds `public/` with `compile.assets`, and
 * Bun exposes it read-only at `/$bunfs/root/public/…` (next to the bundle, i.e.
 * `import.meta.dir`), reachable through `node:fs` and `Bun.file()` like disk.
 * The same lookup code therefore serves both; only the root and caching differ.
 */
import { readFileSync, statSync } from "node:fs";
import { extname, join, sep } from "node:path";

export type Asset = { body: Blob; type: string; etag: string };

export const ASSET_PREFIX = "/assets/";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
};

/** Content-Type for a file name by extension; unknown kinds are served as opaque bytes. */
export function contentTypeFor(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? "application/octet-stream";
}

// One path segment: no leading dot (rules out ".", ".." and dotfiles such as
// .gitkeep), and only characters real asset names use, so odd encodings,
// backslashes and NUL never reach the file system.
const SEGMENT = /^[\w@+~-][\w.@+~-]*$/;
const MAX_PATH = 512;

/**
 * The `public/`-relative path for a URL path under `/assets/`, or undefined when
 * the path is outside `/assets/` or is not a plain, safe relative path. The URL
 * path is percent-decoded once; anything still containing `%` afterwards was
 * double-encoded and is refused rather than guessed at.
 */
export function assetRelativePath(urlPath: string): string | undefined {
  if (!urlPath.startsWith(ASSET_PREFIX)) return undefined;
  const raw = urlPath.slice(ASSET_PREFIX.length);
  if (raw.length === 0 || raw.length > MAX_PATH) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (decoded.includes("%")) return undefined;
  const segments = decoded.split("/");
  if (!segments.every((s) => SEGMENT.test(s))) return undefined;
  return segments.join("/");
}

function etagOf(bytes: Uint8Array): string {
  // 128 bits of SHA-256 is plenty to tell versions apart; quoted = strong ETag.
  const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("base64url");
  return `"${digest.slice(0, 22)}"`;
}

function readBytes(file: string) {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

export type AssetLookup = (urlPath: string) => Asset | undefined;

/**
 * Builds a lookup over one root folder.
 * `immutable`: the files can never change (the embedded copy), so each asset,
 * its ETag included, is computed once and kept. Otherwise (disk, dev) the ETag
 * is recomputed only when the file's mtime or size changes, and the body is the
 * exact bytes that were hashed so the two always agree.
 */
export function createAssetLookup(root: string, options: { immutable: boolean }): AssetLookup {
  const rootPrefix = root.endsWith(sep) ? root : root + sep;
  const frozen = new Map<string, Asset>();
  const fresh = new Map<string, { mtimeMs: number; size: number; asset: Asset }>();

  return (urlPath) => {
    const rel = assetRelativePath(urlPath);
    if (rel === undefined) return undefined;
    const known = frozen.get(rel);
    if (known) return known;

    const file = join(root, ...rel.split("/"));
    // Belt and braces: the segment check already forbids "..", but never leave the root.
    if (!file.startsWith(rootPrefix)) return undefined;
    let stat;
    try {
      stat = statSync(file, { throwIfNoEntry: false });
    } catch {
      return undefined; // e.g. ENOTDIR when a "directory" segment is really a file
    }
    if (!stat?.isFile()) return undefined;
    const type = contentTypeFor(file);

    if (options.immutable) {
      const asset: Asset = { body: Bun.file(file, { type }), type, etag: etagOf(readFileSync(file)) };
      frozen.set(rel, asset);
      return asset;
    }
    const cached = fresh.get(rel);
    if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.asset;
    const bytes = readBytes(file);
    if (!bytes) return undefined; // removed between stat and read
    const asset: Asset = { body: new Blob([bytes], { type }), type, etag: etagOf(bytes) };
    fresh.set(rel, { mtimeMs: stat.mtimeMs, size: stat.size, asset });
    return asset;
  };
}

/** True when running as the compiled `wove` executable rather than from source. */
export const embedded = Bun.isStandaloneExecutable;

/**
 * The folder `/assets/` is served from. Compiled: the embedded copy beside the
 * bundle (`/$bunfs/root/public`). From source: `public/` at the repository root,
 * two levels above this file, whatever the working directory is.
 */
export const publicDir = embedded ? join(import.meta.dir, "public") : join(import.meta.dir, "..", "..", "public");

/** Looks up `/assets/<rest>` → `public/<rest>`; undefined for missing or unsafe paths. */
export const findAsset: AssetLookup = createAssetLookup(publicDir, { immutable: embedded });

// File names carrying a version (htmx-2.0.11.min.js, monaco-editor-0.52.2/…)
// change name when their content changes, so browsers may keep them for a year.
const VERSIONED = /[-.@]\d+\.\d+\.\d+(?:[-.]|\/|$)/;

/**
 * A ready HTTP response for `GET`/`HEAD /assets/…`, or undefined when the
 * request is not for an existing asset (the caller then answers 404 its own way).
 * Handles `If-None-Match` → 304. Caching: version-named files are immutable in
 * the binary; everything else revalidates by ETag on every use (cheap 304s), and
 * from source nothing is cached so edits show on reload.
 */
export function assetResponse(request: Request, lookup: AssetLookup = findAsset, immutable: boolean = embedded): Response | undefined {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  const path = new URL(request.url).pathname;
  const asset = lookup(path);
  if (!asset) return undefined;
  const headers = new Headers({
    "Content-Type": asset.type,
    ETag: asset.etag,
    "Cache-Control": immutable && VERSIONED.test(path) ? "public, max-age=31536000, immutable" : "no-cache",
    "X-Content-Type-Options": "nosniff",
  });
  const inm = request.headers.get("If-None-Match");
  if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === asset.etag)) {
    return new Response(null, { status: 304, headers });
  }
  if (request.method === "HEAD") {
    headers.set("Content-Length", String(asset.body.size));
    return new Response(null, { status: 200, headers });
  }
  return new Response(asset.body, { status: 200, headers });
}
