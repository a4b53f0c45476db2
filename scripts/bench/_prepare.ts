/**
 * Everything the benchmark needs before it measures: a C compiler and
 * libsystemd's headers (installed with apt-get when absent, full runs only),
 * the C receiver and references, the module bundled as npm and JSR ship it, and the npm `sd-notify` package in a scratch directory.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, writeJsr } from "../build.ts";
import { exec, execChecked, which } from "./_exec.ts";

/** The repository root. */
export const ROOT: string = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const BENCH_DIR = join(ROOT, "scripts", "bench");
const SD_DAEMON_HEADER = "/usr/include/systemd/sd-daemon.h";

/** The tools found (or installed) and what is missing. */
export interface Toolchain {
  /** The C compiler, when there is one. */
  readonly cc: string | undefined;
  /** True when libsystemd's headers are there. */
  readonly libsystemd: boolean;
  /** What was installed or skipped, for the log. */
  readonly notes: readonly string[];
}

/**
 * Finds a C compiler and libsystemd-dev; with `install`, installs what is
 * absent with apt-get (needs root), and only then.
 */
export async function ensureToolchain(install: boolean): Promise<Toolchain> {
  const notes: string[] = [];
  let cc = await which("cc") ?? await which("gcc");
  let libsystemd = existsSync(SD_DAEMON_HEADER);
  const missing: string[] = [];
  if (cc === undefined) missing.push("gcc", "libc6-dev");
  if (!libsystemd) missing.push("libsystemd-dev");
  if (missing.length > 0 && install) {
    if (process.getuid?.() !== 0) {
      notes.push(`not root: cannot apt-get install ${missing.join(" ")}`);
    } else {
      await installPackages(missing, notes);
      cc = await which("cc") ?? await which("gcc");
      libsystemd = existsSync(SD_DAEMON_HEADER);
    }
  } else if (missing.length > 0) {
    notes.push(`quick mode: not installing ${missing.join(" ")}`);
  }
  return { cc, libsystemd, notes };
}

const APT_ENV: Readonly<Record<string, string>> = { DEBIAN_FRONTEND: "noninteractive" };

/**
 * apt-get installs `packages`. libsystemd-dev must match libsystemd0 exactly,
 * so it is first asked for at the installed libsystemd0's version; only if
 * Debian no longer has that version is it installed as is, which also
 * upgrades libsystemd0 (and systemd) to the current point release: said in `notes`.
 */
async function installPackages(packages: readonly string[], notes: string[]): Promise<void> {
  await execChecked("apt-get", ["update", "-qq"], { env: APT_ENV });
  const install = (names: readonly string[]) =>
    exec("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...names], {
      env: APT_ENV,
    });
  const installed = await exec("dpkg-query", ["-W", "-f", "${Version}", "libsystemd0"]);
  const version = installed.code === 0 ? installed.stdout.trim() : "";
  const pinned = packages.map((name) =>
    name === "libsystemd-dev" && version !== "" ? `${name}=${version}` : name
  );
  let result = await install(pinned);
  if (result.code === 0) {
    notes.push(`apt-get installed ${pinned.join(" ")}`);
    return;
  }
  result = await install(packages);
  if (result.code !== 0) {
    throw new Error(
      `apt-get install ${packages.join(" ")} failed:\n${result.stderr}${result.stdout}`,
    );
  }
  notes.push(
    `apt-get installed ${packages.join(" ")}; libsystemd-dev ${version} is gone from Debian, so ` +
      "libsystemd0 and systemd were upgraded to the current point release",
  );
}

/** The C programs, by name; a name is absent when it could not be built. */
export interface CPrograms {
  readonly receiver: string;
  readonly launch: string;
  readonly raw_sendto: string;
  /** raw_sendto.c built with -DCONNECTED: send(2) on a socket connected once. */
  readonly raw_send_connected: string;
  readonly sd_notify_loop: string | undefined;
}

/** Compiles the C receiver and references into `work`. */
export async function buildCPrograms(work: string, toolchain: Toolchain): Promise<CPrograms> {
  const { cc } = toolchain;
  if (cc === undefined) {
    throw new Error(
      "The benchmark needs a C compiler for its receiver; none found (run without --quick to install gcc)",
    );
  }
  const compile = async (
    name: string,
    extra: readonly string[] = [],
    output = join(work, name),
  ): Promise<string> => {
    await execChecked(cc, [
      "-O2",
      "-Wall",
      "-Wextra",
      "-o",
      output,
      join(BENCH_DIR, `${name}.c`),
      ...extra,
    ]);
    return output;
  };
  const [receiver, launch, raw_sendto, raw_send_connected] = await Promise.all([
    compile("receiver", ["-pthread"]),
    compile("launch"),
    compile("raw_sendto"),
    compile("raw_sendto", ["-DCONNECTED"], join(work, "raw_send_connected")),
  ]);
  const sd_notify_loop = toolchain.libsystemd
    ? await compile("sd_notify_loop", ["-lsystemd"])
    : undefined;
  return { receiver, launch, raw_sendto, raw_send_connected, sd_notify_loop };
}

/** Where {@linkcode buildPackage} writes the module as JSR ships it. */
export function jsrDirectory(work: string): string {
  return join(work, "jsr");
}

/**
 * Builds the module as npm ships it (`mod.js`: the bundle of `npm run build`,
 * with its declarations) and compiles the benchmark clients with the
 * repository's `tsc` into `work/package`, laid out as the npm package is
 * (package.json beside it, the addon's build/, prebuilds/ and node_modules/
 * linked from the repository). Also writes {@linkcode jsrDirectory}, the
 * module as JSR ships it (`writeJsr`, as `npm run build` writes `jsr/`), which
 * Deno loads. Both are written before the clients, so neither holds them.
 * @returns the package directory
 */
export async function buildPackage(work: string): Promise<string> {
  const output = join(work, "package");
  await bundle(output);
  // The declarations, only so that work/jsr is what `npm run build` writes to jsr/.
  await execChecked(join(ROOT, "node_modules", ".bin", "tsc"), [
    "-p",
    join(ROOT, "tsconfig.build.json"),
    "--outDir",
    output,
  ]);
  writeJsr(output, jsrDirectory(work));
  const clients = readdirSync(join(BENCH_DIR, "clients"))
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(BENCH_DIR, "clients", name));
  await execChecked(join(ROOT, "node_modules", ".bin", "tsc"), [
    ...clients,
    "--rootDir",
    ROOT,
    "--outDir",
    output,
    "--module",
    "nodenext",
    "--target",
    "es2022",
    "--rewriteRelativeImportExtensions",
    "--noCheck",
    "--skipLibCheck",
    "--declaration",
    "false",
  ]);
  writeFileSync(join(output, "package.json"), readFileSync(join(ROOT, "package.json")));
  for (const linked of ["build", "prebuilds", "node_modules"]) {
    if (existsSync(join(ROOT, linked))) symlinkSync(join(ROOT, linked), join(output, linked));
  }
  return output;
}

/**
 * Installs the npm `sd-notify` package (it compiles a libsystemd addon) into
 * `work/npm`, never into the repository.
 * @returns the prefix, or a string starting with "skipped:" saying why not
 */
export async function installNpmSdNotify(work: string, toolchain: Toolchain): Promise<string> {
  if (!toolchain.libsystemd || toolchain.cc === undefined) {
    return "skipped: it needs libsystemd-dev and a C compiler";
  }
  const prefix = join(work, "npm");
  const result = await exec("npm", [
    "install",
    "--prefix",
    prefix,
    "--no-audit",
    "--no-fund",
    "--no-save",
    "--loglevel=error",
    "sd-notify",
  ], { timeoutMs: 300_000 });
  if (result.code !== 0) {
    return `skipped: npm install sd-notify failed: ${
      result.stderr.trim().split("\n").slice(-3).join(" ")
    }`;
  }
  return prefix;
}
