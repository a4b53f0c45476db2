/**
 * The libc functions both FFI backends load, as ONE neutral table.
 *
 * Each entry names a real libc symbol (bun:ffi looks symbols up by key, so the
 * keys must be the C names) with its parameter and result types, spelled with
 * Deno's FFI type names. `ffi/deno.ts` hands the table to `Deno.dlopen` as is;
 * `ffi/bun.ts` translates every type to a bun:ffi `FFIType`. The C signature is
 * written next to every argument.
 *
 * Type names used:
 * - `"i32"`, `"u32"`: C `int`, `unsigned int`, `socklen_t`, `clockid_t`, `mode_t`.
 * - `"usize"`, `"isize"`: C `size_t`, `ssize_t`, `nfds_t` (64-bit on LP64 Linux).
 * - `"buffer"`: a pointer to memory the caller owns, passed as a `Uint8Array`
 *   (the runtime takes the address, byte offset included, for the call only),
 *   or `null` for NULL.
 * - `"pointer"`: an address that is not ours (only `__errno_location` returns one).
 *
 * Two of the functions are variadic in C (`fcntl`, `open`). On x86-64 and on
 * aarch64 Linux (AAPCS64, unlike Apple's arm64 ABI) integer variadic arguments
 * travel in the same registers as fixed ones, so declaring the one optional
 * argument we pass as a fixed `int` is ABI-correct on both.
 *
 * Raw symbols never leave `ffi/`: the rest of the module sees only the
 * `Backend` interface of `src/_backend.ts`.
 *
 * @module
 */

/** An FFI type name both backends understand (Deno's spelling). */
export type NativeType = "i32" | "u32" | "usize" | "isize" | "pointer" | "buffer";

/** One libc function: its parameter types, in order, and its result type. */
export interface SymbolDefinition {
  /** The C parameters, in order. */
  readonly parameters: readonly NativeType[];
  /** The C result. */
  readonly result: NativeType;
}

// Functions both tables below call, defined once. The tables name them as
// `FCNTL as typeof FCNTL`: isolatedDeclarations needs a property's type spelled out.

// int fcntl(int fd, int cmd, ... /* int arg */);
const FCNTL = {
  parameters: [
    "i32", // int fd
    "i32", // int cmd: F_GETFD, F_SETFD, F_GETFL or F_SETFL
    "i32", // int arg (variadic in C, same registers on x86-64 and aarch64 Linux): new flags, else 0
  ],
  result: "i32", // the flags (F_GETFD, F_GETFL), 0 (F_SETFD, F_SETFL), or -1
} as const;

// int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);
const GETSOCKOPT = {
  parameters: [
    "i32", // int sockfd
    "i32", // int level: SOL_SOCKET
    "i32", // int optname: SO_DOMAIN, SO_TYPE or SO_ACCEPTCONN
    "buffer", // void *optval: an int
    "buffer", // socklen_t *optlen: in: sizeof(int); out: bytes written
  ],
  result: "i32", // 0, or -1
} as const;

// int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
const GETSOCKNAME = {
  parameters: [
    "i32", // int sockfd
    "buffer", // struct sockaddr *addr: 128 bytes (sizeof(struct sockaddr_storage))
    "buffer", // socklen_t *addrlen: in: buffer size; out: the address's real length
  ],
  result: "i32", // 0, or -1
} as const;

// int close(int fd);
const CLOSE = {
  parameters: [
    "i32", // int fd
  ],
  result: "i32", // 0, or -1
} as const;

// int open(const char *pathname, int flags, ... /* mode_t mode */);
const OPEN = {
  parameters: [
    "buffer", // const char *pathname: NUL-terminated UTF-8
    "i32", // int flags: O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, or O_RDONLY | O_CLOEXEC
    "u32", // mode_t mode (variadic in C): 0, unused without O_CREAT
  ],
  result: "i32", // the new fd, or -1
} as const;

// int *__errno_location(void);
const ERRNO_LOCATION = {
  parameters: [],
  result: "pointer", // the calling thread's errno
} as const;

/**
 * The libc functions the backends call, keyed by their C names.
 *
 * Every function reports failure by returning -1 and setting `errno`, which the
 * backends read through `__errno_location()` right after the failing call.
 */
export const LIBC_SYMBOLS = {
  // int socket(int domain, int type, int protocol);
  socket: {
    parameters: [
      "i32", // int domain: AF_UNIX
      "i32", // int type: SOCK_DGRAM | SOCK_CLOEXEC
      "i32", // int protocol: 0
    ],
    result: "i32", // the new fd, or -1
  },
  // int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
  connect: {
    parameters: [
      "i32", // int sockfd
      "buffer", // const struct sockaddr *addr: raw sockaddr bytes
      "u32", // socklen_t addrlen
    ],
    result: "i32", // 0, or -1
  },
  // ssize_t sendto(int sockfd, const void *buf, size_t len, int flags,
  //                const struct sockaddr *dest_addr, socklen_t addrlen);
  sendto: {
    parameters: [
      "i32", // int sockfd
      "buffer", // const void *buf: the payload
      "usize", // size_t len
      "i32", // int flags: MSG_NOSIGNAL | MSG_DONTWAIT
      "buffer", // const struct sockaddr *dest_addr: raw sockaddr bytes, or NULL for the connected peer
      "u32", // socklen_t addrlen: 0 with NULL
    ],
    result: "isize", // bytes queued, or -1
  },
  // ssize_t sendmsg(int sockfd, const struct msghdr *msg, int flags);
  sendmsg: {
    parameters: [
      "i32", // int sockfd
      "buffer", // const struct msghdr *msg (see _structs.ts)
      "i32", // int flags: MSG_NOSIGNAL | MSG_DONTWAIT
    ],
    result: "isize", // bytes queued, or -1
  },
  fcntl: FCNTL as typeof FCNTL,
  getsockopt: GETSOCKOPT as typeof GETSOCKOPT,
  getsockname: GETSOCKNAME as typeof GETSOCKNAME,
  // int clock_gettime(clockid_t clockid, struct timespec *tp);
  clock_gettime: {
    parameters: [
      "i32", // clockid_t clockid: CLOCK_MONOTONIC
      "buffer", // struct timespec *tp
    ],
    result: "i32", // 0, or -1
  },
  // int pipe2(int pipefd[2], int flags);
  pipe2: {
    parameters: [
      "buffer", // int pipefd[2]: out: [read end, write end]
      "i32", // int flags: O_CLOEXEC | O_NONBLOCK
    ],
    result: "i32", // 0, or -1
  },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);
  poll: {
    parameters: [
      "buffer", // struct pollfd *fds
      "usize", // nfds_t nfds (unsigned long)
      "i32", // int timeout: milliseconds, 0 = do not wait
    ],
    result: "i32", // number of fds with events, 0 on timeout, or -1
  },
  close: CLOSE as typeof CLOSE,
  open: OPEN as typeof OPEN,
  __errno_location: ERRNO_LOCATION as typeof ERRNO_LOCATION,
} as const;

/** Accepts only a table whose every entry is a {@linkcode SymbolDefinition} (a compile-time check). */
export type CheckedTable<T extends Readonly<Record<string, SymbolDefinition>>> = T;

/**
 * The shape of {@linkcode LIBC_SYMBOLS}: libc function names mapped to their
 * types (checked at compile time against {@linkcode SymbolDefinition}).
 */
export type LibcSymbols = CheckedTable<typeof LIBC_SYMBOLS>;

/**
 * How one runtime's FFI represents every {@linkcode NativeType} in JS, as
 * arguments or as results (Deno: `usize` is a `bigint`; Bun: a `number`).
 */
export type NativeValues = { readonly [T in NativeType]: unknown };

/**
 * One entry of a symbol table (such as {@linkcode LIBC_SYMBOLS}) as a JS
 * function, given how the runtime passes `Arguments` and returns `Results`.
 */
export type NativeFunction<D, Arguments extends NativeValues, Results extends NativeValues> =
  D extends {
    readonly parameters: infer P extends readonly NativeType[];
    readonly result: infer R extends NativeType;
  } ? (...args: { -readonly [I in keyof P]: Arguments[P[I]] }) => Results[R]
    : never;

/**
 * The functions of {@linkcode LIBC_SYMBOLS} as a runtime's `dlopen` exposes
 * them, given how it passes `Arguments` and returns `Results`.
 */
export type NativeLibrary<
  Arguments extends NativeValues,
  Results extends NativeValues = Arguments,
> = { readonly [K in keyof LibcSymbols]: NativeFunction<LibcSymbols[K], Arguments, Results> };

// ---------------------------------------------------------------------------
// Socket adoption (`_adopt.ts`: serving Deno.serve / Bun.serve on an inherited
// socket). A second table of the same kind, opened only when a server adopts a
// socket, so the notification backends load nothing more.

/**
 * The libc functions socket adoption calls, keyed by their C names. Each
 * reports failure by returning -1 and setting errno.
 */
export const ADOPT_SYMBOLS = {
  fcntl: FCNTL as typeof FCNTL,
  getsockopt: GETSOCKOPT as typeof GETSOCKOPT,
  getsockname: GETSOCKNAME as typeof GETSOCKNAME,
  open: OPEN as typeof OPEN,
  // ssize_t read(int fd, void *buf, size_t count);
  read: {
    parameters: [
      "i32", // int fd
      "buffer", // void *buf
      "usize", // size_t count
    ],
    result: "isize", // bytes read, 0 at the end, or -1
  },
  // ssize_t getdents64(int fd, void *dirp, size_t count);  (glibc >= 2.30)
  getdents64: {
    parameters: [
      "i32", // int fd: an open directory
      "buffer", // void *dirp: struct linux_dirent64 records
      "usize", // size_t count
    ],
    result: "isize", // bytes written, 0 at the end, or -1
  },
  // ssize_t readlink(const char *pathname, char *buf, size_t bufsiz);
  readlink: {
    parameters: [
      "buffer", // const char *pathname: NUL-terminated
      "buffer", // char *buf: not NUL-terminated on return
      "usize", // size_t bufsiz
    ],
    result: "isize", // bytes written, or -1
  },
  // int dup3(int oldfd, int newfd, int flags);
  dup3: {
    parameters: [
      "i32", // int oldfd: the inherited socket
      "i32", // int newfd: the runtime's listener fd number
      "i32", // int flags: O_CLOEXEC
    ],
    result: "i32", // newfd, or -1
  },
  // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
  epoll_ctl: {
    parameters: [
      "i32", // int epfd
      "i32", // int op: EPOLL_CTL_ADD
      "i32", // int fd
      "buffer", // struct epoll_event *event: 12 bytes packed (x86-64) or 16 (aarch64)
    ],
    result: "i32", // 0, or -1
  },
  // int mkdir(const char *pathname, mode_t mode);
  mkdir: {
    parameters: [
      "buffer", // const char *pathname: NUL-terminated
      "u32", // mode_t mode: 0700
    ],
    result: "i32", // 0, or -1
  },
  // int unlink(const char *pathname);
  unlink: {
    parameters: [
      "buffer", // const char *pathname: NUL-terminated
    ],
    result: "i32", // 0, or -1
  },
  // int rmdir(const char *pathname);
  rmdir: {
    parameters: [
      "buffer", // const char *pathname: NUL-terminated
    ],
    result: "i32", // 0, or -1
  },
  close: CLOSE as typeof CLOSE,
  __errno_location: ERRNO_LOCATION as typeof ERRNO_LOCATION,
} as const;

/** The shape of {@linkcode ADOPT_SYMBOLS}, checked against `SymbolDefinition`. */
export type AdoptSymbols = CheckedTable<typeof ADOPT_SYMBOLS>;

/** The functions of {@linkcode ADOPT_SYMBOLS} as a runtime's `dlopen` exposes them. */
export type AdoptLibrary<Arguments extends NativeValues, Results extends NativeValues = Arguments> =
  {
    readonly [K in keyof AdoptSymbols]: NativeFunction<AdoptSymbols[K], Arguments, Results>;
  };
