/**
 * Small runtime-neutral helpers of the serve modules (no `node:` imports, so a
 * native Deno server never loads Deno's Node compatibility layer).
 *
 * @module
 */

import type { ListenFd } from "../src/listen_fds.ts";
import type { ServeAddress } from "../src/serve_types.ts";
import type { SocketAddress } from "../src/socket_address.ts";
import type { Adopter } from "./_adopt.ts";
import { getEnv } from "./runtime.ts";

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

/** Where the runtime's own server listens until the inherited socket takes its place. */
export interface ThrowAwayListener {
  /** The unix socket path, in a private 0700 directory ("" for TCP). */
  readonly path: string;
  /** The loopback host for TCP ("" for unix); the port is always 0. */
  readonly host: string;
  /** Its address, once the runtime has picked the port. */
  address(port: number): SocketAddress;
  /** Removes the private directory of a unix listener; nothing for TCP. Idempotent. */
  remove(): void;
}

/**
 * Picks a throw-away listener of the inherited socket's family: loopback
 * (`127.0.0.1:0`, `[::1]:0`), never reachable from outside, or a socket in a
 * fresh private directory under `$XDG_RUNTIME_DIR` (or `/tmp`).
 *
 * @throws whatever creating the private directory throws
 */
export function throwAwayListener(
  adopter: Adopter,
  family: "inet" | "inet6" | "unix",
): ThrowAwayListener {
  if (family === "unix") {
    let directory: string | undefined = adopter.makePrivateDirectory(
      getEnv("XDG_RUNTIME_DIR") || "/tmp",
    );
    const path = `${directory}/listener.sock`;
    return {
      path,
      host: "",
      address: () => ({ family, path }),
      remove(): void {
        if (directory !== undefined) adopter.removePrivateDirectory(directory, path);
        directory = undefined;
      },
    };
  }
  const host = family === "inet6" ? "::1" : "127.0.0.1";
  return { path: "", host, address: (port) => ({ family, host, port }), remove(): void {} };
}

/** What adoption needs once it can start, from {@linkcode prepareAdoption}. */
export interface PreparedAdoption {
  /** The adoption operations over this runtime's libc. */
  readonly adopter: Adopter;
  /** Where the runtime's own server listens first. */
  readonly listener: ThrowAwayListener;
}

/**
 * Opens the adopter and picks the throw-away listener for `socket`, or says
 * why adoption cannot start (the caller then falls back).
 *
 * @param openAdopter opens the runtime's adopter (loads libc)
 * @param socket the inherited socket
 * @returns the adopter and listener, or `{ reason }`
 */
export function prepareAdoption(
  openAdopter: () => Adopter,
  socket: ListenFd,
): PreparedAdoption | { readonly reason: string } {
  let adopter: Adopter;
  try {
    adopter = openAdopter();
  } catch (error) {
    return { reason: `cannot load libc for adoption: ${messageOf(error)}` };
  }
  const family = socket.address?.family;
  if (family !== "inet" && family !== "inet6" && family !== "unix") {
    return { reason: `no adoption for a ${family ?? "non-socket"} descriptor` };
  }
  try {
    return { adopter, listener: throwAwayListener(adopter, family) };
  } catch (error) {
    return { reason: messageOf(error) };
  }
}
