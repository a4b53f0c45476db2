/**
 * `npm run bench:serve`: requests per second of each runtime's own HTTP server on
 *
 * 1. a port it binds itself (the reference),
 * 2. a socket passed by `systemd-socket-activate` through `serveDeno`/`serveBun`/`serveNode`
 *    (native adoption; on Node `node:http` `listen({ fd })`),
 * 3. the same socket with adoption forced to fail (`SYSTEMD_JS_TEST_ADOPT_FAIL=dup`), i.e. the
 *    portable fallback (`node:http`; on Bun via `node:net`). Node has no fallback.
 *
 * Load: `wrk` (Debian package) on loopback only, `-t1 -c64` for `--seconds` (default 3) per
 * run, after a 1 s warm-up. The configurations run one after the other in each of `--rounds`
 * (default 6) rounds (every other one in reverse order), so each round gives a paired ratio (inherited / self-bound) measured
 * under the same machine load; the table shows the median requests/s and the median of the
 * per-round ratios. `--pin` puts the server on CPU 0 and wrk on CPU 1 (`taskset`).
 * Usage: `node --import tsx scripts/bench_serve.ts [--seconds N] [--rounds N]
 * [--runtimes deno,bun,node] [--pin]`.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { freePort } from "./systemd/free_port.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const server = join(root, "tests/fixtures/serve/bench_server.ts");

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index < 0 ? fallback : process.argv[index + 1];
}
const seconds = Number(option("--seconds", "3"));
const rounds = Number(option("--rounds", "6"));
const runtimes = option("--runtimes", "deno,bun,node").split(",");

/** With `--pin`: server on CPU 0, load generator on CPU 1 (needs two CPUs and taskset). */
const PIN: boolean = process.argv.includes("--pin") && availableParallelism() >= 2 &&
  spawnSync("taskset", ["-c", "0", "true"]).status === 0;

type Runtime = "deno" | "bun" | "node";
type Config = "self" | "native" | "fallback";

function command(runtime: Runtime): string[] {
  switch (runtime) {
    case "deno":
      return [join(root, "node_modules/.bin/deno"), "run", "-A", "--quiet", server];
    case "bun":
      return [join(root, "node_modules/.bin/bun"), server];
    default:
      return [process.execPath, "--import", "tsx", server];
  }
}

/** Starts one server configuration; resolves with its mode line once it accepts. */
async function start(
  runtime: Runtime,
  config: Config,
  port: number,
): Promise<{ child: ChildProcess; mode: string }> {
  const base = command(runtime);
  const argv = config === "self" ? [...base, "self", String(port)] : [
    "systemd-socket-activate",
    "-l",
    `127.0.0.1:${port}`,
    ...(config === "fallback" ? ["-E", "SYSTEMD_JS_TEST_ADOPT_FAIL=dup"] : []),
    ...base,
    "inherited",
  ];
  const pinned = PIN ? ["taskset", "-c", "0", ...argv] : argv;
  const child = spawn(pinned[0], pinned.slice(1), { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr?.on("data", (chunk) => (output += String(chunk)));
  // systemd-socket-activate starts the service on the first connection.
  if (config !== "self") {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await fetch(`http://127.0.0.1:${port}/`).then((response) => response.text()).catch(() => "");
  }
  const mode = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${runtime} ${config} did not start: ${output}`)),
      20000,
    );
    child.stdout?.on("data", (chunk) => {
      const line = String(chunk).split("\n").find((text) => text.startsWith("ready "));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line.slice(6));
      }
    });
  });
  return { child, mode };
}

function wrk(port: number, duration: number): number {
  const args = ["-t1", "-c64", `-d${duration}s`, `http://127.0.0.1:${port}/`];
  const out = PIN
    ? execFileSync("taskset", ["-c", "1", "wrk", ...args], { encoding: "utf8" })
    : execFileSync("wrk", args, { encoding: "utf8" });
  const match = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors !== null) console.error(`  wrk reported: ${errors[0]}`);
  return match === null ? 0 : Number(match[1]);
}

async function measure(runtime: Runtime, config: Config): Promise<{ rps: number; mode: string }> {
  const port = await freePort();
  const { child, mode } = await start(runtime, config, port);
  try {
    wrk(port, 1);
    return { rps: wrk(port, seconds), mode };
  } finally {
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("close", resolve));
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const table: string[] = [];
console.log(
  `wrk -t1 -c64 -d${seconds}s, ${rounds} rounds (median), ${process.arch}${
    PIN ? ", server on CPU 0, wrk on CPU 1" : ""
  }`,
);
for (const runtime of runtimes as Runtime[]) {
  const configs: Config[] = runtime === "node"
    ? ["self", "native"]
    : ["self", "native", "fallback"];
  const results = new Map<Config, number[]>();
  const modes = new Map<Config, string>();
  for (let round = 0; round < rounds; round++) {
    // Every other round in reverse order, so no configuration always runs first.
    for (const config of round % 2 === 0 ? configs : [...configs].reverse()) {
      const { rps, mode } = await measure(runtime, config);
      results.set(config, [...(results.get(config) ?? []), rps]);
      modes.set(config, mode);
      console.log(`  ${runtime} ${config} round ${round + 1}: ${rps.toFixed(0)} req/s (${mode})`);
    }
  }
  const selfRuns = results.get("self") ?? [];
  const ratios = (config: Config): number[] =>
    (results.get(config) ?? []).map((rps, round) => rps / selfRuns[round]);
  const hasFallback = results.has("fallback");
  const cell = (value: number, digits: number, width: number): string =>
    value.toFixed(digits).padStart(width);
  table.push(
    `| ${runtime} | ${cell(median(selfRuns), 0, 7)} | ${
      cell(median(results.get("native") ?? []), 0, 7)
    } | ${cell(median(ratios("native")), 2, 4)}× | ${
      hasFallback ? cell(median(results.get("fallback") ?? []), 0, 7) : "    n/a"
    } | ${hasFallback ? `${cell(median(ratios("fallback")), 2, 4)}×` : "  n/a"} | ${
      modes.get("native")?.split(" ")[0]
    } |`,
  );
}
console.log(
  "\n| runtime | self-bound req/s | inherited, adopted req/s | adopted/self (median of rounds) | fallback req/s | fallback/self | mode on the inherited socket |",
);
console.log("|---|---:|---:|---:|---:|---:|---|");
for (const row of table) console.log(row);
