/**
 * The typed fields of a notification, and the one pure encoder that turns them
 * into the text systemd reads. The service manager drops a malformed message
 * silently, so everything it would drop is refused here with a `TypeError` or
 * `RangeError` before anything is sent.
 *
 * @module
 */

/**
 * Who may send notifications for the service (`NOTIFYACCESS=`, systemd 254 and later).
 *
 * @example Let every process of the service notify
 * ```ts
 * import { notify, type NotifyAccess } from "@systemd-js/daemon";
 * const access: NotifyAccess = "all";
 * await notify({ notifyAccess: access });
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/systemd.service.html | systemd.service(5)}
 */
export type NotifyAccess = "none" | "main" | "exec" | "all";

/**
 * The fields of one notification, as documented in
 * [sd_notify(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html).
 * Flags are sent when `true` and left out otherwise. Custom fields start with `X_`.
 *
 * @example Report a failure before exiting
 * ```ts
 * import { notify, type NotifyFields } from "@systemd-js/daemon";
 * const fields: NotifyFields = { status: "Cannot open the database", errno: 2, X_STAGE: "startup" };
 * await notify(fields);
 * ```
 */
export interface NotifyFields {
  /** `READY=1`: start-up (or a reload) is finished. */
  ready?: boolean;
  /**
   * `RELOADING=1`, sent with `MONOTONIC_USEC=` read from CLOCK_MONOTONIC, as
   * `Type=notify-reload` requires. Send `ready` when the reload is done.
   */
  reloading?: boolean;
  /** `STOPPING=1`: the service is shutting down. Wins over a later `ready`/`reloading`. */
  stopping?: boolean;
  /** `STATUS=`: one line of free-form UTF-8 text shown by `systemctl status`. */
  status?: string;
  /** `ERRNO=`: the errno-style error the service failed with (a non-negative integer). */
  errno?: number;
  /** `BUSERROR=`: the D-Bus error name the service failed with, such as `org.example.Failed`. */
  busError?: string;
  /** `EXIT_STATUS=`: the exit status the service will report (0–255). */
  exitStatus?: number;
  /** `MAINPID=`: the pid of the service's main process, when it is not the sender. */
  mainPid?: number;
  /** `EXTEND_TIMEOUT_USEC=`: ask for this many more microseconds to start, reload or stop. */
  extendTimeoutUsec?: number | bigint;
  /** `WATCHDOG=1` (true) or `WATCHDOG=trigger` (fail the watchdog now). */
  watchdog?: boolean | "trigger";
  /** `WATCHDOG_USEC=`: change the watchdog interval to this many microseconds. */
  watchdogUsec?: number | bigint;
  /** `FDSTORE=1`: store the descriptors passed in `NotifyOptions.fds`. */
  fdStore?: boolean;
  /** `FDSTOREREMOVE=1`: remove the stored descriptors named by `fdName`. */
  fdStoreRemove?: boolean;
  /** `FDNAME=`: the name of the descriptors stored or removed (≤ 255 printable ASCII, no `:`). */
  fdName?: string;
  /** `FDPOLL=0` when false: the manager must not watch the stored descriptors for errors. */
  fdPoll?: boolean;
  /** `NOTIFYACCESS=`: change who may send notifications. */
  notifyAccess?: NotifyAccess;
  /** Custom fields such as `X_BUILD`, passed through as `X_BUILD=value`. */
  [custom: `X_${string}`]: string | undefined;
}

/**
 * The largest datagram the service manager accepts.
 *
 * @example Check a status line against the limit
 * ```ts
 * import { MAX_MESSAGE_BYTES } from "@systemd-js/daemon";
 * const status = "STATUS=" + "x".repeat(5000);
 * console.log(new TextEncoder().encode(status).length > MAX_MESSAGE_BYTES); // true: refused
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export const MAX_MESSAGE_BYTES = 4096;
/**
 * The most descriptors one message may carry (`SCM_MAX_FD` is 253).
 *
 * @example Split a large set of descriptors
 * ```ts
 * import { fdStore, MAX_FDS } from "@systemd-js/daemon";
 * const fds = [3, 4, 5];
 * for (let start = 0; start < fds.length; start += MAX_FDS) {
 *   await fdStore(fds.slice(start, start + MAX_FDS), `part-${start}`);
 * }
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export const MAX_FDS = 253;

/** Checks and writes one value; null leaves the field out (a false flag). */
type Encoder = (field: string, value: unknown) => string | null;

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function flag(field: string, value: unknown): string | null {
  if (typeof value !== "boolean") {
    throw new TypeError(`Notify field "${field}" must be a boolean, got ${describe(value)}`);
  }
  return value ? "1" : null;
}

/** A single line of text: no newline (it would start a new assignment) and no NUL. */
function line(field: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(`Notify field "${field}" must be a string, got ${describe(value)}`);
  }
  if (/[\n\0]/.test(value)) {
    throw new TypeError(
      `Notify field "${field}" must not contain a newline or NUL: ${JSON.stringify(value)}`,
    );
  }
  if (!value.isWellFormed()) {
    throw new TypeError(
      `Notify field "${field}" must be valid Unicode (it has a lone surrogate): ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function integer(min: number, max: number): Encoder {
  return (field, value) => {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new TypeError(`Notify field "${field}" must be an integer, got ${describe(value)}`);
    }
    if (value < min || value > max) {
      throw new RangeError(
        `Notify field "${field}" must be between ${min} and ${max}, got ${value}`,
      );
    }
    return String(value);
  };
}

const UINT64_MAX = (1n << 64n) - 1n;

/** A microsecond count: a safe non-negative integer or a bigint below 2^64. */
function microseconds(min: bigint): Encoder {
  return (field, value) => {
    let big: bigint;
    if (typeof value === "bigint") {
      big = value;
    } else if (typeof value === "number" && Number.isSafeInteger(value)) {
      big = BigInt(value);
    } else {
      throw new TypeError(
        `Notify field "${field}" must be a safe integer or a bigint of microseconds, got ${
          describe(value)
        }`,
      );
    }
    if (big < min || big >= UINT64_MAX) {
      throw new RangeError(
        `Notify field "${field}" must be between ${min} and ${UINT64_MAX - 1n}, got ${big}`,
      );
    }
    return String(big);
  };
}

const BUS_ERROR = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

function busError(field: string, value: unknown): string {
  const text = line(field, value);
  if (text.length > 255 || !BUS_ERROR.test(text)) {
    throw new TypeError(
      `Notify field "${field}" must be a D-Bus error name such as "org.example.Error.Failed", got ${
        JSON.stringify(text)
      }`,
    );
  }
  return text;
}

/** printable ASCII without `:`, 1–255 characters, as systemd's fdname_is_valid() wants. */
const FD_NAME = /^[\x20-\x39\x3b-\x7e]{1,255}$/;

/**
 * Checks a file descriptor name for the fd store (`FDNAME=`).
 *
 * @param name the name to check
 * @returns the name
 * @throws {TypeError} when it is empty, longer than 255 characters, or has a
 *   character other than printable ASCII, or a `:`
 *
 * @example Validate a name before storing
 * ```ts
 * import { checkFdName } from "@systemd-js/daemon";
 * checkFdName("db-connection"); // returns "db-connection"
 * checkFdName("has:colon"); // throws TypeError
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function checkFdName(name: unknown): string {
  if (typeof name !== "string" || !FD_NAME.test(name)) {
    throw new TypeError(
      `File descriptor name must be 1 to 255 printable ASCII characters without ":", got ${
        describe(name)
      }`,
    );
  }
  return name;
}

function watchdog(field: string, value: unknown): string | null {
  if (value === "trigger") return "trigger";
  return flag(field, value);
}

const NOTIFY_ACCESS: readonly string[] = ["none", "main", "exec", "all"];

function notifyAccess(field: string, value: unknown): string {
  if (typeof value !== "string" || !NOTIFY_ACCESS.includes(value)) {
    throw new TypeError(
      `Notify field "${field}" must be one of "none", "main", "exec", "all", got ${
        describe(value)
      }`,
    );
  }
  return value;
}

/**
 * Every known field: its property, the variable it becomes and how its value is
 * checked and written. Order is the order on the wire.
 */
const FIELDS: readonly (readonly [keyof NotifyFields, string, Encoder])[] = [
  ["mainPid", "MAINPID", integer(1, 2 ** 31 - 1)],
  ["notifyAccess", "NOTIFYACCESS", notifyAccess],
  ["stopping", "STOPPING", flag],
  ["reloading", "RELOADING", flag],
  ["ready", "READY", flag],
  ["status", "STATUS", line],
  ["errno", "ERRNO", integer(0, 2 ** 31 - 1)],
  ["busError", "BUSERROR", busError],
  ["exitStatus", "EXIT_STATUS", integer(0, 255)],
  ["extendTimeoutUsec", "EXTEND_TIMEOUT_USEC", microseconds(0n)],
  ["watchdog", "WATCHDOG", watchdog],
  ["watchdogUsec", "WATCHDOG_USEC", microseconds(1n)],
  ["fdStore", "FDSTORE", flag],
  ["fdStoreRemove", "FDSTOREREMOVE", flag],
  ["fdName", "FDNAME", (_field, value) => checkFdName(value)],
  ["fdPoll", "FDPOLL", (field, value) => flag(field, value) === null ? "0" : null],
];

/** A known field: the variable it becomes, its encoder and its place on the wire. */
interface Field {
  readonly variable: string;
  readonly encode: Encoder;
  /** Its index in {@linkcode FIELDS}: the order on the wire, and its bit in a {@linkcode FieldSet}. */
  readonly rank: number;
}

const FIELD_BY_PROPERTY: ReadonlyMap<string, Field> = new Map(
  FIELDS.map(([property, variable, encode], rank) => [property, { variable, encode, rank }]),
);
/** Custom fields go after every known one, in the order the object lists them. */
const CUSTOM_RANK = FIELDS.length;
const CUSTOM_KEY = /^X_[A-Z0-9_]+$/;

/** The known fields a message sets, one bit per rank. */
type FieldSet = number;

function rank(property: keyof NotifyFields): number {
  return (FIELD_BY_PROPERTY.get(property) as Field).rank;
}

/** The bit of `property` in a {@linkcode FieldSet}. */
function bit(property: keyof NotifyFields): FieldSet {
  return 1 << rank(property);
}

/** `RELOADING=1` is followed by `MONOTONIC_USEC=`. */
const RELOADING_RANK = rank("reloading");

const HAS_READY = bit("ready");
const HAS_RELOADING = bit("reloading");
const HAS_STOPPING = bit("stopping");
const HAS_FD_STORE = bit("fdStore");
const HAS_FD_STORE_REMOVE = bit("fdStoreRemove");
const HAS_FD_NAME = bit("fdName");

/**
 * What the encoder needs from outside: the clock, read only for `reloading`.
 *
 * @example A fixed clock for tests
 * ```ts
 * import { type EncodeContext, encodeNotifyFields } from "@systemd-js/daemon";
 * const context: EncodeContext = { monotonicUsec: () => 1_000_000n, fdCount: 0 };
 * console.log(encodeNotifyFields({ reloading: true }, context)); // "RELOADING=1\nMONOTONIC_USEC=1000000"
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export interface EncodeContext {
  /** CLOCK_MONOTONIC in microseconds. */
  monotonicUsec(): bigint;
  /** How many descriptors travel with the message. */
  readonly fdCount: number;
}

/**
 * Encodes typed fields into the newline-separated assignments systemd reads.
 * Only the object's own enumerable properties count; a property set to
 * `undefined` is left out, like a `false` flag.
 *
 * @param fields the fields to send
 * @param context the clock (for `RELOADING=1`) and the number of descriptors sent along
 * @returns the message text, such as `"READY=1\nSTATUS=Listening"`
 * @throws {TypeError} for an unknown field, a value of the wrong type, a newline
 *   or NUL inside a value, contradictory flags, or descriptors without `fdStore`
 * @throws {RangeError} for a number out of range ({@linkcode notify} also refuses a
 *   message over 4096 bytes once encoded as UTF-8)
 *
 * @example Encode readiness with a status line
 * ```ts
 * import { encodeNotifyFields } from "@systemd-js/daemon";
 * const text = encodeNotifyFields(
 *   { ready: true, status: "Listening on :8080" },
 *   { monotonicUsec: () => 0n, fdCount: 0 },
 * );
 * console.log(text); // "READY=1\nSTATUS=Listening on :8080"
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function encodeNotifyFields(fields: NotifyFields, context: EncodeContext): string {
  if (typeof fields !== "object" || fields === null) {
    throw new TypeError(`Notify fields must be an object, got ${describe(fields)}`);
  }
  // One pass over the keys the object has (not over every known field: a
  // lookup of an absent property by a varying name is the slow kind), each
  // line inserted at its place on the wire.
  const lines: string[] = [];
  const ranks: number[] = [];
  let set: FieldSet = 0;
  for (const key of Object.keys(fields)) {
    const field = FIELD_BY_PROPERTY.get(key);
    if (field === undefined && !CUSTOM_KEY.test(key)) {
      throw new TypeError(
        `Unknown notify field "${key}": custom fields are named like "X_NAME" (A-Z, 0-9, _)`,
      );
    }
    const value: unknown = fields[key as keyof NotifyFields];
    if (value === undefined) continue;
    let text: string;
    let place: number;
    if (field === undefined) {
      text = `${key}=${line(key, value)}`;
      place = CUSTOM_RANK;
    } else {
      const encoded = field.encode(key, value);
      if (encoded === null) continue;
      text = `${field.variable}=${encoded}`;
      place = field.rank;
      set |= 1 << place;
      if (place === RELOADING_RANK) text += `\nMONOTONIC_USEC=${context.monotonicUsec()}`;
    }
    let at = lines.length;
    while (at > 0 && ranks[at - 1] > place) at--;
    if (at === lines.length) {
      lines.push(text);
      ranks.push(place);
    } else {
      lines.splice(at, 0, text);
      ranks.splice(at, 0, place);
    }
  }
  checkCombination(set, context.fdCount);
  if (lines.length === 0) {
    throw new TypeError("Notify fields must set at least one field");
  }
  return lines.length === 1 ? lines[0] : lines.join("\n");
}

function checkCombination(set: FieldSet, fdCount: number): void {
  if ((set & HAS_STOPPING) !== 0 && (set & (HAS_READY | HAS_RELOADING)) !== 0) {
    throw new TypeError('Notify fields "stopping" and "ready"/"reloading" contradict each other');
  }
  if ((set & HAS_READY) !== 0 && (set & HAS_RELOADING) !== 0) {
    throw new TypeError(
      'Notify fields "ready" and "reloading" contradict each other: send "ready" when the reload is done',
    );
  }
  if ((set & HAS_FD_STORE_REMOVE) !== 0 && (set & HAS_FD_NAME) === 0) {
    throw new TypeError('Notify field "fdStoreRemove" needs "fdName" to say what to remove');
  }
  if ((set & HAS_FD_NAME) !== 0 && (set & (HAS_FD_STORE | HAS_FD_STORE_REMOVE)) === 0) {
    throw new TypeError('Notify field "fdName" needs "fdStore" or "fdStoreRemove"');
  }
  if ((set & HAS_FD_STORE) !== 0 && fdCount === 0) {
    throw new TypeError('Notify field "fdStore" needs at least one descriptor in "fds"');
  }
  if ((set & HAS_FD_STORE) === 0 && fdCount > 0) {
    throw new TypeError(
      'Descriptors can only be sent with "fdStore": the service manager closes any others',
    );
  }
  if ((set & HAS_FD_STORE) !== 0 && (set & HAS_FD_STORE_REMOVE) !== 0) {
    throw new TypeError('Notify fields "fdStore" and "fdStoreRemove" contradict each other');
  }
}

const RAW_KEY = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Checks a raw notification such as `"READY=1\nSTATUS=Working"`: every line an
 * assignment with an upper-case variable name, no NUL, valid Unicode, and no
 * `BARRIER=1` (use {@linkcode barrier}, which also passes the descriptor the
 * barrier needs). One trailing newline is dropped.
 *
 * @param state the raw message
 * @returns the message without a trailing newline
 * @throws {TypeError} when a line is not `NAME=value`, or for NUL, lone surrogates or BARRIER
 *
 * @example Check a raw message
 * ```ts
 * import { checkRawState } from "@systemd-js/daemon";
 * console.log(checkRawState("READY=1\nSTATUS=Up\n")); // "READY=1\nSTATUS=Up"
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html | sd_notify(3)}
 */
export function checkRawState(state: string): string {
  if (typeof state !== "string") {
    throw new TypeError(`Notify state must be a string or an object, got ${describe(state)}`);
  }
  const text = state.endsWith("\n") ? state.slice(0, -1) : state;
  if (text.includes("\0")) {
    throw new TypeError(`Notify state must not contain a NUL: ${JSON.stringify(state)}`);
  }
  if (!text.isWellFormed()) {
    throw new TypeError(`Notify state must be valid Unicode: ${JSON.stringify(state)}`);
  }
  if (text === "") throw new TypeError("Notify state must not be empty");
  for (const assignment of text.split("\n")) {
    const equals = assignment.indexOf("=");
    if (equals <= 0 || !RAW_KEY.test(assignment.slice(0, equals))) {
      throw new TypeError(
        `Notify state line must look like "NAME=value", got ${JSON.stringify(assignment)}`,
      );
    }
    if (assignment.startsWith("BARRIER=")) {
      throw new TypeError("BARRIER=1 must be sent alone with its descriptor: use barrier()");
    }
  }
  return text;
}
