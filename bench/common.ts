/** Small helpers the benchmark scripts share. */

/** A free loopback TCP port (bound once by a throwaway server, then released). */
export function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port;
  void probe.stop(true);
  if (port === undefined) throw new Error("could not find a free port");
  return port;
}
