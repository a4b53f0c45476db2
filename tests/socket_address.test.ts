import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeSocketAddress } from "../mod.ts";

function inet6(port: number, groups: number[]): Uint8Array {
  const bytes = new Uint8Array(28);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 10, true);
  view.setUint16(2, port);
  groups.forEach((group, index) => view.setUint16(8 + index * 2, group));
  return bytes;
}

describe("decodeSocketAddress", () => {
  test("IPv4 host and port", () => {
    const bytes = new Uint8Array([2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(decodeSocketAddress(bytes), { family: "inet", host: "127.0.0.1", port: 8080 });
  });

  const ipv6: [number[], string][] = [
    [[0, 0, 0, 0, 0, 0, 0, 1], "::1"],
    [[0, 0, 0, 0, 0, 0, 0, 0], "::"],
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"],
    [[0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], "2001:db8:0:1::1"],
    [[0x2001, 0xdb8, 1, 2, 3, 4, 5, 6], "2001:db8:1:2:3:4:5:6"],
    [[0xfe80, 0, 0, 0, 0, 0, 0, 0], "fe80::"],
    [[0, 0, 0, 0, 0, 0xffff, 0x7f00, 1], "::ffff:127.0.0.1"],
  ];
  for (const [groups, text] of ipv6) {
    test(`IPv6 ${text} in RFC 5952 form`, () => {
      assert.deepEqual(decodeSocketAddress(inet6(443, groups)), {
        family: "inet6",
        host: text,
        port: 443,
      });
    });
  }

  test("unix path stops at its NUL", () => {
    const bytes = new Uint8Array([1, 0, ...new TextEncoder().encode("/run/app.sock"), 0, 0, 0]);
    assert.deepEqual(decodeSocketAddress(bytes), { family: "unix", path: "/run/app.sock" });
  });

  test("abstract unix name is written with @", () => {
    const bytes = new Uint8Array([1, 0, 0, ...new TextEncoder().encode("app")]);
    assert.deepEqual(decodeSocketAddress(bytes), { family: "unix", path: "@app" });
  });

  test("unnamed unix socket has an empty path", () => {
    assert.deepEqual(decodeSocketAddress(new Uint8Array([1, 0])), { family: "unix", path: "" });
  });

  test("vsock cid and port", () => {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, 40, true);
    view.setUint32(4, 5000, true);
    view.setUint32(8, 3, true);
    assert.deepEqual(decodeSocketAddress(bytes), { family: "vsock", cid: 3, port: 5000 });
  });

  test("other families keep their number", () => {
    assert.deepEqual(decodeSocketAddress(new Uint8Array([16, 0, 0, 0])), {
      family: "other",
      domain: 16,
    });
  });
});
