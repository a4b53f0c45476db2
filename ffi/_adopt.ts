/**
 * Native-speed serving on an inherited socket (DESIGN §5), written once for the
 * FFI runtimes: it swaps the listening socket under a runtime's own server.
 *
 * The runtime starts its server (`Deno.serve`, `Bun.serve`) on a throw-away
 * listener of the same family as the inherited socket. Then, step by step, each
 * step verified before the next:
 * 1. `find-listener`: scan `/proc/self/fd` (getdents64) for the one socket whose
 *    `getsockname` is the throw-away address; note its inode.
 * 2. `find-epoll`: among the `anon_inode:[eventpoll]` fds, find the one epoll
 *    instance whose `/proc/self/fdinfo/<epfd>` has a `tfd: <fd> … ino: <inode>`
 *    line, and read its `events` and `data` words.
 * 3. `nonblock`: set O_NONBLOCK on the inherited socket (a blocking listener
 *    would stall the runtime's accept loop on its second accept).
 * 4. `dup`: `dup3(inherited, listenerFd, O_CLOEXEC)`: the fd number the runtime
 *    polls and accepts on now names the inherited socket; the throw-away socket
 *    is closed by this (its epoll registration goes with it).
 * 5. `epoll-add`: `epoll_ctl(ADD)` the same fd number with the same events and
 *    data word, so the runtime's reactor recognises its events.
 * 6. `verify`: fdinfo shows the inherited inode registered under that number
 *    with the same words, and no fd of the throw-away socket is left.
 *
 * Only libc calls through FFI: no `/proc` read goes through a runtime's file
 * API, so Deno needs `--allow-ffi` but no `--allow-read` for it.
 *
 * @module
 */

import { decodeSocketAddress, type SocketAddress } from "../src/socket_address.ts";
import type { LibcCalls } from "./_libc_backend.ts";

/**
 * The libc functions of `ADOPT_SYMBOLS` (`symbols.ts`) with one JS signature for every
 * runtime (sizes are numbers, buffers are `Uint8Array`s we own); those it shares with
 * the notification backends are typed as there.
 */
export interface AdoptCalls
  extends Pick<LibcCalls, "fcntl" | "getsockopt" | "getsockname" | "open" | "close" | "errno"> {
  /** `ssize_t read(int, void *, size_t)`. */
  read(fd: number, buffer: Uint8Array, count: number): number;
  /** `ssize_t getdents64(int, void *, size_t)`. */
  getdents64(fd: number, buffer: Uint8Array, count: number): number;
  /** `ssize_t readlink(const char *, char *, size_t)`. */
  readlink(path: Uint8Array, buffer: Uint8Array, size: number): number;
  /** `int dup3(int, int, int)`. */
  dup3(from: number, to: number, flags: number): number;
  /** `int epoll_ctl(int, int, int, struct epoll_event *)`. */
  epoll_ctl(epfd: number, operation: number, fd: number, event: Uint8Array): number;
  /** `int mkdir(const char *, mode_t)`. */
  mkdir(path: Uint8Array, mode: number): number;
  /** `int unlink(const char *)`. */
  unlink(path: Uint8Array): number;
  /** `int rmdir(const char *)`. */
  rmdir(path: Uint8Array): number;
}

/** The steps of an adoption, in order; a forced failure names one of them. */
export type AdoptStep =
  | "arch"
  | "inherited"
  | "find-listener"
  | "find-epoll"
  | "nonblock"
  | "dup"
  | "epoll-add"
  | "verify";

/** Every {@linkcode AdoptStep}, in order. */
export const ADOPT_STEPS: readonly AdoptStep[] = [
  "arch",
  "inherited",
  "find-listener",
  "find-epoll",
  "nonblock",
  "dup",
  "epoll-add",
  "verify",
];

/**
 * The test-only environment variable that forces adoption step `<step>` to
 * fail (e.g. `SYSTEMD_JS_TEST_ADOPT_FAIL=epoll-add`), to prove the fallback.
 * Never set it in production.
 */
export const ADOPT_FAIL_VARIABLE = "SYSTEMD_JS_TEST_ADOPT_FAIL";

/** An adoption step that failed; the server then falls back. */
export class AdoptFailure extends Error {
  /** The step that failed. */
  readonly step: AdoptStep;
  /** True once `dup` succeeded: the runtime's server must be stopped, not reused. */
  readonly listenerReplaced: boolean;

  constructor(step: AdoptStep, message: string, listenerReplaced = false) {
    super(`Adoption step "${step}" failed: ${message}`);
    this.name = "AdoptFailure";
    this.step = step;
    this.listenerReplaced = listenerReplaced;
  }
}

/** What a successful adoption did, for diagnostics and tests. */
export interface AdoptReport {
  /** The fd number the runtime's server accepts on (now the inherited socket). */
  readonly listenerFd: number;
  /** The epoll instance that watches it. */
  readonly epollFd: number;
  /** The epoll events word copied from the runtime's registration. */
  readonly events: number;
  /** The epoll data word copied from the runtime's registration. */
  readonly data: bigint;
  /** The throw-away address the runtime bound first (no longer reachable). */
  readonly temporaryAddress: SocketAddress;
}

const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_ACCEPTCONN = 30;
const SO_DOMAIN = 39;
const SOCK_STREAM = 1;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EINTR = 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cString(text: string): Uint8Array {
  const bytes = encoder.encode(`${text}\0`);
  if (bytes.indexOf(0) !== bytes.length - 1) throw new TypeError(`Path "${text}" contains NUL`);
  return bytes;
}

/**
 * Where `struct epoll_event` keeps its data word: x86-64 packs the struct
 * (`__EPOLL_PACKED`, 12 bytes, data at 4); aarch64 aligns it (16 bytes, data at 8).
 */
export function epollEventLayout(arch: string): { size: number; dataOffset: number } | null {
  switch (arch) {
    case "x86_64":
    case "x64":
      return { size: 12, dataOffset: 4 };
    case "aarch64":
    case "arm64":
      return { size: 16, dataOffset: 8 };
    default:
      return null;
  }
}

/** A socket as adoption sees it. */
export interface AdoptSocket {
  readonly domain: number;
  readonly type: number;
  readonly listening: boolean;
  readonly address: SocketAddress | null;
}

/** One line of an epoll fdinfo: a watched fd. */
interface EpollEntry {
  readonly tfd: number;
  readonly events: number;
  readonly data: bigint;
  readonly inode: bigint;
}

/** True when two addresses name the same endpoint. */
function sameAddress(a: SocketAddress | null, b: SocketAddress): boolean {
  if (a === null || a.family !== b.family) return false;
  if (
    (a.family === "inet" || a.family === "inet6") && (b.family === "inet" || b.family === "inet6")
  ) {
    return a.port === b.port && a.host === b.host;
  }
  if (a.family === "unix" && b.family === "unix") return a.path === b.path;
  return false;
}

/** The adoption operations over one runtime's libc calls. */
export interface Adopter {
  /** getsockopt + getsockname of `fd`, or null when it is not an open socket. */
  describe(fd: number): AdoptSocket | null;
  /** The fds open in this process, from `/proc/self/fd`. */
  openFds(): number[];
  /** `close(fd)`, ignoring errors. */
  closeFd(fd: number): void;
  /** Creates a private (0700) directory under `parent` for a throw-away unix socket. */
  makePrivateDirectory(parent: string): string;
  /** Removes the throw-away socket path and its private directory, ignoring errors. */
  removePrivateDirectory(directory: string, socketPath: string): void;
  /**
   * Puts `inheritedFd` under the runtime listener bound to `temporary`.
   * @throws {AdoptFailure} naming the failed step
   */
  adopt(inheritedFd: number, temporary: SocketAddress, failStep?: string): AdoptReport;
  /**
   * Stops the runtime from accepting on an adopted listener without closing it:
   * `epoll_ctl(DEL)` of its registration, so the runtime is never woken for it
   * again while the kernel keeps queueing new connections on the socket, which
   * systemd shares with us, for the next instance.
   * @returns false when epoll refused (the runtime then keeps accepting)
   */
  stopAccepting(report: AdoptReport): boolean;
}

/**
 * Builds the {@linkcode Adopter} over a runtime's libc calls.
 *
 * @param arch the CPU architecture as the runtime spells it
 * @param libc the libc functions
 * @returns the adopter
 *
 * @example Inside a runtime's serve module
 * ```ts ignore
 * const adopter = createAdopter(Deno.build.arch, calls);
 * const report = adopter.adopt(3, { family: "inet", host: "127.0.0.1", port: 40123 });
 * ```
 */
export function createAdopter(arch: string, libc: AdoptCalls): Adopter {
  const intBuffer = new Uint8Array(4);
  const lengthBuffer = new Uint8Array(4);
  const addressBuffer = new Uint8Array(128);
  const linkBuffer = new Uint8Array(256);
  const intView = new DataView(intBuffer.buffer);
  const lengthView = new DataView(lengthBuffer.buffer);

  const errnoText = (): string => `errno ${libc.errno()}`;

  function socketOption(fd: number, option: number): number | null {
    lengthView.setUint32(0, 4, true);
    if (libc.getsockopt(fd, SOL_SOCKET, option, intBuffer, lengthBuffer) < 0) return null;
    return intView.getInt32(0, true);
  }

  function describe(fd: number): AdoptSocket | null {
    const domain = socketOption(fd, SO_DOMAIN);
    const type = socketOption(fd, SO_TYPE);
    const listening = socketOption(fd, SO_ACCEPTCONN);
    if (domain === null || type === null || listening === null) return null;
    lengthView.setUint32(0, addressBuffer.length, true);
    if (libc.getsockname(fd, addressBuffer, lengthBuffer) < 0) return null;
    const length = Math.min(lengthView.getUint32(0, true), addressBuffer.length);
    return {
      domain,
      type,
      listening: listening !== 0,
      address: decodeSocketAddress(addressBuffer.slice(0, length)),
    };
  }

  function readLink(path: string): string | null {
    const length = libc.readlink(cString(path), linkBuffer, linkBuffer.length);
    return length < 0 ? null : decoder.decode(linkBuffer.subarray(0, length));
  }

  function readFile(path: string): string | null {
    const fd = libc.open(cString(path), O_CLOEXEC, 0);
    if (fd < 0) return null;
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const count = libc.read(fd, buffer, buffer.length);
        if (count < 0) {
          if (libc.errno() === EINTR) continue;
          return null;
        }
        if (count === 0) break;
        chunks.push(buffer.slice(0, count));
      }
    } finally {
      libc.close(fd);
    }
    return chunks.map((chunk) => decoder.decode(chunk)).join("");
  }

  function openFds(): number[] {
    const directory = libc.open(cString("/proc/self/fd"), O_CLOEXEC, 0);
    if (directory < 0) throw new Error(`cannot open /proc/self/fd (${errnoText()})`);
    const fds: number[] = [];
    const buffer = new Uint8Array(32768);
    const view = new DataView(buffer.buffer);
    try {
      for (;;) {
        const count = libc.getdents64(directory, buffer, buffer.length);
        if (count < 0) throw new Error(`cannot list /proc/self/fd (${errnoText()})`);
        if (count === 0) break;
        // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
        for (let offset = 0; offset < count;) {
          const recordLength = view.getUint16(offset + 16, true);
          const nameEnd = buffer.indexOf(0, offset + 19);
          const name = decoder.decode(buffer.subarray(offset + 19, nameEnd));
          if (/^\d+$/.test(name)) fds.push(Number(name));
          offset += recordLength;
        }
      }
    } finally {
      libc.close(directory);
    }
    return fds.filter((fd) => fd !== directory);
  }

  /** The inode of a socket fd, from its `/proc/self/fd` link `socket:[N]`. */
  function socketInode(fd: number): bigint | null {
    const link = readLink(`/proc/self/fd/${fd}`);
    const match = link === null ? null : /^socket:\[(\d+)\]$/.exec(link);
    return match === null ? null : BigInt(match[1]);
  }

  function epollEntries(epfd: number): EpollEntry[] | null {
    const text = readFile(`/proc/self/fdinfo/${epfd}`);
    if (text === null) return null;
    const entries: EpollEntry[] = [];
    const line =
      /^tfd:\s*(\d+)\s+events:\s*([0-9a-f]+)\s+data:\s*([0-9a-f]+)\s+pos:\s*\d+\s+ino:\s*([0-9a-f]+)/gm;
    for (const match of text.matchAll(line)) {
      entries.push({
        tfd: Number(match[1]),
        events: Number.parseInt(match[2], 16),
        data: BigInt(`0x${match[3]}`),
        inode: BigInt(`0x${match[4]}`),
      });
    }
    return entries;
  }

  function adopt(inheritedFd: number, temporary: SocketAddress, failStep?: string): AdoptReport {
    const forced = (step: AdoptStep, replaced = false): void => {
      if (failStep === step) {
        throw new AdoptFailure(step, `forced by ${ADOPT_FAIL_VARIABLE}=${step}`, replaced);
      }
    };

    forced("arch");
    const layout = epollEventLayout(arch);
    if (layout === null) throw new AdoptFailure("arch", `unsupported architecture "${arch}"`);

    forced("inherited");
    const inherited = describe(inheritedFd);
    if (inherited === null) {
      throw new AdoptFailure(
        "inherited",
        `fd ${inheritedFd} is not an open socket (${errnoText()})`,
      );
    }
    if (inherited.type !== SOCK_STREAM || !inherited.listening) {
      throw new AdoptFailure("inherited", `fd ${inheritedFd} is not a listening stream socket`);
    }
    if (inherited.address?.family !== temporary.family) {
      throw new AdoptFailure(
        "inherited",
        `fd ${inheritedFd} is ${inherited.address?.family}, the runtime listener ${temporary.family}`,
      );
    }
    const inheritedInode = socketInode(inheritedFd);
    if (inheritedInode === null) {
      throw new AdoptFailure("inherited", `no socket inode for fd ${inheritedFd} in /proc/self/fd`);
    }

    forced("find-listener");
    let fds: number[];
    try {
      fds = openFds();
    } catch (error) {
      throw new AdoptFailure("find-listener", (error as Error).message);
    }
    const listeners: { fd: number; inode: bigint }[] = [];
    const epolls: number[] = [];
    for (const fd of fds) {
      const link = readLink(`/proc/self/fd/${fd}`);
      if (link === "anon_inode:[eventpoll]") {
        epolls.push(fd);
        continue;
      }
      const socket = link === null ? null : /^socket:\[(\d+)\]$/.exec(link);
      if (socket === null || fd === inheritedFd) continue;
      const description = describe(fd);
      if (description?.listening && sameAddress(description.address, temporary)) {
        listeners.push({ fd, inode: BigInt(socket[1]) });
      }
    }
    if (listeners.length !== 1) {
      throw new AdoptFailure(
        "find-listener",
        `expected one listener on the throw-away address, found ${listeners.length}`,
      );
    }
    const listener = listeners[0];

    forced("find-epoll");
    const registrations: { epfd: number; entry: EpollEntry }[] = [];
    for (const epfd of epolls) {
      for (const entry of epollEntries(epfd) ?? []) {
        if (entry.tfd === listener.fd && entry.inode === listener.inode) {
          registrations.push({ epfd, entry });
        }
      }
    }
    // One epoll instance can be open under several fd numbers (mio clones its
    // registry with dup): all of them must show the same registration, and the
    // verify step proves they are one instance.
    const first = registrations[0];
    if (
      first === undefined ||
      registrations.some(({ entry }) =>
        entry.events !== first.entry.events || entry.data !== first.entry.data
      )
    ) {
      throw new AdoptFailure(
        "find-epoll",
        `expected one epoll registration of fd ${listener.fd}, found ${registrations.length} (in ${epolls.length} epoll fds)`,
      );
    }
    const { epfd, entry } = first;

    forced("nonblock");
    const flags = libc.fcntl(inheritedFd, F_GETFL, 0);
    if (
      flags < 0 ||
      ((flags & O_NONBLOCK) === 0 && libc.fcntl(inheritedFd, F_SETFL, flags | O_NONBLOCK) < 0)
    ) {
      throw new AdoptFailure("nonblock", `fcntl O_NONBLOCK on fd ${inheritedFd} (${errnoText()})`);
    }

    forced("dup");
    if (libc.dup3(inheritedFd, listener.fd, O_CLOEXEC) !== listener.fd) {
      throw new AdoptFailure("dup", `dup3(${inheritedFd}, ${listener.fd}) (${errnoText()})`);
    }

    forced("epoll-add", true);
    const event = new Uint8Array(layout.size);
    const eventView = new DataView(event.buffer);
    eventView.setUint32(0, entry.events, true);
    eventView.setBigUint64(layout.dataOffset, entry.data, true);
    if (libc.epoll_ctl(epfd, EPOLL_CTL_ADD, listener.fd, event) < 0) {
      throw new AdoptFailure("epoll-add", `epoll_ctl(ADD, ${listener.fd}) (${errnoText()})`, true);
    }

    forced("verify", true);
    for (const { epfd: watcher } of registrations) {
      const now = (epollEntries(watcher) ?? []).filter((line) => line.tfd === listener.fd);
      if (
        now.length !== 1 || now[0].inode !== inheritedInode || now[0].events !== entry.events ||
        now[0].data !== entry.data
      ) {
        throw new AdoptFailure(
          "verify",
          `fdinfo of epoll fd ${watcher} does not show the adopted socket`,
          true,
        );
      }
    }
    const leftovers = openFds().filter((fd) => socketInode(fd) === listener.inode);
    if (leftovers.length > 0) {
      throw new AdoptFailure(
        "verify",
        `the throw-away socket is still open as fd ${leftovers.join(", ")}`,
        true,
      );
    }
    return {
      listenerFd: listener.fd,
      epollFd: epfd,
      events: entry.events,
      data: entry.data,
      temporaryAddress: temporary,
    };
  }

  return {
    describe,
    openFds,
    closeFd(fd: number): void {
      libc.close(fd);
    },
    stopAccepting(report: AdoptReport): boolean {
      // The event argument is ignored for DEL, but kernels before 2.6.9 want it
      // non-null: 16 bytes fit the epoll_event of every architecture.
      const unused = new Uint8Array(16);
      return libc.epoll_ctl(report.epollFd, EPOLL_CTL_DEL, report.listenerFd, unused) === 0;
    },
    makePrivateDirectory(parent: string): string {
      for (let attempt = 0; attempt < 8; attempt++) {
        const random = crypto.getRandomValues(new Uint8Array(8));
        const name = Array.from(random, (byte) => byte.toString(16).padStart(2, "0")).join("");
        const path = `${parent.replace(/\/+$/, "")}/systemd-js-adopt-${name}`;
        if (libc.mkdir(cString(path), 0o700) === 0) return path;
      }
      throw new Error(`cannot create a private directory in "${parent}" (${errnoText()})`);
    },
    removePrivateDirectory(directory: string, socketPath: string): void {
      libc.unlink(cString(socketPath));
      libc.rmdir(cString(directory));
    },
    adopt,
  };
}
