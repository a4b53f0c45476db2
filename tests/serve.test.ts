/**
 * serve() on an inherited socket, in a child process of the runtime running the tests: under
 * `systemd-socket-activate` (IPv4, IPv6, unix; every adoption step forced to fail; refused
 * descriptor kinds) and under a real `.socket` unit (the socket survives the server's close).
 *
 * Each child is `tests/fixtures/serve/serve_child.ts`. On Deno and Bun it must run natively
 * (adopted) unless a step is forced to fail with `SYSTEMD_JS_TEST_ADOPT_FAIL` (test-only), in
 * which case it must fall back, say why, and still serve; on Node `node:http` is native.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ADOPT_STEPS } from "../ffi/_adopt.ts";
import type { SocketAddress } from "../mod.ts";
import { freePort } from "../scripts/systemd/free_port.ts";
import { ROOT, RUNTIME, runtimeCommand } from "./_runtime.ts";
import { execStart, serviceLines, systemctlOk, writeTcpActivatedService } from "./_systemd.ts";
import { SKIP as NO_USER_MANAGER, useUserManager } from "./_user_manager.ts";

const ACTIVATE = "/usr/bin/systemd-socket-activate";
const NO_ACTIVATE: string | false = existsSync(ACTIVATE) ? false : `${ACTIVATE} is missing`;

/** Where to connect: TCP or a unix path. */
type Target = { host: string; port: number } | { socketPath: string };

interface Ready {
  runtime: string;
  mode: string;
  reason: string | null;
  fd: number;
  address: SocketAddress | null;
  adoption: { listenerFd: number; temporaryAddress: SocketAddress } | null;
}

interface Closed {
  fdsBefore: Record<string, string>;
  fdsAfter: Record<string, string>;
}

/** A socket-activated child and the lines it printed. */
class Child {
  readonly process: ChildProcess;
  output = "";
  errors = "";
  readonly exited: Promise<number | null>;

  constructor(listen: string[], env: string[], args: string[] = []) {
    const [command, commandArgs] = runtimeCommand("serve/serve_child.ts", args);
    const setenv = env.flatMap((pair) => ["-E", pair]);
    this.process = spawn(ACTIVATE, [...listen, ...setenv, command, ...commandArgs], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.process.stdout?.on("data", (chunk) => (this.output += String(chunk)));
    this.process.stderr?.on("data", (chunk) => (this.errors += String(chunk)));
    this.exited = new Promise((resolve) => this.process.once("close", (code) => resolve(code)));
  }

  /** Resolves with the JSON of the first line starting with `tag `. */
  async line<T>(tag: string, timeoutMs = 20000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.output.split("\n").find((text) => text.startsWith(`${tag} `));
      if (found !== undefined) return JSON.parse(found.slice(tag.length + 1)) as T;
      if (Date.now() > deadline) {
        throw new Error(`no "${tag}" line; stdout: ${this.output}\nstderr: ${this.errors}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  kill(): void {
    if (this.process.exitCode === null) this.process.kill("SIGKILL");
  }
}

/** One GET (or POST with `body`) with `Connection: close`. */
function get(
  target: Target,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        ...target,
        path,
        method: body === undefined ? "GET" : "POST",
        agent: false,
        headers: { Connection: "close" },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on("error", reject);
      },
    );
    request.setTimeout(20000, () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on("error", reject);
    request.end(body);
  });
}

/** Two requests one after the other on ONE connection (HTTP/1.1 keep-alive), raw. */
function keepAlive(target: Target): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = "socketPath" in target
      ? connect(target.socketPath)
      : connect(target.port, target.host);
    const answers: string[] = [];
    let buffer = "";
    const ask = (): void => void socket.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    socket.setEncoding("utf8");
    socket.on("connect", ask);
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(buffer.slice(0, end))?.[1] ?? -1);
      if (length < 0 || buffer.length < end + 4 + length) return;
      answers.push(buffer.slice(end + 4, end + 4 + length));
      buffer = buffer.slice(end + 4 + length);
      if (answers.length === 2) {
        socket.destroy();
        resolve(answers);
      } else ask();
    });
    socket.on("error", reject);
    socket.on("close", () => {
      if (answers.length < 2) {
        reject(new Error(`connection closed after ${answers.length} answers`));
      }
    });
  });
}

/** Resolves with the error code of connecting to `address` (it must fail). */
function connectError(address: SocketAddress): Promise<string> {
  return new Promise((resolve) => {
    const socket = address.family === "unix" ? connect(address.path) : connect(
      address.family === "inet" || address.family === "inet6" ? address.port : 0,
      address.family === "inet" || address.family === "inet6" ? address.host : "",
    );
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

/** Socket inodes of an fd table. */
function sockets(fds: Record<string, string>): Set<string> {
  return new Set(Object.values(fds).filter((link) => link.startsWith("socket:")));
}

/** The child must not hold the inherited socket nor any new socket after close(). */
function assertNoLeak(closed: Closed, fd: number): void {
  const inherited = closed.fdsBefore[String(fd)];
  assert.match(inherited, /^socket:/);
  const after = sockets(closed.fdsAfter);
  assert.ok(
    !after.has(inherited),
    `the inherited socket is still open after close(): ${JSON.stringify(closed.fdsAfter)}`,
  );
  const before = sockets(closed.fdsBefore);
  const extra = [...after].filter((link) => !before.has(link));
  assert.deepEqual(extra, [], "sockets left open after close()");
}

/** The expected mode: adopted on Deno and Bun, node:http on Node. */
function assertNative(ready: Ready): void {
  assert.equal(ready.runtime, RUNTIME);
  assert.equal(ready.mode, "native", `fell back: ${ready.reason}`);
  assert.equal(ready.reason, null);
  if (RUNTIME === "node") assert.equal(ready.adoption, null);
  else assert.ok(ready.adoption !== null && ready.adoption.listenerFd !== ready.fd);
}

describe("serve() under systemd-socket-activate", { skip: NO_ACTIVATE }, () => {
  let directory: string;
  before(() => {
    directory = mkdtempSync(join(tmpdir(), "serve-test-"));
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  for (const family of ["inet", "inet6", "unix"] as const) {
    test(`${family}: queued, concurrent, keep-alive and POST requests; temp listener gone; no fd leak`, async () => {
      const port = family === "unix" ? 0 : await freePort(family === "inet6" ? "::1" : "127.0.0.1");
      const path = join(directory, `${family}.sock`);
      const listen = family === "unix"
        ? path
        : family === "inet6"
        ? `[::1]:${port}`
        : `127.0.0.1:${port}`;
      const target: Target = family === "unix"
        ? { socketPath: path }
        : { host: family === "inet6" ? "::1" : "127.0.0.1", port };
      const child = new Child(["-l", listen], []);
      try {
        await waitListening(target);
        // These connect before the child even starts: they wait in the socket's queue.
        const queued = await Promise.all(
          Array.from({ length: 8 }, () => get(target, "/delay?ms=20")),
        );
        const ready = await child.line<Ready>("ready");
        assertNative(ready);
        assert.equal(ready.address?.family, family);
        for (const answer of queued) assert.match(answer.body, /^hello from \d+\n$/);

        const concurrent = await Promise.all(Array.from({ length: 50 }, () => get(target, "/")));
        assert.ok(concurrent.every((answer) => answer.status === 200));
        const [first, second] = await keepAlive(target);
        assert.match(first, /^hello from \d+\n$/);
        assert.equal(second, first);
        assert.equal((await get(target, "/echo", "x".repeat(100000))).body.length, 100000);

        if (ready.adoption !== null) {
          const temporary = ready.adoption.temporaryAddress;
          const code = await connectError(temporary);
          assert.ok(["ECONNREFUSED", "ENOENT"].includes(code), `throw-away listener: ${code}`);
          if (temporary.family === "unix") {
            const privateDirectory = temporary.path.slice(0, temporary.path.lastIndexOf("/"));
            assert.equal(existsSync(privateDirectory), false, "the private directory was left");
          }
        }
        await get(target, "/close");
        const closed = await child.line<Closed>("closed");
        assertNoLeak(closed, ready.fd);
        assert.equal(await child.exited, 0);
      } finally {
        child.kill();
      }
    });
  }

  for (const step of ADOPT_STEPS) {
    test(`a forced failure of "${step}" falls back, says why, and still serves`, async () => {
      const port = await freePort();
      const target: Target = { host: "127.0.0.1", port };
      const child = new Child(["-l", `127.0.0.1:${port}`], [`SYSTEMD_JS_TEST_ADOPT_FAIL=${step}`]);
      try {
        await waitListening(target);
        const queued = await Promise.all(Array.from({ length: 4 }, () => get(target, "/")));
        const ready = await child.line<Ready>("ready");
        if (RUNTIME === "node") {
          assertNative(ready); // nothing to adopt on Node
        } else {
          assert.equal(ready.mode, "fallback");
          assert.equal(ready.adoption, null);
          assert.match(ready.reason ?? "", new RegExp(`"${step}"`));
        }
        for (const answer of queued) assert.match(answer.body, /^hello from \d+\n$/);
        const concurrent = await Promise.all(Array.from({ length: 20 }, () => get(target, "/")));
        assert.ok(concurrent.every((answer) => answer.status === 200));
        assert.equal((await keepAlive(target)).length, 2);
        await get(target, "/close");
        assertNoLeak(await child.line<Closed>("closed"), ready.fd);
        assert.equal(await child.exited, 0);
      } finally {
        child.kill();
      }
    });
  }

  test("unix: a failure after the dup falls back, serves, and leaves no private directory", async () => {
    const path = join(directory, "fallback.sock");
    // systemd-socket-activate passes no XDG_RUNTIME_DIR: the private directory goes to /tmp.
    const privateDirectories = (): string[] =>
      readdirSync("/tmp").filter((name) => name.startsWith("systemd-js-adopt-"));
    const before = new Set(privateDirectories());
    const child = new Child(["-l", path], ["SYSTEMD_JS_TEST_ADOPT_FAIL=verify"]);
    try {
      const target: Target = { socketPath: path };
      await waitListening(target);
      const queued = await Promise.all(Array.from({ length: 4 }, () => get(target, "/")));
      const ready = await child.line<Ready>("ready");
      if (RUNTIME !== "node") {
        assert.equal(ready.mode, "fallback");
        assert.match(ready.reason ?? "", /"verify"/);
      }
      for (const answer of queued) assert.match(answer.body, /^hello from \d+\n$/);
      assert.equal((await keepAlive(target)).length, 2);
      await get(target, "/close");
      assertNoLeak(await child.line<Closed>("closed"), ready.fd);
      assert.equal(await child.exited, 0);
      const left = privateDirectories().filter((name) => !before.has(name));
      assert.deepEqual(left, [], "a private directory was left behind");
    } finally {
      child.kill();
    }
  });

  test("a datagram socket and an Accept=yes connection are refused with a TypeError saying why", async () => {
    const datagramPath = join(directory, "dgram.sock");
    const dgram = new Child(["--datagram", "-l", datagramPath], [], ["--report-error"]);
    try {
      while (!existsSync(datagramPath)) await new Promise((r) => setTimeout(r, 20));
      spawnSync("python3", [
        "-c",
        `import socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"x", ${
          JSON.stringify(datagramPath)
        })`,
      ]);
      const error = await dgram.line<{ name: string; message: string }>("error");
      assert.equal(error.name, "TypeError");
      assert.match(error.message, /dgram socket, not a stream listener/);
    } finally {
      dgram.kill();
    }
    const port = await freePort();
    const accept = new Child(["--accept", "-l", `127.0.0.1:${port}`], [], ["--report-error"]);
    try {
      await waitListening({ host: "127.0.0.1", port });
      const held = connect(port, "127.0.0.1");
      held.on("error", () => {});
      const error = await accept.line<{ name: string; message: string }>("error");
      assert.equal(error.name, "TypeError");
      assert.match(error.message, /connected stream socket \(Accept=yes\)/);
      held.destroy();
    } finally {
      accept.kill();
    }
  });
});

/**
 * Waits until `systemd-socket-activate` listens on `target`. A plain connect
 * would start the service, and a unix socket's file appears at bind(), a
 * moment before listen() (a connect then is refused), so wait until ss shows
 * a listening socket.
 */
async function waitListening(target: Target): Promise<void> {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    const listening = "socketPath" in target
      ? String(spawnSync("ss", ["-Hlx"]).stdout).split("\n").some((line) => {
        const fields = line.split(/\s+/); // type, state, queues, path, …; -l also lists UNCONN
        return fields[1] === "LISTEN" && fields.includes(target.socketPath);
      })
      : String(spawnSync("ss", ["-Hltn", `sport = :${target.port}`]).stdout).trim() !== "";
    if (listening) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing listens on ${JSON.stringify(target)}`);
}

describe("serve() under a real .socket unit", { skip: NO_USER_MANAGER }, () => {
  const systemd = useUserManager();

  test("native on the unit's socket; after close() the socket still queues and restarts the service", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const base = manager.uniqueName("serve-unit");
      const log = join(manager.tmpDir, `${base}.log`);
      const port = await writeTcpActivatedService(manager, base, [
        "[Unit]",
        "StartLimitIntervalSec=0",
        "[Service]",
        `ExecStart=${execStart("tests/fixtures/serve/serve_child.ts")}`,
        ...serviceLines(log),
      ]);
      await systemctlOk(manager, "start", `${base}.socket`);
      const target = { host: "127.0.0.1", port };
      const first = await get(target, "/");
      const ready = JSON.parse(
        readFileSync(log, "utf8").split("\n").find((line) => line.startsWith("ready "))!.slice(6),
      ) as Ready;
      assertNative(ready);
      assert.equal(first.body, `hello from ${/\d+/.exec(first.body)![0]}\n`);
      await get(target, "/close");
      // The service drains and exits 0; systemd's copy of the socket stays, so the next
      // connection is queued and starts a new instance.
      const deadline = Date.now() + 20000;
      while (!readFileSync(log, "utf8").includes("closed ") && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (;;) {
        const state = await manager.show(`${base}.service`, ["ActiveState"]);
        if (state.ActiveState !== "active" && state.ActiveState !== "deactivating") break;
        if (Date.now() > deadline) {
          throw new Error(`the service did not stop: ${state.ActiveState}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const second = await get(target, "/");
      assert.match(second.body, /^hello from \d+\n$/);
      assert.notEqual(second.body, first.body);
      const socket = await manager.show(`${base}.socket`, ["ActiveState"]);
      assert.equal(socket.ActiveState, "active");
      await get(target, "/close");
      await systemctlOk(manager, "stop", `${base}.socket`);
    });
  });
});
