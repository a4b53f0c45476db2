/**
 * The {@linkcode Backend} over libc, written once for every FFI runtime.
 *
 * `ffi/deno.ts` and `ffi/bun.ts` differ only in how they open libc and how
 * their FFI passes values (Deno: bigints for 64-bit integers, pointer objects;
 * Bun: numbers). Each adapts the functions of `symbols.ts` to
 * {@linkcode LibcCalls}, whose signatures are the same everywhere, and hands
 * them to {@linkcode createLibcBackend}, which holds all the logic: sendto or
 * sendmsg, errno, EINTR, short sends, the fd limit, poll's POLLNVAL.
 *
 * @module
 */

import type { Backend, Credentials, RawSocketDescription } from "../src/_backend.ts";
import { SystemdError } from "../src/errors.ts";
import {
  AF_UNIX,
  CallBuffers,
  CLOCK_MONOTONIC,
  directoryOpenFlags,
  EBADF,
  EINTR,
  EIO,
  EMSGSIZE,
  encodeCString,
  ENOTSOCK,
  F_GETFD,
  F_SETFD,
  FD_CLOEXEC,
  MessageBuffer,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SEND_FLAGS,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_TYPE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCKADDR_STORAGE_SIZE,
  SOL_SOCKET,
} from "./_structs.ts";

/**
 * The libc functions of `symbols.ts` with one JS signature for every runtime:
 * C integers and sizes (`int`, `socklen_t`, `size_t`, `ssize_t`, `nfds_t`) are
 * numbers, and pointers to memory we own are `Uint8Array`s whose address (byte
 * offset included) the runtime passes for the duration of the call. Each
 * function returns what the C function returns (-1 on failure, errno set).
 *
 * The functions are called detached (without `this`). Keep the adapters thin:
 * {@linkcode LibcCalls.sendto} is the hot path.
 */
export interface LibcCalls {
  /** `int socket(int domain, int type, int protocol)`. */
  socket(domain: number, type: number, protocol: number): number;
  /** `int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen)`. */
  connect(fd: number, address: Uint8Array, addressLength: number): number;
  /**
   * `ssize_t sendto(int sockfd, const void *buf, size_t len, int flags,
   * const struct sockaddr *dest_addr, socklen_t addrlen)`; a null address
   * (length 0) sends to the connected peer.
   */
  sendto(
    fd: number,
    buffer: Uint8Array,
    length: number,
    flags: number,
    address: Uint8Array | null,
    addressLength: number,
  ): number;
  /** `ssize_t sendmsg(int sockfd, const struct msghdr *msg, int flags)`. */
  sendmsg(fd: number, message: Uint8Array, flags: number): number;
  /** `int fcntl(int fd, int cmd, int arg)`. */
  fcntl(fd: number, command: number, argument: number): number;
  /** `int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen)`. */
  getsockopt(
    fd: number,
    level: number,
    option: number,
    value: Uint8Array,
    valueLength: Uint8Array,
  ): number;
  /** `int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen)`. */
  getsockname(fd: number, address: Uint8Array, addressLength: Uint8Array): number;
  /** `int clock_gettime(clockid_t clockid, struct timespec *tp)`. */
  clock_gettime(clock: number, timespec: Uint8Array): number;
  /** `int pipe2(int pipefd[2], int flags)`. */
  pipe2(fds: Uint8Array, flags: number): number;
  /** `int poll(struct pollfd *fds, nfds_t nfds, int timeout)`. */
  poll(fds: Uint8Array, count: number, timeout: number): number;
  /** `int close(int fd)`. */
  close(fd: number): number;
  /** `int open(const char *pathname, int flags, mode_t mode)`. */
  open(path: Uint8Array, flags: number, mode: number): number;
  /** The calling thread's `errno`, read right after a call returned -1. */
  errno(): number;
  /**
   * The address of `bytes` (which starts its own `ArrayBuffer`), for pointers
   * written into a `struct msghdr`.
   */
  addressOf(bytes: Uint8Array): bigint;
}

/** The C library file names tried in order: the versioned one, then the dev symlink. */
const LIBRARY_NAMES = ["libc.so.6", "libc.so"] as const;

/**
 * Opens libc with the runtime's `dlopen`, trying `libc.so.6` and then `libc.so`.
 *
 * @param open the runtime's dlopen of one file name; it throws when that fails
 * @param fatal maps an error of `open` to the error to throw at once instead of
 *   trying the next name (Deno: a missing permission), or returns undefined
 * @returns what `open` returned for the first name that loaded
 * @throws {SystemdError} with code `ENOENT` (the first failure as its `cause`)
 *   when no name loads, or the error `fatal` returned
 *
 * @example Open libc with bun:ffi
 * ```ts ignore
 * const symbols = openLibrary((name) => dlopen(name, definitions).symbols);
 * ```
 */
export function openLibrary<T>(
  open: (name: string) => T,
  fatal: (error: unknown) => Error | undefined = () => undefined,
): T {
  let failure: unknown;
  for (const name of LIBRARY_NAMES) {
    try {
      return open(name);
    } catch (error) {
      const stop = fatal(error);
      if (stop !== undefined) throw stop;
      failure ??= error;
    }
  }
  throw new SystemdError(`Cannot load the C library "${LIBRARY_NAMES[0]}"`, {
    code: "ENOENT",
    errno: 2,
    syscall: "dlopen",
    cause: failure,
  });
}

/**
 * Makes {@linkcode LibcCalls.errno} from what `__errno_location()` returned.
 *
 * errno is thread-local; every FFI call of a backend runs on the JS thread that
 * created it, so its errno lives at one fixed address that a plain memory load
 * reads.
 *
 * @param pointer the result of `__errno_location()` (null for NULL)
 * @param memory the runtime's view of the 4 bytes at `pointer`
 * @returns a function reading the current errno
 * @throws {SystemdError} with code `EIO` when `pointer` is null
 *
 * @example With bun:ffi
 * ```ts ignore
 * const errno = errnoReader(symbols.__errno_location(), (at) => toArrayBuffer(at, 0, 4));
 * ```
 */
export function errnoReader<P>(
  pointer: P | null,
  memory: (pointer: P) => ArrayBuffer,
): () => number {
  if (pointer === null) {
    throw new SystemdError("__errno_location returned NULL", {
      code: "EIO",
      errno: EIO,
      syscall: "__errno_location",
    });
  }
  const cell = new Int32Array(memory(pointer), 0, 1);
  return (): number => cell[0];
}

/**
 * Builds the {@linkcode Backend} over libc functions a runtime adapted.
 *
 * @param name the backend's name (`"deno"`, `"bun"`)
 * @param arch the CPU architecture as the runtime spells it (`"x86_64"`, `"x64"`,
 *   `"aarch64"`, `"arm64"`, …), which picks the `open` flags of `isDirectory`
 * @param libc the libc functions
 * @returns the backend; it preallocates every buffer its calls reuse
 *
 * @example Inside a runtime adapter
 * ```ts ignore
 * return createLibcBackend("bun", process.arch, calls);
 * ```
 */
export function createLibcBackend(name: string, arch: string, libc: LibcCalls): Backend {
  const {
    socket,
    connect,
    sendto,
    sendmsg,
    fcntl,
    getsockopt,
    getsockname,
    clock_gettime,
    pipe2,
    poll,
    close,
    open,
    errno: readErrno,
  } = libc;
  /** errno right after a call returned -1 (never 0, which would read as success). */
  const lastErrno = (): number => readErrno() || EIO;

  // Built on the first sendmsg (descriptors or credentials): READY=1 never needs it.
  let message: MessageBuffer | undefined;
  const buffers = new CallBuffers();
  const directoryFlags = directoryOpenFlags(arch);

  /** `poll()` of one fd for `events`: its revents, 0 when the time ran out. Retries on EINTR. */
  function pollOne(fd: number, events: number, timeoutMs: number): number {
    buffers.setPollfd(fd, events);
    let ready: number;
    while ((ready = poll(buffers.pollfd, 1, timeoutMs)) < 0) {
      const errno = lastErrno();
      if (errno !== EINTR) throw SystemdError.fromErrno("poll", errno);
    }
    if (ready === 0) return 0;
    const revents = buffers.getRevents();
    // poll reports a closed fd in revents instead of failing: say so as EBADF.
    if ((revents & POLLNVAL) !== 0) throw SystemdError.fromErrno("poll", EBADF);
    return revents;
  }

  function socketOption(fd: number, option: number): number {
    buffers.setSocklen(4);
    if (getsockopt(fd, SOL_SOCKET, option, buffers.int, buffers.socklen) < 0) return -lastErrno();
    return buffers.getInt();
  }

  return {
    name,

    openDatagramSocket(): number {
      const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) throw SystemdError.fromErrno("socket", lastErrno());
      return fd;
    },

    connect(fd: number, address: Uint8Array): number {
      let result: number;
      do result = connect(fd, address, address.byteLength); while (
        result < 0 && readErrno() === EINTR
      );
      return result < 0 ? lastErrno() : 0;
    },

    send(
      fd: number,
      address: Uint8Array | null,
      payload: Uint8Array,
      length: number,
      fds: readonly number[] | null,
      credentials: Credentials | null,
    ): number {
      if (length >>> 0 !== length || length > payload.byteLength) {
        throw new RangeError(`Payload length "${length}" is out of range`);
      }
      if (credentials === null && (fds === null || fds.length === 0)) {
        // Hot path: no struct at all; the runtime passes the views' addresses for the call.
        const sent = sendto(fd, payload, length, SEND_FLAGS, address, address?.byteLength ?? 0);
        if (sent === length) return 0;
        return sent < 0 ? lastErrno() : EMSGSIZE;
      }
      message ??= new MessageBuffer(libc.addressOf);
      const invalid = message.build(address, payload, length, fds, credentials);
      if (invalid !== 0) return invalid;
      const sent = sendmsg(fd, message.bytes, SEND_FLAGS);
      if (sent === length) return 0;
      return sent < 0 ? lastErrno() : EMSGSIZE;
    },

    setCloexec(fd: number): void {
      const flags = fcntl(fd, F_GETFD, 0);
      if (flags < 0) throw SystemdError.fromErrno("fcntl", lastErrno());
      if ((flags & FD_CLOEXEC) !== 0) return;
      if (fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
        throw SystemdError.fromErrno("fcntl", lastErrno());
      }
    },

    describeSocket(fd: number): RawSocketDescription | null {
      const domain = socketOption(fd, SO_DOMAIN);
      if (domain === -ENOTSOCK) return null;
      if (domain < 0) throw SystemdError.fromErrno("getsockopt", -domain);
      const type = socketOption(fd, SO_TYPE);
      if (type < 0) throw SystemdError.fromErrno("getsockopt", -type);
      const listening = socketOption(fd, SO_ACCEPTCONN);
      if (listening < 0) throw SystemdError.fromErrno("getsockopt", -listening);
      buffers.setSocklen(SOCKADDR_STORAGE_SIZE);
      if (getsockname(fd, buffers.sockaddr, buffers.socklen) < 0) {
        throw SystemdError.fromErrno("getsockname", lastErrno());
      }
      const localAddress = buffers.copySockaddr(buffers.getSocklen());
      return { domain, type, listening: listening !== 0, localAddress };
    },

    monotonicUsec(): bigint {
      if (clock_gettime(CLOCK_MONOTONIC, buffers.timespec) < 0) {
        throw SystemdError.fromErrno("clock_gettime", lastErrno());
      }
      return buffers.getTimespecUsec();
    },

    pipe(): [number, number] {
      if (pipe2(buffers.pipeFds, O_CLOEXEC | O_NONBLOCK) < 0) {
        throw SystemdError.fromErrno("pipe2", lastErrno());
      }
      return buffers.getPipeFds();
    },

    pollHangup(fd: number): boolean {
      return (pollOne(fd, POLLIN, 0) & (POLLHUP | POLLERR)) !== 0;
    },

    waitWritable(fd: number, timeoutMs: number): boolean {
      return (pollOne(fd, POLLOUT, timeoutMs) & POLLOUT) !== 0;
    },

    close(fd: number): void {
      // On Linux the fd is gone even when close reports EINTR: not a failure.
      if (close(fd) < 0) {
        const errno = lastErrno();
        if (errno !== EINTR) throw SystemdError.fromErrno("close", errno);
      }
    },

    isDirectory(path: string): boolean {
      if (directoryFlags === undefined) return false;
      const cPath = encodeCString(path);
      if (cPath === null) return false;
      const fd = open(cPath, directoryFlags, 0);
      if (fd < 0) return false;
      close(fd);
      return true;
    },
  };
}
