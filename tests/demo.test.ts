/**
 * `npm run demo` works: scripts/demo.ts, run by the runtime running the tests (so its service
 * runs under that runtime too), exits 0 and prints every step it promises.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { run, RUNTIME } from "./_runtime.ts";
import { SKIP } from "./_user_manager.ts";

function demoCommand(): [string, string[]] {
  switch (RUNTIME) {
    case "deno":
      return [process.execPath, ["run", "-A", "--quiet", "scripts/demo.ts"]];
    case "bun":
      return [process.execPath, ["scripts/demo.ts"]];
    default:
      return [process.execPath, ["--import", "tsx", "scripts/demo.ts"]];
  }
}

describe("the demo", { skip: SKIP }, () => {
  test("runs every step against a real systemd and exits 0", async () => {
    const [command, args] = demoCommand();
    const result = await run(command, args, { timeoutMs: 90_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    assert.equal(result.code, 0, `the demo failed:\n${output}`);
    console.log(`demo (${RUNTIME}) passed in ${(result.elapsedMs / 1000).toFixed(1)} s`);
    for (let step = 1; step <= 7; step++) {
      assert.match(result.stdout, new RegExp(`^\\[${step}/7\\]`, "m"));
    }
    assert.doesNotMatch(result.stdout, /✘/);
    assert.match(result.stdout, /→ 200 "hello from \d+"/);
    assert.match(result.stdout, /Status: "Serving HTTP on 127\.0\.0\.1:\d+ \(pid \d+, \w+\)"/);
    assert.match(result.stdout, /load: \d+ requests, (\d+) ok, 0 failed/);
    assert.match(result.stdout, /Result=watchdog/);
    assert.match(result.stdout, /restarted by systemd: MainPID \d+, NRestarts=1/);
    assert.match(result.stdout, /^Cleaned up: units removed/m);
    assert.match(result.stdout, /^DEMO PASSED$/m);
  });
});
