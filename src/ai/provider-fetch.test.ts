/** Provider URLs (loopback and LAN allowed, link-local and metadata refused) and the pinned, same-host, no-redirect fetch. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { ApiError } from "../lib/errors.ts";
import type { Resolver } from "../lib/outbound.ts";
import { checkProviderUrl, isLoopback, providerFetch } from "./provider-fetch.ts";
import { ProviderError } from "./types.ts";

const DNS: Record<string, string[]> = {
  "ollama.lan": ["192.168.1.20"],
  "gpu.internal": ["10.0.0.7"],
  "api.example.com": ["93.184.215.14"],
  "loop.example.com": ["127.0.0.1"],
  "meta.example.com": ["169.254.169.254"],
  "rebind.example.com": ["93.184.215.14", "127.0.0.1"],
  "nat64.example.com": ["64:ff9b::a9fe:a9fe"],
};
const resolve: Resolver = async (host) => {
  const found = DNS[host];
  if (!found) throw new Error("ENOTFOUND");
  return found;
};

async function outcome(url: string): Promise<string> {
  try {
    const r = await checkProviderUrl(url, resolve);
    return `ok ${r.addresses.join(",")}`;
  } catch (e) {
    if (e instanceof ApiError) return `${e.status} ${e.message}`;
    throw e;
  }
}

describe("checkProviderUrl", () => {
  test.each([
    ["http://127.0.0.1:11434", "ok 127.0.0.1"],
    ["http://127.0.0.2:8080/v1", "ok 127.0.0.2"],
    ["http://localhost:11434", "ok 127.0.0.1,::1"],
    ["http://[::1]:11434", "ok ::1"],
    ["http://loop.example.com:11434", "ok 127.0.0.1"],
    ["http://192.168.1.20:11434", "ok 192.168.1.20"],
    ["http://ollama.lan:11434", "ok 192.168.1.20"],
    ["http://gpu.internal:8000/v1", "ok 10.0.0.7"],
    ["https://api.example.com", "ok 93.184.215.14"],
  ])("%s is allowed", async (url, want) => {
    expect(await outcome(url)).toBe(want);
  });

  test.each([
    ["http://169.254.169.254/latest/meta-data", /local or reserved/],
    ["http://[fe80::1]:11434", /local or reserved/],
    ["http://[fd00:ec2::254]/", /local or reserved/],
    ["http://0.0.0.0:11434", /local or reserved/],
    ["http://100.100.100.200/", /local or reserved/],
    ["http://meta.example.com/", /local or reserved/],
    ["http://metadata.google.internal/", /metadata/],
    ["http://metadata/", /metadata/],
    ["http://rebind.example.com/", /local or reserved/],
    ["http://nat64.example.com/", /local or reserved/],
    ["http://224.0.0.1/", /local or reserved/],
    ["ftp://127.0.0.1/", /Only http or https/],
    ["file:///etc/passwd", /Only http or https/],
    ["http://user:secret@127.0.0.1:11434", /Credentials/],
    ["http://nowhere.example.com/", /could not be resolved/],
    ["not a url", /not a valid URL/],
  ])("%s is refused", async (url, why) => {
    const got = await outcome(url);
    expect(got).toStartWith("422 ");
    expect(got).toMatch(why);
  });

  test("a URL longer than 500 characters is refused", async () => {
    expect(await outcome(`http://127.0.0.1/${"x".repeat(600)}`)).toMatch(/^422 .*at most 500/);
  });

  test("isLoopback knows 127/8, ::1 and the IPv4-mapped form", () => {
    expect(["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"].map(isLoopback)).toEqual([true, true, true, true]);
    expect(["10.0.0.1", "169.254.169.254", "::", "not-an-ip"].map(isLoopback)).toEqual([false, false, false, false]);
  });
});

describe("providerFetch", () => {
  let server: Server<undefined>;
  let base: string;
  const seen: { host: string | null; path: string; auth: string | null }[] = [];

  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const url = new URL(req.url);
        seen.push({ host: req.headers.get("host"), path: url.pathname, auth: req.headers.get("authorization") });
        if (url.pathname === "/moved") return new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest" } });
        return Response.json({ ok: true, path: url.pathname });
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.stop(true));

  test("reaches the provider's own host with the caller's headers and body", async () => {
    const f = providerFetch(base);
    const res = await f(`${base}/api/tags`, { headers: { authorization: "Bearer k1" } });
    expect(await res.json()).toEqual({ ok: true, path: "/api/tags" });
    expect(seen.at(-1)).toEqual({ host: `127.0.0.1:${server.port}`, path: "/api/tags", auth: "Bearer k1" });
    const viaRequest = await f(new Request(`${base}/v1/models`, { headers: { authorization: "Bearer k2" } }));
    expect(viaRequest.status).toBe(200);
    expect(seen.at(-1)?.auth).toBe("Bearer k2");
  });

  test("connects to the checked address but keeps the configured name as Host", async () => {
    const named = `http://ollama.lan:${server.port}`;
    let checks = 0;
    const f = providerFetch(named, {
      check: async (u) => {
        checks++;
        const url = new URL(u);
        return { url, host: url.hostname, port: Number(url.port), addresses: ["127.0.0.1"] };
      },
    });
    const res = await f(`${named}/api/tags`);
    expect(res.status).toBe(200);
    expect(seen.at(-1)?.host).toBe(`ollama.lan:${server.port}`);
    await f(`${named}/api/version`);
    expect(checks).toBe(1); // the approved address is reused for a while
  });

  test("refuses any other origin, before connecting", async () => {
    const f = providerFetch(base);
    const before = seen.length;
    for (const other of ["http://169.254.169.254/latest/meta-data", `http://127.0.0.1:${Number(server.port) + 1}/x`, `https://127.0.0.1:${server.port}/x`, "http://example.com/"]) {
      const err = await f(other).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).failure).toBe("bad_request");
      expect((err as ProviderError).message).toContain("may only contact");
    }
    expect(seen.length).toBe(before);
  });

  test("does not follow a redirect", async () => {
    const f = providerFetch(base);
    const err = await f(`${base}/moved`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toMatch(/redirect \(HTTP 302\)/);
  });

  test("a URL the check refuses is a ProviderError naming the reason", async () => {
    const f = providerFetch("http://169.254.169.254");
    const err = await f("http://169.254.169.254/latest").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toMatch(/refused: .*local or reserved/);
  });
});
