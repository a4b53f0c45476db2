/**
 * Linux errno numbers and their names, for the errors a daemon can meet while
 * talking to its service manager. Numbers are the same on x86-64 and aarch64.
 */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  10: "ECHILD",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  25: "ENOTTY",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  29: "ESPIPE",
  30: "EROFS",
  31: "EMLINK",
  32: "EPIPE",
  34: "ERANGE",
  35: "EDEADLK",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  71: "EPROTO",
  75: "EOVERFLOW",
  88: "ENOTSOCK",
  89: "EDESTADDRREQ",
  90: "EMSGSIZE",
  91: "EPROTOTYPE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  94: "ESOCKTNOSUPPORT",
  95: "EOPNOTSUPP",
  96: "EPFNOSUPPORT",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  102: "ENETRESET",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  106: "EISCONN",
  107: "ENOTCONN",
  108: "ESHUTDOWN",
  109: "ETOOMANYREFS",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  114: "EALREADY",
  115: "EINPROGRESS",
  125: "ECANCELED",
};

/**
 * The name of a Linux errno number, such as `"EAGAIN"` for 11.
 *
 * @param errno a positive errno number
 * @returns the symbolic name, or `"E<number>"` for a number not in the table
 *
 * @example Name an errno
 * ```ts
 * import { errnoName } from "@systemd-js/daemon";
 * console.log(errnoName(111)); // "ECONNREFUSED"
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/**
 * Options for {@linkcode SystemdError}.
 *
 * @example Raise a timeout the way this module does
 * ```ts
 * import { SystemdError, type SystemdErrorOptions } from "@systemd-js/daemon";
 * const options: SystemdErrorOptions = { code: "ETIMEDOUT", errno: 110, syscall: "barrier" };
 * throw new SystemdError("The service manager did not answer within 5000 ms", options);
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export interface SystemdErrorOptions {
  /** The errno name, such as `"ECONNREFUSED"`. */
  readonly code: string;
  /** The errno number (0 when the failure has no errno, such as a timeout in JavaScript). */
  readonly errno: number;
  /** The system call or step that failed, such as `"sendmsg"`. */
  readonly syscall: string;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/**
 * The one error class of this module: a failure of the operating system, or of
 * the service manager to answer, while talking to systemd. Bad arguments throw
 * `TypeError` or `RangeError` instead.
 *
 * @example Tell a refused connection from other failures
 * ```ts
 * import { ready, SystemdError } from "@systemd-js/daemon";
 * try {
 *   await ready();
 * } catch (error) {
 *   if (error instanceof SystemdError && error.code === "ECONNREFUSED") {
 *     console.error("the service manager is gone");
 *   } else {
 *     throw error;
 *   }
 * }
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html | sd_listen_fds(3)}
 */
export class SystemdError extends Error {
  /** The errno name, such as `"ECONNREFUSED"`. */
  readonly code: string;
  /** The errno number, or 0 when the failure has none. */
  readonly errno: number;
  /** The system call or step that failed, such as `"sendmsg"`. */
  readonly syscall: string;

  /**
   * Creates the error. Most callers want {@linkcode SystemdError.fromErrno}.
   *
   * @param message what failed, in sentence case, values quoted, no period
   * @param options the errno, its name, the failing call and the cause
   */
  constructor(message: string, options: SystemdErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SystemdError";
    this.code = options.code;
    this.errno = options.errno;
    this.syscall = options.syscall;
  }

  /**
   * Builds the error for a failed system call from its errno number.
   *
   * @param syscall the call that failed, such as `"sendmsg"`
   * @param errno the positive errno it reported
   * @param what what was being done, such as `'Sending to "/run/systemd/notify"'`
   * @returns the error, with a message like `sendmsg failed: ECONNREFUSED (111)`
   *
   * @example Wrap an errno
   * ```ts
   * import { SystemdError } from "@systemd-js/daemon";
   * const error = SystemdError.fromErrno("fcntl", 9, "Setting FD_CLOEXEC on fd 3");
   * console.log(error.code); // "EBADF"
   * ```
   */
  static fromErrno(syscall: string, errno: number, what?: string): SystemdError {
    const code = errnoName(errno);
    const prefix = what === undefined ? "" : `${what}: `;
    return new SystemdError(`${prefix}${syscall} failed with ${code} (${errno})`, {
      code,
      errno,
      syscall,
    });
  }
}
