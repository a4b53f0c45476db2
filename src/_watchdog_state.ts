/**
 * Lets {@linkcode notify} tell the running watchdog that a new interval was
 * sent with `WATCHDOG_USEC=`, without the two modules importing each other.
 *
 * @module
 */

let listener: ((usec: bigint) => void) | undefined;

/** Registers (or, with undefined, clears) the function told about a new interval. */
export function onWatchdogInterval(callback: ((usec: bigint) => void) | undefined): void {
  listener = callback;
}

/** Called by notify after `WATCHDOG_USEC=` was handed to the manager. */
export function watchdogIntervalSent(usec: bigint): void {
  listener?.(usec);
}
