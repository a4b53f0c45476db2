import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  errno,
  extendTimeout,
  fdStore,
  fdStoreRemove,
  mainPid,
  notify,
  ready,
  reloading,
  status,
  stopping,
  SystemdError,
} from "../mod.ts";
import { withEnv } from "./_env.ts";
import { type Receiver, startReceiver } from "./_receiver.ts";

/** CLOCK_MONOTONIC in µs, read independently of our FFI: /proc/uptime is too coarse, so use python. */
async function pythonMonotonicUsec(): Promise<bigint> {
  const { execFileSync } = await import("node:child_process");
  const out = execFileSync("python3", ["-c", "import time;print(time.clock_gettime_ns(time.CLOCK_MONOTONIC)//1000)"]);
  return BigInt(String(out).trim());
}

for (const abstract of [false, true]) {
  describe(`notify to a ${abstract ? "abstract @name" : "path"} address`, () => {
    let receiver: Receiver;
    before(async () => {
      receiver = await startReceiver({ abstract });
    });
    after(() => receiver.close());

    test("ready() sends exactly READY=1 with our pid in SCM_CREDENTIALS", async () => {
      const sent = await withEnv({ NOTIFY_SOCKET: receiver.address }, () => ready());
      assert.equal(sent, true);
      const message = await receiver.next();
      assert.deepEqual(Array.from(message.bytes), Array.from(new TextEncoder().encode("READY=1")));
      assert.equal(message.pid, process.pid);
      assert.equal(message.uid, process.getuid?.());
      assert.deepEqual(message.fds, []);
    });

    test("NOTIFY_SOCKET stays set by default and is removed with unsetEnvironment", async () => {
      await withEnv({ NOTIFY_SOCKET: receiver.address }, async () => {
        await status("first");
        assert.equal(process.env.NOTIFY_SOCKET, receiver.address);
        assert.equal(await notify({ status: "second" }, { unsetEnvironment: true }), true);
        assert.equal(process.env.NOTIFY_SOCKET, undefined);
        assert.equal(await status("third"), false);
      });
      assert.equal((await receiver.next()).text, "STATUS=first");
      assert.equal((await receiver.next()).text, "STATUS=second");
      assert.equal(await receiver.silentFor(200), true);
    });

    test("every helper sends its exact assignment", async () => {
      await withEnv({ NOTIFY_SOCKET: receiver.address }, async () => {
        await stopping("bye");
        await mainPid(4321);
        await extendTimeout(1500);
        await errno(2);
        await notify({ status: "Démarré ✓", X_BUILD: "abc" });
        await notify("STATUS=raw\nX_A=1\n");
      });
      assert.equal((await receiver.next()).text, "STOPPING=1\nSTATUS=bye");
      assert.equal((await receiver.next()).text, "MAINPID=4321");
      assert.equal((await receiver.next()).text, "EXTEND_TIMEOUT_USEC=1500000");
      assert.equal((await receiver.next()).text, "ERRNO=2");
      assert.equal((await receiver.next()).text, "STATUS=Démarré ✓\nX_BUILD=abc");
      assert.equal((await receiver.next()).text, "STATUS=raw\nX_A=1");
    });

    test("reloading() carries MONOTONIC_USEC from CLOCK_MONOTONIC", async () => {
      const before = await pythonMonotonicUsec();
      await withEnv({ NOTIFY_SOCKET: receiver.address }, () => reloading());
      const afterwards = await pythonMonotonicUsec();
      const message = await receiver.next();
      const match = /^RELOADING=1\nMONOTONIC_USEC=(\d+)$/.exec(message.text);
      assert.ok(match, message.text);
      const usec = BigInt(match[1]);
      assert.ok(before <= usec && usec <= afterwards, `${before} <= ${usec} <= ${afterwards}`);
    });
  });
}

describe("the kept socket follows the manager's address", () => {
  for (const abstract of [false, true]) {
    test(`a ${abstract ? "@name" : "path"} whose socket was closed and bound again gets the next message`, async () => {
      const directory = mkdtempSync(join(tmpdir(), "sdjs-rebind-"));
      const address = abstract
        ? `@sdjs-test/rebind/${directory.slice(-6)}/${process.pid}`
        : join(directory, "notify.sock");
      try {
        const first = await startReceiver({ address });
        await withEnv({ NOTIFY_SOCKET: address }, () => status("to the first"));
        assert.equal((await first.next()).text, "STATUS=to the first");
        await first.close(); // like a manager that closes its socket and binds a new one
        if (!abstract) rmSync(address);
        const second = await startReceiver({ address });
        try {
          const sent = await withEnv({ NOTIFY_SOCKET: address }, () => status("to the second"));
          assert.equal(sent, true);
          assert.equal((await second.next()).text, "STATUS=to the second");
        } finally {
          await second.close();
        }
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });
  }

  test("when NOTIFY_SOCKET changes between calls, each message goes where it named at its call", async () => {
    const one = await startReceiver();
    const two = await startReceiver({ abstract: true });
    try {
      for (const [receiver, text] of [[one, "a"], [two, "b"], [one, "c"]] as const) {
        await withEnv({ NOTIFY_SOCKET: receiver.address }, () => status(text));
      }
      assert.equal((await one.next()).text, "STATUS=a");
      assert.equal((await two.next()).text, "STATUS=b");
      assert.equal((await one.next()).text, "STATUS=c");
      assert.equal(await two.silentFor(100), true);
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe("fd store", () => {
  let receiver: Receiver;
  let directory: string;
  before(async () => {
    receiver = await startReceiver();
    directory = mkdtempSync(join(tmpdir(), "sdjs-fds-"));
  });
  after(async () => {
    await receiver.close();
    rmSync(directory, { recursive: true, force: true });
  });

  test("fdStore() passes the descriptors with SCM_RIGHTS and names them", async () => {
    writeFileSync(join(directory, "a"), "a");
    writeFileSync(join(directory, "b"), "b");
    const a = openSync(join(directory, "a"), "r");
    const b = openSync(join(directory, "b"), "r");
    try {
      await withEnv({ NOTIFY_SOCKET: receiver.address }, () => fdStore([a, b], "db", { poll: false }));
    } finally {
      closeSync(a);
      closeSync(b);
    }
    const message = await receiver.next();
    assert.equal(message.text, "FDSTORE=1\nFDNAME=db\nFDPOLL=0");
    assert.deepEqual(message.fds.map((fd) => fd.target), [join(directory, "a"), join(directory, "b")]);
    assert.equal(message.truncated, false);
  });

  test("fdStoreRemove() names what to remove and sends no descriptor", async () => {
    await withEnv({ NOTIFY_SOCKET: receiver.address }, () => fdStoreRemove("db"));
    const message = await receiver.next();
    assert.equal(message.text, "FDSTOREREMOVE=1\nFDNAME=db");
    assert.deepEqual(message.fds, []);
  });

  test("253 descriptors fit in one message, 254 are refused before sending", async () => {
    const fd = openSync("/dev/null", "r");
    try {
      await withEnv({ NOTIFY_SOCKET: receiver.address }, async () => {
        await notify({ fdStore: true, fdName: "many" }, { fds: Array(253).fill(fd) });
        await assert.rejects(
          notify({ fdStore: true, fdName: "many" }, { fds: Array(254).fill(fd) }),
          RangeError,
        );
      });
    } finally {
      closeSync(fd);
    }
    const message = await receiver.next();
    assert.equal(message.fds.length, 253);
    assert.equal(await receiver.silentFor(200), true);
  });
});

describe("not under systemd", () => {
  test("every call resolves false, sends nothing, and still checks its input", async () => {
    await withEnv({ NOTIFY_SOCKET: undefined }, async () => {
      assert.equal(await ready(), false);
      assert.equal(await notify({ reloading: true }), false);
      assert.equal(await notify("STATUS=x"), false);
      await assert.rejects(status("a\nREADY=1"), TypeError);
      await assert.rejects(notify("nonsense"), TypeError);
    });
  });
});

describe("bad input is refused and nothing is sent", () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());

  const refused: [string, () => Promise<boolean>, typeof TypeError | typeof RangeError][] = [
    ["a status that would inject READY=1", () => status("ok\nREADY=1"), TypeError],
    ["a status with a NUL", () => status("a\0b"), TypeError],
    ["contradicting flags", () => notify({ ready: true, stopping: true }), TypeError],
    ["an unknown field", () => notify({ redy: true } as never), TypeError],
    ["a message over 4096 bytes", () => status("x".repeat(4090)), RangeError],
    ["a raw BARRIER=1", () => notify("BARRIER=1"), TypeError],
    ["a negative timeout", () => extendTimeout(-1), RangeError],
    ["descriptors that are not integers", () => notify({ fdStore: true, fdName: "x" }, { fds: [1.5] }), TypeError],
    ["an invalid fd name", () => fdStore([0], "a:b"), TypeError],
    ["a negative send timeout", () => notify({ ready: true }, { timeoutMs: -1 }), RangeError],
  ];
  for (const [what, call, type] of refused) {
    test(what, async () => {
      await withEnv({ NOTIFY_SOCKET: receiver.address }, () => assert.rejects(call(), type));
      assert.equal(await receiver.silentFor(50), true);
    });
  }

  test("the largest message that fits (4096 bytes) is sent whole", async () => {
    const text = "x".repeat(4096 - "STATUS=".length);
    await withEnv({ NOTIFY_SOCKET: receiver.address }, () => status(text));
    assert.equal((await receiver.next()).bytes.length, 4096);
  });
});

describe("send failures are typed", () => {
  test("a socket path that does not exist gives ENOENT", async () => {
    await withEnv({ NOTIFY_SOCKET: "/nonexistent/sdjs/notify" }, () =>
      assert.rejects(ready(), (error: unknown) => {
        assert.ok(error instanceof SystemdError);
        assert.equal(error.code, "ENOENT");
        assert.equal(error.syscall, "connect");
        assert.match(error.message, /\/nonexistent\/sdjs\/notify/);
        return true;
      }));
  });

  test("an abstract name nobody listens on gives ECONNREFUSED", async () => {
    const gone = await startReceiver({ abstract: true });
    await gone.close();
    await withEnv({ NOTIFY_SOCKET: gone.address }, () =>
      assert.rejects(ready(), (error: unknown) =>
        error instanceof SystemdError && error.code === "ECONNREFUSED"));
  });

  test("a malformed NOTIFY_SOCKET gives EINVAL", async () => {
    await withEnv({ NOTIFY_SOCKET: "relative/path" }, () =>
      assert.rejects(ready(), (error: unknown) => error instanceof SystemdError && error.code === "EINVAL"));
  });

  test("a vsock NOTIFY_SOCKET says it is not supported yet", async () => {
    await withEnv({ NOTIFY_SOCKET: "vsock:2:9999" }, () =>
      assert.rejects(ready(), (error: unknown) =>
        error instanceof SystemdError && error.code === "EAFNOSUPPORT" && /not supported yet/.test(error.message)));
  });
});
