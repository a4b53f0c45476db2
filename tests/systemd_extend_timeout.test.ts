/**
 * `extendTimeout()` under a real systemd user manager: with `TimeoutStartSec=2`, a service that
 * needs about 5 s to start reaches `running` when it sends `EXTEND_TIMEOUT_USEC=` every second,
 * and fails with `Result=timeout` when it does not (the control case).
 *
 * Both services start together in `before()`; the tests wait for their outcomes.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type NotifyService, readText, systemctlOk, writeNotifyService } from "./_systemd.ts";
import { SKIP, useUserManager } from "./_user_manager.ts";

/** How long the fixture takes to start. */
const START_MS = 5_000;

/** What the tests read from `systemctl --user show`. */
const PROPERTIES: readonly string[] = [
  "ActiveState",
  "SubState",
  "Result",
  "StatusText",
  "MainPID",
  "NRestarts",
  "TimeoutStartUSec",
  "ExecMainStartTimestampMonotonic",
  "ActiveEnterTimestampMonotonic",
  "InactiveEnterTimestampMonotonic",
];

/** Microseconds between two `…TimestampMonotonic` properties, in milliseconds. */
function elapsedMs(from: string, to: string): number {
  return Number(BigInt(to) - BigInt(from)) / 1000;
}

describe("extendTimeout() under a real systemd", { skip: SKIP }, () => {
  let extending: NotifyService;
  let control: NotifyService;

  const systemd = useUserManager(async (manager) => {
    const write = (prefix: string, mode: string): Promise<NotifyService> =>
      writeNotifyService(
        manager,
        prefix,
        "tests/fixtures/systemd/slow_start.ts",
        [String(START_MS), mode],
        ["TimeoutStartSec=2", "Restart=no"],
      );
    extending = await write("ext-extend", "extend");
    control = await write("ext-control", "no-extend");
    // Both at once, without waiting for the start jobs to finish.
    await systemctlOk(manager, "start", "--no-block", extending.unit, control.unit);
  });

  test("a 5 s start that calls extendTimeout() every second outlives TimeoutStartSec=2 and reaches running", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const props = await manager.waitFor(
        extending.unit,
        (p) => p.SubState === "running" || p.ActiveState === "failed",
        20_000,
        PROPERTIES,
      );
      assert.equal(props.TimeoutStartUSec, "2s");
      assert.equal(props.ActiveState, "active", JSON.stringify(props));
      assert.equal(props.SubState, "running");
      assert.equal(props.Result, "success");
      assert.match(props.StatusText, /^Started after \d+ ms$/);
      const startup = elapsedMs(
        props.ExecMainStartTimestampMonotonic,
        props.ActiveEnterTimestampMonotonic,
      );
      assert.ok(startup >= START_MS - 100, `activating took only ${startup} ms`);
      assert.match(readText(extending.log), /asked for 2000 ms more/);
    });
  });

  test("the same start without extendTimeout() fails with Result=timeout after about 2 s (control)", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const props = await manager.waitFor(
        control.unit,
        (p) => p.ActiveState === "failed" || p.SubState === "running",
        20_000,
        PROPERTIES,
      );
      assert.equal(props.TimeoutStartUSec, "2s");
      assert.equal(props.ActiveState, "failed", JSON.stringify(props));
      assert.equal(props.Result, "timeout");
      const lived = elapsedMs(
        props.ExecMainStartTimestampMonotonic,
        props.InactiveEnterTimestampMonotonic,
      );
      assert.ok(lived >= 1_900 && lived < START_MS - 500, `failed after ${lived} ms`);
      const output = readText(control.log);
      assert.doesNotMatch(output, /asked for/);
      assert.doesNotMatch(output, /^ready after/m);
    });
  });
});
