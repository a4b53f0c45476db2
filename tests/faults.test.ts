// Faults against the real (independent) receiver: a receiver that stops
// reading for seconds, one that disappears with messages waiting, and
// NOTIFY_SOCKET values that point at things that are not a notify socket.
// READY=1 and STOPPING=1 must either arrive or reject with a typed error.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  barrier,
  notify,
  ready,
  startWatchdog,
  status,
  stopping,
  SystemdError,
  triggerWatchdog,
} from "../mod.ts";
import { withEnv } from "./_env.ts";
import { startReceiver } from "./_receiver.ts";
import { RUNTIME } from "./_runtime.ts";
import { envCount, figure, maxLoopDelay, openFdCount } from "./fixtures/_load.ts";

const PAUSE_MS: number = envCount("SDJS_FAULT_PAUSE_MS", 5000);
/**
 * The event loop may stall this long at most while messages wait. A send that
 * blocked would stall it for the whole pause (5000 ms); a garbage collection
 * after a million messages in the same process was measured at up to 83 ms.
 */
const LOOP_DELAY_BOUND_MS = 250;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: "fulfilled", value }),
    (reason: unknown) => ({ status: "rejected", reason }),
  );
}

describe(`faults: the receiver stops reading for ${PAUSE_MS} ms`, () => {
  test("every message, READY=1 and STOPPING=1 included, arrives in order once it drains, and the event loop never stalls", async () => {
    const receiver = await startReceiver();
    try {
      await receiver.pause();
      const texts = [
        ...Array.from({ length: 30 }, (_, index) => `STATUS=before ready ${index}`),
        "READY=1",
        ...Array.from({ length: 30 }, (_, index) => `STATUS=after ready ${index}`),
        "STOPPING=1",
      ];
      let resumedAt = 0;
      const { result, maxDelayMs } = await maxLoopDelay(() =>
        withEnv({ NOTIFY_SOCKET: receiver.address }, async () => {
          // Longer than the pause: the default 5 s would (correctly) give up on them.
          const sends = texts.map((text) => notify(text, { timeoutMs: PAUSE_MS + 10000 }));
          await sleep(PAUSE_MS);
          resumedAt = performance.now();
          await receiver.resume();
          const outcomes = await Promise.all(sends);
          return { outcomes, drainMs: performance.now() - resumedAt };
        })
      );
      assert.deepEqual(result.outcomes, texts.map(() => true));
      const received: string[] = [];
      for (let index = 0; index < texts.length; index++) {
        received.push((await receiver.next()).text);
      }
      assert.deepEqual(received, texts);
      assert.equal(await receiver.silentFor(100), true, "a message arrived twice");
      figure("stall", {
        runtime: RUNTIME,
        pauseMs: PAUSE_MS,
        messages: texts.length,
        maxLoopDelayMs: Number(maxDelayMs.toFixed(1)),
        drainMs: Number(result.drainMs.toFixed(1)),
      });
      assert.ok(maxDelayMs < LOOP_DELAY_BOUND_MS, `event loop blocked for ${maxDelayMs} ms`);
      // After the stall the queue is retried at most every 50 ms, so it drains promptly.
      assert.ok(result.drainMs < 1000, `took ${result.drainMs} ms to drain after resuming`);
    } finally {
      await receiver.close();
    }
  });

  test("a STOPPING=1 that cannot get through in time rejects with EAGAIN naming it, and is never sent late", async () => {
    const receiver = await startReceiver({ paused: true });
    try {
      const outcomes = await withEnv({ NOTIFY_SOCKET: receiver.address }, () => {
        const fill = Array.from(
          { length: 20 },
          (_, index) => settle(notify({ status: `fill ${index}` }, { timeoutMs: 300 })),
        );
        const last = settle(notify({ stopping: true }, { timeoutMs: 300 }));
        return Promise.all([...fill, last]);
      });
      const stop = outcomes[outcomes.length - 1];
      assert.equal(stop.status, "rejected");
      const error = (stop as PromiseRejectedResult).reason;
      assert.ok(error instanceof SystemdError);
      assert.equal(error.code, "EAGAIN");
      assert.match(error.message, /STOPPING=1/);
      await receiver.resume();
      const texts: string[] = [];
      while (!(await receiver.silentFor(200))) texts.push((await receiver.next()).text);
      assert.equal(texts.includes("STOPPING=1"), false, "sent after its promise rejected");
    } finally {
      await receiver.close();
    }
  });
});

describe("faults: the receiver disappears", () => {
  test("a READY=1 waiting for room rejects with ENOENT or ECONNREFUSED instead of vanishing, and the next receiver gets messages again", async () => {
    const receiver = await startReceiver({ paused: true });
    const address = receiver.address;
    const sends = await withEnv({ NOTIFY_SOCKET: address }, () => {
      const fill = Array.from({ length: 20 }, (_, index) => settle(status(`fill ${index}`)));
      const readyOutcome = settle(notify({ ready: true }, { timeoutMs: 10000 }));
      return { fill, readyOutcome };
    });
    const started = performance.now();
    await receiver.close(); // the receiver exits and its socket path is removed
    const readyOutcome = await sends.readyOutcome;
    const elapsedMs = performance.now() - started;
    assert.equal(
      readyOutcome.status,
      "rejected",
      "READY=1 was reported sent to a receiver that is gone",
    );
    const error = (readyOutcome as PromiseRejectedResult).reason;
    assert.ok(error instanceof SystemdError, String(error));
    assert.ok(["ENOENT", "ECONNREFUSED"].includes(error.code), error.code);
    // The socket we were connected to is gone; looking the path up afresh fails.
    assert.equal(error.syscall, "connect");
    assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms to notice`);
    for (const outcome of await Promise.all(sends.fill)) {
      if (outcome.status === "rejected") {
        assert.ok(outcome.reason instanceof SystemdError);
        assert.ok(["ENOENT", "ECONNREFUSED"].includes(outcome.reason.code), outcome.reason.code);
      }
    }
    const next = await startReceiver();
    try {
      assert.equal(await withEnv({ NOTIFY_SOCKET: next.address }, () => ready()), true);
      assert.equal((await next.next()).text, "READY=1");
    } finally {
      await next.close();
    }
  });

  test("a receiver whose socket file is left behind gives ECONNREFUSED for notify and barrier", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sdjs-gone-"));
    try {
      const path = join(directory, "notify.sock");
      const { execFileSync } = await import("node:child_process");
      // Bind and exit: the socket file stays, nobody reads it.
      execFileSync("python3", [
        "-c",
        `import socket;socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM).bind(${
          JSON.stringify(path)
        })`,
      ]);
      await withEnv({ NOTIFY_SOCKET: path }, async () => {
        for (const call of [() => ready(), () => stopping(), () => barrier(1000)]) {
          await assert.rejects(
            call(),
            (error: unknown) => error instanceof SystemdError && error.code === "ECONNREFUSED",
          );
        }
      });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("faults: NOTIFY_SOCKET points at something else", () => {
  let directory: string;
  let streamServer: Server;
  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "sdjs-badsock-"));
    writeFileSync(join(directory, "file"), "not a socket");
    mkdirSync(join(directory, "dir"));
    streamServer = createServer();
    await new Promise<void>((resolve) =>
      streamServer.listen(join(directory, "stream.sock"), resolve)
    );
  });
  after(async () => {
    await new Promise<void>((resolve) => streamServer.close(() => resolve()));
    rmSync(directory, { recursive: true, force: true });
  });

  // "socket": the kernel refuses the address; plain messages find that out
  // connecting their kept socket, a barrier (which names the address in its
  // sendmsg, to pass its descriptor) sending.
  const cases: [string, () => string, string, "socket" | "NOTIFY_SOCKET"][] = [
    ["a regular file", () => join(directory, "file"), "ECONNREFUSED", "socket"],
    ["a directory", () => join(directory, "dir"), "ECONNREFUSED", "socket"],
    ["a stream socket", () => join(directory, "stream.sock"), "EPROTOTYPE", "socket"],
    ["a path that does not exist", () => join(directory, "missing", "notify"), "ENOENT", "socket"],
    ["a path longer than sun_path", () => "/" + "n".repeat(200), "EINVAL", "NOTIFY_SOCKET"],
    ["a relative path", () => "run/notify", "EINVAL", "NOTIFY_SOCKET"],
    ["a lone @", () => "@", "EINVAL", "NOTIFY_SOCKET"],
    ["a vsock address", () => "vsock:2:1", "EAFNOSUPPORT", "NOTIFY_SOCKET"],
  ];
  for (const [what, value, code, failing] of cases) {
    test(`${what}: ready, stopping, status, barrier and triggerWatchdog all reject with ${code}, and no descriptor is left open`, async () => {
      const calls: [string, () => Promise<boolean>][] = [
        ["ready", () => ready()],
        ["stopping", () => stopping()],
        ["status", () => status("x")],
        ["barrier", () => barrier(1000)],
        ["triggerWatchdog", () => triggerWatchdog()],
      ];
      await withEnv({ NOTIFY_SOCKET: value() }, async () => {
        await ready().catch(() => {}); // the first failure may load the backend and open the kept socket
        const fdsBefore = openFdCount();
        for (let round = 0; round < 20; round++) {
          for (const [name, call] of calls) {
            await assert.rejects(call(), (error: unknown) => {
              assert.ok(error instanceof SystemdError, `${name}: ${String(error)}`);
              assert.equal(error.code, code, `${name}: ${error.message}`);
              const syscall = failing === "NOTIFY_SOCKET"
                ? "NOTIFY_SOCKET"
                : name === "barrier"
                ? "sendmsg"
                : "connect";
              assert.equal(error.syscall, syscall, name);
              return true;
            });
          }
        }
        assert.equal(openFdCount(), fdsBefore);
      });
    });
  }

  test("a watchdog keep-alive to a directory reports ECONNREFUSED to onError and keeps the process running", async () => {
    const errors: unknown[] = [];
    await withEnv(
      {
        NOTIFY_SOCKET: join(directory, "dir"),
        WATCHDOG_USEC: "40000",
        WATCHDOG_PID: String(process.pid),
      },
      async () => {
        const watchdog = startWatchdog({ onError: (error) => errors.push(error) });
        try {
          await sleep(150);
          assert.equal(watchdog.running, true);
        } finally {
          watchdog.stop();
        }
      },
    );
    assert.ok(errors.length >= 3, `only ${errors.length} keep-alives attempted`);
    for (const error of errors) {
      assert.ok(error instanceof SystemdError && error.code === "ECONNREFUSED", String(error));
    }
  });
});
