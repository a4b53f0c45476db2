import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseListenEnv, SystemdError } from "../mod.ts";

const PID = 4242;

describe("parseListenEnv", () => {
  const found: [string, Record<string, string>, { fd: number; name: string }[]][] = [
    ["one fd without names is unknown", { LISTEN_PID: "4242", LISTEN_FDS: "1" }, [
      { fd: 3, name: "unknown" },
    ]],
    [
      "names split on colons",
      { LISTEN_PID: "4242", LISTEN_FDS: "3", LISTEN_FDNAMES: "http:metrics:stored" },
      [{ fd: 3, name: "http" }, { fd: 4, name: "metrics" }, { fd: 5, name: "stored" }],
    ],
    [
      "empty names are kept",
      { LISTEN_PID: "4242", LISTEN_FDS: "3", LISTEN_FDNAMES: "a::" },
      [{ fd: 3, name: "a" }, { fd: 4, name: "" }, { fd: 5, name: "" }],
    ],
    [
      "Accept=yes connections",
      { LISTEN_PID: "4242", LISTEN_FDS: "1", LISTEN_FDNAMES: "connection" },
      [{ fd: 3, name: "connection" }],
    ],
  ];
  for (const [what, env, expected] of found) {
    test(what, () => assert.deepEqual(parseListenEnv(env, PID), expected));
  }

  const none: [string, Record<string, string>][] = [
    ["no variables", {}],
    ["LISTEN_PID missing", { LISTEN_FDS: "2" }],
    ["LISTEN_PID of another process", { LISTEN_PID: "4243", LISTEN_FDS: "2" }],
    ["LISTEN_FDS missing", { LISTEN_PID: "4242" }],
  ];
  for (const [what, env] of none) {
    test(`no fds: ${what}`, () => assert.deepEqual(parseListenEnv(env, PID), []));
  }

  const refused: [string, Record<string, string>, string][] = [
    ["LISTEN_PID not a number", { LISTEN_PID: "abc", LISTEN_FDS: "1" }, "LISTEN_PID"],
    ["LISTEN_PID negative", { LISTEN_PID: "-4242", LISTEN_FDS: "1" }, "LISTEN_PID"],
    ["LISTEN_PID zero", { LISTEN_PID: "0", LISTEN_FDS: "1" }, "LISTEN_PID"],
    ["LISTEN_PID with spaces", { LISTEN_PID: " 4242", LISTEN_FDS: "1" }, "LISTEN_PID"],
    ["LISTEN_PID huge", { LISTEN_PID: "99999999999", LISTEN_FDS: "1" }, "LISTEN_PID"],
    ["LISTEN_FDS zero", { LISTEN_PID: "4242", LISTEN_FDS: "0" }, "LISTEN_FDS"],
    ["LISTEN_FDS negative", { LISTEN_PID: "4242", LISTEN_FDS: "-1" }, "LISTEN_FDS"],
    ["LISTEN_FDS junk", { LISTEN_PID: "4242", LISTEN_FDS: "2x" }, "LISTEN_FDS"],
    ["LISTEN_FDS empty", { LISTEN_PID: "4242", LISTEN_FDS: "" }, "LISTEN_FDS"],
    ["LISTEN_FDS absurd", { LISTEN_PID: "4242", LISTEN_FDS: "2147483647" }, "LISTEN_FDS"],
    [
      "fewer names than fds",
      { LISTEN_PID: "4242", LISTEN_FDS: "2", LISTEN_FDNAMES: "one" },
      "LISTEN_FDNAMES",
    ],
    [
      "more names than fds",
      { LISTEN_PID: "4242", LISTEN_FDS: "1", LISTEN_FDNAMES: "a:b" },
      "LISTEN_FDNAMES",
    ],
  ];
  for (const [what, env, variable] of refused) {
    test(`refuses ${what}`, () => {
      assert.throws(() => parseListenEnv(env, PID), (error: unknown) => {
        assert.ok(error instanceof SystemdError);
        assert.equal(error.code, "EINVAL");
        assert.equal(error.syscall, variable);
        return true;
      });
    });
  }
});
