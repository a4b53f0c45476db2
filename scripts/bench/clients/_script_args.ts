/**
 * The command-line arguments of a benchmark client, on Deno, Bun and Node alike.
 *
 * @module
 */

/** The arguments after the script path. */
export function scriptArgs(): string[] {
  const deno = (globalThis as { Deno?: { args: string[] } }).Deno;
  if (deno !== undefined) return [...deno.args];
  const process_ = (globalThis as { process?: { argv: string[] } }).process;
  return process_ === undefined ? [] : process_.argv.slice(2);
}

/** Reads a positive integer argument, or throws naming it. */
export function positiveInteger(text: string | undefined, name: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Argument "${name}" must be an integer ≥ 0, got ${String(text)}`);
  }
  return value;
}
