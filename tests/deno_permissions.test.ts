import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Receiver, startReceiver } from "./_receiver.ts";
import { ROOT, run } from "./_runtime.ts";

const DENO = join(ROOT, "node_modules", ".bin", "deno");
const FIXTURE = join(ROOT, "tests", "fixtures", "ready_report.ts");

/** Runs the fixture under Deno with exactly `flags`, and NOTIFY_SOCKET as given. */
async function denoReady(flags: string[], notifySocket: string | undefined): Promise<unknown> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/" };
  if (notifySocket !== undefined) env.NOTIFY_SOCKET = notifySocket;
  const result = await run(DENO, ["run", "--no-prompt", ...flags, FIXTURE], { env, timeoutMs: 30000 });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

describe("Deno permissions", () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());

  test("without --allow-ffi and not under systemd: a quiet no-op", async () => {
    assert.deepEqual(await denoReady(["--allow-env"], undefined), { sent: false });
  });

  test("without --allow-ffi under systemd: an EPERM error that names the flag", async () => {
    const outcome = await denoReady(["--allow-env"], receiver.address) as {
      error: { name: string; code: string; message: string };
    };
    assert.equal(outcome.error.name, "SystemdError");
    assert.equal(outcome.error.code, "EPERM");
    assert.match(outcome.error.message, /--allow-ffi/);
    assert.equal(await receiver.silentFor(100), true);
  });

  test("without --allow-env the variable cannot be read: treated as not under systemd", async () => {
    assert.deepEqual(await denoReady([], receiver.address), { sent: false });
    assert.equal(await receiver.silentFor(100), true);
  });

  test("with --allow-env=NOTIFY_SOCKET and --allow-ffi: sent", async () => {
    assert.deepEqual(
      await denoReady(["--allow-env=NOTIFY_SOCKET", "--allow-ffi"], receiver.address),
      { sent: true },
    );
    assert.equal((await receiver.next()).text, "READY=1");
  });
});
