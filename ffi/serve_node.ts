/**
 * `serveNode()` on Node: `node:http` `Server.listen({ fd })` is Node's own
 * server on the inherited socket, at the speed of a self-bound port, so no
 * adoption is needed.
 *
 * @module
 */

import type { IncomingMessage, RequestListener, Server } from "node:http";
import type { ListenFd } from "../src/listen_fds.ts";
import type { FetchHandler, NodeInheritedServer } from "../src/serve_types.ts";
import { fetchListener, httpServerFor, listenHttpOnFd } from "./_node_http.ts";

/** What `serveNode()` accepts: a request listener, a `node:http` server, or `{ fetch }`. */
export type NodeHandler = RequestListener | Server | { readonly fetch: FetchHandler };

/**
 * Serves `handler` with `node:http` on the inherited listening socket.
 *
 * @param socket the inherited listening socket
 * @param handler a request listener, an unstarted `node:http` server, or `{ fetch }`
 * @returns the running server (mode `"native"`)
 *
 * @example
 * ```ts ignore
 * const served = await serveNodeOn(socket, (_request, response) => response.end("hi"));
 * ```
 */
export function serveNodeOn(socket: ListenFd, handler: NodeHandler): Promise<NodeInheritedServer> {
  const server = typeof handler === "object" && "fetch" in handler
    ? httpServerFor(fetchListener(handler.fetch, (_request: IncomingMessage) => undefined))
    : httpServerFor(handler);
  return listenHttpOnFd(server, socket, "node", "native", null, false);
}
