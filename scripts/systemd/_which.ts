import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import process from "node:process";

/**
 * Finds the first executable among absolute candidates, or a name in `PATH`.
 *
 * @param candidates absolute paths tried in order; a bare name is looked up in `PATH`
 * @returns the executable's path, or `undefined` when none is found
 *
 * @example
 * ```ts
 * const systemd = findExecutable(["/lib/systemd/systemd", "/usr/lib/systemd/systemd"]);
 * const unshare = findExecutable(["unshare"]);
 * ```
 */
export function findExecutable(candidates: readonly string[]): string | undefined {
  const path = (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin").split(":");
  for (const candidate of candidates) {
    const options = candidate.includes("/")
      ? [candidate]
      : path.filter((dir) => dir !== "").map((dir) => join(dir, candidate));
    for (const option of options) {
      try {
        accessSync(option, constants.X_OK);
        return option;
      } catch {
        // Not here; keep looking.
      }
    }
  }
  return undefined;
}
