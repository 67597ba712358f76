/** Prometheus text metrics, kept in memory: request counts, latency histogram, process memory. */

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Hist = { counts: number[]; sum: number; count: number };
const requests = new Map<string, number>();
const durations = new Map<string, Hist>();
const started = Date.now();
const gauges = new Map<string, () => number>();

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export function observeRequest(method: string, route: string, status: number, seconds: number): void {
  const rk = `method="${esc(method)}",route="${esc(route)}",status="${status}"`;
  requests.set(rk, (requests.get(rk) ?? 0) + 1);
  const hk = `method="${esc(method)}",route="${esc(route)}"`;
  let h = durations.get(hk);
  if (!h) {
    h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
    durations.set(hk, h);
  }
  for (let i = 0; i < BUCKETS.length; i++) if (seconds <= (BUCKETS[i] ?? Infinity)) h.counts[i] = (h.counts[i] ?? 0) + 1;
  h.sum += seconds;
  h.count++;
}

/** Lets other domains publish a gauge (e.g. open collab rooms) without knowing this module's internals. */
export function registerGauge(name: string, read: () => number): void {
  gauges.set(name, read);
}

export function renderMetrics(): string {
  const out: string[] = [];
  out.push("# HELP http_requests_total HTTP requests by method, route template and status.");
  out.push("# TYPE http_requests_total counter");
  for (const [k, v] of requests) out.push(`http_requests_total{${k}} ${v}`);
  out.push("# HELP http_request_duration_seconds HTTP request latency.");
  out.push("# TYPE http_request_duration_seconds histogram");
  for (const [k, h] of durations) {
    BUCKETS.forEach((b, i) => out.push(`http_request_duration_seconds_bucket{${k},le="${b}"} ${h.counts[i]}`));
    out.push(`http_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
    out.push(`http_request_duration_seconds_sum{${k}} ${h.sum}`);
    out.push(`http_request_duration_seconds_count{${k}} ${h.count}`);
  }
  const mem = process.memoryUsage();
  out.push("# HELP process_resident_memory_bytes Resident memory size in bytes.");
  out.push("# TYPE process_resident_memory_bytes gauge");
  out.push(`process_resident_memory_bytes ${mem.rss}`);
  out.push("# HELP process_heap_bytes JavaScript heap in use, bytes.");
  out.push("# TYPE process_heap_bytes gauge");
  out.push(`process_heap_bytes ${mem.heapUsed}`);
  out.push("# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.");
  out.push("# TYPE process_start_time_seconds gauge");
  out.push(`process_start_time_seconds ${Math.floor(started / 1000)}`);
  for (const [name, read] of gauges) {
    out.push(`# TYPE ${name} gauge`);
    out.push(`${name} ${read()}`);
  }
  return out.join("\n") + "\n";
}
