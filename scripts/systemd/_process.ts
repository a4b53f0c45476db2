import { readFileSync } from "node:fs";
import process from "node:process";

/** The signals this harness sends. */
export type SignalName = "SIGTERM" | "SIGKILL" | "SIGINT" | "SIGHUP";

/**
 * One exact process: its pid plus its start time (field 22 of `/proc/PID/stat`, in clock
 * ticks since boot), so that a recycled pid is never mistaken for it.
 */
export interface ProcessIdentity {
  /** The process id. */
  readonly pid: number;
  /** The start time from `/proc/PID/stat`, as text. */
  readonly startTime: string;
}

function readStat(pid: number): { state: string; startTime: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime };
}

/**
 * Captures the identity of a running process.
 *
 * @param pid the process id
 * @returns the identity, or `undefined` when no such process exists
 *
 * @example Identify this process
 * ```ts
 * import process from "node:process";
 * console.log(identifyProcess(process.pid)?.startTime);
 * ```
 */
export function identifyProcess(pid: number): ProcessIdentity | undefined {
  const stat = readStat(pid);
  return stat === undefined ? undefined : { pid, startTime: stat.startTime };
}

/**
 * Tells whether the process is still running: it exists, is not a zombie, and its start time
 * still matches (the pid was not recycled).
 *
 * @param identity what {@link identifyProcess} returned
 * @returns `true` while it runs
 *
 * @example
 * ```ts
 * import process from "node:process";
 * console.log(isProcessRunning(identifyProcess(process.pid)!)); // true
 * ```
 */
export function isProcessRunning(identity: ProcessIdentity): boolean {
  const stat = readStat(identity.pid);
  if (stat === undefined || stat.startTime !== identity.startTime) return false;
  return stat.state !== "Z" && stat.state !== "X" && stat.state !== "x";
}

/**
 * Sends a signal to exactly this process, and only while {@link isProcessRunning} says it is
 * still the same one.
 *
 * @param identity the process
 * @param signal the signal name
 * @returns `true` when the signal was delivered
 *
 * @example
 * ```ts
 * signalProcess(identity, "SIGTERM");
 * ```
 */
export function signalProcess(identity: ProcessIdentity, signal: SignalName): boolean {
  if (!isProcessRunning(identity)) return false;
  try {
    process.kill(identity.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @param ms delay in milliseconds
 * @returns a promise for the end of the delay
 *
 * @example
 * ```ts
 * await sleep(50);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the thread for `ms` milliseconds; for `exit` handlers, where nothing asynchronous runs.
 *
 * @param ms delay in milliseconds
 *
 * @example
 * ```ts
 * sleepSync(20);
 * ```
 */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
