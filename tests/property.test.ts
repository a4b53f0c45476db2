// Property-based tests (fast-check) of every parser and encoder. Each property
// runs SDJS_PROPERTY_RUNS cases (default 200; `npm run stress` runs 10 000).
// Where a value is accepted, an independent oracle written here (not the code
// under test) says what the result must be; where it is refused, only the
// documented error types may be thrown.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import {
  checkRawState,
  decodeSocketAddress,
  encodeNotifyFields,
  MAX_MESSAGE_BYTES,
  notify,
  type NotifyFields,
  parseListenEnv,
  parseNotifySocket,
  parseWatchdogEnv,
  SystemdError,
} from "../mod.ts";
import { withEnv } from "./_env.ts";
import { type Receiver, startReceiver } from "./_receiver.ts";
import { envCount, figure } from "./fixtures/_load.ts";
import { RUNTIME } from "./_runtime.ts";

const RUNS: number = envCount("SDJS_PROPERTY_RUNS", 200);
const SEED: number | undefined = process.env.SDJS_PROPERTY_SEED === undefined
  ? undefined
  : Number(process.env.SDJS_PROPERTY_SEED);
const utf8 = new TextEncoder();

let casesRun = 0;

/** Runs a property with the configured number of runs and counts the cases. */
function check<T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void): void {
  fc.assert(
    fc.property(arbitrary, (value) => {
      casesRun++;
      predicate(value);
    }),
    { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
  );
}

/** Runs an async property with the configured number of runs and counts the cases. */
async function checkAsync<T>(
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void>,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      casesRun++;
      await predicate(value);
    }),
    { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
  );
}

/** Calls `body`; returns its result, or the error it threw. */
function attempt<T>(body: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: body() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Asserts `error` is a SystemdError with one of `codes` (and the errno that goes with it). */
function assertSystemdError(
  error: unknown,
  codes: Record<string, number>,
  syscalls: readonly string[],
): void {
  assert.ok(error instanceof SystemdError, `expected a SystemdError, got ${String(error)}`);
  assert.ok(error.code in codes, `unexpected code ${error.code}`);
  assert.equal(error.errno, codes[error.code]);
  assert.ok(syscalls.includes(error.syscall), `unexpected syscall ${error.syscall}`);
  assert.equal(typeof error.message, "string");
}

/** Only TypeError or RangeError, never a SystemdError or a plain Error. */
function assertArgumentError(error: unknown): void {
  assert.ok(
    (error instanceof TypeError || error instanceof RangeError) && !(error instanceof SystemdError),
    `expected a TypeError or RangeError, got ${String(error)}`,
  );
}

// ---------- arbitraries ----------

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit: fc.Arbitrary<string> = fc.integer({ min: 0, max: 0xffff }).map((unit) =>
  String.fromCharCode(unit)
);
/** Characters a hostile or corrupt environment might hold, weighted towards the interesting ones. */
const nastyChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "\n",
      "\0",
      "=",
      ":",
      "/",
      "@",
      " ",
      "\r",
      "\t",
      "é",
      "✓",
      "🚀",
      "\u2028",
    ),
  },
  { weight: 1, arbitrary: codeUnit },
);
const nastyString = (maxLength: number): fc.Arbitrary<string> =>
  fc.array(nastyChar, { maxLength }).map((chars) => chars.join(""));
/** Strings that look like numbers and strings near the edges of every range. */
const numberish: fc.Arbitrary<string> = fc.oneof(
  fc.bigInt({ min: 0n, max: 1n << 70n }).map(String),
  fc.integer({ min: -5, max: 70000 }).map(String),
  fc.constantFrom(
    "",
    "0",
    "00",
    "01",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1e3",
    "0x10",
    "1.0",
    "2147483647",
    "2147483648",
    "65536",
    "65537",
    "18446744073709551614",
    "18446744073709551615",
    "18446744073709551616",
    "١٢",
  ),
  nastyString(12),
);
const maybe = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arbitrary, { nil: undefined, freq: 4 });

// ---------- oracles, written independently of src/ ----------

/** A decimal as systemd writes it: digits, no sign, no leading zero. */
function decimal(text: string): bigint | null {
  if (text.length === 0) return null;
  for (const char of text) if (char < "0" || char > "9") return null;
  if (text.length > 1 && text[0] === "0") return null;
  return BigInt(text);
}

function validPid(text: string): boolean {
  const value = decimal(text);
  return value !== null && value >= 1n && value <= 2147483647n;
}

// ---------- parseNotifySocket ----------

const notifySocketValue: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom("/", "@", "", "vsock:", "vsock-stream:", "./", "run/"), nastyString(130))
    .map(([head, tail]) => head + tail),
  // Lengths around the 107-byte limit, with multi-byte characters straddling it.
  fc.tuple(
    fc.constantFrom("/", "@"),
    fc.integer({ min: 95, max: 115 }),
    fc.constantFrom("a", "é", "✓", "🚀"),
    fc.integer({ min: 0, max: 4 }),
  ).map(([head, ascii, wide, count]) => head + "a".repeat(ascii - count) + wide.repeat(count)),
  fc.string({ unit: "binary", maxLength: 140 }),
);

describe(`property (${RUNS} runs each): parseNotifySocket`, () => {
  test("accepts exactly the absolute paths and @names that fit sun_path, and refuses the rest with EINVAL or EAFNOSUPPORT", () => {
    check(notifySocketValue, (value) => {
      const outcome = attempt(() => parseNotifySocket(value));
      const abstract = value.startsWith("@");
      const name = abstract ? value.slice(1) : value;
      const expectAccepted = !/^vsock(-stream|-seqpacket|-dgram)?:/.test(value) && value.length >= 2 &&
        (value[0] === "/" || value[0] === "@") && !value.includes("\0") &&
        utf8.encode(name).length <= 107;
      if (!outcome.ok) {
        assertSystemdError(outcome.error, { EINVAL: 22, EAFNOSUPPORT: 97 }, ["NOTIFY_SOCKET"]);
        assert.equal(expectAccepted, false, `refused ${JSON.stringify(value)}`);
        assert.equal(
          (outcome.error as SystemdError).code,
          /^vsock(-stream|-seqpacket|-dgram)?:/.test(value) ? "EAFNOSUPPORT" : "EINVAL",
        );
        return;
      }
      assert.equal(expectAccepted, true, `accepted ${JSON.stringify(value)}`);
      const { sockaddr, text } = outcome.value;
      assert.equal(text, value);
      assert.deepEqual([sockaddr[0], sockaddr[1]], [1, 0], "sun_family is AF_UNIX, little-endian");
      const nameBytes = utf8.encode(name);
      assert.ok(sockaddr.length <= 110, "never longer than struct sockaddr_un");
      if (abstract) {
        // header + NUL + name, no trailing NUL
        assert.equal(sockaddr.length, 2 + 1 + nameBytes.length);
        assert.equal(sockaddr[2], 0);
        assert.deepEqual(sockaddr.subarray(3), nameBytes);
      } else {
        // header + path + NUL, the NUL counted
        assert.equal(sockaddr.length, 2 + nameBytes.length + 1);
        assert.deepEqual(sockaddr.subarray(2, 2 + nameBytes.length), nameBytes);
        assert.equal(sockaddr[sockaddr.length - 1], 0);
        assert.equal(sockaddr.indexOf(0, 2), sockaddr.length - 1, "no NUL inside the path");
      }
    });
  });

  test("the sockaddr bytes decode back to the address they came from", () => {
    check(notifySocketValue, (value) => {
      const outcome = attempt(() => parseNotifySocket(value));
      if (!outcome.ok) return;
      // Lone surrogates cannot survive UTF-8; everything else must come back unchanged.
      assert.deepEqual(decodeSocketAddress(outcome.value.sockaddr), {
        family: "unix",
        path: value.toWellFormed(),
      });
    });
  });
});

// ---------- parseListenEnv ----------

const listenEnv: fc.Arbitrary<{ env: Record<string, string | undefined>; pid: number }> = fc
  .record({
    pid: fc.integer({ min: 1, max: 2147483647 }),
    samePid: fc.boolean(),
    LISTEN_PID: maybe(numberish),
    LISTEN_FDS: maybe(numberish),
    LISTEN_FDNAMES: maybe(
      fc.oneof(
        nastyString(40),
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 8 }).map((names) => names.join(":")),
      ),
    ),
  })
  .map(({ pid, samePid, LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES }) => ({
    pid,
    env: {
      LISTEN_PID: samePid && LISTEN_PID !== undefined ? String(pid) : LISTEN_PID,
      LISTEN_FDS,
      LISTEN_FDNAMES,
    },
  }));

describe(`property (${RUNS} runs each): parseListenEnv`, () => {
  test("returns our descriptors from fd 3 or nothing, or refuses with EINVAL naming the variable", () => {
    check(listenEnv, ({ env, pid }) => {
      const outcome = attempt(() => parseListenEnv(env, pid));
      const { LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES } = env;
      // The oracle: what sd_listen_fds_with_names() would do.
      let expected: { fd: number; name: string }[] | "EINVAL";
      if (LISTEN_PID === undefined) expected = [];
      else if (!validPid(LISTEN_PID)) expected = "EINVAL";
      else if (decimal(LISTEN_PID) !== BigInt(pid)) expected = [];
      else if (LISTEN_FDS === undefined) expected = [];
      else {
        const count = decimal(LISTEN_FDS);
        if (count === null || count < 1n || count > 65536n) expected = "EINVAL";
        else {
          const names = LISTEN_FDNAMES === undefined
            ? Array(Number(count)).fill("unknown")
            : LISTEN_FDNAMES.split(":");
          expected = names.length === Number(count)
            ? names.map((name: string, index: number) => ({ fd: 3 + index, name }))
            : "EINVAL";
        }
      }
      if (outcome.ok) {
        assert.deepEqual(outcome.value, expected);
      } else {
        assertSystemdError(outcome.error, { EINVAL: 22 }, [
          "LISTEN_PID",
          "LISTEN_FDS",
          "LISTEN_FDNAMES",
        ]);
        assert.equal(
          expected,
          "EINVAL",
          `refused ${JSON.stringify(env)}: ${String(outcome.error)}`,
        );
      }
    });
  });

  test("names written as systemd writes them round-trip, and another process's LISTEN_PID adopts nothing", () => {
    const names = fc.array(
      fc.string({ unit: "grapheme-ascii", maxLength: 20 }).map((name) => name.replaceAll(":", "")),
      { minLength: 1, maxLength: 300 },
    );
    check(
      fc.tuple(fc.integer({ min: 1, max: 2147483646 }), names, fc.boolean()),
      ([pid, list, withNames]) => {
        const env = {
          LISTEN_PID: String(pid),
          LISTEN_FDS: String(list.length),
          LISTEN_FDNAMES: withNames ? list.join(":") : undefined,
        };
        const found = parseListenEnv(env, pid);
        assert.deepEqual(found.map(({ fd }) => fd), list.map((_, index) => 3 + index));
        assert.deepEqual(
          found.map(({ name }) => name),
          withNames ? list : list.map(() => "unknown"),
        );
        assert.deepEqual(parseListenEnv(env, pid + 1), []);
      },
    );
  });
});

// ---------- parseWatchdogEnv ----------

describe(`property (${RUNS} runs each): parseWatchdogEnv`, () => {
  test("returns the interval when it is ours, null when not, or refuses with EINVAL naming the variable", () => {
    const watchdogEnv = fc.record({
      pid: fc.integer({ min: 1, max: 2147483647 }),
      samePid: fc.boolean(),
      WATCHDOG_USEC: maybe(numberish),
      WATCHDOG_PID: maybe(numberish),
    });
    check(watchdogEnv, ({ pid, samePid, WATCHDOG_USEC, WATCHDOG_PID }) => {
      const env = {
        WATCHDOG_USEC,
        WATCHDOG_PID: samePid && WATCHDOG_PID !== undefined ? String(pid) : WATCHDOG_PID,
      };
      const outcome = attempt(() => parseWatchdogEnv(env, pid));
      let expected: bigint | null | "EINVAL";
      if (env.WATCHDOG_USEC === undefined) expected = null;
      else {
        const usec = decimal(env.WATCHDOG_USEC);
        if (usec === null || usec === 0n || usec >= (1n << 64n) - 1n) expected = "EINVAL";
        else if (env.WATCHDOG_PID === undefined) expected = usec;
        else if (!validPid(env.WATCHDOG_PID)) expected = "EINVAL";
        else expected = decimal(env.WATCHDOG_PID) === BigInt(pid) ? usec : null;
      }
      if (outcome.ok) {
        assert.equal(outcome.value, expected);
      } else {
        assertSystemdError(outcome.error, { EINVAL: 22 }, ["WATCHDOG_USEC", "WATCHDOG_PID"]);
        assert.equal(expected, "EINVAL", `refused ${JSON.stringify(env)}`);
      }
    });
  });

  test("every interval from 1 to 2^64 - 2 round-trips, and another process's WATCHDOG_PID disables it", () => {
    check(
      fc.tuple(
        fc.bigInt({ min: 1n, max: (1n << 64n) - 2n }),
        fc.integer({ min: 1, max: 2147483646 }),
      ),
      ([usec, pid]) => {
        assert.equal(parseWatchdogEnv({ WATCHDOG_USEC: String(usec) }, pid), usec);
        assert.equal(
          parseWatchdogEnv({ WATCHDOG_USEC: String(usec), WATCHDOG_PID: String(pid) }, pid),
          usec,
        );
        assert.equal(
          parseWatchdogEnv({ WATCHDOG_USEC: String(usec), WATCHDOG_PID: String(pid + 1) }, pid),
          null,
        );
      },
    );
  });
});

// ---------- encodeNotifyFields ----------

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    1.5,
    -1,
    NaN,
    Infinity,
    "",
    "1",
    "true",
    0n,
    -1n,
    2n ** 64n,
    [],
    {},
    true,
    false,
  ),
  fc.anything({ maxDepth: 1 }),
);
/** A value that is usually valid for the field, sometimes not. */
const mostly = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: junk });
const text = (maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: "grapheme", maxLength }) },
    { weight: 1, arbitrary: nastyString(maxLength) },
  );
const usec: fc.Arbitrary<number | bigint> = fc.oneof(
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);
const fdName: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 20 }),
  fc.string({ unit: "grapheme-ascii", minLength: 250, maxLength: 260 }),
  nastyString(10),
);

const junkFields: fc.Arbitrary<{ fields: Record<string, unknown>; fdCount: number }> = fc
  .record({
    fields: fc.record({
      ready: mostly(fc.boolean()),
      reloading: mostly(fc.boolean()),
      stopping: mostly(fc.boolean()),
      status: mostly(text(80)),
      errno: mostly(fc.integer({ min: -2, max: 2 ** 31 })),
      busError: mostly(
        fc.oneof(fc.constantFrom("org.example.Failed", "a.b", "x", "1.a", "a..b"), text(20)),
      ),
      exitStatus: mostly(fc.integer({ min: -1, max: 256 })),
      mainPid: mostly(fc.integer({ min: -1, max: 2 ** 31 })),
      extendTimeoutUsec: mostly(usec),
      watchdog: mostly(fc.oneof(fc.boolean(), fc.constant("trigger"))),
      watchdogUsec: mostly(usec),
      fdStore: mostly(fc.boolean()),
      fdStoreRemove: mostly(fc.boolean()),
      fdName: mostly(fdName),
      fdPoll: mostly(fc.boolean()),
      notifyAccess: mostly(fc.constantFrom("none", "main", "exec", "all", "other")),
      X_BUILD: mostly(text(40)),
      X_2: mostly(text(10)),
      X_lower: mostly(text(5)),
      redy: fc.boolean(),
    }, { requiredKeys: [] }),
    fdCount: fc.integer({ min: 0, max: 3 }),
  });

/** Fields that are valid by construction, except where a text value holds a newline, NUL or lone surrogate. */
const validFields: fc.Arbitrary<{ fields: Record<string, unknown>; fdCount: number; valid: true }> =
  fc
    .record({
      lifecycle: fc.constantFrom("none", "ready", "reloading", "stopping"),
      store: fc.constantFrom("none", "none", "store", "remove"),
      storedFds: fc.integer({ min: 1, max: 3 }),
      status: maybe(text(80)),
      errno: maybe(fc.integer({ min: 0, max: 2 ** 31 - 1 })),
      busError: maybe(fc.constantFrom("org.example.Failed", "a.b", "x_1.Y2._z")),
      exitStatus: maybe(fc.integer({ min: 0, max: 255 })),
      mainPid: maybe(fc.integer({ min: 1, max: 2 ** 31 - 1 })),
      extendTimeoutUsec: maybe(
        fc.oneof(
          fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          fc.bigInt({ min: 0n, max: (1n << 64n) - 2n }),
        ),
      ),
      watchdog: maybe(fc.oneof(fc.boolean(), fc.constant("trigger"))),
      watchdogUsec: maybe(
        fc.oneof(
          fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          fc.bigInt({ min: 1n, max: (1n << 64n) - 2n }),
        ),
      ),
      fdName: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 255 })
        .map((name) => name.replaceAll(":", "_")),
      fdPoll: maybe(fc.boolean()),
      notifyAccess: maybe(fc.constantFrom("none", "main", "exec", "all")),
      X_BUILD: maybe(text(40)),
      X_2: maybe(text(10)),
    })
    .map(({ lifecycle, store, storedFds, fdName, ...rest }) => {
      const fields: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(rest)) if (value !== undefined) fields[key] = value;
      if (lifecycle !== "none") fields[lifecycle] = true;
      if (store === "store") Object.assign(fields, { fdStore: true, fdName });
      if (store === "remove") Object.assign(fields, { fdStoreRemove: true, fdName });
      return { fields, fdCount: store === "store" ? storedFds : 0, valid: true as const };
    });

const fieldsArbitrary: fc.Arbitrary<
  { fields: Record<string, unknown>; fdCount: number; valid: boolean }
> = fc.oneof(
  { weight: 3, arbitrary: validFields },
  { weight: 1, arbitrary: junkFields.map((junk) => ({ ...junk, valid: false })) },
);

const WIRE: readonly [string, string][] = [
  ["mainPid", "MAINPID"],
  ["notifyAccess", "NOTIFYACCESS"],
  ["stopping", "STOPPING"],
  ["reloading", "RELOADING"],
  ["ready", "READY"],
  ["status", "STATUS"],
  ["errno", "ERRNO"],
  ["busError", "BUSERROR"],
  ["exitStatus", "EXIT_STATUS"],
  ["extendTimeoutUsec", "EXTEND_TIMEOUT_USEC"],
  ["watchdog", "WATCHDOG"],
  ["watchdogUsec", "WATCHDOG_USEC"],
  ["fdStore", "FDSTORE"],
  ["fdStoreRemove", "FDSTOREREMOVE"],
  ["fdName", "FDNAME"],
  ["fdPoll", "FDPOLL"],
];

/** What the receiving side reads: split into lines, each split at its first "=". */
function decode(message: string): [string, string][] {
  return message.split("\n").map((line) => {
    const equals = line.indexOf("=");
    assert.ok(equals > 0, `line without "=": ${JSON.stringify(line)}`);
    return [line.slice(0, equals), line.slice(equals + 1)];
  });
}

/** The assignments `fields` must produce, in wire order, assuming they are valid. */
function expectedAssignments(
  fields: Record<string, unknown>,
  monotonic: bigint,
): [string, string][] {
  const out: [string, string][] = [];
  for (const [property, variable] of WIRE) {
    const value = fields[property];
    if (value === undefined) continue;
    if (property === "fdPoll") {
      if (value === false) out.push([variable, "0"]);
      continue;
    }
    if (value === false) continue;
    out.push([variable, value === true ? "1" : String(value)]);
    if (property === "reloading") out.push(["MONOTONIC_USEC", String(monotonic)]);
  }
  for (const [key, value] of Object.entries(fields)) {
    if (key.startsWith("X_") && value !== undefined) out.push([key, String(value)]);
  }
  return out;
}

function unsafeText(value: unknown): boolean {
  return typeof value === "string" && (/[\n\0]/.test(value) || !value.isWellFormed());
}

describe(`property (${RUNS} runs each): encodeNotifyFields`, () => {
  test("throws only TypeError or RangeError, and what it encodes decodes back to exactly the fields asked for", () => {
    const monotonic = 987654321n;
    check(fieldsArbitrary, ({ fields, fdCount, valid }) => {
      const outcome = attempt(() =>
        encodeNotifyFields(fields as NotifyFields, { monotonicUsec: () => monotonic, fdCount })
      );
      const unsafe = Object.values(fields).some(unsafeText);
      if (unsafe || "redy" in fields || "X_lower" in fields) {
        assert.equal(outcome.ok, false, `accepted ${fc.stringify(fields)}`);
      } else if (valid && expectedAssignments(fields, monotonic).length > 0) {
        assert.equal(
          outcome.ok,
          true,
          `refused ${fc.stringify(fields)}: ${outcome.ok ? "" : String(outcome.error)}`,
        );
      }
      if (!outcome.ok) {
        assertArgumentError(outcome.error);
        return;
      }
      const message = outcome.value;
      assert.equal(message.includes("\0"), false, "no NUL");
      assert.ok(message.isWellFormed(), "valid Unicode");
      const assignments = decode(message);
      assert.deepEqual(assignments, expectedAssignments(fields, monotonic));
      const keys = assignments.map(([key]) => key);
      assert.equal(new Set(keys).size, keys.length, "every variable once");
      // Contradictions the manager would resolve silently never get through.
      assert.ok(
        !(keys.includes("STOPPING") && (keys.includes("READY") || keys.includes("RELOADING"))),
      );
      assert.ok(!(keys.includes("READY") && keys.includes("RELOADING")));
      assert.equal(keys.includes("FDSTORE"), fdCount > 0);
    });
  });
});

// ---------- checkRawState ----------

const RAW_KEYS = [
  "READY",
  "STATUS",
  "X_A",
  "A1",
  "_X",
  "a",
  "1A",
  "",
  "BARRIER",
  "READY ",
  "Ä",
  "X-Y",
];
const rawLine: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.tuple(fc.constantFrom(...RAW_KEYS), nastyString(12)).map(([key, value]) =>
      `${key}=${value}`
    ),
  },
  { weight: 1, arbitrary: nastyString(12) },
);
const rawState: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.array(rawLine, { minLength: 1, maxLength: 6 }), fc.constantFrom("", "\n", "\n\n"))
    .map(([lines, end]) => lines.join("\n") + end),
  nastyString(30),
);

function rawOracle(state: string): string | null {
  const body = state.endsWith("\n") ? state.slice(0, -1) : state;
  if (body === "" || body.includes("\0") || !body.isWellFormed()) return null;
  for (const line of body.split("\n")) {
    const equals = line.indexOf("=");
    if (equals <= 0) return null;
    const key = line.slice(0, equals);
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key) || key === "BARRIER") return null;
  }
  return body;
}

describe(`property (${RUNS} runs each): checkRawState`, () => {
  test("accepts exactly NAME=value lines without NUL or BARRIER, throws only TypeError, and returns what was asked", () => {
    check(rawState, (state) => {
      const outcome = attempt(() => checkRawState(state));
      const expected = rawOracle(state);
      if (!outcome.ok) {
        assert.ok(
          outcome.error instanceof TypeError,
          `expected a TypeError, got ${String(outcome.error)}`,
        );
        assert.equal(expected, null, `refused ${JSON.stringify(state)}`);
        return;
      }
      assert.equal(outcome.value, expected, `accepted ${JSON.stringify(state)}`);
      assert.deepEqual(
        decode(outcome.value).map(([key, value]) => `${key}=${value}`).join("\n"),
        outcome.value,
      );
    });
  });
});

// ---------- decodeSocketAddress ----------

/** Parses IPv6 text (with "::" and an optional dotted tail) back to 16 bytes. */
function parseIpv6(text: string): number[] {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const groups = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        const [a, b, c, d] = piece.split(".").map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        assert.match(
          piece,
          /^(0|[1-9a-f][0-9a-f]{0,3})$/,
          `group ${piece} in ${text} is not canonical`,
        );
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = 8 - left.length - right.length;
  assert.ok(
    tail === undefined ? zeros === 0 : zeros >= 2,
    `"::" must stand for 2 or more zero groups: ${text}`,
  );
  const all = [...left, ...Array(zeros).fill(0), ...right];
  return all.flatMap((group) => [group >> 8, group & 0xff]);
}

/** Checks RFC 5952: "::" replaces the longest run (≥ 2, first on a tie) of zero groups. */
function assertRfc5952(text: string, bytes: number[]): void {
  const groups = Array.from(
    { length: 8 },
    (_, index) => (bytes[index * 2] << 8) | bytes[index * 2 + 1],
  );
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    assert.match(text, /^::ffff:\d+\.\d+\.\d+\.\d+$/);
    return;
  }
  let best = { start: -1, length: 1 };
  for (let start = 0; start < 8; start++) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > best.length) best = { start, length: end - start };
  }
  if (best.start < 0) {
    assert.equal(text.includes("::"), false, text);
  } else {
    const head = groups.slice(0, best.start).map((group) => group.toString(16)).join(":");
    const tail = groups.slice(best.start + best.length).map((group) => group.toString(16)).join(
      ":",
    );
    assert.equal(text, `${head}::${tail}`);
  }
}

/** The same bytes at a random offset in a bigger buffer, as a subarray. */
const placed = (bytes: fc.Arbitrary<number[]>): fc.Arbitrary<Uint8Array> =>
  fc.tuple(bytes, fc.integer({ min: 0, max: 7 })).map(([values, offset]) => {
    const buffer = new Uint8Array(values.length + offset + 3).fill(0xaa);
    buffer.set(values, offset);
    return buffer.subarray(offset, offset + values.length);
  });

describe(`property (${RUNS} runs each): decodeSocketAddress`, () => {
  test("never throws on any bytes and names only known families", () => {
    check(placed(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 130 })), (bytes) => {
      const decoded = decodeSocketAddress(bytes);
      assert.ok(
        ["inet", "inet6", "unix", "vsock", "other"].includes(decoded.family),
        decoded.family,
      );
    });
  });

  test("IPv4 and IPv6 addresses and ports decode back to their bytes, IPv6 in RFC 5952 form", () => {
    const inet = fc.tuple(
      fc.integer({ min: 0, max: 65535 }),
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
    );
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    const inet6 = fc.tuple(
      fc.integer({ min: 0, max: 65535 }),
      fc.oneof(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }).map((
          v4,
        ) => [0, 0, 0, 0, 0, 0xffff, (v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]]),
      ),
    );
    check(
      fc.tuple(inet, inet6, fc.integer({ min: 0, max: 7 })),
      ([[port4, ip4], [port6, groups6], offset]) => {
        const four = new Uint8Array(16 + offset).subarray(offset);
        four.set([2, 0, port4 >> 8, port4 & 0xff, ...ip4]);
        assert.deepEqual(decodeSocketAddress(four), {
          family: "inet",
          host: ip4.join("."),
          port: port4,
        });

        const ip6 = groups6.flatMap((value) => [value >> 8, value & 0xff]);
        const six = new Uint8Array(28 + offset).subarray(offset);
        six.set([10, 0, port6 >> 8, port6 & 0xff, 0, 0, 0, 0, ...ip6]);
        const decoded = decodeSocketAddress(six) as { family: string; host: string; port: number };
        assert.equal(decoded.family, "inet6");
        assert.equal(decoded.port, port6);
        assert.deepEqual(parseIpv6(decoded.host), ip6);
        assertRfc5952(decoded.host, ip6);
      },
    );
  });

  test("vsock and unix addresses decode back", () => {
    const vsock = fc.tuple(
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    );
    const name = fc.string({ unit: "binary", minLength: 1, maxLength: 60 }).filter((value) =>
      !value.includes("\0")
    );
    check(fc.tuple(vsock, name), ([[cid, port], path]) => {
      const bytes = new Uint8Array(16);
      const view = new DataView(bytes.buffer);
      view.setUint16(0, 40, true);
      view.setUint32(4, port, true);
      view.setUint32(8, cid, true);
      assert.deepEqual(decodeSocketAddress(bytes), { family: "vsock", cid, port });
      const pathBytes = utf8.encode(path);
      const unnamed = new Uint8Array([1, 0]);
      assert.deepEqual(decodeSocketAddress(unnamed), { family: "unix", path: "" });
      const abstract = new Uint8Array([1, 0, 0, ...pathBytes]);
      assert.deepEqual(decodeSocketAddress(abstract), { family: "unix", path: `@${path}` });
      // getsockname may report the full sun_path with trailing NULs.
      const filesystem = new Uint8Array(110);
      filesystem.set([1, 0, ...pathBytes.subarray(0, 107)]);
      if (pathBytes.length <= 107) {
        assert.deepEqual(decodeSocketAddress(filesystem), { family: "unix", path });
      }
    });
  });
});

// ---------- the same properties through notify() against an independent receiver ----------

describe(`property (${RUNS} runs each): notify() against a real receiver`, () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());

  test("a status is delivered byte for byte when it fits 4096 bytes, refused with TypeError/RangeError otherwise, and nothing else arrives", async () => {
    const status = fc.oneof(
      text(200),
      fc.tuple(fc.integer({ min: 4080, max: 4100 }), fc.constantFrom("", "é", "✓", "🚀"))
        .map(([size, wide]) => "x".repeat(Math.max(0, size - 7 - utf8.encode(wide).length)) + wide),
      fc.string({ unit: "binary", minLength: 1300, maxLength: 1400 }),
    );
    let delivered = 0;
    let tooLong = 0;
    await withEnv({ NOTIFY_SOCKET: receiver.address }, () =>
      checkAsync(status, async (value) => {
        const bytes = utf8.encode(`STATUS=${value}`);
        let outcome: unknown;
        try {
          outcome = await notify({ status: value });
        } catch (error) {
          outcome = error;
        }
        if (unsafeText(value)) {
          assert.ok(
            outcome instanceof TypeError,
            `expected TypeError for ${JSON.stringify(value.slice(0, 40))}`,
          );
        } else if (bytes.length > MAX_MESSAGE_BYTES) {
          assert.ok(outcome instanceof RangeError, `expected RangeError for ${bytes.length} bytes`);
          tooLong++;
        } else {
          assert.equal(outcome, true, String(outcome));
          const message = await receiver.next();
          assert.deepEqual(message.bytes, bytes);
          assert.ok(message.bytes.length <= MAX_MESSAGE_BYTES);
          assert.deepEqual(decode(message.text), [["STATUS", value]]);
          delivered++;
        }
      }));
    assert.equal(await receiver.silentFor(100), true, "a refused message arrived");
    console.log(`notify() property: ${delivered} delivered, ${tooLong} over 4096 bytes refused`);
  });

  test("a raw message is delivered exactly as checkRawState returned it, or not at all", async () => {
    await withEnv({ NOTIFY_SOCKET: receiver.address }, () =>
      checkAsync(rawState, async (state) => {
        const expected = rawOracle(state);
        let outcome: unknown;
        try {
          outcome = await notify(state);
        } catch (error) {
          outcome = error;
        }
        if (expected === null) {
          assert.ok(
            outcome instanceof TypeError,
            `expected TypeError for ${JSON.stringify(state)}`,
          );
        } else {
          assert.equal(outcome, true);
          const message = await receiver.next();
          assert.equal(message.text, expected);
          assert.equal(message.text.includes("\0"), false);
        }
      }));
    assert.equal(await receiver.silentFor(100), true, "a refused message arrived");
  });
});

const PROPERTIES = 13;

describe("property totals", () => {
  test(`every property ran its ${RUNS} cases`, () => {
    figure("property", {
      runtime: RUNTIME,
      properties: PROPERTIES,
      runsPerProperty: RUNS,
      cases: casesRun,
    });
    assert.equal(casesRun, PROPERTIES * RUNS);
  });
});
