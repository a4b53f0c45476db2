import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

/**
 * A private cgroup made for one manager in one hierarchy, and where that hierarchy is mounted.
 *
 * Why this exists: a `systemd --user` that finds itself in the root cgroup (as every process in
 * this container is) takes the whole tree as its own — it moves **every process of the
 * machine**, PID 1 included, into its `init.scope` on every hierarchy it uses, which pulls
 * other sessions out of their memory cgroups. Starting it inside a fresh child cgroup, in a
 * cgroup namespace whose mounts show only that child, gives it a tree of its own.
 */
export interface PrivateCgroup {
  /** The hierarchy's controllers as `/proc/self/cgroup` lists them (`memory`, `name=systemd`, `""` for v2). */
  readonly controllers: string;
  /** Where the hierarchy is mounted (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup` on pure v2). */
  readonly mountPoint: string;
  /** The private cgroup's directory, a child of the caller's own cgroup in that hierarchy. */
  readonly dir: string;
}

interface Mount {
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: readonly string[];
}

/** Undoes the octal escapes (`\040` for a space) of /proc/self/mountinfo. */
function unescapeMountField(field: string): string {
  return field.replace(
    /\\([0-7]{3})/g,
    (_: string, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}

function cgroupMounts(): Mount[] {
  const mounts: Mount[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    const separator = fields.indexOf("-", 6);
    if (separator < 0) continue;
    const fsType = fields[separator + 1];
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    mounts.push({
      root: unescapeMountField(fields[3] ?? "/"),
      mountPoint: unescapeMountField(fields[4] ?? ""),
      fsType,
      superOptions: (fields[separator + 3] ?? "").split(","),
    });
  }
  return mounts;
}

/** Joins a cgroup path (relative to a mount's root) under the mount point. */
function directoryOf(mount: Mount, path: string): string | undefined {
  const root = mount.root === "/" ? "" : mount.root;
  if (path !== root && !path.startsWith(`${root}/`)) return undefined;
  return join(mount.mountPoint, path.slice(root.length));
}

/**
 * Lists the cgroup hierarchies this process belongs to that are mounted here, with the
 * directory of its own cgroup in each.
 *
 * @returns one entry per mounted hierarchy; hierarchies that are not mounted are left out
 *
 * @example
 * ```ts
 * for (const h of ownCgroups()) console.log(h.controllers || "v2", h.dir);
 * ```
 */
export function ownCgroups(): { controllers: string; mountPoint: string; dir: string }[] {
  const mounts = cgroupMounts();
  const found: { controllers: string; mountPoint: string; dir: string }[] = [];
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    const wanted = controllers === "" ? [] : controllers.split(",");
    for (const mount of mounts) {
      const matches = controllers === ""
        ? mount.fsType === "cgroup2"
        : mount.fsType === "cgroup" && wanted.every((c) => mount.superOptions.includes(c));
      if (!matches) continue;
      const dir = directoryOf(mount, path);
      if (dir === undefined || !existsSync(dir)) continue;
      found.push({ controllers, mountPoint: mount.mountPoint, dir });
      break;
    }
  }
  return found;
}

/**
 * Creates a child cgroup named `name` under this process's cgroup in every mounted hierarchy.
 * For cpuset (v1), which refuses tasks until it has CPUs and memory nodes, the parent's are
 * copied. Nothing is moved into them: the launcher does that for its own pid.
 *
 * @param name the directory name, unique per manager
 * @returns the created cgroups
 * @throws {Error} when no hierarchy for systemd (`name=systemd` or v2) is mounted, or a
 *   directory cannot be made; whatever was created is removed first
 *
 * @example
 * ```ts
 * const cgroups = createPrivateCgroups("systemd-js-1a2b3c4d");
 * ```
 */
export function createPrivateCgroups(name: string): PrivateCgroup[] {
  const hierarchies = ownCgroups();
  if (!hierarchies.some((h) => h.controllers === "name=systemd" || h.controllers === "")) {
    throw new Error("No systemd cgroup hierarchy (name=systemd or cgroup2) is mounted here");
  }
  const created: PrivateCgroup[] = [];
  try {
    for (const hierarchy of hierarchies) {
      const dir = join(hierarchy.dir, name);
      mkdirSync(dir);
      created.push({ controllers: hierarchy.controllers, mountPoint: hierarchy.mountPoint, dir });
      for (const file of ["cpuset.cpus", "cpuset.mems"]) {
        const own = join(dir, file);
        if (hierarchy.controllers === "" || !existsSync(own)) continue;
        if (readFileSync(own, "utf8").trim() !== "") continue;
        writeFileSync(own, readFileSync(join(hierarchy.dir, file), "utf8"));
      }
    }
  } catch (error) {
    removeCgroups(created);
    throw error;
  }
  return created;
}

function walk(dir: string, visit: (dir: string) => void): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) walk(join(dir, entry.name), visit);
  visit(dir);
}

/**
 * Lists the pids of every process left anywhere inside the private cgroups. They can only
 * be the manager or processes it started.
 *
 * @param cgroups what {@link createPrivateCgroups} returned
 * @returns the pids, without duplicates
 *
 * @example
 * ```ts
 * for (const pid of cgroupProcesses(cgroups)) process.kill(pid, "SIGKILL");
 * ```
 */
export function cgroupProcesses(cgroups: readonly PrivateCgroup[]): number[] {
  const pids = new Set<number>();
  for (const cgroup of cgroups) {
    walk(cgroup.dir, (dir) => {
      let text = "";
      try {
        text = readFileSync(join(dir, "cgroup.procs"), "utf8");
      } catch {
        return;
      }
      for (const line of text.split("\n")) if (line !== "") pids.add(Number(line));
    });
  }
  return [...pids];
}

/**
 * Removes the private cgroups and everything the manager created below them, deepest first.
 * A cgroup that still holds processes cannot be removed and is reported.
 *
 * @param cgroups what {@link createPrivateCgroups} returned
 * @returns the directories that could not be removed (empty when all are gone)
 *
 * @example
 * ```ts
 * const left = removeCgroups(cgroups);
 * if (left.length > 0) console.warn("left behind", left);
 * ```
 */
export function removeCgroups(cgroups: readonly PrivateCgroup[]): string[] {
  const left: string[] = [];
  for (const cgroup of cgroups) {
    walk(cgroup.dir, (dir) => {
      try {
        rmdirSync(dir);
      } catch (error) {
        if ((error as { code?: string }).code !== "ENOENT") left.push(dir);
      }
    });
  }
  return left;
}
