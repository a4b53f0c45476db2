/**
 * `node:http` on an inherited listening descriptor, shared by Node (its native
 * server) and the Deno and Bun fallbacks: a fetch-handler adapter, and the
 * graceful drain that closes only this process's copy of the listener.
 *
 * - Node and Deno: `http.Server.listen({ fd })`.
 * - Bun: `http.Server.listen({ fd })` silently binds a random port, so a
 *   `node:net` server listens on the fd and hands each connection over with
 *   `emit("connection", socket)`.
 *
 * @module
 */

import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import type { Server as NetServer, Socket } from "node:net";
import type { ListenFd } from "../src/listen_fds.ts";
import type { CloseOptions, InheritedServer, ServeAddress, ServeMode } from "../src/serve_types.ts";
import { DEFAULT_GRACE_MS } from "./_serve_common.ts";

// Dynamic imports rather than `import … from "node:http"`: in the npm bundle a
// static import of a builtin would load at start-up on every runtime, and this
// module is needed only when a server starts.
const [
  { createServer: createHttpServer },
  { createServer: createNetServer, Server: NetServerClass },
] = await Promise.all([import("node:http"), import("node:net")]);

/** The peer address of a connection, as a handler's `info` reports it. */
export function remoteAddress(socket: Socket): ServeAddress {
  if (socket.remoteAddress === undefined) return { transport: "unix", path: "" };
  return { transport: "tcp", hostname: socket.remoteAddress, port: socket.remotePort ?? 0 };
}

/**
 * Adapts a fetch handler to `node:http`: builds a `Request` (body streamed for
 * methods that have one), calls the handler, writes status, headers and the
 * streamed body.
 *
 * @param fetch the handler; its second argument is made by `context` per request
 * @param context builds the handler's second argument
 * @returns the `node:http` request listener
 */
export function fetchListener<C>(
  fetch: (request: Request, context: C) => unknown,
  context: (request: IncomingMessage, done: Promise<void>) => C,
): RequestListener {
  return (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    const host = incoming.headers.host ?? "localhost";
    const headers = new Headers();
    for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
      headers.append(incoming.rawHeaders[i], incoming.rawHeaders[i + 1]);
    }
    const method = incoming.method ?? "GET";
    const hasBody = method !== "GET" && method !== "HEAD";
    const controller = new AbortController();
    outgoing.once("close", () => {
      if (!outgoing.writableFinished) controller.abort();
    });
    const request = new Request(`http://${host}${incoming.url ?? "/"}`, {
      method,
      headers,
      signal: controller.signal,
      body: hasBody
        ? new ReadableStream<Uint8Array>({
          start(stream): void {
            incoming.on("data", (chunk: Uint8Array) => stream.enqueue(new Uint8Array(chunk)));
            incoming.once("end", () => stream.close());
            incoming.once("error", (error) => stream.error(error));
          },
        })
        : undefined,
      // Node's fetch needs this for a streamed request body.
      ...(hasBody ? { duplex: "half" } : {}),
    } as RequestInit);
    const done = new Promise<void>((resolve) => outgoing.once("close", () => resolve()));
    Promise.resolve()
      .then(() => fetch(request, context(incoming, done)))
      .then(async (result) => {
        if (!(result instanceof Response)) {
          throw new TypeError("The handler did not return a Response");
        }
        outgoing.statusCode = result.status;
        if (result.statusText !== "") outgoing.statusMessage = result.statusText;
        result.headers.forEach((value, key) => {
          if (key === "set-cookie") return;
          outgoing.setHeader(key, value);
        });
        const cookies = result.headers.getSetCookie?.() ?? [];
        if (cookies.length > 0) outgoing.setHeader("set-cookie", cookies);
        if (result.body === null || method === "HEAD") {
          outgoing.end();
          return;
        }
        const reader = result.body.getReader();
        // A body of one chunk (the usual case) goes out with Content-Length, others chunked.
        let pending = await reader.read();
        for (;;) {
          if (pending.done) {
            outgoing.end();
            return;
          }
          const next = await reader.read();
          if (next.done) {
            outgoing.end(pending.value);
            return;
          }
          if (!outgoing.write(pending.value)) {
            await new Promise<void>((resolve) => outgoing.once("drain", () => resolve()));
          }
          pending = next;
        }
      })
      .catch((error: unknown) => {
        if (!outgoing.headersSent) {
          outgoing.statusCode = 500;
          outgoing.setHeader("content-type", "text/plain; charset=utf-8");
          outgoing.end("Internal Server Error");
        } else {
          outgoing.destroy(error instanceof Error ? error : new Error(String(error)));
        }
      });
  };
}

/** What the drain needs to know of one connection: its latest response, if any. */
interface Tracked {
  last: ServerResponse | undefined;
}

/** Closes `connection` once `response` is done (a keep-alive connection gone idle while draining). */
function endAfter(response: ServerResponse, connection: Socket): void {
  if (response.writableFinished) connection.end();
  else response.once("close", () => connection.end());
}

/**
 * Serves `server` on the inherited listening socket and wraps it as an
 * {@linkcode InheritedServer} with a graceful drain.
 *
 * @param server the `node:http` server (it never binds anything itself)
 * @param socket the inherited listening socket
 * @param runtime who serves
 * @param mode `"native"` on Node, `"fallback"` elsewhere
 * @param reason why this is a fallback, or null
 * @param viaNetServer accept with a `node:net` server and hand connections over (Bun)
 * @returns the running server, once it listens
 */
export function listenHttpOnFd<M extends ServeMode>(
  server: Server,
  socket: ListenFd,
  runtime: "deno" | "bun" | "node",
  mode: M,
  reason: string | null,
  viaNetServer: boolean,
): Promise<InheritedServer<M, Server>> {
  const sockets = new Map<Socket, Tracked>();
  let draining = false;
  let drained: (() => void) | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  server.on("connection", (connection: Socket) => {
    sockets.set(connection, { last: undefined });
    connection.once("close", () => {
      sockets.delete(connection);
      if (draining && sockets.size === 0) drained?.();
    });
  });
  // The hot path only remembers the latest response of the connection (requests on one
  // connection are answered in order); the drain reads it. No per-request listener.
  server.prependListener("request", (request: IncomingMessage, response: ServerResponse) => {
    const tracked = sockets.get(request.socket);
    if (tracked !== undefined) tracked.last = response;
    if (draining) {
      response.setHeader("Connection", "close");
      endAfter(response, request.socket);
    }
  });

  let stopAccepting!: () => Promise<void>;
  const listening = new Promise<void>((resolve, reject) => {
    if (viaNetServer) {
      const acceptor: NetServer = createNetServer(
        { pauseOnConnect: false },
        (connection) => server.emit("connection", connection),
      );
      acceptor.once("error", reject);
      acceptor.listen({ fd: socket.fd }, () => {
        acceptor.removeListener("error", reject);
        resolve();
      });
      stopAccepting = () => new Promise<void>((done) => acceptor.close(() => done()));
    } else {
      server.once("error", reject);
      server.listen({ fd: socket.fd }, () => {
        server.removeListener("error", reject);
        resolve();
      });
      // Not server.close(): http's close also destroys connections that were accepted but whose
      // request has not been read yet, which fails those requests.
      stopAccepting = () =>
        new Promise<void>((done) => NetServerClass.prototype.close.call(server, () => done()));
    }
  });

  let closing: Promise<void> | undefined;
  async function drain(graceMs: number): Promise<void> {
    draining = true;
    const allClosed = new Promise<void>((resolve) => (drained = resolve));
    await stopAccepting();
    for (const [connection, { last }] of sockets) {
      // Never sent a request: it may be one accepted just before, give it the grace time.
      if (last === undefined) continue;
      // In flight: answer it with Connection: close, then close. Idle keep-alive: close now,
      // nothing is lost (RFC 9112 §9.6).
      if (!last.headersSent) last.setHeader("Connection", "close");
      endAfter(last, connection);
    }
    if (sockets.size > 0) {
      const timer = setTimeout(() => {
        for (const connection of sockets.keys()) connection.destroy();
      }, graceMs);
      await allClosed;
      clearTimeout(timer);
    }
    finish();
  }

  return listening.then(() => ({
    runtime,
    mode,
    reason,
    fd: socket.fd,
    name: socket.name,
    address: socket.address,
    adoption: null,
    server,
    finished,
    close(options: CloseOptions = {}): Promise<void> {
      closing ??= drain(options.graceMs ?? DEFAULT_GRACE_MS);
      return closing;
    },
  }));
}

/** A `node:http` server for a fetch handler or a request listener, or the given server. */
export function httpServerFor(
  handler: RequestListener | Server,
): Server {
  return typeof handler === "function" ? createHttpServer(handler) : handler;
}
