import { execFile, type ExecFileException } from "node:child_process";

/** What one finished command left behind. */
export interface ExecResult {
  /** Exit status; 124 when the time limit killed it, 127 when it could not be started. */
  readonly code: number;
  /** Everything it wrote to stdout, decoded as UTF-8. */
  readonly stdout: string;
  /** Everything it wrote to stderr, decoded as UTF-8 (plus the reason for codes 124 and 127). */
  readonly stderr: string;
}

/** Options for {@link execCommand}. */
export interface ExecOptions {
  /** The complete environment of the command; the caller's environment when absent. */
  readonly env?: Readonly<Record<string, string>>;
  /** Time limit in milliseconds, after which the command is killed with SIGKILL (default 30 000). */
  readonly timeoutMs?: number;
}

/**
 * Runs a program without a shell and collects its exit status and output.
 *
 * Never rejects: a program that cannot be started resolves with code 127 and one that
 * outlives `timeoutMs` with code 124, the reason appended to `stderr`.
 *
 * @param file the program (a path or a name looked up in `PATH`)
 * @param args its arguments
 * @param options environment and time limit
 * @returns the exit status and output
 *
 * @example Ask systemctl for its version
 * ```ts
 * const { code, stdout } = await execCommand("systemctl", ["--version"]);
 * if (code === 0) console.log(stdout.split("\n")[0]);
 * ```
 */
export function execCommand(
  file: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise<ExecResult>((resolve) => {
    execFile(
      file,
      [...args],
      {
        env: options.env === undefined ? undefined : { ...options.env },
        timeout: timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
        encoding: "utf8",
      },
      (error: ExecFileException | null, stdout: string, stderr: string): void => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
        } else if (typeof error.code === "number") {
          resolve({ code: error.code, stdout, stderr });
        } else if (error.killed === true || error.signal !== undefined && error.signal !== null) {
          const why = `"${file}" was killed by ${
            error.signal ?? "a signal"
          } (limit ${timeoutMs} ms)`;
          resolve({ code: 124, stdout, stderr: `${stderr}${why}\n` });
        } else {
          resolve({ code: 127, stdout, stderr: `${stderr}${error.message}\n` });
        }
      },
    );
  });
}
