/**
 * Times one round of a per-message client: wall clock and process CPU time
 * (user + system, all threads: `process.cpuUsage()`, which Deno, Bun and Node share).
 *
 * @module
 */

/** A started round. */
export interface RoundClock {
  /** "<wall_ns> <cpu_ns>" per message for a round of `count` messages. */
  perMessage(count: number): string;
}

/** The CPU time of this process, in microseconds. */
function cpuMicroseconds(): number {
  const { user, system } = (globalThis as unknown as {
    process: { cpuUsage(): { user: number; system: number } };
  }).process.cpuUsage();
  return user + system;
}

// Deno builds its Node-compat `process` on first use, which takes milliseconds:
// do it now, before any round is timed.
cpuMicroseconds();

/** Starts timing a round. */
export function startRound(): RoundClock {
  const wall = performance.now();
  const cpu = cpuMicroseconds();
  return {
    perMessage(count: number): string {
      const wall_ns = (performance.now() - wall) * 1e6 / count;
      const cpu_ns = (cpuMicroseconds() - cpu) * 1e3 / count;
      return `${wall_ns.toFixed(1)} ${cpu_ns.toFixed(1)}`;
    },
  };
}
