/**
 * The environment as the parsers read it: variable name to value, `undefined`
 * for an unset variable. Pass `process.env`, `Deno.env.toObject()` or a literal.
 *
 * @example Parse a literal environment
 * ```ts
 * import { type Environment, parseListenEnv } from "@systemd-js/daemon";
 * const env: Environment = { LISTEN_PID: "1234", LISTEN_FDS: "1", LISTEN_FDNAMES: "web" };
 * console.log(parseListenEnv(env, 1234)); // [{ fd: 3, name: "web" }]
 * ```
 *
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html | systemd.exec(5)}
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html | sd_listen_fds(3)}
 * @see {@link https://www.freedesktop.org/software/systemd/man/latest/sd_watchdog_enabled.html | sd_watchdog_enabled(3)}
 */
export type Environment = Readonly<Record<string, string | undefined>>;
