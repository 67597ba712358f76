/**
 * Each deployment's log: lines appended to `<data>/deployments/<id>/deploy.log` (kept after the
 * deployment ends) and handed, as they are written, to whoever is watching live — the Deploy
 * panel's event stream and the streaming logs API. A watcher gets the lines written so far
 * and then every new one, and hears when the log is closed (the deployment finished).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type LogLine = { n: number; at: number; text: string };
export type LogWatcher = { line(l: LogLine): void; end(): void };

/** Longest line kept; longer ones (a minified bundle printed by a build) are cut with a marker. */
const MAX_LINE = 4000;
/** At most this many lines are kept per deployment; the rest is counted, not stored. */
const MAX_LINES = 20_000;

const DEPLOYMENT_ID_RE = /^[a-z0-9]{1,64}$/;

export function deploymentDir(dataDir: string, id: string): string {
  if (!DEPLOYMENT_ID_RE.test(id)) throw new Error(`bad deployment id ${JSON.stringify(id)}`);
  return join(dataDir, "deployments", id);
}

type OpenLog = { file: string; count: number; dropped: number; watchers: Set<LogWatcher> };

export class DeployLogs {
  private open = new Map<string, OpenLog>();

  constructor(private dataDir: string) {}

  private state(id: string): OpenLog {
    let s = this.open.get(id);
    if (!s) {
      const dir = deploymentDir(this.dataDir, id);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = join(dir, "deploy.log");
      s = { file, count: existsSync(file) ? this.read(id).length : 0, dropped: 0, watchers: new Set() };
      this.open.set(id, s);
    }
    return s;
  }

  /** Appends one or more lines (a chunk with newlines is split) and tells the watchers. */
  write(id: string, text: string): void {
    const s = this.state(id);
    for (const raw of text.replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n")) {
      // Terminal control sequences from build tools would show as garbage in the panel.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
      const clean = raw.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
      if (s.count >= MAX_LINES) {
        s.dropped++;
        continue;
      }
      const line: LogLine = { n: ++s.count, at: Date.now(), text: clean.length > MAX_LINE ? `${clean.slice(0, MAX_LINE)} … (line cut)` : clean };
      appendFileSync(s.file, `${JSON.stringify(line)}\n`);
      for (const w of s.watchers) w.line(line);
    }
  }

  /** Every stored line of a deployment's log. */
  read(id: string): LogLine[] {
    const file = join(deploymentDir(this.dataDir, id), "deploy.log");
    if (!existsSync(file)) return [];
    const out: LogLine[] = [];
    for (const l of readFileSync(file, "utf8").split("\n")) {
      if (!l) continue;
      try {
        out.push(JSON.parse(l) as LogLine);
      } catch {
        // A line torn by a crash mid-append: skip it rather than lose the rest.
      }
    }
    return out;
  }

  /**
   * Sends the lines so far, then live ones, until the log closes. `live` says whether the
   * deployment is still running its steps; when it is not, the watcher ends after the backlog.
   * Returns the function that stops watching.
   */
  watch(id: string, w: LogWatcher, live: boolean): () => void {
    for (const l of this.read(id)) w.line(l);
    if (!live) {
      w.end();
      return () => {};
    }
    const s = this.state(id);
    s.watchers.add(w);
    return () => s.watchers.delete(w);
  }

  /** The deployment's steps are over: watchers are told, and the in-memory state is dropped. */
  close(id: string): void {
    const s = this.open.get(id);
    if (!s) return;
    if (s.dropped > 0) {
      const line: LogLine = { n: s.count + 1, at: Date.now(), text: `(${s.dropped} more lines were not kept)` };
      appendFileSync(s.file, `${JSON.stringify(line)}\n`);
      for (const w of s.watchers) w.line(line);
    }
    for (const w of s.watchers) w.end();
    this.open.delete(id);
  }

  isOpen(id: string): boolean {
    return this.open.has(id);
  }
}
