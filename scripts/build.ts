/**
 * `npm run build`: the npm package's `dist/` from the sources Deno uses
 * (`mod.ts`, `src/`, `ffi/`), cleaned first so no stale file ships.
 *
 * - `dist/mod.js`: what a service loads at start-up, bundled by esbuild into
 *   one ES module. Node's ESM loader pays about half a millisecond per file, so
 *   the 30-odd source modules as separate files cost a service 9 ms before its
 *   READY=1 (Bun and Deno pay less, but pay too).
 * - `dist/<part>.js` for each part in {@linkcode LAZY_PARTS}: the Deno and Bun
 *   backends and the servers, which the sources load with a dynamic import
 *   and only one runtime, or only a server, needs. Parsing them at start-up
 *   would cost every service; each is a bundle of its own instead, and the
 *   dynamic import in `mod.js` names its file. A part imports `SystemdError`
 *   from `./mod.js` (public API), so an error it throws is the same class the
 *   user catches; any other module a part shares is stateless and copied.
 * - Builtins (`node:*`, `bun:ffi`) stay outside every bundle, and each module
 *   that needs one imports it dynamically, so no builtin loads at start-up.
 * - `dist/**\/*.d.ts`: declarations from `tsc -p tsconfig.build.json`
 *   (isolatedDeclarations), which also type-checks the sources.
 *
 * {@linkcode bundle} is exported for the benchmark, which must load the module
 * exactly as npm ships it.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Source modules loaded by dynamic import that get a file of their own, and its name. */
export const LAZY_PARTS: Readonly<Record<string, string>> = {
  "ffi/deno.ts": "backend_deno.js",
  "ffi/bun.ts": "backend_bun.js",
  "ffi/serve_deno.ts": "serve_deno.js",
  "ffi/serve_bun.ts": "serve_bun.js",
  "ffi/serve_node.ts": "serve_node.js",
};

/** Modules with state or class identity: only `mod.js` may hold them. */
const START_UP_ONLY: readonly string[] = [
  "src/errors.ts",
  "src/_active.ts",
  "src/_sender.ts",
  "src/_watchdog_state.ts",
];

/**
 * Resolves imports of a lazy part to its file, and (inside a part) imports of
 * `src/errors.ts` to `./mod.js`.
 */
function partsPlugin(self: string | undefined): Plugin {
  return {
    name: "systemd-js-parts",
    setup(plugin) {
      plugin.onResolve({ filter: /\.ts$/ }, ({ path, resolveDir }) => {
        const source = relative(ROOT, join(resolveDir, path));
        if (source !== self && LAZY_PARTS[source] !== undefined) {
          return { path: `./${LAZY_PARTS[source]}`, external: true };
        }
        if (self !== undefined && source === "src/errors.ts") {
          return { path: "./mod.js", external: true };
        }
        return undefined;
      });
    },
  };
}

/**
 * Bundles `mod.ts` and the lazy parts into `directory` as npm ships them.
 *
 * @param directory where `mod.js` and the parts go
 * @throws {Error} when a bundle imports a builtin statically, or a part holds a
 *   module that must exist once ({@linkcode START_UP_ONLY})
 */
export async function bundle(directory: string): Promise<void> {
  const entries: [string | undefined, string][] = [
    [undefined, "mod.js"],
    ...Object.entries(LAZY_PARTS),
  ];
  for (const [part, file] of entries) {
    const outfile = join(directory, file);
    const { metafile } = await build({
      entryPoints: [join(ROOT, part ?? "mod.ts")],
      outfile,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      // Loaded only by dynamic imports, each under the runtime that has it.
      external: ["node:*", "bun:ffi"],
      plugins: [partsPlugin(part)],
      legalComments: "none",
      logLevel: "warning",
      metafile: true,
    });
    const held = Object.keys(metafile.inputs).map((input) => relative(ROOT, join(ROOT, input)));
    const copied = part === undefined ? [] : held.filter((input) => START_UP_ONLY.includes(input));
    if (copied.length > 0) throw new Error(`${file} holds its own copy of ${copied.join(", ")}`);
    const hoisted = readFileSync(outfile, "utf8")
      .match(/^import\s[^;]*?from\s*["'](node:[\w/]+|bun:\w+)["']/gm);
    if (hoisted !== null) {
      throw new Error(
        `${file} imports builtins statically (import them dynamically where needed):\n${
          hoisted.join("\n")
        }`,
      );
    }
  }
}

async function main(): Promise<void> {
  const dist = join(ROOT, "dist");
  rmSync(dist, { recursive: true, force: true });
  execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  await bundle(dist);
  const missing = ["mod.js", "mod.d.ts", ...Object.values(LAZY_PARTS)]
    .filter((path) => !existsSync(join(dist, path)));
  if (missing.length > 0) {
    throw new Error(
      `The build did not write ${missing.map((path) => `"dist/${path}"`).join(", ")}`,
    );
  }
  console.log("built dist/mod.js, its lazy parts and dist/**/*.d.ts from mod.ts, src/ and ffi/");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
