/**
 * Exit on idle under a real systemd, with the library's `idleTimer`: the socket-activated
 * service exits by itself after N idle seconds (Result=success), systemd keeps the port
 * (the socket unit stays listening), and the next request starts it again and is answered.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  ACTIVATION_SERVICE,
  execStart,
  httpGet,
  readText,
  serviceLines,
  systemctlOk,
  writeTcpActivatedService,
} from "./_systemd.ts";
import { SKIP, useUserManager } from "./_user_manager.ts";

const IDLE_MS = 1500;

describe("idle exit under a real systemd", { skip: SKIP }, () => {
  const systemd = useUserManager();

  test("the service exits 0 after the idle time, the socket keeps listening, and the next request starts it again", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const base = manager.uniqueName("idle");
      const log = join(manager.tmpDir, `${base}.log`);
      const port = await writeTcpActivatedService(manager, base, [
        "[Service]",
        "Type=notify",
        `ExecStart=${
          execStart(ACTIVATION_SERVICE, [manager.tmpDir, "--idle-ms", String(IDLE_MS)])
        }`,
        ...serviceLines(log),
        "TimeoutStartSec=30s",
      ]);
      await systemctlOk(manager, "start", `${base}.socket`);
      const service = `${base}.service`;
      const properties = [
        "ActiveState",
        "SubState",
        "Result",
        "MainPID",
        "ExecMainStatus",
        "ExecMainCode",
      ];

      const first = await httpGet({ host: "127.0.0.1", port }, "/");
      const running = await manager.show(service, properties);
      assert.equal(running.ActiveState, "active");
      assert.equal(first.body, `hello from ${running.MainPID}\n`);
      const answeredAt = performance.now();

      // Requests keep it alive: one every IDLE_MS / 3 for 2 × IDLE_MS, always the same process.
      while (performance.now() - answeredAt < 2 * IDLE_MS) {
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 3));
        const again = await httpGet({ host: "127.0.0.1", port }, "/");
        assert.equal(
          again.body,
          `hello from ${running.MainPID}\n`,
          "the service restarted while busy",
        );
      }
      const lastAnswer = performance.now();

      const exited = await manager.waitFor(
        service,
        (p) => p.ActiveState === "inactive",
        10 * IDLE_MS,
        properties,
      );
      const idleFor = performance.now() - lastAnswer;
      assert.equal(exited.Result, "success");
      assert.equal(exited.ExecMainStatus, "0");
      assert.equal(
        exited.ExecMainCode,
        "1",
        "the main process did not exit by itself (CLD_EXITED)",
      );
      assert.ok(
        idleFor >= IDLE_MS - 100,
        `the service exited ${idleFor.toFixed(0)} ms after the last request`,
      );
      assert.match(
        readText(log),
        new RegExp(`pid ${running.MainPID}: Idle for ${IDLE_MS} ms, exiting`),
      );
      const socket = await manager.show(`${base}.socket`, ["ActiveState", "SubState"]);
      assert.equal(socket.SubState, "listening", "systemd did not keep the socket");

      const next = await httpGet({ host: "127.0.0.1", port }, "/");
      const restarted = await manager.show(service, properties);
      assert.equal(restarted.ActiveState, "active");
      assert.notEqual(restarted.MainPID, running.MainPID);
      assert.equal(
        next.body,
        `hello from ${restarted.MainPID}\n`,
        "the next request was not answered by a new process",
      );
      console.log(
        `idle exit (${IDLE_MS} ms): pid ${running.MainPID} exited ${
          idleFor.toFixed(0)
        } ms after its last request; ` +
          `the next request started pid ${restarted.MainPID}`,
      );
    });
  });
});
