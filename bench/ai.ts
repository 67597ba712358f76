/**
 * AI router benchmark (issue 6): what Wove adds to time-to-first-token (TTFT) and to each
 * token, against calling the model server directly, and many concurrent streams.
 *
 *   bun bench/ai.ts [--runs 30] [--tokens 40] [--rate 100] [--concurrency 200] [--no-http]
 *
 * The fake Ollama and OpenAI servers (test/helpers/fake-models.ts) run in a child process and
 * stream `--tokens` tokens at `--rate` tokens per second. For each protocol one stream is
 * measured, in turn, along four paths:
 *
 *   direct  fetch to the fake, parsing its NDJSON / SSE — the baseline
 *   plugin  the provider plugin's client (clientFor), no router
 *   router  routeChat: chain, breaker, timeouts, ai_usage row — in this process
 *   http    POST /api/v1/ai/chat on a Wove server in its own process (NDJSON), i.e. the guard,
 *           quota check, conversation storage and context building as well
 *
 * Per-token overhead is the mean gap between tokens on a path minus the direct one, per run;
 * "bunched" counts gaps shorter than a quarter of the pace (tokens held back and released
 * together: buffering). Then `--concurrency` streams at once through routeChat and through
 * HTTP: errors and TTFT under load. Progress goes to stderr, markdown tables to stdout.
 *
 * When the route table does not carry the AI routes yet, the http path runs a server built
 * by this script from the same route table plus the AI route arrays (said in the notes).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dir, "..");
const say = (s: string) => process.stderr.write(`${s}\n`);
const words = (n: number) => Array.from({ length: n }, (_, i) => `${i === 0 ? "" : " "}w${i}`).join("");

// ---- measuring ----------------------------------------------------------------------------

type Stream = { ttft: number; times: number[]; ok: boolean; error?: string };

/** Reads a response body line by line, stamping each line with when its bytes arrived. */
async function* timedLines(res: Response): AsyncGenerator<[string, number]> {
  if (!res.body) return;
  const dec = new TextDecoder();
  let rest = "";
  const reader = res.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const at = performance.now();
    rest += dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.trim() !== "") yield [line, at];
    }
  }
}

/** Times one stream: `tokenOf` says whether a line (or chunk) is a token. */
async function timeStream<T>(start: () => AsyncIterable<[T, number]> | Promise<AsyncIterable<[T, number]>>, isToken: (x: T) => boolean, isEnd: (x: T) => boolean): Promise<Stream> {
  const t0 = performance.now();
  const times: number[] = [];
  try {
    let ended = false;
    for await (const [x, at] of await start()) {
      if (isToken(x)) times.push(at - t0);
      if (isEnd(x)) ended = true;
    }
    return { ttft: times[0] ?? Number.NaN, times, ok: ended };
  } catch (e) {
    return { ttft: Number.NaN, times, ok: false, error: (e as Error).message };
  }
}

async function* stamped<T>(it: AsyncIterable<T>): AsyncGenerator<[T, number]> {
  for await (const x of it) yield [x, performance.now()];
}

function pct(values: number[], p: number): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))] as number;
}
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const meanGap = (s: Stream) => (s.times.length > 1 ? ((s.times.at(-1) as number) - (s.times[0] as number)) / (s.times.length - 1) : Number.NaN);

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      runs: { type: "string", default: "30" },
      tokens: { type: "string", default: "40" },
      rate: { type: "string", default: "100" },
      concurrency: { type: "string", default: "200" },
      "no-http": { type: "boolean", default: false },
    },
  });
  const RUNS = Number(flags.runs);
  const TOKENS = Number(flags.tokens);
  const RATE = Number(flags.rate);
  const CONC = Number(flags.concurrency);
  const pace = 1000 / RATE;
  const children: ReturnType<typeof Bun.spawn>[] = [];
  const spawnJson = async (args: string[]): Promise<Record<string, string | number>> => {
    const p = Bun.spawn([process.execPath, join(root, "bench/ai.ts"), ...args], { stdin: "pipe", stdout: "pipe", stderr: "inherit", env: { ...process.env, WOVE_LOG_LEVEL: "warn" } });
    children.push(p);
    const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`bench child ${args[0]} exited early`);
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    return JSON.parse(text.trim()) as Record<string, string | number>;
  };

  const dataDir = mkdtempSync(join(tmpdir(), "wove-bench-ai-"));
  const notes: string[] = [];
  try {
    say(`fakes: ${TOKENS} tokens at ${RATE}/s`);
    const fakes = (await spawnJson(["--fakes", String(TOKENS), String(RATE)])) as { ollama: string; openai: string };
    const { loadConfig } = await import("../src/config.ts");
    const { openApp } = await import("../src/core/app.ts");
    const { createUser } = await import("../src/auth/users.ts");
    const { createToken } = await import("../src/auth/tokens.ts");
    const { setLogLevel } = await import("../src/lib/log.ts");
    const { addProvider, clientFor, getProvider } = await import("../src/ai/providers.ts");
    const { routeChat } = await import("../src/ai/router.ts");
    const { allRoutes } = await import("../src/server/routes.ts");
    setLogLevel("warn");
    const app = await openApp(loadConfig({ data: dataDir }, {}));
    const user = await createUser(app.db.orm, { email: "bench@example.org", role: "member", username: "bench", name: "Bench" }, null);
    const { token } = await createToken(app.db.orm, user, { name: "bench", scopes: ["read", "write"], expiresAt: null }, null);
    await addProvider(app, { id: "ollama", kind: "ollama", url: fakes.ollama }, null);
    await addProvider(app, { id: "openai", kind: "openai-compatible", url: fakes.openai }, null);
    const actor = { kind: "user" as const, user, via: "session" as const, sessionId: "bench" };
    const messages = [{ role: "user" as const, content: "Say hello" }];

    let httpUrl: string | null = null;
    if (!flags["no-http"]) {
      const s = await spawnJson(["--serve", dataDir]);
      httpUrl = String(s.url);
      const wired = allRoutes.some((r) => r.path === "/api/v1/ai/chat");
      if (!wired || Number(s.added) > 0) notes.push(`The http path ran on a server built by bench/ai.ts: the route table (src/server/routes.ts) does not carry the AI routes yet (${s.added} added).`);
    }

    const protocols = [
      { id: "ollama", model: "qwen2.5-coder:1.5b" },
      { id: "openai", model: "gpt-4o-mini" },
    ] as const;
    const direct = (p: (typeof protocols)[number]) => {
      const ollama = p.id === "ollama";
      const body = ollama ? { model: p.model, messages, stream: true } : { model: p.model, messages, stream: true, stream_options: { include_usage: true } };
      return timeStream<string>(
        async () => timedLines(await fetch(ollama ? `${fakes.ollama}/api/chat` : `${fakes.openai}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })),
        (line) => (ollama ? /"content":"[^"]/.test(line) && !line.includes('"done":true') : /"delta":\{"content":"[^"]/.test(line)),
        (line) => (ollama ? line.includes('"done":true') : line === "data: [DONE]"),
      );
    };
    const plugin = async (p: (typeof protocols)[number]) => {
      const row = await getProvider(app, p.id);
      if (!row) throw new Error("no provider row");
      return timeStream(
        () => stamped(clientFor(app, row).chat({ model: p.model, messages }, new AbortController().signal)),
        (c) => c.type === "token",
        (c) => c.type === "done",
      );
    };
    const router = (p: (typeof protocols)[number]) =>
      timeStream(
        () => stamped(routeChat(app, { messages }, { task: "chat", model: `${p.id}:${p.model}`, actor, signal: new AbortController().signal })),
        (c) => c.type === "token",
        (c) => c.type === "done",
      );
    const http = (p: (typeof protocols)[number]) =>
      timeStream<string>(
        async () => {
          const res = await fetch(`${httpUrl}/api/v1/ai/chat`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ messages, model: `${p.id}:${p.model}` }),
          });
          if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
          return timedLines(res);
        },
        (line) => line.startsWith('{"type":"token"'),
        (line) => line.startsWith('{"type":"done"'),
      );
    const paths: [string, (p: (typeof protocols)[number]) => Promise<Stream>][] = [
      ["direct", direct],
      ["plugin", plugin],
      ["router", router],
      ...(httpUrl ? [["http", http] as [string, typeof http]] : []),
    ];

    // Warm-up: connections, JIT, the provider clients and the model lists.
    for (const p of protocols) for (const [, f] of paths) await f(p);
    const results = new Map<string, Stream[]>();
    for (let r = 0; r < RUNS; r++) {
      if (r % 10 === 0) say(`sequential run ${r + 1}/${RUNS}`);
      for (const p of protocols) {
        for (const [name, f] of paths) {
          const key = `${p.id}/${name}`;
          const s = await f(p);
          if (!s.ok) say(`${key}: failed: ${s.error ?? `${s.times.length} tokens, no end`}`);
          results.set(key, [...(results.get(key) ?? []), s]);
        }
      }
    }

    console.log(`## AI router overhead (${TOKENS} tokens at ${RATE} tokens/s, ${RUNS} runs per path)\n`);
    console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}; Bun ${Bun.version}.\n`);
    console.log("| protocol | path | TTFT p50 ms | TTFT p95 ms | TTFT overhead p50 / p95 ms | mean token gap p50 ms | per-token overhead p50 / p95 ms | bunched gaps | failed |");
    console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const p of protocols) {
      const base = results.get(`${p.id}/direct`) ?? [];
      for (const [name] of paths) {
        const runs = results.get(`${p.id}/${name}`) ?? [];
        const ttft = runs.map((s) => s.ttft);
        const gaps = runs.map(meanGap);
        const tokenOver = runs.map((s, i) => meanGap(s) - meanGap(base[i] as Stream));
        const ttftOver = runs.map((s, i) => s.ttft - (base[i] as Stream).ttft);
        const bunched = runs.reduce((n, s) => n + s.times.slice(1).filter((t, i) => t - (s.times[i] as number) < pace / 4).length, 0);
        const allGaps = runs.reduce((n, s) => n + Math.max(0, s.times.length - 1), 0);
        const over = name === "direct" ? "—" : `${ms(pct(ttftOver, 50))} / ${ms(pct(ttftOver, 95))}`;
        const tover = name === "direct" ? "—" : `${ms(pct(tokenOver, 50))} / ${ms(pct(tokenOver, 95))}`;
        console.log(`| ${p.id} | ${name} | ${ms(pct(ttft, 50))} | ${ms(pct(ttft, 95))} | ${over} | ${ms(pct(gaps, 50))} | ${tover} | ${bunched}/${allGaps} | ${runs.filter((s) => !s.ok).length} |`);
      }
    }

    console.log(`\n## ${CONC} concurrent streams (ollama, ${TOKENS} tokens at ${RATE} tokens/s each)\n`);
    console.log("| path | streams | completed | errors | wall s | TTFT p50 ms | TTFT p95 ms | TTFT max ms |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    const loadPaths: [string, (p: (typeof protocols)[number]) => Promise<Stream>][] = [["direct", direct], ["router", router], ...(httpUrl ? [["http", http] as [string, typeof http]] : [])];
    for (const [name, f] of loadPaths) {
      say(`${CONC} concurrent streams: ${name}`);
      const t0 = performance.now();
      const all = await Promise.all(Array.from({ length: CONC }, () => f(protocols[0])));
      const wall = (performance.now() - t0) / 1000;
      const complete = all.filter((s) => s.ok && s.times.length === TOKENS);
      const errors = all.filter((s) => !s.ok);
      if (errors[0]) say(`${name}: first error: ${errors[0].error ?? `${errors[0].times.length} tokens, no end`}`);
      const ttft = all.map((s) => s.ttft);
      console.log(`| ${name} | ${CONC} | ${complete.length} | ${errors.length} | ${wall.toFixed(2)} | ${ms(pct(ttft, 50))} | ${ms(pct(ttft, 95))} | ${ms(pct(ttft, 100))} |`);
    }
    notes.push("TTFT overhead and per-token overhead are per run: each path's stream minus the direct stream of the same run. A bunched gap is one shorter than a quarter of the pace (tokens held back and released together).");
    console.log(`\n${notes.map((n) => `- ${n}`).join("\n")}`);
    app.close();
  } finally {
    for (const c of children) {
      (c.stdin as { end(): void } | undefined)?.end();
      c.kill();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- entry: the child modes (fakes, server) or the bench itself; last, so every helper above is defined ----

if (Bun.argv[2] === "--fakes") {
  const { startFakeOllama, startFakeOpenAI } = await import("../test/helpers/fake-models.ts");
  const script = { reply: words(Number(Bun.argv[3])), tokensPerSecond: Number(Bun.argv[4]) };
  const [o, a] = await Promise.all([startFakeOllama(script), startFakeOpenAI(script)]);
  console.log(JSON.stringify({ ollama: o.url, openai: a.url }));
  process.stdin.on("end", () => process.exit(0)).resume();
} else if (Bun.argv[2] === "--serve") {
  const { loadConfig } = await import("../src/config.ts");
  const { openApp } = await import("../src/core/app.ts");
  const { createServer } = await import("../src/server/server.ts");
  const { allRoutes } = await import("../src/server/routes.ts");
  const { aiApiRoutes } = await import("../src/ai/api-routes.ts");
  const { aiChatApiRoutes } = await import("../src/ai/chat-routes.ts");
  const app = await openApp(loadConfig({ data: Bun.argv[3] }, { WOVE_LOG_LEVEL: "warn", WOVE_TOKEN_RATE_LIMIT: "0" }));
  const have = new Set(allRoutes.map((r) => `${r.method} ${r.path}`));
  const extra = [...aiApiRoutes, ...aiChatApiRoutes].filter((r) => !have.has(`${r.method} ${r.path}`));
  const server = createServer(app, { routes: [...allRoutes, ...extra] }).listen({ port: 0, hostname: "127.0.0.1" });
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.server?.port}`, added: extra.length }));
  process.stdin.on("end", () => process.exit(0)).resume();
} else {
  await main();
}
