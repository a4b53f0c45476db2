/**
 * `npm run build`: compiles the sources Deno uses (`mod.ts`, `src/`, `ffi/`)
 * into the npm package's `dist/` with `tsc -p tsconfig.build.json`: ES modules
 * with `.js` imports (rewriteRelativeImportExtensions) and `.d.ts` declarations
 * (isolatedDeclarations). Cleans `dist/` first so no stale module ships.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root: string = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist: string = join(root, "dist");

rmSync(dist, { recursive: true, force: true });
execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
const expected: readonly string[] = [
  "mod.js",
  "mod.d.ts",
  "ffi/node.js",
  "ffi/deno.js",
  "ffi/bun.js",
];
const missing: string[] = expected.filter((path) => !existsSync(join(dist, path)));
if (missing.length > 0) {
  console.error(`tsc did not write ${missing.map((path) => `"dist/${path}"`).join(", ")}`);
  process.exit(1);
}
console.log("built dist/ from mod.ts, src/ and ffi/");
