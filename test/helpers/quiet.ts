/**
 * Quiet tests: child processes (servers, browsers) register their captured
 * output here, and `test` from this module prints that output only when the
 * test fails — so a green run shows one line per test and a red one shows
 * exactly what the server logged around the failure.
 */
import { test as bunTest } from "bun:test";

export type OutputSource = { label: string; output(): string };

const live = new Set<OutputSource>();
/** Sources that went away during the running test still belong to its report. */
let retired: OutputSource[] = [];

const MAX_CHARS = 20_000;

export function registerOutput(s: OutputSource): void {
  live.add(s);
}

export function unregisterOutput(s: OutputSource): void {
  if (live.delete(s)) retired.push(s);
}

function tail(text: string): string {
  return text.length > MAX_CHARS ? `…(${text.length - MAX_CHARS} earlier characters cut)\n${text.slice(-MAX_CHARS)}` : text;
}

function report(name: string): void {
  const sources = [...retired, ...live];
  if (sources.length === 0) return;
  const parts = sources.map((s) => `===== ${s.label}\n${tail(s.output())}`);
  console.error(`\n##### output of child processes for failed test "${name}"\n${parts.join("\n")}\n##### end of output\n`);
}

type Body = () => void | Promise<void>;

/** bunfig.toml's [test] timeout: our own timer fires just before bun's so the output still gets printed. */
const DEFAULT_TIMEOUT_MS = 60_000;

/** bun:test's `test`, printing captured child output when the body throws or runs out of time. */
export function test(name: string, fn: Body, timeoutMs?: number): void {
  const limit = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  bunTest(
    name,
    async () => {
      retired = [];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`test did not finish within ${limit - 1000} ms`)), limit - 1000);
      });
      try {
        await Promise.race([fn(), expired]);
      } catch (e) {
        report(name);
        throw e;
      } finally {
        clearTimeout(timer);
        retired = [];
      }
    },
    limit,
  );
}

/** A test that is run but skipped when `condition` is true (bun's test.skipIf). */
test.skipIf = (condition: boolean) => (condition ? (name: string, fn: Body, timeoutMs?: number) => bunTest.skip(name, fn, timeoutMs) : test);
