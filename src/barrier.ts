import { activeSender } from "./_active.ts";
import type { Backend } from "./_backend.ts";
import { SystemdError } from "./errors.ts";
import { notifyAddress } from "./notify.ts";

/**
 * Options for {@linkcode barrier}.
 *
 * @example Wait for the manager, then drop NOTIFY_SOCKET
 * ```ts
 * import { barrier, stopping } from "@systemd-js/daemon";
 * await stopping();
 * await barrier(5000, { unsetEnvironment: true });
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify_barrier(3)}
 */
export interface BarrierOptions {
  /** Remove `NOTIFY_SOCKET` from the environment. Default false. */
  readonly unsetEnvironment?: boolean;
}

const DEFAULT_TIMEOUT_MS = 5000;
const BARRIER_MESSAGE = new TextEncoder().encode("BARRIER=1");
const LONGEST_POLL_MS = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitForHangup(backend: Backend, fd: number, deadline: number): Promise<void> {
  for (let delayMs = 1;; delayMs = Math.min(delayMs * 2, LONGEST_POLL_MS)) {
    if (backend.pollHangup(fd)) return;
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new SystemdError("The service manager did not answer the barrier in time", {
        code: "ETIMEDOUT",
        errno: 110,
        syscall: "poll",
      });
    }
    await sleep(Math.min(delayMs, left));
  }
}

/**
 * Waits until the service manager has processed every notification this
 * process sent before, as
 * [sd_notify_barrier(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html)
 * does: it sends `BARRIER=1` with the write end of a new pipe as the only
 * descriptor and waits for the manager to close it. Use it before exiting
 * right after a notification, or the manager may find the process gone and
 * drop the message.
 *
 * Not under systemd it resolves to false at once and loads no FFI. Waiting
 * never blocks the event loop.
 *
 * @param timeoutMs how long to wait, in milliseconds (default 5000)
 * @param options environment options
 * @returns true once the manager has caught up, false when not under systemd
 * @throws {RangeError} when `timeoutMs` is negative or not finite
 * @throws {SystemdError} code `ETIMEDOUT` when the manager did not answer in
 *   time, or as {@linkcode notify} when sending fails
 *
 * @example Make sure a last status is seen before exiting
 * ```ts
 * import { barrier, status } from "@systemd-js/daemon";
 * await status("Finished: 42 files converted");
 * await barrier();
 * process.exit(0);
 * ```
 */
export async function barrier(
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
  options: BarrierOptions = {},
): Promise<boolean> {
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new RangeError(`Barrier timeout must be a finite number of ms ≥ 0, got ${timeoutMs}`);
  }
  const address = notifyAddress(options.unsetEnvironment === true);
  if (address === null) return false;
  const deadline = performance.now() + timeoutMs;
  const sender = await activeSender();
  const backend = sender.backend;
  const [readEnd, writeEnd] = backend.pipe();
  try {
    try {
      const datagram = {
        address,
        payload: BARRIER_MESSAGE,
        length: BARRIER_MESSAGE.length,
        fds: [writeEnd],
        credentials: null,
      };
      const queued = sender.send(datagram, timeoutMs);
      if (queued !== undefined) await queued;
    } finally {
      // The manager holds the only other copy; when it closes it, we see a hang-up.
      backend.close(writeEnd);
    }
    await waitForHangup(backend, readEnd, deadline);
  } finally {
    backend.close(readEnd);
  }
  return true;
}
