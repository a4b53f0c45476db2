/**
 * Cold start with the npm `sd-notify` addon (libsystemd), Node only: load it and send READY=1.
 * usage: ready_npm_sd_notify PREFIX
 *
 * @module
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { scriptArgs } from "./_script_args.ts";

const [prefix] = scriptArgs();
const sd_notify = createRequire(join(prefix, "package.json"))("sd-notify") as { ready(): void };
sd_notify.ready();
