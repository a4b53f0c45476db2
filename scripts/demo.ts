/**
 * `npm run demo`: @systemd-js/daemon under a real systemd, in about 15 seconds.
 *
 * On a Linux machine with systemd installed it brings up a socket-activated HTTP service under a
 * user manager (your own one, or as root a private `systemd --user` started for the occasion, see
 * scripts/systemd/user_manager.ts) and shows:
 *
 * 1. the first request starting the service (inactive before, active after, answered);
 * 2. `systemctl --user status` with the STATUS text the service sent;
 * 3. ten `systemctl --user restart`s under load with zero failed requests (the counts printed);
 * 4. the watchdog catching a deliberate hang (Result=watchdog) and systemd restarting the service;
 *
 * then stops everything it started. The service is `tests/fixtures/systemd_activation/
 * activation_service.ts` (node:http on the inherited socket, drain on SIGTERM, idle timer, a
 * `/hang` endpoint), run by the runtime that runs the demo: `npm run demo` uses Node;
 * `deno run -A scripts/demo.ts` and `bun scripts/demo.ts` show the same with Deno and Bun.
 *
 * Exit status: 0 when every step passed, 1 when one failed, 77 when no systemd user manager can
 * be had here (the reason is printed).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { freePort } from "./systemd/free_port.ts";
import { restartUnderLoad } from "./systemd/restart_under_load.ts";
import {
  startUserManager,
  type UserManager,
  UserManagerUnavailableError,
} from "./systemd/user_manager.ts";
import { check, show, Steps } from "./demo/steps.ts";
import {
  ACTIVATION_SERVICE,
  execStart,
  httpGet,
  serviceLines,
  serviceLogs,
} from "../tests/_systemd.ts";
import { RUNTIME } from "../tests/_runtime.ts";

const EXIT_SKIPPED = 77;
const RESTARTS = 10;
const WATCHDOG_SEC = 2;

async function demo(manager: UserManager, steps: Steps): Promise<void> {
  const base = manager.uniqueName("demo");
  const socket = `${base}.socket`;
  const service = `${base}.service`;
  const port = await freePort();
  const target = { host: "127.0.0.1", port };
  const url = `http://127.0.0.1:${port}`;

  await steps.run(`Install ${socket} and ${service}`, async () => {
    const socketText = [
      "[Socket]",
      `ListenStream=127.0.0.1:${port}`,
      "FileDescriptorName=http",
      "",
    ].join("\n");
    const serviceText = [
      "[Unit]",
      "Description=@systemd-js/daemon demo service",
      "StartLimitIntervalSec=0",
      "[Service]",
      "Type=notify",
      `ExecStart=${execStart(ACTIVATION_SERVICE, [manager.tmpDir])}`,
      `WatchdogSec=${WATCHDOG_SEC}`,
      "Restart=on-failure",
      "RestartSec=1",
      "TimeoutStartSec=30s",
      "TimeoutStopSec=10s",
      ...serviceLines(join(manager.tmpDir, `${base}.log`)),
      "",
    ].join("\n");
    await manager.writeUnit(socket, socketText);
    await manager.writeUnit(service, serviceText);
    show(
      `# ${join(manager.unitDir, socket)}\n${socketText}\n# ${
        join(manager.unitDir, service)
      }\n${serviceText}`,
    );
  });

  await steps.run(
    `systemctl --user start ${socket}: systemd listens, the service does not run yet`,
    async () => {
      const started = await manager.systemctl("start", socket);
      check(started.code === 0, `systemctl start failed: ${started.stderr.trim()}`);
      const s = await manager.show(socket, ["SubState"]);
      const v = await manager.show(service, ["ActiveState"]);
      show(`${socket}: ${s.SubState} on 127.0.0.1:${port}\n${service}: ${v.ActiveState}`);
      check(s.SubState === "listening", `the socket is "${s.SubState}", not listening`);
      check(v.ActiveState === "inactive", `the service is "${v.ActiveState}" before any request`);
    },
  );

  await steps.run("The first request starts the service", async () => {
    const since = performance.now();
    const answer = await httpGet(target, "/");
    const elapsed = performance.now() - since;
    const props = await manager.show(service, ["ActiveState", "SubState", "MainPID"]);
    show(
      `GET ${url}/ → ${answer.status} "${answer.body.trim()}" in ${elapsed.toFixed(0)} ms ` +
        `(including the ${RUNTIME} start-up)\n${service}: ${props.ActiveState} (${props.SubState}), MainPID ${props.MainPID}`,
    );
    check(
      answer.status === 200 && answer.body === `hello from ${props.MainPID}\n`,
      "the answer did not come from the started service",
    );
    check(props.ActiveState === "active", `the service is "${props.ActiveState}"`);
  });

  await steps.run(`systemctl --user status ${service} shows the service's STATUS=`, async () => {
    const status = await manager.systemctl("status", "--no-pager", "--lines=0", service);
    show(status.stdout);
    const { StatusText } = await manager.show(service, ["StatusText"]);
    check(
      StatusText.startsWith(`Serving HTTP on 127.0.0.1:${port}`),
      `StatusText is "${StatusText}"`,
    );
    check(
      status.stdout.includes(`Status: "${StatusText}"`),
      "systemctl status does not show the STATUS text",
    );
  });

  await steps.run(
    `${RESTARTS} × systemctl --user restart under load: no request may fail`,
    async () => {
      const { load: result, mainPids } = await restartUnderLoad(
        manager,
        service,
        port,
        RESTARTS,
      );
      const pids = mainPids.slice(1);
      show(
        `restarted ${RESTARTS} times, new MainPIDs: ${pids.join(" ")}\n` +
          `load: ${result.sent} requests, ${result.ok} ok, ${result.failed} failed` +
          `${result.failed > 0 ? ` ${JSON.stringify(result.errors)}` : ""}, ` +
          `answered by ${Object.keys(result.bodies).length} processes, slowest ${
            result.maxLatencyMs.toFixed(0)
          } ms`,
      );
      check(
        result.failed === 0,
        `${result.failed} requests failed: ${JSON.stringify(result.errors)}`,
      );
      check(new Set(pids).size === RESTARTS, "not every restart started a new process");
    },
  );

  await steps.run(
    `WatchdogSec=${WATCHDOG_SEC}: a hung event loop is killed (Result=watchdog) and restarted`,
    async () => {
      const before = await manager.show(service, ["MainPID", "NRestarts"]);
      const since = performance.now();
      const hang = await httpGet(target, "/hang");
      show(
        `GET ${url}/hang → "${hang.body.trim()}": pid ${before.MainPID} stops sending WATCHDOG=1`,
      );
      const caught = await manager.waitFor(
        service,
        (p) => p.Result === "watchdog",
        (WATCHDOG_SEC + 10) * 1000,
        ["Result", "SubState", "ActiveState"],
      );
      show(
        `after ${
          ((performance.now() - since) / 1000).toFixed(1)
        } s: Result=${caught.Result}, SubState=${caught.SubState}`,
      );
      const back = await manager.waitFor(
        service,
        (p) => p.SubState === "running" && p.MainPID !== before.MainPID && p.MainPID !== "0",
        30_000,
        ["SubState", "MainPID", "NRestarts"],
      );
      const answer = await httpGet(target, "/");
      show(
        `restarted by systemd: MainPID ${back.MainPID}, NRestarts=${back.NRestarts}; GET / → "${answer.body.trim()}"`,
      );
      if (manager.logFile !== undefined) {
        const lines = readFileSync(manager.logFile, "utf8").split("\n")
          .filter((line) => line.includes(service) && /[Ww]atchdog|Scheduled restart/.test(line));
        show(`manager log:\n${lines.map((line) => line.replace(/^<\d+>/, "")).join("\n")}`);
      }
      check(
        Number(back.NRestarts) === Number(before.NRestarts) + 1,
        `NRestarts is ${back.NRestarts}`,
      );
      check(answer.body === `hello from ${back.MainPID}\n`, "the restarted service did not answer");
    },
  );
}

async function main(): Promise<number> {
  console.log(
    `@systemd-js/daemon demo: a socket-activated ${RUNTIME} service under a real systemd`,
  );
  const steps = new Steps(7);
  let manager: UserManager;
  try {
    manager = await steps.run("Start a systemd user manager", async () => {
      const started = await startUserManager();
      const { Version } = await started.show("", ["Version"]);
      show(
        started.owned
          ? `started a private systemd --user ${Version} (pid ${started.pid}); it goes away at the end`
          : `using your running user manager (systemd ${Version}); units go to ${started.unitDir}`,
      );
      return started;
    });
  } catch (error) {
    if (error instanceof UserManagerUnavailableError) {
      console.log(`SKIPPED: ${error.reason}`);
      return EXIT_SKIPPED;
    }
    throw error;
  }
  let failed = false;
  try {
    await demo(manager, steps);
  } catch {
    failed = true;
    console.log(`\nservice output:\n${serviceLogs(manager)}`);
  } finally {
    const problems = await manager.stop();
    console.log(
      problems.length === 0
        ? `\nCleaned up: units removed${manager.owned ? ", private manager stopped" : ""}.`
        : `\nCleanup problems: ${problems.join("; ")}`,
    );
    if (problems.length > 0) failed = true;
  }
  console.log(failed ? "DEMO FAILED" : "DEMO PASSED");
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`DEMO FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
