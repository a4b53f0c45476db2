/**
 * Small runtime-neutral helpers of the serve modules (no `node:` imports, so a
 * native Deno server never loads Deno's Node compatibility layer).
 *
 * @module
 */

import type { ListenFd } from "../src/listen_fds.ts";
import type { ServeAddress } from "../src/serve_types.ts";

/** The default of `CloseOptions.graceMs`. */
export const DEFAULT_GRACE_MS = 10000;

/** The inherited socket's own address in `onListen` form. */
export function listenAddress(socket: ListenFd): ServeAddress {
  const address = socket.address;
  if (address?.family === "unix") return { transport: "unix", path: address.path };
  if (address?.family === "inet" || address?.family === "inet6") {
    return { transport: "tcp", hostname: address.host, port: address.port };
  }
  return { transport: "unix", path: "" };
}

/** A message for any thrown value. */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name === "Error" ? error.message : `${error.name}: ${error.message}`;
}
