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
 * - Every bundle starts with {@linkcode BUN_PRAGMA}, which tells Bun the file is
 *   plain JavaScript it need not transpile. Bun otherwise transpiles every file
 *   it loads and caches the result under `$HOME`; a system service without
 *   `User=` has no `$HOME`, and a `DynamicUser=` one cannot write it, so each
 *   start paid about 2.5 ms to transpile the bundles again. Node and Deno read a
 *   comment.
 * - `dist/**\/*.d.ts`: declarations from `tsc -p tsconfig.build.json`
 *   (isolatedDeclarations), which also type-checks the sources.
 * - `jsr/` (gitignored; `deno.json` publishes it): the same build for JSR, by
 *   {@linkcode writeJsr}. Its JavaScript files are dist/'s, byte for byte,
 *   except that `jsr/mod.js` has `/* @ts-self-types="./mod.d.ts" *\/` below
 *   the pragma line (how Deno and JSR find a JavaScript module's types). Its declarations are
 *   dist/'s with every relative specifier in `from "…"` and `import("…")`
 *   (JSDoc examples included) pointing at the sibling `.d.ts`: Deno resolves
 *   a declaration file's specifiers literally, so tsc's `"./src/notify.ts"`
 *   (and `".js"`) are missing files there (TS2307). npm's dist/ keeps tsc's
 *   specifiers: a tsc consumer with `skipLibCheck: false` rejects `.d.ts`
 *   ones (TS2846).
 *
 * {@linkcode bundle} and {@linkcode writeJsr} are exported for the benchmark,
 * which must load the module exactly as npm and JSR ship it.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

/** First line of every bundle: Bun runs a file that starts with it without transpiling it. */
export const BUN_PRAGMA = "// @bun";

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
      banner: { js: BUN_PRAGMA },
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

/** The second line of `jsr/mod.js`: tells Deno and JSR where the module's types are. */
export const SELF_TYPES = '/* @ts-self-types="./mod.d.ts" */';

/**
 * A relative specifier ending in `.ts` or `.js` after `from` or inside
 * `import(…)`: [whole, what precedes it, quote, path without the extension].
 */
const RELATIVE_SPECIFIER: RegExp =
  /(\bfrom\s*|\bimport\(\s*)(["'])(\.\.?\/[^"'\n]*?)\.(?:ts|js)\2/g;

/**
 * Writes the build in `dist` (bundles and declarations, as npm ships them) to
 * `jsr` (emptied first) as JSR ships it: the bundles copied, `mod.js` with
 * {@linkcode SELF_TYPES} below its pragma line, and each declaration file with its relative
 * specifiers rewritten to the sibling `.d.ts` (see the module header).
 *
 * @param dist a directory written by {@linkcode bundle} and `tsc -p tsconfig.build.json`
 * @param jsr where JSR's copy goes
 * @throws {Error} when `dist` has no `mod.d.ts`, or a declaration file keeps a
 *   relative specifier that names no declaration file of the build
 */
export function writeJsr(dist: string, jsr: string): void {
  if (!existsSync(join(dist, "mod.d.ts"))) {
    throw new Error(`${dist} has no mod.d.ts: run tsc -p tsconfig.build.json first`);
  }
  rmSync(jsr, { recursive: true, force: true });
  mkdirSync(jsr, { recursive: true });
  for (const file of ["mod.js", ...Object.values(LAZY_PARTS)]) {
    const code = readFileSync(join(dist, file), "utf8");
    if (!code.startsWith(`${BUN_PRAGMA}\n`)) {
      throw new Error(`${dist}/${file} does not start with "${BUN_PRAGMA}": bundle it again`);
    }
    const pragmaEnd = BUN_PRAGMA.length + 1;
    writeFileSync(
      join(jsr, file),
      file === "mod.js"
        ? `${code.slice(0, pragmaEnd)}${SELF_TYPES}\n${code.slice(pragmaEnd)}`
        : code,
    );
  }
  const declarations = readdirSync(dist, { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".d.ts"));
  const problems: string[] = [];
  for (const path of declarations) {
    const text = readFileSync(join(dist, path), "utf8").replace(
      RELATIVE_SPECIFIER,
      (_whole, before: string, quote: string, base: string) => {
        if (!existsSync(join(dist, dirname(path), `${base}.d.ts`))) {
          problems.push(`${path}: "${base}" has no ${base}.d.ts`);
        }
        return `${before}${quote}${base}.d.ts${quote}`;
      },
    );
    const left = text.match(/(\bfrom\s*|\bimport\(\s*)["']\.\.?\/[^"']*["']/g)
      ?.filter((specifier) => !/\.d\.ts["']$/.test(specifier));
    if (left !== undefined && left.length > 0) problems.push(`${path}: ${left.join(", ")}`);
    mkdirSync(dirname(join(jsr, path)), { recursive: true });
    writeFileSync(join(jsr, path), text);
  }
  if (problems.length > 0) {
    throw new Error(`JSR declarations with unresolvable specifiers:\n${problems.join("\n")}`);
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
  writeJsr(dist, join(ROOT, "jsr"));
  console.log(
    "wrote jsr/: dist/'s bundles (mod.js with @ts-self-types), declarations with .d.ts specifiers",
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
