import { invalidVariable, parseDecimal, parsePid } from "./_env_number.ts";
import type { Environment } from "./environment.ts";

/**
 * The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
 *
 * @example The fd of the first passed socket
 * ```ts
 * import { LISTEN_FDS_START } from "@systemd-js/daemon";
 * console.log(LISTEN_FDS_START); // 3, SD_LISTEN_FDS_START
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html | sd_listen_fds(3)}
 */
export const LISTEN_FDS_START = 3;
/** More descriptors than this in `LISTEN_FDS` is taken as a corrupt variable. */
export const MAX_LISTEN_FDS = 65536;

/**
 * One descriptor systemd passed, before it is inspected.
 *
 * @example Read names without touching the fds
 * ```ts
 * import { type ListenEnvEntry, parseListenEnv } from "@systemd-js/daemon";
 * const entries: ListenEnvEntry[] = parseListenEnv(
 *   { LISTEN_PID: "42", LISTEN_FDS: "2", LISTEN_FDNAMES: "web:admin" },
 *   42,
 * );
 * console.log(entries); // [{ fd: 3, name: "web" }, { fd: 4, name: "admin" }]
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html | sd_listen_fds(3)}
 */
export interface ListenEnvEntry {
  /** The descriptor number, from 3 up. */
  readonly fd: number;
  /** Its name from `LISTEN_FDNAMES` (`FileDescriptorName=`), or `"unknown"`. */
  readonly name: string;
}

/** The variables of socket activation, which {@linkcode listenFds} unsets by default. */
export const LISTEN_VARIABLES: readonly string[] = [
  "LISTEN_PID",
  "LISTEN_PIDFDID",
  "LISTEN_FDS",
  "LISTEN_FDNAMES",
];

/**
 * Reads which descriptors systemd passed to this process, as
 * [sd_listen_fds(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html)
 * does, without touching them.
 *
 * - `LISTEN_PID` missing, or naming another process (a parent whose environment
 *   we inherited): no descriptors.
 * - `LISTEN_FDS` missing: none; otherwise a count from 1 to 65536.
 * - `LISTEN_FDNAMES`: names split on `:`, empty parts kept; absent: every name is `"unknown"`.
 *
 * @param env the environment to read
 * @param pid this process's pid
 * @returns the descriptors, starting at fd 3; empty when none are ours
 * @throws {SystemdError} code `EINVAL` when a variable is malformed or the name count differs
 *
 * @example Two named sockets
 * ```ts
 * import { parseListenEnv } from "@systemd-js/daemon";
 * const fds = parseListenEnv(
 *   { LISTEN_PID: "7", LISTEN_FDS: "2", LISTEN_FDNAMES: "http:metrics" },
 *   7,
 * );
 * console.log(fds); // [{ fd: 3, name: "http" }, { fd: 4, name: "metrics" }]
 * ```
 */
export function parseListenEnv(env: Environment, pid: number): ListenEnvEntry[] {
  const pidText = env.LISTEN_PID;
  if (pidText === undefined) return [];
  if (parsePid("LISTEN_PID", pidText) !== pid) return [];

  const countText = env.LISTEN_FDS;
  if (countText === undefined) return [];
  const count = parseDecimal(countText);
  if (count === null || count < 1n || count > BigInt(MAX_LISTEN_FDS)) {
    throw invalidVariable("LISTEN_FDS", countText, `is not a count from 1 to ${MAX_LISTEN_FDS}`);
  }

  const namesText = env.LISTEN_FDNAMES;
  const names = namesText === undefined
    ? Array.from({ length: Number(count) }, () => "unknown")
    : namesText.split(":");
  if (names.length !== Number(count)) {
    throw invalidVariable(
      "LISTEN_FDNAMES",
      namesText ?? "",
      `has ${names.length} names for LISTEN_FDS=${count}`,
    );
  }
  return names.map((name, index) => ({ fd: LISTEN_FDS_START + index, name }));
}
