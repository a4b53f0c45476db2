import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { idleTimer } from "../mod.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("idleTimer", () => {
  test("calls onIdle once after idleMs with nothing active", async () => {
    let calls = 0;
    const started = performance.now();
    let calledAfter = 0;
    const idle = idleTimer({
      idleMs: 100,
      onIdle: () => {
        calls++;
        calledAfter = performance.now() - started;
      },
    });
    await sleep(300);
    assert.equal(calls, 1);
    assert.ok(calledAfter >= 98 && calledAfter < 250, `after ${calledAfter} ms`);
    assert.equal(idle.stopped, true);
  });

  test("work in progress holds it off; the idle period starts when the work ends", async () => {
    let idleAt = 0;
    const idle = idleTimer({ idleMs: 100, onIdle: () => (idleAt = performance.now()) });
    const end = idle.begin();
    assert.equal(idle.active, 1);
    await sleep(250);
    assert.equal(idleAt, 0, "went idle while work was running");
    const endedAt = performance.now();
    end();
    end(); // a second call counts once
    assert.equal(idle.active, 0);
    await sleep(200);
    assert.ok(idleAt - endedAt >= 98, `idle ${idleAt - endedAt} ms after the work ended`);
  });

  test("touch() restarts the idle period", async () => {
    let called = false;
    const idle = idleTimer({ idleMs: 120, onIdle: () => (called = true) });
    for (let index = 0; index < 4; index++) {
      await sleep(60);
      idle.touch();
    }
    assert.equal(called, false);
    await sleep(200);
    assert.equal(called, true);
  });

  test("stop() cancels it", async () => {
    let called = false;
    const idle = idleTimer({ idleMs: 50, onIdle: () => (called = true) });
    idle.stop();
    await sleep(120);
    assert.equal(called, false);
  });

  test("refuses a non-positive idle time", () => {
    assert.throws(() => idleTimer({ idleMs: 0, onIdle: () => {} }), RangeError);
    assert.throws(() => idleTimer({ idleMs: Number.NaN, onIdle: () => {} }), RangeError);
  });
});
