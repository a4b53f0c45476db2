/**
 * A real systemd user manager for tests and demos: the caller's own one when it has a usable
 * one, otherwise (as root) a private `systemd --user` started for the occasion.
 *
 * See DESIGN.md §6 for why this works on machines whose PID 1 is not systemd.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { execCommand, type ExecResult } from "./_exec.ts";
import { registerExitCleanup } from "./_exit_cleanup.ts";
import {
  launchOwnManager,
  type OwnManager,
  shutdownOwnManager,
  shutdownOwnManagerSync,
} from "./_own_manager.ts";
import { sleep } from "./_process.ts";
import { parseShowOutput } from "./_show.ts";
import { findStaleManagers } from "./_stale_sweep.ts";
import { detectUserManager } from "./probe.ts";
import { UserManagerUnavailableError } from "./user_manager_unavailable_error.ts";

export type { ExecResult } from "./_exec.ts";
export { probeUserManager, type UserManagerProbe } from "./probe.ts";
export { UserManagerUnavailableError } from "./user_manager_unavailable_error.ts";

/** A systemd user manager to run units under, from {@link startUserManager}. */
export interface UserManager {
  /** `true` when this harness started the manager (and will stop it); `false` for the caller's own. */
  readonly owned: boolean;
  /** The pid of the `systemd --user` process this harness started; `undefined` when not owned. */
  readonly pid: number | undefined;
  /**
   * The complete environment for `systemctl --user`, `systemd-run --user` and child processes
   * that must reach this manager (the caller's environment with `XDG_RUNTIME_DIR` and
   * `XDG_CONFIG_HOME` pointing at it). Pass it as `env` to `spawn`.
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Where {@link UserManager.writeUnit} puts unit files: `$XDG_CONFIG_HOME/systemd/user` of a
   * started manager; `$XDG_RUNTIME_DIR/systemd/user` of the caller's own one (searched by it,
   * and never in the developer's home, so a crash leaves nothing persistent behind).
   */
  readonly unitDir: string;
  /** A scratch directory for scripts and `StandardOutput=file:` logs; removed by `stop()`. */
  readonly tmpDir: string;
  /**
   * The started manager's own log (its messages, and the output of units that do not set
   * `StandardOutput=`); `undefined` when not owned.
   */
  readonly logFile: string | undefined;
  /**
   * The private cgroup directories of a started manager, one per hierarchy (its units' cgroups
   * are below them); empty when not owned. All are removed by `stop()`.
   */
  readonly cgroups: readonly string[];
  /**
   * Runs `systemctl --user ARGS…` against this manager.
   *
   * @param args the arguments after `--user`
   * @returns exit code and output; never rejects (see `ExecResult` for codes 124 and 127)
   */
  systemctl(...args: string[]): Promise<ExecResult>;
  /**
   * Reads properties of a unit with `systemctl --user show UNIT -p A -p B…`.
   *
   * @param unit the unit name, with its suffix; `""` for the manager itself (`SystemState`…)
   * @param properties the property names; all of them when empty
   * @returns the properties by name (values as systemctl prints them)
   * @throws {Error} when systemctl fails
   */
  show(unit: string, properties?: readonly string[]): Promise<Record<string, string>>;
  /**
   * Writes a unit file into {@link UserManager.unitDir}, remembers it for
   * {@link UserManager.removeUnits}, and runs `daemon-reload`.
   *
   * @param name the file name, e.g. `demo-1a2b3c4d.service`
   * @param text the unit file's contents
   * @returns the path written
   * @throws {TypeError} for a name that is not a plain unit file name
   * @throws {Error} when daemon-reload fails
   */
  writeUnit(name: string, text: string): Promise<string>;
  /**
   * Makes a unit name base that no other test or run uses: `PREFIX-` and 8 random hex digits.
   * Append the suffix yourself, so a `.socket` and its `.service` can share it.
   *
   * @param prefix letters, digits, `_`, `.` or `-`
   * @returns the name without suffix
   * @throws {TypeError} for an empty prefix or one with other characters
   */
  uniqueName(prefix: string): string;
  /**
   * Polls `show` every 25 ms until `predicate` accepts the properties.
   *
   * @param unit the unit name, with its suffix
   * @param predicate decides on the properties read
   * @param timeoutMs how long to try (default 10 000)
   * @param properties the properties to read; all of them when empty (the default)
   * @returns the properties that satisfied the predicate
   * @throws {Error} after `timeoutMs`, naming the unit's ActiveState, SubState and Result
   */
  waitFor(
    unit: string,
    predicate: (properties: Record<string, string>) => boolean,
    timeoutMs?: number,
    properties?: readonly string[],
  ): Promise<Record<string, string>>;
  /**
   * Stops, resets and deletes every unit this object wrote, then runs `daemon-reload`.
   * Units started otherwise (e.g. `systemd-run`) are the caller's to stop.
   *
   * @returns when done; failures of single steps are ignored
   */
  removeUnits(): Promise<void>;
  /**
   * Removes the units, then — only for a manager this harness started — stops it by its pid
   * (SIGTERM, SIGKILL after the stop bound), kills anything left in its cgroups and removes its
   * cgroups and temporary directories. The caller's own manager is never stopped. Safe to call
   * more than once.
   *
   * @returns problems met during cleanup (also printed as a warning); empty when clean
   */
  stop(): Promise<string[]>;
}

/** Options for {@link startUserManager}. */
export interface StartUserManagerOptions {
  /**
   * Use the caller's running user manager when not root (default `true`). With `false`, a
   * non-root caller gets {@link UserManagerUnavailableError}.
   */
  readonly reuseExisting?: boolean;
  /** How long a started manager gets to answer (ms, default 15 000). */
  readonly startTimeoutMs?: number;
  /** How long a started manager gets to exit after SIGTERM before SIGKILL (ms, default 8 000). */
  readonly stopTimeoutMs?: number;
}

const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+\.(service|socket|target|timer|path|slice|mount|automount)$/;
const PREFIX = /^[A-Za-z0-9_.-]+$/;

class Harness implements UserManager {
  readonly owned: boolean;
  readonly pid: number | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly unitDir: string;
  readonly tmpDir: string;
  readonly logFile: string | undefined;
  readonly cgroups: readonly string[];
  readonly #systemctl: string;
  readonly #own: OwnManager | undefined;
  readonly #stopTimeoutMs: number;
  readonly #units: string[] = [];
  readonly #unregister: () => void;
  #stopping: Promise<string[]> | undefined;

  constructor(
    systemctl: string,
    env: Readonly<Record<string, string>>,
    unitDir: string,
    tmpDir: string,
    own: OwnManager | undefined,
    stopTimeoutMs: number,
  ) {
    this.#systemctl = systemctl;
    this.env = env;
    this.unitDir = unitDir;
    this.tmpDir = tmpDir;
    this.#own = own;
    this.owned = own !== undefined;
    this.pid = own?.process.pid;
    this.logFile = own?.logFile;
    this.cgroups = own?.cgroups.map((cgroup) => cgroup.dir) ?? [];
    this.#stopTimeoutMs = stopTimeoutMs;
    this.#unregister = registerExitCleanup({
      cleanup: async (): Promise<void> => void await this.stop(),
      cleanupSync: (): void => this.#stopSync(),
    });
  }

  systemctl(...args: string[]): Promise<ExecResult> {
    return execCommand(this.#systemctl, ["--user", ...args], { env: this.env, timeoutMs: 30_000 });
  }

  async show(unit: string, properties: readonly string[] = []): Promise<Record<string, string>> {
    const target = unit === "" ? [] : [unit];
    const result = await this.systemctl("show", ...target, ...properties.flatMap((p) => ["-p", p]));
    if (result.code !== 0) {
      throw new Error(
        `systemctl --user show "${unit}" failed with code ${result.code}: ${result.stderr.trim()}`,
      );
    }
    return parseShowOutput(result.stdout);
  }

  async writeUnit(name: string, text: string): Promise<string> {
    if (!UNIT_NAME.test(name)) throw new TypeError(`Unit name "${name}" is not a unit file name`);
    const path = join(this.unitDir, name);
    writeFileSync(path, text);
    if (!this.#units.includes(path)) this.#units.push(path);
    const reload = await this.systemctl("daemon-reload");
    if (reload.code !== 0) {
      throw new Error(`systemctl --user daemon-reload failed: ${reload.stderr.trim()}`);
    }
    return path;
  }

  uniqueName(prefix: string): string {
    if (!PREFIX.test(prefix)) {
      throw new TypeError(`Unit name prefix "${prefix}" must be letters, digits, "_", "." or "-"`);
    }
    return `${prefix}-${randomBytes(4).toString("hex")}`;
  }

  async waitFor(
    unit: string,
    predicate: (properties: Record<string, string>) => boolean,
    timeoutMs = 10_000,
    properties: readonly string[] = [],
  ): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await this.show(unit, properties);
      if (predicate(current)) return current;
      if (Date.now() > deadline) {
        const state = await this.show(unit, ["ActiveState", "SubState", "Result"]).catch(
          (): Record<string, string> => ({}),
        );
        throw new Error(
          `Unit "${unit}" did not reach the expected state within ${timeoutMs} ms ` +
            `(ActiveState=${state.ActiveState} SubState=${state.SubState} Result=${state.Result})`,
        );
      }
      await sleep(25);
    }
  }

  async removeUnits(): Promise<void> {
    const paths = this.#units.splice(0);
    if (paths.length === 0) return;
    const names = paths.map((path) => basename(path));
    await this.systemctl("stop", ...names);
    await this.systemctl("reset-failed", ...names);
    for (const path of paths) rmSync(path, { force: true });
    await this.systemctl("daemon-reload");
  }

  stop(): Promise<string[]> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<string[]> {
    const problems: string[] = [];
    try {
      await this.removeUnits();
    } catch (error) {
      problems.push(`could not remove units: ${(error as Error).message}`);
    }
    if (this.#own !== undefined) {
      problems.push(...await shutdownOwnManager(this.#own, this.#stopTimeoutMs));
    } else {
      rmSync(this.tmpDir, { recursive: true, force: true });
    }
    this.#unregister();
    if (problems.length > 0) {
      console.warn(`systemd user manager cleanup:\n  ${problems.join("\n  ")}`);
    }
    return problems;
  }

  /** The `exit`-handler variant: nothing asynchronous runs there any more. */
  #stopSync(): void {
    if (this.#own !== undefined) {
      // The whole manager goes, with its unit directory: no need to stop units one by one.
      shutdownOwnManagerSync(this.#own, 3_000);
      return;
    }
    const paths = this.#units.splice(0);
    const names = paths.map((path) => basename(path));
    const run = (...args: string[]): void => {
      spawnSync(this.#systemctl, ["--user", ...args], { env: this.env, timeout: 5_000 });
    };
    if (names.length > 0) {
      run("stop", ...names);
      run("reset-failed", ...names);
      for (const path of paths) rmSync(path, { force: true });
      run("daemon-reload");
    }
    rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

/**
 * Gives the caller a systemd user manager to run units under.
 *
 * - Not root, `XDG_RUNTIME_DIR` set and `systemctl --user` answers: the caller's own manager,
 *   which is used but never stopped (units go to `$XDG_RUNTIME_DIR/systemd/user`).
 * - Root: a private `systemd --user` (systemd 252 here) with its own `XDG_RUNTIME_DIR`,
 *   `XDG_CONFIG_HOME`, cgroups and mount namespace, started in about 0.1 s. It answers
 *   `systemctl --user show` (`is-system-running` says "offline" on such machines), has no
 *   journald (use `StandardOutput=file:…`), and `DefaultTimeoutStopSec=5s`.
 * - Otherwise {@link UserManagerUnavailableError}, whose `reason` a test reports as skipped.
 *
 * Always `stop()` it in a `finally`. If the process exits or gets SIGINT/SIGTERM/SIGHUP first,
 * an exit hook stops it; if the process is killed outright, the kernel sends the manager
 * SIGTERM (parent-death signal), which stops its units, and the next start as root removes the
 * directories and cgroups such a run left behind.
 *
 * @param options reuse policy and time limits
 * @returns the manager
 * @throws {UserManagerUnavailableError} when this machine cannot provide one (skip, not pass)
 * @throws {Error} when a manager should start here but does not (a real failure)
 *
 * @example Run a Type=notify service
 * ```ts
 * const manager = await startUserManager();
 * try {
 *   const unit = `${manager.uniqueName("demo")}.service`;
 *   await manager.writeUnit(unit, [
 *     "[Service]",
 *     "Type=notify",
 *     "NotifyAccess=all",
 *     "ExecStart=/bin/sh -c 'systemd-notify --ready --status=hello; exec sleep 60'",
 *   ].join("\n"));
 *   await manager.systemctl("start", unit);
 *   const props = await manager.show(unit, ["SubState", "StatusText"]);
 *   console.log(props.SubState, props.StatusText); // running hello
 * } finally {
 *   await manager.stop();
 * }
 * ```
 */
export async function startUserManager(
  options: StartUserManagerOptions = {},
): Promise<UserManager> {
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 8_000;
  const found = await detectUserManager(options.reuseExisting ?? true);
  if (found.mode === "none") throw new UserManagerUnavailableError(found.reason);

  if (found.mode === "existing") {
    const unitDir = join(found.runtimeDir, "systemd", "user");
    mkdirSync(unitDir, { recursive: true });
    const tmpDir = mkdtempSync(join(tmpdir(), "systemd-js-scratch-"));
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined) env[name] = value;
    }
    return new Harness(found.systemctl, env, unitDir, tmpDir, undefined, stopTimeoutMs);
  }

  // Runs killed outright (SIGKILL) left their directories and cgroups: finish their cleanup.
  for (const stale of findStaleManagers()) await shutdownOwnManager(stale, 3_000);
  const own = await launchOwnManager(found.tools, { startTimeoutMs, stopTimeoutMs });
  const tmpDir = join(own.baseDir, "files");
  try {
    mkdirSync(tmpDir);
  } catch (error) {
    await shutdownOwnManager(own, stopTimeoutMs);
    throw error;
  }
  return new Harness(
    found.tools.systemctl,
    own.env,
    join(own.configDir, "systemd", "user"),
    tmpDir,
    own,
    stopTimeoutMs,
  );
}
