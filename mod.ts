/**
 * Talk to systemd natively from Deno, Bun and Node: readiness and status
 * ([sd_notify(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html)),
 * the watchdog, socket activation
 * ([sd_listen_fds(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html)),
 * the fd store and the barrier — without libsystemd, a compiler or a child process.
 *
 * Outside systemd every call is a quiet no-op that loads no FFI, so the same
 * code runs on a developer's machine. Deno needs `--allow-env` and, under
 * systemd, `--allow-ffi`.
 *
 * @example A Type=notify HTTP service with a watchdog
 * ```ts
 * import { createServer } from "node:http";
 * import { listenFds, ready, startWatchdog, stopping } from "@systemd-js/daemon";
 *
 * const [socket] = await listenFds();
 * const server = createServer((_request, response) => response.end("hello\n"));
 * server.listen(socket === undefined ? { port: 8080 } : { fd: socket.fd }, async () => {
 *   startWatchdog();
 *   await ready("Serving HTTP");
 * });
 * process.on("SIGTERM", async () => {
 *   await stopping();
 *   server.close();
 * });
 * ```
 *
 * @module
 */

export { barrier, type BarrierOptions } from "./src/barrier.ts";
export { booted } from "./src/booted.ts";
export type { Environment } from "./src/environment.ts";
export { errnoName, SystemdError, type SystemdErrorOptions } from "./src/errors.ts";
export { type IdleTimer, idleTimer, type IdleTimerOptions } from "./src/idle_timer.ts";
export { type ListenFd, listenFds, type ListenFdsOptions } from "./src/listen_fds.ts";
export { LISTEN_FDS_START, type ListenEnvEntry, parseListenEnv } from "./src/listen_env.ts";
export {
  errno,
  extendTimeout,
  fdStore,
  fdStoreRemove,
  mainPid,
  notify,
  type NotifyOptions,
  ready,
  reloading,
  status,
  stopping,
} from "./src/notify.ts";
export {
  checkFdName,
  checkRawState,
  type EncodeContext,
  encodeNotifyFields,
  MAX_FDS,
  MAX_MESSAGE_BYTES,
  type NotifyAccess,
  type NotifyFields,
} from "./src/notify_fields.ts";
export { type NotifyAddress, parseNotifySocket } from "./src/notify_socket.ts";
export {
  decodeSocketAddress,
  type SocketAddress,
  type SocketFamily,
  type SocketType,
} from "./src/socket_address.ts";
export {
  startWatchdog,
  type StartWatchdogOptions,
  triggerWatchdog,
  type Watchdog,
  watchdogEnabled,
  type WatchdogOptions,
} from "./src/watchdog.ts";
export { parseWatchdogEnv } from "./src/watchdog_env.ts";
export { serve, serveBun, serveDeno, serveNode } from "./src/serve.ts";
export type {
  AdoptionInfo,
  AnyInheritedServer,
  BunFetchHandler,
  BunInheritedServer,
  BunServeOptions,
  BunServer,
  CloseOptions,
  DenoHttpServer,
  DenoInheritedServer,
  DenoServeHandler,
  DenoServeHandlerInfo,
  DenoServeOptions,
  FetchHandler,
  InheritedServer,
  NodeInheritedServer,
  ServeAddress,
  ServeMode,
  ServeOptions,
  ServeSocket,
} from "./src/serve_types.ts";
export type { Credentials } from "./src/_backend.ts";
