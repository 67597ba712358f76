/** Markdown tables of bench/collab.ts results (for docs/PERFORMANCE.md). */
import type { ColdTiming, ColdVariant } from "./collab-cold.ts";
import type { Step } from "./collab-driver.ts";
import type { ReplayResult } from "./collab-replay.ts";
import { WOVE_BENCH_ENV } from "./collab-servers.ts";

export type IdleRooms = { rooms: number; docBytes: number; baseRss: number; rss: number; perRoomKiB: number };
export type ServerReport = {
  label: string;
  idle: IdleRooms;
  connect: { clients: number; ms: number; failed: number; firstError: string; rss: number };
  baseline: Step;
  sustained: { best: Step | undefined; limitedBy: string; steps: Step[] };
  unexpectedCloses: string[];
  replay: { flood: ReplayResult; lockstep: ReplayResult };
  cold: ColdVariant[];
};
export type Meta = {
  date: string;
  command: string;
  commit: string;
  machine: string;
  loadBefore: number;
  bun: string;
  node: string;
  reference: string;
  pinned: boolean;
  cfg: {
    rooms: number;
    clients: number;
    rate: number;
    seconds: number;
    stepSeconds: number;
    idleRooms: number;
    coldRuns: number;
    keystrokes: number;
    seed: number;
    workers: number;
  };
  p99LimitMs: number;
};

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");
const ms = (n: number | null | undefined, digits = 1) => (n === null || n === undefined || !Number.isFinite(n) ? "n/a" : n.toFixed(digits));
const pct = (n: number) => `${Math.round(n * 100)}%`;
const ratio = (a: number, b: number) => (Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}×` : "");
const yes = (ok: boolean) => (ok ? "yes" : "**no**");

function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}
function median(xs: number[]): number {
  const s = sorted(xs);
  return s.length ? ((s[(s.length - 1) >> 1] ?? 0) + (s[s.length >> 1] ?? 0)) / 2 : Number.NaN;
}
function coldCell(ts: ColdTiming[]): string {
  const full = ts.map((t) => t.fullMs);
  const s = sorted(full);
  const ok = ts.every((t) => t.equal) ? "" : " (text differed!)";
  return `${ms(median(full))} (${ms(s[0])}–${ms(s.at(-1))})${ok}`;
}

function stepTable(r: ServerReport, limit: number): string {
  const rows = r.sustained.steps.map(
    (s) =>
      `| ${ms(s.ratePerClient, 2)} | ${int(s.ops)} | ${int(s.deliveriesPerSec)} | ${ms(s.p50, 2)} | ${ms(s.p99, 2)} | ${ms(s.max)} | ${(s.deliveredRatio * 100).toFixed(2)}% | ${pct(s.serverCpu)} | ${pct(s.generatorCpu)} | ${pct(s.otherCpu)} | ${Number.isFinite(s.commitsPerSec) ? `${int(s.commitsPerSec)} (${s.updatesPerCommit.toFixed(1)})` : ""} | ${int(s.serverRss)} | ${s.pass ? "pass" : s.generatorBound ? "generator-bound" : "fail"} |`,
  );
  return [
    `${r.label}: steps (p99 limit ${limit} ms)`,
    "",
    "| Keystrokes/s per client | Ops/s sent | Deliveries/s | p50 ms | p99 ms | max ms | Delivered | Server CPU | Generator CPU | Other CPU | Commits/s (updates each) | Server RSS MiB | |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows,
  ].join("\n");
}

export function renderReport(meta: Meta, reports: ServerReport[]): string {
  const wove = reports.find((r) => r.label === "Wove");
  const ref = reports.find((r) => r.label !== "Wove");
  const cols = reports.map((r) => r.label);
  const { cfg } = meta;
  const clients = cfg.rooms * cfg.clients;
  const row = (name: string, cell: (r: ServerReport) => string, cmp?: (w: ServerReport, f: ServerReport) => string) =>
    `| ${name} | ${reports.map(cell).join(" | ")} |${wove && ref ? ` ${cmp ? cmp(wove, ref) : ""} |` : ""}`;
  const head = `| | ${cols.join(" | ")} |${wove && ref ? " Wove / reference |" : ""}`;
  const sep = `| --- |${cols.map(() => " ---: |").join("")}${wove && ref ? " ---: |" : ""}`;
  const coldRows = (wove ?? ref)?.cold.flatMap((v, i) => [
    row(
      `Cold load 1 MB, ${v.variant}: first room after restart, ms median (min–max)`,
      (r) => (r.cold[i] ? coldCell(r.cold[i].afterRestart) : "n/a"),
      (w, f) => (w.cold[i] && f.cold[i] ? ratio(median(w.cold[i].afterRestart.map((t) => t.fullMs)), median(f.cold[i].afterRestart.map((t) => t.fullMs))) : ""),
    ),
    row(`… a second cold room in the warm process`, (r) => (r.cold[i] ? coldCell(r.cold[i].warmProcess) : "n/a")),
  ]);
  const summary = [
    head,
    sep,
    row("Clients connected (time to connect all)", (r) => `${int(r.connect.clients)} (${ms(r.connect.ms / 1000)} s)`),
    row(
      "Server RSS with them connected, idle",
      (r) => `${int(r.connect.rss)} MiB`,
      (w, f) => ratio(w.connect.rss, f.connect.rss),
    ),
    row(`Steady ${cfg.rate} keystrokes/s per client: ops/s sent / deliveries/s`, (r) => `${int(r.baseline.ops)} / ${int(r.baseline.deliveriesPerSec)}`),
    row(
      "… latency p50 / p99 / p99.9 / max, ms",
      (r) => `${ms(r.baseline.p50, 2)} / ${ms(r.baseline.p99, 2)} / ${ms(r.baseline.p999, 2)} / ${ms(r.baseline.max)}`,
      (w, f) => `p99 ${ratio(w.baseline.p99, f.baseline.p99)}`,
    ),
    row(
      "… server CPU / generator CPU / other work on the machine (one core = 100%)",
      (r) => `${pct(r.baseline.serverCpu)} / ${pct(r.baseline.generatorCpu)} / ${pct(r.baseline.otherCpu)}`,
      (w, f) => ratio(w.baseline.serverCpu, f.baseline.serverCpu),
    ),
    row(
      "… server CPU time per keystroke (all its deliveries included), µs",
      (r) => int((r.baseline.serverCpu / r.baseline.ops) * 1e6),
      (w, f) => ratio(w.baseline.serverCpu / w.baseline.ops, f.baseline.serverCpu / f.baseline.ops),
    ),
    row("… libSQL commits/s (updates per commit)", (r) =>
      Number.isFinite(r.baseline.commitsPerSec) ? `${int(r.baseline.commitsPerSec)} (${r.baseline.updatesPerCommit.toFixed(1)})` : "no store",
    ),
    row("… server RSS under load", (r) => `${int(r.baseline.serverRss)} MiB`),
    row(
      `RSS per idle loaded room (${((reports[0]?.idle.docBytes ?? 0) / 1024).toFixed(0)} KiB text, no one connected; slope from ${Math.floor((reports[0]?.idle.rooms ?? 0) / 2)} to ${reports[0]?.idle.rooms ?? 0} rooms)`,
      (r) => `${ms(r.idle.perRoomKiB)} KiB`,
      (w, f) => ratio(w.idle.perRoomKiB, f.idle.perRoomKiB),
    ),
    row(
      `Highest sustained ops/s (p99 ≤ ${meta.p99LimitMs} ms, all delivered)`,
      (r) => (r.sustained.best ? `${int(r.sustained.best.ops)} (p99 ${ms(r.sustained.best.p99)} ms)` : "none"),
      (w, f) => (w.sustained.best && f.sustained.best ? `**${ratio(w.sustained.best.ops, f.sustained.best.ops)}**` : ""),
    ),
    row("… server CPU / generator CPU at that rate", (r) =>
      r.sustained.best ? `${pct(r.sustained.best.serverCpu)} / ${pct(r.sustained.best.generatorCpu)}` : "",
    ),
    row("… the next step up failed on", (r) => r.sustained.limitedBy),
    row(
      `Trace replay, ${int(cfg.keystrokes)} keystrokes, ≤ 64 in flight: end-to-end`,
      (r) => `${ms(r.replay.flood.e2eMs / 1000, 2)} s (${int(r.replay.flood.keysPerSec)} keys/s)`,
      (w, f) => ratio(w.replay.flood.e2eMs, f.replay.flood.e2eMs),
    ),
    row("… keystroke → other client p50 / p99, ms", (r) => `${ms(r.replay.flood.p50, 2)} / ${ms(r.replay.flood.p99, 2)}`),
    row(
      `Trace replay, first ${int(Math.min(cfg.keystrokes, 10_000))} keystrokes one at a time: end-to-end`,
      (r) => `${ms(r.replay.lockstep.e2eMs / 1000, 2)} s`,
      (w, f) => ratio(w.replay.lockstep.e2eMs, f.replay.lockstep.e2eMs),
    ),
    row("… keystroke → other client p50 / p99, ms", (r) => `${ms(r.replay.lockstep.p50, 2)} / ${ms(r.replay.lockstep.p99, 2)}`),
    row("Final text equal (typist, watcher, late joiner; both replays)", (r) =>
      yes(r.replay.flood.watcherEqual && r.replay.flood.lateJoinerEqual && r.replay.lockstep.watcherEqual && r.replay.lockstep.lateJoinerEqual),
    ),
    row("File API serves the final text after", (r) => (r.replay.flood.materialisedMs === null ? "n/a" : `${ms(r.replay.flood.materialisedMs / 1000, 2)} s`)),
    ...(coldRows ?? []),
    row("Sockets closed by the server during the load", (r) => (r.unexpectedCloses.length ? `${r.unexpectedCloses.length} (${r.unexpectedCloses[0]})` : "0")),
  ];

  const goals: string[] = [];
  if (wove) {
    const sus = wove.sustained.best && ref?.sustained.best ? wove.sustained.best.ops / ref.sustained.best.ops : Number.NaN;
    const gen = wove.sustained.steps.some((s) => s.generatorBound) ? " (the load generator ran out of CPU first, so this is a floor)" : "";
    const coldAfter = wove.cold[0] ? median(wove.cold[0].afterRestart.map((t) => t.fullMs)) : Number.NaN;
    const coldWarm = wove.cold[0] ? median(wove.cold[0].warmProcess.map((t) => t.fullMs)) : Number.NaN;
    goals.push(
      "| Goal (issue 4) | Measured (Wove) | Met? |",
      "| --- | --- | --- |",
      `| ≥ 2× the reference's sustained ops/s at equal p99 (≤ ${meta.p99LimitMs} ms) | ${Number.isFinite(sus) ? `${sus.toFixed(2)}×` : "n/a"}${gen} | ${yes(sus >= 2)} |`,
      `| p99 < 30 ms at ${int(clients)} connected clients (${cfg.rate} keystrokes/s each) | ${ms(wove.baseline.p99, 2)} ms | ${yes(wove.baseline.p99 < 30)} |`,
      `| Cold room load of a 1 MB document < 20 ms (file never opened, first room after a restart) | ${ms(coldAfter)} ms (second room in the warm process: ${ms(coldWarm)} ms) | ${yes(coldAfter < 20)} |`,
    );
  }
  const env = Object.entries(WOVE_BENCH_ENV)
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(", ");
  return [
    `Collaboration benchmark, ${meta.date.slice(0, 16).replace("T", " ")} UTC, commit ${meta.commit}: \`${meta.command}\``,
    "",
    ...summary,
    "",
    ...goals,
    "",
    ...reports.map((r) => stepTable(r, meta.p99LimitMs)).flatMap((t) => [t, ""]),
    `Load: ${cfg.rooms} rooms × ${cfg.clients} clients (lean y-websocket clients in ${cfg.workers} Bun worker process${cfg.workers > 1 ? "es" : ""}), each typing one character per update; latency = sender's send → arrival at each other client of the room (same process clock). Steady run ${cfg.seconds} s, steps ${cfg.stepSeconds} s, after a warm-up; undelivered updates are waited for up to 5 s.`,
    `CPU: ${meta.pinned ? "server pinned to CPU 0, load generator to CPU 1 (taskset)" : "not pinned"}; CPU columns are shares of one core from /proc/<pid>/stat (all threads); "other" is the rest of the machine's busy time (/proc/stat) in the same window: work that was not the benchmark's.`,
    `Wove: \`bun src/main.ts serve\` with ${env}. Reference: ${meta.reference} (\`src/server.js\`, Node ${meta.node}), in memory; with \`YPERSISTENCE\` (y-leveldb) for the cold loads only.`,
    `Machine: ${meta.machine}; Bun ${meta.bun}; 1-minute load average ${meta.loadBefore.toFixed(2)} before the run.`,
  ].join("\n");
}
