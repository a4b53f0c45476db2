/**
 * The Bun backend: libc through `bun:ffi`.
 *
 * The neutral symbol table of `symbols.ts` is translated to bun:ffi types here:
 * buffers become `ptr` arguments (Bun takes the address of a TypedArray passed
 * directly, byte offset included, for the duration of the call), `usize` becomes
 * `u64`, and `isize` results become `i64_fast` (a number for every value we see).
 *
 * @module
 */

import { dlopen, FFIType, ptr, toArrayBuffer } from "bun:ffi";
import type { Backend, Credentials, RawSocketDescription } from "../src/_backend.ts";
import { SystemdError } from "../src/errors.ts";
import { LIBC_SYMBOLS, type LibcSymbols, type NativeType } from "./symbols.ts";
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
  SEND_FLAGS,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_TYPE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCKADDR_STORAGE_SIZE,
  SOL_SOCKET,
} from "./_structs.ts";

/** bun:ffi argument type for each neutral type. */
const ARGUMENT_TYPES: Readonly<Record<NativeType, FFIType>> = {
  i32: FFIType.i32,
  u32: FFIType.u32,
  usize: FFIType.u64,
  isize: FFIType.i64,
  pointer: FFIType.ptr,
  buffer: FFIType.ptr,
};

/** bun:ffi result type for each neutral type (`*_fast`: a number when it fits). */
const RESULT_TYPES: Readonly<Record<NativeType, FFIType>> = {
  i32: FFIType.i32,
  u32: FFIType.u32,
  usize: FFIType.u64_fast,
  isize: FFIType.i64_fast,
  pointer: FFIType.ptr,
  buffer: FFIType.ptr,
};

/**
 * A raw address as bun:ffi hands it out (a number). Declared here rather than
 * imported, so this file also type-checks where bun:ffi's types are absent
 * (`deno check` follows the dynamic import in `runtime.ts`).
 */
type BunPointer = number;

/** What Bun accepts for each neutral argument type. */
type BunArgument<T extends NativeType> = T extends "i32" | "u32" | "usize" | "isize" ? number
  : T extends "buffer" ? Uint8Array
  : T extends "pointer" ? BunPointer | null
  : never;

/** What Bun returns for each neutral result type. */
type BunResult<T extends NativeType> = T extends "i32" | "u32" ? number
  : T extends "usize" | "isize" ? number | bigint
  : T extends "pointer" | "buffer" ? BunPointer | null
  : never;

/** A libc function as bun:ffi exposes it. */
type BunFunction<D> = D extends {
  readonly parameters: infer P extends readonly NativeType[];
  readonly result: infer R extends NativeType;
} ? (...args: { -readonly [I in keyof P]: BunArgument<P[I]> }) => BunResult<R>
  : never;

/** The symbols of the opened libc. */
type BunLibc = { readonly [K in keyof LibcSymbols]: BunFunction<LibcSymbols[K]> };

const LIBRARY_NAMES = ["libc.so.6", "libc.so"] as const;

/** Opens libc with the symbol table translated to bun:ffi types. */
function openLibc(): BunLibc {
  const definitions: Record<string, { args: FFIType[]; returns: FFIType }> = {};
  for (const [name, { parameters, result }] of Object.entries(LIBC_SYMBOLS)) {
    definitions[name] = {
      args: parameters.map((type) => ARGUMENT_TYPES[type]),
      returns: RESULT_TYPES[result],
    };
  }
  let failure: unknown;
  for (const name of LIBRARY_NAMES) {
    try {
      return dlopen(name, definitions).symbols as unknown as BunLibc;
    } catch (error) {
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
 * Opens the Bun backend: loads libc with `bun:ffi` and prepares the buffers
 * every call reuses.
 *
 * @returns the backend, named `"bun"`
 * @throws {SystemdError} with code `ENOENT` when libc cannot be loaded
 *
 * @example Send READY=1 (inside this module; user code calls `ready()`)
 * ```ts ignore
 * import { openBunBackend } from "./bun.ts";
 * const backend = openBunBackend();
 * const socket = backend.openDatagramSocket();
 * const address = new Uint8Array([1, 0, ...new TextEncoder().encode("/run/systemd/notify"), 0]);
 * const payload = new TextEncoder().encode("READY=1");
 * const errno = backend.send(socket, address, payload, payload.length, null, null);
 * ```
 */
export function openBunBackend(): Backend {
  const libc = openLibc();
  const {
    socket,
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
  } = libc;

  // errno is thread-local; every FFI call here runs on this JS thread, so its
  // errno lives at one fixed address we can read with a plain memory load.
  const errnoPointer = libc.__errno_location();
  if (errnoPointer === null) {
    throw new SystemdError("__errno_location returned NULL", {
      code: "EIO",
      errno: EIO,
      syscall: "__errno_location",
    });
  }
  const errnoCell = new Int32Array(toArrayBuffer(errnoPointer, 0, 4));
  /** errno right after a call returned -1 (never 0, which would read as success). */
  const lastErrno = (): number => errnoCell[0] || EIO;

  const message = new MessageBuffer((bytes) => BigInt(ptr(bytes)));
  const buffers = new CallBuffers();
  const directoryFlags = directoryOpenFlags(process.arch);

  function socketOption(fd: number, option: number): number {
    buffers.setSocklen(4);
    if (getsockopt(fd, SOL_SOCKET, option, buffers.int, buffers.socklen) < 0) return -lastErrno();
    return buffers.getInt();
  }

  return {
    name: "bun",

    openDatagramSocket(): number {
      const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) throw SystemdError.fromErrno("socket", lastErrno());
      return fd;
    },

    send(
      fd: number,
      address: Uint8Array,
      payload: Uint8Array,
      length: number,
      fds: readonly number[] | null,
      credentials: Credentials | null,
    ): number {
      if (length >>> 0 !== length || length > payload.byteLength) {
        throw new RangeError(`Payload length "${length}" is out of range`);
      }
      if (credentials === null && (fds === null || fds.length === 0)) {
        // Hot path: no struct at all; Bun passes the views' addresses for the call.
        const sent = sendto(fd, payload, length, SEND_FLAGS, address, address.byteLength);
        if (sent === length) return 0;
        return sent < 0 ? lastErrno() : EMSGSIZE;
      }
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
      buffers.setPollfd(fd, POLLIN);
      let ready: number;
      while ((ready = poll(buffers.pollfd, 1, 0)) < 0) {
        const errno = lastErrno();
        if (errno !== EINTR) throw SystemdError.fromErrno("poll", errno);
      }
      if (ready === 0) return false;
      const revents = buffers.getRevents();
      // poll reports a closed fd in revents instead of failing: say so as EBADF.
      if ((revents & POLLNVAL) !== 0) throw SystemdError.fromErrno("poll", EBADF);
      return (revents & (POLLHUP | POLLERR)) !== 0;
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
