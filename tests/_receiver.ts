/**
 * Test helper: runs tests/fixtures/notify_receiver.py, a notification receiver
 * that shares no code with the module, and hands its reports to the test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBase64, startJsonLineChild } from "./_json_line_child.ts";

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
  /** Bind this address (a free path, or "@name") instead of a fresh one. */
  readonly address?: string;
  /** Keep received descriptors open instead of closing them. */
  readonly keepFds?: boolean;
  /** Start without reading. */
  readonly paused?: boolean;
}

/** Starts a receiver on a fresh path or abstract name. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const directory = mkdtempSync(join(tmpdir(), "sdjs-recv-"));
  const unique = directory.slice(directory.lastIndexOf("-") + 1);
  const address = options.address ??
    (options.abstract === true
      ? `@sdjs-test/${unique}/${process.pid}`
      : join(directory, "notify.sock"));
  const args = [address];
  if (options.keepFds === true) args.push("--keep-fds");
  if (options.paused === true) args.push("--paused");
  const child = startJsonLineChild(SCRIPT, args);

  async function command(word: string): Promise<void> {
    child.send(word);
    const answer = await child.nextLine(5000);
    if (answer?.event !== word) throw new Error(`receiver did not confirm "${word}"`);
  }

  const bound = await child.nextLine(5000);
  if (bound?.event !== "bound") {
    child.kill();
    throw new Error(`receiver did not start: ${child.stderr}`);
  }
  return {
    address,
    async next(timeoutMs = 5000): Promise<ReceivedMessage> {
      const line = await child.nextLine(timeoutMs);
      if (line === undefined) throw new Error(`no datagram within ${timeoutMs} ms`);
      if (line.event !== "message") throw new Error(`unexpected receiver line ${JSON.stringify(line)}`);
      const bytes = fromBase64(line.data as string);
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
      const line = await child.nextLine(ms);
      if (line !== undefined) child.unread(line);
      return line === undefined;
    },
    pause: () => command("pause"),
    resume: () => command("resume"),
    async close(): Promise<void> {
      await child.quit();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
