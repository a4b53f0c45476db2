/**
 * The types of serving HTTP on an inherited socket (`serve`, `serveDeno`,
 * `serveBun`, `serveNode`). The runtimes' own server types are declared here
 * minimally (only what this module and its users touch), so the module
 * type-checks under `tsc` and `deno check` without Deno's or Bun's global types.
 *
 * @module
 */

import type { RequestListener, Server as NodeHttpServer } from "node:http";
import type { ListenFd } from "./listen_fds.ts";
import type { SocketAddress } from "./socket_address.ts";

export type { NodeHttpServer, RequestListener };

/**
 * Which socket to serve on: a {@linkcode ListenFd} from `listenFds()`, a
 * descriptor number, or the `FileDescriptorName=` of one passed descriptor.
 *
 * @example All three forms
 * ```ts
 * import { listenFds, type ServeSocket } from "@systemd-js/daemon";
 * const [first] = await listenFds();
 * const sockets: ServeSocket[] = [first ?? 3, 3, "web"];
 * ```
 */
export type ServeSocket = ListenFd | number | string;

/**
 * How the server runs on the inherited socket:
 * - `"native"`: the runtime's own fastest server accepts on it (`Deno.serve`,
 *   `Bun.serve` through adoption; `node:http` on Node, where `listen({ fd })`
 *   is already native).
 * - `"fallback"`: adoption was not possible (see `reason`); a `node:http`
 *   server serves the same handler on the socket, at lower throughput.
 *
 * @example Log how the server runs
 * ```ts
 * import type { ServeMode } from "@systemd-js/daemon";
 * function describe(mode: ServeMode): string {
 *   return mode === "fallback" ? "slower path" : "full speed";
 * }
 * console.log(describe("native"));
 * ```
 */
export type ServeMode = "native" | "fallback";

/** The address a handler's `info` and `onListen` report for the inherited socket. */
export type ServeAddress =
  | { readonly transport: "tcp"; readonly hostname: string; readonly port: number }
  | { readonly transport: "unix"; readonly path: string };

/**
 * What {@linkcode InheritedServer.close} does.
 *
 * @example Give requests 5 s to finish
 * ```ts
 * import type { CloseOptions } from "@systemd-js/daemon";
 * const options: CloseOptions = { graceMs: 5000 };
 * ```
 */
export interface CloseOptions {
  /**
   * How long open connections may take to finish before they are cut, in
   * milliseconds. Default 10000.
   */
  readonly graceMs?: number;
}

/**
 * A server running on an inherited socket, from `serve()`, `serveDeno()`,
 * `serveBun()` or `serveNode()`.
 *
 * The server owns the descriptor from now on: closing it closes this
 * process's copy of the listening socket only. systemd (or whoever passed it)
 * keeps its own, so connections that arrive during a restart wait in the
 * socket's queue for the next instance. The server never calls `shutdown(2)`
 * on the listening socket.
 *
 * @typeParam M the mode
 * @typeParam S the type of `server`
 *
 * @example Serve, report the mode, drain on SIGTERM
 * ```ts
 * import { serve } from "@systemd-js/daemon";
 * const served = await serve(3, { fetch: () => new Response("hello\n") });
 * console.log(served.mode, served.reason ?? "");
 * process.on("SIGTERM", () => served.close({ graceMs: 5000 }));
 * ```
 */
export interface InheritedServer<M extends ServeMode = ServeMode, S = unknown> {
  /** The runtime serving: `"deno"`, `"bun"` or `"node"`. */
  readonly runtime: "deno" | "bun" | "node";
  /** How the server runs on the socket. */
  readonly mode: M;
  /** Why adoption was not used (`mode === "fallback"`), else null. */
  readonly reason: string | null;
  /** The descriptor that was passed (closed in this process once `close()` resolved). */
  readonly fd: number;
  /** Its `FileDescriptorName=`, or `"unknown"`. */
  readonly name: string;
  /** The socket's local address (the inherited one, never the throw-away one). */
  readonly address: SocketAddress | null;
  /**
   * What native adoption did (the fd number the runtime's server accepts on,
   * the throw-away address it bound first and no longer holds), or null when
   * no adoption took place (Node, fallback).
   */
  readonly adoption: AdoptionInfo | null;
  /**
   * The server object: `Deno.HttpServer` or Bun `Server` when native there,
   * a `node:http` `Server` on Node and in fallback mode.
   */
  readonly server: S;
  /**
   * Stops accepting, lets requests in flight finish (responses carry
   * `Connection: close`), closes idle keep-alive connections, and after
   * `graceMs` cuts what is left. Resolves when the server is closed.
   * Calling it twice returns the same promise.
   */
  close(options?: CloseOptions): Promise<void>;
  /** Resolves once the server has closed (by `close()` or otherwise). */
  readonly finished: Promise<void>;
}

/**
 * What a native adoption did, for diagnostics.
 *
 * @example
 * ```ts
 * import type { AdoptionInfo } from "@systemd-js/daemon";
 * const info: AdoptionInfo = {
 *   listenerFd: 21,
 *   temporaryAddress: { family: "inet", host: "127.0.0.1", port: 40123 },
 * };
 * ```
 */
export interface AdoptionInfo {
  /** The fd number the runtime's server accepts on (a duplicate of the inherited socket). */
  readonly listenerFd: number;
  /** The throw-away listener the runtime bound first; closed (and unlinked) by now. */
  readonly temporaryAddress: SocketAddress;
}

/** The `info` argument of a `Deno.serve` handler (the parts this module provides). */
export interface DenoServeHandlerInfo {
  /** The peer's address. */
  readonly remoteAddr: ServeAddress;
  /** Resolves when the response has been sent. */
  readonly completed: Promise<void>;
}

/** A `Deno.serve` handler. */
export type DenoServeHandler = (
  request: Request,
  info: DenoServeHandlerInfo,
) => Response | Promise<Response>;

/**
 * The `Deno.HttpServer` `Deno.serve` returns (the members used here; the
 * object is Deno's own, with all of its members).
 */
export interface DenoHttpServer {
  /** Resolves when the server has finished. */
  readonly finished: Promise<void>;
  /** Stops accepting and waits for requests in flight. */
  shutdown(): Promise<void>;
  /** Lets the process exit while the server runs. */
  unref(): void;
  /** Keeps the process alive while the server runs (default). */
  ref(): void;
}

/**
 * Options of `serveDeno()`: those of `Deno.serve`, minus where to listen
 * (`port`, `hostname`, `path`, `reusePort`: the inherited socket decides).
 *
 * @example Deno.serve options with a handler
 * ```ts
 * import type { DenoServeOptions } from "@systemd-js/daemon";
 * const options: DenoServeOptions = {
 *   handler: () => new Response("hello\n"),
 *   onError: () => new Response("oops", { status: 500 }),
 * };
 * ```
 */
export interface DenoServeOptions {
  /** The request handler, as given to `Deno.serve`. */
  readonly handler: DenoServeHandler;
  /** Called once the server accepts on the inherited socket, with its address. */
  readonly onListen?: (address: ServeAddress) => void;
  /** `Deno.serve`'s error handler. */
  readonly onError?: (error: unknown) => Response | Promise<Response>;
  /** Shuts the server down when aborted. */
  readonly signal?: AbortSignal;
  /** Any other `Deno.serve` option (`cert`, `key`, …), passed through. */
  readonly [option: string]: unknown;
}

/**
 * The Bun `Server` that `Bun.serve` returns (the members used here; the object
 * is Bun's own, with all of its members). Its `port`/`hostname` describe the
 * throw-away listener after adoption: use `InheritedServer.address`.
 */
export interface BunServer {
  /** Stops accepting; with `true`, also closes active connections. */
  stop(closeActiveConnections?: boolean): Promise<void> | void;
  /** Requests in flight. */
  readonly pendingRequests: number;
  /** The peer address of `request`, if known. */
  requestIP(request: Request): { address: string; family: string; port: number } | null;
  /** Upgrades to a WebSocket; false when not possible. */
  upgrade(request: Request, options?: unknown): boolean;
}

/** A `Bun.serve` fetch handler. */
export type BunFetchHandler = (
  request: Request,
  server: BunServer,
) => Response | Promise<Response> | undefined | Promise<Response | undefined>;

/**
 * Options of `serveBun()`: those of `Bun.serve`, minus where to listen (`port`,
 * `hostname`, `unix`, `fd`, `reusePort`: the inherited socket decides).
 *
 * @example Bun.serve options
 * ```ts
 * import type { BunServeOptions } from "@systemd-js/daemon";
 * const options: BunServeOptions = { fetch: () => new Response("hello\n") };
 * ```
 */
export interface BunServeOptions {
  /** The request handler, as given to `Bun.serve`. */
  readonly fetch: BunFetchHandler;
  /** `Bun.serve`'s error handler. */
  readonly error?: (error: Error) => Response | Promise<Response>;
  /** Any other `Bun.serve` option (`websocket`, `idleTimeout`, …), passed through. */
  readonly [option: string]: unknown;
}

/**
 * A fetch handler (`(Request) => Response`) that works on every runtime, so
 * Hono, itty-router and friends plug in with `{ fetch: app.fetch }`.
 */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/**
 * Options of the portable `serve()`.
 *
 * @example A Hono-style app
 * ```ts
 * import type { ServeOptions } from "@systemd-js/daemon";
 * const app = { fetch: (_request: Request) => new Response("hello\n") };
 * const options: ServeOptions = { fetch: app.fetch };
 * ```
 */
export interface ServeOptions {
  /** The request handler, used by whichever server the runtime runs. */
  readonly fetch: FetchHandler;
  /** Called once the server accepts on the inherited socket. */
  readonly onListen?: (address: ServeAddress) => void;
}

/** What `serveDeno()` returns. */
export type DenoInheritedServer =
  | InheritedServer<"native", DenoHttpServer>
  | InheritedServer<"fallback", NodeHttpServer>;

/** What `serveBun()` returns. */
export type BunInheritedServer =
  | InheritedServer<"native", BunServer>
  | InheritedServer<"fallback", NodeHttpServer>;

/** What `serveNode()` returns: `node:http` on the fd is Node's native server. */
export type NodeInheritedServer = InheritedServer<"native", NodeHttpServer>;

/** What the portable `serve()` returns on any runtime. */
export type AnyInheritedServer = DenoInheritedServer | BunInheritedServer | NodeInheritedServer;
