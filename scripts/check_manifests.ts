/**
 * Keeps `deno.json` (JSR) and `package.json` (npm) in lockstep: the same name,
 * version and license, and equivalent exports — both ship the same build
 * (`npm run build`), so every JSR entry point `./jsr/x.js` is published to npm
 * as `./dist/x.js` with types `./dist/x.d.ts`, and npm has no entry point JSR
 * lacks (apart from `./package.json`).
 *
 * Run `node --import tsx scripts/check_manifests.ts` (exit code 1 on a
 * mismatch); `tests/manifests.test.ts` runs the same check in `npm test`.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The fields of `deno.json` this check reads. */
export interface DenoManifest {
  readonly name?: unknown;
  readonly version?: unknown;
  readonly license?: unknown;
  readonly exports?: unknown;
}

/** The fields of `package.json` this check reads. */
export interface NpmManifest {
  readonly name?: unknown;
  readonly version?: unknown;
  readonly license?: unknown;
  readonly exports?: unknown;
}

/** npm-only subpaths that have no JSR counterpart on purpose. */
const NPM_ONLY: readonly string[] = ["./package.json"];

/** `"./jsr/mod.js"` or `{ ".": "./jsr/mod.js" }` → a map of subpath to file. */
function denoExports(exports: unknown): Map<string, string> | string {
  if (typeof exports === "string") return new Map([[".", exports]]);
  if (typeof exports !== "object" || exports === null || Array.isArray(exports)) {
    return `deno.json "exports" must be a string or an object of subpaths`;
  }
  const map = new Map<string, string>();
  for (const [subpath, target] of Object.entries(exports)) {
    if (typeof target !== "string") return `deno.json export "${subpath}" must be a string`;
    map.set(subpath, target);
  }
  return map;
}

/**
 * The JavaScript and declaration files npm must publish for JSR's `./jsr/x.js`;
 * undefined when the JSR entry point is not a file of the JSR build.
 */
export function npmTargets(denoTarget: string): { types: string; default: string } | undefined {
  const match = /^\.\/jsr\/(.+)\.js$/.exec(denoTarget);
  if (match === null) return undefined;
  return { types: `./dist/${match[1]}.d.ts`, default: `./dist/${match[1]}.js` };
}

/**
 * Compares the two manifests.
 *
 * @param deno the parsed `deno.json`
 * @param npm the parsed `package.json`
 * @returns one sentence per mismatch; empty when they agree
 *
 * @example Two manifests that agree
 * ```ts
 * import { compareManifests } from "./check_manifests.ts";
 * const problems = compareManifests(
 *   { name: "@a/b", version: "1.0.0", license: "MIT", exports: "./jsr/mod.js" },
 *   {
 *     name: "@a/b",
 *     version: "1.0.0",
 *     license: "MIT",
 *     exports: { ".": { types: "./dist/mod.d.ts", default: "./dist/mod.js" } },
 *   },
 * );
 * console.log(problems); // []
 * ```
 */
export function compareManifests(deno: DenoManifest, npm: NpmManifest): string[] {
  const problems: string[] = [];
  for (const field of ["name", "version", "license"] as const) {
    if (typeof deno[field] !== "string" || deno[field] === "") {
      problems.push(`deno.json has no "${field}"`);
    } else if (deno[field] !== npm[field]) {
      problems.push(
        `"${field}" differs: deno.json has "${String(deno[field])}", ` +
          `package.json has "${String(npm[field])}"`,
      );
    }
  }
  const jsr = denoExports(deno.exports);
  if (typeof jsr === "string") return [...problems, jsr];
  const npmExports = npm.exports;
  if (typeof npmExports !== "object" || npmExports === null || Array.isArray(npmExports)) {
    return [...problems, `package.json "exports" must be an object of subpaths`];
  }
  const npmMap = new Map<string, unknown>(Object.entries(npmExports));
  for (const [subpath, denoTarget] of jsr) {
    const expected = npmTargets(denoTarget);
    if (expected === undefined) {
      problems.push(
        `deno.json export "${subpath}" must be a file of the JSR build, "./jsr/<name>.js", ` +
          `not "${denoTarget}"`,
      );
      continue;
    }
    const entry = npmMap.get(subpath);
    if (entry === undefined) {
      problems.push(
        `package.json lacks export "${subpath}" (deno.json maps it to "${denoTarget}")`,
      );
      continue;
    }
    const conditions = (typeof entry === "object" && entry !== null ? entry : {}) as Record<
      string,
      unknown
    >;
    if (conditions.types !== expected.types || conditions.default !== expected.default) {
      problems.push(
        `package.json export "${subpath}" must be { "types": "${expected.types}", ` +
          `"default": "${expected.default}" } to match deno.json's "${denoTarget}", ` +
          `not ${JSON.stringify(entry)}`,
      );
    }
  }
  for (const subpath of npmMap.keys()) {
    if (!jsr.has(subpath) && !NPM_ONLY.includes(subpath)) {
      problems.push(`package.json exports "${subpath}", which deno.json does not`);
    }
  }
  return problems;
}

/**
 * Reads `deno.json` and `package.json` from `root` and compares them.
 *
 * @param root the package root; defaults to this repository
 * @returns one sentence per mismatch; empty when they agree
 *
 * @example Check this repository
 * ```ts
 * import { checkManifests } from "./check_manifests.ts";
 * if (checkManifests().length > 0) throw new Error("deno.json and package.json disagree");
 * ```
 */
export function checkManifests(
  root: string = fileURLToPath(new URL("..", import.meta.url)),
): string[] {
  const read = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(root, name), "utf8")) as Record<string, unknown>;
  return compareManifests(read("deno.json"), read("package.json"));
}

const main = (globalThis as { process?: { argv?: string[] } }).process?.argv?.[1];
if (main !== undefined && fileURLToPath(import.meta.url) === main) {
  const problems = checkManifests();
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exit(1);
  console.log("deno.json and package.json agree on name, version, license and exports");
}
