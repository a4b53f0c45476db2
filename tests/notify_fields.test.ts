import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkRawState, encodeNotifyFields, type NotifyFields } from "../mod.ts";

const context = { monotonicUsec: () => 123456789n, fdCount: 0 };

describe("encodeNotifyFields", () => {
  const encoded: [string, NotifyFields, string, number?][] = [
    ["ready", { ready: true }, "READY=1"],
    ["ready with status", { ready: true, status: "Up" }, "READY=1\nSTATUS=Up"],
    ["reloading carries CLOCK_MONOTONIC", { reloading: true }, "RELOADING=1\nMONOTONIC_USEC=123456789"],
    ["stopping", { stopping: true }, "STOPPING=1"],
    ["a false flag is left out", { ready: false, status: "x" }, "STATUS=x"],
    ["UTF-8 status", { status: "Démarré ✓ 🚀" }, "STATUS=Démarré ✓ 🚀"],
    ["errno", { errno: 2 }, "ERRNO=2"],
    ["bus error", { busError: "org.example.Error.Failed" }, "BUSERROR=org.example.Error.Failed"],
    ["exit status", { exitStatus: 3 }, "EXIT_STATUS=3"],
    ["main pid", { mainPid: 1234 }, "MAINPID=1234"],
    ["extend timeout", { extendTimeoutUsec: 5_000_000 }, "EXTEND_TIMEOUT_USEC=5000000"],
    ["extend timeout as bigint", { extendTimeoutUsec: 18446744073709551614n }, "EXTEND_TIMEOUT_USEC=18446744073709551614"],
    ["watchdog keep-alive", { watchdog: true }, "WATCHDOG=1"],
    ["watchdog trigger", { watchdog: "trigger" }, "WATCHDOG=trigger"],
    ["watchdog interval", { watchdogUsec: 3_000_000 }, "WATCHDOG_USEC=3000000"],
    ["notify access", { notifyAccess: "main" }, "NOTIFYACCESS=main"],
    ["fd store", { fdStore: true, fdName: "http" }, "FDSTORE=1\nFDNAME=http", 1],
    ["fd store without poll", { fdStore: true, fdName: "db", fdPoll: false }, "FDSTORE=1\nFDNAME=db\nFDPOLL=0", 2],
    ["fd store remove", { fdStoreRemove: true, fdName: "db" }, "FDSTOREREMOVE=1\nFDNAME=db"],
    ["custom field", { ready: true, X_BUILD: "abc123" }, "READY=1\nX_BUILD=abc123"],
    ["an empty status is allowed", { status: "" }, "STATUS="],
    ["fixed order on the wire", { status: "s", mainPid: 7, ready: true }, "MAINPID=7\nREADY=1\nSTATUS=s"],
  ];
  for (const [what, fields, text, fdCount] of encoded) {
    test(what, () => {
      assert.equal(encodeNotifyFields(fields, { ...context, fdCount: fdCount ?? 0 }), text);
    });
  }

  test("the clock is read only for reloading", () => {
    let reads = 0;
    const counting = { monotonicUsec: () => BigInt(++reads), fdCount: 0 };
    encodeNotifyFields({ ready: true, status: "x" }, counting);
    assert.equal(reads, 0);
    encodeNotifyFields({ reloading: true }, counting);
    assert.equal(reads, 1);
  });

  const refusedType: [string, unknown, RegExp, number?][] = [
    ["a newline in status (it would inject READY=1)", { status: "ok\nREADY=1" }, /newline/],
    ["a NUL in status", { status: "a\0b" }, /NUL/],
    ["a lone surrogate in status", { status: "bad \ud800" }, /Unicode/],
    ["a newline in a custom field", { X_A: "1\nSTOPPING=1" }, /newline/],
    ["a non-boolean flag", { ready: "true" }, /boolean/],
    ["READY=1 and STOPPING=1 together", { ready: true, stopping: true }, /contradict/],
    ["RELOADING=1 and READY=1 together", { ready: true, reloading: true }, /contradict/],
    ["an unknown field (a typo)", { redy: true }, /Unknown notify field "redy"/],
    ["a lower-case custom field", { X_lower: "v" }, /Unknown notify field/],
    ["nothing to send", {}, /at least one field/],
    ["FDSTOREREMOVE without FDNAME", { fdStoreRemove: true }, /needs "fdName"/],
    ["FDNAME alone", { fdName: "x" }, /needs "fdStore"/],
    ["FDSTORE without descriptors", { fdStore: true }, /at least one descriptor/],
    ["descriptors without FDSTORE", { ready: true }, /only be sent with "fdStore"/, 1],
    ["an FDNAME with a colon", { fdStore: true, fdName: "a:b" }, /without ":"/, 1],
    ["an FDNAME with a control character", { fdStore: true, fdName: "a\tb" }, /printable/, 1],
    ["an FDNAME over 255 characters", { fdStore: true, fdName: "n".repeat(256) }, /255/, 1],
    ["an empty FDNAME", { fdStore: true, fdName: "" }, /1 to 255/, 1],
    ["a bus error that is not a D-Bus name", { busError: "not valid" }, /D-Bus error name/],
    ["a fractional errno", { errno: 1.5 }, /integer/],
    ["a non-integer pid", { mainPid: "12" }, /integer/],
    ["an unknown NOTIFYACCESS", { notifyAccess: "everyone" }, /one of/],
    ["a fractional timeout", { extendTimeoutUsec: 1.5 }, /safe integer/],
    ["fields that are not an object", null, /object/],
  ];
  for (const [what, fields, message, fdCount] of refusedType) {
    test(`refuses ${what} with TypeError`, () => {
      assert.throws(
        () => encodeNotifyFields(fields as NotifyFields, { ...context, fdCount: fdCount ?? 0 }),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
      );
    });
  }

  const refusedRange: [string, NotifyFields][] = [
    ["a negative errno", { errno: -1 }],
    ["pid 0", { mainPid: 0 }],
    ["exit status 256", { exitStatus: 256 }],
    ["a zero watchdog interval", { watchdogUsec: 0 }],
    ["a negative timeout", { extendTimeoutUsec: -1 }],
    ["a timeout of 2^64 - 1 (infinity)", { extendTimeoutUsec: (1n << 64n) - 1n }],
  ];
  for (const [what, fields] of refusedRange) {
    test(`refuses ${what} with RangeError`, () => {
      assert.throws(() => encodeNotifyFields(fields, context), RangeError);
    });
  }
});

describe("checkRawState", () => {
  test("keeps several assignments and drops one trailing newline", () => {
    assert.equal(checkRawState("READY=1\nSTATUS=Up\n"), "READY=1\nSTATUS=Up");
  });

  const refused: [string, string][] = [
    ["empty", ""],
    ["a line without =", "READY"],
    ["an empty line in the middle", "READY=1\n\nSTATUS=x"],
    ["a lower-case name", "ready=1"],
    ["a NUL", "READY=1\0"],
    ["BARRIER=1, which needs its descriptor", "BARRIER=1"],
    ["a lone surrogate", "STATUS=\udc00"],
  ];
  for (const [what, state] of refused) {
    test(`refuses ${what}`, () => assert.throws(() => checkRawState(state), TypeError));
  }
});
