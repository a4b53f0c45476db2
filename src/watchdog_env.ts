import { invalidVariable, parseDecimal, parsePid } from "./_env_number.ts";
import type { Environment } from "./environment.ts";

const USEC_INFINITY = (1n << 64n) - 1n;

/**
 * Reads the watchdog interval systemd set for this process, as
 * [sd_watchdog_enabled(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_watchdog_enabled.html)
 * does: `WATCHDOG_USEC` is the interval; `WATCHDOG_PID`, when present, must be
 * our pid, otherwise the watchdog belongs to another process (our parent).
 *
 * @param env the environment to read (`WATCHDOG_USEC`, `WATCHDOG_PID`)
 * @param pid this process's pid
 * @returns the interval in microseconds, or null when the watchdog is not ours or not enabled
 * @throws {SystemdError} code `EINVAL` when `WATCHDOG_USEC` is not a number
 *   between 1 and 2^64 − 2, or `WATCHDOG_PID` is not a pid
 *
 * @example Read a watchdog of 10 s
 * ```ts
 * import { parseWatchdogEnv } from "@systemd-js/daemon";
 * const usec = parseWatchdogEnv({ WATCHDOG_USEC: "10000000", WATCHDOG_PID: "42" }, 42);
 * console.log(usec); // 10000000n
 * ```
 */
export function parseWatchdogEnv(env: Environment, pid: number): bigint | null {
  const text = env.WATCHDOG_USEC;
  if (text === undefined) return null;
  const usec = parseDecimal(text);
  if (usec === null || usec === 0n || usec >= USEC_INFINITY) {
    throw invalidVariable(
      "WATCHDOG_USEC",
      text,
      "is not a number of microseconds between 1 and 2^64 - 2",
    );
  }
  const owner = env.WATCHDOG_PID;
  if (owner !== undefined && parsePid("WATCHDOG_PID", owner) !== pid) return null;
  return usec;
}
