/**
 * The {@linkcode Adopter} for Bun: the libc functions of `ADOPT_SYMBOLS`
 * (`symbols.ts`) through `bun:ffi`, translated like the notification backend.
 *
 * @module
 */

import { ADOPT_SYMBOLS, type AdoptLibrary } from "./symbols.ts";
import { type BunArguments, bunDefinitions, bunFfi, type BunResults } from "./bun.ts";
import { openLibrary } from "./_libc_backend.ts";
import { type Adopter, createAdopter } from "./_adopt.ts";

let cached: Adopter | undefined;

/**
 * Opens libc for adoption once.
 *
 * @returns the adopter
 * @throws {SystemdError} with code `ENOENT` when libc cannot be loaded
 *
 * @example
 * ```ts ignore
 * const adopter = openBunAdopter();
 * ```
 */
export function openBunAdopter(): Adopter {
  if (cached !== undefined) return cached;
  const { dlopen, toArrayBuffer } = bunFfi;
  const definitions = bunDefinitions(ADOPT_SYMBOLS);
  const libc = openLibrary((name) =>
    dlopen(name, definitions).symbols as unknown as AdoptLibrary<BunArguments, BunResults>
  );
  const location = libc.__errno_location();
  if (location === null) throw new Error("__errno_location returned NULL");
  const errnoCell = new Int32Array(toArrayBuffer(location, 0, 4), 0, 1);
  cached = createAdopter(process.arch, {
    fcntl: libc.fcntl,
    getsockopt: libc.getsockopt,
    getsockname: libc.getsockname,
    open: libc.open,
    read: libc.read,
    getdents64: libc.getdents64,
    readlink: libc.readlink,
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
