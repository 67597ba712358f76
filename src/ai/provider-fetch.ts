/**
 * The network side of a model provider: which URLs an admin may configure, and the one `fetch`
 * a provider plugin is given.
 *
 * A provider URL is admin-configured, and admins run Ollama or a llama.cpp server on the same
 * machine or the LAN, so unlike user-supplied URLs (git import) loopback and private addresses
 * are allowed. Everything else the outbound check (lib/outbound.ts) refuses stays refused:
 * link-local and cloud-metadata addresses, "this network", multicast, reserved ranges, NAT64
 * and 6to4 (which hide an IPv4 address), metadata host names, credentials in the URL. A
 * loopback target is recognised here; any other URL goes through `checkOutboundUrl` with the
 * URL's own host as the allowlist (which is what lets a private address through).
 *
 * The fetch a plugin gets (`providerFetch`) only reaches the provider's own scheme, host and
 * port, connects to an address the check approved (the name is not resolved again by the
 * connection, so a DNS answer that changes cannot slip past), keeps the name for `Host` and
 * TLS, and does not follow redirects.
 */
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { checkOutboundUrl, refused, type CheckedUrl, type Resolver } from "../lib/outbound.ts";
import { ProviderError } from "./types.ts";

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/** Names that are a metadata service by definition (refused whatever they resolve to). */
const METADATA_NAME_RE = /^(?:metadata|metadata\.google\.internal)$/;
const LOCALHOST_NAME_RE = /^(?:localhost|.*\.localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)$/;

export const MAX_URL_LENGTH = 500;

export function isLoopback(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return LOOPBACK.check(address, family === 4 ? "ipv4" : "ipv6");
}

async function systemResolve(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase().replace(/\.$/, "");
}

/**
 * Checks a provider's base URL as described at the top. Throws 422 `url_refused` saying why;
 * returns the URL and the addresses it may be reached at.
 */
export async function checkProviderUrl(raw: string, resolve: Resolver = systemResolve): Promise<CheckedUrl> {
  const text = raw.trim();
  if (text.length > MAX_URL_LENGTH) throw refused(`The URL must be at most ${MAX_URL_LENGTH} characters.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refused("That is not a valid URL; give the server's base URL, e.g. http://127.0.0.1:11434.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw refused(`Only http or https URLs are allowed, not ${url.protocol.replace(/:$/, "")}.`);
  if (url.username || url.password) throw refused("Credentials in the URL are not accepted; put the key in the API key field.");
  const host = bareHost(url);
  if (host === "") throw refused("The URL has no host.");
  if (METADATA_NAME_RE.test(host)) throw refused(`The host ${host} is a cloud metadata service; it cannot be used.`);
  if (url.hostname.endsWith(".")) url.hostname = url.hostname.slice(0, -1);

  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else if (LOCALHOST_NAME_RE.test(host)) addresses = ["127.0.0.1", "::1"];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw refused(`The host ${host} could not be resolved.`);
    }
    if (addresses.length === 0) throw refused(`The host ${host} could not be resolved.`);
  }
  if (addresses.every(isLoopback)) {
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    return { url, host, port, addresses };
  }
  // Any other address: the outbound check, naming this host so a private address may pass.
  const fixed: Resolver = async () => addresses;
  return checkOutboundUrl(url.href, { allow: [host], resolve: fixed });
}

/** The address to connect to: IPv4 first (Ollama listens on 127.0.0.1 by default, and `localhost` often resolves to ::1 first). */
function preferred(addresses: string[], host: string): string {
  return addresses.find((a) => isIP(a) === 4) ?? addresses[0] ?? host;
}

export type ProviderFetchOptions = {
  /** How the URL is checked (tests pass a resolver-backed check); default checkProviderUrl. */
  check?: (url: string) => Promise<CheckedUrl>;
  /** How long an approved address is reused before the name is checked again, ms. */
  recheckMs?: number;
  /** The underlying fetch (default the global one). */
  fetchImpl?: (input: string, init: RequestInit & { tls?: { serverName: string } }) => Promise<Response>;
};

const RECHECK_MS = 30_000;

function headersOf(input: string | URL | Request, init: RequestInit | undefined): Headers {
  const out = new Headers(input instanceof Request ? input.headers : undefined);
  new Headers(init?.headers).forEach((v, k) => out.set(k, v));
  return out;
}

/**
 * The fetch for a provider whose base URL is `base`: only that origin, at a checked address,
 * without redirects. A refused URL or redirect throws a ProviderError.
 */
export function providerFetch(base: string, opts: ProviderFetchOptions = {}): typeof fetch {
  const allowed = new URL(base);
  const check = opts.check ?? ((u: string) => checkProviderUrl(u));
  const recheckMs = opts.recheckMs ?? RECHECK_MS;
  const doFetch = opts.fetchImpl ?? ((input, init) => fetch(input, init));
  let approved: { checked: CheckedUrl; at: number } | undefined;

  async function approvedAddress(url: URL): Promise<CheckedUrl> {
    if (approved && Date.now() - approved.at < recheckMs) return approved.checked;
    try {
      approved = { checked: await check(url.href), at: Date.now() };
    } catch (e) {
      throw new ProviderError("unavailable", `The provider URL is refused: ${(e as Error).message}`);
    }
    return approved.checked;
  }

  const providerFetchFn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== allowed.protocol || url.host !== allowed.host) {
      throw new ProviderError("bad_request", `Refused a request to ${url.origin}: this provider may only contact ${allowed.origin}.`);
    }
    const checked = await approvedAddress(url);
    const address = preferred(checked.addresses, checked.host);
    const target = new URL(url.href);
    target.hostname = address.includes(":") ? `[${address}]` : address;
    const headers = headersOf(input, init);
    headers.set("host", url.host);
    const request = input instanceof Request ? input : undefined;
    let res: Response;
    try {
      res = await doFetch(target.href, {
        method: init?.method ?? request?.method ?? "GET",
        headers,
        body: init?.body ?? request?.body ?? undefined,
        signal: init?.signal ?? request?.signal,
        redirect: "manual",
        tls: url.protocol === "https:" ? { serverName: checked.host } : undefined,
      });
    } catch (e) {
      approved = undefined; // the next request checks (and resolves) the name again
      throw e;
    }
    if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
      await res.body?.cancel().catch(() => {});
      throw new ProviderError("unavailable", `${allowed.origin} answered with a redirect (HTTP ${res.status}) to ${res.headers.get("location")}; give the server's own address.`);
    }
    return res;
  };
  return Object.assign(providerFetchFn, { preconnect: () => {} }) as typeof fetch;
}
