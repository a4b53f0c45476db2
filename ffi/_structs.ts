/**
 * Linux constants, C struct layouts and byte builders shared by the Deno and
 * Bun backends. Runtime-neutral: plain `ArrayBuffer`/`DataView`, pointers as
 * `bigint`; each backend only supplies the function that tells the address of
 * a buffer it allocated.
 *
 * Every number below was checked against the headers of Debian 12 x86-64
 * (`/usr/include/x86_64-linux-gnu/bits/*.h`, `/usr/include/asm-generic/*.h`)
 * and, for layouts, against `sizeof`/`offsetof` from a C program.
 *
 * Architectures: x86-64 and aarch64 are both LP64 with natural alignment, so
 * every struct here (msghdr, iovec, cmsghdr, ucred, pollfd, timespec) has the
 * same size and offsets on both, and so do the socket, fcntl, poll and clock
 * constants. The one difference that matters to us is in the `open` flags:
 * arm64 defines its own `O_DIRECTORY` and `O_NOFOLLOW`
 * (`arch/arm64/include/uapi/asm/fcntl.h`), see {@linkcode directoryOpenFlags}.
 * 32-bit ABIs would differ everywhere; Deno and Bun ship no 32-bit Linux builds.
 *
 * @module
 */

import type { Credentials } from "../src/_backend.ts";

// ---------------------------------------------------------------------------
// Constants (<bits/socket.h>, <bits/socket_type.h>, <asm-generic/socket.h>,
// <bits/fcntl-linux.h>, <bits/poll.h>, <linux/time.h>, <errno.h>)

/** `AF_UNIX` (= `PF_LOCAL`), <bits/socket.h>. */
export const AF_UNIX: number = 1;
/** `SOCK_DGRAM`, <bits/socket_type.h>. */
export const SOCK_DGRAM: number = 2;
/** `SOCK_CLOEXEC` (= `O_CLOEXEC`), <bits/socket_type.h>. */
export const SOCK_CLOEXEC: number = 0o2000000;
/** `MSG_DONTWAIT`: do not block on a full queue, <bits/socket.h>. */
export const MSG_DONTWAIT: number = 0x40;
/** `MSG_NOSIGNAL`: EPIPE instead of SIGPIPE, <bits/socket.h>. */
export const MSG_NOSIGNAL: number = 0x4000;
/** `SOL_SOCKET`, <asm-generic/socket.h>. */
export const SOL_SOCKET: number = 1;
/** `SO_TYPE`, <asm-generic/socket.h>. */
export const SO_TYPE: number = 3;
/** `SO_ACCEPTCONN`, <asm-generic/socket.h>. */
export const SO_ACCEPTCONN: number = 30;
/** `SO_DOMAIN`, <asm-generic/socket.h>. */
export const SO_DOMAIN: number = 39;
/** `SCM_RIGHTS`: a control message carrying fds, <bits/socket.h>. */
export const SCM_RIGHTS: number = 1;
/** `SCM_CREDENTIALS`: a control message carrying a `struct ucred`, <bits/socket.h>. */
export const SCM_CREDENTIALS: number = 2;
/** `SCM_MAX_FD`: the kernel refuses more fds in one message (include/net/scm.h). */
export const SCM_MAX_FD: number = 253;
/** `F_GETFD`, <bits/fcntl-linux.h>. */
export const F_GETFD: number = 1;
/** `F_SETFD`, <bits/fcntl-linux.h>. */
export const F_SETFD: number = 2;
/** `FD_CLOEXEC`, <bits/fcntl-linux.h>. */
export const FD_CLOEXEC: number = 1;
/** `O_CLOEXEC`, <bits/fcntl-linux.h> (same on x86-64 and aarch64). */
export const O_CLOEXEC: number = 0o2000000;
/** `O_NONBLOCK`, <bits/fcntl-linux.h> (same on x86-64 and aarch64). */
export const O_NONBLOCK: number = 0o4000;
/** `O_PATH`: resolve the path without opening the file for I/O (same on x86-64 and aarch64). */
export const O_PATH: number = 0o10000000;
/** `POLLIN`, <bits/poll.h>. */
export const POLLIN: number = 0x1;
/** `POLLOUT`, <bits/poll.h>. */
export const POLLOUT: number = 0x4;
/** `POLLERR`, <bits/poll.h>. */
export const POLLERR: number = 0x8;
/** `POLLHUP`, <bits/poll.h>. */
export const POLLHUP: number = 0x10;
/** `POLLNVAL`: the polled fd is not open, <bits/poll.h>. */
export const POLLNVAL: number = 0x20;
/** `CLOCK_MONOTONIC`, <linux/time.h>. */
export const CLOCK_MONOTONIC: number = 1;
/** `MSG_NOSIGNAL | MSG_DONTWAIT`: the flags of every notification send. */
export const SEND_FLAGS: number = MSG_NOSIGNAL | MSG_DONTWAIT;

/** `EBADF`. */
export const EBADF: number = 9;
/** `EINTR`. */
export const EINTR: number = 4;
/** `EIO`: reported when a call failed but errno reads 0 (it should not happen). */
export const EIO: number = 5;
/** `EINVAL`: what the kernel answers to too many fds or an oversized address. */
export const EINVAL: number = 22;
/** `ENOTSOCK`. */
export const ENOTSOCK: number = 88;
/** `EMSGSIZE`: also our answer to a short datagram send. */
export const EMSGSIZE: number = 90;

/**
 * `O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC` for the CPU architecture,
 * spelled as Deno (`"x86_64"`, `"aarch64"`) or Node and Bun (`"x64"`, `"arm64"`)
 * spell it. Opening a path with these flags succeeds exactly when `lstat` would
 * report a directory: no read permission on it is needed (`O_PATH`), and a
 * symbolic link is refused (`O_NOFOLLOW` + `O_DIRECTORY` gives ENOTDIR).
 *
 * @param arch the architecture name
 * @returns the flags, or undefined for an architecture whose values we do not know
 */
export function directoryOpenFlags(arch: string): number | undefined {
  switch (arch) {
    case "x86_64":
    case "x64":
    case "riscv64":
    case "s390x":
    case "loongarch64":
      // asm-generic: O_DIRECTORY 0200000, O_NOFOLLOW 0400000
      return O_PATH | 0o200000 | 0o400000 | O_CLOEXEC;
    case "aarch64":
    case "arm64":
      // arch/arm64/include/uapi/asm/fcntl.h: O_DIRECTORY 040000, O_NOFOLLOW 0100000
      return O_PATH | 0o40000 | 0o100000 | O_CLOEXEC;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------
// Layouts (LP64 Linux; identical on x86-64 and aarch64)

/** `struct msghdr` (56 bytes): field offsets and total size. */
export const MSGHDR: Readonly<{
  name: number;
  namelen: number;
  iov: number;
  iovlen: number;
  control: number;
  controllen: number;
  flags: number;
  size: number;
}> = {
  name: 0, // void *msg_name
  namelen: 8, // socklen_t msg_namelen (u32), then 4 bytes of padding
  iov: 16, // struct iovec *msg_iov
  iovlen: 24, // size_t msg_iovlen
  control: 32, // void *msg_control
  controllen: 40, // size_t msg_controllen
  flags: 48, // int msg_flags, then 4 bytes of padding
  size: 56,
};

/** `struct iovec` (16 bytes). */
export const IOVEC: Readonly<{ base: number; len: number; size: number }> = {
  base: 0, // void *iov_base
  len: 8, // size_t iov_len
  size: 16,
};

/** `struct cmsghdr` (16 bytes, followed by the data at CMSG_DATA = +16). */
export const CMSGHDR: Readonly<{ len: number; level: number; type: number; size: number }> = {
  len: 0, // size_t cmsg_len: CMSG_LEN(data length)
  level: 8, // int cmsg_level
  type: 12, // int cmsg_type
  size: 16,
};

/** `struct ucred` (12 bytes: three 32-bit fields). */
export const UCRED: Readonly<{ pid: number; uid: number; gid: number; size: number }> = {
  pid: 0, // pid_t pid (i32)
  uid: 4, // uid_t uid (u32)
  gid: 8, // gid_t gid (u32)
  size: 12,
};

/** `struct pollfd` (8 bytes). */
export const POLLFD: Readonly<{ fd: number; events: number; revents: number; size: number }> = {
  fd: 0, // int fd
  events: 4, // short events
  revents: 6, // short revents
  size: 8,
};

/** `struct timespec` (16 bytes). */
export const TIMESPEC: Readonly<{ sec: number; nsec: number; size: number }> = {
  sec: 0, // time_t tv_sec (i64)
  nsec: 8, // long tv_nsec (i64)
  size: 16,
};

/** `sizeof(struct sockaddr_storage)`: the largest address the kernel accepts. */
export const SOCKADDR_STORAGE_SIZE: number = 128;

/** `CMSG_ALIGN(length)`: rounds up to `sizeof(size_t)` (8). */
export function cmsgAlign(length: number): number {
  return (length + 7) & ~7;
}

/** `CMSG_LEN(length)`: the `cmsg_len` of a control message with `length` data bytes. */
export function cmsgLen(length: number): number {
  return CMSGHDR.size + length;
}

/** `CMSG_SPACE(length)`: the bytes a control message with `length` data bytes occupies. */
export function cmsgSpace(length: number): number {
  return CMSGHDR.size + cmsgAlign(length);
}

// ---------------------------------------------------------------------------
// The sendmsg area

// One ArrayBuffer holds, at fixed offsets, everything `sendmsg` reads:
//   msghdr | iovec | control (SCM_RIGHTS for 253 fds + SCM_CREDENTIALS) | name | payload
// Its backing store never moves (an ArrayBuffer's memory is off the JS heap in
// V8 and in JavaScriptCore), so the pointers written into the msghdr and the
// iovec once stay valid. The caller's address and payload bytes are COPIED into
// it: a small Uint8Array can live on the JS heap, where a garbage collection
// between taking its address and the call could move it.
const IOV_OFFSET = MSGHDR.size; // 56
const CONTROL_OFFSET = IOV_OFFSET + IOVEC.size; // 72, 8-aligned as cmsghdr needs
const CONTROL_SIZE = cmsgSpace(4 * SCM_MAX_FD) + cmsgSpace(UCRED.size); // 1032 + 32
const NAME_OFFSET = CONTROL_OFFSET + CONTROL_SIZE; // 1136
const PAYLOAD_OFFSET = NAME_OFFSET + SOCKADDR_STORAGE_SIZE; // 1264
const INITIAL_PAYLOAD_CAPACITY = 4096; // the largest datagram the manager accepts

/**
 * A preallocated `struct msghdr` with its iovec, control buffer, address and
 * payload, for `sendmsg` with fds and/or credentials. Building a message
 * allocates nothing unless the payload outgrows the area (then it grows once).
 */
export class MessageBuffer {
  #addressOf: (bytes: Uint8Array) => bigint;
  #bytes: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(this.#bytes.buffer);
  #capacity = 0;

  /**
   * Allocates the area and writes the pointers that never change.
   *
   * @param addressOf tells the address of a buffer this class allocated (the
   *   runtime's "pointer of a typed array")
   */
  constructor(addressOf: (bytes: Uint8Array) => bigint) {
    this.#addressOf = addressOf;
    this.#allocate(INITIAL_PAYLOAD_CAPACITY);
  }

  /** The area; pass it to `sendmsg` as the `struct msghdr *` (the msghdr is at offset 0). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  #allocate(capacity: number): void {
    const bytes = new Uint8Array(new ArrayBuffer(PAYLOAD_OFFSET + capacity));
    const view = new DataView(bytes.buffer);
    const base = this.#addressOf(bytes);
    if (base % 8n !== 0n) throw new Error(`The message buffer at "${base}" is not 8-byte aligned`);
    view.setBigUint64(MSGHDR.name, base + BigInt(NAME_OFFSET), true);
    view.setBigUint64(MSGHDR.iov, base + BigInt(IOV_OFFSET), true);
    view.setBigUint64(MSGHDR.iovlen, 1n, true);
    view.setBigUint64(MSGHDR.control, base + BigInt(CONTROL_OFFSET), true);
    view.setBigUint64(IOV_OFFSET + IOVEC.base, base + BigInt(PAYLOAD_OFFSET), true);
    this.#bytes = bytes;
    this.#view = view;
    this.#capacity = capacity;
  }

  /**
   * Fills the message: destination `address` (raw sockaddr bytes), the first
   * `length` bytes of `payload`, one SCM_RIGHTS control message with `fds` when
   * there are any, then one SCM_CREDENTIALS control message with `credentials`.
   *
   * @param address raw `struct sockaddr` bytes, or null for the connected peer
   * @param payload the datagram; the caller has checked `length <= payload.byteLength`
   * @param length how many bytes of `payload` to send
   * @param fds descriptors to pass, or null
   * @param credentials credentials to claim, or null
   * @returns 0 when the message is ready, or EINVAL (what the kernel would answer)
   *   for more than 253 fds or an address longer than 128 bytes
   */
  build(
    address: Uint8Array | null,
    payload: Uint8Array,
    length: number,
    fds: readonly number[] | null,
    credentials: Credentials | null,
  ): number {
    const fdCount = fds === null ? 0 : fds.length;
    const addressLength = address === null ? 0 : address.byteLength;
    if (fdCount > SCM_MAX_FD || addressLength > SOCKADDR_STORAGE_SIZE) return EINVAL;
    if (length > this.#capacity) this.#allocate(Math.max(length, 2 * this.#capacity));
    const bytes = this.#bytes;
    const view = this.#view;

    // A zero msg_namelen sends to the connected peer (the kernel ignores msg_name then).
    if (address !== null) bytes.set(address, NAME_OFFSET);
    view.setUint32(MSGHDR.namelen, addressLength, true);
    bytes.set(
      length === payload.byteLength ? payload : payload.subarray(0, length),
      PAYLOAD_OFFSET,
    );
    view.setBigUint64(IOV_OFFSET + IOVEC.len, BigInt(length), true);

    let offset = CONTROL_OFFSET;
    if (fds !== null && fdCount > 0) {
      view.setBigUint64(offset + CMSGHDR.len, BigInt(cmsgLen(4 * fdCount)), true);
      view.setInt32(offset + CMSGHDR.level, SOL_SOCKET, true);
      view.setInt32(offset + CMSGHDR.type, SCM_RIGHTS, true);
      const data = offset + CMSGHDR.size;
      for (let i = 0; i < fdCount; i++) view.setInt32(data + 4 * i, fds[i], true);
      offset += cmsgSpace(4 * fdCount);
    }
    if (credentials !== null) {
      view.setBigUint64(offset + CMSGHDR.len, BigInt(cmsgLen(UCRED.size)), true);
      view.setInt32(offset + CMSGHDR.level, SOL_SOCKET, true);
      view.setInt32(offset + CMSGHDR.type, SCM_CREDENTIALS, true);
      const data = offset + CMSGHDR.size;
      view.setInt32(data + UCRED.pid, credentials.pid, true);
      view.setUint32(data + UCRED.uid, credentials.uid, true);
      view.setUint32(data + UCRED.gid, credentials.gid, true);
      offset += cmsgSpace(UCRED.size);
    }
    view.setBigUint64(MSGHDR.controllen, BigInt(offset - CONTROL_OFFSET), true);
    view.setInt32(MSGHDR.flags, 0, true);
    return 0;
  }
}

// ---------------------------------------------------------------------------
// Out-parameters of the other calls

/**
 * Preallocated out-parameter buffers for `getsockopt`, `getsockname`, `pipe2`,
 * `poll` and `clock_gettime`, as views into one ArrayBuffer (each view's
 * `byteOffset` is its position; both runtimes pass it along with the pointer).
 * Not reentrant: use the result before the next call.
 */
export class CallBuffers {
  readonly #view: DataView;
  /** An `int` (getsockopt's `optval`). */
  readonly int: Uint8Array;
  /** A `socklen_t` (getsockopt's `optlen`, getsockname's `addrlen`). */
  readonly socklen: Uint8Array;
  /** `int pipefd[2]`. */
  readonly pipeFds: Uint8Array;
  /** One `struct pollfd`. */
  readonly pollfd: Uint8Array;
  /** One `struct timespec`. */
  readonly timespec: Uint8Array;
  /** A `struct sockaddr_storage` (128 bytes). */
  readonly sockaddr: Uint8Array;

  /** Allocates the buffers (176 bytes in one ArrayBuffer). */
  constructor() {
    const buffer = new ArrayBuffer(48 + SOCKADDR_STORAGE_SIZE);
    this.#view = new DataView(buffer);
    this.int = new Uint8Array(buffer, 0, 4);
    this.socklen = new Uint8Array(buffer, 4, 4);
    this.pipeFds = new Uint8Array(buffer, 8, 8);
    this.pollfd = new Uint8Array(buffer, 16, POLLFD.size);
    this.timespec = new Uint8Array(buffer, 24, TIMESPEC.size);
    this.sockaddr = new Uint8Array(buffer, 48, SOCKADDR_STORAGE_SIZE);
  }

  /** Sets the `socklen_t` to `length` (the size of the buffer it describes). */
  setSocklen(length: number): void {
    this.#view.setUint32(this.socklen.byteOffset, length, true);
  }

  /** The `socklen_t` a call wrote. */
  getSocklen(): number {
    return this.#view.getUint32(this.socklen.byteOffset, true);
  }

  /** The `int` a call wrote. */
  getInt(): number {
    return this.#view.getInt32(this.int.byteOffset, true);
  }

  /** `[pipefd[0], pipefd[1]]`, as `pipe2` wrote them. */
  getPipeFds(): [number, number] {
    const at = this.pipeFds.byteOffset;
    return [this.#view.getInt32(at, true), this.#view.getInt32(at + 4, true)];
  }

  /** Fills the pollfd with `fd`, `events` and zero `revents`. */
  setPollfd(fd: number, events: number): void {
    const at = this.pollfd.byteOffset;
    this.#view.setInt32(at + POLLFD.fd, fd, true);
    this.#view.setInt16(at + POLLFD.events, events, true);
    this.#view.setInt16(at + POLLFD.revents, 0, true);
  }

  /** The `revents` `poll` wrote. */
  getRevents(): number {
    return this.#view.getUint16(this.pollfd.byteOffset + POLLFD.revents, true);
  }

  /** The timespec `clock_gettime` wrote, in microseconds (truncated). */
  getTimespecUsec(): bigint {
    const at = this.timespec.byteOffset;
    const sec = this.#view.getBigInt64(at + TIMESPEC.sec, true);
    const nsec = this.#view.getBigInt64(at + TIMESPEC.nsec, true);
    return sec * 1_000_000n + nsec / 1000n;
  }

  /** A copy of the first `length` bytes (at most 128) `getsockname` wrote. */
  copySockaddr(length: number): Uint8Array {
    return this.sockaddr.slice(0, Math.min(length, SOCKADDR_STORAGE_SIZE));
  }
}

const encoder = new TextEncoder();

/**
 * `text` as a NUL-terminated UTF-8 C string.
 * @returns the bytes, or null when `text` contains a NUL (C would cut it there)
 */
export function encodeCString(text: string): Uint8Array | null {
  if (text.includes("\0")) return null;
  return encoder.encode(`${text}\0`);
}
