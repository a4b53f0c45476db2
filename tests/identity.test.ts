// Identity and permissions across real processes: a child that inherits its
// parent's LISTEN_* or WATCHDOG_* variables adopts nothing; Deno without
// --allow-ffi or --allow-env fails loudly or stays quiet, never half-way.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Receiver, startReceiver } from "./_receiver.ts";
import { connectWhenListening } from "./fixtures/_load.ts";
import { ROOT, run, runtimeCommand } from "./_runtime.ts";

const DENO = join(ROOT, "node_modules", ".bin", "deno");
const FIXTURES = join(ROOT, "tests", "fixtures");
const haveActivator = existsSync("/usr/bin/systemd-socket-activate") ||
  existsSync("/bin/systemd-socket-activate");
const needActivator = haveActivator ? false : "systemd-socket-activate is not installed";

interface ListenReport {
  pid: number;
  cloexecBefore: (boolean | null)[];
  cloexecAfter: (boolean | null)[];
  targets: (string | null)[];
  fds?: unknown[];
  error?: { name: string; code?: string; message: string };
  env: Record<string, string | null>;
  childTargets: string[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `command` under systemd-socket-activate with one unix listener, wakes
 * it with a connection, and returns the report listen_child.ts wrote to the
 * path passed as its last argument.
 */
async function activated(command: string, args: readonly string[]): Promise<ListenReport> {
  const directory = mkdtempSync(join(tmpdir(), "sdjs-identity-"));
  const output = join(directory, "report.json");
  const socketPath = join(directory, "listen.sock");
  let activator: ChildProcess | undefined;
  let log = "";
  try {
    activator = spawn(
      "systemd-socket-activate",
      ["-l", socketPath, "--", command, ...args, output],
      {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    activator.stderr?.on("data", (chunk) => (log += String(chunk)));
    const exited = new Promise<void>((resolve) => activator?.on("exit", () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    const deadline = performance.now() + 20000;
    // The activator execs the runtime on the first connection.
    const client = await connectWhenListening(socketPath, 20000);
    try {
      while (performance.now() < deadline) {
        if (existsSync(output)) {
          const text = readFileSync(output, "utf8");
          if (text.endsWith("}")) return JSON.parse(text) as ListenReport;
        }
        if (gone) break;
        await sleep(25);
      }
    } finally {
      client.destroy();
    }
    throw new Error(`no report; activator log:\n${log}`);
  } finally {
    if (activator?.exitCode === null) activator.kill("SIGTERM");
    rmSync(directory, { recursive: true, force: true });
  }
}

describe("identity: variables inherited from the parent", () => {
  test(
    "a child whose LISTEN_PID names its parent adopts nothing, leaves fd 3 as it was, and unsets the variables",
    {
      skip: needActivator,
    },
    async () => {
      // The activator execs sh (LISTEN_PID = sh's pid); sh runs the runtime as its child.
      const [command, args] = runtimeCommand("listen_child.ts");
      const report = await activated("sh", ["-c", '"$@"; exit $?', "sh", command, ...args]);
      assert.equal(report.error, undefined, JSON.stringify(report.error));
      assert.deepEqual(report.fds, []);
      assert.match(String(report.targets[0]), /^socket:\[\d+\]$/, "fd 3 is the parent's socket");
      assert.deepEqual(
        report.cloexecAfter,
        report.cloexecBefore,
        "FD_CLOEXEC of a descriptor that is not ours changed",
      );
      assert.deepEqual(report.env, {
        LISTEN_PID: null,
        LISTEN_FDS: null,
        LISTEN_FDNAMES: null,
        LISTEN_PIDFDID: null,
      });
    },
  );

  test("the same activation with LISTEN_PID naming the runtime itself does adopt fd 3 (control)", {
    skip: needActivator,
  }, async () => {
    const [command, args] = runtimeCommand("listen_child.ts");
    const report = await activated("sh", ["-c", 'exec "$@"', "sh", command, ...args]);
    assert.equal(report.error, undefined, JSON.stringify(report.error));
    assert.equal(report.fds?.length, 1);
    assert.deepEqual(report.cloexecAfter, [true]);
  });

  describe("WATCHDOG_PID", () => {
    let receiver: Receiver;
    before(async () => {
      receiver = await startReceiver();
    });
    after(() => receiver.close());

    async function watchdogChild(
      script: string,
    ): Promise<{ enabled: number | null; running: boolean }> {
      const [command, args] = runtimeCommand("watchdog_identity.ts");
      const result = await run("sh", ["-c", script, "sh", command, ...args], {
        env: { ...process.env, NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: "100000" },
        timeoutMs: 20000,
      });
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as { enabled: number | null; running: boolean };
    }

    test("a child whose WATCHDOG_PID names its parent sends no keep-alive", async () => {
      const outcome = await watchdogChild('export WATCHDOG_PID=$$; "$@"; exit $?');
      assert.deepEqual(outcome, { enabled: null, running: false });
      assert.equal(await receiver.silentFor(200), true, "a keep-alive arrived");
    });

    test("with WATCHDOG_PID naming the process itself, keep-alives arrive every 50 ms (control)", async () => {
      const outcome = await watchdogChild('export WATCHDOG_PID=$$; exec "$@"');
      assert.deepEqual(outcome, { enabled: 100, running: true });
      let count = 0;
      while (!(await receiver.silentFor(150))) {
        assert.equal((await receiver.next()).text, "WATCHDOG=1");
        count++;
      }
      assert.ok(count >= 3, `only ${count} keep-alives in 300 ms`);
    });
  });
});

describe("Deno permissions beyond notify()", () => {
  const baseEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/" };
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());

  test(
    "listenFds() without --allow-ffi under socket activation: an EPERM error that names the flag",
    {
      skip: needActivator,
    },
    async () => {
      const report = await activated(DENO, [
        "run",
        "--no-prompt",
        "--allow-env",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        join(FIXTURES, "listen_child.ts"),
      ]);
      assert.equal(report.error?.name, "SystemdError", JSON.stringify(report));
      assert.equal(report.error?.code, "EPERM");
      assert.match(report.error?.message ?? "", /--allow-ffi/);
    },
  );

  test("listenFds() without --allow-env: treated as not activated, fd 3 left alone", {
    skip: needActivator,
  }, async () => {
    const report = await activated(DENO, [
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      join(FIXTURES, "listen_noenv_report.ts"),
    ]);
    assert.equal(report.error, undefined, JSON.stringify(report.error));
    assert.deepEqual(report.fds, []);
    assert.deepEqual(report.cloexecBefore, [false], "fd 3 arrives without FD_CLOEXEC under Deno");
    assert.deepEqual(report.cloexecAfter, [false], "FD_CLOEXEC was set without --allow-env");
  });

  test("barrier() and watchdog keep-alives without --allow-ffi: EPERM errors, the process keeps running", async () => {
    const result = await run(DENO, [
      "run",
      "--no-prompt",
      "--allow-env",
      join(FIXTURES, "no_ffi_report.ts"),
    ], {
      env: { ...baseEnv, NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: "40000" },
      timeoutMs: 30000,
    });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      barrier: { error?: { code: string; message: string } };
      watchdogRunning: boolean;
      watchdogErrors: { name: string; code: string }[];
    };
    assert.equal(report.barrier.error?.code, "EPERM");
    assert.match(report.barrier.error?.message ?? "", /--allow-ffi/);
    assert.equal(report.watchdogRunning, true);
    assert.ok(
      report.watchdogErrors.length >= 2,
      `${report.watchdogErrors.length} keep-alive errors`,
    );
    for (const error of report.watchdogErrors) {
      assert.deepEqual([error.name, error.code], ["SystemdError", "EPERM"]);
    }
    assert.equal(await receiver.silentFor(100), true);
  });
});
