import { SystemdError } from "./errors.ts";

/** `sizeof(sockaddr_un.sun_path)` on Linux: the path including its trailing NUL. */
const SUN_PATH_SIZE = 108;
/** `offsetof(struct sockaddr_un, sun_path)`: the 2-byte `sun_family`. */
const SUN_PATH_OFFSET = 2;
const AF_UNIX = 1;
/** The vsock address forms systemd 253+ understands. */
const VSOCK = /^vsock(-stream|-seqpacket|-dgram)?:/;

/**
 * Where `NOTIFY_SOCKET` points, ready to hand to `sendmsg`.
 *
 * @example Look at the address an abstract socket gives
 * ```ts
 * import { type NotifyAddress, parseNotifySocket } from "@systemd-js/daemon";
 * const address: NotifyAddress = parseNotifySocket("@systemd/notify");
 * console.log(address.sockaddr.length); // 17: 2-byte family, NUL, 14-byte name
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export interface NotifyAddress {
  /** The variable as given, for messages. */
  readonly text: string;
  /** `struct sockaddr_un` bytes; the array's length is the address length to pass. */
  readonly sockaddr: Uint8Array;
}

function invalid(value: string, why: string): SystemdError {
  return new SystemdError(`NOTIFY_SOCKET "${value}" ${why}`, {
    code: "EINVAL",
    errno: 22,
    syscall: "NOTIFY_SOCKET",
  });
}

/**
 * Parses the value of `NOTIFY_SOCKET` into the socket address to send to.
 *
 * - `/path`: a filesystem socket; the address length counts the trailing NUL.
 * - `@name`: an abstract socket; the first byte of `sun_path` is NUL and the
 *   address length is the header plus the name, with no trailing NUL.
 * - `vsock:…` (systemd 253 and later, for virtual machines) is not supported yet.
 *
 * @param value the variable's value (the caller handles the unset case)
 * @returns the address
 * @throws {SystemdError} code `EINVAL` for a value that is too short, relative,
 *   holds a NUL or does not fit in `sun_path`; code `EAFNOSUPPORT` for vsock
 *
 * @example Parse an abstract address
 * ```ts
 * import { parseNotifySocket } from "@systemd-js/daemon";
 * const address = parseNotifySocket("@/org/freedesktop/systemd1/notify");
 * console.log(address.sockaddr.length); // 2 + 33
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function parseNotifySocket(value: string): NotifyAddress {
  if (VSOCK.test(value)) {
    throw new SystemdError(
      `NOTIFY_SOCKET "${value}" is a vsock address, which is not supported yet`,
      { code: "EAFNOSUPPORT", errno: 97, syscall: "NOTIFY_SOCKET" },
    );
  }
  if (value.length < 2) throw invalid(value, "is too short");
  if (value[0] !== "/" && value[0] !== "@") {
    throw invalid(value, "is neither an absolute path nor an @abstract name");
  }
  if (value.includes("\0")) throw invalid(value, "contains a NUL byte");

  const abstract = value[0] === "@";
  const name = new TextEncoder().encode(abstract ? value.slice(1) : value);
  // A path needs one byte for its trailing NUL, an abstract name one for its
  // leading NUL: either way 107 bytes are left for the name.
  if (name.length > SUN_PATH_SIZE - 1) {
    throw invalid(value, `is longer than the ${SUN_PATH_SIZE}-byte sun_path allows`);
  }

  // Path: header + path + NUL. Abstract: header + NUL + name, no trailing NUL.
  const sockaddr = new Uint8Array(SUN_PATH_OFFSET + 1 + name.length);
  sockaddr[0] = AF_UNIX; // sun_family, little-endian u16
  sockaddr.set(name, abstract ? SUN_PATH_OFFSET + 1 : SUN_PATH_OFFSET);
  return { text: value, sockaddr };
}
