/**
 * The address families {@linkcode ListenFd} names; others are `"other"`.
 *
 * @example Serve only on an IP socket
 * ```ts
 * import { listenFds, type SocketFamily } from "@systemd-js/daemon";
 * const ip: SocketFamily[] = ["inet", "inet6"];
 * const sockets = (await listenFds()).filter((fd) => fd.family !== null && ip.includes(fd.family));
 * console.log(sockets.map((fd) => fd.fd));
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_is_socket.html | sd_is_socket(3)}
 */
export type SocketFamily = "unix" | "inet" | "inet6" | "vsock" | "netlink" | "packet" | "other";

/**
 * The socket types {@linkcode ListenFd} names; others are `"other"`.
 *
 * @example Tell a datagram socket from a stream socket
 * ```ts
 * import { listenFds, type SocketType } from "@systemd-js/daemon";
 * for (const fd of await listenFds()) {
 *   const type: SocketType | null = fd.type;
 *   console.log(fd.fd, type === "dgram" ? "datagram" : "stream or other");
 * }
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_is_socket.html | sd_is_socket(3)}
 */
export type SocketType = "stream" | "dgram" | "seqpacket" | "raw" | "other";

/**
 * A socket's local address, decoded from `getsockname`.
 *
 * @example Log where each passed socket listens
 * ```ts
 * import { listenFds, type SocketAddress } from "@systemd-js/daemon";
 * for (const { fd, address } of await listenFds()) {
 *   const where = (a: SocketAddress | null): string =>
 *     a === null ? "not a socket" : a.family === "unix" ? a.path : JSON.stringify(a);
 *   console.log(fd, where(address));
 * }
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_is_socket.html | sd_is_socket(3)}
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html | sd_listen_fds(3)}
 */
export type SocketAddress =
  | { readonly family: "inet" | "inet6"; readonly host: string; readonly port: number }
  | {
    readonly family: "unix";
    /** The path; `"@name"` for an abstract socket, `""` for an unnamed one. */
    readonly path: string;
  }
  | { readonly family: "vsock"; readonly cid: number; readonly port: number }
  | { readonly family: "other"; readonly domain: number };

const FAMILIES: Readonly<Record<number, SocketFamily>> = {
  1: "unix",
  2: "inet",
  10: "inet6",
  16: "netlink",
  17: "packet",
  40: "vsock",
};

const TYPES: Readonly<Record<number, SocketType>> = {
  1: "stream",
  2: "dgram",
  3: "raw",
  5: "seqpacket",
};

/** The name of an `AF_*` number. */
export function socketFamily(domain: number): SocketFamily {
  return FAMILIES[domain] ?? "other";
}

/** The name of a `SOCK_*` number. */
export function socketType(type: number): SocketType {
  return TYPES[type] ?? "other";
}

function ipv4(bytes: Uint8Array, offset: number): string {
  return Array.from(bytes.subarray(offset, offset + 4)).join(".");
}

/** Text form of an IPv6 address as RFC 5952 recommends: lower case, longest zero run as "::". */
function ipv6(bytes: Uint8Array, offset: number): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 16);
  const groups = Array.from({ length: 8 }, (_, index) => view.getUint16(index * 2));
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `::ffff:${ipv4(bytes, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not shortened
  for (let start = 0; start < 8;) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLength).join(":");
  return `${head}::${tail}`;
}

function unixPath(bytes: Uint8Array): string {
  const path = bytes.subarray(2);
  if (path.length === 0) return "";
  const decoder = new TextDecoder();
  if (path[0] === 0) return `@${decoder.decode(path.subarray(1))}`;
  const end = path.indexOf(0);
  return decoder.decode(end < 0 ? path : path.subarray(0, end));
}

/**
 * Decodes `struct sockaddr` bytes as written by `getsockname`.
 *
 * @param bytes the address bytes, truncated to the length the kernel returned
 * @returns the decoded address; `{ family: "other" }` for families not decoded
 *
 * @example Decode 127.0.0.1:8080
 * ```ts
 * import { decodeSocketAddress } from "@systemd-js/daemon";
 * const bytes = new Uint8Array([2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
 * console.log(decodeSocketAddress(bytes)); // { family: "inet", host: "127.0.0.1", port: 8080 }
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_is_socket.html | sd_is_socket(3)}
 */
export function decodeSocketAddress(bytes: Uint8Array): SocketAddress {
  if (bytes.length < 2) return { family: "other", domain: 0 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const domain = view.getUint16(0, true);
  const family = socketFamily(domain);
  if (family === "inet" && bytes.length >= 8) {
    return { family, host: ipv4(bytes, 4), port: view.getUint16(2) };
  }
  if (family === "inet6" && bytes.length >= 24) {
    return { family, host: ipv6(bytes, 8), port: view.getUint16(2) };
  }
  if (family === "unix") return { family, path: unixPath(bytes) };
  if (family === "vsock" && bytes.length >= 12) {
    return { family, port: view.getUint32(4, true), cid: view.getUint32(8, true) };
  }
  return { family: "other", domain };
}
