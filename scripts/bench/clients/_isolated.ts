/**
 * The isolated-message mode of the per-message clients: before every message,
 * busy-wait `gap_us` so the receiver has drained its queue and sleeps (as a
 * service manager does between two watchdog pings), then time the send alone.
 *
 * @module
 */

/** Sends `count` isolated messages with `send`; returns the mean ms spent in `send`. */
export async function timeIsolated(
  count: number,
  gap_us: number,
  send: () => unknown,
): Promise<number> {
  let sending = 0;
  for (let i = 0; i < count; i++) {
    const until = performance.now() + gap_us / 1000;
    while (performance.now() < until) continue;
    const started = performance.now();
    const sent = send();
    if (sent instanceof Promise) await sent; // as its caller would; a synchronous API is not awaited
    sending += performance.now() - started;
  }
  return sending / count;
}
