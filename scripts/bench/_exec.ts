/**
 * Runs a command to completion and collects its output (benchmark helper).
 *
 * @module
 */
import { spawn } from "node:child_process";

/** What a finished command left. */
export interface ExecResult {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** Everything it printed on stdout. */
  readonly stdout: string;
  /** Everything it printed on stderr. */
  readonly stderr: string;
}

/** Options for {@linkcode exec}. */
export interface ExecOptions {
  /** Extra environment variables (added to ours). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory. */
  readonly cwd?: string;
  /** Kill it (SIGKILL, by pid) after this many ms. Default 600 000. */
  readonly timeoutMs?: number;
}

/** Runs `command` with `args`; never rejects for a non-zero exit, only when it cannot start. */
export function exec(
  command: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 600_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed; throws with its output otherwise. */
export async function execChecked(
  command: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const result = await exec(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `"${
        [command, ...args].join(" ")
      }" exited with ${result.code}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result;
}

/** The full path of `name` on PATH, or undefined. */
export async function which(name: string): Promise<string | undefined> {
  const result = await exec("sh", ["-c", `command -v "$0"`, name]);
  const path = result.stdout.trim();
  return result.code === 0 && path !== "" ? path : undefined;
}
