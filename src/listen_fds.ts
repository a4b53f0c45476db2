import { activeBackend } from "./_active.ts";
import { currentPid, getEnv, unsetEnv } from "./_platform.ts";
import { LISTEN_VARIABLES, parseListenEnv } from "./listen_env.ts";
import {
  decodeSocketAddress,
  type SocketAddress,
  type SocketFamily,
  socketFamily,
  type SocketType,
  socketType,
} from "./socket_address.ts";

/**
 * A descriptor systemd passed to this process, as {@linkcode listenFds} found it.
 *
 * @example Pick the passed socket by name
 * ```ts
 * import { type ListenFd, listenFds } from "@systemd-js/daemon";
 * const fds: ListenFd[] = await listenFds();
 * const web = fds.find((fd) => fd.name === "web" && fd.listening);
 * console.log(web?.fd, web?.family, web?.address); // 3 "inet6" { family: "inet6", host: "::", port: 80 }
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html | sd_listen_fds(3)}
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_is_socket.html | sd_is_socket(3)}
 */
export interface ListenFd {
  /** The descriptor number (3, 4, …). FD_CLOEXEC is set on it. */
  readonly fd: number;
  /**
   * Its name: `FileDescriptorName=` of the socket unit (the unit's name by
   * default), `"stored"` for one from the fd store, `"connection"` for an
   * `Accept=yes` connection, `"unknown"` when systemd gave no names.
   */
  readonly name: string;
  /** The address family, or null when the descriptor is not a socket (a FIFO, a file). */
  readonly family: SocketFamily | null;
  /** The socket type, or null when the descriptor is not a socket. */
  readonly type: SocketType | null;
  /** True for a listening socket (`SO_ACCEPTCONN`), false for a connected or datagram one. */
  readonly listening: boolean;
  /** The local address, or null when the descriptor is not a socket. */
  readonly address: SocketAddress | null;
}

/**
 * Options for {@linkcode listenFds}.
 *
 * @example Keep the variables for a child process that takes the fds
 * ```ts
 * import { listenFds } from "@systemd-js/daemon";
 * const fds = await listenFds({ unsetEnvironment: false });
 * console.log(fds.length, process.env.LISTEN_FDS);
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html | sd_listen_fds(3)}
 */
export interface ListenFdsOptions {
  /**
   * Remove `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES` and `LISTEN_PIDFDID`
   * from the environment, on every path, so child processes do not take the
   * descriptors for theirs. Default true.
   */
  readonly unsetEnvironment?: boolean;
}

/**
 * Takes the descriptors systemd passed for socket activation, as
 * [sd_listen_fds_with_names(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html)
 * does: it reads `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES`, sets
 * FD_CLOEXEC on every descriptor (so child processes do not inherit listening
 * sockets and keep a port busy after a crash), unsets the variables, and says
 * what each descriptor is.
 *
 * Not socket-activated (no `LISTEN_PID`, or it names another process) it
 * returns an empty array and loads no FFI. Call it once: with the default
 * `unsetEnvironment`, a second call finds nothing.
 *
 * @param options whether to unset the variables (default true)
 * @returns the descriptors, fd 3 first
 * @throws {SystemdError} code `EINVAL` for malformed variables, `EBADF` when a
 *   promised descriptor is not open, `EPERM` when Deno lacks `--allow-ffi`
 *
 * @example Serve HTTP on the socket systemd passed
 * ```ts
 * import { createServer } from "node:http";
 * import { listenFds } from "@systemd-js/daemon";
 * const [socket] = await listenFds();
 * const server = createServer((_request, response) => response.end("hello\n"));
 * server.listen(socket === undefined ? { port: 8080 } : { fd: socket.fd });
 * ```
 */
export async function listenFds(options: ListenFdsOptions = {}): Promise<ListenFd[]> {
  const env: Record<string, string | undefined> = {};
  for (const name of LISTEN_VARIABLES) env[name] = getEnv(name);
  if (options.unsetEnvironment !== false) {
    for (const name of LISTEN_VARIABLES) unsetEnv(name);
  }
  const entries = parseListenEnv(env, currentPid());
  if (entries.length === 0) return [];

  const backend = await activeBackend();
  return entries.map(({ fd, name }) => {
    backend.setCloexec(fd);
    const socket = backend.describeSocket(fd);
    if (socket === null) {
      return { fd, name, family: null, type: null, listening: false, address: null };
    }
    return {
      fd,
      name,
      family: socketFamily(socket.domain),
      type: socketType(socket.type),
      listening: socket.listening,
      address: decodeSocketAddress(socket.localAddress),
    };
  });
}
