/**
 * A `node:http` service that speaks systemd's protocols: copy it and keep what you need.
 *
 * - `READY=1` with a `STATUS=` line once the server accepts connections (`Type=notify`).
 * - `WATCHDOG=1` keep-alives at half of `WatchdogSec=` from the main event loop.
 * - SIGHUP (`ExecReload=kill -HUP $MAINPID`): `RELOADING=1`, re-read the configuration, `READY=1`.
 * - SIGTERM (`systemctl stop`): `STOPPING=1`, close the server, exit with status 0.
 * - Socket activation: serves on the socket a `.socket` unit passed (fd 3), else on `PORT`.
 *   `serveNode()` runs the server with `listen({ fd })` (as fast as a self-bound port) and
 *   drains gracefully on close.
 *
 * Configuration: `PORT` (default 8080) and `HOST` (default 127.0.0.1) when not socket-activated,
 * and `GREETING_FILE`, a file whose first line is the response body (default `hello`), read at
 * start and on every reload. Unit files to go with it: `examples/units/`.
 *
 * Run it here with `node --import tsx examples/node_http.ts`; in your project, import from
 * `@systemd-js/daemon` instead of `../mod.ts` and run the compiled JavaScript with `node`.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import process from "node:process";
import {
  type InheritedServer,
  listenFds,
  ready,
  reloading,
  serveNode,
  startWatchdog,
  stopping,
} from "../mod.ts";

/** Reads the greeting from `GREETING_FILE` (first line), or `hello` without one. */
async function loadGreeting(): Promise<string> {
  const path = process.env.GREETING_FILE;
  if (path === undefined || path === "") return "hello";
  const text = await readFile(path, "utf8");
  return text.split("\n")[0].trim();
}

let greeting: string = await loadGreeting();
let reloads = 0;
let requests = 0;

const server = createServer((_request: IncomingMessage, response: ServerResponse): void => {
  requests++;
  response.setHeader("content-type", "text/plain; charset=utf-8");
  response.end(`${greeting}\n`);
});

/** The one-line state `systemctl status` shows. */
function statusLine(where: string): string {
  return `Serving on ${where}, reloads: ${reloads}`;
}

// Socket activation: systemd passes the listening socket as fd 3 (listenFds() returns [] when
// the service was started directly; it also sets FD_CLOEXEC and unsets LISTEN_*).
const [socket] = await listenFds();
let served: InheritedServer | undefined;
let where: string;
if (socket !== undefined) {
  served = await serveNode(socket, server);
  where = `fd ${socket.fd} (${socket.name})`;
} else {
  const port = Number(process.env.PORT ?? 8080);
  const host = process.env.HOST ?? "127.0.0.1";
  where = await new Promise<string>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host }, () => resolve(`${host}:${port}`));
  });
}

const watchdog = startWatchdog(); // idle when the unit has no WatchdogSec=
await ready(statusLine(where));
console.log(`ready: ${statusLine(where)} (pid ${process.pid})`);

// One reload at a time: a SIGHUP during a reload runs another one after it.
let reloadChain: Promise<void> = Promise.resolve();
process.on("SIGHUP", (): void => {
  reloadChain = reloadChain.then(async (): Promise<void> => {
    console.log("SIGHUP: reloading");
    await reloading("Reloading configuration");
    try {
      greeting = await loadGreeting();
      reloads++;
    } catch (error) {
      console.error(`reload failed, keeping the old configuration: ${error}`);
    }
    await ready(statusLine(where));
    console.log(`reloaded: ${statusLine(where)}`);
  });
});

process.once("SIGTERM", async (): Promise<void> => {
  console.log("SIGTERM: stopping");
  await stopping(`Stopping after ${requests} requests`);
  watchdog.stop();
  if (served !== undefined) {
    // Stops accepting (systemd keeps its copy of the socket), lets requests in flight finish.
    await served.close({ graceMs: 5000 });
  } else {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // keep-alive clients must not hold the shutdown
    });
  }
  console.log("stopped cleanly");
  process.exit(0);
});
