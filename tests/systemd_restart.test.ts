/**
 * Zero-downtime restarts under a real systemd: while a load client sends requests on loopback,
 * the socket-activated service is restarted again and again with `systemctl --user restart`.
 * systemd keeps the listening socket, so connections made while no process accepts wait in its
 * queue; the service drains on SIGTERM (closes its copy of the socket, finishes what it has
 * accepted, exits). Not one request may fail.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort } from "../scripts/systemd/free_port.ts";
import { type LoadResult, runLoad } from "../scripts/systemd/load_client.ts";
import { startUserManager, type UserManager } from "../scripts/systemd/user_manager.ts";
import {
  commonServiceLines,
  execStart,
  httpGet,
  systemctlOk,
  withLogsOnFailure,
} from "./fixtures/systemd_activation/_harness.ts";
import { SKIP } from "./fixtures/systemd_activation/_skip.ts";
import { RUNTIME } from "./_runtime.ts";

const RESTARTS = 10;

describe("zero-downtime restart under a real systemd", { skip: SKIP }, () => {
  let manager: UserManager;

  before(async () => {
    manager = await startUserManager();
  });

  after(async () => {
    await manager?.stop();
  });

  /** Sets up a socket-activated service, runs the load through `restarts` restarts, returns the counts. */
  async function restartUnderLoad(restarts: number, serviceArgs: readonly string[]): Promise<{
    result: LoadResult;
    pids: Set<string>;
    base: string;
  }> {
    const base = manager.uniqueName("restart");
    const port = await freePort();
    await manager.writeUnit(
      `${base}.socket`,
      ["[Socket]", `ListenStream=127.0.0.1:${port}`, ""].join("\n"),
    );
    await manager.writeUnit(
      `${base}.service`,
      [
        "[Unit]",
        // The default start limit (5 starts in 10 s) would stop the 6th restart.
        "StartLimitIntervalSec=0",
        "[Service]",
        "Type=notify",
        `ExecStart=${execStart("activation_service.ts", [manager.tmpDir, ...serviceArgs])}`,
        ...commonServiceLines(join(manager.tmpDir, `${base}.log`)),
        "TimeoutStartSec=30s",
        // A service that does not drain in time is killed, and the test sees failed requests.
        "TimeoutStopSec=10s",
        "",
      ].join("\n"),
    );
    await systemctlOk(manager, "start", `${base}.socket`);
    const first = await httpGet({ host: "127.0.0.1", port }, "/");
    assert.match(first.body, /^hello from \d+\n$/);

    const stopLoad = new AbortController();
    // Every other request takes 40 ms, so SIGTERM finds requests in flight.
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
    const pids = new Set<string>();
    let restartMs = 0;
    try {
      for (let i = 0; i < restarts; i++) {
        const { MainPID } = await manager.show(`${base}.service`, ["MainPID"]);
        pids.add(MainPID);
        const since = performance.now();
        await systemctlOk(manager, "restart", `${base}.service`);
        restartMs += performance.now() - since;
        // Let the new process serve some requests before the next restart.
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      pids.add((await manager.show(`${base}.service`, ["MainPID"])).MainPID);
    } finally {
      stopLoad.abort();
    }
    const result = await load;
    console.log(
      `restart under load (${RUNTIME}${
        serviceArgs.length > 0 ? ` ${serviceArgs.join(" ")}` : ""
      }): ` +
        `${restarts} restarts (${(restartMs / restarts).toFixed(0)} ms each), ` +
        `${result.sent} requests: ${result.ok} ok, ${result.failed} failed ${
          JSON.stringify(result.errors)
        }, ` +
        `answered by ${Object.keys(result.bodies).length} processes, ` +
        `slowest ${result.maxLatencyMs.toFixed(0)} ms, ${(result.durationMs / 1000).toFixed(1)} s`,
    );
    return { result, pids, base };
  }

  test(`${RESTARTS} restarts under load fail no request and each starts a new process`, async () => {
    await withLogsOnFailure(manager, async () => {
      const { result, pids, base } = await restartUnderLoad(RESTARTS, []);
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
    const { result } = await restartUnderLoad(3, ["--abrupt"]);
    assert.ok(result.failed > 0, "an abrupt exit lost no request: the load cannot see failures");
  });
});
