/**
 * The static-site server program, run with bun on a temp folder exactly as the static image runs
 * it (the source text in a file, PORT/HOST/STATIC_ROOT from the environment). Traversal attempts
 * go over a raw socket so no client normalises the path first.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STATIC_SERVER_SOURCE } from "./static-server.ts";

let base: string;
let site: string;
let proc: ReturnType<typeof Bun.spawn>;
let url: string;
let port: number;

async function startServer(root: string): Promise<{ proc: ReturnType<typeof Bun.spawn>; port: number }> {
  const script = join(base, "static-server.js");
  writeFileSync(script, STATIC_SERVER_SOURCE);
  const child = Bun.spawn([process.execPath, script], {
    env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", STATIC_ROOT: root, STATIC_QUIET: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    const m = /on port (\d+)/.exec(text);
    if (m) {
      reader.releaseLock();
      return { proc: child, port: Number(m[1]) };
    }
  }
  child.kill();
  throw new Error(`static server did not start: ${text}${await new Response(child.stderr as ReadableStream).text()}`);
}

/** Sends one raw HTTP/1.1 request line as typed and returns the status and body. */
function raw(path: string, method = "GET"): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1", () => sock.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let data = "";
    sock.on("data", (d) => (data += d.toString("latin1")));
    sock.on("error", reject);
    sock.on("end", () => {
      const [head = "", body = ""] = data.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), head, body });
    });
  });
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "wove-static-"));
  site = join(base, "site");
  mkdirSync(join(site, "docs"), { recursive: true });
  mkdirSync(join(site, "empty"));
  mkdirSync(join(site, ".git"));
  mkdirSync(join(site, ".well-known"));
  writeFileSync(join(site, "index.html"), "<h1>home</h1>");
  writeFileSync(join(site, "about.html"), "<h1>about</h1>");
  writeFileSync(join(site, "docs", "index.html"), "<h1>docs</h1>");
  writeFileSync(join(site, "style.css"), "body{}");
  writeFileSync(join(site, "app.js"), "console.log(1)");
  writeFileSync(join(site, "data.json"), "{}");
  writeFileSync(join(site, "logo.svg"), "<svg/>");
  writeFileSync(join(site, "big.bin"), "0123456789");
  writeFileSync(join(site, "a b.txt"), "spaced");
  writeFileSync(join(site, ".env"), "SECRET=1");
  writeFileSync(join(site, ".git", "config"), "[core]");
  writeFileSync(join(site, ".well-known", "security.txt"), "Contact: x");
  writeFileSync(join(base, "secret.txt"), "outside the root");
  symlinkSync(join(base, "secret.txt"), join(site, "link-out.txt"));
  symlinkSync(base, join(site, "dir-out"));
  utimesSync(join(site, "style.css"), new Date("2024-01-02T03:04:05Z"), new Date("2024-01-02T03:04:05Z"));
  ({ proc, port } = await startServer(site));
  url = `http://127.0.0.1:${port}`;
});

afterAll(() => {
  proc?.kill();
  rmSync(base, { recursive: true, force: true });
});

describe("static server", () => {
  test("serves index.html for / and for folders, redirects a folder without its slash", async () => {
    const home = await fetch(`${url}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toBe("<h1>home</h1>");
    expect(home.headers.get("content-type")).toStartWith("text/html");
    const r = await fetch(`${url}/docs?x=1`, { redirect: "manual" });
    expect(r.status).toBe(301);
    expect(r.headers.get("location")).toBe("/docs/?x=1");
    expect(await (await fetch(`${url}/docs/`)).text()).toBe("<h1>docs</h1>");
  });

  test("content types by extension", async () => {
    const types: Record<string, string> = { "style.css": "text/css", "app.js": "javascript", "data.json": "application/json", "logo.svg": "image/svg+xml", "big.bin": "application/octet-stream" };
    for (const [file, type] of Object.entries(types)) {
      const res = await fetch(`${url}/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type") ?? "").toContain(type);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
    expect(await (await fetch(`${url}/a%20b.txt`)).text()).toBe("spaced");
  });

  test("/about finds about.html; a file with a trailing slash is not found", async () => {
    expect(await (await fetch(`${url}/about`)).text()).toBe("<h1>about</h1>");
    expect((await fetch(`${url}/about.html/`)).status).toBe(404);
  });

  test("no directory listing: a folder without index.html is a 404", async () => {
    const res = await fetch(`${url}/empty/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("404 Not Found");
  });

  test("ETag and Last-Modified answer 304; HEAD has headers and no body", async () => {
    const first = await fetch(`${url}/style.css`);
    const etag = first.headers.get("etag") ?? "";
    expect(etag).toMatch(/^W\/"/);
    expect(first.headers.get("last-modified")).toBe("Tue, 02 Jan 2024 03:04:05 GMT");
    expect((await fetch(`${url}/style.css`, { headers: { "If-None-Match": etag } })).status).toBe(304);
    expect((await fetch(`${url}/style.css`, { headers: { "If-None-Match": '"other"' } })).status).toBe(200);
    expect((await fetch(`${url}/style.css`, { headers: { "If-Modified-Since": "Tue, 02 Jan 2024 03:04:05 GMT" } })).status).toBe(304);
    expect((await fetch(`${url}/style.css`, { headers: { "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT" } })).status).toBe(200);
    const head = await raw("/style.css", "HEAD");
    expect(head.status).toBe(200);
    expect(head.head.toLowerCase()).toContain("content-length: 6");
    expect(head.body).toBe("");
    expect((await fetch(`${url}/style.css`, { method: "POST" })).status).toBe(405);
  });

  test("single byte ranges", async () => {
    const part = await fetch(`${url}/big.bin`, { headers: { Range: "bytes=2-4" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 2-4/10");
    expect(await part.text()).toBe("234");
    expect(await (await fetch(`${url}/big.bin`, { headers: { Range: "bytes=-3" } })).text()).toBe("789");
    expect((await fetch(`${url}/big.bin`, { headers: { Range: "bytes=20-" } })).status).toBe(416);
  });

  test("traversal attempts never leave the root", async () => {
    const attempts = [
      "/../secret.txt",
      "/../../../../etc/passwd",
      "/%2e%2e/secret.txt",
      "/%2E%2E/%2E%2E/etc/passwd",
      "/..%2fsecret.txt",
      "/docs/..%2f..%2fsecret.txt",
      "/%2e%2e%2fsecret.txt",
      "/..%5csecret.txt",
      "/docs/%2e%2e/%2e%2e/secret.txt",
      "/%252e%252e/secret.txt",
      "/index.html%00.txt",
      "/%00",
      "/%zz",
      "//etc/passwd",
      "/link-out.txt",
      "/dir-out/secret.txt",
      "/dir-out/",
    ];
    for (const path of attempts) {
      const res = await raw(path);
      expect(res.body).not.toContain("outside the root");
      expect(res.body).not.toContain("root:x:0:0");
      expect([400, 404, 301]).toContain(res.status);
    }
    // "/.." collapses to "/" (the URL rules), which is the site's own index.
    expect((await raw("/..")).body).toBe("<h1>home</h1>");
    // A folder redirect is built from the checked path, never an off-site "//host" location.
    const r = await raw("//docs");
    expect(r.status).toBe(301);
    expect(r.head).toContain("Location: /docs/");
  });

  test("dotfiles are hidden, except /.well-known/", async () => {
    expect((await raw("/.env")).status).toBe(404);
    expect((await raw("/.git/config")).status).toBe(404);
    expect((await raw("/%2eenv")).status).toBe(404);
    expect(await (await fetch(`${url}/.well-known/security.txt`)).text()).toBe("Contact: x");
  });

  test("the site's own 404.html is used when it has one", async () => {
    writeFileSync(join(site, "404.html"), "<h1>custom missing</h1>");
    const res = await fetch(`${url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("<h1>custom missing</h1>");
    rmSync(join(site, "404.html"));
  });
});
