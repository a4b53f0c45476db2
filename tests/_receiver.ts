/**
 * Test helper: runs tests/fixtures/notify_receiver.py, a notification receiver
 * that shares no code with the module, and hands its reports to the test.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const SCRIPT = new URL("./fixtures/notify_receiver.py", import.meta.url).pathname;

/** One datagram as the receiver saw it. */
export interface ReceivedMessage {
  /** The exact bytes, decoded as UTF-8. */
  readonly text: string;
  /** The exact bytes. */
  readonly bytes: Uint8Array;
  /** Credentials the kernel attached (SCM_CREDENTIALS). */
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** The descriptors received (closed by the receiver afterwards unless keepFds). */
  readonly fds: readonly { kind: string; inode: number; target: string }[];
  /** True when the control data did not fit (would mean lost fds). */
  readonly truncated: boolean;
  /** When it arrived: the receiver's CLOCK_MONOTONIC in microseconds. */
  readonly arrivedUsec: number;
}

/** A running receiver. */
export interface Receiver {
  /** The NOTIFY_SOCKET value that reaches it. */
  readonly address: string;
  /** Resolves with the next datagram, or rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<ReceivedMessage>;
  /** Resolves true if no datagram arrives within `ms`. */
  silentFor(ms: number): Promise<boolean>;
  /** Stops reading, so the socket queue fills up. */
  pause(): Promise<void>;
  /** Reads again. */
  resume(): Promise<void>;
  /** Stops the receiver and removes its directory. */
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** Bind an abstract address ("@…") instead of a path. */
  readonly abstract?: boolean;
  /** Keep received descriptors open instead of closing them. */
  readonly keepFds?: boolean;
  /** Start without reading. */
  readonly paused?: boolean;
}

/** Starts a receiver on a fresh path or abstract name. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const directory = mkdtempSync(join(tmpdir(), "sdjs-recv-"));
  const unique = directory.slice(directory.lastIndexOf("-") + 1);
  const address = options.abstract === true
    ? `@sdjs-test/${unique}/${process.pid}`
    : join(directory, "notify.sock");
  const args = [SCRIPT, address];
  if (options.keepFds === true) args.push("--keep-fds");
  if (options.paused === true) args.push("--paused");
  const child: ChildProcessWithoutNullStreams = spawn("python3", args, {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const queue: Record<string, unknown>[] = [];
  const waiters: ((line: Record<string, unknown>) => void)[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += String(chunk)));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(parsed);
    else queue.push(parsed);
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));

  function nextLine(timeoutMs: number): Promise<Record<string, unknown> | undefined> {
    const queued = queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        resolve(undefined);
      }, timeoutMs);
      const waiter = (line: Record<string, unknown>): void => {
        clearTimeout(timer);
        resolve(line);
      };
      waiters.push(waiter);
    });
  }

  async function command(word: string): Promise<void> {
    child.stdin.write(`${word}\n`);
    const answer = await nextLine(5000);
    if (answer?.event !== word) throw new Error(`receiver did not confirm "${word}"`);
  }

  const bound = await nextLine(5000);
  if (bound?.event !== "bound") {
    child.kill();
    throw new Error(`receiver did not start: ${stderr}`);
  }
  return {
    address,
    async next(timeoutMs = 5000): Promise<ReceivedMessage> {
      const line = await nextLine(timeoutMs);
      if (line === undefined) throw new Error(`no datagram within ${timeoutMs} ms`);
      if (line.event !== "message") throw new Error(`unexpected receiver line ${JSON.stringify(line)}`);
      const bytes = Uint8Array.from(atob(line.data as string), (c) => c.charCodeAt(0));
      return {
        text: new TextDecoder().decode(bytes),
        bytes,
        pid: line.pid as number,
        uid: line.uid as number,
        gid: line.gid as number,
        fds: line.fds as ReceivedMessage["fds"],
        truncated: line.truncated as boolean,
        arrivedUsec: line.usec as number,
      };
    },
    async silentFor(ms: number): Promise<boolean> {
      const line = await nextLine(ms);
      if (line !== undefined) queue.unshift(line);
      return line === undefined;
    },
    pause: () => command("pause"),
    resume: () => command("resume"),
    async close(): Promise<void> {
      if (child.exitCode === null) {
        child.stdin.end("quit\n");
        const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
