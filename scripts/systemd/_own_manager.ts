import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { randomBytes } from "node:crypto";
import {
  cgroupProcesses,
  createPrivateCgroups,
  type PrivateCgroup,
  removeCgroups,
} from "./_cgroup.ts";
import { execCommand } from "./_exec.ts";
import {
  identifyProcess,
  isProcessRunning,
  type ProcessIdentity,
  signalProcess,
  sleep,
  sleepSync,
} from "./_process.ts";
import type { ManagerTools } from "./probe.ts";
import { writeOwnershipRecord } from "./_stale_sweep.ts";

/** A `systemd --user` this harness started, with everything needed to take it down again. */
export interface OwnManager {
  /** The systemd process itself (the pid survives the exec chain sh → setpriv → unshare → sh → systemd). */
  readonly process: ProcessIdentity;
  /** The temporary directory holding everything below; removed on shutdown. */
  readonly baseDir: string;
  /** `XDG_RUNTIME_DIR` of the manager (mode 0700). */
  readonly runtimeDir: string;
  /** `XDG_CONFIG_HOME` of the manager. */
  readonly configDir: string;
  /** Where the manager's stdout and stderr go. */
  readonly logFile: string;
  /** The manager's private cgroups (see {@link PrivateCgroup} for why they exist). */
  readonly cgroups: readonly PrivateCgroup[];
  /** The environment for systemctl, systemd-run and children talking to this manager. */
  readonly env: Readonly<Record<string, string>>;
}

/** Variables that would tie the new manager or its clients to some other manager. */
const INHERITED_NOISE = [
  "NOTIFY_SOCKET",
  "LISTEN_PID",
  "LISTEN_FDS",
  "LISTEN_FDNAMES",
  "LISTEN_PIDFDID",
  "WATCHDOG_PID",
  "WATCHDOG_USEC",
  "DBUS_SESSION_BUS_ADDRESS",
  "MANAGERPID",
  "INVOCATION_ID",
  "JOURNAL_STREAM",
  "SYSTEMD_EXEC_PID",
];

/**
 * Manager settings. A unit that ignores SIGTERM would otherwise hold shutdown for the default
 * 90 s; tests need a bound. There is no journald: the manager logs to "kmsg", which the launcher
 * replaces with the log file, and services write to the manager's stdout (the log file too)
 * unless their unit says otherwise.
 */
const USER_CONF = `[Manager]
DefaultTimeoutStartSec=30s
DefaultTimeoutStopSec=5s
DefaultStandardOutput=inherit
DefaultStandardError=inherit
LogTarget=kmsg
LogColor=no
`;

/** Quotes one word for /bin/sh. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function logTail(logFile: string): string {
  try {
    const lines = readFileSync(logFile, "utf8").trimEnd().split("\n");
    return lines.slice(-15).join("\n");
  } catch {
    return "";
  }
}

/** Options for {@link launchOwnManager}. */
export interface LaunchOptions {
  /** How long to wait for the manager to answer with SystemState running (ms). */
  readonly startTimeoutMs: number;
  /** Bound for the shutdown if the start fails half-way (ms). */
  readonly stopTimeoutMs: number;
}

/**
 * Starts a private `systemd --user` as root: fresh `XDG_RUNTIME_DIR` and `XDG_CONFIG_HOME`
 * in a temporary directory, its own cgroups (a child of ours in every hierarchy, made its
 * root through a cgroup namespace), and a private mount namespace where a tmpfs on
 * `/run/systemd` holds the `/run/systemd/system/` that `systemd --user` insists on.
 *
 * @param tools the programs to use, from `detectUserManager()`
 * @param options time limits
 * @returns the running manager
 * @throws {Error} when it does not start or answer in time; everything is cleaned up first
 *
 * @example
 * ```ts
 * const manager = await launchOwnManager(found.tools, { startTimeoutMs: 15_000, stopTimeoutMs: 8_000 });
 * await shutdownOwnManager(manager, 8_000);
 * ```
 */
export async function launchOwnManager(
  tools: ManagerTools,
  options: LaunchOptions,
): Promise<OwnManager> {
  const owner = identifyProcess(process.pid);
  if (owner === undefined) throw new Error("Cannot read /proc/self/stat");
  const id = randomBytes(4).toString("hex");
  const baseDir = mkdtempSync(join(tmpdir(), `systemd-js-${id}-`));
  const runtimeDir = join(baseDir, "runtime");
  const configDir = join(baseDir, "config");
  const logFile = join(baseDir, "manager.log");
  let cgroups: PrivateCgroup[] = [];
  try {
    chmodSync(baseDir, 0o700);
    writeOwnershipRecord(baseDir, { owner, cgroups });
    // systemd binds $XDG_RUNTIME_DIR/systemd/private; sun_path holds 107 characters.
    if (`${runtimeDir}/systemd/private`.length > 107) {
      throw new Error(`Temporary directory "${baseDir}" is too long for a unix socket path`);
    }
    mkdirSync(runtimeDir, { mode: 0o700 });
    mkdirSync(join(configDir, "systemd", "user"), { recursive: true });
    writeFileSync(join(configDir, "systemd", "user.conf"), USER_CONF);
    writeFileSync(logFile, "");
    cgroups = createPrivateCgroups(`systemd-js-${id}`);
    writeOwnershipRecord(baseDir, { owner, cgroups });
  } catch (error) {
    removeCgroups(cgroups);
    rmSync(baseDir, { recursive: true, force: true });
    throw error;
  }

  const inner = [
    "set -e",
    ...cgroups.map((c) => `mount --bind ${shellQuote(c.dir)} ${shellQuote(c.mountPoint)}`),
    // No journald: the manager logs to "kmsg" (LogTarget in user.conf), which here is our log
    // file; /dev/console (the machine's console) gets /dev/null, should anything fall back to it.
    // (A forked child that logs before exec opens "kmsg" afresh and writes at offset 0, so such
    // a message may overwrite the first lines of the log.)
    `if [ -e /dev/kmsg ]; then mount --bind ${shellQuote(logFile)} /dev/kmsg; fi`,
    "if [ -e /dev/console ]; then mount --bind /dev/null /dev/console; fi",
    "[ -d /run/systemd ] || mkdir -p /run/systemd",
    "mount -t tmpfs -o mode=0755 tmpfs /run/systemd",
    "mkdir /run/systemd/system",
    `exec ${shellQuote(tools.systemd)} --user`,
  ];
  const innerPath = join(baseDir, "namespace.sh");
  writeFileSync(innerPath, `${inner.join("\n")}\n`);
  const pdeathsig = tools.setpriv === undefined
    ? ""
    : `${shellQuote(tools.setpriv)} --pdeathsig TERM `;
  const outer = [
    `exec >>${shellQuote(logFile)} 2>&1 </dev/null`,
    // Join the private cgroups first: the cgroup namespace below takes them as its root.
    ...cgroups.map((c) => `echo $$ >${shellQuote(join(c.dir, "cgroup.procs"))} || exit 97`),
    `exec ${pdeathsig}${shellQuote(tools.unshare)} --mount --cgroup --propagation private ` +
    `${shellQuote(tools.sh)} ${shellQuote(innerPath)}`,
  ];
  const launchPath = join(baseDir, "launch.sh");
  writeFileSync(launchPath, `${outer.join("\n")}\n`);

  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !INHERITED_NOISE.includes(name)) env[name] = value;
  }
  env.XDG_RUNTIME_DIR = runtimeDir;
  env.XDG_CONFIG_HOME = configDir;

  let child: ChildProcess;
  try {
    child = spawn(tools.sh, [launchPath], { env, detached: true, stdio: "ignore" });
  } catch (error) {
    removeCgroups(cgroups);
    rmSync(baseDir, { recursive: true, force: true });
    throw error;
  }
  let exited: string | undefined;
  child.on("exit", (code, signal) => {
    exited = signal === null ? `exit code ${code}` : `signal ${signal}`;
  });
  child.on("error", (error) => {
    exited = `spawn error ${error.message}`;
  });
  child.unref();
  const pid = child.pid;
  const identity = pid === undefined ? undefined : identifyProcess(pid);
  const manager: OwnManager = {
    process: identity ?? { pid: pid ?? -1, startTime: "" },
    baseDir,
    runtimeDir,
    configDir,
    logFile,
    cgroups,
    env,
  };

  try {
    if (identity === undefined) {
      throw new Error(`Could not start "${tools.sh} ${launchPath}": ${exited ?? "no pid"}`);
    }
    writeOwnershipRecord(baseDir, { owner, manager: identity, cgroups });
    const deadline = Date.now() + options.startTimeoutMs;
    let last = "";
    for (;;) {
      if (exited !== undefined || !isProcessRunning(identity)) {
        throw new Error(
          `systemd --user ended while starting (${exited ?? "gone"}); log:\n${logTail(logFile)}`,
        );
      }
      const answer = await execCommand(
        tools.systemctl,
        ["--user", "show", "--property=SystemState", "--value"],
        { env, timeoutMs: 2_000 },
      );
      last = answer.code === 0 ? answer.stdout.trim() : answer.stderr.trim();
      if (answer.code === 0 && (last === "running" || last === "degraded")) break;
      if (Date.now() > deadline) {
        throw new Error(
          `systemd --user did not reach SystemState running within ${options.startTimeoutMs} ms ` +
            `(last answer "${last}"); log:\n${logTail(logFile)}`,
        );
      }
      await sleep(20);
    }
    const exe = readlinkSync(`/proc/${identity.pid}/exe`);
    if (exe !== realpathSync(tools.systemd)) {
      throw new Error(`Process ${identity.pid} is "${exe}", expected "${tools.systemd}"`);
    }
  } catch (error) {
    await shutdownOwnManager(manager, options.stopTimeoutMs);
    throw error;
  }
  return manager;
}

/** What shutting a manager down needs: a started one, or the leftover of a dead run. */
export type ManagerRemains = Pick<OwnManager, "process" | "baseDir" | "cgroups">;

/** Sends SIGKILL to whatever is left in the manager's cgroups: only it and what it started. */
function killCgroupLeftovers(manager: ManagerRemains): number {
  const pids = cgroupProcesses(manager.cgroups);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  return pids.length;
}

function removeFiles(manager: ManagerRemains, problems: string[]): void {
  try {
    rmSync(manager.baseDir, { recursive: true, force: true });
  } catch (error) {
    problems.push(`could not remove "${manager.baseDir}": ${(error as Error).message}`);
  }
}

/**
 * Stops a manager started by {@link launchOwnManager} and removes all its traces: SIGTERM to
 * its exact pid (it then stops its units), SIGKILL after `timeoutMs`, SIGKILL to any process
 * left in its cgroups, then its cgroups and temporary directory are removed. Safe to call
 * again; it never signals a process that is not the one it started.
 *
 * @param manager what {@link launchOwnManager} returned, or a leftover from `findStaleManagers()`
 * @param timeoutMs how long the manager gets to exit after SIGTERM
 * @returns problems met (empty when everything went away cleanly)
 *
 * @example
 * ```ts
 * const problems = await shutdownOwnManager(manager, 8_000);
 * if (problems.length > 0) console.warn(problems.join("\n"));
 * ```
 */
export async function shutdownOwnManager(
  manager: ManagerRemains,
  timeoutMs: number,
): Promise<string[]> {
  const problems: string[] = [];
  const waitGone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (isProcessRunning(manager.process)) {
      if (Date.now() > deadline) return false;
      await sleep(10);
    }
    return true;
  };
  if (signalProcess(manager.process, "SIGTERM") && !await waitGone(timeoutMs)) {
    problems.push(
      `systemd --user (pid ${manager.process.pid}) ignored SIGTERM for ${timeoutMs} ms`,
    );
    signalProcess(manager.process, "SIGKILL");
    await waitGone(2_000);
  }
  let left: string[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    const killed = killCgroupLeftovers(manager);
    if (attempt === 0 && killed > 0) {
      problems.push(`killed ${killed} process(es) left in its cgroups`);
    }
    left = removeCgroups(manager.cgroups);
    if (left.length === 0) break;
    await sleep(20);
  }
  if (left.length > 0) problems.push(`cgroups left behind: ${left.join(", ")}`);
  removeFiles(manager, problems);
  return problems;
}

/**
 * The synchronous twin of {@link shutdownOwnManager}, for `exit` handlers: it blocks the
 * thread while it waits, so keep `timeoutMs` short.
 *
 * @param manager what {@link launchOwnManager} returned
 * @param timeoutMs how long the manager gets to exit after SIGTERM
 * @returns problems met (empty when everything went away cleanly)
 *
 * @example
 * ```ts
 * process.on("exit", () => shutdownOwnManagerSync(manager, 3_000));
 * ```
 */
export function shutdownOwnManagerSync(manager: ManagerRemains, timeoutMs: number): string[] {
  const problems: string[] = [];
  const waitGone = (ms: number): boolean => {
    const deadline = Date.now() + ms;
    while (isProcessRunning(manager.process)) {
      if (Date.now() > deadline) return false;
      sleepSync(10);
    }
    return true;
  };
  if (signalProcess(manager.process, "SIGTERM") && !waitGone(timeoutMs)) {
    problems.push(
      `systemd --user (pid ${manager.process.pid}) ignored SIGTERM for ${timeoutMs} ms`,
    );
    signalProcess(manager.process, "SIGKILL");
    waitGone(2_000);
  }
  let left: string[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    const killed = killCgroupLeftovers(manager);
    if (attempt === 0 && killed > 0) {
      problems.push(`killed ${killed} process(es) left in its cgroups`);
    }
    left = removeCgroups(manager.cgroups);
    if (left.length === 0) break;
    sleepSync(20);
  }
  if (left.length > 0) problems.push(`cgroups left behind: ${left.join(", ")}`);
  removeFiles(manager, problems);
  return problems;
}
