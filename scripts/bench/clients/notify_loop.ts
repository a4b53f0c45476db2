/**
 * Per-message cost of this module's notify, awaited as a user awaits it.
 * usage: notify_loop MODULE_URL SHAPE WARMUP ITERATIONS ROUNDS [GAP_US]
 * SHAPE is "watchdog" (`await notify({ watchdog: true })`, "WATCHDOG=1") or
 * "status" (`await status("x")`, "STATUS=x"). Prints one line per round: wall
 * and CPU nanoseconds per message (see `_round_clock.ts`). NOTIFY_SOCKET must
 * point at the receiver. With GAP_US, messages are isolated (`_isolated.ts`)
 * and each line is "<wall_ns> -".
 *
 * @module
 */
import { positiveInteger, scriptArgs } from "./_script_args.ts";
import { timeIsolated } from "./_isolated.ts";
import { type RoundClock, startRound } from "./_round_clock.ts";

/** The part of the module's API this client uses. */
interface NotifyApi {
  notify(fields: { watchdog: boolean }): Promise<boolean>;
  status(text: string): Promise<boolean>;
}

const [module_url, shape, warmup_text, iterations_text, rounds_text, gap_text] = scriptArgs();
if (shape !== "watchdog" && shape !== "status") {
  throw new TypeError(`Shape must be "watchdog" or "status", got ${String(shape)}`);
}
const daemon = await import(module_url) as NotifyApi;
const warmup = positiveInteger(warmup_text, "warmup");
const iterations = positiveInteger(iterations_text, "iterations");
const rounds = positiveInteger(rounds_text, "rounds");
const gap_us = gap_text === undefined ? 0 : positiveInteger(gap_text, "gap");

async function send_watchdog(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (!await daemon.notify({ watchdog: true })) throw new Error("notify sent nothing");
  }
}

async function send_status(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (!await daemon.status("x")) throw new Error("status sent nothing");
  }
}

const send_many: (count: number) => Promise<void> = shape === "watchdog"
  ? send_watchdog
  : send_status;
await send_many(warmup);
const send_one: () => Promise<boolean> = shape === "watchdog"
  ? () => daemon.notify({ watchdog: true })
  : () => daemon.status("x");
const lines: string[] = [];
for (let round = 0; round < rounds; round++) {
  if (gap_us > 0) {
    lines.push(`${((await timeIsolated(iterations, gap_us, send_one)) * 1e6).toFixed(1)} -`);
    continue;
  }
  const clock: RoundClock = startRound();
  await send_many(iterations);
  lines.push(clock.perMessage(iterations));
}
console.log(lines.join("\n"));
