/**
 * The Node backend loads its addon with `process.getBuiltinModule` where Node
 * has it (20.16 and later) and falls back to dynamic imports of the builtins
 * on older Node 20 releases; both paths must deliver.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { withEnv } from "./_env.ts";
import { startReceiver } from "./_receiver.ts";
import { run, RUNTIME } from "./_runtime.ts";

const HIDE_GET_BUILTIN_MODULE = "data:text/javascript,delete process.getBuiltinModule";

test(
  "on a Node without process.getBuiltinModule the addon still loads and READY=1 arrives",
  { skip: RUNTIME === "node" ? false : "Node's loader only" },
  async () => {
    const receiver = await startReceiver();
    try {
      const result = await withEnv(
        { NOTIFY_SOCKET: receiver.address },
        () =>
          run(process.execPath, [
            "--import",
            "tsx",
            "--import",
            HIDE_GET_BUILTIN_MODULE,
            "tests/fixtures/notify_and_exit.ts",
            "READY=1",
          ], { env: { ...process.env } }),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal((await receiver.next()).text, "READY=1");
    } finally {
      await receiver.close();
    }
  },
);
