/**
 * The one check for any outbound URL an admin or user can set (git import today; webhooks and
 * the like later): Wove must never be turned into a proxy into its own network (SSRF).
 *
 * A URL passes when its scheme is allowed (http/https; git import: https only), it carries no
 * credentials, its host matches the admin's allowlist, and every address the host resolves to
 * is public. Loopback, link-local (169.254/16, fe80::/10), cloud metadata, "this network",
 * multicast and reserved addresses are always refused; private ranges (10/8, 172.16/12,
 * 192.168/16, 100.64/10, fc00::/7) only pass when the allowlist names the host itself (an
 * entry other than the catch-all `*`), so an admin can allow `git.internal` on purpose.
 *
 * The caller must connect to one of the returned addresses (e.g. git's http.curloptResolve),
 * not resolve the name again, or a DNS answer that changes in between could slip past.
 */
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { ApiError } from "./errors.ts";

export type Resolver = (host: string) => Promise<string[]>;

export type OutboundOptions = {
  /** Host patterns from the admin: `example.com`, `*.example.com` (subdomains only), `*` (any public host). */
  allow: readonly string[];
  /** Accepted schemes, with the colon; default http: and https:. */
  schemes?: readonly string[];
  /** How host names are resolved (tests pass a fixed table); default the system resolver. */
  resolve?: Resolver;
};

export type CheckedUrl = { url: URL; host: string; port: number; addresses: string[] };

/** Never reachable, whatever the allowlist says. */
const ALWAYS_BLOCKED = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, incl. 169.254.169.254 (metadata)
  ["192.0.0.0", 24], // IETF protocol assignments (incl. 192.0.0.192, Oracle metadata)
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
  ["100.100.100.200", 32], // Alibaba Cloud metadata
] as const) {
  ALWAYS_BLOCKED.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
  ["fd00:ec2::254", 128], // AWS metadata over IPv6
  ["64:ff9b::", 96], // NAT64: embeds an IPv4 address we would not see
  ["2002::", 16], // 6to4: likewise
] as const) {
  ALWAYS_BLOCKED.addSubnet(net, bits, "ipv6");
}

/** Internal networks: reachable only when the admin names the host. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["198.18.0.0", 15], // benchmarking
] as const) {
  PRIVATE.addSubnet(net, bits, "ipv4");
}
PRIVATE.addSubnet("fc00::", 7, "ipv6"); // unique local

/** Host names that are the local machine or a metadata service by definition. */
const BLOCKED_NAME_RE = /^(?:localhost|.*\.localhost|localhost\.localdomain|ip6-localhost|ip6-loopback|metadata|metadata\.google\.internal)$/;

export function refused(message: string): ApiError {
  return new ApiError(422, "url_refused", message, { url: message });
}

/** Parses `WOVE_IMPORT_GIT_ALLOW`-style lists: comma or space separated, lower-cased, empties dropped. */
export function parseHostList(raw: string): string[] {
  return raw
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase().replace(/\.$/, ""))
    .filter((s) => s !== "");
}

/** The allowlist entry that admits `host`, or undefined. `*.x.com` matches subdomains of x.com, not x.com. */
export function allowEntryFor(host: string, allow: readonly string[]): string | undefined {
  const h = host.toLowerCase().replace(/\.$/, "");
  return allow.find((p) => {
    if (p === "*") return true;
    if (p.startsWith("*.")) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
    return h === p;
  });
}

/** "always" for never-reachable addresses, "private" for internal networks, null for public ones. */
export function addressClass(address: string): "always" | "private" | null {
  const family = isIP(address);
  if (family === 0) return "always";
  const type = family === 4 ? "ipv4" : "ipv6";
  if (ALWAYS_BLOCKED.check(address, type)) return "always";
  if (PRIVATE.check(address, type)) return "private";
  return null;
}

async function systemResolve(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/** The URL host without IPv6 brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase().replace(/\.$/, "");
}

/**
 * Checks an outbound URL as described at the top of this file. Throws 422 `url_refused` with a
 * message saying why; returns the parsed URL and the addresses it may be reached at.
 */
export async function checkOutboundUrl(raw: string, opts: OutboundOptions): Promise<CheckedUrl> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw refused("That is not a valid URL.");
  }
  const schemes = opts.schemes ?? ["http:", "https:"];
  if (!schemes.includes(url.protocol)) {
    throw refused(`Only ${schemes.map((s) => s.replace(/:$/, "")).join(" or ")} URLs are allowed, not ${url.protocol.replace(/:$/, "")}.`);
  }
  if (url.username || url.password) throw refused("Credentials in the URL are not accepted; only public repositories can be imported.");
  const host = bareHost(url);
  if (host === "") throw refused("The URL has no host.");
  // Without the root dot, so the name that was checked is exactly the name the caller pins.
  if (url.hostname.endsWith(".")) url.hostname = url.hostname.slice(0, -1);
  const entry = allowEntryFor(host, opts.allow);
  if (!entry) throw refused(`The host ${host} is not on this instance's allowlist; an admin can add it to WOVE_IMPORT_GIT_ALLOW.`);
  if (BLOCKED_NAME_RE.test(host.replace(/\.$/, ""))) throw refused(`The host ${host} is this server itself; it cannot be used.`);

  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await (opts.resolve ?? systemResolve)(host);
    } catch {
      throw refused(`The host ${host} could not be resolved.`);
    }
    if (addresses.length === 0) throw refused(`The host ${host} could not be resolved.`);
  }
  for (const address of addresses) {
    const cls = addressClass(address);
    if (cls === "always") throw refused(`The host ${host} points at ${address}, a local or reserved address; it cannot be used.`);
    if (cls === "private" && entry === "*") {
      throw refused(`The host ${host} points at ${address}, a private address; an admin must name this host in the allowlist to allow it.`);
    }
  }
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return { url, host, port, addresses };
}
