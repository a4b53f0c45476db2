/**
 * Drives scripts/bench/receiver.c: the draining AF_UNIX datagram receiver all
 * benchmarks send to. Asks it for its message count and collects the
 * CLOCK_MONOTONIC arrival times of READY=1 messages.
 *
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** A running receiver. */
export interface BenchReceiver {
  /** The socket path: the NOTIFY_SOCKET value that reaches it. */
  readonly path: string;
  /** Sets the message count to 0. */
  reset(): Promise<void>;
  /** Waits until at least `expected` messages arrived since the last reset; returns the count. */
  waitForCount(expected: number, timeoutMs?: number): Promise<number>;
  /** The arrival time (CLOCK_MONOTONIC, ns) of the next READY=1, waiting up to `timeoutMs`. */
  nextReady(timeoutMs?: number): Promise<bigint>;
  /** Forgets READY=1 arrivals not yet taken. */
  clearReady(): void;
  /** Stops it (it removes its socket file) and waits for it to exit. */
  close(): Promise<void>;
}

/** Starts the receiver binary on `path`. */
export async function startBenchReceiver(binary: string, path: string): Promise<BenchReceiver> {
  const child: ChildProcessWithoutNullStreams = spawn(binary, [path], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += String(chunk)));
  const readies: bigint[] = [];
  let ready_waiter: (() => void) | undefined;
  let reply_waiter: ((line: string) => void) | undefined;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on("exit", () => {
      exited = true;
      resolve();
    })
  );
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith("ready ")) {
      readies.push(BigInt(line.slice(6)));
      ready_waiter?.();
      return;
    }
    const waiter = reply_waiter;
    reply_waiter = undefined;
    waiter?.(line);
  });

  function reply(timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reply_waiter = undefined;
        reject(new Error(`The receiver did not answer within ${timeoutMs} ms: ${stderr}`));
      }, timeoutMs);
      reply_waiter = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  async function command(text: string): Promise<string> {
    if (exited) throw new Error(`The receiver has exited: ${stderr}`);
    const answer = reply();
    child.stdin.write(`${text}\n`);
    return await answer;
  }

  const listening = await Promise.race([
    reply(),
    exit.then(() => `exited: ${stderr}`),
  ]);
  if (listening !== "listening") throw new Error(`The receiver did not start: ${listening}`);

  return {
    path,
    async reset(): Promise<void> {
      await command("reset");
    },
    async waitForCount(expected: number, timeoutMs = 5000): Promise<number> {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const count = Number((await command("count")).slice(6));
        if (count >= expected || performance.now() > deadline) return count;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async nextReady(timeoutMs = 5000): Promise<bigint> {
      const deadline = performance.now() + timeoutMs;
      while (readies.length === 0) {
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`No READY=1 arrived within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          ready_waiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        ready_waiter = undefined;
      }
      return readies.shift() as bigint;
    },
    clearReady(): void {
      readies.length = 0;
    },
    async close(): Promise<void> {
      if (!exited) {
        child.stdin.end("quit\n");
        const timer = setTimeout(() => {
          if (!exited && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
        }, 2000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}
