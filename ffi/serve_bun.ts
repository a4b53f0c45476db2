/**
 * `serveBun()`: `Bun.serve` on an inherited socket, by adoption (DESIGN §5,
 * `_adopt.ts`), else a `node:net` server on the descriptor feeding a
 * `node:http` server (Bun's `Bun.serve({ fd })` ignores `fd` and its
 * `http.Server.listen({ fd })` binds a random port).
 *
 * @module
 */

import type { ListenFd } from "../src/listen_fds.ts";
import type { BunInheritedServer, BunServeOptions, BunServer } from "../src/serve_types.ts";
import { getEnv } from "./runtime.ts";
import { ADOPT_FAIL_VARIABLE, AdoptFailure, type AdoptReport } from "./_adopt.ts";
import { openBunAdopter } from "./_adopt_bun.ts";
import {
  DEFAULT_GRACE_MS,
  messageOf,
  prepareAdoption,
} from "./_serve_common.ts";

/** The part of the `Bun` namespace used here. */
interface BunServeNamespace {
  serve(options: Record<string, unknown>): BunServer & { readonly port?: number };
}

/**
 * Serves with `Bun.serve` on the inherited listening socket, or with
 * `node:net` + `node:http` when adoption fails.
 *
 * @param socket the inherited listening stream socket
 * @param options `Bun.serve` options with the fetch handler
 * @returns the running server and its mode
 *
 * @example
 * ```ts ignore
 * const served = await serveBunOn(socket, { fetch: () => new Response("hi") });
 * ```
 */
export async function serveBunOn(
  socket: ListenFd,
  options: BunServeOptions,
): Promise<BunInheritedServer> {
  const bun = (globalThis as unknown as { Bun: BunServeNamespace }).Bun;
  const { port: _port, hostname: _hostname, unix: _unix, fd: _fd, reusePort: _reuse, ...rest } =
    options;

  const fallback = async (reason: string): Promise<BunInheritedServer> => {
    const { fetchListener, httpServerFor, listenHttpOnFd } = await import("./_node_http.ts");
    let inFlight = 0;
    const shim: BunServer = {
      stop: () => served.then((s) => s.close()),
      get pendingRequests(): number {
        return inFlight;
      },
      requestIP: () => null,
      upgrade: () => false,
    };
    const listener = fetchListener(async (request: Request, server: BunServer) => {
      inFlight++;
      try {
        const response = await options.fetch(request, server);
        return response ?? new Response(null, { status: 404 });
      } finally {
        inFlight--;
      }
    }, () => shim);
    const served = listenHttpOnFd(httpServerFor(listener), socket, "bun", "fallback", reason, true);
    return await served;
  };

  const prepared = prepareAdoption(openBunAdopter, socket);
  if ("reason" in prepared) return fallback(prepared.reason);
  const { adopter, listener } = prepared;
  const where: Record<string, unknown> = socket.address?.family === "unix"
    ? { unix: listener.path }
    : { hostname: listener.host, port: 0 };

  let server: BunServer & { readonly port?: number };
  try {
    server = bun.serve({ ...rest, ...where });
  } catch (error) {
    listener.remove();
    return fallback(`Bun.serve on a throw-away listener failed: ${messageOf(error)}`);
  }
  const temporary = listener.address(server.port ?? 0);
  let report: AdoptReport;
  try {
    report = adopter.adopt(socket.fd, temporary, getEnv(ADOPT_FAIL_VARIABLE));
  } catch (error) {
    await server.stop(true);
    listener.remove();
    return fallback(
      error instanceof AdoptFailure ? error.message : `adoption failed: ${messageOf(error)}`,
    );
  }
  listener.remove();
  adopter.closeFd(socket.fd);

  let closing: Promise<void> | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const native = server;
  return {
    runtime: "bun",
    mode: "native",
    reason: null,
    fd: socket.fd,
    name: socket.name,
    address: socket.address,
    adoption: { listenerFd: report.listenerFd, temporaryAddress: report.temporaryAddress },
    server: native,
    finished,
    close(closeOptions = {}): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          Promise.resolve(native.stop(true)).then(() => resolve());
        }, closeOptions.graceMs ?? DEFAULT_GRACE_MS);
        Promise.resolve(native.stop(false)).then(() => {
          clearTimeout(timer);
          resolve();
        });
      }).then(finish);
      return closing;
    },
  };
}
