/**
 * `npm run stress`: the reliability suite at full size, on Node, Deno and Bun.
 *
 * Runs tests/property.test.ts, tests/fd_hygiene.test.ts and tests/faults.test.ts
 * under each runtime's own test runner with
 *   SDJS_PROPERTY_RUNS=10000   cases per property (npm test: 200)
 *   SDJS_FD_NOTIFIES=1000000   notifies in the descriptor-leak loop (npm test: 100 000)
 *   SDJS_FD_BARRIERS=10000     barriers in the descriptor-leak loop (npm test: 1 000)
 *   SDJS_FAULT_PAUSE_MS=5000   how long the receiver stops reading
 * (each can be overridden from the environment), collects the figures the
 * tests print (`SDJS_FIGURE {...}` lines) and prints them per runtime.
 *
 * Usage: node --import tsx scripts/stress.ts [node] [deno] [bun] [--verbose]
 * Exits non-zero when any runtime's run fails.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

type RuntimeName = "node" | "deno" | "bun";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FILES = ["tests/property.test.ts", "tests/fd_hygiene.test.ts", "tests/faults.test.ts"];
const bin = (name: string): string => join(ROOT, "node_modules", ".bin", name);

const SIZES: Record<string, string> = {
  SDJS_PROPERTY_RUNS: process.env.SDJS_PROPERTY_RUNS ?? "10000",
  SDJS_FD_NOTIFIES: process.env.SDJS_FD_NOTIFIES ?? "1000000",
  SDJS_FD_BARRIERS: process.env.SDJS_FD_BARRIERS ?? "10000",
  SDJS_FAULT_PAUSE_MS: process.env.SDJS_FAULT_PAUSE_MS ?? "5000",
};

const COMMANDS: Record<RuntimeName, [string, string[]]> = {
  node: [process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...FILES]],
  deno: [bin("deno"), ["test", "--allow-all", "--no-prompt", ...FILES]],
  bun: [bin("bun"), ["test", "--timeout=900000", ...FILES.map((file) => `./${file}`)]],
};

interface Figure {
  readonly name: string;
  readonly [key: string]: number | string | boolean;
}

interface Outcome {
  readonly runtime: RuntimeName;
  readonly code: number | null;
  readonly seconds: number;
  readonly figures: Figure[];
}

function runOne(runtime: RuntimeName, verbose: boolean): Promise<Outcome> {
  const [command, args] = COMMANDS[runtime];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...SIZES, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (stream: NodeJS.WriteStream) => (chunk: Buffer): void => {
      output += String(chunk);
      if (verbose) stream.write(chunk);
    };
    child.stdout.on("data", collect(process.stdout));
    child.stderr.on("data", collect(process.stderr));
    child.on("error", (error) => {
      output += String(error);
    });
    child.on("close", (code) => {
      const figures = [...output.matchAll(/SDJS_FIGURE (\{.*\})/g)].map((match) =>
        JSON.parse(match[1]) as Figure
      );
      if (code !== 0 && !verbose) process.stdout.write(output); // show what failed
      resolve({ runtime, code, seconds: (performance.now() - started) / 1000, figures });
    });
  });
}

function find(outcome: Outcome, name: string): Figure | undefined {
  return outcome.figures.find((figure) => figure.name === name);
}

function value(figure: Figure | undefined, key: string): string {
  const found = figure?.[key];
  return found === undefined
    ? "—"
    : typeof found === "number"
    ? found.toLocaleString("en-US")
    : String(found);
}

function printTable(outcomes: Outcome[]): void {
  const rows: [string, (outcome: Outcome) => string][] = [
    ["result", (o) => (o.code === 0 ? "ok" : `FAILED (exit ${o.code})`)],
    ["wall time (s)", (o) => o.seconds.toFixed(1)],
    ["property cases run", (o) => value(find(o, "property"), "cases")],
    ["  runs per property", (o) => value(find(o, "property"), "runsPerProperty")],
    ["  properties", (o) => value(find(o, "property"), "properties")],
    ["notifies in leak loop", (o) => value(find(o, "fd-load"), "notifies")],
    ["barriers in leak loop", (o) => value(find(o, "fd-load"), "barriers")],
    [
      "open fds before → after",
      (o) => `${value(find(o, "fd-load"), "fdsBefore")} → ${value(find(o, "fd-load"), "fdsAfter")}`,
    ],
    [
      "  unix dgram sockets",
      (o) =>
        `${value(find(o, "fd-load"), "dgramSocketsBefore")} → ${
          value(find(o, "fd-load"), "dgramSocketsAfter")
        }`,
    ],
    [
      "  pipe ends",
      (o) =>
        `${value(find(o, "fd-load"), "pipesBefore")} → ${value(find(o, "fd-load"), "pipesAfter")}`,
    ],
    ["  notify loop (s)", (o) => value(find(o, "fd-load"), "notifySeconds")],
    ["  barrier loop (s)", (o) => value(find(o, "fd-load"), "barrierSeconds")],
    [
      "error paths: fds before → after",
      (o) =>
        `${value(find(o, "fd-errors"), "fdsBefore")} → ${value(find(o, "fd-errors"), "fdsAfter")}`,
    ],
    ["receiver stalled (ms)", (o) => value(find(o, "stall"), "pauseMs")],
    ["  messages waiting, all delivered", (o) => value(find(o, "stall"), "messages")],
    ["  max event-loop delay (ms)", (o) => value(find(o, "stall"), "maxLoopDelayMs")],
    ["  drained after resume (ms)", (o) => value(find(o, "stall"), "drainMs")],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const columns = outcomes.map((outcome) =>
    Math.max(outcome.runtime.length, ...rows.map(([, cell]) => cell(outcome).length)) + 2
  );
  const line = (label: string, cells: string[]): string =>
    label.padEnd(width) + cells.map((cell, index) => cell.padStart(columns[index])).join("");
  console.log(line("", outcomes.map((outcome) => outcome.runtime)));
  for (const [label, cell] of rows) console.log(line(label, outcomes.map(cell)));
}

const argv = process.argv.slice(2);
const verbose = argv.includes("--verbose");
const asked = argv.filter((arg): arg is RuntimeName =>
  arg === "node" || arg === "deno" || arg === "bun"
);
const runtimes: RuntimeName[] = asked.length > 0 ? asked : ["node", "deno", "bun"];

console.log(`stress: ${Object.entries(SIZES).map(([key, size]) => `${key}=${size}`).join(" ")}`);
console.log(`files: ${FILES.join(" ")}\n`);
const outcomes: Outcome[] = [];
for (const runtime of runtimes) {
  process.stdout.write(`${runtime} … `);
  const outcome = await runOne(runtime, verbose);
  console.log(`${outcome.code === 0 ? "ok" : "FAILED"} in ${outcome.seconds.toFixed(1)} s`);
  outcomes.push(outcome);
}
console.log("");
printTable(outcomes);
process.exit(outcomes.every((outcome) => outcome.code === 0) ? 0 : 1);
