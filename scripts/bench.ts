/**
 * `npm run bench`: this module against the C reference, in one run, all
 * senders delivering to the same draining C receiver:
 * - per-message cost of `notify` on Node, Deno and Bun vs raw C `sendto`,
 *   libsystemd `sd_notify`, the npm `sd-notify` addon and spawning `systemd-notify`;
 * - cold start: process start → READY=1 at the receiver, with the module vs a
 *   hand-written notify vs the bare runtime start;
 * - memory: RSS with the module (and one message sent) vs without.
 * Writes BENCHMARKS.md at the repository root and prints it (`--quick` only prints).
 *
 * Self-contained: installs gcc and libsystemd-dev with apt-get when absent,
 * and `sd-notify` from npm into a scratch directory. `--quick` is a smoke run
 * (a few hundred iterations, no installs, references it cannot build skipped).
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execChecked, which } from "./bench/_exec.ts";
import { machineDetails } from "./bench/_machine.ts";
import {
  buildCPrograms,
  buildPackage,
  ensureToolchain,
  installNpmSdNotify,
  jsrDirectory,
  ROOT,
} from "./bench/_prepare.ts";
import { type BenchReceiver, startBenchReceiver } from "./bench/_receiver.ts";
import {
  type BenchReport,
  type ColdStartResult,
  type MemoryResult,
  type MessageMode,
  type MessageResult,
  micro_text,
  renderMarkdown,
} from "./bench/_report.ts";
import { median, parseNumberRows, quantile } from "./bench/_stats.ts";

/** How much to measure. */
interface Sizes {
  /** Per-message passes; every sender runs once per pass. */
  readonly passes: number;
  readonly warmup: number;
  readonly iterations: number;
  /** Messages per round in the isolated mode. */
  readonly isolated_iterations: number;
  readonly rounds: number;
  readonly spawns: number;
  readonly cold_runs: number;
  readonly memory_runs: number;
}

const FULL: Sizes = {
  passes: 5,
  warmup: 20_000,
  iterations: 50_000,
  isolated_iterations: 4_000,
  rounds: 3,
  spawns: 200,
  cold_runs: 41,
  memory_runs: 5,
};
const QUICK: Sizes = {
  passes: 1,
  warmup: 100,
  iterations: 300,
  isolated_iterations: 100,
  rounds: 2,
  spawns: 3,
  cold_runs: 1,
  memory_runs: 1,
};

type RuntimeName = "node" | "deno" | "bun";

/** µs of busy waiting before each message in the isolated mode. */
const GAP_US = 50;

/** How to run a benchmark client on one runtime. */
interface RuntimeSpec {
  readonly name: RuntimeName;
  /**
   * The module as this runtime's users load it (Deno: JSR's `jsr/mod.js`; Node
   * and Bun: npm's `dist/mod.js`), as the benchmark builds it in its scratch directory.
   */
  readonly module_url: string;
  /** The command line running client `client` (a file in scripts/bench/clients, no extension). */
  command(client: string, args: readonly string[]): [string, string[]];
  /** The command line running the JavaScript file `script`. */
  script(script: string, args: readonly string[]): [string, string[]];
}

function runtimeSpecs(package_dir: string, jsr_dir: string): RuntimeSpec[] {
  const compiled = (client: string): string =>
    join(package_dir, "scripts", "bench", "clients", `${client}.js`);
  const npm_module = pathToFileURL(join(package_dir, "mod.js")).href;
  const deno = (script: string, args: readonly string[]): [string, string[]] => [
    join(ROOT, "node_modules", ".bin", "deno"),
    ["run", "--allow-env", "--allow-ffi", "--allow-read", "--no-lock", "--quiet", script, ...args],
  ];
  const bun = (script: string, args: readonly string[]): [string, string[]] => [
    join(ROOT, "node_modules", ".bin", "bun"),
    [script, ...args],
  ];
  const node = (script: string, args: readonly string[]): [string, string[]] => [
    process.execPath,
    [script, ...args],
  ];
  return [
    {
      name: "node",
      module_url: npm_module,
      command: (client, args) => node(compiled(client), args),
      script: node,
    },
    {
      name: "deno",
      module_url: pathToFileURL(join(jsr_dir, "mod.js")).href,
      command: (client, args) =>
        deno(join(ROOT, "scripts", "bench", "clients", `${client}.ts`), args),
      script: deno,
    },
    {
      name: "bun",
      module_url: npm_module,
      command: (client, args) => bun(compiled(client), args),
      script: bun,
    },
  ];
}

/**
 * Writes a cold-start client of this module (loaded from `module_url`): it imports the
 * module statically, as a service does (a dynamic import of a URL given on the
 * command line costs Node about 0.6 ms more, which no service pays), and
 * sends READY=1.
 */
function writeReadyClient(work: string, name: string, module_url: string): string {
  const path = join(work, `ready_ours_${name}.mjs`);
  writeFileSync(
    path,
    `import { ready } from ${JSON.stringify(module_url)};\n` +
      `if (!await ready()) throw new Error("ready() sent nothing: NOTIFY_SOCKET is unset");\n`,
  );
  return path;
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** One round of a per-message client: wall and CPU nanoseconds per message. */
interface Round {
  readonly wall: number;
  readonly cpu: number;
}

/**
 * Runs a per-message client, checks that the receiver got every message, and
 * returns its rounds.
 */
async function perMessage(
  receiver: BenchReceiver,
  command: [string, string[]],
  expected: number,
): Promise<Round[]> {
  await receiver.reset();
  const result = await execChecked(command[0], command[1], {
    env: { NOTIFY_SOCKET: receiver.path },
  });
  const delivered = await receiver.waitForCount(expected);
  if (delivered < expected) {
    throw new Error(`${command.join(" ")}: the receiver got ${delivered} of ${expected} messages`);
  }
  return parseNumberRows(result.stdout, 2).map(([wall, cpu]) => ({ wall, cpu }));
}

/** One launch of a command by launch.c: its start and exit, CLOCK_MONOTONIC ns. */
async function launchOnce(
  launch: string,
  command: [string, string[]],
  env: Readonly<Record<string, string>>,
): Promise<{ start: bigint; exit: bigint }> {
  const result = await execChecked(launch, ["1", command[0], ...command[1]], { env });
  const [start, exit, status] = result.stdout.trim().split(" ");
  if (status !== "0") {
    throw new Error(
      `${command.flat().join(" ")} exited with wait status ${status}: ${result.stderr}`,
    );
  }
  return { start: BigInt(start), exit: BigInt(exit) };
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const sizes = quick ? QUICK : FULL;
  const started = performance.now();
  const notes: string[] = [];
  const work = mkdtempSync(join(tmpdir(), "sdjs-bench-"));
  let receiver: BenchReceiver | undefined;
  const cleanup = (): void => rmSync(work, { recursive: true, force: true });
  process.on("exit", cleanup);
  // On Ctrl-C, exit through "exit" so the scratch directory goes; the receiver
  // sees its stdin close and removes its socket by itself.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
  try {
    // ---- prepare
    const toolchain = await ensureToolchain(!quick);
    for (const note of toolchain.notes) {
      log(note);
      notes.push(note);
    }
    const load_before = loadavg()[0];
    const programs = await buildCPrograms(work, toolchain);
    if (programs.sd_notify_loop === undefined) {
      notes.push("libsystemd sd_notify skipped: no libsystemd-dev headers");
    }
    const package_dir = await buildPackage(work);
    const npm_prefix = quick
      ? "skipped: quick mode installs nothing"
      : await installNpmSdNotify(work, toolchain);
    const npm_ok = !npm_prefix.startsWith("skipped:");
    if (!npm_ok) notes.push(`npm sd-notify ${npm_prefix}`);
    const systemd_notify = await which("systemd-notify");
    if (systemd_notify === undefined) notes.push("systemd-notify skipped: not installed");
    const runtimes = runtimeSpecs(package_dir, jsrDirectory(work));
    const [node, , bun] = runtimes;
    receiver = await startBenchReceiver(programs.receiver, join(work, "notify.sock"));
    const env = { NOTIFY_SOCKET: receiver.path };

    // ---- per message: every sender once per pass, passes interleaved, so a
    // noisy neighbour on the machine weighs on all senders alike. Two modes:
    // "burst" (back to back: throughput) and "isolated" (GAP_US apart, so the
    // receiver sleeps between messages, as a manager does between watchdog pings).
    interface MessageSender {
      readonly sender: string;
      readonly runtime: string;
      readonly ours: boolean;
      readonly mode: MessageMode;
      readonly detail: string;
      /** Runs one pass; returns its rounds. */
      measure(): Promise<Round[]>;
    }
    const senders: MessageSender[] = [];
    for (const mode of ["burst", "isolated"] as const) {
      const burst = mode === "burst";
      const iterations = burst ? sizes.iterations : sizes.isolated_iterations;
      const args = [String(sizes.warmup), String(iterations), String(sizes.rounds)];
      if (!burst) args.push(String(GAP_US));
      const expected = sizes.warmup + iterations * sizes.rounds;
      const how = `${sizes.rounds} rounds × ${iterations} per pass after ${sizes.warmup} warm-up`;
      const looped = (command: [string, string[]]) => () =>
        perMessage(receiver as BenchReceiver, command, expected);
      senders.push({
        sender: "raw C sendto",
        runtime: "C",
        ours: false,
        mode,
        detail: `\`sendto\` of WATCHDOG=1 on one kept blocking socket; ${how}`,
        measure: looped([programs.raw_sendto, args]),
      });
      senders.push({
        sender: "raw C send, connected",
        runtime: "C",
        ours: false,
        mode,
        detail:
          `\`send\` of WATCHDOG=1 on one kept blocking socket \`connect\`ed once to the address (as ours does); ${how}`,
        measure: looped([programs.raw_send_connected, args]),
      });
      if (programs.sd_notify_loop !== undefined) {
        senders.push({
          sender: "libsystemd sd_notify",
          runtime: "C",
          ours: false,
          mode,
          detail: `\`sd_notify(0, "WATCHDOG=1")\`; ${how}`,
          measure: looped([programs.sd_notify_loop, args]),
        });
      }
      if (npm_ok) {
        senders.push({
          sender: "npm sd-notify",
          runtime: "node",
          ours: false,
          mode,
          detail: `\`watchdog()\` (libsystemd addon, synchronous); ${how}`,
          measure: looped(node.command("npm_sd_notify_loop", [npm_prefix, ...args])),
        });
      }
      if (systemd_notify !== undefined && burst) {
        const spawns = Math.max(1, Math.round(sizes.spawns / sizes.passes));
        senders.push({
          sender: "spawn systemd-notify",
          runtime: "C",
          ours: false,
          mode,
          detail:
            `\`systemd-notify WATCHDOG=1\` started and awaited (it also waits on a BARRIER); ${spawns} spawns per pass`,
          measure: async () => {
            const active = receiver as BenchReceiver;
            await active.reset();
            const result = await execChecked(programs.launch, [
              String(spawns),
              systemd_notify,
              "WATCHDOG=1",
            ], { env });
            const delivered = await active.waitForCount(spawns);
            if (delivered < spawns) {
              throw new Error(`systemd-notify: ${delivered} of ${spawns} messages arrived`);
            }
            return parseNumberRows(result.stdout, 4).map(([start, exit, _status, cpu]) => ({
              wall: exit - start,
              cpu,
            }));
          },
        });
      }
      for (const shape of ["watchdog", "status"] as const) {
        for (const runtime of runtimes) {
          senders.push({
            sender: shape === "watchdog"
              ? "ours `await notify({ watchdog: true })`"
              : 'ours `await status("x")`',
            runtime: runtime.name,
            ours: true,
            mode,
            detail: how,
            measure: looped(
              runtime.command("notify_loop", [runtime.module_url, shape, ...args]),
            ),
          });
        }
      }
    }
    const samples: Round[][] = senders.map(() => []);
    for (let pass = 0; pass < sizes.passes; pass++) {
      log(`per message: pass ${pass + 1} of ${sizes.passes}`);
      for (const [index, sender] of senders.entries()) {
        samples[index].push(...await sender.measure());
      }
    }
    const messages: MessageResult[] = senders.map((sender, index) => ({
      sender: sender.sender,
      runtime: sender.runtime,
      ours: sender.ours,
      mode: sender.mode,
      wall_ns: median(samples[index].map((round) => round.wall)),
      cpu_ns: median(samples[index].map((round) => round.cpu)),
      spread: `${micro_text(quantile(samples[index].map((round) => round.wall), 0.25))}–${
        micro_text(quantile(samples[index].map((round) => round.wall), 0.75))
      }`,
      detail: sender.detail,
    }));

    // ---- cold start
    interface ColdVariant {
      readonly runtime: RuntimeSpec;
      readonly kind: "bare" | "hand" | "ours" | "npm";
      readonly command: [string, string[]];
      /** Bun only: run without its transpiler cache, as a service without a writable $HOME does. */
      readonly uncached: boolean;
      readonly samples: number[];
    }
    const variants: ColdVariant[] = [];
    const addColdVariants = (runtime: RuntimeSpec, uncached: boolean): void => {
      const variant = (kind: ColdVariant["kind"], command: [string, string[]]): ColdVariant => ({
        runtime,
        kind,
        command,
        uncached,
        samples: [],
      });
      variants.push(
        variant("bare", runtime.command("empty", [])),
        // Node's baseline loads the package's addon, so it is told where the package is.
        variant(
          "hand",
          runtime.command(
            `ready_hand_${runtime.name}`,
            runtime.name === "node" ? [package_dir] : [],
          ),
        ),
        variant(
          "ours",
          runtime.script(writeReadyClient(work, runtime.name, runtime.module_url), []),
        ),
      );
    };
    for (const runtime of runtimes) addColdVariants(runtime, false);
    addColdVariants(bun, true);
    if (npm_ok) {
      variants.push({
        runtime: node,
        kind: "npm",
        command: node.command("ready_npm_sd_notify", [npm_prefix]),
        uncached: false,
        samples: [],
      });
    }
    // Bun caches what it transpiles under $HOME; "0" turns the cache off.
    const uncached_env = { ...env, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" };
    log(`cold start: ${variants.length} variants × ${sizes.cold_runs} runs, interleaved`);
    for (let run = -1; run < sizes.cold_runs; run++) { // run -1 warms caches up
      for (const variant of variants) {
        receiver.clearReady();
        const { start, exit } = await launchOnce(
          programs.launch,
          variant.command,
          variant.uncached ? uncached_env : env,
        );
        const end = variant.kind === "bare" ? exit : await receiver.nextReady();
        if (run >= 0) variant.samples.push(Number(end - start) / 1e6);
      }
    }
    const cold_median = (
      runtime: RuntimeName,
      kind: ColdVariant["kind"],
      uncached = false,
    ): number | undefined => {
      const variant = variants.find((item) =>
        item.runtime.name === runtime && item.kind === kind && item.uncached === uncached
      );
      return variant === undefined ? undefined : median(variant.samples);
    };
    const cold: ColdStartResult[] = runtimes.map((runtime) => ({
      runtime: runtime.name,
      bare_ms: cold_median(runtime.name, "bare") as number,
      hand_ms: cold_median(runtime.name, "hand"),
      baseline: runtime.name === "node"
        ? "hand-written READY=1: Node cannot send a unix datagram without a native addon (`dgram` refuses unix_dgram), so it loads this package's prebuilt addon with `process.dlopen` and calls its `openDatagramSocket` + `send`, no module code (`clients/ready_hand_node.ts`)"
        : `hand-written READY=1: libc \`socket\` + \`sendto\` through ${
          runtime.name === "deno" ? "`Deno.dlopen`" : "`bun:ffi`"
        }, no checks (\`clients/ready_hand_${runtime.name}.ts\`)`,
      ours_ms: cold_median(runtime.name, "ours") as number,
    }));
    const cold_extra: string[] = [];
    const bun_uncached = {
      bare: cold_median("bun", "bare", true) as number,
      hand: cold_median("bun", "hand", true) as number,
      ours: cold_median("bun", "ours", true) as number,
    };
    const bun_uncached_overhead = bun_uncached.ours - bun_uncached.hand;
    cold_extra.push(
      "Bun without its transpiler cache (`BUN_RUNTIME_TRANSPILER_CACHE_PATH=0`: what a service " +
        "gets when it has no `$HOME`, as a system service without `User=` does, or cannot write " +
        `it): bare start ${bun_uncached.bare.toFixed(1)} ms, hand-written ${
          bun_uncached.hand.toFixed(1)
        } ms, with the module ${bun_uncached.ours.toFixed(1)} ms (${
          bun_uncached_overhead >= 0 ? "+" : ""
        }${bun_uncached_overhead.toFixed(1)} ms over hand-written). ` +
        "The bundles start with `// @bun`, which tells Bun not to transpile them.",
    );
    const npm_cold = cold_median("node", "npm");
    if (npm_cold !== undefined) {
      cold_extra.push(
        `For comparison, Node with the npm \`sd-notify\` addon (libsystemd) reaches READY=1 in ${
          npm_cold.toFixed(1)
        } ms.`,
      );
    }

    // ---- memory
    const memory: MemoryResult[] = [];
    for (const runtime of runtimes) {
      log(`memory: ${runtime.name}`);
      const rss = async (args: readonly string[]): Promise<number> => {
        const samples: number[] = [];
        for (let run = 0; run < sizes.memory_runs; run++) {
          const [command, command_args] = runtime.command("rss", args);
          const result = await execChecked(command, command_args, { env });
          samples.push(parseNumberRows(result.stdout, 1)[0][0]);
        }
        return median(samples);
      };
      memory.push({
        runtime: runtime.name,
        bare_kib: await rss(["bare"]),
        module_kib: await rss(["module", runtime.module_url]),
      });
    }

    // ---- report
    const busiest = Math.max(load_before, loadavg()[0]);
    if (busiest > cpus().length / 2) {
      notes.push(
        `The machine was busy (1-minute load average up to ${
          busiest.toFixed(1)
        } on ${cpus().length} ` +
          "CPUs): wall times are inflated; the CPU column, and the CPU ratios, are the figures to trust.",
      );
    }
    const machine = await machineDetails(
      join(ROOT, "node_modules", ".bin", "deno"),
      join(ROOT, "node_modules", ".bin", "bun"),
    );
    const report: BenchReport = {
      quick,
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      parameters:
        `${sizes.passes} interleaved passes of ${sizes.rounds} rounds × ${sizes.iterations} messages ` +
        `(isolated: ${sizes.isolated_iterations}, ${GAP_US} µs apart) per sender ` +
        `(${sizes.spawns} spawns of systemd-notify in all); ` +
        `${sizes.cold_runs} cold starts per variant; ${sizes.memory_runs} memory samples per case. ` +
        "Node and Bun load the module as npm ships it (`dist/mod.js`, the esbuild bundle of `npm run build`), " +
        "Deno as JSR ships it (`jsr/mod.js`, the same bundle with its declarations).",
      messages,
      cold,
      cold_extra,
      memory,
      machine,
      notes,
      seconds: (performance.now() - started) / 1000,
    };
    const markdown = renderMarkdown(report);
    // A smoke run's figures mean nothing: it prints them but keeps BENCHMARKS.md.
    if (!quick) writeFileSync(join(ROOT, "BENCHMARKS.md"), markdown);
    process.stdout.write(markdown);
  } finally {
    await receiver?.close();
    cleanup();
  }
}

await main();
