import { currentPid, getEnv, unrefTimer, unsetEnv } from "./_platform.ts";
import { onWatchdogInterval } from "./_watchdog_state.ts";
import { notify } from "./notify.ts";
import { parseWatchdogEnv } from "./watchdog_env.ts";

/**
 * Options for {@linkcode watchdogEnabled} and {@linkcode startWatchdog}.
 *
 * @example Read the interval and hide it from child processes
 * ```ts
 * import { watchdogEnabled } from "@systemd-js/daemon";
 * const intervalMs = watchdogEnabled({ unsetEnvironment: true });
 * console.log(intervalMs); // e.g. 10000 under WatchdogSec=10, undefined otherwise
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_watchdog_enabled.html | sd_watchdog_enabled(3)}
 */
export interface WatchdogOptions {
  /** Remove `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment. Default false. */
  readonly unsetEnvironment?: boolean;
}

/**
 * Options for {@linkcode startWatchdog}.
 *
 * @example Count failed keep-alives
 * ```ts
 * import { startWatchdog } from "@systemd-js/daemon";
 * let failures = 0;
 * startWatchdog({ onError: () => failures++ });
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_watchdog_enabled.html | sd_watchdog_enabled(3)}
 */
export interface StartWatchdogOptions extends WatchdogOptions {
  /**
   * Called when a keep-alive cannot be sent. The default writes the error to
   * `console.error`; the watchdog keeps running either way.
   */
  readonly onError?: (error: unknown) => void;
}

/**
 * A running (or idle) watchdog keep-alive schedule, from {@linkcode startWatchdog}.
 *
 * @example Stop the keep-alives on shutdown
 * ```ts
 * import { startWatchdog, type Watchdog } from "@systemd-js/daemon";
 * const watchdog: Watchdog = startWatchdog();
 * console.log(watchdog.running, watchdog.intervalMs);
 * process.on("SIGTERM", () => watchdog.stop());
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_watchdog_enabled.html | sd_watchdog_enabled(3)}
 */
export interface Watchdog {
  /** The watchdog interval in milliseconds, or undefined when systemd set none for us. */
  readonly intervalMs: number | undefined;
  /** True while keep-alives are scheduled. */
  readonly running: boolean;
  /** Stops sending keep-alives. Idempotent. */
  stop(): void;
}

/** setTimeout's largest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function readWatchdogUsec(options: WatchdogOptions): bigint | null {
  const env = { WATCHDOG_USEC: getEnv("WATCHDOG_USEC"), WATCHDOG_PID: getEnv("WATCHDOG_PID") };
  if (options.unsetEnvironment === true) {
    unsetEnv("WATCHDOG_USEC");
    unsetEnv("WATCHDOG_PID");
  }
  return parseWatchdogEnv(env, currentPid());
}

/**
 * Tells whether systemd expects keep-alives from this process, and how often,
 * from `WATCHDOG_USEC` and `WATCHDOG_PID`, as
 * [sd_watchdog_enabled(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_watchdog_enabled.html).
 * Not under systemd it returns undefined. Needs no FFI.
 *
 * @param options whether to unset the variables
 * @returns the watchdog interval in milliseconds, or undefined when there is none for us
 * @throws {SystemdError} code `EINVAL` when a variable is malformed
 *
 * @example Decide whether to start keep-alives
 * ```ts
 * import { watchdogEnabled } from "@systemd-js/daemon";
 * const interval = watchdogEnabled();
 * if (interval !== undefined) console.log(`watchdog every ${interval} ms`);
 * ```
 */
export function watchdogEnabled(options: WatchdogOptions = {}): number | undefined {
  const usec = readWatchdogUsec(options);
  return usec === null ? undefined : Number(usec) / 1000;
}

let running: KeepAlive | undefined;

class KeepAlive implements Watchdog {
  #usec: bigint;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pinging = false;
  readonly #onError: (error: unknown) => void;

  constructor(usec: bigint, onError: (error: unknown) => void) {
    this.#usec = usec;
    this.#onError = onError;
  }

  get intervalMs(): number {
    return Number(this.#usec) / 1000;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  start(): void {
    onWatchdogInterval(this.#retune);
    this.#tick();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (running === this) {
      running = undefined;
      onWatchdogInterval(undefined);
    }
  }

  readonly #tick = (): void => {
    this.#ping();
    this.#schedule();
  };

  #schedule(): void {
    const halfMs = Math.min(Number(this.#usec) / 2000, MAX_TIMER_MS);
    this.#timer = setTimeout(this.#tick, halfMs);
    unrefTimer(this.#timer);
  }

  #ping(): void {
    // A keep-alive still waiting for room in the manager's queue stands for this one too.
    if (this.#pinging) return;
    this.#pinging = true;
    notify({ watchdog: true }).then(
      () => {
        this.#pinging = false;
      },
      (error: unknown) => {
        this.#pinging = false;
        this.#onError(error);
      },
    );
  }

  /** systemd restarts its timer when it receives a new WATCHDOG_USEC; so do we. */
  readonly #retune = (usec: bigint): void => {
    this.#usec = usec;
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#schedule();
  };
}

const IDLE: Watchdog = Object.freeze({ intervalMs: undefined, running: false, stop() {} });

function reportToConsole(error: unknown): void {
  console.error("systemd watchdog keep-alive failed:", error);
}

/**
 * Sends `WATCHDOG=1` keep-alives at half the interval systemd asked for
 * (`WatchdogSec=`), starting now. The timer runs on the main event loop, so a
 * loop that hangs really stops the keep-alives and systemd acts; it never keeps
 * the process alive. Sending a new interval with `notify({ watchdogUsec })`
 * reschedules it. Starting a watchdog stops one started before.
 *
 * Not under systemd, or when `WATCHDOG_PID` names another process, it returns
 * an idle handle (`running` false) and sends nothing.
 *
 * @param options error callback and environment options
 * @returns the handle to stop it
 * @throws {SystemdError} code `EINVAL` when `WATCHDOG_USEC` or `WATCHDOG_PID` is malformed
 *
 * @example Keep the watchdog fed until shutdown
 * ```ts
 * import { ready, startWatchdog } from "@systemd-js/daemon";
 * const watchdog = startWatchdog();
 * await ready();
 * process.on("SIGTERM", () => watchdog.stop());
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_watchdog_enabled.html | sd_watchdog_enabled(3)}
 */
export function startWatchdog(options: StartWatchdogOptions = {}): Watchdog {
  const usec = readWatchdogUsec(options);
  running?.stop();
  if (usec === null) return IDLE;
  const keepAlive = new KeepAlive(usec, options.onError ?? reportToConsole);
  running = keepAlive;
  keepAlive.start();
  return keepAlive;
}

/**
 * Tells systemd the service is unhealthy now (`WATCHDOG=trigger`): it acts as
 * if the watchdog timed out (`Result=watchdog`), whether or not one is set.
 *
 * @returns true when sent, false when not under systemd
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Give up after a fatal internal error
 * ```ts
 * import { triggerWatchdog } from "@systemd-js/daemon";
 * await triggerWatchdog();
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_watchdog_enabled.html | sd_watchdog_enabled(3)}
 */
export function triggerWatchdog(): Promise<boolean> {
  return notify({ watchdog: "trigger" });
}
