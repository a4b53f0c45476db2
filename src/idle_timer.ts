import { unrefTimer } from "./_platform.ts";

/**
 * Options for {@linkcode idleTimer}.
 *
 * @example Exit after a minute without work
 * ```ts
 * import { idleTimer, type IdleTimerOptions } from "@systemd-js/daemon";
 * const options: IdleTimerOptions = { idleMs: 60_000, onIdle: () => process.exit(0) };
 * idleTimer(options);
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/systemd.socket.html | systemd.socket(5)}
 */
export interface IdleTimerOptions {
  /** How long nothing may be active before `onIdle` runs, in milliseconds. */
  readonly idleMs: number;
  /** Called once when the service has been idle for `idleMs`. */
  readonly onIdle: () => void;
}

/**
 * Tracks the work of a service and says when it has been idle long enough, from {@linkcode idleTimer}.
 *
 * @example Hold the service busy while a job runs
 * ```ts
 * import { idleTimer } from "@systemd-js/daemon";
 * const idle = idleTimer({ idleMs: 30_000, onIdle: () => process.exit(0) });
 * const end = idle.begin();
 * try {
 *   await new Promise((resolve) => setTimeout(resolve, 1000)); // the job
 * } finally {
 *   end();
 * }
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/systemd.socket.html | systemd.socket(5)}
 */
export interface IdleTimer {
  /**
   * Marks the start of some work (a request, a connection). The service is not
   * idle until the returned function has been called; calling it twice counts once.
   */
  begin(): () => void;
  /** Counts as activity without holding the service busy: restarts the idle period. */
  touch(): void;
  /** How many pieces of work are running. */
  readonly active: number;
  /** True once `onIdle` has run or `stop()` was called. */
  readonly stopped: boolean;
  /** Cancels the timer; `onIdle` will not run. */
  stop(): void;
}

/**
 * Runs `onIdle` once the service has had no work for `idleMs`: the building
 * block of a socket-activated service that exits when idle. systemd keeps the
 * listening socket while the service is gone, queues new connections, and
 * starts the service again on the next one. The timer never keeps the process
 * alive by itself.
 *
 * @param options the idle period and what to do when it passes
 * @returns the timer, already running
 * @throws {RangeError} when `idleMs` is not a positive finite number
 *
 * @example Exit after 30 s without requests (node:http)
 * ```ts
 * import { createServer } from "node:http";
 * import { idleTimer, listenFds, stopping } from "@systemd-js/daemon";
 * const [socket] = await listenFds();
 * const idle = idleTimer({
 *   idleMs: 30_000,
 *   onIdle: async () => {
 *     await stopping("Idle, exiting; systemd keeps the socket");
 *     server.close();
 *   },
 * });
 * const server = createServer((_request, response) => {
 *   const end = idle.begin();
 *   response.on("close", end);
 *   response.end("hello\n");
 * });
 * server.listen(socket === undefined ? { port: 8080 } : { fd: socket.fd });
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/systemd.socket.html | systemd.socket(5)}
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html | sd_listen_fds(3)}
 */
export function idleTimer(options: IdleTimerOptions): IdleTimer {
  const { idleMs, onIdle } = options;
  if (typeof idleMs !== "number" || !Number.isFinite(idleMs) || idleMs <= 0) {
    throw new RangeError(`Idle time must be a positive number of ms, got ${idleMs}`);
  }
  if (typeof onIdle !== "function") throw new TypeError(`"onIdle" must be a function`);
  let active = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function arm(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (stopped || active > 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      stopped = true;
      onIdle();
    }, idleMs);
    unrefTimer(timer);
  }

  arm();
  return {
    begin(): () => void {
      active++;
      arm();
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        active--;
        arm();
      };
    },
    touch: arm,
    get active(): number {
      return active;
    },
    get stopped(): boolean {
      return stopped;
    },
    stop(): void {
      stopped = true;
      arm();
    },
  };
}
