/**
 * Per-message cost of the npm `sd-notify` package (a libsystemd addon), Node only.
 * usage: npm_sd_notify_loop PREFIX WARMUP ITERATIONS ROUNDS [GAP_US]
 * PREFIX is the directory it was installed into (`npm install --prefix`).
 * Prints one line per round: wall and CPU
 * nanoseconds per message (see `_round_clock.ts`).
 *
 * @module
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { positiveInteger, scriptArgs } from "./_script_args.ts";
import { timeIsolated } from "./_isolated.ts";
import { type RoundClock, startRound } from "./_round_clock.ts";

/** The part of `sd-notify` this client uses: `watchdog()` is `sd_notify(0, "WATCHDOG=1")`. */
interface SdNotify {
  watchdog(): void;
}

const [prefix, warmup_text, iterations_text, rounds_text, gap_text] = scriptArgs();
const require = createRequire(join(prefix, "package.json"));
const sd_notify = require("sd-notify") as SdNotify;
const warmup = positiveInteger(warmup_text, "warmup");
const iterations = positiveInteger(iterations_text, "iterations");
const rounds = positiveInteger(rounds_text, "rounds");
const gap_us = gap_text === undefined ? 0 : positiveInteger(gap_text, "gap");

for (let i = 0; i < warmup; i++) sd_notify.watchdog();
const lines: string[] = [];
for (let round = 0; round < rounds; round++) {
  if (gap_us > 0) {
    lines.push(
      `${
        ((await timeIsolated(iterations, gap_us, () => sd_notify.watchdog())) * 1e6).toFixed(1)
      } -`,
    );
    continue;
  }
  const clock: RoundClock = startRound();
  for (let i = 0; i < iterations; i++) sd_notify.watchdog();
  lines.push(clock.perMessage(iterations));
}
console.log(lines.join("\n"));
