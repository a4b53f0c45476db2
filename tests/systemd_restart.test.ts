/**
 * Zero-downtime restarts under a real systemd: while a load client sends requests on loopback,
 * the socket-activated service is restarted again and again with `systemctl --user restart`.
 * systemd keeps the listening socket, so connections made while no process accepts wait in its
 * queue; the service drains on SIGTERM (closes its copy of the socket, finishes what it has
 * accepted, exits). Not one request may fail.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { LoadResult } from "../scripts/systemd/load_client.ts";
import { restartUnderLoad } from "../scripts/systemd/restart_under_load.ts";
import type { UserManager } from "../scripts/systemd/user_manager.ts";
import {
  ACTIVATION_SERVICE,
  execStart,
  httpGet,
  serviceLines,
  systemctlOk,
  writeTcpActivatedService,
} from "./_systemd.ts";
import { SKIP, useUserManager } from "./_user_manager.ts";
import { RUNTIME } from "./_runtime.ts";

const RESTARTS = 10;

/**
 * Sets up a socket-activated service, runs the load through `restarts` restarts, returns the
 * counts and every MainPID seen.
 */
async function restartServiceUnderLoad(
  manager: UserManager,
  restarts: number,
  serviceArgs: readonly string[],
): Promise<{ result: LoadResult; pids: Set<string>; base: string }> {
  const base = manager.uniqueName("restart");
  const port = await writeTcpActivatedService(manager, base, [
    "[Unit]",
    // The default start limit (5 starts in 10 s) would stop the 6th restart.
    "StartLimitIntervalSec=0",
    "[Service]",
    "Type=notify",
    `ExecStart=${execStart(ACTIVATION_SERVICE, [manager.tmpDir, ...serviceArgs])}`,
    ...serviceLines(join(manager.tmpDir, `${base}.log`)),
    "TimeoutStartSec=30s",
    // A service that does not drain in time is killed, and the test sees failed requests.
    "TimeoutStopSec=10s",
  ]);
  await systemctlOk(manager, "start", `${base}.socket`);
  const first = await httpGet({ host: "127.0.0.1", port }, "/");
  assert.match(first.body, /^hello from \d+\n$/);

  const { load: result, mainPids, restartMs } = await restartUnderLoad(
    manager,
    `${base}.service`,
    port,
    restarts,
  );
  const meanRestartMs = restartMs.reduce((sum, ms) => sum + ms, 0) / restarts;
  console.log(
    `restart under load (${RUNTIME}${
      serviceArgs.length > 0 ? ` ${serviceArgs.join(" ")}` : ""
    }): ` +
      `${restarts} restarts (${meanRestartMs.toFixed(0)} ms each), ` +
      `${result.sent} requests: ${result.ok} ok, ${result.failed} failed ${
        JSON.stringify(result.errors)
      }, ` +
      `answered by ${Object.keys(result.bodies).length} processes, ` +
      `slowest ${result.maxLatencyMs.toFixed(0)} ms, ${(result.durationMs / 1000).toFixed(1)} s`,
  );
  return { result, pids: new Set(mainPids), base };
}

describe("zero-downtime restart under a real systemd", { skip: SKIP }, () => {
  const systemd = useUserManager();

  test(`${RESTARTS} restarts under load fail no request and each starts a new process`, async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const { result, pids, base } = await restartServiceUnderLoad(manager, RESTARTS, []);
      assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.errors)}`);
      assert.equal(result.ok, result.sent);
      assert.ok(result.ok >= RESTARTS * 10, `only ${result.ok} requests were made`);
      assert.equal(pids.size, RESTARTS + 1, `MainPIDs seen: ${[...pids].join(", ")}`);
      const answeredBy = Object.keys(result.bodies).length;
      assert.ok(answeredBy >= RESTARTS, `only ${answeredBy} processes answered requests`);
      const props = await manager.show(`${base}.service`, ["ActiveState", "Result"]);
      assert.equal(props.ActiveState, "active");
      assert.equal(props.Result, "success");
      const socket = await manager.show(`${base}.socket`, ["SubState"]);
      assert.equal(socket.SubState, "running");
    });
  });

  test("a service that exits at once on SIGTERM fails requests under the same load (the check can fail)", async () => {
    const { result } = await restartServiceUnderLoad(systemd.manager, 3, ["--abrupt"]);
    assert.ok(result.failed > 0, "an abrupt exit lost no request: the load cannot see failures");
  });
});
