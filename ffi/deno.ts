/**
 * The Deno backend: libc through `Deno.dlopen`. Needs `--allow-ffi`.
 *
 * This file is also compiled by `tsc` for npm, where Deno's global types do not
 * exist, so it declares the few parts of the `Deno` namespace it uses.
 *
 * @module
 */

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

/** A Deno pointer object: opaque, or null for the address 0. */
type DenoPointer = object;

/** What Deno passes or returns for each neutral type (64-bit integers are bigints). */
type DenoValue<T extends NativeType> = T extends "i32" | "u32" ? number
  : T extends "usize" | "isize" ? bigint
  : T extends "buffer" ? Uint8Array
  : T extends "pointer" ? DenoPointer | null
  : never;

/** A libc function as `Deno.dlopen` exposes it. */
type DenoFunction<D> = D extends {
  readonly parameters: infer P extends readonly NativeType[];
  readonly result: infer R extends NativeType;
} ? (...args: { -readonly [I in keyof P]: DenoValue<P[I]> }) => DenoValue<R>
  : never;

/** The symbols of the opened libc. */
type DenoLibc = { readonly [K in keyof LibcSymbols]: DenoFunction<LibcSymbols[K]> };

/** The parts of the `Deno` namespace this backend uses. */
interface DenoFfiNamespace {
  dlopen(filename: string, symbols: LibcSymbols): { readonly symbols: DenoLibc };
  readonly UnsafePointer: {
    of(value: Uint8Array): DenoPointer | null;
    value(pointer: DenoPointer | null): bigint;
  };
  readonly UnsafePointerView: {
    getArrayBuffer(pointer: DenoPointer, byteLength: number, offset?: number): ArrayBuffer;
  };
  readonly permissions: {
    querySync(descriptor: { name: "ffi" }): { readonly state: string };
  };
  readonly build: { readonly arch: string };
}

const LIBRARY_NAMES = ["libc.so.6", "libc.so"] as const;

/** The error for a Deno process that may not use FFI. */
function ffiNotAllowed(cause?: unknown): SystemdError {
  return new SystemdError(
    'Deno needs --allow-ffi to talk to systemd (NOTIFY_SOCKET or LISTEN_FDS is set): run with "--allow-ffi"',
    { code: "EPERM", errno: 1, syscall: "dlopen", cause },
  );
}

/** True for the errors Deno throws when a permission is missing. */
function isPermissionError(error: unknown): boolean {
  return error instanceof Error &&
    (error.name === "NotCapable" || error.name === "PermissionDenied");
}

/** Opens libc, refusing (without a permission prompt) when FFI is not allowed. */
function openLibc(deno: DenoFfiNamespace): DenoLibc {
  // dlopen without the permission would prompt on a terminal; a daemon library
  // must not, so ask first and fail fast with the flag to add.
  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") throw ffiNotAllowed();
  let failure: unknown;
  for (const name of LIBRARY_NAMES) {
    try {
      return deno.dlopen(name, LIBC_SYMBOLS).symbols;
    } catch (error) {
      if (isPermissionError(error)) throw ffiNotAllowed(error);
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
 * Opens the Deno backend: loads libc with `Deno.dlopen` and prepares the
 * buffers every call reuses.
 *
 * @returns the backend, named `"deno"`
 * @throws {SystemdError} with code `EPERM` when Deno runs without `--allow-ffi`,
 *   or `ENOENT` when libc cannot be loaded
 *
 * @example Send READY=1 (inside this module; user code calls `ready()`)
 * ```ts ignore
 * import { openDenoBackend } from "./deno.ts";
 * const backend = openDenoBackend();
 * const socket = backend.openDatagramSocket();
 * const address = new Uint8Array([1, 0, ...new TextEncoder().encode("/run/systemd/notify"), 0]);
 * const payload = new TextEncoder().encode("READY=1");
 * const errno = backend.send(socket, address, payload, payload.length, null, null);
 * ```
 */
export function openDenoBackend(): Backend {
  const deno = (globalThis as unknown as { Deno: DenoFfiNamespace }).Deno;
  const libc = openLibc(deno);
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
  const errnoCell = new Int32Array(deno.UnsafePointerView.getArrayBuffer(errnoPointer, 4));
  /** errno right after a call returned -1 (never 0, which would read as success). */
  const lastErrno = (): number => errnoCell[0] || EIO;

  const message = new MessageBuffer((bytes) =>
    BigInt(deno.UnsafePointer.value(deno.UnsafePointer.of(bytes)))
  );
  const buffers = new CallBuffers();
  const directoryFlags = directoryOpenFlags(deno.build.arch);

  function socketOption(fd: number, option: number): number {
    buffers.setSocklen(4);
    if (getsockopt(fd, SOL_SOCKET, option, buffers.int, buffers.socklen) < 0) return -lastErrno();
    return buffers.getInt();
  }

  return {
    name: "deno",

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
        // Hot path: no struct at all; Deno passes the views' addresses for the call.
        const size = BigInt(length);
        const sent = sendto(fd, payload, size, SEND_FLAGS, address, address.byteLength);
        if (sent === size) return 0;
        return sent < 0n ? lastErrno() : EMSGSIZE;
      }
      const invalid = message.build(address, payload, length, fds, credentials);
      if (invalid !== 0) return invalid;
      const sent = sendmsg(fd, message.bytes, SEND_FLAGS);
      if (sent === BigInt(length)) return 0;
      return sent < 0n ? lastErrno() : EMSGSIZE;
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
      while ((ready = poll(buffers.pollfd, 1n, 0)) < 0) {
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
