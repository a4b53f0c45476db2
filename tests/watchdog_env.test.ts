import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseWatchdogEnv, SystemdError } from "../mod.ts";

const PID = 99;

describe("parseWatchdogEnv", () => {
  const cases: [string, Record<string, string>, bigint | null][] = [
    ["no variables: disabled", {}, null],
    ["WATCHDOG_USEC without WATCHDOG_PID: enabled", { WATCHDOG_USEC: "2000000" }, 2000000n],
    ["our pid: enabled", { WATCHDOG_USEC: "1", WATCHDOG_PID: "99" }, 1n],
    ["another pid: disabled", { WATCHDOG_USEC: "2000000", WATCHDOG_PID: "100" }, null],
    ["WATCHDOG_PID alone: disabled", { WATCHDOG_PID: "99" }, null],
    ["largest finite value", { WATCHDOG_USEC: "18446744073709551614" }, 18446744073709551614n],
  ];
  for (const [what, env, expected] of cases) {
    test(what, () => assert.equal(parseWatchdogEnv(env, PID), expected));
  }

  const refused: [string, Record<string, string>, string][] = [
    ["zero interval", { WATCHDOG_USEC: "0" }, "WATCHDOG_USEC"],
    ["infinity (2^64 - 1)", { WATCHDOG_USEC: "18446744073709551615" }, "WATCHDOG_USEC"],
    ["overflow", { WATCHDOG_USEC: "99999999999999999999999" }, "WATCHDOG_USEC"],
    ["junk", { WATCHDOG_USEC: "10s" }, "WATCHDOG_USEC"],
    ["negative", { WATCHDOG_USEC: "-5" }, "WATCHDOG_USEC"],
    ["empty", { WATCHDOG_USEC: "" }, "WATCHDOG_USEC"],
    ["bad pid", { WATCHDOG_USEC: "100", WATCHDOG_PID: "x" }, "WATCHDOG_PID"],
  ];
  for (const [what, env, variable] of refused) {
    test(`refuses ${what}`, () => {
      assert.throws(() => parseWatchdogEnv(env, PID), (error: unknown) => {
        assert.ok(error instanceof SystemdError);
        assert.equal(error.code, "EINVAL");
        assert.equal(error.syscall, variable);
        return true;
      });
    });
  }
});
