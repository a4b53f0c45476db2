/**
 * Socket activation under a real systemd user manager: the service is started by the first
 * connection, gets every socket with its name, type and family through `listenFds()`, and
 * `Accept=yes` gives each instance one `connection` descriptor.
 *
 * systemd 252 gives one name to all descriptors of a socket unit (`FileDescriptorName=` names
 * "all file descriptors this socket unit encapsulates"; the last assignment wins), so one
 * service with differently named sockets uses one socket unit per name, each with
 * `Service=` pointing at the service.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { ListenFd } from "../mod.ts";
import { freePort } from "../scripts/systemd/free_port.ts";
import { RUNTIME } from "./_runtime.ts";
import { ACTIVATION_SERVICE, execStart, httpGet, serviceLines, systemctlOk } from "./_systemd.ts";
import { SKIP, useUserManager } from "./_user_manager.ts";
import type { ActivationReport } from "./fixtures/systemd_activation/activation_service.ts";

function byName(fds: readonly ListenFd[]): Map<string, ListenFd> {
  return new Map(fds.map((fd) => [fd.name, fd]));
}

describe("socket activation under a real systemd", { skip: SKIP }, () => {
  const systemd = useUserManager();

  test("the first connection starts the service, which gets every named socket of three socket units", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const base = manager.uniqueName("sa-named");
      const port = await freePort();
      const streamPath = join(manager.tmpDir, `${base}.stream.sock`);
      const datagramPath = join(manager.tmpDir, `${base}.dgram.sock`);
      const service = `${base}.service`;
      const sockets: [string, string, string][] = [
        [`${base}-http.socket`, `ListenStream=127.0.0.1:${port}`, "http"],
        [`${base}-unix.socket`, `ListenStream=${streamPath}`, "unix-stream"],
        [`${base}-dgram.socket`, `ListenDatagram=${datagramPath}`, "datagram"],
      ];
      for (const [unit, listen, name] of sockets) {
        await manager.writeUnit(
          unit,
          ["[Socket]", listen, `FileDescriptorName=${name}`, `Service=${service}`, ""].join("\n"),
        );
      }
      await manager.writeUnit(
        service,
        [
          "[Service]",
          "Type=notify",
          `Sockets=${sockets.map(([unit]) => unit).join(" ")}`,
          `ExecStart=${execStart(ACTIVATION_SERVICE, [manager.tmpDir])}`,
          ...serviceLines(join(manager.tmpDir, `${base}.log`)),
          "TimeoutStartSec=30s",
          "",
        ].join("\n"),
      );
      await systemctlOk(manager, "start", ...sockets.map(([unit]) => unit));
      for (const [unit] of sockets) {
        const props = await manager.show(unit, ["ActiveState", "SubState"]);
        assert.equal(props.SubState, "listening", `${unit} is not listening`);
      }
      const before = await manager.show(service, ["ActiveState", "MainPID"]);
      assert.equal(before.ActiveState, "inactive", "the service ran before any connection");
      assert.equal(before.MainPID, "0");

      const first = await httpGet({ host: "127.0.0.1", port }, "/");
      const props = await manager.show(service, [
        "ActiveState",
        "SubState",
        "MainPID",
        "StatusText",
      ]);
      assert.equal(first.status, 200);
      assert.equal(
        first.body,
        `hello from ${props.MainPID}\n`,
        "the first request was not answered by the started service",
      );
      assert.equal(props.ActiveState, "active");
      assert.equal(props.SubState, "running");
      assert.match(props.StatusText, new RegExp(`^Serving HTTP on .*\\(pid ${props.MainPID}, `));

      const report = JSON.parse(
        (await httpGet({ host: "127.0.0.1", port }, "/fds")).body,
      ) as ActivationReport;
      assert.equal(String(report.pid), props.MainPID);
      assert.equal(
        report.runtime,
        RUNTIME,
        "the service does not run under the runtime running the tests",
      );
      assert.deepEqual(report.fds.map((fd) => fd.fd).sort(), [3, 4, 5]);
      assert.deepEqual(report.env, { LISTEN_PID: null, LISTEN_FDS: null, LISTEN_FDNAMES: null });
      const fds = byName(report.fds);
      assert.deepEqual([...fds.keys()].sort(), ["datagram", "http", "unix-stream"]);
      assert.deepEqual(
        { ...fds.get("http"), fd: 0 },
        {
          fd: 0,
          name: "http",
          family: "inet",
          type: "stream",
          listening: true,
          address: { family: "inet", host: "127.0.0.1", port },
        },
      );
      assert.deepEqual(
        { ...fds.get("unix-stream"), fd: 0 },
        {
          fd: 0,
          name: "unix-stream",
          family: "unix",
          type: "stream",
          listening: true,
          address: { family: "unix", path: streamPath },
        },
      );
      assert.deepEqual(
        { ...fds.get("datagram"), fd: 0 },
        {
          fd: 0,
          name: "datagram",
          family: "unix",
          type: "dgram",
          listening: false,
          address: { family: "unix", path: datagramPath },
        },
      );

      // The unix stream socket serves too, from the same process.
      const overUnix = await httpGet({ socketPath: streamPath }, "/");
      assert.equal(overUnix.body, `hello from ${props.MainPID}\n`);
    });
  });

  test("one socket unit with several Listen lines passes them all under one name", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const base = manager.uniqueName("sa-one-unit");
      const port = await freePort();
      const streamPath = join(manager.tmpDir, `${base}.sock`);
      await manager.writeUnit(
        `${base}.socket`,
        [
          "[Socket]",
          `ListenStream=127.0.0.1:${port}`,
          `ListenStream=${streamPath}`,
          "FileDescriptorName=web",
          "",
        ]
          .join("\n"),
      );
      await manager.writeUnit(
        `${base}.service`,
        [
          "[Service]",
          "Type=notify",
          `ExecStart=${execStart(ACTIVATION_SERVICE, [manager.tmpDir])}`,
          ...serviceLines(join(manager.tmpDir, `${base}.log`)),
          "",
        ].join("\n"),
      );
      await systemctlOk(manager, "start", `${base}.socket`);
      assert.equal(
        (await manager.show(`${base}.service`, ["ActiveState"])).ActiveState,
        "inactive",
      );
      const report = JSON.parse(
        (await httpGet({ socketPath: streamPath }, "/fds")).body,
      ) as ActivationReport;
      const summary = report.fds.map(({ fd, name, family, listening }) => ({
        fd,
        name,
        family,
        listening,
      }));
      assert.deepEqual(summary, [
        { fd: 3, name: "web", family: "inet", listening: true },
        { fd: 4, name: "web", family: "unix", listening: true },
      ]);
    });
  });

  test("Accept=yes starts one instance per connection, each with one connected fd named connection", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const base = manager.uniqueName("sa-accept");
      const port = await freePort();
      await manager.writeUnit(
        `${base}.socket`,
        ["[Socket]", `ListenStream=127.0.0.1:${port}`, "Accept=yes", ""].join("\n"),
      );
      await manager.writeUnit(
        `${base}@.service`,
        [
          "[Service]",
          `ExecStart=${
            execStart("tests/fixtures/systemd_activation/connection_service.ts", [manager.tmpDir])
          }`,
          ...serviceLines(join(manager.tmpDir, `${base}.log`)),
          "",
        ].join("\n"),
      );
      await systemctlOk(manager, "start", `${base}.socket`);
      const answers = await Promise.all(
        [1, 2, 3].map(() => httpGet({ host: "127.0.0.1", port }, "/")),
      );
      const reports = answers.map((answer) => {
        assert.equal(answer.status, 200);
        return JSON.parse(answer.body) as { pid: number; fds: ListenFd[] };
      });
      assert.equal(
        new Set(reports.map((report) => report.pid)).size,
        3,
        "not one process per connection",
      );
      for (const report of reports) {
        assert.equal(report.fds.length, 1);
        const [fd] = report.fds;
        assert.equal(fd.fd, 3);
        assert.equal(fd.name, "connection");
        assert.equal(fd.family, "inet");
        assert.equal(fd.type, "stream");
        assert.equal(fd.listening, false);
        assert.deepEqual(fd.address, { family: "inet", host: "127.0.0.1", port });
      }
      const socket = await manager.waitFor(
        `${base}.socket`,
        (p) => p.NAccepted === "3" && p.NConnections === "0",
        10_000,
        ["NAccepted", "NConnections", "SubState"],
      );
      assert.equal(socket.SubState, "listening");
    });
  });
});
