import { createServer } from "node:net";

/**
 * Finds a TCP port that is free right now on `host`, by binding port 0 and closing again.
 * Another process may take it before it is used; fine for tests on a quiet machine.
 *
 * @param host the address to bind (default `127.0.0.1`)
 * @returns the port number
 * @throws {Error} when binding fails
 *
 * @example A socket unit on a free port
 * ```ts
 * const port = await freePort();
 * await manager.writeUnit(`${name}.socket`, `[Socket]\nListenStream=127.0.0.1:${port}\n`);
 * ```
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => port > 0 ? resolve(port) : reject(new Error("No port was assigned")));
    });
  });
}
