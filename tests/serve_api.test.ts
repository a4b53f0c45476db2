/**
 * serve() in-process: argument checks, the runtime guard, and the epoll_event layout per
 * architecture. The socket-activated behaviour is in serve.test.ts.
 */
import assert from "node:assert/strict";
import { closeSync, openSync } from "node:fs";
import { test } from "node:test";
import { epollEventLayout } from "../ffi/_adopt.ts";
import { serve, serveBun, serveDeno, serveNode, SystemdError } from "../mod.ts";
import { RUNTIME } from "./_runtime.ts";

test("struct epoll_event: 12 bytes packed on x86-64, 16 on aarch64, unknown elsewhere", () => {
  assert.deepEqual(epollEventLayout("x86_64"), { size: 12, dataOffset: 4 });
  assert.deepEqual(epollEventLayout("x64"), { size: 12, dataOffset: 4 });
  assert.deepEqual(epollEventLayout("aarch64"), { size: 16, dataOffset: 8 });
  assert.deepEqual(epollEventLayout("arm64"), { size: 16, dataOffset: 8 });
  assert.equal(epollEventLayout("riscv64"), null);
});

test("a descriptor that is not a socket is refused with a TypeError", async () => {
  const fd = openSync("/dev/null", "r");
  try {
    await assert.rejects(
      serve(fd, { fetch: () => new Response("no") }),
      (error: unknown) => error instanceof TypeError && /is not a socket/.test(error.message),
    );
  } finally {
    closeSync(fd);
  }
});

test("a negative descriptor is a RangeError, an unknown name a SystemdError ENOENT", async () => {
  await assert.rejects(serve(-1, { fetch: () => new Response("no") }), RangeError);
  await assert.rejects(
    serve("no-such-name", { fetch: () => new Response("no") }),
    (error: unknown) => error instanceof SystemdError && error.code === "ENOENT",
  );
});

test("each runtime-specific call refuses the other runtimes with ENOSYS", async () => {
  const isEnosys = (error: unknown): boolean =>
    error instanceof SystemdError && error.code === "ENOSYS";
  if (RUNTIME !== "deno") {
    await assert.rejects(serveDeno(3, { handler: () => new Response() }), isEnosys);
  }
  if (RUNTIME !== "bun") {
    await assert.rejects(serveBun(3, { fetch: () => new Response() }), isEnosys);
  }
  if (RUNTIME === "bun") await assert.rejects(serveNode(3, () => {}), isEnosys);
});
