/**
 * The one interface between the runtime-neutral protocol code in `src/` and
 * libc. Each runtime implements it once under `ffi/` (Deno: `Deno.dlopen`,
 * Bun: `bun:ffi`, Node: the N-API addon). Nothing here is public API.
 *
 * Conventions shared by every backend:
 * - The hot path ({@linkcode Backend.send}) reports failure as a positive errno
 *   number, never by throwing, because EAGAIN is an expected outcome.
 * - Every other method throws a {@linkcode SystemdError} built from the errno.
 * - Addresses are raw `struct sockaddr` bytes, exactly as the kernel wants them
 *   (see `src/notify_socket.ts`), so backends never interpret strings.
 *
 * @module
 */

/**
 * Credentials attached as SCM_CREDENTIALS when sending on behalf of another process.
 *
 * @example Notify on behalf of a worker process (needs privileges)
 * ```ts
 * import { type Credentials, notify } from "@systemd-js/daemon";
 * const credentials: Credentials = { pid: 4321, uid: 0, gid: 0 };
 * await notify({ ready: true }, { credentials });
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export interface Credentials {
  /** Process id to claim. */
  readonly pid: number;
  /** User id to claim. */
  readonly uid: number;
  /** Group id to claim. */
  readonly gid: number;
}

/** What `getsockopt` and `getsockname` tell about a descriptor that is a socket. */
export interface RawSocketDescription {
  /** `SO_DOMAIN`: AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_VSOCK = 40, … */
  readonly domain: number;
  /** `SO_TYPE`: SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_SEQPACKET = 5, … */
  readonly type: number;
  /** `SO_ACCEPTCONN`: true for a listening socket. */
  readonly listening: boolean;
  /** The bytes `getsockname` wrote, truncated to the length it returned. */
  readonly localAddress: Uint8Array;
}

/** The libc operations the protocol code needs, implemented once per runtime. */
export interface Backend {
  /** Which implementation this is: `"deno"`, `"bun"` or `"node"`. */
  readonly name: string;

  /**
   * `socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)`.
   * @returns the new descriptor
   * @throws {SystemdError} with the errno of `socket`
   */
  openDatagramSocket(): number;

  /**
   * `connect(socket, address)`: fixes the peer of a datagram socket, so sends
   * without an address skip the kernel's lookup of the socket path (about half
   * the cost of a `sendto` to a path). Calling it again re-targets the socket.
   * @returns 0, otherwise the errno (e.g. 2 for ENOENT, 111 for ECONNREFUSED)
   */
  connect(socket: number, address: Uint8Array): number;

  /**
   * `sendmsg(socket, msg, MSG_NOSIGNAL | MSG_DONTWAIT)` of `payload[0..length)` to
   * `address` (raw sockaddr bytes; its byte length is the address length), or
   * to the connected peer when `address` is null.
   * With `fds`, one SCM_RIGHTS control message carries them; with `credentials`,
   * one SCM_CREDENTIALS control message follows. Never blocks.
   * @returns 0 when the whole datagram was queued, otherwise the errno (e.g. 11 for EAGAIN)
   */
  send(
    socket: number,
    address: Uint8Array | null,
    payload: Uint8Array,
    length: number,
    fds: readonly number[] | null,
    credentials: Credentials | null,
  ): number;

  /**
   * Sets FD_CLOEXEC on `fd` (`fcntl(F_GETFD)` then `fcntl(F_SETFD)`).
   * @throws {SystemdError} with the errno of `fcntl` (EBADF for a closed fd)
   */
  setCloexec(fd: number): void;

  /**
   * Describes `fd` with `getsockopt(SO_DOMAIN, SO_TYPE, SO_ACCEPTCONN)` and `getsockname`.
   * @returns null when `fd` is open but not a socket (ENOTSOCK)
   * @throws {SystemdError} for any other failure (EBADF, …)
   */
  describeSocket(fd: number): RawSocketDescription | null;

  /** `clock_gettime(CLOCK_MONOTONIC)` in microseconds. */
  monotonicUsec(): bigint;

  /**
   * `pipe2(O_CLOEXEC | O_NONBLOCK)`.
   * @returns `[readEnd, writeEnd]`
   * @throws {SystemdError} with the errno of `pipe2`
   */
  pipe(): [number, number];

  /**
   * `poll({fd, events: POLLIN}, 1, 0)`: never waits.
   * @returns true when the peer hung up (POLLHUP or POLLERR is set)
   * @throws {SystemdError} with the errno of `poll`
   */
  pollHangup(fd: number): boolean;

  /**
   * `poll({fd, events: POLLOUT}, 1, timeoutMs)`: blocks the thread for at most
   * `timeoutMs` until a send on `fd` would not fail with EAGAIN. On a connected
   * datagram socket that is when the peer's queue has room: the kernel wakes
   * the caller as soon as the peer reads.
   * @returns true when `fd` is writable, false when the time ran out
   * @throws {SystemdError} with the errno of `poll` (EBADF for a closed fd)
   */
  waitWritable(fd: number, timeoutMs: number): boolean;

  /**
   * `close(fd)`.
   * @throws {SystemdError} with the errno of `close`
   */
  close(fd: number): void;

  /** True when `path` exists and is a directory (`lstat`); false on any error. */
  isDirectory(path: string): boolean;
}
