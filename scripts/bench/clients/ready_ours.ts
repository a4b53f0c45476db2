/**
 * Cold start with this module: import it and send READY=1, as a service does.
 * usage: ready_ours MODULE_URL
 *
 * @module
 */
import { scriptArgs } from "./_script_args.ts";

const [module_url] = scriptArgs();
const { ready } = await import(module_url) as { ready(): Promise<boolean> };
if (!await ready()) throw new Error("ready() sent nothing: NOTIFY_SOCKET is unset");
