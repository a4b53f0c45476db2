import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseNotifySocket, SystemdError } from "../mod.ts";

function bytes(...parts: (number | string)[]): number[] {
  return parts.flatMap((part) =>
    typeof part === "number" ? [part] : Array.from(new TextEncoder().encode(part))
  );
}

describe("parseNotifySocket", () => {
  test("a path address ends with a NUL that the length counts", () => {
    const address = parseNotifySocket("/run/systemd/notify");
    assert.deepEqual(Array.from(address.sockaddr), bytes(1, 0, "/run/systemd/notify", 0));
  });

  test("an abstract address starts with NUL and has no trailing NUL", () => {
    const address = parseNotifySocket("@/org/freedesktop/systemd1/notify");
    assert.deepEqual(
      Array.from(address.sockaddr),
      bytes(1, 0, 0, "/org/freedesktop/systemd1/notify"),
    );
  });

  test("the longest path that fits sun_path (107 bytes + NUL) is accepted", () => {
    const path = "/" + "a".repeat(106);
    assert.equal(parseNotifySocket(path).sockaddr.length, 2 + 108);
    assert.equal(parseNotifySocket("@" + "b".repeat(107)).sockaddr.length, 2 + 108);
  });

  const refused: [string, string, string][] = [
    ["", "EINVAL", "too short"],
    ["/", "EINVAL", "too short"],
    ["@", "EINVAL", "too short"],
    ["run/notify", "EINVAL", "absolute"],
    ["./notify", "EINVAL", "absolute"],
    ["/" + "a".repeat(107), "EINVAL", "108-byte"],
    ["@" + "b".repeat(108), "EINVAL", "108-byte"],
    ["/run/\0x", "EINVAL", "NUL"],
    ["vsock:2:1234", "EAFNOSUPPORT", "not supported yet"],
    ["vsock-stream:2:1234", "EAFNOSUPPORT", "not supported yet"],
    ["vsock-dgram:2:1234", "EAFNOSUPPORT", "not supported yet"],
    ["vsock-seqpacket:2:1234", "EAFNOSUPPORT", "not supported yet"],
    ["vsockx:2:1234", "EINVAL", "absolute"],
  ];
  for (const [value, code, words] of refused) {
    test(`refuses ${JSON.stringify(value.slice(0, 20))} with ${code}`, () => {
      assert.throws(() => parseNotifySocket(value), (error: unknown) => {
        assert.ok(error instanceof SystemdError);
        assert.equal(error.code, code);
        assert.equal(error.syscall, "NOTIFY_SOCKET");
        assert.match(error.message, new RegExp(words));
        return true;
      });
    });
  }

  test("a multi-byte path is measured in bytes, not characters", () => {
    const path = "/" + "é".repeat(53); // 1 + 106 bytes: fits
    assert.equal(parseNotifySocket(path).sockaddr.length, 2 + 108);
    assert.throws(() => parseNotifySocket(path + "é"), SystemdError);
  });
});
