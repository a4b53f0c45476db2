/**
 * Test helper: a Python helper process that takes one-word commands on stdin and answers with
 * one JSON object per line on stdout — the notification receiver (`tests/_receiver.ts`) and the
 * sink receiver (`tests/fixtures/_load.ts`).
 *
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** One line the helper wrote, parsed. */
export type JsonLine = Record<string, unknown>;

/** A running helper process, from {@link startJsonLineChild}. */
export interface JsonLineChild {
  /** What it wrote to stderr so far. */
  readonly stderr: string;
  /**
   * Writes one line to its stdin.
   *
   * @param line the line, without the newline
   */
  send(line: string): void;
  /**
   * The next line it wrote, in order.
   *
   * @param timeoutMs how long to wait for one
   * @returns the line, or `undefined` when none came within `timeoutMs`
   */
  nextLine(timeoutMs: number): Promise<JsonLine | undefined>;
  /**
   * Puts a line back, so that {@link JsonLineChild.nextLine} returns it first.
   *
   * @param line a line `nextLine` returned
   */
  unread(line: JsonLine): void;
  /**
   * Sends a signal.
   *
   * @param signal the signal (default SIGTERM)
   */
  kill(signal?: "SIGTERM" | "SIGKILL"): void;
  /**
   * Asks it to quit (`quit` on stdin, then end of input) and waits until it has exited; kills it
   * with SIGKILL when it is still there after 2 s. Does nothing when it has exited already.
   *
   * @returns once it has exited
   */
  quit(): Promise<void>;
}

/**
 * Starts `python3 SCRIPT ARGS…` with its stdout read as JSON lines.
 *
 * @param script the Python script's path
 * @param args its arguments
 * @returns the running helper
 */
export function startJsonLineChild(script: string, args: readonly string[]): JsonLineChild {
  const child: ChildProcessWithoutNullStreams = spawn("python3", [script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += String(chunk)));
  const queue: JsonLine[] = [];
  const waiters: ((line: JsonLine) => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    const parsed = JSON.parse(line) as JsonLine;
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(parsed);
    else queue.push(parsed);
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));

  return {
    get stderr(): string {
      return stderr;
    },
    send(line: string): void {
      child.stdin.write(`${line}\n`);
    },
    nextLine(timeoutMs: number): Promise<JsonLine | undefined> {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise((resolve) => {
        const waiter = (line: JsonLine): void => {
          clearTimeout(timer);
          resolve(line);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          resolve(undefined);
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    unread(line: JsonLine): void {
      queue.unshift(line);
    },
    kill(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): void {
      child.kill(signal);
    },
    async quit(): Promise<void> {
      if (child.exitCode !== null) return;
      child.stdin.end("quit\n");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Decodes the base64 the helpers use for received bytes.
 *
 * @param text base64
 * @returns the bytes
 */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
