import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { listenFds, type ListenFd } from "../mod.ts";
import { withEnv } from "./_env.ts";
import { ROOT, runFixture, runtimeCommand } from "./_runtime.ts";

interface Report {
  pid: number;
  cloexecBefore: (boolean | null)[];
  cloexecAfter: (boolean | null)[];
  targets: string[];
  fds?: ListenFd[];
  error?: { name: string; code?: string; message: string };
  env: Record<string, string | null>;
  childTargets: string[];
}

const haveActivator = existsSync("/usr/bin/systemd-socket-activate") ||
  existsSync("/bin/systemd-socket-activate");
const skip = haveActivator ? false : "systemd-socket-activate is not installed";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitForFile(path: string, timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (existsSync(path)) {
      const text = readFileSync(path, "utf8");
      if (text.endsWith("}")) return text;
    }
    await sleep(25);
  }
  throw new Error(`no report in ${path} after ${timeoutMs} ms`);
}

/** A TCP port that was free a moment ago on `host`. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sends one datagram to a unix path with python (node:dgram has no unix datagrams). */
async function sendDatagram(path: string): Promise<void> {
  const { execFileSync } = await import("node:child_process");
  execFileSync("python3", ["-c", `import socket;socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM).sendto(b"x",${JSON.stringify(path)})`]);
}

describe("listenFds under systemd-socket-activate", { skip }, () => {
  let directory: string;
  let activator: ChildProcess | undefined;
  let report: Report;
  let ports: number[] = [];

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "sdjs-listen-"));
    const output = join(directory, "report.json");
    const dgram = join(directory, "dgram.sock");
    const stream = join(directory, "stream.sock");
    const [command, args] = runtimeCommand("listen_child.ts", [output]);
    ports = [await freePort("127.0.0.1"), await freePort("::1")];
    const [port4, port6] = ports;
    // The outer activator owns the datagram socket and execs the inner one,
    // which adds TCP (IPv4 and IPv6) and a unix stream socket, names all five,
    // and execs the runtime: LISTEN_PID is the runtime's pid.
    activator = spawn("systemd-socket-activate", [
      "--datagram", "-l", dgram, "--",
      "systemd-socket-activate",
      "-l", `127.0.0.1:${port4}`, "-l", `[::1]:${port6}`, "-l", stream, "-l", "@sdjs-test-abstract-" + process.pid,
      "--fdname=events:web:web6:local:hidden",
      "--", command, ...args,
    ], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    activator.stderr?.on("data", (chunk) => (log += String(chunk)));
    const deadline = performance.now() + 5000;
    while (!existsSync(dgram) && performance.now() < deadline) await sleep(20);
    await sendDatagram(dgram); // wakes the outer activator; the inner sees it still queued
    try {
      report = JSON.parse(await waitForFile(output, 15000)) as Report;
    } catch (error) {
      throw new Error(`${(error as Error).message}\nactivator log:\n${log}`);
    }
  });

  after(() => {
    if (activator?.exitCode === null) activator.kill("SIGTERM");
    rmSync(directory, { recursive: true, force: true });
  });

  test("finds all five descriptors with their names, starting at fd 3", () => {
    assert.equal(report.error, undefined, JSON.stringify(report.error));
    assert.deepEqual(
      report.fds?.map(({ fd, name }) => [fd, name]),
      [[3, "events"], [4, "web"], [5, "web6"], [6, "local"], [7, "hidden"]],
    );
  });

  test("describes family, type, listening state and local address", () => {
    const [events, web, web6, local, hidden] = report.fds as ListenFd[];
    assert.deepEqual(
      { family: events.family, type: events.type, listening: events.listening, address: events.address },
      { family: "unix", type: "dgram", listening: false, address: { family: "unix", path: join(directory, "dgram.sock") } },
    );
    assert.equal(web.family, "inet");
    assert.equal(web.type, "stream");
    assert.equal(web.listening, true);
    assert.equal(web.address?.family, "inet");
    assert.equal((web.address as { host: string }).host, "127.0.0.1");
    assert.equal((web.address as { port: number }).port, ports[0]);
    assert.equal(web6.family, "inet6");
    assert.equal((web6.address as { host: string }).host, "::1");
    assert.equal((web6.address as { port: number }).port, ports[1]);
    assert.deepEqual(
      { family: local.family, type: local.type, listening: local.listening, address: local.address },
      { family: "unix", type: "stream", listening: true, address: { family: "unix", path: join(directory, "stream.sock") } },
    );
    assert.deepEqual(hidden.address, { family: "unix", path: `@sdjs-test-abstract-${process.pid}` });
  });

  test("sets FD_CLOEXEC on every descriptor", () => {
    assert.deepEqual(report.cloexecAfter, [true, true, true, true, true]);
  });

  test("a child process spawned afterwards sees none of the sockets", () => {
    assert.equal(report.targets.length, 5);
    for (const target of report.targets) {
      assert.match(target, /^socket:\[\d+\]$/);
      assert.ok(!report.childTargets.includes(target), `child inherited ${target}`);
    }
  });

  test("unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES", () => {
    assert.deepEqual(report.env, {
      LISTEN_PID: null,
      LISTEN_FDS: null,
      LISTEN_FDNAMES: null,
      LISTEN_PIDFDID: null,
    });
  });
});

describe("listenFds without our LISTEN_PID", () => {
  test("LISTEN_PID of another process adopts nothing and still unsets the variables", async () => {
    await withEnv(
      { LISTEN_PID: String(process.pid + 1), LISTEN_FDS: "1", LISTEN_FDNAMES: "web" },
      async () => {
        assert.deepEqual(await listenFds(), []);
        assert.equal(process.env.LISTEN_PID, undefined);
        assert.equal(process.env.LISTEN_FDS, undefined);
        assert.equal(process.env.LISTEN_FDNAMES, undefined);
      },
    );
  });

  test("unsetEnvironment: false leaves the variables alone", async () => {
    await withEnv({ LISTEN_PID: String(process.pid + 1), LISTEN_FDS: "1" }, async () => {
      assert.deepEqual(await listenFds({ unsetEnvironment: false }), []);
      assert.equal(process.env.LISTEN_FDS, "1");
    });
  });

  test("malformed variables are refused and still unset", async () => {
    await withEnv({ LISTEN_PID: String(process.pid), LISTEN_FDS: "two" }, async () => {
      await assert.rejects(listenFds(), (error: unknown) => (error as { code?: string }).code === "EINVAL");
      assert.equal(process.env.LISTEN_FDS, undefined);
      assert.equal(process.env.LISTEN_PID, undefined);
    });
  });

  test("a promised descriptor that is not open gives EBADF", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sdjs-ebadf-"));
    try {
      const output = join(directory, "report.json");
      // Run the fixture directly with LISTEN_* claiming 60 fds from 3: fd 62 is surely closed.
      const result = await runFixture("listen_child_self.ts", [output], { timeoutMs: 15000 });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(readFileSync(output, "utf8")) as Report;
      assert.equal(report.error?.code, "EBADF", JSON.stringify(report));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("listenFds with Accept=yes connections", { skip }, () => {
  // systemd-socket-activate 252 passes no name with --accept; the service
  // manager's "connection" name is checked in the real-systemd scenarios.
  test("a connection fd is a connected stream, not a listener", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sdjs-accept-"));
    const output = join(directory, "report.json");
    const socketPath = join(directory, "accept.sock");
    const [command, args] = runtimeCommand("listen_child.ts", [output]);
    const activator = spawn("systemd-socket-activate", ["--accept", "-l", socketPath, "--", command, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "ignore"],
    });
    try {
      const deadline = performance.now() + 5000;
      while (!existsSync(socketPath) && performance.now() < deadline) await sleep(20);
      const client = connect(socketPath);
      client.on("error", () => {});
      const report = JSON.parse(await waitForFile(output, 15000)) as Report;
      client.destroy();
      const [connection] = report.fds as ListenFd[];
      assert.equal(connection.fd, 3);
      assert.equal(connection.name, "unknown");
      assert.equal(connection.family, "unix");
      assert.equal(connection.type, "stream");
      assert.equal(connection.listening, false);
    } finally {
      activator.kill("SIGTERM");
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
