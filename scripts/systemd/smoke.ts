/**
 * Smoke check of the real-systemd harness: starts a user manager, runs a `Type=notify` service
 * (`systemd-notify --ready --status=hello`) and a socket-activated service, stops everything
 * and verifies that nothing is left behind.
 *
 * Run: `node --import tsx scripts/systemd/smoke.ts`, `deno run -A scripts/systemd/smoke.ts`
 * or `bun scripts/systemd/smoke.ts`. Exit status: 0 passed, 1 failed, 77 skipped (no systemd
 * user manager can be had here, with the reason on stderr).
 *
 * @module
 */
import { connect } from "node:net";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { freePort } from "./free_port.ts";
import { identifyProcess, isProcessRunning, type ProcessIdentity, sleep } from "./_process.ts";
import { startUserManager, type UserManager, UserManagerUnavailableError } from "./user_manager.ts";

/** Exit status for "skipped", as automake and many test drivers read it. */
const EXIT_SKIPPED = 77;

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function ms(since: number): string {
  return `${(performance.now() - since).toFixed(1)} ms`;
}

function writeScript(path: string, lines: readonly string[]): string {
  writeFileSync(path, `#!/bin/sh\n${lines.join("\n")}\n`);
  chmodSync(path, 0o755);
  return path;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

async function notifyService(manager: UserManager): Promise<void> {
  const unit = `${manager.uniqueName("smoke-notify")}.service`;
  const log = join(manager.tmpDir, `${unit}.log`);
  const script = writeScript(join(manager.tmpDir, "notify.sh"), [
    'echo "notify.sh running as $$"',
    "systemd-notify --ready --status=hello",
    'echo "systemd-notify exited with $?"',
    "exec sleep 300",
  ]);
  let since = performance.now();
  await manager.writeUnit(
    unit,
    [
      "[Unit]",
      "Description=systemd-js smoke: Type=notify",
      "[Service]",
      "Type=notify",
      // systemd-notify is a child of the main process, so main-only access would drop it.
      "NotifyAccess=all",
      `ExecStart=/bin/sh ${script}`,
      `StandardOutput=file:${log}`,
      "StandardError=inherit",
      "TimeoutStartSec=10s",
      "",
    ].join("\n"),
  );
  console.log(`  write ${unit} + daemon-reload: ${ms(since)}`);

  since = performance.now();
  const started = await manager.systemctl("start", unit);
  check(
    started.code === 0,
    `systemctl start ${unit} failed (${started.code}): ${started.stderr.trim()}\n${readOr(log)}`,
  );
  console.log(`  start ${unit} (until READY=1): ${ms(since)}`);

  const props = await manager.waitFor(
    unit,
    (p) => p.SubState === "running" && p.StatusText === "hello",
    5_000,
    ["ActiveState", "SubState", "StatusText", "MainPID", "Type", "Result"],
  );
  check(props.MainPID !== "0", `${unit} has no MainPID`);
  console.log(
    `  ok: SubState=${props.SubState} StatusText=${props.StatusText} MainPID=${props.MainPID}`,
  );
}

async function socketActivation(manager: UserManager): Promise<void> {
  const name = manager.uniqueName("smoke-socket");
  const port = await freePort();
  const log = join(manager.tmpDir, `${name}.log`);
  const script = writeScript(join(manager.tmpDir, "activated.sh"), [
    'echo "LISTEN_PID=$LISTEN_PID LISTEN_FDS=$LISTEN_FDS LISTEN_FDNAMES=$LISTEN_FDNAMES self=$$"',
    "exec sleep 300",
  ]);
  await manager.writeUnit(
    `${name}.socket`,
    ["[Socket]", `ListenStream=127.0.0.1:${port}`, ""].join("\n"),
  );
  await manager.writeUnit(
    `${name}.service`,
    [
      "[Service]",
      `ExecStart=/bin/sh ${script}`,
      `StandardOutput=file:${log}`,
      "StandardError=inherit",
      "",
    ].join("\n"),
  );
  const started = await manager.systemctl("start", `${name}.socket`);
  check(started.code === 0, `systemctl start ${name}.socket failed: ${started.stderr.trim()}`);
  const socket = await manager.show(`${name}.socket`, ["SubState"]);
  check(socket.SubState === "listening", `${name}.socket is "${socket.SubState}", not listening`);
  const before = await manager.show(`${name}.service`, ["ActiveState"]);
  check(
    before.ActiveState === "inactive",
    `${name}.service is "${before.ActiveState}" before any connection`,
  );
  console.log(`  ${name}.socket listening on 127.0.0.1:${port}, service inactive`);

  const since = performance.now();
  await new Promise<void>((resolve, reject) => {
    const client = connect({ host: "127.0.0.1", port }, () => {
      client.destroy();
      resolve();
    });
    client.once("error", reject);
  });
  const props = await manager.waitFor(
    `${name}.service`,
    (p) => p.SubState === "running",
    5_000,
    ["SubState", "MainPID"],
  );
  console.log(`  connect → ${name}.service running: ${ms(since)}`);

  let output = "";
  for (let i = 0; i < 100 && !output.includes("LISTEN_FDS="); i++) {
    output = readOr(log);
    await sleep(20);
  }
  const expected = `LISTEN_PID=${props.MainPID} LISTEN_FDS=1 LISTEN_FDNAMES=${name}.socket`;
  check(output.includes(expected), `service output lacks "${expected}": "${output.trim()}"`);
  console.log(`  ok: ${output.trim()}`);
}

async function main(): Promise<number> {
  let since = performance.now();
  let manager: UserManager;
  try {
    manager = await startUserManager();
  } catch (error) {
    if (error instanceof UserManagerUnavailableError) {
      console.error(`SKIPPED: ${error.reason}`);
      return EXIT_SKIPPED;
    }
    throw error;
  }
  const startTime = ms(since);
  const identity: ProcessIdentity | undefined = manager.pid === undefined
    ? undefined
    : identifyProcess(manager.pid);
  console.log(
    manager.owned
      ? `started systemd --user, pid ${manager.pid}, in ${startTime}`
      : `using the running user manager (${startTime})`,
  );
  const written: string[] = [];
  let failure: unknown;
  try {
    const version = await manager.show("", ["Version", "SystemState"]);
    console.log(`  Version=${version.Version} SystemState=${version.SystemState}`);
    await notifyService(manager);
    await socketActivation(manager);
    for (const name of listWritten(manager)) written.push(name);
  } catch (error) {
    failure = error;
  } finally {
    since = performance.now();
    const problems = await manager.stop();
    console.log(`stopped in ${ms(since)}`);
    if (problems.length > 0 && failure === undefined) {
      failure = new Error(`cleanup problems: ${problems.join("; ")}`);
    }
  }
  if (failure !== undefined) throw failure;

  // Everything must be gone.
  for (const path of written) check(!existsSync(path), `unit file "${path}" is still there`);
  check(!existsSync(manager.tmpDir), `scratch directory "${manager.tmpDir}" is still there`);
  if (identity !== undefined) {
    check(!isProcessRunning(identity), `systemd --user pid ${identity.pid} still runs`);
    for (let i = 0; i < 50 && existsSync(`/proc/${identity.pid}`); i++) await sleep(20);
    const state = existsSync(`/proc/${identity.pid}`) ? "a zombie" : "gone";
    console.log(`  manager pid ${identity.pid}: ${state}`);
    for (const dir of manager.cgroups) check(!existsSync(dir), `cgroup "${dir}" is still there`);
    check(!existsSync(manager.unitDir), `unit directory "${manager.unitDir}" is still there`);
    console.log(`  ${manager.cgroups.length} private cgroups and the temporary directory removed`);
  }
  console.log("PASS");
  return 0;
}

/** The unit files the manager wrote, read from its unit directory before it is stopped. */
function listWritten(manager: UserManager): string[] {
  return readdirSync(manager.unitDir)
    .filter((file) => file.startsWith("smoke-"))
    .map((file) => join(manager.unitDir, file));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`FAIL: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
