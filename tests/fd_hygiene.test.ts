// Descriptor hygiene: notify() keeps one socket, barrier() closes both pipe
// ends on every path, and after listenFds() no child process, whichever spawn
// API started it, holds the listening sockets. Loop sizes come from
// SDJS_FD_NOTIFIES / SDJS_FD_BARRIERS (npm test: 10^5 / 10^3; stress: 10^6 / 10^4).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { barrier, notify, status, type SystemdError } from "../mod.ts";
import { withEnv } from "./_env.ts";
import { startReceiver } from "./_receiver.ts";
import { ROOT, RUNTIME, runtimeCommand } from "./_runtime.ts";
import {
  connectWhenListening,
  envCount,
  type FdCensus,
  fdCensus,
  figure,
  startSink,
} from "./fixtures/_load.ts";

const NOTIFIES: number = envCount("SDJS_FD_NOTIFIES", 100_000);
const BARRIERS: number = envCount("SDJS_FD_BARRIERS", 1_000);
/** How many sends may be in flight before the loop waits for the last one. */
const BATCH = 64;
/**
 * Slack on the total count only: Deno's runtime lazily opens one stream
 * socketpair of its own at some point under load (seen once, never growing).
 * The kinds our code creates (datagram sockets, pipes) must match exactly.
 */
const RUNTIME_SLACK = 2;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function assertNoLeak(before: FdCensus, after: FdCensus): void {
  assert.equal(
    after.unixDgram,
    before.unixDgram,
    `datagram sockets ${before.unixDgram} → ${after.unixDgram}`,
  );
  assert.equal(after.pipes, before.pipes, `pipe ends ${before.pipes} → ${after.pipes}`);
  assert.ok(
    after.total <= before.total + RUNTIME_SLACK,
    `descriptors ${before.total} → ${after.total}`,
  );
}

describe("descriptor hygiene under load", () => {
  test(`${NOTIFIES} notifies and ${BARRIERS} barriers leave the descriptor count unchanged and lose no message`, async () => {
    const sink = await startSink({ expectPrefix: "STATUS=load " });
    try {
      const failures: unknown[] = [];
      const record = (error: unknown): void => {
        failures.push(error);
      };
      const figures = await withEnv({ NOTIFY_SOCKET: sink.address }, async () => {
        // Warm up: the first notify loads the backend and opens the one kept socket.
        for (let index = 0; index < 1000; index++) await status(`load warm ${index}`);
        for (let index = 0; index < 10; index++) await barrier();
        const before = fdCensus();
        const started = performance.now();
        for (let index = 0; index < NOTIFIES; index++) {
          const sent = status(`load ${index}`);
          sent.catch(record);
          if (index % BATCH === BATCH - 1) await sent.catch(() => {});
        }
        await sink.waitFor(1000 + 10 + NOTIFIES, 120_000);
        const notifyMs = performance.now() - started;
        const afterNotifies = fdCensus();
        const barrierStarted = performance.now();
        for (let index = 0; index < BARRIERS; index++) await barrier();
        const barrierMs = performance.now() - barrierStarted;
        const after = fdCensus();
        return { before, afterNotifies, after, notifyMs, barrierMs };
      });
      const seen = await sink.count();
      assert.deepEqual(failures, []);
      assert.equal(seen.messages, 1000 + 10 + NOTIFIES + BARRIERS);
      assert.equal(seen.bad, 10 + BARRIERS, "only the barriers are not load statuses");
      assert.equal(seen.fds, 10 + BARRIERS, "every barrier carried exactly one descriptor");
      assert.equal(seen.last, "BARRIER=1");
      figure("fd-load", {
        runtime: RUNTIME,
        notifies: NOTIFIES,
        barriers: BARRIERS,
        fdsBefore: figures.before.total,
        fdsAfterNotifies: figures.afterNotifies.total,
        fdsAfter: figures.after.total,
        dgramSocketsBefore: figures.before.unixDgram,
        dgramSocketsAfter: figures.after.unixDgram,
        pipesBefore: figures.before.pipes,
        pipesAfter: figures.after.pipes,
        notifySeconds: Number((figures.notifyMs / 1000).toFixed(1)),
        barrierSeconds: Number((figures.barrierMs / 1000).toFixed(1)),
      });
      assertNoLeak(figures.before, figures.afterNotifies);
      assertNoLeak(figures.before, figures.after);
    } finally {
      await sink.close();
    }
  });

  test("failed sends, expired queued messages and timed-out barriers close every descriptor they opened", async () => {
    const missing = join(tmpdir(), `sdjs-missing-${process.pid}`, "notify");
    const paused = await startReceiver({ paused: true });
    const holding = await startReceiver({ keepFds: true }); // never closes the barrier fd: barriers time out
    try {
      await withEnv({ NOTIFY_SOCKET: missing }, () => barrier(100).catch(() => {}));
      const before = fdCensus();
      const rounds = Math.max(100, Math.floor(BARRIERS / 2));
      await withEnv({ NOTIFY_SOCKET: missing }, async () => {
        for (let index = 0; index < rounds; index++) {
          await assert.rejects(
            status("x"),
            (error: unknown) => (error as SystemdError).code === "ENOENT",
          );
          await assert.rejects(
            barrier(100),
            (error: unknown) => (error as SystemdError).code === "ENOENT",
          );
        }
      });
      await withEnv({ NOTIFY_SOCKET: paused.address }, async () => {
        const outcomes = await Promise.allSettled([
          ...Array.from({ length: 40 }, () => notify({ status: "expires" }, { timeoutMs: 50 })),
          barrier(50),
          barrier(50),
        ]);
        const codes = outcomes.filter((outcome) => outcome.status === "rejected")
          .map((outcome) => ((outcome as PromiseRejectedResult).reason as SystemdError).code);
        assert.ok(codes.length >= 2, "the queue never filled");
        assert.ok(codes.every((code) => code === "EAGAIN" || code === "ETIMEDOUT"), codes.join());
      });
      await withEnv({ NOTIFY_SOCKET: holding.address }, async () => {
        for (let index = 0; index < 20; index++) {
          await assert.rejects(
            barrier(10),
            (error: unknown) => (error as SystemdError).code === "ETIMEDOUT",
          );
        }
      });
      const after = fdCensus();
      figure("fd-errors", {
        runtime: RUNTIME,
        rounds,
        fdsBefore: before.total,
        fdsAfter: after.total,
      });
      assertNoLeak(before, after);
    } finally {
      await paused.close();
      await holding.close();
    }
  });
});

// ---------- listening sockets and child processes ----------

interface SpawnReport {
  targets: string[];
  cloexecBefore: (boolean | null)[];
  cloexecAfter: (boolean | null)[];
  childrenBefore: Record<string, string[]>;
  childrenAfter: Record<string, string[]>;
  fds?: { fd: number; name: string; listening: boolean }[];
  error?: { name: string; code?: string; message: string };
}

const haveActivator = existsSync("/usr/bin/systemd-socket-activate") ||
  existsSync("/bin/systemd-socket-activate");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs listen_spawn_report.ts under systemd-socket-activate with a unix and a TCP listener. */
async function spawnReport(): Promise<SpawnReport> {
  const directory = mkdtempSync(join(tmpdir(), "sdjs-cloexec-"));
  const output = join(directory, "report.json");
  const socketPath = join(directory, "stream.sock");
  const [command, args] = runtimeCommand("listen_spawn_report.ts", [output]);
  let activator: ChildProcess | undefined;
  let log = "";
  try {
    activator = spawn(
      "systemd-socket-activate",
      ["-l", socketPath, "-l", `127.0.0.1:${await freePort()}`, "--", command, ...args],
      { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    activator.stderr?.on("data", (chunk) => (log += String(chunk)));
    const deadline = performance.now() + 20000;
    // The activator execs the runtime on the first connection.
    const client = await connectWhenListening(socketPath, 20000);
    while (performance.now() < deadline) {
      if (existsSync(output)) {
        const text = readFileSync(output, "utf8");
        if (text.endsWith("}")) {
          client.destroy();
          return JSON.parse(text) as SpawnReport;
        }
      }
      await sleep(25);
    }
    client.destroy();
    throw new Error(`no report after 20 s; activator log:\n${log}`);
  } finally {
    if (activator?.exitCode === null) activator.kill("SIGTERM");
    rmSync(directory, { recursive: true, force: true });
  }
}

describe("listening sockets do not leak into child processes", {
  skip: haveActivator ? false : "systemd-socket-activate is not installed",
}, () => {
  test(`after listenFds(), children spawned with every spawn API of ${RUNTIME} see none of the sockets, and FD_CLOEXEC went from clear to set`, async () => {
    const report = await spawnReport();
    assert.equal(report.error, undefined, JSON.stringify(report.error));
    assert.deepEqual(report.fds?.map(({ fd }) => fd), [3, 4]);
    assert.deepEqual(report.cloexecAfter, [true, true]);
    const apis = Object.keys(report.childrenAfter);
    assert.ok(apis.includes("node:child_process"));
    if (RUNTIME === "deno") assert.ok(apis.includes("Deno.Command"));
    if (RUNTIME === "bun") assert.ok(apis.includes("Bun.spawnSync"));
    for (const [api, seen] of Object.entries(report.childrenAfter)) {
      assert.ok(seen.length > 0, `${api}: the child listed nothing`);
      for (const target of report.targets) {
        assert.ok(!seen.includes(target), `${api}: the child inherited ${target}`);
      }
    }
    // Where the runtime left the flag clear, a child spawned before listenFds()
    // shows what the fix prevents (under Deno both APIs pass the sockets on).
    const inheritedBefore = Object.fromEntries(
      Object.entries(report.childrenBefore).map(([api, seen]) => [
        api,
        report.targets.filter((target) => seen.includes(target)).length,
      ]),
    );
    figure("cloexec", {
      runtime: RUNTIME,
      clearBefore: report.cloexecBefore.filter((flag) => flag === false).length,
      setAfter: report.cloexecAfter.filter((flag) => flag === true).length,
      inheritedBefore: JSON.stringify(inheritedBefore),
      inheritedAfter: 0,
    });
  });
});
