/**
 * The watchdog under a real systemd user manager (`WatchdogSec=2`): the example service of the
 * runtime running the tests, installed with `examples/units/app.service`, keeps the watchdog
 * fed with `startWatchdog()` for 30 s; a service whose event loop hangs stops feeding it and is
 * killed with `Result=watchdog`, then brought back by `Restart=on-failure`.
 *
 * The healthy service starts in `before()`, so its 30 s run overlaps the other test.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { freePort } from "../scripts/systemd/free_port.ts";
import {
  exampleServiceUnit,
  httpText,
  sleep,
  systemctlOk,
  waitForText,
  writeNotifyService,
} from "./_systemd.ts";
import { SKIP, useUserManager } from "./_user_manager.ts";

/** How long the healthy service must survive. */
const SURVIVAL_MS = 30_000;

/** What the tests read from `systemctl --user show`. */
const PROPERTIES: readonly string[] = [
  "ActiveState",
  "SubState",
  "Result",
  "StatusText",
  "MainPID",
  "NRestarts",
  "WatchdogUSec",
  "WatchdogTimestampMonotonic",
];

describe("watchdog under a real systemd", { skip: SKIP }, () => {
  let healthyUnit: string;
  let healthyPort: number;
  let healthyStart: number;
  let healthyFirst: Record<string, string>;

  const systemd = useUserManager(async (manager) => {
    const base = manager.uniqueName("wd-healthy");
    healthyUnit = `${base}.service`;
    healthyPort = await freePort();
    const greeting = join(manager.tmpDir, `${base}.greeting`);
    writeFileSync(greeting, "hello\n");
    await manager.writeUnit(
      healthyUnit,
      exampleServiceUnit(
        join(manager.tmpDir, `${base}.log`),
        { PORT: String(healthyPort), HOST: "127.0.0.1", GREETING_FILE: greeting },
        ["WatchdogSec=2"],
      ),
    );
    await systemctlOk(manager, "start", healthyUnit);
    healthyStart = Date.now();
    healthyFirst = await manager.show(healthyUnit, PROPERTIES);
  });

  test("a hung event loop stops the keep-alives: Result=watchdog, then Restart=on-failure starts it again", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const { unit, log } = await writeNotifyService(
        manager,
        "wd-hang",
        "tests/fixtures/systemd/hang_on_signal.ts",
        [],
        [
          "WatchdogSec=2",
          "Restart=on-failure",
          // Long enough to see the failed run's Result before the restart resets it.
          "RestartSec=1",
        ],
      );
      await systemctlOk(manager, "start", unit);
      const first = await manager.show(unit, PROPERTIES);
      assert.equal(first.WatchdogUSec, "2s");
      assert.equal(first.StatusText, "Healthy, watchdog every 2000 ms");

      // Fed: it outlives two watchdog intervals.
      await sleep(4_500);
      const fed = await manager.show(unit, PROPERTIES);
      assert.equal(fed.MainPID, first.MainPID);
      assert.equal(fed.SubState, "running");
      assert.ok(
        BigInt(fed.WatchdogTimestampMonotonic) > BigInt(first.WatchdogTimestampMonotonic),
        "no keep-alive arrived",
      );

      const hungAt = Date.now();
      await systemctlOk(manager, "kill", "--kill-who=main", "--signal=SIGUSR2", unit);
      await waitForText(log, "SIGUSR2: hanging the event loop");
      const killed = await manager.waitFor(
        unit,
        (p) => p.Result === "watchdog",
        10_000,
        PROPERTIES,
      );
      const afterMs = Date.now() - hungAt;
      // At most 2 s after the last keep-alive, which came at most 1 s before the hang.
      assert.ok(afterMs >= 900 && afterMs < 6_000, `killed ${afterMs} ms after the hang`);
      assert.notEqual(killed.SubState, "running");
      assert.match(
        await waitForText(log, "exit: result=watchdog"),
        /^exit: result=watchdog code=(killed|dumped) status=ABRT$/m,
      );

      const back = await manager.waitFor(
        unit,
        (p) => p.SubState === "running" && p.MainPID !== "0" && p.MainPID !== first.MainPID,
        15_000,
        PROPERTIES,
      );
      assert.ok(Number(back.NRestarts) >= 1, `NRestarts=${back.NRestarts}`);
      assert.equal(back.ActiveState, "active");
      assert.equal(back.StatusText, "Healthy, watchdog every 2000 ms");
    });
  });

  test("a healthy service feeding the watchdog survives 30 s: same MainPID, NRestarts=0, Result=success", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      assert.equal(healthyFirst.WatchdogUSec, "2s");
      assert.equal(healthyFirst.SubState, "running");
      let previous = healthyFirst;
      let samples = 0;
      let keepAlives = 0;
      while (Date.now() - healthyStart < SURVIVAL_MS) {
        await sleep(Math.min(2_000, Math.max(0, SURVIVAL_MS - (Date.now() - healthyStart))));
        samples++;
        const now = await manager.show(healthyUnit, PROPERTIES);
        assert.equal(now.MainPID, healthyFirst.MainPID, "the service was restarted");
        assert.equal(now.NRestarts, "0");
        assert.equal(now.ActiveState, "active");
        assert.equal(now.SubState, "running");
        assert.equal(now.Result, "success");
        if (BigInt(now.WatchdogTimestampMonotonic) > BigInt(previous.WatchdogTimestampMonotonic)) {
          keepAlives++;
        }
        previous = now;
      }
      assert.ok(Date.now() - healthyStart >= SURVIVAL_MS);
      // Sampled every 2 s (the last gap may be shorter), with a keep-alive every 1 s: each
      // sample sees a newer one.
      assert.ok(samples >= 5, `only ${samples} samples`);
      assert.ok(
        keepAlives >= samples - 1,
        `${keepAlives} of ${samples} samples saw a new keep-alive`,
      );
      assert.equal(await httpText("127.0.0.1", healthyPort), "hello\n");
    });
  });
});
