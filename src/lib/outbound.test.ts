import { describe, expect, test } from "bun:test";
import { loadConfig } from "../config.ts";
import { ApiError } from "./errors.ts";
import { addressClass, allowEntryFor, checkOutboundUrl, parseHostList, type Resolver } from "./outbound.ts";

const DNS: Record<string, string[]> = {
  "github.com": ["140.82.112.3"],
  "git.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
  "rebind.example.com": ["93.184.215.14", "127.0.0.1"],
  "internal.example.com": ["10.1.2.3"],
  "git.corp": ["192.168.1.20"],
  "meta.example.com": ["169.254.169.254"],
};
const resolve: Resolver = async (host) => {
  const found = DNS[host];
  if (!found) throw new Error("ENOTFOUND");
  return found;
};

async function outcome(url: string, allow: string[], schemes?: string[]): Promise<string> {
  try {
    const r = await checkOutboundUrl(url, { allow, resolve, schemes });
    return `ok ${r.addresses.join(",")}`;
  } catch (e) {
    if (e instanceof ApiError) return `${e.status} ${e.message}`;
    throw e;
  }
}

describe("outbound URL check", () => {
  const ALL = ["*"];
  test.each([
    ["https://127.0.0.1/x.git", ALL, /local or reserved/],
    ["https://127.1/x.git", ALL, /local or reserved/],
    ["https://2130706433/x.git", ALL, /local or reserved/], // 127.0.0.1 as one number
    ["https://[::1]/x.git", ALL, /local or reserved/],
    ["https://[::ffff:127.0.0.1]/x.git", ALL, /local or reserved/],
    ["https://0.0.0.0/x.git", ALL, /local or reserved/],
    ["https://169.254.169.254/latest/meta-data", ALL, /local or reserved/],
    ["https://[fe80::1]/x", ALL, /local or reserved/],
    ["https://[fd00:ec2::254]/x", ["fd00:ec2::254"], /local or reserved/],
    ["https://meta.example.com/x", ALL, /local or reserved/],
    ["https://localhost/x.git", ALL, /this server itself/],
    ["https://foo.localhost/x.git", ALL, /this server itself/],
    ["https://metadata.google.internal/x", ALL, /this server itself/],
    ["https://10.0.0.5/x.git", ALL, /private address/],
    ["https://internal.example.com/x.git", ALL, /private address/],
    ["https://rebind.example.com/x.git", ALL, /local or reserved/],
    ["http://github.com/a/b.git", ["github.com"], /Only https URLs/],
    ["ssh://github.com/a/b.git", ["github.com"], /Only https URLs/],
    ["file:///etc/passwd", ALL, /Only https URLs/],
    ["https://user:pw@github.com/a/b.git", ["github.com"], /Credentials/],
    ["https://gitlab.com/a/b.git", ["github.com"], /not on this instance's allowlist/],
    ["https://evilgithub.com/a/b.git", ["*.github.com"], /not on this instance's allowlist/],
    ["https://nowhere.example.com/x", ALL, /could not be resolved/],
    ["not a url", ALL, /not a valid URL/],
  ])("%s → refused", async (url, allow, why) => {
    const got = await outcome(url, allow, ["https:"]);
    expect(got).toStartWith("422 ");
    expect(got).toMatch(why);
  });

  test.each([
    ["https://github.com/a/b.git", ["github.com"], "ok 140.82.112.3"],
    ["https://GitHub.com./a/b.git", ["github.com"], "ok 140.82.112.3"],
    ["https://git.example.com/a.git", ["*.example.com"], "ok 93.184.215.14,2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    ["https://github.com/a/b.git", ["*"], "ok 140.82.112.3"],
    // Private addresses only when the admin names the host itself.
    ["https://internal.example.com/x.git", ["internal.example.com"], "ok 10.1.2.3"],
    ["https://git.corp/x.git", ["*.corp", "git.corp"], "ok 192.168.1.20"],
    ["https://10.0.0.5/x.git", ["10.0.0.5"], "ok 10.0.0.5"],
  ])("%s with %p → allowed", async (url, allow, want) => {
    expect(await outcome(url, allow, ["https:"])).toBe(want);
  });

  test("http is allowed where the caller allows it (the default schemes)", async () => {
    expect(await outcome("http://github.com/", ["github.com"])).toBe("ok 140.82.112.3");
  });

  test("address classes, host lists and patterns", () => {
    expect(addressClass("8.8.8.8")).toBeNull();
    expect(addressClass("172.20.0.1")).toBe("private");
    expect(addressClass("100.64.0.1")).toBe("private");
    expect(addressClass("fd12::1")).toBe("private");
    expect(addressClass("224.0.0.1")).toBe("always");
    expect(addressClass("not-an-ip")).toBe("always");
    expect(parseHostList(" GitHub.com, *.example.com  gitlab.com.,")).toEqual(["github.com", "*.example.com", "gitlab.com"]);
    expect(parseHostList("")).toEqual([]);
    expect(allowEntryFor("a.example.com", ["*.example.com"])).toBe("*.example.com");
    expect(allowEntryFor("example.com", ["*.example.com"])).toBeUndefined();
  });

  test("config: WOVE_IMPORT_GIT_ALLOW is off by default; WOVE_IMPORT_MAX_SIZE defaults to 200m", () => {
    expect(loadConfig({}, {}).importGitAllow).toEqual([]);
    expect(loadConfig({}, { WOVE_IMPORT_GIT_ALLOW: "github.com, *.example.com" }).importGitAllow).toEqual(["github.com", "*.example.com"]);
    expect(loadConfig({}, {}).importMaxBytes).toBe(200 * 1024 * 1024);
    expect(loadConfig({}, { WOVE_IMPORT_MAX_SIZE: "1g" }).importMaxBytes).toBe(1024 ** 3);
  });
});
