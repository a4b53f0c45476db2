import { activeBackend } from "./_active.ts";
import { platform } from "./_platform.ts";

/**
 * Tells whether the machine was booted with systemd as its init system, as
 * [sd_booted(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_booted.html)
 * does: `/run/systemd/system/` exists and is a directory. On an operating
 * system other than Linux it resolves to false.
 *
 * @returns true when systemd is the init system
 * @throws {SystemdError} code `EPERM` when Deno lacks `--allow-ffi`
 *
 * @example Only talk to systemd when it runs
 * ```ts
 * import { booted } from "@systemd-js/daemon";
 * if (await booted()) console.log("running under systemd");
 * ```
 */
export async function booted(): Promise<boolean> {
  if (platform() !== "linux") return false;
  const backend = await activeBackend();
  return backend.isDirectory("/run/systemd/system/");
}
