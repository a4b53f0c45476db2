/**
 * The Node backend: loads the N-API addon built from `ffi/binding.c` (a
 * prebuilt binary from `prebuilds/`, or `build/Release/` after a local
 * `node-gyp` build) with `node-gyp-build`, and adapts it to {@linkcode Backend}.
 * Only `ffi/runtime.ts` imports this module, and only under Node.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend, RawSocketDescription } from "../src/_backend.ts";
import { SystemdError } from "../src/errors.ts";

const PACKAGE_NAME = "@systemd-js/daemon";

/**
 * What `ffi/binding.c` exports: the Backend's methods under the same names;
 * failures throw an Error with `code`, `errno` and `syscall`.
 */
type Addon = Omit<Backend, "name">;

const ADDON_FUNCTIONS: readonly (keyof Addon)[] = [
  "openDatagramSocket",
  "connect",
  "send",
  "setCloexec",
  "describeSocket",
  "monotonicUsec",
  "pipe",
  "pollHangup",
  "waitWritable",
  "close",
  "isDirectory",
];

/**
 * The directory of our own package.json, found by walking up from this file, so
 * that it works from the sources (`ffi/`) and from a build (`dist/ffi/`) alike.
 */
function findPackageRoot(): string | undefined {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as {
        name?: unknown;
      };
      if (manifest.name === PACKAGE_NAME) return directory;
    } catch {
      // no readable package.json here: keep walking up
    }
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

function missingAddon(detail: string, cause?: unknown): SystemdError {
  return new SystemdError(
    `The native addon of "${PACKAGE_NAME}" ${detail}; ` +
      `build it with "npm rebuild ${PACKAGE_NAME}" (needs python3, make and a C compiler)`,
    { code: "ENOENT", errno: 2, syscall: "dlopen", cause },
  );
}

let addon: Addon | undefined;

/**
 * Loads the addon from where it almost always is, in node-gyp-build's order of
 * preference: a local build, then the glibc prebuild for this architecture.
 * Cheaper at start-up than node-gyp-build's directory search, which remains
 * the fallback (for musl, and anything unusual).
 */
function loadKnownBuild(require: NodeJS.Require, root: string): Partial<Addon> | undefined {
  const candidates = [
    join(root, "build", "Release", "systemd_daemon.node"),
    join(root, "prebuilds", `linux-${process.arch}`, "node.napi.glibc.node"),
  ];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    try {
      return require(candidate) as Partial<Addon>;
    } catch {
      // e.g. a glibc build on a musl system: let node-gyp-build choose
    }
  }
  return undefined;
}

function loadAddon(): Addon {
  if (addon !== undefined) return addon;
  const root = findPackageRoot();
  if (root === undefined) {
    throw missingAddon(`cannot be found: no package.json named "${PACKAGE_NAME}" above this file`);
  }
  const require = createRequire(import.meta.url);
  let loaded: Partial<Addon> | undefined = loadKnownBuild(require, root);
  if (loaded === undefined) {
    try {
      const nodeGypBuild = require("node-gyp-build") as (directory: string) => Partial<Addon>;
      loaded = nodeGypBuild(root);
    } catch (error) {
      throw missingAddon(`cannot be loaded from "${root}"`, error);
    }
  }
  const absent = ADDON_FUNCTIONS.filter((name) => typeof loaded[name] !== "function");
  if (absent.length > 0) {
    throw missingAddon(`in "${root}" is out of date (it lacks "${absent.join('", "')}")`);
  }
  addon = loaded as Addon;
  return addon;
}

/** Turns an addon error (with numeric `errno` and string `syscall`) into a SystemdError. */
function toSystemdError(error: unknown): unknown {
  if (error instanceof Error) {
    const { errno, syscall } = error as { errno?: unknown; syscall?: unknown };
    if (typeof errno === "number" && typeof syscall === "string") {
      return SystemdError.fromErrno(syscall, errno);
    }
  }
  return error; // TypeError or RangeError for a bad argument: pass it on unchanged
}

/**
 * Opens the Node backend: the N-API addon of this package, loaded once.
 *
 * Under Bun and Deno the same addon loads too, but `ffi/runtime.ts` gives those
 * runtimes their own FFI backends.
 *
 * @returns the backend; `send` is the addon function itself (the hot path), the
 *   other methods turn addon errors into {@linkcode SystemdError}
 * @throws {SystemdError} with code `"ENOENT"` when the addon is missing, cannot
 *   be loaded or is out of date; `npm rebuild @systemd-js/daemon` builds it
 *
 * @example Read CLOCK_MONOTONIC through the addon
 * ```ts
 * import { openNodeBackend } from "./node.ts";
 * const backend = openNodeBackend();
 * console.log(backend.monotonicUsec()); // e.g. 81234567890n
 * ```
 */
export function openNodeBackend(): Backend {
  const native = loadAddon();
  return {
    name: "node",
    openDatagramSocket(): number {
      try {
        return native.openDatagramSocket();
      } catch (error) {
        throw toSystemdError(error);
      }
    },
    connect: native.connect,
    send: native.send,
    setCloexec(fd: number): void {
      try {
        native.setCloexec(fd);
      } catch (error) {
        throw toSystemdError(error);
      }
    },
    describeSocket(fd: number): RawSocketDescription | null {
      try {
        return native.describeSocket(fd);
      } catch (error) {
        throw toSystemdError(error);
      }
    },
    monotonicUsec(): bigint {
      try {
        return native.monotonicUsec();
      } catch (error) {
        throw toSystemdError(error);
      }
    },
    pipe(): [number, number] {
      try {
        return native.pipe();
      } catch (error) {
        throw toSystemdError(error);
      }
    },
    pollHangup(fd: number): boolean {
      try {
        return native.pollHangup(fd);
      } catch (error) {
        throw toSystemdError(error);
      }
    },
    waitWritable(fd: number, timeoutMs: number): boolean {
      try {
        return native.waitWritable(fd, timeoutMs);
      } catch (error) {
        throw toSystemdError(error);
      }
    },
    close(fd: number): void {
      try {
        native.close(fd);
      } catch (error) {
        throw toSystemdError(error);
      }
    },
    isDirectory(path: string): boolean {
      return native.isDirectory(path); // never throws for a path, only for a non-string
    },
  };
}
