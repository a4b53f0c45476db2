/**
 * The one place that knows which runtime we run on. It reads and unsets
 * environment variables, tells our pid, unrefs timers, and loads the libc
 * backend of the current runtime with a dynamic import in its own branch, so no
 * runtime ever evaluates another runtime's backend.
 *
 * @module
 */

import type { Backend } from "../src/_backend.ts";
import { SystemdError } from "../src/errors.ts";

/** The runtimes this module supports, or `"other"`. */
export type RuntimeName = "deno" | "bun" | "node" | "other";

interface DenoGlobal {
  env: { get(key: string): string | undefined; delete(key: string): void };
  permissions: { querySync(descriptor: { name: string; variable?: string }): { state: string } };
  pid: number;
  unrefTimer(id: number): void;
  build: { os: string };
}
interface ProcessGlobal {
  env: Record<string, string | undefined>;
  pid: number;
  platform: string;
  versions?: { bun?: string; node?: string };
}

const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
// Under Deno, touching globalThis.process builds its Node compatibility layer
// (12-37 ms at start-up), so only look for it elsewhere.
const process_ = deno === undefined
  ? (globalThis as { process?: ProcessGlobal }).process
  : undefined;

/** The runtime we run on. */
export const runtime: RuntimeName = deno !== undefined
  ? "deno"
  : process_?.versions?.bun !== undefined
  ? "bun"
  : process_?.versions?.node !== undefined
  ? "node"
  : "other";

/** Variables Deno has let us read; a permission query costs 1-2 µs, a read 0.3 µs. */
const readableInDeno = new Set<string>();

/** True when Deno lets us read `key` without a permission prompt or error. */
function denoEnvReadable(denoGlobal: DenoGlobal, key: string): boolean {
  if (readableInDeno.has(key)) return true;
  if (denoGlobal.permissions.querySync({ name: "env", variable: key }).state !== "granted") {
    return false;
  }
  readableInDeno.add(key);
  return true;
}

/**
 * Reads environment variable `key`. Under Deno without `--allow-env` for it, the
 * variable is treated as unset: we cannot tell, and must not prompt.
 */
export function getEnv(key: string): string | undefined {
  if (deno === undefined) return process_?.env[key];
  if (!denoEnvReadable(deno, key)) return undefined;
  try {
    return deno.env.get(key);
  } catch {
    readableInDeno.delete(key); // the permission was revoked since
    return undefined;
  }
}

/** Removes environment variable `key`, so child processes do not inherit it. */
export function unsetEnv(key: string): void {
  if (deno !== undefined) {
    if (denoEnvReadable(deno, key)) deno.env.delete(key);
    return;
  }
  if (process_ !== undefined) delete process_.env[key];
}

/** The pid of this process, or 0 when the runtime does not say. */
export function currentPid(): number {
  return deno?.pid ?? process_?.pid ?? 0;
}

/** The operating system, as `"linux"`, `"darwin"`, … */
export function platform(): string {
  return deno?.build.os ?? process_?.platform ?? "unknown";
}

/** Lets the process exit while `timer` is pending. */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  if (deno !== undefined) {
    deno.unrefTimer(timer as unknown as number);
    return;
  }
  (timer as { unref?: () => void }).unref?.();
}

let loading: Promise<Backend> | undefined;

/**
 * Loads the libc backend of the current runtime once.
 * @throws {SystemdError} on a platform other than Linux, or when Deno lacks `--allow-ffi`
 */
export function loadBackend(): Promise<Backend> {
  loading ??= openBackend().catch((error: unknown) => {
    loading = undefined; // a permission granted later may succeed
    throw error;
  });
  return loading;
}

async function openBackend(): Promise<Backend> {
  if (platform() !== "linux") {
    throw new SystemdError(
      `systemd is Linux-only, but this process runs on "${platform()}"`,
      { code: "ENOSYS", errno: 38, syscall: "load" },
    );
  }
  switch (runtime) {
    case "deno": {
      const { openDenoBackend } = await import("./deno.ts");
      return openDenoBackend();
    }
    case "bun": {
      const { openBunBackend } = await import("./bun.ts");
      return openBunBackend();
    }
    case "node": {
      const { openNodeBackend } = await import("./node.ts");
      return openNodeBackend();
    }
    default:
      throw new SystemdError("No libc backend for this JavaScript runtime", {
        code: "ENOSYS",
        errno: 38,
        syscall: "load",
      });
  }
}
