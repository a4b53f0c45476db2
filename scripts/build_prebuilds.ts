/**
 * Builds the prebuilt N-API binaries that ship inside the npm package, in the
 * layout and with the names `node-gyp-build` resolves at run time:
 *
 * ```
 * prebuilds/linux-x64/node.napi.glibc.node    gcc
 * prebuilds/linux-x64/node.napi.musl.node     musl-gcc (Debian: musl-tools)
 * prebuilds/linux-arm64/node.napi.glibc.node  aarch64-linux-gnu-gcc (Debian: gcc-aarch64-linux-gnu)
 * prebuilds/manifest.json                     sha256 of the sources and of every binary
 * ```
 *
 * The binaries are compiled straight from `ffi/binding.c` against the pinned
 * `node-api-headers` package (no node-gyp, no Node headers of the build
 * machine): the N-API symbols stay undefined in the shared object and resolve
 * when Node, Bun or Deno loads it. The output is reproducible (no build id,
 * stripped, source paths mapped), so `--reproduce` can prove that the
 * committed binaries come from the committed sources.
 *
 * Usage (`node --import tsx scripts/build_prebuilds.ts [--check | --reproduce]`):
 * - no flag: build all three and write `prebuilds/manifest.json`; needs the
 *   three compilers (`apt-get install gcc gcc-aarch64-linux-gnu musl-tools`).
 * - `--check`: no compiler needed; fails when `ffi/binding.c` (or the glibc
 *   shim) changed since the binaries were built, a binary differs from the
 *   manifest, or `readelf` shows a wrong architecture or libc, no exported
 *   `napi_register_module_v1`, or a glibc symbol newer than 2.17. Run by
 *   `npm run consumer-check`.
 * - `--reproduce`: build into a temporary directory and compare byte for byte.
 *
 * After a build, `smoke()` loads the x64 glibc binary in Node and the x64 musl
 * binary in a stand-in host under musl's dynamic linker
 * (`scripts/build_prebuilds_musl_smoke.c`).
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** One prebuilt binary: where it goes and which compiler makes it. */
export interface PrebuildTarget {
  /** Path below the package root, in node-gyp-build's `prebuilds/<platform>-<arch>/` layout. */
  readonly path: string;
  /** The C compiler for this platform, architecture and libc. */
  readonly compiler: string;
  /** Whether it links against glibc (and so needs the lstat shim). */
  readonly glibc: boolean;
}

/** What `prebuilds/manifest.json` records. */
export interface PrebuildManifest {
  /** sha256 of every source file the binaries are compiled from, by path. */
  readonly sources: Record<string, string>;
  /** sha256 and compiler version of every binary, by path. */
  readonly binaries: Record<string, { readonly sha256: string; readonly compiler: string }>;
}

/** The package root (this file lives in `scripts/`). */
export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The three binaries the npm package ships. */
export const TARGETS: readonly PrebuildTarget[] = [
  { path: "prebuilds/linux-x64/node.napi.glibc.node", compiler: "gcc", glibc: true },
  { path: "prebuilds/linux-x64/node.napi.musl.node", compiler: "musl-gcc", glibc: false },
  {
    path: "prebuilds/linux-arm64/node.napi.glibc.node",
    compiler: "aarch64-linux-gnu-gcc",
    glibc: true,
  },
];

const BINDING = "ffi/binding.c";
const GLIBC_SHIM = "scripts/build_prebuilds_glibc_compat.c";
const MANIFEST = "prebuilds/manifest.json";

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function headersDirectory(): string {
  return join(ROOT, "node_modules", "node-api-headers", "include");
}

/** Compiles one target into `output`; returns the compiler's version line. */
function compile(target: PrebuildTarget, output: string): string {
  const flags = [
    "-std=gnu11",
    "-shared",
    "-fPIC",
    "-O2",
    "-Wall",
    "-Wextra",
    "-fvisibility=hidden",
    `-ffile-prefix-map=${ROOT}=.`,
    "-I",
    headersDirectory(),
    "-Wl,--build-id=none",
    "-Wl,-z,noexecstack",
    "-s",
  ];
  const sources = [BINDING];
  if (target.glibc) {
    flags.push("-Wl,--wrap=lstat");
    sources.push(GLIBC_SHIM);
  }
  mkdirSync(dirname(output), { recursive: true });
  execFileSync(target.compiler, [...flags, ...sources, "-o", output], {
    cwd: ROOT,
    stdio: "inherit",
  });
  const version = execFileSync(target.compiler, ["--version"], { encoding: "utf8" }).split("\n")[0];
  return `${target.compiler}: ${version}`;
}

function sourceHashes(): Record<string, string> {
  return {
    [BINDING]: sha256(join(ROOT, BINDING)),
    [GLIBC_SHIM]: sha256(join(ROOT, GLIBC_SHIM)),
  };
}

/** The oldest glibc the glibc prebuilds may need (CentOS 7, and the aarch64 baseline). */
const MAX_GLIBC: readonly [number, number] = [2, 17];

/**
 * Reads each binary's ELF headers with `readelf` (binutils) and returns what is
 * wrong: not a shared object for its architecture, a libc other than its
 * name says, no exported `napi_register_module_v1`, or a glibc symbol newer
 * than 2.17.
 */
export function inspect(): string[] {
  const problems: string[] = [];
  for (const target of TARGETS) {
    const file = join(ROOT, target.path);
    const read = (option: string): string =>
      execFileSync("readelf", [option, "-W", file], { encoding: "utf8" });
    const header = read("-h");
    const machine = target.path.includes("arm64") ? "AArch64" : "X86-64";
    if (!/Type:\s+DYN/.test(header) || !new RegExp(`Machine:\\s+.*${machine}`).test(header)) {
      problems.push(`"${target.path}" is not a ${machine} shared object`);
    }
    const needed = /Shared library: \[([^\]]+)\]/.exec(read("-d"))?.[1];
    if (needed !== (target.glibc ? "libc.so.6" : "libc.so")) {
      problems.push(
        `"${target.path}" needs "${needed}", not the ${target.glibc ? "glibc" : "musl"} libc`,
      );
    }
    if (!/ FUNC +GLOBAL +DEFAULT +\d+ napi_register_module_v1$/m.test(read("--dyn-syms"))) {
      problems.push(`"${target.path}" does not export napi_register_module_v1`);
    }
    for (const match of read("-V").matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
      const [major, minor] = [Number(match[1]), Number(match[2])];
      if (major > MAX_GLIBC[0] || (major === MAX_GLIBC[0] && minor > MAX_GLIBC[1])) {
        problems.push(
          `"${target.path}" needs ${match[0]}, newer than glibc ${MAX_GLIBC.join(".")}`,
        );
      }
    }
  }
  return [...new Set(problems)];
}

const MUSL_SMOKE = "scripts/build_prebuilds_musl_smoke.c";
/** napi_* functions the musl smoke host implements itself; it stubs the rest. */
const MUSL_SMOKE_OWN: readonly string[] = [
  "napi_define_properties",
  "napi_create_bigint_uint64",
  "napi_get_boolean",
  "napi_get_cb_info",
  "napi_get_value_string_utf8",
];

/**
 * Loads each binary that can run here: the x64 glibc one in this Node, the
 * x64 musl one in a small host program under musl's dynamic linker (it stands
 * in for Node's napi_* symbols). The arm64 one runs in `npm run consumer-check`
 * under qemu. Throws when a binary does not load or misbehaves.
 */
export function smoke(): void {
  // Every EXPORT(...) of ffi/binding.c must come out as a function.
  const exported = readFileSync(join(ROOT, "ffi/binding.c"), "utf8").match(/^\s+EXPORT\("/gm)
    ?.length ?? 0;
  const glibc = join(ROOT, "prebuilds/linux-x64/node.napi.glibc.node");
  execFileSync(process.execPath, [
    "-e",
    `const a = require(${JSON.stringify(glibc)});
     if (Object.keys(a).length !== ${exported} || a.isDirectory("/tmp") !== true || typeof a.monotonicUsec() !== "bigint") process.exit(1);`,
  ], { stdio: "inherit" });
  console.log("smoke: prebuilds/linux-x64/node.napi.glibc.node loads in this Node");

  const musl = join(ROOT, "prebuilds/linux-x64/node.napi.musl.node");
  const imports = execFileSync("readelf", ["--dyn-syms", "-W", musl], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[6] === "UND" && /^napi_\w+$/.test(fields[7] ?? ""))
    .map((fields) => fields[7])
    .filter((name) => !MUSL_SMOKE_OWN.includes(name));
  const scratch = mkdtempSync(join(tmpdir(), "systemd-js-musl-smoke-"));
  try {
    const stubs = join(scratch, "stubs.c");
    writeFileSync(stubs, imports.map((name) => `int ${name}(void) { return 0; }\n`).join(""));
    const host = join(scratch, "host");
    execFileSync("musl-gcc", ["-O1", "-rdynamic", join(ROOT, MUSL_SMOKE), stubs, "-o", host], {
      stdio: "inherit",
    });
    execFileSync(host, [musl, String(exported)], { stdio: "inherit" });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log("smoke: prebuilds/linux-x64/node.napi.musl.node loads under musl's ld.so and works");
}

/** Builds every target into the package and writes the manifest. */
export function build(): PrebuildManifest {
  const binaries: Record<string, { sha256: string; compiler: string }> = {};
  for (const target of TARGETS) {
    const output = join(ROOT, target.path);
    const compiler = compile(target, output);
    binaries[target.path] = { sha256: sha256(output), compiler };
    console.log(`built ${target.path} (${compiler})`);
  }
  const manifest: PrebuildManifest = { sources: sourceHashes(), binaries };
  writeFileSync(join(ROOT, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

/**
 * Returns the problems that make the committed prebuilds untrustworthy: a source
 * changed since they were built, or a binary is missing or differs from the manifest.
 */
export function check(): string[] {
  let manifest: PrebuildManifest;
  try {
    manifest = JSON.parse(readFileSync(join(ROOT, MANIFEST), "utf8")) as PrebuildManifest;
  } catch (error) {
    return [`Cannot read "${MANIFEST}": ${String(error)}`];
  }
  const problems: string[] = [];
  for (const [path, hash] of Object.entries(sourceHashes())) {
    if (manifest.sources[path] !== hash) {
      problems.push(
        `"${path}" changed since the prebuilds were built: run "npm run build:prebuilds"`,
      );
    }
  }
  for (const target of TARGETS) {
    const recorded = manifest.binaries[target.path];
    let actual: string | undefined;
    try {
      actual = sha256(join(ROOT, target.path));
    } catch {
      actual = undefined;
    }
    if (recorded === undefined || actual === undefined || recorded.sha256 !== actual) {
      problems.push(`"${target.path}" is missing or does not match "${MANIFEST}"`);
    }
  }
  return problems;
}

/** Rebuilds every target in a temporary directory; returns the paths that differ. */
export function reproduce(): string[] {
  const scratch = mkdtempSync(join(tmpdir(), "systemd-js-prebuilds-"));
  try {
    const differing: string[] = [];
    for (const target of TARGETS) {
      const output = join(scratch, target.path);
      compile(target, output);
      if (sha256(output) !== sha256(join(ROOT, target.path))) differing.push(target.path);
    }
    return differing;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mode = process.argv[2];
  if (mode === "--check") {
    const problems = [...check(), ...inspect()];
    for (const problem of problems) console.error(problem);
    if (problems.length > 0) process.exit(1);
    console.log(`prebuilds match ${relative(ROOT, join(ROOT, MANIFEST))} and the sources`);
  } else if (mode === "--reproduce") {
    const differing = reproduce();
    for (const path of differing) console.error(`"${path}" is not reproduced byte for byte`);
    if (differing.length > 0) process.exit(1);
    console.log("every prebuild reproduced byte for byte from the sources");
  } else if (mode === undefined) {
    build();
    const problems = inspect();
    for (const problem of problems) console.error(problem);
    if (problems.length > 0) process.exit(1);
    smoke();
  } else {
    console.error(`Unknown option "${mode}": use --check, --reproduce or nothing`);
    process.exit(2);
  }
}
