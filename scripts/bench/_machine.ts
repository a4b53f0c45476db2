/**
 * Describes the machine and the tools a benchmark ran with.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { exec } from "./_exec.ts";

/** One "what: version" pair per line of the report. */
export type MachineDetails = readonly (readonly [string, string])[];

async function firstLine(command: string, args: readonly string[]): Promise<string> {
  try {
    const result = await exec(command, args, { timeoutMs: 20_000 });
    return (result.stdout || result.stderr).trim().split("\n")[0] ?? "?";
  } catch {
    return "not found";
  }
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match !== null) return match[1].trim();
  } catch {
    // fall through
  }
  return cpus()[0]?.model ?? "?";
}

/** Collects CPU, kernel and runtime versions. */
export async function machineDetails(deno: string, bun: string): Promise<MachineDetails> {
  let qlen = "?";
  try {
    qlen = readFileSync("/proc/sys/net/unix/max_dgram_qlen", "utf8").trim();
  } catch {
    // not readable here
  }
  return [
    ["CPU", `${cpuModel()} × ${cpus().length}`],
    ["Kernel", `Linux ${release()}`],
    ["net.unix.max_dgram_qlen", qlen],
    [
      "Load average at the end (1, 5, 15 min)",
      loadavg().map((value) => value.toFixed(2)).join(", "),
    ],
    ["Node", process.version],
    ["Deno", await firstLine(deno, ["--version"])],
    ["Bun", await firstLine(bun, ["--version"])],
    ["libsystemd", await firstLine("dpkg-query", ["-W", "-f", "${Version}", "libsystemd0"])],
    ["systemd-notify", await firstLine("systemd-notify", ["--version"])],
    ["C compiler", await firstLine("cc", ["--version"])],
  ];
}
