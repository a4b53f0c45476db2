// Not under systemd, notify() sends nothing but still checks its input "so
// mistakes show in development" (src/notify.ts). A message that would be
// refused in production must be refused on a developer's machine too —
// including the 4096-byte limit, which only the sending path checks today.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { notify, type NotifyFields, status } from "../mod.ts";
import { withEnv } from "./_env.ts";
import { type Receiver, startReceiver } from "./_receiver.ts";
import { envCount } from "./fixtures/_load.ts";

const RUNS: number = envCount("SDJS_PROPERTY_RUNS", 200);

/** "sent", "false" (no-op), or the class of the error thrown. */
async function outcomeOf(call: () => Promise<boolean>): Promise<string> {
  try {
    return (await call()) ? "sent" : "not sent";
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

describe("not under systemd, notify() refuses what it would refuse under systemd", () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());

  test("a status over 4096 bytes is a RangeError with or without NOTIFY_SOCKET", async () => {
    const long = "x".repeat(5000);
    assert.equal(
      await withEnv({ NOTIFY_SOCKET: receiver.address }, () => outcomeOf(() => status(long))),
      "RangeError",
    );
    assert.equal(
      await withEnv({ NOTIFY_SOCKET: undefined }, () => outcomeOf(() => status(long))),
      "RangeError",
    );
  });

  test("a raw message over 4096 bytes is a RangeError with or without NOTIFY_SOCKET", async () => {
    const long = `STATUS=${"y".repeat(5000)}`;
    assert.equal(
      await withEnv({ NOTIFY_SOCKET: receiver.address }, () => outcomeOf(() => notify(long))),
      "RangeError",
    );
    assert.equal(
      await withEnv({ NOTIFY_SOCKET: undefined }, () => outcomeOf(() => notify(long))),
      "RangeError",
    );
  });

  test(`property (${RUNS} runs): any status is accepted or refused the same way with and without NOTIFY_SOCKET`, async () => {
    const statusText = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 50 }),
      fc.tuple(fc.integer({ min: 4070, max: 4110 }), fc.constantFrom("", "é", "🚀"))
        .map(([size, wide]) => "s".repeat(size) + wide),
      fc.constantFrom("a\nREADY=1", "a\0b", "bad \ud800"),
    );
    await fc.assert(
      fc.asyncProperty(statusText, async (text) => {
        const fields: NotifyFields = { status: text };
        const under = await withEnv(
          { NOTIFY_SOCKET: receiver.address },
          () => outcomeOf(() => notify(fields)),
        );
        if (under === "sent") await receiver.next();
        const outside = await withEnv(
          { NOTIFY_SOCKET: undefined },
          () => outcomeOf(() => notify(fields)),
        );
        assert.equal(outside === "not sent" ? "sent" : outside, under);
      }),
      { numRuns: RUNS },
    );
  });
});
