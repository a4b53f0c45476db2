import { SystemdError } from "./errors.ts";

/** The error for a variable systemd set that cannot be right. */
export function invalidVariable(name: string, value: string, why: string): SystemdError {
  return new SystemdError(`${name} "${value}" ${why}`, { code: "EINVAL", errno: 22, syscall: name });
}

/**
 * Parses a decimal number the way systemd writes it: digits only, no sign, no
 * spaces, no leading zero (except "0" itself).
 * @returns the value, or null when `text` is not such a number
 */
export function parseDecimal(text: string): bigint | null {
  return /^(0|[1-9][0-9]*)$/.test(text) ? BigInt(text) : null;
}

/**
 * Parses a pid variable (`LISTEN_PID`, `WATCHDOG_PID`).
 * @throws {SystemdError} code `EINVAL` when it is not a positive 32-bit integer
 */
export function parsePid(name: string, value: string): number {
  const pid = parseDecimal(value);
  if (pid === null || pid < 1n || pid > 2147483647n) {
    throw invalidVariable(name, value, "is not a process id");
  }
  return Number(pid);
}
