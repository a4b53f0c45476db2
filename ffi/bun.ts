/**
 * The Bun backend: libc through `bun:ffi`.
 *
 * This file only opens libc and adapts bun:ffi to the runtime-neutral
 * {@linkcode LibcCalls}; the backend logic lives in `_libc_backend.ts`.
 *
 * The neutral symbol table of `symbols.ts` is translated to bun:ffi types here:
 * buffers become `ptr` arguments (Bun takes the address of a TypedArray passed
 * directly, byte offset included, for the duration of the call), `usize` becomes
 * `u64`, and `isize` results become `i64_fast` (a number for every value we see).
 * So the libc functions already have the signatures of {@linkcode LibcCalls}
 * and are handed over unwrapped.
 *
 * @module
 */

import type { FFIType } from "bun:ffi";
import type { Backend } from "../src/_backend.ts";
import {
  LIBC_SYMBOLS,
  type NativeLibrary,
  type NativeType,
  type SymbolDefinition,
} from "./symbols.ts";
import { createLibcBackend, errnoReader, type LibcCalls, openLibrary } from "./_libc_backend.ts";

/**
 * The `bun:ffi` module, loaded with a dynamic import rather than `import … from
 * "bun:ffi"`: a bundle that holds this module must still load under Node and
 * Deno, and only Bun evaluates it.
 */
export const bunFfi: typeof import("bun:ffi") = await import("bun:ffi");
const { dlopen, ptr, toArrayBuffer } = bunFfi;
const { FFIType: Type } = bunFfi;

/** bun:ffi argument type for each neutral type. */
const ARGUMENT_TYPES: Readonly<Record<NativeType, FFIType>> = {
  i32: Type.i32,
  u32: Type.u32,
  usize: Type.u64,
  isize: Type.i64,
  pointer: Type.ptr,
  buffer: Type.ptr,
};

/** bun:ffi result type for each neutral type (`*_fast`: a number when it fits). */
const RESULT_TYPES: Readonly<Record<NativeType, FFIType>> = {
  i32: Type.i32,
  u32: Type.u32,
  usize: Type.u64_fast,
  isize: Type.i64_fast,
  pointer: Type.ptr,
  buffer: Type.ptr,
};

/**
 * A raw address as bun:ffi hands it out (a number). Declared here rather than
 * imported, so this file also type-checks where bun:ffi's types are absent
 * (`deno check` follows the dynamic import in `runtime.ts`).
 */
type BunPointer = number;

/** The neutral types Bun passes and returns as numbers. */
type BunInteger = "i32" | "u32" | "usize" | "isize";

/** What Bun accepts for each neutral argument type. */
export type BunArguments = Record<BunInteger, number> & {
  buffer: Uint8Array | null;
  pointer: BunPointer | null;
};

/**
 * What Bun returns for each neutral result type. A `*_fast` result is a bigint
 * only beyond 2^53; our 64-bit results (`sendto`, `sendmsg`: bytes sent, at
 * most the payload length, or -1) never get there, so they are numbers.
 */
export type BunResults =
  & Record<BunInteger, number>
  & Record<"buffer" | "pointer", BunPointer | null>;

/** The symbols of the opened libc. */
type BunLibc = NativeLibrary<BunArguments, BunResults>;

/**
 * Translates a neutral symbol table (`symbols.ts`) to bun:ffi definitions.
 *
 * @param table `LIBC_SYMBOLS` or `ADOPT_SYMBOLS`
 * @returns the definitions for bun:ffi's `dlopen`
 *
 * @example
 * ```ts ignore
 * const { symbols } = dlopen("libc.so.6", bunDefinitions(ADOPT_SYMBOLS));
 * ```
 */
export function bunDefinitions(
  table: Readonly<Record<string, SymbolDefinition>>,
): Record<string, { args: FFIType[]; returns: FFIType }> {
  const definitions: Record<string, { args: FFIType[]; returns: FFIType }> = {};
  for (const [name, { parameters, result }] of Object.entries(table)) {
    definitions[name] = {
      args: parameters.map((type) => ARGUMENT_TYPES[type]),
      returns: RESULT_TYPES[result],
    };
  }
  return definitions;
}

/** Opens libc with the symbol table translated to bun:ffi types. */
function openLibc(): BunLibc {
  const definitions = bunDefinitions(LIBC_SYMBOLS);
  return openLibrary((name) => dlopen(name, definitions).symbols as unknown as BunLibc);
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
  const calls: LibcCalls = {
    socket: libc.socket,
    connect: libc.connect,
    sendto: libc.sendto,
    sendmsg: libc.sendmsg,
    fcntl: libc.fcntl,
    getsockopt: libc.getsockopt,
    getsockname: libc.getsockname,
    clock_gettime: libc.clock_gettime,
    pipe2: libc.pipe2,
    poll: libc.poll,
    close: libc.close,
    open: libc.open,
    errno: errnoReader(libc.__errno_location(), (pointer) => toArrayBuffer(pointer, 0, 4)),
    addressOf: (bytes) => BigInt(ptr(bytes)),
  };
  return createLibcBackend("bun", process.arch, calls);
}
