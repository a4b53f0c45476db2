/**
 * `serveDeno()`: `Deno.serve` on an inherited socket, by adoption (DESIGN §5,
 * `_adopt.ts`), else `node:http` on the descriptor.
 *
 * Permissions: `--allow-ffi` (adoption works through libc, also for reading
 * `/proc/self`), `--allow-net` (the throw-away listener on 127.0.0.1:0 or
 * [::1]:0, and the fallback), and for a unix socket `--allow-read` and
 * `--allow-write` on the private directory of the throw-away socket
 * (`$XDG_RUNTIME_DIR`, else `/tmp`). A missing permission makes adoption fall
 * back, with the reason in `reason`.
 *
 * @module
 */

import type { ListenFd } from "../src/listen_fds.ts";
import type {
  DenoHttpServer,
  DenoInheritedServer,
  DenoServeHandler,
  DenoServeOptions,
} from "../src/serve_types.ts";
import { getEnv } from "./runtime.ts";
import { ADOPT_FAIL_VARIABLE, AdoptFailure, type AdoptReport } from "./_adopt.ts";
import { openDenoAdopter } from "./_adopt_deno.ts";
import {
  DEFAULT_GRACE_MS,
  listenAddress,
  messageOf,
  prepareAdoption,
} from "./_serve_common.ts";

/** The listen address `Deno.serve` hands to `onListen`. */
/**
 * How long accepted connections get to deliver their request after accepting
 * stops and before shutdown() (a client sends its request right after connect).
 */
const ACCEPTED_SETTLE_MS = 100;

type DenoAddr = { hostname?: string; port?: number; path?: string };

/** The part of the `Deno` namespace used here. */
interface DenoServeNamespace {
  serve(options: Record<string, unknown>, handler: DenoServeHandler): DenoHttpServer;
}

/**
 * Serves with `Deno.serve` on the inherited listening socket, or with
 * `node:http` when adoption fails.
 *
 * @param socket the inherited listening stream socket
 * @param options `Deno.serve` options with the handler
 * @returns the running server and its mode
 *
 * @example
 * ```ts ignore
 * const served = await serveDenoOn(socket, { handler: () => new Response("hi") });
 * ```
 */
export async function serveDenoOn(
  socket: ListenFd,
  options: DenoServeOptions,
): Promise<DenoInheritedServer> {
  const deno = (globalThis as unknown as { Deno: DenoServeNamespace }).Deno;
  const {
    handler,
    onListen,
    port: _port,
    hostname: _hostname,
    path: _path,
    reusePort: _reuse,
    ...rest
  } = options;
  const fallback = async (reason: string): Promise<DenoInheritedServer> => {
    // Loaded only here: node:http under Deno starts its Node compatibility layer.
    const { fetchListener, httpServerFor, listenHttpOnFd, remoteAddress } = await import(
      "./_node_http.ts"
    );
    const listener = fetchListener(handler, (request, completed) => ({
      remoteAddr: remoteAddress(request.socket),
      completed,
    }));
    const served = await listenHttpOnFd(
      httpServerFor(listener),
      socket,
      "deno",
      "fallback",
      reason,
      false,
    );
    onListen?.(listenAddress(socket));
    return served;
  };

  const prepared = prepareAdoption(openDenoAdopter, socket);
  if ("reason" in prepared) return fallback(prepared.reason);
  const { adopter, listener } = prepared;
  const where: Record<string, unknown> = socket.address?.family === "unix"
    ? { path: listener.path, transport: "unix" }
    : { hostname: listener.host, port: 0 };

  const failStep = getEnv(ADOPT_FAIL_VARIABLE);
  let report: AdoptReport | undefined;
  let failure: unknown;
  let server: DenoHttpServer;
  try {
    server = deno.serve({
      ...rest,
      ...where,
      onListen(address: DenoAddr): void {
        // Runs synchronously inside Deno.serve, once the listener is registered with epoll.
        const temporary = listener.address(address.port ?? 0);
        try {
          report = adopter.adopt(socket.fd, temporary, failStep);
        } catch (error) {
          failure = error;
        }
      },
    }, handler);
  } catch (error) {
    listener.remove();
    return fallback(`Deno.serve on a throw-away listener failed: ${messageOf(error)}`);
  }
  if (report === undefined) {
    await server.shutdown();
    listener.remove();
    const reason = failure instanceof AdoptFailure
      ? failure.message
      : `adoption failed: ${
        failure === undefined ? "onListen was not called" : messageOf(failure)
      }`;
    return fallback(reason);
  }
  listener.remove();
  // The runtime's listener fd is now the only copy this process needs.
  adopter.closeFd(socket.fd);
  onListen?.(listenAddress(socket));

  let closing: Promise<void> | undefined;
  const native = server;
  const adoptReport = report;
  return {
    runtime: "deno",
    mode: "native",
    reason: null,
    fd: socket.fd,
    name: socket.name,
    address: socket.address,
    adoption: { listenerFd: report.listenerFd, temporaryAddress: report.temporaryAddress },
    server: native,
    finished: native.finished,
    close(closeOptions = {}): Promise<void> {
      closing ??= (async (): Promise<void> => {
        // shutdown() would also close connections accepted but whose request has
        // not been read yet, resetting their clients. So first stop accepting
        // (new connections queue on systemd's copy for the next instance), let
        // the accepted ones deliver their requests, then shut down.
        if (adopter.stopAccepting(adoptReport)) {
          await new Promise((resolve) => setTimeout(resolve, ACCEPTED_SETTLE_MS));
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            // Deno cannot cut connections: let the process exit instead of waiting for them.
            native.unref();
            resolve();
          }, closeOptions.graceMs ?? DEFAULT_GRACE_MS);
          native.shutdown().then(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      })();
      return closing;
    },
  };
}
