/**
 * The single bridge from `src/` to the runtime: environment, pid, timers and
 * the lazily loaded libc backend. Every other file in `src/` goes through here.
 *
 * @module
 */
export {
  currentPid,
  getEnv,
  loadBackend,
  platform,
  unrefTimer,
  unsetEnv,
} from "../ffi/runtime.ts";
export type { Backend, Credentials, RawSocketDescription } from "./_backend.ts";
