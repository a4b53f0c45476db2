/**
 * Progress output for `npm run demo`: numbered steps, each ending in ✔ with its time or ✘
 * with the reason.
 *
 * @module
 */

/** A failed demo step; its message is what the reader sees after ✘. */
export class DemoStepError extends Error {
  /**
   * @param message what went wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "DemoStepError";
  }
}

/** Runs numbered steps and prints their progress. */
export class Steps {
  readonly #total: number;
  #current = 0;

  /**
   * @param total how many steps the demo has
   */
  constructor(total: number) {
    this.#total = total;
  }

  /**
   * Runs one step: prints its title, runs it, prints ✔ and its time, or ✘ and rethrows.
   *
   * @param title what the step does
   * @param body the work; its result is returned
   * @returns what `body` returned
   */
  async run<T>(title: string, body: () => Promise<T>): Promise<T> {
    this.#current++;
    console.log(`\n[${this.#current}/${this.#total}] ${title}`);
    const since = performance.now();
    try {
      const result = await body();
      console.log(`  ✔ ${title} (${((performance.now() - since) / 1000).toFixed(1)} s)`);
      return result;
    } catch (error) {
      console.log(`  ✘ ${title}: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }
}

/**
 * Fails the current step when `condition` is false.
 *
 * @param condition what must hold
 * @param message the reason shown when it does not
 */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new DemoStepError(message);
}

/**
 * Prints text indented under the current step.
 *
 * @param text one or more lines
 */
export function show(text: string): void {
  for (const line of text.trimEnd().split("\n")) console.log(`    ${line}`);
}
