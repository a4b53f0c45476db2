#!/usr/bin/env node
// `npm test`: runs the one test suite under Node (through tsx), Deno and Bun,
// each in turn, streaming its output; exits non-zero if any runtime fails, and
// ends with a per-runtime summary and one total line.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bin = (name) => join(root, "node_modules", ".bin", name);
const files = readdirSync(join(root, "tests"))
  .filter((name) => name.endsWith(".test.ts"))
  .sort()
  .map((name) => join("tests", name));

const runtimes = {
  node: [process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", ...files]],
  // First type-check every JSDoc example of the public API, so docs cannot rot.
  deno: ["sh", ["-c", `"$0" check --doc mod.ts src/ && "$0" test --allow-all --no-prompt "$@"`, bin("deno"), ...files]],
  bun: [bin("bun"), ["test", "--timeout=60000", ...files.map((file) => `./${file}`)]],
};

/** Reads the pass/fail/skip counts from each runner's own closing lines. */
const counters = {
  node: (out) => ({
    passed: last(out, /^# pass (\d+)$/m),
    failed: last(out, /^# fail (\d+)$/m) + last(out, /^# cancelled (\d+)$/m),
    skipped: last(out, /^# skipped (\d+)$/m),
  }),
  deno: (out) => {
    const line = /(ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored(?: \((\d+) steps?\))?)?/
      .exec(out.replace(/\x1b\[[0-9;]*m/g, ""));
    if (line === null) return { passed: 0, failed: 1, skipped: 0 };
    return {
      passed: Number(line[3] ?? line[2]),
      failed: Number(line[5] ?? line[4]),
      skipped: Number(line[7] ?? line[6] ?? 0),
    };
  },
  bun: (out) => ({
    passed: last(out, /^\s*(\d+) pass$/m),
    failed: last(out, /^\s*(\d+) fail$/m),
    skipped: last(out, /^\s*(\d+) skip$/m),
  }),
};

function last(text, pattern) {
  const all = [...text.matchAll(new RegExp(pattern.source, "gm"))];
  return all.length === 0 ? 0 : Number(all[all.length - 1][1]);
}

const only = process.argv.slice(2);
const results = [];
for (const [name, [command, args]] of Object.entries(runtimes)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n=== ${name}: ${[command, ...args].join(" ")}\n`);
  const started = Date.now();
  const { code, output } = await new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const tee = (stream) => (chunk) => {
      output += chunk;
      stream.write(chunk);
    };
    child.stdout.on("data", tee(process.stdout));
    child.stderr.on("data", tee(process.stderr));
    child.on("error", (error) => resolve({ code: 127, output: String(error) }));
    child.on("close", (code) => resolve({ code, output }));
  });
  const counts = counters[name](output);
  if (code !== 0 && counts.failed === 0) counts.failed = 1; // a crash counts as a failure
  results.push({ name, code, seconds: (Date.now() - started) / 1000, ...counts });
}

console.log("\n=== summary");
for (const r of results) {
  console.log(
    `${r.name.padEnd(5)} ${r.code === 0 ? "ok    " : "FAILED"} ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (${r.seconds.toFixed(1)} s)`,
  );
}
const total = (key) => results.reduce((sum, r) => sum + r[key], 0);
console.log(`total: ${total("passed")} passed, ${total("failed")} failed, ${total("skipped")} skipped`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
