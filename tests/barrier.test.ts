import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { describe, test } from "node:test";
import { barrier, notify, status, SystemdError } from "../mod.ts";
import { withEnv } from "./_env.ts";
import { startReceiver } from "./_receiver.ts";

function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

describe("barrier", () => {
  test("sends BARRIER=1 alone with one pipe descriptor, after earlier messages", async () => {
    const receiver = await startReceiver();
    try {
      const result = await withEnv({ NOTIFY_SOCKET: receiver.address }, async () => {
        await status("before");
        return await barrier(5000);
      });
      assert.equal(result, true);
      assert.equal((await receiver.next()).text, "STATUS=before");
      const message = await receiver.next();
      assert.equal(message.text, "BARRIER=1");
      assert.equal(message.fds.length, 1);
      assert.equal(message.fds[0].kind, "fifo");
    } finally {
      await receiver.close();
    }
  });

  test("waits until the receiver closes the descriptor", async () => {
    const receiver = await startReceiver({ paused: true });
    try {
      await withEnv({ NOTIFY_SOCKET: receiver.address }, async () => {
        let settled = false;
        const waiting = barrier(5000).then((value) => {
          settled = true;
          return value;
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(settled, false, "barrier resolved before the manager read it");
        await receiver.resume();
        assert.equal(await waiting, true);
      });
    } finally {
      await receiver.close();
    }
  });

  test("rejects with ETIMEDOUT when the descriptor is never closed, and leaks no fd", async () => {
    const receiver = await startReceiver({ keepFds: true });
    try {
      await withEnv({ NOTIFY_SOCKET: receiver.address }, async () => {
        await status("warm-up"); // opens the kept socket before counting
        const fdsBefore = openFdCount();
        const started = performance.now();
        await assert.rejects(barrier(200), (error: unknown) => {
          assert.ok(error instanceof SystemdError);
          assert.equal(error.code, "ETIMEDOUT");
          return true;
        });
        const elapsed = performance.now() - started;
        assert.ok(elapsed >= 190 && elapsed < 1500, `waited ${elapsed} ms`);
        assert.equal(openFdCount(), fdsBefore);
      });
    } finally {
      await receiver.close();
    }
  });

  test("not under systemd it resolves false at once", async () => {
    await withEnv({ NOTIFY_SOCKET: undefined }, async () => {
      assert.equal(await barrier(), false);
    });
  });

  test("a bad timeout is a RangeError", async () => {
    await assert.rejects(barrier(-1), RangeError);
    await assert.rejects(barrier(Number.NaN), RangeError);
  });

  test("a notify followed by a barrier cannot be reordered", async () => {
    const receiver = await startReceiver();
    try {
      await withEnv({ NOTIFY_SOCKET: receiver.address }, async () => {
        const sends = [notify({ status: "1" }), notify({ status: "2" }), barrier(5000)];
        await Promise.all(sends);
      });
      assert.equal((await receiver.next()).text, "STATUS=1");
      assert.equal((await receiver.next()).text, "STATUS=2");
      assert.equal((await receiver.next()).text, "BARRIER=1");
    } finally {
      await receiver.close();
    }
  });
});
