/**
 * The Deno backend: libc through `Deno.dlopen`. Needs `--allow-ffi`.
 *
 * This file only opens libc and adapts Deno's FFI to the runtime-neutral
 * {@linkcode LibcCalls} (64-bit integers travel as bigints here); the backend
 * logic lives in `_libc_backend.ts`.
 *
 * It is also compiled by `tsc` for npm, where Deno's global types do not exist,
 * so it declares the few parts of the `Deno` namespace it uses.
 *
 * @module
 */

import type { Backend } from "../src/_backend.ts";
import { SystemdError } from "../src/errors.ts";
import { LIBC_SYMBOLS, type LibcSymbols, type NativeLibrary } from "./symbols.ts";
import { createLibcBackend, errnoReader, type LibcCalls, openLibrary } from "./_libc_backend.ts";

/** A Deno pointer object: opaque, or null for the address 0. */
type DenoPointer = object;

/** What Deno passes and returns for each neutral type (64-bit integers are bigints). */
type DenoValues = {
  i32: number;
  u32: number;
  usize: bigint;
  isize: bigint;
  buffer: Uint8Array | null;
  pointer: DenoPointer | null;
};

/** The symbols of the opened libc. */
type DenoLibc = NativeLibrary<DenoValues>;

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
  return openLibrary(
    (name) => deno.dlopen(name, LIBC_SYMBOLS).symbols,
    (error) => isPermissionError(error) ? ffiNotAllowed(error) : undefined,
  );
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
  const { sendto, sendmsg, poll } = libc;
  const { UnsafePointer, UnsafePointerView } = deno;
  // i32/u32 and buffer arguments need nothing; size_t goes in and ssize_t comes
  // out as a bigint. Number() of a bigint costs ~15 ns in V8, as much as all the
  // rest of send, so the usual results (the full length, -1) skip it.
  const calls: LibcCalls = {
    socket: libc.socket,
    connect: libc.connect,
    sendto: (fd, buffer, length, flags, address, addressLength) => {
      const size = BigInt(length);
      const sent = sendto(fd, buffer, size, flags, address, addressLength);
      return sent === size ? length : sent === -1n ? -1 : Number(sent);
    },
    sendmsg: (fd, message, flags) => {
      const sent = sendmsg(fd, message, flags);
      return sent === -1n ? -1 : Number(sent);
    },
    fcntl: libc.fcntl,
    getsockopt: libc.getsockopt,
    getsockname: libc.getsockname,
    clock_gettime: libc.clock_gettime,
    pipe2: libc.pipe2,
    poll: (fds, count, timeout) => poll(fds, BigInt(count), timeout),
    close: libc.close,
    open: libc.open,
    errno: errnoReader(
      libc.__errno_location(),
      (pointer) => UnsafePointerView.getArrayBuffer(pointer, 4),
    ),
    addressOf: (bytes) => BigInt(UnsafePointer.value(UnsafePointer.of(bytes))),
  };
  return createLibcBackend("deno", deno.build.arch, calls);
}
