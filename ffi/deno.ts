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

/**
 * The functions every plain notification needs, opened first: Deno compiles a
 * call trampoline for every symbol at `dlopen` (~0.15 ms each), so the other
 * eight wait until a call needs one of them (descriptors, credentials, the
 * clock, barriers, listenFds, a full queue).
 */
const CORE_NAMES = ["socket", "connect", "sendto", "__errno_location"] as const;
type CoreName = (typeof CORE_NAMES)[number];
type CoreLibc = Pick<DenoLibc, CoreName>;
type RestLibc = Omit<DenoLibc, CoreName>;

/** `LIBC_SYMBOLS` split into the core entries and the rest. */
function splitSymbols(core: boolean): Partial<LibcSymbols> {
  return Object.fromEntries(
    Object.entries(LIBC_SYMBOLS).filter(([name]) =>
      (CORE_NAMES as readonly string[]).includes(name) === core
    ),
  );
}

/** The parts of the `Deno` namespace this backend uses. */
interface DenoFfiNamespace {
  dlopen(
    filename: string,
    symbols: Partial<LibcSymbols>,
  ): { readonly symbols: Partial<DenoLibc> };
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

/** Opens `symbols` of libc, refusing (without a permission prompt) when FFI is not allowed. */
function openLibc<T>(deno: DenoFfiNamespace, symbols: Partial<LibcSymbols>): T {
  // dlopen without the permission would prompt on a terminal; a daemon library
  // must not, so ask first and fail fast with the flag to add.
  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") throw ffiNotAllowed();
  return openLibrary(
    (name) => deno.dlopen(name, symbols).symbols as T,
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
  const core = openLibc<CoreLibc>(deno, splitSymbols(true));
  const { sendto } = core;
  let rest: RestLibc | undefined;
  // Opened before the call that needs it, never between a call and its errno read.
  const more = (): RestLibc => rest ??= openLibc<RestLibc>(deno, splitSymbols(false));
  const { UnsafePointer, UnsafePointerView } = deno;
  // i32/u32 and buffer arguments need nothing; size_t goes in and ssize_t comes
  // out as a bigint. Number() of a bigint costs ~15 ns in V8, as much as all the
  // rest of send, so the usual results (the full length, -1) skip it.
  const calls: LibcCalls = {
    socket: core.socket,
    connect: core.connect,
    sendto: (fd, buffer, length, flags, address, addressLength) => {
      const size = BigInt(length);
      const sent = sendto(fd, buffer, size, flags, address, addressLength);
      return sent === size ? length : sent === -1n ? -1 : Number(sent);
    },
    sendmsg: (fd, message, flags) => {
      const sent = more().sendmsg(fd, message, flags);
      return sent === -1n ? -1 : Number(sent);
    },
    fcntl: (fd, command, argument) => more().fcntl(fd, command, argument),
    getsockopt: (fd, level, option, value, length) =>
      more().getsockopt(fd, level, option, value, length),
    getsockname: (fd, address, length) => more().getsockname(fd, address, length),
    clock_gettime: (clock, timespec) => more().clock_gettime(clock, timespec),
    pipe2: (fds, flags) => more().pipe2(fds, flags),
    poll: (fds, count, timeout) => more().poll(fds, BigInt(count), timeout),
    close: (fd) => more().close(fd),
    open: (path, flags, mode) => more().open(path, flags, mode),
    errno: errnoReader(
      core.__errno_location(),
      (pointer) => UnsafePointerView.getArrayBuffer(pointer, 4),
    ),
    addressOf: (bytes) => BigInt(UnsafePointer.value(UnsafePointer.of(bytes))),
  };
  return createLibcBackend("deno", deno.build.arch, calls);
}
