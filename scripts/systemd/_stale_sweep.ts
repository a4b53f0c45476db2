import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { PrivateCgroup } from "./_cgroup.ts";
import { isProcessRunning, type ProcessIdentity } from "./_process.ts";

/** The file in a manager's temporary directory that says who made it. */
const RECORD = "owner.json";

/** Temporary directories of started managers: `systemd-js-<cgroup id>-<random>`. */
const BASE_DIR = /^systemd-js-([0-9a-f]{8})-[A-Za-z0-9]{6}$/;

/** What a started manager leaves in its temporary directory, so a later run can clean up. */
export interface OwnershipRecord {
  /** The process that started the manager (the test process). */
  readonly owner: ProcessIdentity;
  /** The manager, once spawned. */
  readonly manager?: ProcessIdentity;
  /** Its private cgroups, once created. */
  readonly cgroups: readonly PrivateCgroup[];
}

/**
 * Writes (or rewrites) the ownership record of a manager's temporary directory.
 *
 * @param baseDir the manager's temporary directory
 * @param record who owns it and what it holds
 *
 * @example
 * ```ts
 * writeOwnershipRecord(baseDir, { owner: identifyProcess(process.pid)!, cgroups: [] });
 * ```
 */
export function writeOwnershipRecord(baseDir: string, record: OwnershipRecord): void {
  writeFileSync(join(baseDir, RECORD), JSON.stringify(record));
}

/** A leftover of a dead run: enough for `shutdownOwnManager()` to finish the job. */
export interface StaleManager {
  /** The manager process (may be long gone). */
  readonly process: ProcessIdentity;
  /** The temporary directory to remove. */
  readonly baseDir: string;
  /** The cgroups to empty and remove. */
  readonly cgroups: readonly PrivateCgroup[];
}

function isIdentity(value: unknown): value is ProcessIdentity {
  const v = value as ProcessIdentity | undefined;
  return typeof v?.pid === "number" && Number.isInteger(v.pid) && v.pid > 1 &&
    typeof v.startTime === "string" && /^\d+$/.test(v.startTime);
}

/**
 * Finds what runs of this harness left behind when their process was killed outright
 * (SIGKILL, or Deno ending on an uncaught error without an `exit` event): temporary
 * directories under `os.tmpdir()` whose recorded owner process is gone. The kernel already
 * sent their manager SIGTERM (parent-death signal); the directories and cgroups remain.
 *
 * Only records that check out are returned: the owner is not running, and every cgroup in the
 * record is a directory named after the same id as the temporary directory.
 *
 * @returns the leftovers, for `shutdownOwnManager()`
 *
 * @example
 * ```ts
 * for (const stale of findStaleManagers()) await shutdownOwnManager(stale, 3_000);
 * ```
 */
export function findStaleManagers(): StaleManager[] {
  const found: StaleManager[] = [];
  let entries: string[];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    return found;
  }
  for (const entry of entries) {
    const match = BASE_DIR.exec(entry);
    if (match === null) continue;
    const baseDir = join(tmpdir(), entry);
    let record: Partial<OwnershipRecord>;
    try {
      record = JSON.parse(readFileSync(join(baseDir, RECORD), "utf8"));
    } catch {
      continue; // No record (yet): not ours to judge.
    }
    if (!isIdentity(record.owner) || isProcessRunning(record.owner)) continue;
    const cgroups = Array.isArray(record.cgroups) ? record.cgroups : [];
    const name = `systemd-js-${match[1]}`;
    const valid = cgroups.every((c) =>
      typeof c?.dir === "string" && typeof c.mountPoint === "string" &&
      typeof c.controllers === "string" && basename(c.dir) === name &&
      c.dir.startsWith(`${c.mountPoint}/`)
    );
    if (!valid) continue;
    const manager = isIdentity(record.manager) ? record.manager : { pid: 0, startTime: "" };
    found.push({ process: manager, baseDir, cgroups });
  }
  return found;
}
