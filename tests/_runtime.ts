/** Test helper: run a TypeScript fixture in a child process of the runtime running the tests. */
import { spawn, type SpawnOptions } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root, the working directory for child processes. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** Which runtime runs the tests. */
export const RUNTIME: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** The command that runs `script` under the current runtime with all permissions. */
export function runtimeCommand(script: string, args: readonly string[] = []): [string, string[]] {
  const path = fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url));
  switch (RUNTIME) {
    case "deno":
      return [process.execPath, ["run", "-A", "--quiet", path, ...args]];
    case "bun":
      return [process.execPath, [path, ...args]];
    default:
      return [process.execPath, ["--import", "tsx", path, ...args]];
  }
}

/** What a finished child process left. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/** Runs a command to completion, killing it after `timeoutMs`. */
export function run(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<ChildResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => (stdout += String(chunk)));
    child.stderr?.on("data", (chunk) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

/** Runs a fixture under the current runtime. */
export function runFixture(
  script: string,
  args: readonly string[] = [],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<ChildResult> {
  const [command, fullArgs] = runtimeCommand(script, args);
  return run(command, fullArgs, options);
}
