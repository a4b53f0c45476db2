import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { notify, startWatchdog, triggerWatchdog, watchdogEnabled } from "../mod.ts";
import { withEnv } from "./_env.ts";
import { type Receiver, startReceiver } from "./_receiver.ts";
import { runFixture } from "./_runtime.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Arrival times (receiver clock, ms) of the next `count` keep-alives. */
async function keepAliveTimes(receiver: Receiver, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < count; index++) {
    const message = await receiver.next(3000);
    assert.equal(message.text, "WATCHDOG=1");
    times.push(message.arrivedUsec / 1000);
  }
  return times;
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((time, index) => time - times[index]);
}

// Tolerance. Gaps are measured where the keep-alives arrive, at the receiver:
// a timer never fires early, but a receiver woken a few ms late for one
// keep-alive makes that gap look longer and the next one shorter, so we allow
// 10 ms early. On a busy 2-core machine a timer may also fire late. systemd
// acts only when a whole interval passes without a keep-alive, i.e. when a
// half-interval tick is 100% late, so we accept ticks up to 50% late (at least
// 60 ms): still correct service behaviour, while a wrong schedule, such as
// pinging at the full interval or not retuning, falls outside.
const EARLY_MS = 10;
function lateMs(halfMs: number): number {
  return Math.max(halfMs / 2, 60);
}

describe("watchdog", () => {
  test("watchdogEnabled() gives the interval in ms, or undefined", async () => {
    await withEnv({ WATCHDOG_USEC: "2500000", WATCHDOG_PID: String(process.pid) }, () => {
      assert.equal(watchdogEnabled(), 2500);
    });
    await withEnv({ WATCHDOG_USEC: "2500000", WATCHDOG_PID: String(process.pid + 1) }, () => {
      assert.equal(watchdogEnabled(), undefined);
    });
    await withEnv({ WATCHDOG_USEC: undefined, WATCHDOG_PID: undefined }, () => {
      assert.equal(watchdogEnabled(), undefined);
    });
    await withEnv({ WATCHDOG_USEC: "1", WATCHDOG_PID: undefined }, () => {
      assert.equal(watchdogEnabled({ unsetEnvironment: true }), 0.001);
      assert.equal(process.env.WATCHDOG_USEC, undefined);
    });
  });

  test("sends a keep-alive at once and then every half interval", async () => {
    const receiver = await startReceiver();
    const env = { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: "400000", WATCHDOG_PID: undefined };
    try {
      await withEnv(env, async () => {
        const started = performance.now();
        const watchdog = startWatchdog();
        try {
          assert.equal(watchdog.running, true);
          assert.equal(watchdog.intervalMs, 400);
          await keepAliveTimes(receiver, 1);
          const firstAfterMs = performance.now() - started;
          assert.ok(firstAfterMs < 150, `first keep-alive after ${firstAfterMs} ms`);
          // The first keep-alive may wait for the one-time FFI load, while the
          // timer already counts from start(): measure the cadence after it.
          const times = await keepAliveTimes(receiver, 6);
          console.log("keep-alive gaps (ms):", gaps(times).map((gap) => gap.toFixed(1)).join(" "));
          for (const gap of gaps(times)) {
            assert.ok(gap >= 200 - EARLY_MS && gap <= 200 + lateMs(200), `gap of ${gap} ms`);
          }
        } finally {
          watchdog.stop();
        }
      });
      assert.equal(await receiver.silentFor(500), true, "a keep-alive after stop()");
    } finally {
      await receiver.close();
    }
  });

  test("follows a new interval sent with WATCHDOG_USEC", async () => {
    const receiver = await startReceiver();
    const env = { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: "10000000", WATCHDOG_PID: undefined };
    try {
      await withEnv(env, async () => {
        const watchdog = startWatchdog();
        try {
          await keepAliveTimes(receiver, 1);
          await notify({ watchdogUsec: 200000 });
          assert.equal((await receiver.next()).text, "WATCHDOG_USEC=200000");
          assert.equal(watchdog.intervalMs, 200);
          for (const gap of gaps(await keepAliveTimes(receiver, 5))) {
            assert.ok(gap >= 100 - EARLY_MS && gap <= 100 + lateMs(100), `gap of ${gap} ms`);
          }
        } finally {
          watchdog.stop();
        }
      });
    } finally {
      await receiver.close();
    }
  });

  test("a blocked event loop stops the keep-alives", async () => {
    const receiver = await startReceiver();
    const env = { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: "200000", WATCHDOG_PID: undefined };
    try {
      await withEnv(env, async () => {
        const watchdog = startWatchdog();
        try {
          const [, lastBefore] = await keepAliveTimes(receiver, 2);
          const until = performance.now() + 700;
          while (performance.now() < until) {
            // a hung loop: no timer can run
          }
          const [firstAfter] = await keepAliveTimes(receiver, 1);
          const gap = firstAfter - lastBefore;
          assert.ok(gap >= 650, `gap of ${gap} ms across a 700 ms hang`);
        } finally {
          watchdog.stop();
        }
      });
    } finally {
      await receiver.close();
    }
  });

  test("no keep-alives when WATCHDOG_PID names another process", async () => {
    const receiver = await startReceiver();
    const env = {
      NOTIFY_SOCKET: receiver.address,
      WATCHDOG_USEC: "100000",
      WATCHDOG_PID: String(process.pid + 1),
    };
    try {
      await withEnv(env, async () => {
        const watchdog = startWatchdog();
        assert.equal(watchdog.running, false);
        assert.equal(watchdog.intervalMs, undefined);
        assert.equal(await receiver.silentFor(400), true);
        watchdog.stop();
      });
    } finally {
      await receiver.close();
    }
  });

  test("starting a second watchdog stops the first", async () => {
    const receiver = await startReceiver();
    const env = { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: "200000", WATCHDOG_PID: undefined };
    try {
      await withEnv(env, async () => {
        const first = startWatchdog();
        const second = startWatchdog();
        try {
          assert.equal(first.running, false);
          assert.equal(second.running, true);
          await sleep(450);
        } finally {
          second.stop();
        }
      });
      // One immediate ping from each start, then one every 100 ms from the second only.
      let pings = 0;
      while (!(await receiver.silentFor(150))) {
        await receiver.next();
        pings++;
      }
      assert.ok(pings >= 5 && pings <= 8, `${pings} keep-alives`);
    } finally {
      await receiver.close();
    }
  });

  test("the process exits normally while the watchdog runs", async () => {
    const receiver = await startReceiver();
    try {
      const result = await runFixture("watchdog_and_exit.ts", [], {
        env: { ...process.env, NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: "10000000" },
        timeoutMs: 8000,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { running: true, intervalMs: 10000 });
      assert.ok(result.elapsedMs < 5000, `took ${result.elapsedMs} ms`);
      assert.equal((await receiver.next()).text, "WATCHDOG=1");
    } finally {
      await receiver.close();
    }
  });

  test("triggerWatchdog() sends WATCHDOG=trigger", async () => {
    const receiver = await startReceiver();
    try {
      await withEnv({ NOTIFY_SOCKET: receiver.address }, () => triggerWatchdog());
      assert.equal((await receiver.next()).text, "WATCHDOG=trigger");
    } finally {
      await receiver.close();
    }
  });
});
