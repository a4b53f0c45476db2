import { activeSender, loadedSender } from "./_active.ts";
import type { Credentials } from "./_backend.ts";
import { getEnv, unsetEnv } from "./_platform.ts";
import { watchdogIntervalSent } from "./_watchdog_state.ts";
import {
  checkFdName,
  checkRawState,
  encodeNotifyFields,
  MAX_FDS,
  MAX_MESSAGE_BYTES,
  type NotifyFields,
} from "./notify_fields.ts";
import { type NotifyAddress, parseNotifySocket } from "./notify_socket.ts";

/**
 * Options for {@linkcode notify} and its helpers.
 *
 * @example Store a descriptor in the manager's fd store
 * ```ts
 * import { notify, type NotifyOptions } from "@systemd-js/daemon";
 * const options: NotifyOptions = { fds: [3], timeoutMs: 1000 };
 * await notify({ fdStore: true, fdName: "cache" }, options);
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export interface NotifyOptions {
  /**
   * Descriptors to pass along (SCM_RIGHTS), at most 253; only with `fdStore`.
   * They must stay open until the returned promise settles.
   */
  readonly fds?: readonly number[];
  /**
   * Send on behalf of another process (SCM_CREDENTIALS), like `sd_pid_notify()`.
   * Claiming another pid needs CAP_SYS_ADMIN. Normally leave this out: the
   * kernel attaches our own credentials.
   */
  readonly credentials?: Credentials;
  /** Remove `NOTIFY_SOCKET` from the environment, so child processes do not inherit it. Default false. */
  readonly unsetEnvironment?: boolean;
  /**
   * How long a message may wait when the manager's queue is full, in
   * milliseconds. Default 5000. Past it the promise rejects with code `EAGAIN`.
   */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
const scratch = new Uint8Array(MAX_MESSAGE_BYTES + 1);
const encoder = new TextEncoder();

let lastSocketText: string | undefined;
let lastAddress: NotifyAddress | undefined;

/** Reads (and, if asked, unsets) NOTIFY_SOCKET; null when it is unset. */
export function notifyAddress(unsetEnvironment: boolean): NotifyAddress | null {
  const text = getEnv("NOTIFY_SOCKET");
  if (unsetEnvironment) unsetEnv("NOTIFY_SOCKET");
  if (text === undefined) return null;
  if (text !== lastSocketText) {
    lastAddress = parseNotifySocket(text);
    lastSocketText = text;
  }
  return lastAddress as NotifyAddress;
}

function checkFds(fds: readonly number[] | undefined): readonly number[] | null {
  if (fds === undefined) return null;
  if (!Array.isArray(fds)) throw new TypeError(`Option "fds" must be an array of descriptors`);
  if (fds.length > MAX_FDS) {
    throw new RangeError(`Option "fds" holds ${fds.length} descriptors; at most ${MAX_FDS} fit`);
  }
  for (const fd of fds) {
    if (!Number.isInteger(fd) || fd < 0 || fd > 2 ** 31 - 1) {
      throw new TypeError(`Option "fds" must hold descriptors (integers ≥ 0), got ${String(fd)}`);
    }
  }
  return fds.length === 0 ? null : fds;
}

function checkTimeout(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0) || timeoutMs === Infinity) {
    throw new RangeError(`Option "timeoutMs" must be a finite number ≥ 0, got ${timeoutMs}`);
  }
  return timeoutMs;
}

function encode(text: string): number {
  const { read, written } = encoder.encodeInto(text, scratch);
  if (read < text.length || written > MAX_MESSAGE_BYTES) {
    throw new RangeError(
      `Notification is longer than the ${MAX_MESSAGE_BYTES} bytes the service manager accepts`,
    );
  }
  return written;
}

/**
 * Sends a notification to the service manager, as
 * [sd_notify(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html)
 * does: typed fields (or a raw `"NAME=value\n…"` string) over the AF_UNIX
 * datagram socket named by `NOTIFY_SOCKET`.
 *
 * Not under systemd (`NOTIFY_SOCKET` unset) it checks its arguments, sends
 * nothing, loads no FFI and resolves to `false`. The datagram goes out before
 * this function returns unless the manager's queue is full; then it waits, in
 * order behind earlier messages, up to `timeoutMs` (see {@linkcode NotifyOptions}).
 *
 * @param state the fields to send, or a raw message
 * @param options descriptors, credentials, environment and timeout options
 * @returns true when the message was handed to the service manager, false when not under systemd
 * @throws {TypeError} for bad fields or options (nothing is sent)
 * @throws {RangeError} for out-of-range values or a message over 4096 bytes
 * @throws {SystemdError} when `NOTIFY_SOCKET` is malformed, Deno lacks
 *   `--allow-ffi`, sending fails (code `ECONNREFUSED`, `ENOENT`, …) or the
 *   manager's queue stays full past the timeout (code `EAGAIN`)
 *
 * @example Report readiness with a status line
 * ```ts
 * import { notify } from "@systemd-js/daemon";
 * await notify({ ready: true, status: "Listening on :8080" });
 * ```
 */
export async function notify(
  state: NotifyFields | string,
  options: NotifyOptions = {},
): Promise<boolean> {
  const address = notifyAddress(options.unsetEnvironment === true);
  const fds = checkFds(options.fds);
  const timeoutMs = checkTimeout(options.timeoutMs);
  const fdCount = fds?.length ?? 0;
  if (address === null) {
    // Check everything, size included, even when nothing is sent, so mistakes
    // show in development and not first in production.
    encode(
      typeof state === "string"
        ? checkRawState(state)
        : encodeNotifyFields(state, { monotonicUsec: () => 0n, fdCount }),
    );
    return false;
  }
  const active = loadedSender() ?? await activeSender();
  const text = typeof state === "string"
    ? checkRawState(state)
    : encodeNotifyFields(state, { monotonicUsec: () => active.backend.monotonicUsec(), fdCount });
  // No await between filling the shared scratch buffer and handing it over.
  const length = encode(text);
  const queued = active.send(
    { address, payload: scratch, length, fds, credentials: options.credentials ?? null },
    timeoutMs,
  );
  if (queued !== undefined) await queued;
  if (typeof state !== "string" && state.watchdogUsec !== undefined) {
    watchdogIntervalSent(BigInt(state.watchdogUsec));
  }
  return true;
}

/**
 * Tells the service manager that start-up is finished (`READY=1`). Call it once
 * the service accepts work; with `Type=notify`, `systemctl start` waits for it.
 *
 * @param status optional `STATUS=` text sent in the same message
 * @returns true when sent, false when not under systemd
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Signal readiness after listening
 * ```ts
 * import { ready } from "@systemd-js/daemon";
 * await ready("Listening on :8080");
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function ready(status?: string): Promise<boolean> {
  // Not async: notify() is, so every error still rejects, one promise fewer.
  return notify(status === undefined ? { ready: true } : { ready: true, status });
}

/**
 * Tells the service manager that the service is reloading its configuration
 * (`RELOADING=1` with `MONOTONIC_USEC=` from CLOCK_MONOTONIC, as
 * `Type=notify-reload` requires). Call {@linkcode ready} when done.
 *
 * @param status optional `STATUS=` text
 * @returns true when sent, false when not under systemd
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Reload on SIGHUP
 * ```ts
 * import { ready, reloading } from "@systemd-js/daemon";
 * process.on("SIGHUP", async () => {
 *   await reloading();
 *   // … read the configuration again …
 *   await ready();
 * });
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function reloading(status?: string): Promise<boolean> {
  return notify(status === undefined ? { reloading: true } : { reloading: true, status });
}

/**
 * Tells the service manager that the service is shutting down (`STOPPING=1`).
 *
 * @param status optional `STATUS=` text
 * @returns true when sent, false when not under systemd
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Report shutdown on SIGTERM
 * ```ts
 * import { stopping } from "@systemd-js/daemon";
 * process.on("SIGTERM", async () => {
 *   await stopping("Draining connections");
 *   process.exit(0);
 * });
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function stopping(status?: string): Promise<boolean> {
  return notify(status === undefined ? { stopping: true } : { stopping: true, status });
}

/**
 * Sets the one-line status `systemctl status` shows (`STATUS=`).
 *
 * @param text one line of UTF-8 text (no newline)
 * @returns true when sent, false when not under systemd
 * @throws {TypeError} when `text` holds a newline or NUL
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Show progress
 * ```ts
 * import { status } from "@systemd-js/daemon";
 * await status("Migrating database: 40%");
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function status(text: string): Promise<boolean> {
  return notify({ status: text });
}

/**
 * Tells the service manager which process is the service's main process (`MAINPID=`).
 *
 * @param pid the main process's pid
 * @returns true when sent, false when not under systemd
 * @throws {RangeError} when `pid` is not a positive integer
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Hand over to a child
 * ```ts
 * import { mainPid } from "@systemd-js/daemon";
 * await mainPid(12345);
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function mainPid(pid: number): Promise<boolean> {
  return notify({ mainPid: pid });
}

/**
 * Asks for more time to start, reload or stop (`EXTEND_TIMEOUT_USEC=`): the
 * manager's timeout is pushed to `ms` from now. Repeat before it runs out.
 *
 * @param ms the time needed from now, in milliseconds
 * @returns true when sent, false when not under systemd
 * @throws {RangeError} when `ms` is negative or not finite
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Keep a slow start alive
 * ```ts
 * import { extendTimeout } from "@systemd-js/daemon";
 * await extendTimeout(30_000);
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export async function extendTimeout(ms: number): Promise<boolean> {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`Timeout must be a finite number of ms ≥ 0, got ${ms}`);
  }
  return notify({ extendTimeoutUsec: Math.round(ms * 1000) });
}

/**
 * Reports the errno the service failed with (`ERRNO=`), shown by `systemctl status`.
 *
 * @param code a non-negative errno number, such as 2 for ENOENT
 * @returns true when sent, false when not under systemd
 * @throws {RangeError} when `code` is negative
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Report a missing file
 * ```ts
 * import { errno } from "@systemd-js/daemon";
 * await errno(2);
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function errno(code: number): Promise<boolean> {
  return notify({ errno: code });
}

/**
 * Hands descriptors to the service manager's fd store (`FDSTORE=1`), so the
 * service gets them back through {@linkcode listenFds} after a restart. The unit
 * needs `FileDescriptorStoreMax=`.
 *
 * @param fds the descriptors to store (at most 253)
 * @param name the name they come back with (`FDNAME=`)
 * @param options `poll: false` sends `FDPOLL=0` (the manager then does not drop them on error)
 * @returns true when sent, false when not under systemd
 * @throws {TypeError} for an invalid name or no descriptors
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Keep a listening socket across restarts
 * ```ts
 * import { fdStore } from "@systemd-js/daemon";
 * await fdStore([3], "http");
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export async function fdStore(
  fds: readonly number[],
  name: string,
  options: { readonly poll?: boolean } = {},
): Promise<boolean> {
  const fields: NotifyFields = { fdStore: true, fdName: checkFdName(name) };
  if (options.poll === false) fields.fdPoll = false;
  return notify(fields, { fds });
}

/**
 * Removes the descriptors stored under `name` from the fd store (`FDSTOREREMOVE=1`).
 *
 * @param name the name they were stored with
 * @returns true when sent, false when not under systemd
 * @throws {TypeError} for an invalid name
 * @throws {SystemdError} as {@linkcode notify}
 *
 * @example Forget a stored socket
 * ```ts
 * import { fdStoreRemove } from "@systemd-js/daemon";
 * await fdStoreRemove("http");
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export async function fdStoreRemove(name: string): Promise<boolean> {
  return notify({ fdStoreRemove: true, fdName: checkFdName(name) });
}
