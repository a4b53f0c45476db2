/**
 * A `Deno.serve` service that speaks systemd's protocols: copy it and keep what you need.
 *
 * - `READY=1` with a `STATUS=` line once the server accepts connections (`Type=notify`).
 * - `WATCHDOG=1` keep-alives at half of `WatchdogSec=` from the main event loop.
 * - SIGHUP (`ExecReload=kill -HUP $MAINPID`): `RELOADING=1`, re-read the configuration, `READY=1`.
 * - SIGTERM (`systemctl stop`): `STOPPING=1`, shut the server down, exit with status 0.
 * - Socket activation: serves on the socket a `.socket` unit passed (fd 3), else on `PORT`.
 *   `Deno.serve` cannot take a descriptor yet (denoland/deno#6529), so `serveDeno()` adopts the
 *   inherited socket under a `Deno.serve` listener (full speed); if that is not possible it
 *   falls back to `node:http` on the descriptor and says why (`mode`, `reason`). The handler is
 *   the same `(Request) => Response` function on every path.
 *
 * Configuration: `PORT` (default 8080) and `HOST` (default 127.0.0.1) when not socket-activated,
 * and `GREETING_FILE`, a file whose first line is the response body (default `hello`), read at
 * start and on every reload. Unit files to go with it: `examples/units/`.
 *
 * Run it with `deno run --allow-net --allow-env --allow-read --allow-ffi examples/deno_serve.ts`
 * (`--allow-ffi` is what sends to systemd and adopts the socket; a unix socket also needs
 * `--allow-write`); in your project, import from `@systemd-js/daemon`
 * instead of `../mod.ts`.
 *
 * @module
 */
import {
  type ListenFd,
  listenFds,
  ready,
  reloading,
  serveDeno,
  startWatchdog,
  stopping,
} from "../mod.ts";

/** Reads the greeting from `GREETING_FILE` (first line), or `hello` without one. */
async function loadGreeting(): Promise<string> {
  const path = Deno.env.get("GREETING_FILE");
  if (path === undefined || path === "") return "hello";
  const text = await Deno.readTextFile(path);
  return text.split("\n")[0].trim();
}

let greeting: string = await loadGreeting();
let reloads = 0;
let requests = 0;

/** The request handler, the same for `Deno.serve` and the socket-activated path. */
function handle(_request: Request): Response {
  requests++;
  return new Response(`${greeting}\n`, {
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** The one-line state `systemctl status` shows. */
function statusLine(where: string): string {
  return `Serving on ${where}, reloads: ${reloads}`;
}

/** A started server: where it listens and how to shut it down. */
interface Running {
  readonly where: string;
  shutdown(): Promise<void>;
}

/** Serves `handle` with Deno.serve on an inherited listening socket (adopted, or the fallback). */
async function serveOnSocket(socket: ListenFd): Promise<Running> {
  const served = await serveDeno(socket, { handler: handle });
  console.log(
    `fd ${socket.fd}: ${served.mode}${served.reason === null ? "" : ` (${served.reason})`}`,
  );
  return {
    where: `fd ${socket.fd} (${socket.name})`,
    // Stops accepting (systemd keeps its copy of the socket), lets requests in flight finish.
    shutdown: () => served.close({ graceMs: 5000 }),
  };
}

/** Serves `handle` with Deno.serve on `HOST:PORT`. */
function serveOnPort(): Promise<Running> {
  const port = Number(Deno.env.get("PORT") ?? 8080);
  const hostname = Deno.env.get("HOST") ?? "127.0.0.1";
  return new Promise<Running>((resolve) => {
    const server = Deno.serve({
      port,
      hostname,
      onListen: () => resolve({ where: `${hostname}:${port}`, shutdown: () => server.shutdown() }),
    }, handle);
  });
}

// Socket activation: systemd passes the listening socket as fd 3 (listenFds() returns [] when
// the service was started directly; it also sets FD_CLOEXEC and unsets LISTEN_*).
const [socket] = await listenFds();
const running: Running = socket !== undefined ? await serveOnSocket(socket) : await serveOnPort();

const watchdog = startWatchdog(); // idle when the unit has no WatchdogSec=
await ready(statusLine(running.where));
console.log(`ready: ${statusLine(running.where)} (pid ${Deno.pid})`);

// One reload at a time: a SIGHUP during a reload runs another one after it.
let reloadChain: Promise<void> = Promise.resolve();
Deno.addSignalListener("SIGHUP", (): void => {
  reloadChain = reloadChain.then(async (): Promise<void> => {
    console.log("SIGHUP: reloading");
    await reloading("Reloading configuration");
    try {
      greeting = await loadGreeting();
      reloads++;
    } catch (error) {
      console.error(`reload failed, keeping the old configuration: ${error}`);
    }
    await ready(statusLine(running.where));
    console.log(`reloaded: ${statusLine(running.where)}`);
  });
});

let stoppingNow = false;
Deno.addSignalListener("SIGTERM", async (): Promise<void> => {
  if (stoppingNow) return;
  stoppingNow = true;
  console.log("SIGTERM: stopping");
  await stopping(`Stopping after ${requests} requests`);
  watchdog.stop();
  await running.shutdown();
  console.log("stopped cleanly");
  Deno.exit(0);
});
