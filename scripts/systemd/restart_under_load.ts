/**
 * Restarts a socket-activated service again and again with `systemctl --user restart` while
 * {@link runLoad} sends requests to its socket: the zero-downtime check of
 * `tests/systemd_restart.test.ts` and of `npm run demo`.
 *
 * @module
 */
import { type LoadResult, runLoad } from "./load_client.ts";
import type { UserManager } from "./user_manager.ts";

/** What {@link restartUnderLoad} saw. */
export interface RestartUnderLoadResult {
  /** The load's counts. */
  readonly load: LoadResult;
  /** The service's MainPID before the first restart, then after each restart. */
  readonly mainPids: readonly string[];
  /** How long each `systemctl --user restart` took, in ms. */
  readonly restartMs: readonly number[];
}

/**
 * Runs the load against `127.0.0.1:PORT` (8 at a time, every other request taking 40 ms so that
 * SIGTERM finds requests in flight, each answer `200 hello from PID`), restarts `service`
 * `restarts` times with 150 ms between restarts (so each new process serves some requests),
 * then stops the load and waits for the requests in flight.
 *
 * @param manager the manager running the service
 * @param service the service unit, socket-activated from `port`
 * @param port the socket's TCP port on 127.0.0.1
 * @param restarts how many restarts
 * @returns the load's counts, the MainPIDs and the restart times
 * @throws {Error} when a restart fails, after the load has stopped
 */
export async function restartUnderLoad(
  manager: UserManager,
  service: string,
  port: number,
  restarts: number,
): Promise<RestartUnderLoadResult> {
  const stopLoad = new AbortController();
  const load = runLoad({
    port,
    paths: ["/", "/?delay=40"],
    concurrency: 8,
    maxRequests: 200_000,
    maxDurationMs: 120_000,
    requestTimeoutMs: 30_000,
    accept: (status, body) => status === 200 && /^hello from \d+\n$/.test(body),
    signal: stopLoad.signal,
  });
  const mainPids: string[] = [];
  const restartMs: number[] = [];
  try {
    mainPids.push((await manager.show(service, ["MainPID"])).MainPID);
    for (let i = 1; i <= restarts; i++) {
      const since = performance.now();
      const restarted = await manager.systemctl("restart", service);
      if (restarted.code !== 0) {
        throw new Error(`restart ${i} failed (${restarted.code}): ${restarted.stderr.trim()}`);
      }
      restartMs.push(performance.now() - since);
      mainPids.push((await manager.show(service, ["MainPID"])).MainPID);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  } finally {
    stopLoad.abort();
  }
  return { load: await load, mainPids, restartMs };
}
