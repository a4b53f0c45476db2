import process from "node:process";

/** Cleanup to run if the process ends while something is still running. */
export interface ExitCleanup {
  /** Runs on a termination signal, before the process ends; must settle in bounded time. */
  readonly cleanup: () => Promise<void>;
  /** Runs from the `exit` event, where only synchronous work happens; must be bounded. */
  readonly cleanupSync: () => void;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type HandledSignal = typeof SIGNALS[number];

const pending = new Set<ExitCleanup>();
let installed = false;

function onExit(): void {
  for (const entry of [...pending]) {
    pending.delete(entry);
    try {
      entry.cleanupSync();
    } catch {
      // Exiting anyway; the other entries still deserve their chance.
    }
  }
}

const signalHandlers = new Map<HandledSignal, () => void>(
  SIGNALS.map((signal) => [signal, (): void => void onSignal(signal)]),
);

async function onSignal(signal: HandledSignal): Promise<void> {
  const entries = [...pending];
  pending.clear();
  await Promise.allSettled(entries.map((entry) => entry.cleanup()));
  uninstall();
  // Someone else listens too: they decide whether the process ends.
  if (process.listenerCount(signal) > 0) return;
  // Nobody else: end the way the signal would have ended us without our handler.
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", onExit);
  for (const [signal, handler] of signalHandlers) process.on(signal, handler);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off("exit", onExit);
  for (const [signal, handler] of signalHandlers) process.off(signal, handler);
}

/**
 * Makes sure `entry` runs if the process exits (`exit` event: the synchronous variant) or gets
 * SIGINT, SIGTERM or SIGHUP (the asynchronous variant, then the signal is raised again) before
 * the returned function is called. Listeners are installed only while something is registered,
 * so an idle harness changes nothing about how the process handles signals.
 *
 * @param entry the two variants of the cleanup
 * @returns a function that unregisters the entry (call it once the cleanup ran normally)
 *
 * @example
 * ```ts
 * const unregister = registerExitCleanup({ cleanup: stop, cleanupSync: stopSync });
 * try { await work(); } finally { await stop(); unregister(); }
 * ```
 */
export function registerExitCleanup(entry: ExitCleanup): () => void {
  pending.add(entry);
  install();
  return (): void => {
    pending.delete(entry);
    if (pending.size === 0) uninstall();
  };
}
