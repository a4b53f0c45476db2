/**
 * The service lifecycle under a real systemd user manager, driven through the example service
 * of the runtime running the tests (`examples/node_http.ts`, `deno_serve.ts`, `bun_serve.ts`)
 * installed with the unit templates of `examples/units/`: READY and STATUS at start, reload on
 * SIGHUP (RELOADING then READY), stop on SIGTERM (STOPPING, clean exit), socket activation,
 * plus STOPPING sent on the service's own initiative, `barrier()` before exiting, and
 * `MemoryDenyWriteExecute=` breaking the runtime. Everything is asserted through
 * `systemctl --user show` and the service's own output.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { freePort } from "../scripts/systemd/free_port.ts";
import type { UserManager } from "../scripts/systemd/user_manager.ts";
import { RUNTIME } from "./_runtime.ts";
import {
  exampleServiceUnit,
  httpText,
  readText,
  runProgram,
  sleep,
  systemctlOk,
  unitTemplate,
  waitForText,
  writeNotifyService,
} from "./_systemd.ts";
import { SKIP, useUserManager } from "./_user_manager.ts";

/** What the tests read from `systemctl --user show`. */
const PROPERTIES: readonly string[] = [
  "Type",
  "NotifyAccess",
  "ActiveState",
  "SubState",
  "Result",
  "StatusText",
  "MainPID",
  "NRestarts",
  "ExecMainCode",
  "ExecMainStatus",
];

/**
 * The manager's verdict on a main process that exited by itself with status 0, as the
 * `ExecStopPost=` of `serviceLines(log, { recordExit: true })` writes it; killed by the SIGTERM
 * it would be `code=killed status=TERM`.
 */
const CLEAN_EXIT = /^exit: result=success code=exited status=0$/m;

describe("service lifecycle under a real systemd", { skip: SKIP }, () => {
  const systemd = useUserManager();

  /** Writes the example service unit with a greeting file and a free port; does not start it. */
  async function writeExample(
    manager: UserManager,
    prefix: string,
    extra: readonly string[] = [],
  ): Promise<{ unit: string; port: number; log: string; greeting: string }> {
    const base = manager.uniqueName(prefix);
    const port = await freePort();
    const log = join(manager.tmpDir, `${base}.log`);
    const greeting = join(manager.tmpDir, `${base}.greeting`);
    writeFileSync(greeting, "hello\n");
    const unit = `${base}.service`;
    await manager.writeUnit(
      unit,
      exampleServiceUnit(
        log,
        { PORT: String(port), HOST: "127.0.0.1", GREETING_FILE: greeting },
        extra,
      ),
    );
    return { unit, port, log, greeting };
  }

  test("READY=1 and STATUS= from the main process end the start: the example serves when systemctl start returns", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const { unit, port, log } = await writeExample(manager, "life-ready");
      await systemctlOk(manager, "start", unit); // Type=notify: returns once READY=1 arrived
      const props = await manager.show(unit, PROPERTIES);
      assert.equal(props.Type, "notify");
      assert.equal(props.NotifyAccess, "main");
      assert.equal(props.ActiveState, "active");
      assert.equal(props.SubState, "running");
      assert.equal(props.StatusText, `Serving on 127.0.0.1:${port}, reloads: 0`);
      assert.equal(await httpText("127.0.0.1", port), "hello\n");
      // The process that reported is the main process (NotifyAccess=main would drop others).
      assert.match(readText(log), new RegExp(`^ready: .* \\(pid ${props.MainPID}\\)$`, "m"));
    });
  });

  test("systemctl reload: SIGHUP → RELOADING=1 with its status, then READY=1 with the new configuration", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const { unit, port, log, greeting } = await writeExample(manager, "life-reload");
      await systemctlOk(manager, "start", unit);
      const started = await manager.show(unit, PROPERTIES);
      assert.equal(await httpText("127.0.0.1", port), "hello\n");

      // Make the reload wait for us: the configuration file becomes a FIFO, so the service
      // blocks (off its event loop) reading it after it sent RELOADING=1.
      rmSync(greeting);
      await runProgram("mkfifo", [greeting]);
      // ExecReload=kill -HUP $MAINPID. Not awaited yet: when RELOADING=1 arrives while the kill
      // still runs, systemd 252 keeps the reload job open until READY=1.
      const reload = systemctlOk(manager, "reload", unit);
      reload.catch(() => {}); // awaited below; if the test fails first, no unhandled rejection
      const reloading = await manager.waitFor(
        unit,
        (p) => p.StatusText === "Reloading configuration",
        10_000,
        PROPERTIES,
      );
      assert.equal(reloading.MainPID, started.MainPID);
      // RELOADING=1 came in the same datagram as this status: whether it arrived while the kill
      // still ran (the reload job then waits for READY=1) or after (the unit re-enters
      // "reloading" on it), the unit is reloading until READY=1.
      assert.equal(reloading.ActiveState, "reloading");
      await waitForText(log, "SIGHUP: reloading");
      // Still waiting: nothing but the configuration can end the reload.
      await sleep(300);
      const waiting = await manager.show(unit, ["ActiveState", "StatusText"]);
      assert.equal(waiting.ActiveState, "reloading");
      assert.equal(waiting.StatusText, "Reloading configuration");

      await runProgram("sh", ["-c", 'printf "bonjour\\n" > "$1"', "sh", greeting]);
      await reload;
      const reloaded = await manager.waitFor(
        unit,
        (p) => p.StatusText === `Serving on 127.0.0.1:${port}, reloads: 1`,
        10_000,
        PROPERTIES,
      );
      assert.equal(reloaded.ActiveState, "active");
      assert.equal(reloaded.SubState, "running");
      assert.equal(reloaded.MainPID, started.MainPID, "the reload restarted the process");
      assert.equal(reloaded.NRestarts, "0");
      assert.equal(await httpText("127.0.0.1", port), "bonjour\n");
    });
  });

  test("systemctl stop: SIGTERM → STOPPING=1, the example closes and exits 0 (Result=success)", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const { unit, port, log } = await writeExample(manager, "life-stop");
      await systemctlOk(manager, "start", unit);
      assert.equal(await httpText("127.0.0.1", port), "hello\n");
      await systemctlOk(manager, "stop", unit);
      const props = await manager.show(unit, PROPERTIES);
      assert.equal(props.ActiveState, "inactive");
      assert.equal(props.SubState, "dead");
      const output = readText(log);
      assert.match(output, /^SIGTERM: stopping$/m);
      assert.match(output, /^stopped cleanly$/m);
      assert.match(output, CLEAN_EXIT);
    });
  });

  test("STOPPING=1 sent on the service's own initiative makes the unit deactivating until it exits", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const { unit, log } = await writeNotifyService(
        manager,
        "life-selfstop",
        "tests/fixtures/systemd/self_stop.ts",
        ["1500"],
        ["TimeoutStopSec=10"],
      );
      await systemctlOk(manager, "start", unit);
      const running = await manager.show(unit, PROPERTIES);
      assert.equal(running.StatusText, "Working");
      await systemctlOk(manager, "kill", "--kill-who=main", "--signal=SIGUSR2", unit);
      const draining = await manager.waitFor(
        unit,
        (p) => p.ActiveState === "deactivating",
        5_000,
        PROPERTIES,
      );
      assert.equal(draining.StatusText, "Draining before exit");
      assert.equal(draining.MainPID, running.MainPID, "the process is still there while draining");
      await manager.waitFor(unit, (p) => p.ActiveState === "inactive", 10_000, PROPERTIES);
      const output = await waitForText(log, "exit: ");
      assert.match(output, /^drained, exiting$/m);
      assert.match(output, CLEAN_EXIT);
    });
  });

  test("a status sent right before exiting is kept when barrier() is awaited first", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const units = await writeJobs(manager, "life-barrier", "barrier", 5);
      const logs = units.map((unit) => join(manager.tmpDir, unit.replace(/\.service$/, ".log")));
      await Promise.all(units.map((unit) => manager.systemctl("start", unit)));
      for (const unit of units) {
        const props = await manager.waitFor(
          unit,
          (p) => p.SubState === "exited" || p.ActiveState === "failed",
          10_000,
          PROPERTIES,
        );
        assert.equal(props.ActiveState, "active", `${unit}: ${JSON.stringify(props)}`);
        assert.equal(props.SubState, "exited");
        assert.equal(props.Result, "success");
        assert.equal(props.ExecMainStatus, "0");
        assert.equal(props.StatusText, "done 42");
      }
      for (const log of logs) assert.match(readText(log), /^barrier: true$/m);
    });
  });

  /** Writes `count` Type=notify + RemainAfterExit=yes units running exit_after_status.ts. */
  async function writeJobs(
    manager: UserManager,
    prefix: string,
    mode: string,
    count: number,
  ): Promise<string[]> {
    const units: string[] = [];
    for (let i = 0; i < count; i++) {
      const { unit } = await writeNotifyService(
        manager,
        prefix,
        "tests/fixtures/systemd/exit_after_status.ts",
        [mode],
        ["RemainAfterExit=yes"],
      );
      units.push(unit);
    }
    return units;
  }

  test("socket-activated: the first connection starts the example, which serves on the passed socket", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const base = manager.uniqueName("life-socket");
      const port = await freePort();
      const unusedPort = await freePort();
      const log = join(manager.tmpDir, `${base}.log`);
      const greeting = join(manager.tmpDir, `${base}.greeting`);
      writeFileSync(greeting, "hello\n");
      await manager.writeUnit(
        `${base}.socket`,
        [
          unitTemplate("app.socket"),
          "[Socket]",
          "ListenStream=",
          `ListenStream=127.0.0.1:${port}`,
          "",
        ]
          .join("\n"),
      );
      // PORT points elsewhere: the example must serve on the socket, not bind PORT itself.
      await manager.writeUnit(
        `${base}.service`,
        exampleServiceUnit(log, {
          PORT: String(unusedPort),
          HOST: "127.0.0.1",
          GREETING_FILE: greeting,
        }),
      );
      await systemctlOk(manager, "start", `${base}.socket`);
      const idle = await manager.show(`${base}.service`, ["ActiveState"]);
      assert.equal(idle.ActiveState, "inactive");
      assert.equal(await httpText("127.0.0.1", port), "hello\n");
      const props = await manager.waitFor(
        `${base}.service`,
        (p) => p.SubState === "running",
        10_000,
        PROPERTIES,
      );
      assert.equal(props.StatusText, "Serving on fd 3 (http), reloads: 0");
      assert.equal(await httpText("127.0.0.1", port), "hello\n");
      await assert.rejects(httpText("127.0.0.1", unusedPort, 2_000), "the example also bound PORT");
      await systemctlOk(manager, "stop", `${base}.socket`, `${base}.service`);
      assert.match(readText(log), CLEAN_EXIT);
    });
  });

  test("MemoryDenyWriteExecute=yes breaks the JIT runtime: the example never becomes ready", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const { unit, log } = await writeExample(manager, "life-mdwe", [
        "MemoryDenyWriteExecute=yes",
        "Restart=no",
      ]);
      const started = await manager.systemctl("start", unit);
      assert.notEqual(
        started.code,
        0,
        "systemctl start succeeded under MemoryDenyWriteExecute=yes",
      );
      const props = await manager.show(unit, PROPERTIES);
      assert.equal(props.ActiveState, "failed");
      const output = readText(log);
      // What each runtime does (documented in examples/units/app.service).
      const expected: Record<typeof RUNTIME, { result: string; status: string; output: RegExp }> = {
        // V8 cannot make its code pages executable, fails a CHECK and traps (SIGTRAP).
        node: {
          result: "signal",
          status: "5",
          output: /Check failed: 12 == \(\*__errno_location \(\)\)/,
        },
        // The same V8 check, turned into a Rust panic.
        deno: { result: "exit-code", status: "1", output: /Deno has panicked/ },
        // JavaScriptCore runs without its JIT, but bun:ffi needs it: no way to reach libc.
        bun: { result: "exit-code", status: "1", output: /bun:ffi requires the JIT/ },
      };
      assert.equal(props.Result, expected[RUNTIME].result);
      assert.equal(props.ExecMainStatus, expected[RUNTIME].status);
      assert.match(output, expected[RUNTIME].output);
      assert.doesNotMatch(output, /^ready: /m);
    });
  });
});
