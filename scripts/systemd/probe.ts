import process from "node:process";
import { ownCgroups } from "./_cgroup.ts";
import { execCommand } from "./_exec.ts";
import { findExecutable } from "./_which.ts";

/** What {@link probeUserManager} found. */
export type UserManagerProbe =
  | {
    /** A user manager can be had. */
    readonly available: true;
    /**
     * `existing`: the caller's own running user manager will be used (and never stopped);
     * `own`: a private one will be started (root only).
     */
    readonly mode: "existing" | "own";
  }
  | {
    /** No user manager can be had here: report the test as skipped, never as passed. */
    readonly available: false;
    /** Why, in a few words, for the skip message. */
    readonly reason: string;
  };

/** Programs a private manager needs, as found on this machine. */
export interface ManagerTools {
  /** `systemctl`. */
  readonly systemctl: string;
  /** The manager binary, `/lib/systemd/systemd` on Debian. */
  readonly systemd: string;
  /** util-linux `unshare`. */
  readonly unshare: string;
  /** util-linux `setpriv`, to tie the manager's life to ours; optional. */
  readonly setpriv: string | undefined;
  /** `/bin/sh`. */
  readonly sh: string;
}

/** The detailed answer of {@link detectUserManager}. */
export type UserManagerDetection =
  | { readonly mode: "existing"; readonly systemctl: string; readonly runtimeDir: string }
  | { readonly mode: "own"; readonly tools: ManagerTools }
  | { readonly mode: "none"; readonly reason: string };

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

/**
 * Works out how a user manager can be had here, with the programs to use. Mostly for
 * `startUserManager()`; tests want {@link probeUserManager}.
 *
 * 1. Not root, `XDG_RUNTIME_DIR` set and `systemctl --user show --property=Version` answers:
 *    the caller's running manager (`existing`), unless `reuseExisting` is false.
 * 2. Root, with the systemd binaries, `unshare`, a mounted systemd cgroup hierarchy and the
 *    right to create mount and cgroup namespaces: a private manager (`own`).
 * 3. Otherwise `none`, with the reason.
 *
 * @param reuseExisting whether a running user manager of the caller may be used (default true)
 * @returns the detection
 *
 * @example
 * ```ts
 * const found = await detectUserManager();
 * if (found.mode === "none") console.log(found.reason);
 * ```
 */
export async function detectUserManager(reuseExisting = true): Promise<UserManagerDetection> {
  if (process.platform !== "linux") {
    return { mode: "none", reason: `systemd needs Linux, this is "${process.platform}"` };
  }
  const systemctl = findExecutable(["systemctl", "/usr/bin/systemctl", "/bin/systemctl"]);
  if (systemctl === undefined) return { mode: "none", reason: "systemctl is not installed" };

  const euid = process.geteuid?.() ?? -1;
  const runtimeDir = process.env.XDG_RUNTIME_DIR ?? "";
  let answer = "XDG_RUNTIME_DIR is not set";
  if (euid !== 0 && runtimeDir !== "") {
    const version = await execCommand(systemctl, ["--user", "show", "--property=Version"], {
      timeoutMs: 5_000,
    });
    if (version.code === 0 && /^Version=./m.test(version.stdout)) {
      if (reuseExisting) return { mode: "existing", systemctl, runtimeDir };
      answer = "the running user manager may not be reused";
    } else {
      answer = `"systemctl --user" does not answer: ${firstLine(version.stderr)}`;
    }
  }
  if (euid !== 0) {
    return { mode: "none", reason: `not root (euid ${euid}), and ${answer}` };
  }

  const systemd = findExecutable(["/lib/systemd/systemd", "/usr/lib/systemd/systemd"]);
  if (systemd === undefined) return { mode: "none", reason: "/lib/systemd/systemd is missing" };
  const unshare = findExecutable(["unshare"]);
  if (unshare === undefined) return { mode: "none", reason: "util-linux unshare is missing" };
  const sh = findExecutable(["/bin/sh"]);
  if (sh === undefined) return { mode: "none", reason: "/bin/sh is missing" };
  if (findExecutable(["mount"]) === undefined) return { mode: "none", reason: "mount is missing" };
  const setpriv = findExecutable(["setpriv"]);

  let hierarchies;
  try {
    hierarchies = ownCgroups();
  } catch (error) {
    return { mode: "none", reason: `cannot read cgroups: ${(error as Error).message}` };
  }
  if (!hierarchies.some((h) => h.controllers === "name=systemd" || h.controllers === "")) {
    return { mode: "none", reason: "no systemd cgroup hierarchy (name=systemd or cgroup2)" };
  }
  const namespaces = await execCommand(
    unshare,
    ["--mount", "--cgroup", "--propagation", "private", sh, "-c", "exit 0"],
    { timeoutMs: 5_000 },
  );
  if (namespaces.code !== 0) {
    return {
      mode: "none",
      reason: `cannot create mount and cgroup namespaces: ${firstLine(namespaces.stderr)}`,
    };
  }
  return { mode: "own", tools: { systemctl, systemd, unshare, setpriv, sh } };
}

/**
 * Tells whether a systemd user manager can be had here, without starting one. A test that
 * needs real systemd skips itself with `reason` when it cannot — a missing systemd is never
 * a pass.
 *
 * @param reuseExisting whether a running user manager of the caller counts (default true)
 * @returns `{ available: true, mode }` or `{ available: false, reason }`
 *
 * @example Skip a node:test test without systemd
 * ```ts
 * import { test } from "node:test";
 * const probe = await probeUserManager();
 * test("Type=notify reaches running", { skip: probe.available ? false : probe.reason }, async () => {
 *   const manager = await startUserManager();
 *   try { ... } finally { await manager.stop(); }
 * });
 * ```
 */
export async function probeUserManager(reuseExisting = true): Promise<UserManagerProbe> {
  const found = await detectUserManager(reuseExisting);
  return found.mode === "none"
    ? { available: false, reason: found.reason }
    : { available: true, mode: found.mode };
}
