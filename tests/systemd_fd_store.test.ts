/**
 * The fd store under a real systemd: a service hands systemd a descriptor under a name
 * (`fdStore`), gets the same descriptor back by that name after a restart (`LISTEN_FDNAMES`
 * carries it, `listenFds()` returns it), and `fdStoreRemove` removes it for good.
 *
 * The stored descriptor is an open file that was deleted right after opening: its contents
 * (a random token) can only come back through the descriptor systemd kept.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { execStart, serviceLines, systemctlOk } from "./_systemd.ts";
import { SKIP, useUserManager } from "./_user_manager.ts";
import type { FdStoreReport } from "./fixtures/systemd_activation/fd_store_service.ts";

/** A service's report plus what systemd said about its store right after it was ready. */
type Observed = FdStoreReport & { readonly nStored: string };

describe("fd store under a real systemd", { skip: SKIP }, () => {
  const systemd = useUserManager();

  test("a stored descriptor comes back by name after a restart, and fdStoreRemove removes it", async () => {
    await systemd.withLogsOnFailure(async (manager) => {
      const service = `${manager.uniqueName("fdstore")}.service`;
      const dir = manager.tmpDir;
      await manager.writeUnit(
        service,
        [
          "[Service]",
          "Type=notify",
          "FileDescriptorStoreMax=4",
          `ExecStart=${execStart("tests/fixtures/systemd_activation/fd_store_service.ts", [dir])}`,
          ...serviceLines(join(dir, `${service}.log`)),
          "TimeoutStartSec=30s",
          "",
        ].join("\n"),
      );

      /** Starts (or restarts) the service with `command` and returns its report. */
      async function runWith(command: string, verb: "start" | "restart"): Promise<Observed> {
        writeFileSync(join(dir, "command"), command);
        await systemctlOk(manager, verb, service);
        const { MainPID, NFileDescriptorStore } = await manager.show(service, [
          "MainPID",
          "NFileDescriptorStore",
        ]);
        const report = JSON.parse(
          readFileSync(join(dir, `store-${MainPID}.json`), "utf8"),
        ) as FdStoreReport;
        console.log(
          `fd store: "${command}" pid ${MainPID} got LISTEN_FDNAMES=${report.listenFdNames}, ` +
            `NFileDescriptorStore=${NFileDescriptorStore}`,
        );
        return { ...report, nStored: NFileDescriptorStore };
      }

      const token = randomBytes(16).toString("hex");
      const first = await runWith(`store ${token}`, "start");
      assert.deepEqual(first.fds, [], "a fresh service got descriptors");
      assert.equal(first.sent, true);
      assert.equal(first.nStored, "1", "systemd does not hold the stored descriptor");

      const second = await runWith("keep", "restart");
      assert.notEqual(second.pid, first.pid);
      assert.equal(second.listenFdNames, "state", "LISTEN_FDNAMES does not carry the stored name");
      assert.deepEqual(second.fds, [
        { fd: 3, name: "state", family: null, type: null, listening: false, address: null },
      ]);
      assert.deepEqual(
        second.contents,
        { 3: token },
        "the descriptor that came back is not the stored one",
      );
      assert.equal(second.nStored, "1");

      const third = await runWith("remove", "restart");
      assert.deepEqual(
        third.contents,
        { 3: token },
        "the descriptor did not survive a second restart",
      );
      assert.equal(third.sent, true);
      assert.equal(third.nStored, "0", "fdStoreRemove did not empty the store");

      const fourth = await runWith("keep", "restart");
      assert.equal(fourth.listenFdNames, null);
      assert.deepEqual(fourth.fds, [], "a removed descriptor came back");
    });
  });
});
