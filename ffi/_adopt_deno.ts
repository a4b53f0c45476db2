/**
 * The {@linkcode Adopter} for Deno: the libc functions of `ADOPT_SYMBOLS` (`symbols.ts`) through
 * `Deno.dlopen` (needs `--allow-ffi`, nothing else).
 *
 * @module
 */

import { ADOPT_SYMBOLS, type AdoptLibrary, type AdoptSymbols } from "./symbols.ts";
import { openLibrary } from "./_libc_backend.ts";
import { type Adopter, createAdopter } from "./_adopt.ts";

/** What Deno passes and returns for each neutral type (64-bit integers are bigints). */
type DenoValues = {
  i32: number;
  u32: number;
  usize: bigint;
  isize: bigint;
  buffer: Uint8Array;
  pointer: object | null;
};

/** The parts of the `Deno` namespace used here. */
interface DenoAdoptNamespace {
  dlopen(filename: string, symbols: AdoptSymbols): { readonly symbols: AdoptLibrary<DenoValues> };
  readonly UnsafePointerView: {
    getArrayBuffer(pointer: object, byteLength: number, offset?: number): ArrayBuffer;
  };
  readonly permissions: { querySync(descriptor: { name: "ffi" }): { readonly state: string } };
  readonly build: { readonly arch: string };
}

let cached: Adopter | undefined;

/**
 * Opens libc for adoption once.
 *
 * @returns the adopter
 * @throws {Error} when Deno lacks `--allow-ffi` or libc cannot be loaded
 *
 * @example
 * ```ts ignore
 * const adopter = openDenoAdopter();
 * ```
 */
export function openDenoAdopter(): Adopter {
  if (cached !== undefined) return cached;
  const deno = (globalThis as unknown as { Deno: DenoAdoptNamespace }).Deno;
  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    throw new Error('native adoption needs "--allow-ffi"');
  }
  const libc = openLibrary((name) => deno.dlopen(name, ADOPT_SYMBOLS).symbols);
  const location = libc.__errno_location();
  if (location === null) throw new Error("__errno_location returned NULL");
  const errnoCell = new Int32Array(deno.UnsafePointerView.getArrayBuffer(location, 4), 0, 1);
  cached = createAdopter(deno.build.arch, {
    fcntl: libc.fcntl,
    getsockopt: libc.getsockopt,
    getsockname: libc.getsockname,
    open: libc.open,
    read: (fd, buffer, count) => Number(libc.read(fd, buffer, BigInt(count))),
    getdents64: (fd, buffer, count) => Number(libc.getdents64(fd, buffer, BigInt(count))),
    readlink: (path, buffer, size) => Number(libc.readlink(path, buffer, BigInt(size))),
    dup3: libc.dup3,
    epoll_ctl: libc.epoll_ctl,
    mkdir: libc.mkdir,
    unlink: libc.unlink,
    rmdir: libc.rmdir,
    close: libc.close,
    errno: () => errnoCell[0],
  });
  return cached;
}
