// deno.json (JSR) and package.json (npm) must agree on name, version, license
// and exports (JSR's ./jsr/x.js is npm's ./dist/x.js with ./dist/x.d.ts): the
// real files, and a table of mismatches the check must catch.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkManifests,
  compareManifests,
  type DenoManifest,
  type NpmManifest,
  npmTargets,
} from "../scripts/check_manifests.ts";

const DENO: DenoManifest = {
  name: "@systemd-js/daemon",
  version: "1.2.3",
  license: "MIT",
  exports: "./jsr/mod.js",
};
const NPM: NpmManifest = {
  name: "@systemd-js/daemon",
  version: "1.2.3",
  license: "MIT",
  exports: {
    ".": { types: "./dist/mod.d.ts", default: "./dist/mod.js" },
    "./package.json": "./package.json",
  },
};

describe("manifests", () => {
  test("deno.json and package.json of this repository agree", () => {
    assert.deepEqual(checkManifests(), []);
  });

  test("equivalent manifests pass, also with an exports object in deno.json", () => {
    assert.deepEqual(compareManifests(DENO, NPM), []);
    assert.deepEqual(compareManifests({ ...DENO, exports: { ".": "./jsr/mod.js" } }, NPM), []);
  });

  test("a JSR build file maps to the npm build file and its declarations", () => {
    assert.deepEqual(npmTargets("./jsr/mod.js"), {
      types: "./dist/mod.d.ts",
      default: "./dist/mod.js",
    });
    assert.deepEqual(npmTargets("./jsr/sub/part.js"), {
      types: "./dist/sub/part.d.ts",
      default: "./dist/sub/part.js",
    });
    assert.equal(npmTargets("./mod.ts"), undefined);
    assert.equal(npmTargets("./dist/mod.js"), undefined);
  });

  const mismatches: [string, DenoManifest, NpmManifest, RegExp][] = [
    ["different version", DENO, { ...NPM, version: "1.2.4" }, /"version" differs/],
    ["different name", { ...DENO, name: "@other/daemon" }, NPM, /"name" differs/],
    ["missing license", { ...DENO, license: undefined }, NPM, /deno.json has no "license"/],
    [
      "npm entry point at another file",
      DENO,
      { ...NPM, exports: { ".": { types: "./dist/mod.d.ts", default: "./dist/index.js" } } },
      /export "\." must be/,
    ],
    [
      "npm types at another file",
      DENO,
      { ...NPM, exports: { ".": { types: "./dist/index.d.ts", default: "./dist/mod.js" } } },
      /export "\." must be/,
    ],
    [
      "JSR entry point at another file of the build",
      { ...DENO, exports: "./jsr/index.js" },
      NPM,
      /export "\." must be \{ "types": "\.\/dist\/index\.d\.ts"/,
    ],
    [
      "JSR entry point is the TypeScript source",
      { ...DENO, exports: "./mod.ts" },
      NPM,
      /deno\.json export "\." must be a file of the JSR build/,
    ],
    [
      "JSR entry point is npm's build",
      { ...DENO, exports: "./dist/mod.js" },
      NPM,
      /deno\.json export "\." must be a file of the JSR build/,
    ],
    [
      "npm exports a subpath JSR lacks",
      DENO,
      {
        ...NPM,
        exports: {
          ".": { types: "./dist/mod.d.ts", default: "./dist/mod.js" },
          "./ffi": "./dist/ffi/runtime.js",
        },
      },
      /"\.\/ffi", which deno.json does not/,
    ],
    [
      "JSR exports a subpath npm lacks",
      { ...DENO, exports: { ".": "./jsr/mod.js", "./testing": "./jsr/testing.js" } },
      NPM,
      /lacks export "\.\/testing"/,
    ],
    ["npm exports is a string", DENO, { ...NPM, exports: "./dist/mod.js" }, /must be an object/],
  ];
  for (const [name, deno, npm, expected] of mismatches) {
    test(`catches: ${name}`, () => {
      const problems = compareManifests(deno, npm);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0], expected);
    });
  }
});
