/**
 * Serving HTTP on a socket systemd passed, with each runtime's own fastest
 * server: `Deno.serve` and `Bun.serve` through adoption of the inherited
 * socket (see DESIGN §5), `node:http` on Node. The runtime-specific code lives
 * in `ffi/serve_*.ts`, loaded with a dynamic import in its own branch.
 *
 * Test-only: the environment variable `SYSTEMD_JS_TEST_ADOPT_FAIL=<step>` forces one adoption
 * step (`arch`, `inherited`, `find-listener`, `find-epoll`, `nonblock`, `dup`, `epoll-add`,
 * `verify`) to fail, to prove the fallback. Never set it in production.
 *
 * @module
 */

import { runtime } from "../ffi/runtime.ts";
import { activeBackend } from "./_active.ts";
import { SystemdError } from "./errors.ts";
import { type ListenFd, listenFds } from "./listen_fds.ts";
import { decodeSocketAddress, socketFamily, socketType } from "./socket_address.ts";
import type {
  AnyInheritedServer,
  BunInheritedServer,
  BunServeOptions,
  DenoInheritedServer,
  DenoServeOptions,
  NodeHttpServer,
  NodeInheritedServer,
  RequestListener,
  ServeOptions,
  ServeSocket,
} from "./serve_types.ts";

let named: Promise<ListenFd[]> | undefined;

/** Describes descriptor `fd` as `listenFds()` would. */
async function describeFd(fd: number): Promise<ListenFd> {
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`Descriptor "${fd}" is not valid`);
  const backend = await activeBackend();
  const socket = backend.describeSocket(fd);
  if (socket === null) {
    return { fd, name: "unknown", family: null, type: null, listening: false, address: null };
  }
  return {
    fd,
    name: "unknown",
    family: socketFamily(socket.domain),
    type: socketType(socket.type),
    listening: socket.listening,
    address: decodeSocketAddress(socket.localAddress),
  };
}

/**
 * Turns a {@linkcode ServeSocket} into the listening stream socket to serve on.
 * @throws {TypeError} for a descriptor that is not a listening stream socket
 */
async function resolveSocket(socket: ServeSocket): Promise<ListenFd> {
  let found: ListenFd;
  if (typeof socket === "number") {
    found = await describeFd(socket);
  } else if (typeof socket === "string") {
    named ??= listenFds();
    const match = (await named).find((candidate) => candidate.name === socket);
    if (match === undefined) {
      throw new SystemdError(
        `No passed descriptor is named "${socket}" (listenFds() may have taken them already: pass the ListenFd)`,
        { code: "ENOENT", errno: 2, syscall: "serve" },
      );
    }
    found = match;
  } else {
    found = socket;
  }
  if (found.type === "stream" && found.listening) return found;
  const what = found.family === null
    ? "not a socket"
    : found.type === "stream"
    ? "a connected stream socket (Accept=yes); take it with new net.Socket({ fd }) from node:net on Node and Deno, or Bun.connect({ fd, socket }) on Bun (Bun's net.Socket({ fd }) resets it), and hand it to your server"
    : `a ${found.type} socket, not a stream listener; HTTP needs a stream socket (ListenStream=)`;
  throw new TypeError(
    `Descriptor "${found.fd}" (${found.name}) is ${what}; serve() needs a listening stream socket`,
  );
}

function wrongRuntime(call: string, wanted: string): SystemdError {
  return new SystemdError(`${call}() runs on ${wanted}, but this is "${runtime}"`, {
    code: "ENOSYS",
    errno: 38,
    syscall: call,
  });
}

/**
 * Serves `Deno.serve` on a socket systemd passed, at full speed: the socket is
 * adopted under a `Deno.serve` listener (see the README, "Serving"). When any
 * step of the adoption fails, the same handler is served by `node:http` on
 * the descriptor (`mode: "fallback"`, with the `reason`).
 *
 * Permissions: `--allow-ffi` and `--allow-net`; for a unix socket also
 * `--allow-read` and `--allow-write` (for a throw-away socket in a private
 * directory of `$XDG_RUNTIME_DIR` or `/tmp`). Without them it falls back.
 *
 * @param socket the socket: a `ListenFd`, a descriptor number, or a name
 * @param options `Deno.serve` options with `handler` (not `port`, `hostname`, `path`)
 * @returns the running server: `server` is the `Deno.HttpServer` in native mode
 * @throws {TypeError} when the descriptor is not a listening stream socket
 * @throws {SystemdError} code `ENOSYS` when not running on Deno, `ENOENT` for an unknown name
 *
 * @example Deno.serve on the socket of a .socket unit
 * ```ts ignore
 * import { listenFds, serveDeno } from "@systemd-js/daemon";
 * const [socket] = await listenFds();
 * const served = await serveDeno(socket, { handler: () => new Response("hello\n") });
 * console.log(served.mode, served.reason ?? "");
 * Deno.addSignalListener("SIGTERM", () => served.close());
 * ```
 */
export async function serveDeno(
  socket: ServeSocket,
  options: DenoServeOptions,
): Promise<DenoInheritedServer> {
  if (runtime !== "deno") throw wrongRuntime("serveDeno", "Deno");
  const resolved = await resolveSocket(socket);
  const { serveDenoOn } = await import("../ffi/serve_deno.ts");
  return serveDenoOn(resolved, options);
}

/**
 * Serves `Bun.serve` on a socket systemd passed, at full speed: the socket is
 * adopted under a `Bun.serve` listener. When any step of the adoption fails,
 * a `node:net` server accepts on the descriptor and feeds a `node:http` server
 * running the same fetch handler (`mode: "fallback"`, with the `reason`).
 *
 * @param socket the socket: a `ListenFd`, a descriptor number, or a name
 * @param options `Bun.serve` options with `fetch` (not `port`, `hostname`, `unix`)
 * @returns the running server: `server` is Bun's `Server` in native mode
 * @throws {TypeError} when the descriptor is not a listening stream socket
 * @throws {SystemdError} code `ENOSYS` when not running on Bun, `ENOENT` for an unknown name
 *
 * @example Bun.serve on the socket of a .socket unit
 * ```ts ignore
 * import { listenFds, serveBun } from "@systemd-js/daemon";
 * const [socket] = await listenFds();
 * const served = await serveBun(socket, { fetch: () => new Response("hello\n") });
 * process.on("SIGTERM", () => served.close());
 * ```
 */
export async function serveBun(
  socket: ServeSocket,
  options: BunServeOptions,
): Promise<BunInheritedServer> {
  if (runtime !== "bun") throw wrongRuntime("serveBun", "Bun");
  const resolved = await resolveSocket(socket);
  const { serveBunOn } = await import("../ffi/serve_bun.ts");
  return serveBunOn(resolved, options);
}

/**
 * Serves `node:http` on a socket systemd passed: `Server.listen({ fd })`,
 * which on Node is as fast as a self-bound port (`mode` is always `"native"`).
 * Also runs on Deno (at its `node:http` speed) but not on Bun, whose
 * `http.Server.listen({ fd })` binds a random port: use `serveBun` or `serve`.
 *
 * @param socket the socket: a `ListenFd`, a descriptor number, or a name
 * @param handler a request listener, an unstarted `node:http` server, or `{ fetch }`
 * @returns the running server
 * @throws {TypeError} when the descriptor is not a listening stream socket
 * @throws {SystemdError} code `ENOSYS` on Bun, `ENOENT` for an unknown name
 *
 * @example node:http on the socket of a .socket unit
 * ```ts ignore
 * import { listenFds, serveNode } from "@systemd-js/daemon";
 * const [socket] = await listenFds();
 * const served = await serveNode(socket, (_request, response) => response.end("hello\n"));
 * process.on("SIGTERM", () => served.close({ graceMs: 5000 }));
 * ```
 */
export async function serveNode(
  socket: ServeSocket,
  handler: RequestListener | NodeHttpServer | Pick<ServeOptions, "fetch">,
): Promise<NodeInheritedServer> {
  if (runtime === "bun") throw wrongRuntime("serveNode", "Node or Deno");
  const resolved = await resolveSocket(socket);
  const { serveNodeOn } = await import("../ffi/serve_node.ts");
  return serveNodeOn(resolved, handler);
}

/**
 * Serves a fetch handler on a socket systemd passed with the fastest server of
 * the runtime it runs on: `Deno.serve` (adopted), `Bun.serve` (adopted) or
 * `node:http`. Hono and friends plug in with `{ fetch: app.fetch }`.
 *
 * The result tells the `mode` (`"native"` or `"fallback"`) and, for a
 * fallback, the `reason`. `close()` drains gracefully and leaves systemd's
 * copy of the socket intact.
 *
 * @param socket the socket: a `ListenFd`, a descriptor number, or a name
 * @param options the fetch handler
 * @returns the running server
 * @throws {TypeError} when the descriptor is not a listening stream socket
 * @throws {SystemdError} code `ENOSYS` on another runtime, `ENOENT` for an unknown name
 *
 * @example A socket-activated service on any runtime
 * ```ts ignore
 * import { listenFds, ready, serve } from "@systemd-js/daemon";
 * const [socket] = await listenFds();
 * const served = await serve(socket, { fetch: () => new Response("hello\n") });
 * await ready(`Serving (${served.runtime}, ${served.mode})`);
 * process.on("SIGTERM", () => served.close());
 * ```
 */
export function serve(socket: ServeSocket, options: ServeOptions): Promise<AnyInheritedServer> {
  const { fetch, onListen } = options;
  const started = (served: AnyInheritedServer): AnyInheritedServer => {
    const address = served.address;
    if (onListen !== undefined && address !== null) {
      if (address.family === "unix") onListen({ transport: "unix", path: address.path });
      else if (address.family === "inet" || address.family === "inet6") {
        onListen({ transport: "tcp", hostname: address.host, port: address.port });
      }
    }
    return served;
  };
  switch (runtime) {
    case "deno":
      return serveDeno(socket, { handler: (request) => fetch(request) }).then(started);
    case "bun":
      return serveBun(socket, { fetch: (request) => fetch(request) }).then(started);
    case "node":
      return serveNode(socket, { fetch }).then(started);
    default:
      return Promise.reject(wrongRuntime("serve", "Deno, Bun or Node"));
  }
}
