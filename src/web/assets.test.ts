import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assetRelativePath,
  assetResponse,
  contentTypeFor,
  createAssetLookup,
  findAsset,
  type AssetLookup,
} from "./assets.ts";

let root: string;
let outside: string;
let lookup: AssetLookup;

beforeAll(() => {
  outside = mkdtempSync(join(tmpdir(), "wove-assets-test-"));
  root = join(outside, "public");
  mkdirSync(join(root, "css"), { recursive: true });
  mkdirSync(join(root, "vendor", "lib-1.2.3"), { recursive: true });
  writeFileSync(join(root, "css", "app.css"), "body{color:red}");
  writeFileSync(join(root, "vendor", "lib-1.2.3", "x.js"), "export{}");
  writeFileSync(join(root, ".hidden"), "no");
  // A file beside public/ that traversal attempts aim at.
  writeFileSync(join(outside, "secret.txt"), "secret");
  lookup = createAssetLookup(root, { immutable: false });
});

afterAll(() => rmSync(outside, { recursive: true, force: true }));

describe("findAsset (the real public/ folder)", () => {
  test("serves the vendored htmx with a JS content type and a strong ETag", async () => {
    const a = findAsset("/assets/vendor/htmx-2.0.11.min.js");
    expect(a).toBeDefined();
    expect(a?.type).toBe("text/javascript; charset=utf-8");
    expect(a?.etag).toMatch(/^"[\w-]{22}"$/);
    expect(await a?.body.text()).toContain('version:"2.0.11"');
  });

  test("missing file and paths outside /assets/ give undefined", () => {
    expect(findAsset("/assets/vendor/nope.js")).toBeUndefined();
    expect(findAsset("/public/vendor/htmx-2.0.11.min.js")).toBeUndefined();
    expect(findAsset("/assets/")).toBeUndefined();
    expect(findAsset("/assets/vendor")).toBeUndefined(); // a directory, not a file
  });
});

describe("createAssetLookup", () => {
  test("maps /assets/<rest> to <root>/<rest>", async () => {
    const a = lookup("/assets/css/app.css");
    expect(a?.type).toBe("text/css; charset=utf-8");
    expect(await a?.body.text()).toBe("body{color:red}");
    expect(a?.body.type).toBe("text/css; charset=utf-8");
    expect((await lookup("/assets/vendor/lib-1.2.3/x.js")?.body.text())).toBe("export{}");
  });

  test("ETag is stable for the same content and changes with it", () => {
    const first = lookup("/assets/css/app.css")?.etag;
    expect(lookup("/assets/css/app.css")?.etag).toBe(first);
    const file = join(root, "css", "app.css");
    writeFileSync(file, "body{color:blue}");
    // Force a different mtime even on coarse-grained file systems.
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const second = lookup("/assets/css/app.css")?.etag;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
  });

  test("an immutable lookup computes each asset once", () => {
    const frozen = createAssetLookup(root, { immutable: true });
    const a = frozen("/assets/css/app.css");
    expect(frozen("/assets/css/app.css")).toBe(a);
  });

  const traversals = [
    "/assets/../secret.txt",
    "/assets/css/../../secret.txt",
    "/assets/%2e%2e/secret.txt",
    "/assets/%2E%2E/secret.txt",
    "/assets/css%2f..%2f..%2fsecret.txt",
    "/assets/..%2fsecret.txt",
    "/assets/..%5csecret.txt",
    "/assets/%252e%252e/secret.txt",
    "/assets/css/app.css%00.png",
    "/assets//etc/passwd",
    "/assets/./css/app.css",
    "/assets/.hidden",
    "/assets/%zz",
    "/assets/css\\app.css",
  ];
  for (const path of traversals) {
    test(`rejects ${path}`, () => {
      expect(assetRelativePath(path)).toBeUndefined();
      expect(lookup(path)).toBeUndefined();
    });
  }

  test("a file used as a directory is simply missing", () => {
    expect(lookup("/assets/css/app.css/x.js")).toBeUndefined();
  });
});

describe("contentTypeFor", () => {
  const cases: [string, string][] = [
    ["a.css", "text/css; charset=utf-8"],
    ["a.js", "text/javascript; charset=utf-8"],
    ["a.mjs", "text/javascript; charset=utf-8"],
    ["a.svg", "image/svg+xml"],
    ["a.png", "image/png"],
    ["a.woff2", "font/woff2"],
    ["a.json", "application/json; charset=utf-8"],
    ["a.js.map", "application/json; charset=utf-8"],
    ["a.ttf", "font/ttf"],
    ["a.html", "text/html; charset=utf-8"],
    ["a.txt", "text/plain; charset=utf-8"],
    ["favicon.ico", "image/x-icon"],
    ["A.CSS", "text/css; charset=utf-8"],
    ["a.bin", "application/octet-stream"],
    ["noext", "application/octet-stream"],
  ];
  for (const [name, type] of cases) test(`${name} → ${type}`, () => expect(contentTypeFor(name)).toBe(type));
});

describe("assetResponse", () => {
  const req = (path: string, init?: RequestInit) => new Request(`http://wove.test${path}`, init);
  // Read from disk: an earlier test rewrites app.css, and tests must not depend on order.
  const appCss = () => readFileSync(join(root, "css", "app.css"), "utf8");

  test("200 with headers, then 304 for a matching If-None-Match", async () => {
    const res = assetResponse(req("/assets/css/app.css"), lookup, false);
    expect(res?.status).toBe(200);
    expect(res?.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(res?.headers.get("cache-control")).toBe("no-cache");
    expect(res?.headers.get("x-content-type-options")).toBe("nosniff");
    const etag = res?.headers.get("etag") ?? "";
    expect(etag).not.toBe("");
    expect(await res?.text()).toBe(appCss());
    const again = assetResponse(req("/assets/css/app.css", { headers: { "If-None-Match": `W/"x", ${etag}` } }), lookup, false);
    expect(again?.status).toBe(304);
    expect(await again?.text()).toBe("");
  });

  test("version-named files are immutable only in the binary", () => {
    const path = "/assets/vendor/lib-1.2.3/x.js";
    expect(assetResponse(req(path), lookup, true)?.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(assetResponse(req(path), lookup, false)?.headers.get("cache-control")).toBe("no-cache");
    expect(assetResponse(req("/assets/css/app.css"), lookup, true)?.headers.get("cache-control")).toBe("no-cache");
  });

  test("HEAD has the length and no body; other methods and misses fall through", async () => {
    const head = assetResponse(req("/assets/css/app.css", { method: "HEAD" }), lookup, false);
    expect(head?.status).toBe(200);
    expect(head?.headers.get("content-length")).toBe(String(appCss().length));
    expect(await head?.text()).toBe("");
    expect(assetResponse(req("/assets/css/app.css", { method: "POST" }), lookup, false)).toBeUndefined();
    expect(assetResponse(req("/assets/missing.css"), lookup, false)).toBeUndefined();
  });
});
