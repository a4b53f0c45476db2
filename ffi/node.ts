/**
 * The Node backend: loads the N-API addon built from `ffi/binding.c` (a
 * prebuilt binary from `prebuilds/`, or `build/Release/` after a local
 * `node-gyp` build) with `node-gyp-build`, and adapts it to {@linkcode Backend}.
 * Only `ffi/runtime.ts` imports this module, and only under Node.
 *
 * @module
 */

import type * as Fs from "node:fs";
import type * as NodeModule from "node:module";
import type * as Path from "node:path";
import type * as Url from "node:url";
import type { Backend, RawSocketDescription } from "../src/_backend.ts";
import { SystemdError } from "../src/errors.ts";

// `import ... from "node:fs"` makes Node build an ES module namespace for each
// builtin (1.9 ms at start-up for these four); process.getBuiltinModule (Node
// >= 20.16 / 22.3) hands out the already-loaded CommonJS objects for ~0.1 ms.
// Fetched when the backend opens, not at module evaluation, so this module has
// no top-level work and a bundler may inline it.
interface Builtins {
  readonly existsSync: typeof Fs.existsSync;
  readonly readFileSync: typeof Fs.readFileSync;
  readonly createRequire: typeof NodeModule.createRequire;
  readonly dirname: typeof Path.dirname;
  readonly join: typeof Path.join;
  readonly fileURLToPath: typeof Url.fileURLToPath;
}

async function nodeBuiltins(): Promise<Builtins> {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const [fs, module, path, url] = get === undefined
    ? await Promise.all([
      import("node:fs"),
      import("node:module"),
      import("node:path"),
      import("node:url"),
    ])
    : [
      get("node:fs") as typeof Fs,
      get("node:module") as typeof NodeModule,
      get("node:path") as typeof Path,
      get("node:url") as typeof Url,
    ];
  const { existsSync, readFileSync } = fs;
  const { createRequire } = module;
  const { dirname, join } = path;
  const { fileURLToPath } = url;
  return { existsSync, readFileSync, createRequire, dirname, join, fileURLToPath };
}

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
 * that it works from the sources (`ffi/node.ts`) and from the npm bundle
 * (`dist/mod.js`) alike.
 */
function findPackageRoot(
  { dirname, fileURLToPath, join, readFileSync }: Builtins,
): string | undefined {
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
function loadKnownBuild(
  { existsSync, join }: Builtins,
  root: string,
): Partial<Addon> | undefined {
  const candidates = [
    join(root, "build", "Release", "systemd_daemon.node"),
    join(root, "prebuilds", `linux-${process.arch}`, "node.napi.glibc.node"),
  ];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    try {
      // What require() of a .node file does, without a require() (createRequire
      // and the CommonJS resolver cost ~0.5 ms more at start-up).
      const module = { exports: {} as Partial<Addon> };
      process.dlopen(module, candidate);
      return module.exports;
    } catch {
      // e.g. a glibc build on a musl system: let node-gyp-build choose
    }
  }
  return undefined;
}

function loadAddon(builtins: Builtins): Addon {
  if (addon !== undefined) return addon;
  const root = findPackageRoot(builtins);
  if (root === undefined) {
    throw missingAddon(`cannot be found: no package.json named "${PACKAGE_NAME}" above this file`);
  }
  let loaded: Partial<Addon> | undefined = loadKnownBuild(builtins, root);
  if (loaded === undefined) {
    try {
      const require = builtins.createRequire(import.meta.url);
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
 * const backend = await openNodeBackend();
 * console.log(backend.monotonicUsec()); // e.g. 81234567890n
 * ```
 */
export async function openNodeBackend(): Promise<Backend> {
  const native = addon ?? loadAddon(await nodeBuiltins());
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
