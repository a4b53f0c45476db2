/**
 * Resident memory of a runtime, without or with this module.
 * usage: rss bare | rss module MODULE_URL
 * With "module" it imports the module and sends one `status("x")` first
 * (NOTIFY_SOCKET must point at the receiver). Prints the RSS in KiB.
 *
 * @module
 */
import { scriptArgs } from "./_script_args.ts";

/** Resident memory of this process in KiB, as the runtime reports it (VmRSS). */
function resident_kib(): number {
  const deno = (globalThis as { Deno?: { memoryUsage(): { rss: number } } }).Deno;
  if (deno !== undefined) return Math.round(deno.memoryUsage().rss / 1024);
  const process_ =
    (globalThis as unknown as { process: { memoryUsage(): { rss: number } } }).process;
  return Math.round(process_.memoryUsage().rss / 1024);
}

const [mode, module_url] = scriptArgs();
if (mode === "module") {
  const { status } = await import(module_url) as { status(text: string): Promise<boolean> };
  if (!await status("x")) throw new Error("status() sent nothing: NOTIFY_SOCKET is unset");
} else if (mode !== "bare") {
  throw new TypeError(`Mode must be "bare" or "module", got ${String(mode)}`);
}
console.log(String(resident_kib()));
