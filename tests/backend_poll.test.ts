/**
 * The two poll-based calls of the libc backend the protocol code relies on:
 * `pollHangup` (a barrier's pipe) and `waitWritable` (the sender's bounded
 * wait for room in the manager's queue), on the backend of the runtime
 * running the tests.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseNotifySocket, SystemdError } from "../mod.ts";
import { activeBackend } from "../src/_active.ts";
import { startReceiver } from "./_receiver.ts";

const EAGAIN = 11;

describe("backend poll calls", () => {
  test("pollHangup is false while the write end is open and true once it closes", async () => {
    const backend = await activeBackend();
    const [readEnd, writeEnd] = backend.pipe();
    try {
      assert.equal(backend.pollHangup(readEnd), false);
      backend.close(writeEnd);
      assert.equal(backend.pollHangup(readEnd), true);
    } finally {
      backend.close(readEnd);
    }
  });

  test("a closed descriptor is EBADF for pollHangup and waitWritable alike", async () => {
    const backend = await activeBackend();
    const [readEnd, writeEnd] = backend.pipe();
    backend.close(readEnd);
    backend.close(writeEnd);
    for (
      const call of [() => backend.pollHangup(readEnd), () => backend.waitWritable(readEnd, 0)]
    ) {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof SystemdError, String(error));
        assert.equal(error.code, "EBADF");
        return true;
      });
    }
  });

  test("waitWritable waits out its timeout on a full queue and wakes when the reader reads", async () => {
    const backend = await activeBackend();
    const receiver = await startReceiver({ paused: true });
    const socket = backend.openDatagramSocket();
    try {
      const address = parseNotifySocket(receiver.address).sockaddr;
      assert.equal(backend.connect(socket, address), 0);
      const payload = new TextEncoder().encode("STATUS=fill");
      let sent = 0;
      while (backend.send(socket, null, payload, payload.length, null, null) === 0) sent++;
      assert.equal(backend.send(socket, null, payload, payload.length, null, null), EAGAIN);
      assert.ok(sent > 0, "the queue took nothing");

      const started = performance.now();
      assert.equal(backend.waitWritable(socket, 50), false, "writable while the queue is full");
      assert.ok(performance.now() - started >= 40, "returned before its timeout");

      await receiver.resume();
      assert.equal(backend.waitWritable(socket, 5000), true, "not woken when the receiver read");
      assert.equal(backend.send(socket, null, payload, payload.length, null, null), 0);
    } finally {
      backend.close(socket);
      await receiver.close();
    }
  });
});
