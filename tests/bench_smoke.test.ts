/**
 * Keeps `npm run bench` from rotting: runs its `--quick` smoke mode and checks
 * that it finishes and prints the report with a row per runtime. Timings are
 * not asserted: they mean nothing on a tiny sample.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, run } from "./_runtime.ts";

/** The rows of the Markdown table under `heading`, as arrays of trimmed cells. */
function tableRows(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`## ${heading}\n`);
  assert.notEqual(start, -1, `no "## ${heading}" section`);
  const section = markdown.slice(start).split("\n## ")[0];
  return section.split("\n")
    .filter((line) => line.startsWith("|") && !line.startsWith("| ---"))
    .slice(1) // the header
    .map((line) => line.slice(1, -1).split(" | ").map((cell) => cell.trim()));
}

test("npm run bench -- --quick completes and prints every runtime's rows", async () => {
  // The benchmark is an npm script run by Node (through tsx), whichever runtime runs the tests.
  const result = await run("node", [
    "--import",
    "tsx",
    join(ROOT, "scripts", "bench.ts"),
    "--quick",
  ], {
    timeoutMs: 60_000,
  });
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal ?? ""}\n${result.stderr}`);
  const markdown = result.stdout;
  assert.match(markdown, /^# Benchmarks\n/);

  for (const mode of ["burst", "isolated"]) {
    const messages = tableRows(markdown, `Per message: ${mode}`);
    for (const reference of ["raw C sendto", "raw C send, connected"]) {
      assert.ok(
        messages.some((row) => row[0] === reference && row[1] === "C"),
        `${reference}, ${mode}`,
      );
    }
    for (const runtime of ["node", "deno", "bun"]) {
      const ours = messages.filter((row) => row[0].startsWith("ours") && row[1] === runtime);
      assert.equal(ours.length, 2, `two rows of ours for ${runtime}, ${mode}`);
      for (const row of ours) {
        assert.match(row[2], /^\d+\.\d+ (µs|ms) \(/, `time per message for ${runtime}, ${mode}`);
        assert.match(row[4], /^\d+\.\d+×/, `ratio to raw C for ${runtime}, ${mode}`);
        assert.match(row[6], /^\d+\.\d+×/, `ratio to connected C for ${runtime}, ${mode}`);
      }
    }
  }

  const cold = tableRows(markdown, "Cold start");
  assert.deepEqual(cold.map((row) => row[0]), ["node", "deno", "bun"]);
  for (const row of cold) assert.match(row[3], /^\d+\.\d$/, `module READY time for ${row[0]}`);

  const memory = tableRows(markdown, "Memory");
  assert.deepEqual(memory.map((row) => row[0]), ["node", "deno", "bun"]);

  assert.ok(tableRows(markdown, "Targets").length >= 9, "target lines for every runtime");
  const machine = tableRows(markdown, "Machine").map((row) => row[0]);
  for (const what of ["CPU", "Kernel", "Node", "Deno", "Bun"]) {
    assert.ok(machine.includes(what), what);
  }
});
