/**
 * The one logger: JSON lines on stdout. Lines are buffered and flushed on the
 * next tick so a busy server does not pay a write syscall per request.
 */
type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let minLevel: Level = (process.env.WOVE_LOG_LEVEL as Level) in ORDER ? (process.env.WOVE_LOG_LEVEL as Level) : "info";
let buffer: string[] = [];
let scheduled = false;
let sink: (text: string) => void = (text) => process.stdout.write(text);

function flush(): void {
  scheduled = false;
  if (buffer.length === 0) return;
  const text = buffer.join("");
  buffer = [];
  sink(text);
}

export function setLogLevel(level: Level): void {
  minLevel = level;
}

/** Replaces where lines go (tests capture them). */
export function setLogSink(fn: (text: string) => void): void {
  flush();
  sink = fn;
}

export function flushLogs(): void {
  flush();
}

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < ORDER[minLevel]) return;
  buffer.push(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + "\n");
  if (level === "error" || buffer.length > 512) flush();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

export type Logger = {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
};

function make(base: Record<string, unknown>): Logger {
  const w = (level: Level) => (msg: string, fields?: Record<string, unknown>) => write(level, msg, { ...base, ...fields });
  return { debug: w("debug"), info: w("info"), warn: w("warn"), error: w("error"), child: (f) => make({ ...base, ...f }) };
}

export const log: Logger = make({});
process.on("exit", flush);
