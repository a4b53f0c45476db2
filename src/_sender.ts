/**
 * Delivers datagrams to the service manager on one kept socket, in order, and
 * decides what happens when the manager's queue is full.
 *
 * The policy (DESIGN §3 item 14): sends do not block (`MSG_DONTWAIT`). When the
 * manager's queue is full (EAGAIN) and nothing waits yet, the sender waits in
 * the kernel for room, at most {@linkcode FULL_QUEUE_WAIT_MS} (poll for
 * POLLOUT on the connected socket wakes as soon as the manager reads one
 * message), and sends again: a burst then flows at the manager's pace. If the
 * queue is still full, the message is copied into an in-process FIFO and
 * retried from a timer with a growing delay (1 ms doubling to 50 ms); every
 * later message waits behind it, so order is kept, and the event loop is not
 * blocked again until the FIFO is empty. The timer keeps the process alive, so
 * a READY or STOPPING queued just before exit still goes out. A message not
 * accepted within its timeout rejects with `SystemdError` code `EAGAIN`: it is
 * never dropped silently.
 *
 * The socket is connected to the manager's address (re-targeted whenever
 * `NOTIFY_SOCKET` changes), so a plain message is a `send` without the kernel
 * looking the socket path up again: that lookup is half the cost of a `sendto`.
 * When a send fails for any reason but a full queue (the manager closed the
 * socket we were connected to: ECONNREFUSED), the address is looked up and
 * connected afresh and the message sent once more, so a replaced socket costs
 * nothing. Messages with descriptors or credentials name the address on every
 * send, as `sd_notify` does.
 *
 * @module
 */

import type { Backend, Credentials } from "./_backend.ts";
import { SystemdError } from "./errors.ts";
import type { NotifyAddress } from "./notify_socket.ts";

const EINTR = 4;
const EAGAIN = 11;

/**
 * The longest the sender blocks the thread waiting for room in the manager's
 * queue, once per message that finds it full with nothing queued in-process.
 */
export const FULL_QUEUE_WAIT_MS = 1;
const FIRST_RETRY_MS = 1;
const LAST_RETRY_MS = 50;

interface Pending {
  readonly address: NotifyAddress;
  readonly payload: Uint8Array;
  readonly fds: readonly number[] | null;
  readonly credentials: Credentials | null;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly resolve: () => void;
  readonly reject: (error: SystemdError) => void;
}

/** One message to deliver. */
export interface Datagram {
  /** Where to send it. */
  readonly address: NotifyAddress;
  /** The bytes; only `payload[0..length)` is sent. */
  readonly payload: Uint8Array;
  /** How many bytes of `payload` to send. */
  readonly length: number;
  /** Descriptors to pass with SCM_RIGHTS, or null. */
  readonly fds: readonly number[] | null;
  /** Credentials to pass with SCM_CREDENTIALS, or null to let the kernel attach ours. */
  readonly credentials: Credentials | null;
}

function preview(payload: Uint8Array, length: number): string {
  const text = new TextDecoder().decode(payload.subarray(0, Math.min(length, 60)));
  return JSON.stringify(text.replaceAll("\n", " "));
}

/** Sends notification datagrams in order on one kept CLOEXEC socket. */
export class NotifySender {
  /** The backend this sender sends with. */
  readonly backend: Backend;
  #socket = -1;
  /** The address the socket is connected to, or null when it is not connected. */
  #peer: NotifyAddress | null = null;
  /** The call whose errno the last failed `#sendNow` returned, for its error. */
  #failedCall: "connect" | "sendmsg" = "sendmsg";
  readonly #queue: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #retryMs = FIRST_RETRY_MS;

  /** @param backend the libc backend to send with */
  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** How many messages wait for room in the manager's queue. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Sends `datagram` now, or queues it behind earlier ones when the manager's
   * queue is full.
   *
   * @returns undefined when it was sent at once, else a promise that settles
   *   when it is sent or its `timeoutMs` runs out
   * @throws {SystemdError} when sending fails for any reason but a full queue
   */
  send(datagram: Datagram, timeoutMs: number): Promise<void> | undefined {
    if (this.#queue.length === 0) {
      let errno = this.#sendNow(datagram.address, datagram.payload, datagram.length, datagram);
      if (
        errno === EAGAIN && this.#peer === datagram.address &&
        this.backend.waitWritable(this.#socket, FULL_QUEUE_WAIT_MS)
      ) {
        errno = this.#sendNow(datagram.address, datagram.payload, datagram.length, datagram);
      }
      if (errno === 0) return undefined;
      if (errno !== EAGAIN) throw this.#failure(errno, datagram.address);
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({
        address: datagram.address,
        payload: datagram.payload.slice(0, datagram.length),
        fds: datagram.fds,
        credentials: datagram.credentials,
        deadline: performance.now() + timeoutMs,
        timeoutMs,
        resolve,
        reject,
      });
      this.#schedule();
    });
  }

  /** One attempt to send; 0 or the errno (EAGAIN: the manager's queue is full). */
  #sendNow(
    address: NotifyAddress,
    payload: Uint8Array,
    length: number,
    extras: { fds: readonly number[] | null; credentials: Credentials | null },
  ): number {
    if (this.#socket < 0) this.#socket = this.backend.openDatagramSocket();
    this.#failedCall = "sendmsg";
    if (extras.fds !== null || extras.credentials !== null) {
      return this.#sendOnce(address.sockaddr, payload, length, extras);
    }
    if (this.#peer !== address) {
      const errno = this.#connect(address);
      if (errno !== 0) return errno;
    }
    const errno = this.#sendOnce(null, payload, length, extras);
    if (errno === 0 || errno === EAGAIN) return errno;
    // The socket we were connected to may be gone or replaced: look the address up again, once.
    const reconnected = this.#connect(address);
    return reconnected === 0 ? this.#sendOnce(null, payload, length, extras) : reconnected;
  }

  /** Connects the socket to `address`; 0 or the errno of `connect`. */
  #connect(address: NotifyAddress): number {
    this.#peer = null;
    const errno = this.backend.connect(this.#socket, address.sockaddr);
    if (errno !== 0) {
      this.#failedCall = "connect";
      return errno;
    }
    this.#peer = address;
    return 0;
  }

  #sendOnce(
    sockaddr: Uint8Array | null,
    payload: Uint8Array,
    length: number,
    extras: { fds: readonly number[] | null; credentials: Credentials | null },
  ): number {
    let errno: number;
    do {
      errno = this.backend.send(
        this.#socket,
        sockaddr,
        payload,
        length,
        extras.fds,
        extras.credentials,
      );
    } while (errno === EINTR);
    return errno;
  }

  #failure(errno: number, address: NotifyAddress): SystemdError {
    return SystemdError.fromErrno(this.#failedCall, errno, `Notifying "${address.text}"`);
  }
  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#drain, this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, LAST_RETRY_MS);
  }

  readonly #drain = (): void => {
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const head = this.#queue[0];
      let errno: number;
      try {
        errno = this.#sendNow(head.address, head.payload, head.payload.length, head);
      } catch (error) {
        this.#queue.shift();
        head.reject(error as SystemdError);
        continue;
      }
      if (errno === EAGAIN) break;
      this.#queue.shift();
      if (errno === 0) {
        this.#retryMs = FIRST_RETRY_MS;
        head.resolve();
      } else {
        head.reject(this.#failure(errno, head.address));
      }
    }
    this.#expire();
    if (this.#queue.length > 0) this.#schedule();
  };

  /** Rejects every queued message whose time is up; the others keep their order. */
  #expire(): void {
    const now = performance.now();
    for (let index = this.#queue.length - 1; index >= 0; index--) {
      const pending = this.#queue[index];
      if (pending.deadline > now) continue;
      this.#queue.splice(index, 1);
      pending.reject(
        new SystemdError(
          `The service manager's queue stayed full for ${pending.timeoutMs} ms; not sent: ${
            preview(pending.payload, pending.payload.length)
          }`,
          { code: "EAGAIN", errno: EAGAIN, syscall: "sendmsg" },
        ),
      );
    }
  }
}
